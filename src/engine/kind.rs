//! Which objects the engine handles, recognised by `apiVersion` and `kind`. Owns the pod
//! template location of each workload kind; it must not read anything else in the object.

use serde_json::Value;

/// The kinds the rules apply to. Everything else (Jobs, Pods, ReplicaSets, ...) passes
/// untouched: OpenShift's trigger controller does not watch them (docs/rules.md, "The triggers
/// annotation").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ImageStream,
    ImageStreamTag,
    ImageStreamImport,
    /// `image.openshift.io/v1` ImageTag (OpenShift 4.10+): one stream tag, `spec` a
    /// TagReference.
    ImageTag,
    DeploymentConfig,
    Deployment,
    StatefulSet,
    DaemonSet,
    CronJob,
}

/// The API group of ImageStreams and their side doors.
const IMAGE_GROUP: &str = "image.openshift.io";
/// The API group of DeploymentConfigs.
const APPS_OPENSHIFT_GROUP: &str = "apps.openshift.io";
/// OpenShift 3's legacy un-grouped API version, still accepted for its own kinds.
const LEGACY_VERSION: &str = "v1";

/// The one table of kinds: `(kind, API group, kind name, also served un-grouped as v1)`.
/// `ImageTag` is a newer API, never served under the legacy version.
const KINDS: [(Kind, &str, &str, bool); 9] = [
    (Kind::ImageStream, IMAGE_GROUP, "ImageStream", true),
    (Kind::ImageStreamTag, IMAGE_GROUP, "ImageStreamTag", true),
    (
        Kind::ImageStreamImport,
        IMAGE_GROUP,
        "ImageStreamImport",
        true,
    ),
    (Kind::ImageTag, IMAGE_GROUP, "ImageTag", false),
    (
        Kind::DeploymentConfig,
        APPS_OPENSHIFT_GROUP,
        "DeploymentConfig",
        true,
    ),
    (Kind::Deployment, "apps", "Deployment", false),
    (Kind::StatefulSet, "apps", "StatefulSet", false),
    (Kind::DaemonSet, "apps", "DaemonSet", false),
    (Kind::CronJob, "batch", "CronJob", false),
];

/// Every kind has its row: a kind missing from [`KINDS`] fails to compile here.
const _: () = {
    let mut i = 0;
    while i < Kind::ALL.len() {
        assert!(
            Kind::ALL[i].row().is_some(),
            "a kind without a row in KINDS"
        );
        i += 1;
    }
};

impl Kind {
    /// Every kind, in the order of the table of kinds (a test holds the two to each other).
    pub const ALL: [Kind; 9] = [
        Kind::ImageStream,
        Kind::ImageStreamTag,
        Kind::ImageStreamImport,
        Kind::ImageTag,
        Kind::DeploymentConfig,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::CronJob,
    ];

    /// Its row in [`KINDS`].
    const fn row(self) -> Option<(Kind, &'static str, &'static str, bool)> {
        let mut i = 0;
        while i < KINDS.len() {
            if KINDS[i].0 as u8 == self as u8 {
                return Some(KINDS[i]);
            }
            i += 1;
        }
        None
    }

    /// ImageStreams and the side doors that write them: the kinds whose rules record their
    /// own patch operations (`engine::patch::Edits`).
    pub fn is_image_stream_family(self) -> bool {
        matches!(
            self,
            Kind::ImageStream | Kind::ImageStreamTag | Kind::ImageStreamImport | Kind::ImageTag
        )
    }

