//! The kinds `scan` reads from a cluster and how they are addressed: API group, version,
//! plural, the names a user may type for them (`deploy/web`, `dc/api`), and their URL paths.
//! It owns no I/O and must not know what the engine does with the objects.

/// One listable kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub kind: &'static str,
    /// API group (`""` would be the core group; none of ours is).
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    /// Names accepted in `KIND/NAME`, lower case, besides the kind and the plural.
    pub aliases: &'static [&'static str],
    /// Served only by OpenShift (or a cluster that installed its APIs).
    pub openshift: bool,
}

/// ImageStreams come first: the catalog is built from them before any workload is read.
pub const IMAGE_STREAMS: Resource = Resource {
    kind: "ImageStream",
    group: "image.openshift.io",
    version: "v1",
    plural: "imagestreams",
    aliases: &["is"],
    openshift: true,
};

/// The workload kinds the engine adds triggers to, in the order they are listed.
pub const WORKLOADS: [Resource; 5] = [
    Resource {
        kind: "DeploymentConfig",
        group: "apps.openshift.io",
        version: "v1",
        plural: "deploymentconfigs",
        aliases: &["dc"],
        openshift: true,
    },
    Resource {
        kind: "Deployment",
        group: "apps",
        version: "v1",
        plural: "deployments",
        aliases: &["deploy"],
        openshift: false,
    },
    Resource {
        kind: "StatefulSet",
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        aliases: &["sts"],
        openshift: false,
    },
    Resource {
        kind: "DaemonSet",
        group: "apps",
        version: "v1",
        plural: "daemonsets",
        aliases: &["ds"],
        openshift: false,
    },
    Resource {
        kind: "CronJob",
        group: "batch",
        version: "v1",
        plural: "cronjobs",
        aliases: &["cj"],
        openshift: false,
    },
];

impl Resource {
    /// `group/version`, as in `apiVersion`.
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    /// Whether this is [`IMAGE_STREAMS`] (compared by value: a `const` has no one address).
    pub fn is_image_stream(&self) -> bool {
        self == &IMAGE_STREAMS
    }

    /// `plural.group`, how kubectl and RBAC messages name a resource.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    /// The collection URL, cluster-wide or in one namespace.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) => format!(
                "/apis/{}/{}/namespaces/{ns}/{}",
                self.group, self.version, self.plural
            ),
            None => format!("/apis/{}/{}/{}", self.group, self.version, self.plural),
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
    use super::*;

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
}
