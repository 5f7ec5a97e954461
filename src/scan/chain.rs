//! A read-only view of one workload for classifying and explaining it: each container with
//! its image and pull policy, and the trigger that names it. The triggers are the engine's
//! reading (`engine::view::triggers`: DeploymentConfig `ImageChange` triggers, or entries of
//! the `image.openshift.io/triggers` annotation, as OpenShift's trigger controller uses
//! them, so a broken annotation names no container); this module only renders them for
//! `scan`. It must not change anything, nor parse triggers itself.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::engine::catalog::TagRef;
use crate::engine::kind::Kind;
use crate::engine::view;

/// One container of the pod template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    /// `containers` or `initContainers`.
    pub list: &'static str,
    /// Position in that list.
    pub index: usize,
    pub name: String,
    pub image: Option<String>,
    pub pull_policy: Option<String>,
}

/// The trigger that names one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerView {
    /// The ImageStreamTag it follows (`tag` empty when `from.name` has none).
    pub namespace: String,
    pub stream_tag: String,
    /// DeploymentConfig `automatic: true`, or an annotation entry that is not `paused`.
    pub automatic: bool,
    pub via: Via,
}

/// Where a trigger is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A DeploymentConfig's `spec.triggers` `ImageChange` entry.
    DeploymentConfig,
    /// An entry of the `image.openshift.io/triggers` annotation.
    Annotation,
}

impl TriggerView {
    pub fn tag(&self) -> Option<TagRef> {
        let (stream, tag) = self.stream_tag.split_once(':')?;
        Some(TagRef {
            namespace: self.namespace.clone(),
            stream: stream.to_string(),
            tag: tag.to_string(),
        })
    }
}

/// The containers of a workload's pod template, containers first.
pub fn containers(kind: Kind, object: &Value) -> Vec<ContainerView> {
    let Some(pod_spec) = kind.pod_spec_pointer().and_then(|p| object.pointer(p)) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for list in ["containers", "initContainers"] {
        let entries = pod_spec.get(list).and_then(Value::as_array);
        for (index, entry) in entries.into_iter().flatten().enumerate() {
            let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
            if let Some(name) = text("name") {
                found.push(ContainerView {
                    list,
                    index,
                    name,
                    image: text("image"),
                    pull_policy: text("imagePullPolicy"),
                });
            }
        }
    }
    found
}

impl ContainerView {
    /// JSON pointer of the container in an object of `kind`.
    pub fn pointer(&self, kind: Kind) -> String {
        let pod_spec = kind.pod_spec_pointer().unwrap_or_default();
        format!("{pod_spec}/{}/{}", self.list, self.index)
    }
}

/// Container name -> the first trigger naming it, as the trigger controller uses them: none
/// when it fails the object's triggers.
pub fn triggers(kind: Kind, object: &Value, namespace: &str) -> BTreeMap<String, TriggerView> {
    let via = match kind {
        Kind::DeploymentConfig => Via::DeploymentConfig,
        _ => Via::Annotation,
    };
    view::triggers(kind, object, namespace)
        .usable()
        .into_iter()
        .map(|(name, trigger)| {
            let stream_tag = match trigger.tag.tag.is_empty() {
                true => trigger.tag.stream.clone(),
                false => trigger.tag.stream_tag(),
            };
            let found = TriggerView {
                namespace: trigger.tag.namespace,
                stream_tag,
                automatic: trigger.automatic,
                via,
            };
            (name, found)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TRIGGERS: &str = "image.openshift.io/triggers";

    fn deployment(triggers_json: &str) -> Value {
        json!({"metadata": {"annotations": {TRIGGERS: triggers_json}},
            "spec": {"template": {"spec": {"containers": [{"name": "web"}], "initContainers": [{"name": "init"}]}}}})
    }

    #[test]
    fn annotation_entries_name_their_container_and_pause() {
        let triggers_json = r#"[{"from":{"kind":"ImageStreamTag","name":"web:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image","paused":true},{"from":{"kind":"ImageStreamTag","name":"tools:2","namespace":"base"},"fieldPath":"spec.template.spec.initContainers[?(@.name==\"init\")].image"}]"#;
        let object = deployment(triggers_json);
        let found = triggers(Kind::Deployment, &object, "shop");
        assert!(!found["web"].automatic);
        assert_eq!(found["web"].tag().unwrap().stream_tag(), "web:1");
        assert_eq!(found["init"].namespace, "base");
        assert!(found["init"].automatic);
        let cron = triggers(Kind::CronJob, &object, "shop");
        assert!(
            cron.is_empty(),
            "a Deployment's fieldPath selects nothing in a CronJob"
        );
    }

    /// OpenShift's trigger controller fails every entry of an object whose annotation has a
    /// single-quoted selector or a string `paused`: no container follows anything until the
    /// webhook (or the user) repairs it.
    #[test]
    fn an_annotation_the_controller_cannot_use_names_no_container() {
        let good = r#"{"from":{"kind":"ImageStreamTag","name":"web:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}"#;
        let single_quoted = r#"{"from":{"kind":"ImageStreamTag","name":"tools:2"},"fieldPath":"spec.template.spec.initContainers[?(@.name=='init')].image"}"#;
        let string_paused = r#"{"from":{"kind":"ImageStreamTag","name":"tools:2"},"fieldPath":"spec.template.spec.initContainers[?(@.name==\"init\")].image","paused":"true"}"#;
        for broken in [single_quoted, string_paused] {
            let object = deployment(&format!("[{good},{broken}]"));
            let found = triggers(Kind::Deployment, &object, "shop");
            assert!(found.is_empty(), "{broken}: {found:?}");
            assert_eq!(
                view::triggers(Kind::Deployment, &object, "shop"),
                view::StoredTriggers::Blocked
            );
        }
        let object = deployment(&format!("[{good}]"));
        assert_eq!(triggers(Kind::Deployment, &object, "shop").len(), 1);
    }

    #[test]
    fn a_tagless_source_is_a_trigger_on_no_tag() {
        let object = deployment(
            r#"[{"from":{"kind":"ImageStreamTag","name":"web"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#,
        );
        let found = triggers(Kind::Deployment, &object, "shop");
        assert_eq!(found["web"].stream_tag, "web");
        assert_eq!(found["web"].tag(), None);
    }

    #[test]
    fn deployment_config_triggers_default_to_manual() {
        let object = json!({"spec": {"triggers": [{"type": "ConfigChange"},
            {"type": "ImageChange", "imageChangeParams": {"containerNames": ["api"],
                "from": {"kind": "ImageStreamTag", "name": "api:latest"}}}]}});
        let found = triggers(Kind::DeploymentConfig, &object, "shop");
        assert_eq!(found["api"].via, Via::DeploymentConfig);
        assert!(!found["api"].automatic);
    }

    #[test]
    fn containers_are_read_with_pull_policy() {
        let object = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "web", "image": "nginx", "imagePullPolicy": "Always"}],
            "initContainers": [{"name": "init"}]}}}});
        let found = containers(Kind::Deployment, &object);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].pull_policy.as_deref(), Some("Always"));
        assert_eq!(found[1].list, "initContainers");
    }
}
