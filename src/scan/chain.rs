//! A read-only view of one workload for classifying and explaining it: each container with
//! its image and pull policy, and the trigger that names it (DeploymentConfig `ImageChange`
//! triggers, or entries of the `image.openshift.io/triggers` annotation). The engine decides
//! what to change; this module only reads what is there, so the same view serves the stored
//! object and the engine's output. It must not change anything.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::engine::annotations;
use crate::engine::catalog::TagRef;
use crate::engine::kind::Kind;

/// The annotation Kubernetes workloads carry their triggers in: a JSON array of OpenShift's
/// `ObjectFieldTrigger` (openshift/api `image/v1` and the trigger controller in
/// openshift/openshift-controller-manager `pkg/image/trigger/annotations`).
const TRIGGERS_ANNOTATION: &str = "image.openshift.io/triggers";

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

/// Container name -> the first trigger naming it.
pub fn triggers(kind: Kind, object: &Value, namespace: &str) -> BTreeMap<String, TriggerView> {
    match kind {
        Kind::DeploymentConfig => deployment_config_triggers(object, namespace),
        _ => annotation_triggers(kind, object, namespace),
    }
}

fn deployment_config_triggers(object: &Value, namespace: &str) -> BTreeMap<String, TriggerView> {
    let mut found = BTreeMap::new();
    let triggers = object.pointer("/spec/triggers").and_then(Value::as_array);
    for trigger in triggers.into_iter().flatten() {
        if trigger.get("type").and_then(Value::as_str) != Some("ImageChange") {
            continue;
        }
        let Some(params) = trigger.get("imageChangeParams") else {
            continue;
        };
        let view = TriggerView {
            namespace: from_namespace(params.get("from"), namespace),
            stream_tag: from_name(params.get("from")),
            // `automatic` is omitempty: absent means false.
            automatic: params.get("automatic").and_then(Value::as_bool) == Some(true),
            via: Via::DeploymentConfig,
        };
        let names = params.get("containerNames").and_then(Value::as_array);
        for name in names.into_iter().flatten().filter_map(Value::as_str) {
            found
                .entry(name.to_string())
                .or_insert_with(|| view.clone());
        }
    }
    found
}

fn annotation_triggers(
    kind: Kind,
    object: &Value,
    namespace: &str,
) -> BTreeMap<String, TriggerView> {
    let mut found = BTreeMap::new();
    let prefix = kind.field_path_prefix().unwrap_or_default();
    let containers = containers(kind, object);
    let entries: Vec<Value> = annotations::get(object, TRIGGERS_ANNOTATION)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    for entry in &entries {
        let Some(name) = entry
            .get("fieldPath")
            .and_then(Value::as_str)
            .and_then(|path| selected_container(path, prefix, &containers))
        else {
            continue;
        };
        let paused = match entry.get("paused") {
            Some(Value::Bool(paused)) => *paused,
            Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
            _ => false,
        };
        found.entry(name).or_insert_with(|| TriggerView {
            namespace: from_namespace(entry.get("from"), namespace),
            stream_tag: from_name(entry.get("from")),
            automatic: !paused,
            via: Via::Annotation,
        });
    }
    found
}

/// The container a `fieldPath` selects, read the way the trigger controller reads it:
/// `<prefix>.containers[?(@.name=="web")].image` (either quote) or `...containers[0].image`.
/// Anything else selects nothing.
fn selected_container(
    field_path: &str,
    prefix: &str,
    containers: &[ContainerView],
) -> Option<String> {
    let rest = field_path.strip_prefix(prefix)?.strip_prefix('.')?;
    let (list, rest) = ["containers", "initContainers"]
        .into_iter()
        .find_map(|list| Some((list, rest.strip_prefix(list)?.strip_prefix('[')?)))?;
    let (selector, rest) = rest.split_once(']')?;
    if rest != ".image" {
        return None;
    }
    for quote in ['"', '\''] {
        let name = selector
            .strip_prefix("?(@.name==")
            .and_then(|s| s.strip_prefix(quote))
            .and_then(|s| s.strip_suffix(')'))
            .and_then(|s| s.strip_suffix(quote));
        if let Some(name) = name {
            return Some(name.to_string());
        }
    }
    let index: usize = selector.parse().ok()?;
    containers
        .iter()
        .find(|c| c.list == list && c.index == index)
        .map(|c| c.name.clone())
}

fn from_name(from: Option<&Value>) -> String {
    from.and_then(|f| f.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn from_namespace(from: Option<&Value>, default: &str) -> String {
    from.and_then(|f| f.get("namespace"))
        .and_then(Value::as_str)
        .filter(|ns| !ns.is_empty())
        .unwrap_or(default)
        .to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn annotation_entries_name_their_container_and_pause() {
        let triggers_json = r#"[{"from":{"kind":"ImageStreamTag","name":"web:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image","paused":true},{"from":{"kind":"ImageStreamTag","name":"tools:2","namespace":"base"},"fieldPath":"spec.template.spec.initContainers[?(@.name=='init')].image"}]"#;
        let object = json!({"metadata": {"annotations": {TRIGGERS_ANNOTATION: triggers_json}},
            "spec": {"template": {"spec": {"containers": [{"name": "web"}], "initContainers": [{"name": "init"}]}}}});
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
