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

impl Kind {
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
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|(k, ..)| *k == self)
            .map_or("", |(_, _, name, _)| name)
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
