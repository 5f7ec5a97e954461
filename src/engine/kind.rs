//! Which objects the engine handles, recognised by `apiVersion` and `kind`. Owns the pod
//! template location of each workload kind; it must not read anything else in the object.

use serde_json::Value;

/// The kinds the rules apply to. Everything else (Jobs, Pods, ReplicaSets, ...) passes
/// untouched: OpenShift's trigger controller does not watch them (openshift-semantics §3.3).
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

impl Kind {
    /// The kind of `object`, or `None` when the engine leaves it alone.
    pub fn of(object: &Value) -> Option<Kind> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        let group = match api_version.rsplit_once('/') {
            Some((group, _version)) => group,
            None if api_version == LEGACY_VERSION => "",
            None => return None,
        };
        let openshift = |g: &str| group == g || group.is_empty();
        match kind {
            "ImageStream" if openshift(IMAGE_GROUP) => Some(Kind::ImageStream),
            "ImageStreamTag" if openshift(IMAGE_GROUP) => Some(Kind::ImageStreamTag),
            "ImageStreamImport" if openshift(IMAGE_GROUP) => Some(Kind::ImageStreamImport),
            // A newer API: never served under the legacy un-grouped version.
            "ImageTag" if group == IMAGE_GROUP => Some(Kind::ImageTag),
            "DeploymentConfig" if openshift(APPS_OPENSHIFT_GROUP) => Some(Kind::DeploymentConfig),
            "Deployment" if group == "apps" => Some(Kind::Deployment),
            "StatefulSet" if group == "apps" => Some(Kind::StatefulSet),
            "DaemonSet" if group == "apps" => Some(Kind::DaemonSet),
            "CronJob" if group == "batch" => Some(Kind::CronJob),
            _ => None,
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