    /// The kind of `object`, or `None` when the engine leaves it alone.
    pub fn of(object: &Value) -> Option<Kind> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        match api_version.rsplit_once('/') {
            Some((group, _version)) => Kind::of_group_kind(group, kind),
            None if api_version == LEGACY_VERSION => KINDS
                .iter()
                .find(|(_, _, name, legacy)| *legacy && *name == kind)
                .map(|(k, ..)| *k),
            None => None,
        }
    }

    /// The kind an admission request names by API group and kind.
    pub fn of_group_kind(group: &str, kind: &str) -> Option<Kind> {
        KINDS
            .iter()
            .find(|(_, g, name, _)| *g == group && *name == kind)
            .map(|(k, ..)| *k)
    }

    /// The kind's name, as in `kind:` (a bounded metrics label).
    pub const fn name(self) -> &'static str {
        match self.row() {
            Some((_, _, name, _)) => name,
            None => "",
        }
    }

    /// The API group it is served in, as in `apiVersion: GROUP/VERSION`.
    pub const fn group(self) -> &'static str {
        match self.row() {
            Some((_, group, _, _)) => group,
            None => "",
        }
    }

    /// JSON pointer of the pod spec of a workload kind.
    pub fn pod_spec_pointer(self) -> Option<&'static str> {
        match self {
            Kind::DeploymentConfig | Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet => {
                Some("/spec/template/spec")
            }
            Kind::CronJob => Some("/spec/jobTemplate/spec/template/spec"),
            _ => None,
        }
    }

    /// The `fieldPath` prefix of annotation triggers for this kind (§3.2).
    pub fn field_path_prefix(self) -> Option<&'static str> {
        match self {
            Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet => Some("spec.template.spec"),
            Kind::CronJob => Some("spec.jobTemplate.spec.template.spec"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kind(api_version: &str, kind: &str) -> Option<Kind> {
        Kind::of(&json!({"apiVersion": api_version, "kind": kind}))
    }

    #[test]
    fn openshift_kinds_are_recognised_in_their_group_and_legacy_v1() {
        assert_eq!(
            kind("image.openshift.io/v1", "ImageStream"),
            Some(Kind::ImageStream)
        );
        assert_eq!(kind("v1", "ImageStreamTag"), Some(Kind::ImageStreamTag));
        assert_eq!(
            kind("v1", "ImageStreamImport"),
            Some(Kind::ImageStreamImport)
        );
        assert_eq!(
            kind("image.openshift.io/v1", "ImageTag"),
            Some(Kind::ImageTag)
        );
        assert_eq!(kind("v1", "ImageTag"), None);
        assert_eq!(
            kind("apps.openshift.io/v1", "DeploymentConfig"),
            Some(Kind::DeploymentConfig)
        );
        assert_eq!(kind("v1", "DeploymentConfig"), Some(Kind::DeploymentConfig));
    }

    /// Exhaustive on purpose: a new variant does not compile until it has a place here, and
    /// then the test below fails until it is in `Kind::ALL` and `KINDS` at that place.
    fn position(kind: Kind) -> usize {
        match kind {
            Kind::ImageStream => 0,
            Kind::ImageStreamTag => 1,
            Kind::ImageStreamImport => 2,
            Kind::ImageTag => 3,
            Kind::DeploymentConfig => 4,
            Kind::Deployment => 5,
            Kind::StatefulSet => 6,
            Kind::DaemonSet => 7,
            Kind::CronJob => 8,
        }
    }

    #[test]
    fn all_is_every_kind_once_in_the_order_of_the_table_and_each_is_recognised() {
        let positions: Vec<usize> = Kind::ALL.into_iter().map(position).collect();
        assert_eq!(positions, (0..KINDS.len()).collect::<Vec<_>>());
        let rows: Vec<Kind> = KINDS.iter().map(|(kind, ..)| *kind).collect();
        assert_eq!(rows, Kind::ALL);
        for kind in Kind::ALL {
            let api_version = format!("{}/v1", kind.group());
            assert_eq!(
                Kind::of(&json!({"apiVersion": api_version, "kind": kind.name()})),
                Some(kind)
            );
            assert_eq!(Kind::of_group_kind(kind.group(), kind.name()), Some(kind));
        }
        assert_eq!(
            (Kind::CronJob.group(), Kind::CronJob.name()),
            ("batch", "CronJob")
        );
    }

    #[test]
    fn kubernetes_workloads_are_recognised_and_others_ignored() {
        assert_eq!(kind("apps/v1", "Deployment"), Some(Kind::Deployment));
        assert_eq!(kind("apps/v1", "StatefulSet"), Some(Kind::StatefulSet));
        assert_eq!(kind("apps/v1", "DaemonSet"), Some(Kind::DaemonSet));
        assert_eq!(kind("batch/v1", "CronJob"), Some(Kind::CronJob));
        for (api, k) in [
            ("batch/v1", "Job"),
            ("v1", "Pod"),
            ("apps/v1", "ReplicaSet"),
            ("v1", "Deployment"),
            ("apps/v1", "ImageStream"),
            ("v2", "ImageStream"),
        ] {
            assert_eq!(kind(api, k), None, "{api} {k}");
        }
        assert_eq!(
            Kind::of(&json!({"apiVersion": 1, "kind": "Deployment"})),
            None
        );
    }
}
