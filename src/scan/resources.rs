//! The kinds `scan` reads from a cluster and how they are addressed: the engine's kind they
//! are, version, plural, the names a user may type for them (`deploy/web`, `dc/api`), and
//! their URL paths; besides the kinds it scans, the two it reads to know the webhook's scope
//! (namespaces and MutatingWebhookConfigurations). A scanned kind's group and name are the
//! engine's own (`engine::Kind`). It owns no I/O and must not know what the engine does with
//! the objects.

use crate::engine::kind::Kind;

/// One listable kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// The engine's kind; `None` for the kinds read only for the webhook's scope.
    pub engine: Option<Kind>,
    pub kind: &'static str,
    /// API group; `""` is the core group (`/api/v1`).
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    /// Names accepted in `KIND/NAME`, lower case, besides the kind and the plural.
    pub aliases: &'static [&'static str],
    /// Served only by OpenShift (or a cluster that installed its APIs).
    pub openshift: bool,
    /// Namespaced (every kind scanned), or cluster-scoped (namespaces, webhook configurations).
    pub namespaced: bool,
}

/// A namespaced kind the engine handles, listed at `v1` under its group and name.
const fn scanned(
    kind: Kind,
    plural: &'static str,
    aliases: &'static [&'static str],
    openshift: bool,
) -> Resource {
    Resource {
        engine: Some(kind),
        kind: kind.name(),
        group: kind.group(),
        version: "v1",
        plural,
        aliases,
        openshift,
        namespaced: true,
    }
}

/// ImageStreams come first: the catalog is built from them before any workload is read.
pub const IMAGE_STREAMS: Resource = scanned(Kind::ImageStream, "imagestreams", &["is"], true);

/// Namespaces, for the labels a webhook's `namespaceSelector` reads.
pub const NAMESPACES: Resource = Resource {
    engine: None,
    kind: "Namespace",
    group: "",
    version: "v1",
    plural: "namespaces",
    aliases: &[],
    openshift: false,
    namespaced: false,
};

/// The configurations that say which requests reach the webhook.
pub const MUTATING_WEBHOOK_CONFIGURATIONS: Resource = Resource {
    engine: None,
    kind: "MutatingWebhookConfiguration",
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "mutatingwebhookconfigurations",
    aliases: &[],
    openshift: false,
    namespaced: false,
};

/// The workload kinds the engine adds triggers to, in the order they are listed.
pub const WORKLOADS: [Resource; 5] = [
    scanned(Kind::DeploymentConfig, "deploymentconfigs", &["dc"], true),
    scanned(Kind::Deployment, "deployments", &["deploy"], false),
    scanned(Kind::StatefulSet, "statefulsets", &["sts"], false),
    scanned(Kind::DaemonSet, "daemonsets", &["ds"], false),
    scanned(Kind::CronJob, "cronjobs", &["cj"], false),
];

impl Resource {
    /// `group/version`, as in `apiVersion` (`v1` for the core group).
    pub fn api_version(&self) -> String {
        match self.group {
            "" => self.version.to_string(),
            group => format!("{group}/{}", self.version),
        }
    }

    /// Whether this is [`IMAGE_STREAMS`].
    pub fn is_image_stream(&self) -> bool {
        self.engine == Some(Kind::ImageStream)
    }

    /// `plural.group`, how kubectl and RBAC messages name a resource (`plural` alone for
    /// the core group).
    pub fn qualified(&self) -> String {
        match self.group {
            "" => self.plural.to_string(),
            group => format!("{}.{group}", self.plural),
        }
    }

    /// The collection URL, cluster-wide or in one namespace (a cluster-scoped kind ignores
    /// the namespace).
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let root = match self.group {
            "" => format!("/api/{}", self.version),
            group => format!("/apis/{group}/{}", self.version),
        };
        match namespace.filter(|_| self.namespaced) {
            Some(ns) => format!("{root}/namespaces/{ns}/{}", self.plural),
            None => format!("{root}/{}", self.plural),
        }
    }

    /// Whether `name` (any case) names this kind: kind, plural, or an alias.
    fn answers_to(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        name == self.kind.to_ascii_lowercase()
            || name == self.plural
            || self.aliases.contains(&name.as_str())
            || name == self.qualified()
    }
}

/// Every kind `scan` reads, streams first.
pub fn all() -> impl Iterator<Item = &'static Resource> {
    std::iter::once(&IMAGE_STREAMS).chain(WORKLOADS.iter())
}

/// `KIND/NAME` as typed on the command line.
pub fn parse_target(text: &str) -> Result<(&'static Resource, String), String> {
    let Some((kind, name)) = text.split_once('/') else {
        return Err(format!(
            "{text:?} is not KIND/NAME (for example deployment/web)"
        ));
    };
    if name.is_empty() || name.contains('/') {
        return Err(format!(
            "{text:?}: the name after KIND/ must be one object name"
        ));
    }
    let resource = all().find(|r| r.answers_to(kind)).ok_or_else(|| {
        let known: Vec<String> = all().map(|r| r.kind.to_ascii_lowercase()).collect();
        format!("unknown kind {kind:?}; scan knows {}", known.join(", "))
    })?;
    Ok((resource, name.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// How `scan` sees each kind the engine handles.
    #[derive(Debug)]
    enum Scanned {
        /// Listed as this resource.
        Listed(&'static Resource),
        /// Not a stored object of its own: a side door that writes an ImageStream, which
        /// `scan` lists.
        ThroughImageStreams,
    }

    /// Exhaustive on purpose: a new `engine::Kind` does not compile until `scan` says how it
    /// sees it.
    fn scanned_as(kind: Kind) -> Scanned {
        match kind {
            Kind::ImageStream => Scanned::Listed(&IMAGE_STREAMS),
            Kind::ImageStreamTag | Kind::ImageStreamImport | Kind::ImageTag => {
                Scanned::ThroughImageStreams
            }
            Kind::DeploymentConfig => Scanned::Listed(&WORKLOADS[0]),
            Kind::Deployment => Scanned::Listed(&WORKLOADS[1]),
            Kind::StatefulSet => Scanned::Listed(&WORKLOADS[2]),
            Kind::DaemonSet => Scanned::Listed(&WORKLOADS[3]),
            Kind::CronJob => Scanned::Listed(&WORKLOADS[4]),
        }
    }

    #[test]
    fn every_kind_the_engine_handles_has_a_scan_resource_that_maps_back_to_it() {
        for kind in Kind::ALL {
            match scanned_as(kind) {
                Scanned::Listed(resource) => {
                    assert_eq!(resource.engine, Some(kind), "{resource:?}");
                    assert!(all().any(|r| r == resource), "{kind:?} is not scanned");
                    let typed =
                        json!({"apiVersion": resource.api_version(), "kind": resource.kind});
                    assert_eq!(Kind::of(&typed), Some(kind), "{typed}");
                    assert_eq!(
                        Kind::of_group_kind(resource.group, resource.kind),
                        Some(kind)
                    );
                }
                Scanned::ThroughImageStreams => {
                    assert!(kind.is_image_stream_family() && kind != Kind::ImageStream);
                }
            }
        }
        for resource in all() {
            let kind = resource
                .engine
                .expect("every scanned resource is an engine kind");
            assert!(
                matches!(scanned_as(kind), Scanned::Listed(r) if r == resource),
                "{resource:?}"
            );
        }
        let scope_only = [NAMESPACES, MUTATING_WEBHOOK_CONFIGURATIONS];
        assert!(scope_only.iter().all(|r| r.engine.is_none()));
        assert!(IMAGE_STREAMS.is_image_stream() && !WORKLOADS[0].is_image_stream());
    }

    #[test]
    fn scanned_kinds_keep_their_group_version_and_names() {
        let names: Vec<(String, &str, &str)> =
            all().map(|r| (r.api_version(), r.kind, r.plural)).collect();
        assert_eq!(
            names,
            [
                (
                    "image.openshift.io/v1".into(),
                    "ImageStream",
                    "imagestreams"
                ),
                (
                    "apps.openshift.io/v1".into(),
                    "DeploymentConfig",
                    "deploymentconfigs"
                ),
                ("apps/v1".into(), "Deployment", "deployments"),
                ("apps/v1".into(), "StatefulSet", "statefulsets"),
                ("apps/v1".into(), "DaemonSet", "daemonsets"),
                ("batch/v1".into(), "CronJob", "cronjobs"),
            ]
        );
    }

    #[test]
    fn targets_accept_kinds_plurals_and_short_names() {
        for (text, kind) in [
            ("deployment/web", "Deployment"),
            ("Deployment/web", "Deployment"),
            ("deploy/web", "Deployment"),
            ("dc/web", "DeploymentConfig"),
            ("imagestreams/web", "ImageStream"),
            ("cronjobs.batch/web", "CronJob"),
        ] {
            let (resource, name) = parse_target(text).expect(text);
            assert_eq!((resource.kind, name.as_str()), (kind, "web"), "{text}");
        }
    }

    #[test]
    fn bad_targets_say_what_is_wrong() {
        assert!(parse_target("web").unwrap_err().contains("KIND/NAME"));
        assert!(
            parse_target("pod/web")
                .unwrap_err()
                .contains("unknown kind \"pod\"")
        );
        assert!(
            parse_target("deploy/")
                .unwrap_err()
                .contains("one object name")
        );
    }

    #[test]
    fn paths_are_cluster_wide_or_namespaced() {
        assert_eq!(
            IMAGE_STREAMS.collection_path(None),
            "/apis/image.openshift.io/v1/imagestreams"
        );
        assert_eq!(
            WORKLOADS[1].collection_path(Some("shop")),
            "/apis/apps/v1/namespaces/shop/deployments"
        );
    }

    #[test]
    fn core_and_cluster_scoped_kinds_have_their_own_paths_and_names() {
        assert_eq!(
            NAMESPACES.collection_path(Some("shop")),
            "/api/v1/namespaces"
        );
        assert_eq!(
            (NAMESPACES.api_version(), NAMESPACES.qualified()),
            ("v1".to_string(), "namespaces".to_string())
        );
        assert_eq!(
            MUTATING_WEBHOOK_CONFIGURATIONS.collection_path(None),
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
        );
    }
}
