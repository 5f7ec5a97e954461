//! DeploymentConfig `ImageChange` triggers (docs/rules.md, "DeploymentConfig triggers"). Owns
//! `spec.triggers`: adds one automatic trigger per bound tag, or container names to the
//! existing trigger of that tag, and `ConfigChange` where the server's defaulting would.
//! It never flips `automatic` (rollback sets `false` on purpose) and never adds anything
//! to an explicit empty list (`[]` means "no automatic deployments").

use crate::pointer::Pointer;
use serde_json::{Value, json};

use super::annotations::trigger_source;
use super::change::{Code, Report};
use super::containers::Container;
use super::triggers::{Coverage, Covered, Existing, Owned, Triggers, Wanted};
use crate::engine::catalog::TagRef;

const TRIGGERS: &str = "/spec/triggers";
const IMAGE_CHANGE: &str = "ImageChange";
const CONFIG_CHANGE: &str = "ConfigChange";
const IMAGE_STREAM_TAG: &str = "ImageStreamTag";

/// The DeploymentConfig trigger family.
pub struct DeploymentConfigTriggers;

impl Triggers for DeploymentConfigTriggers {
    fn existing(
        &self,
        object: &mut Value,
        _containers: &[Container],
        namespace: &str,
        owned: &Owned,
        report: &mut Report,
    ) -> Existing {
        // Names that match no container are ignored by the controller (openshift/api
        // `DeploymentTriggerImageChangeParams.containerNames`), so nothing here blocks.
        Existing::Usable(coverage(object, namespace, owned, report))
    }

    fn stored(&self, object: &Value, _containers: &[Container], namespace: &str) -> Existing {
        let mut unreported = Report::default();
        Existing::Usable(coverage(object, namespace, &Owned::new(), &mut unreported))
    }

    fn ensure(
        &self,
        object: &mut Value,
        wanted: &[Wanted<'_>],
        namespace: &str,
        report: &mut Report,
    ) -> Coverage {
        ensure_triggers(object, wanted, namespace, report)
    }

    fn retarget(
        &self,
        object: &mut Value,
        container: &Container,
        to: &TagRef,
        resolved: bool,
        namespace: &str,
        report: &mut Report,
    ) -> bool {
        retarget(object, container, to, resolved, namespace, report)
    }

    fn set_paused(
        &self,
        object: &mut Value,
        container: &Container,
        paused: bool,
    ) -> Option<String> {
        let i = sole_trigger(object, &container.name)?;
        let path = format!("{TRIGGERS}/{i}/imageChangeParams/automatic");
        let params = object
            .at_mut(&format!("{TRIGGERS}/{i}/imageChangeParams"))?
            .as_object_mut()?;
        let automatic = params.get("automatic").and_then(Value::as_bool) == Some(true);
        if automatic != paused {
            return None;
        }
        // `automatic: false` is what `oc set triggers --manual` and `oc rollback` write.
        params.insert("automatic".into(), Value::Bool(!paused));
        Some(path)
    }

    fn followed_tag(
        &self,
        object: &Value,
        _containers: &[Container],
        container: &str,
        namespace: &str,
    ) -> Option<TagRef> {
        image_change_triggers(object)
            .filter_map(|(_, trigger)| trigger.get("imageChangeParams"))
            .find(|params| container_names(params).any(|n| n == container))
            .map(|params| trigger_tag(params, namespace))
    }

    fn missing_tag_blocks(&self) -> bool {
        // "Postponing rollout ... because of invalid or unresolved image" until every
        // automatic trigger resolves (openshift-controller-manager
        // `pkg/image/trigger/deploymentconfigs/deploymentconfigs.go`).
        true
    }

    fn last_triggered_image<'v>(&self, object: &'v Value, container: &str) -> Option<&'v str> {
        last_triggered_image(object, container)
    }
}

/// Containers named by existing `ImageChange` triggers; manual ones are reported, but for
/// those autoredeploy paused itself.
fn coverage(object: &Value, namespace: &str, owned: &Owned, report: &mut Report) -> Coverage {
    let mut coverage = Coverage::new();
    for (i, trigger) in image_change_triggers(object) {
        let Some(params) = trigger.get("imageChangeParams") else {
            continue;
        };
        let tag = trigger_tag(params, namespace);
        // `automatic` is omitempty: absent means false (openshift/api `apps/v1`
        // `DeploymentTriggerImageChangeParams`).
        let automatic = params.get("automatic").and_then(Value::as_bool) == Some(true);
        let paused_by_autoredeploy = container_names(params).next().is_some()
            && container_names(params)
                .all(|name| owned.get(name).is_some_and(|o| o.paused && o.tag == tag));
        if !automatic && !paused_by_autoredeploy {
            report.finding(
                Code::ManualTriggerKept,
                format!("{TRIGGERS}/{i}/imageChangeParams/automatic"),
                format!(
                    "kept manual ImageChange trigger for {} (automatic is false)",
                    tag.stream_tag()
                ),
            );
        }
        let sole = container_names(params).count() == 1;
        for name in container_names(params) {
            coverage.entry(name.to_string()).or_insert_with(|| Covered {
                tag: tag.clone(),
                automatic,
                sole,
                created: false,
            });
        }
    }
    coverage
}

/// The index of the `ImageChange` trigger that names only `container`.
fn sole_trigger(object: &Value, container: &str) -> Option<usize> {
    image_change_triggers(object)
        .find(|(_, t)| {
            t.get("imageChangeParams")
                .is_some_and(|p| container_names(p).eq([container]))
        })
        .map(|(i, _)| i)
}

/// Point the trigger that names only `container` at `to`. When the catalog knows `to`'s
/// image, `lastTriggeredImage` stays: the controller compares it with the new tag's image
/// and writes that image. When it does not, the controller would fall back to
/// `lastTriggeredImage`, the old tag's image, and write it over the new one (observed on
/// openshift-controller-manager, `UpdateDeploymentConfigImages`): so it becomes the
/// container's new image, which the controller then leaves alone until `to` resolves.
fn retarget(
    object: &mut Value,
    container: &Container,
    to: &TagRef,
    resolved: bool,
    namespace: &str,
    report: &mut Report,
) -> bool {
    let Some(i) = sole_trigger(object, &container.name) else {
        return false;
    };
    let path = format!("{TRIGGERS}/{i}/imageChangeParams/from");
    let Some(from) = object.at_mut(&path).and_then(Value::as_object_mut) else {
        return false;
    };
    let before = from
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    from.insert("name".into(), Value::String(to.stream_tag()));
    if to.namespace != namespace || from.contains_key("namespace") {
        from.insert("namespace".into(), Value::String(to.namespace.clone()));
    }
    let name = container.name.as_str();
    let mut message = format!(
        "the ImageChange trigger of container {name:?} now follows {} (it followed {before}, which would have reverted the new image)",
        to.stream_tag()
    );
    if !resolved && hold_until_resolved(object, i, container) {
        message.push_str(&format!(
            "; lastTriggeredImage is now the container's image, so the controller leaves it until {} has an image",
            to.stream_tag()
        ));
    }
    report.change_for(&container.name, Code::TriggerRetargeted, path, message);
    true
}

/// Set the `lastTriggeredImage` of trigger `i` to the container's image, so that the
/// controller, which falls back to it while the tag has no image, writes nothing; `true` when
/// there was one to replace.
fn hold_until_resolved(object: &mut Value, i: usize, container: &Container) -> bool {
    let Some(params) = object
        .at_mut(&format!("{TRIGGERS}/{i}/imageChangeParams"))
        .and_then(Value::as_object_mut)
    else {
        return false;
    };
    let last = params.get("lastTriggeredImage").and_then(Value::as_str);
    let image = container.image.as_deref().filter(|i| !i.trim().is_empty());
    if last.is_none_or(str::is_empty) || last == image {
        return false;
    }
    match image {
        Some(image) => params.insert("lastTriggeredImage".into(), Value::String(image.into())),
        // Without an image to hold, no lastTriggeredImage: the controller waits for the tag.
        None => params.remove("lastTriggeredImage"),
    };
    true
}

/// `lastTriggeredImage` of the trigger naming `container` (what the controller last wrote).
fn last_triggered_image<'a>(object: &'a Value, container: &str) -> Option<&'a str> {
    image_change_triggers(object)
        .filter_map(|(_, trigger)| trigger.get("imageChangeParams"))
        .find(|params| container_names(params).any(|n| n == container))?
        .get("lastTriggeredImage")?
        .as_str()
        .filter(|image| !image.is_empty())
}

/// Add triggers for `wanted`, grouped by tag; returns what now covers those containers.
fn ensure_triggers(
    object: &mut Value,
    wanted: &[Wanted<'_>],
    namespace: &str,
    report: &mut Report,
) -> Coverage {
    let mut coverage = Coverage::new();
    if wanted.is_empty() {
        return coverage;
    }
    let Some(triggers) = triggers_to_extend(object, report) else {
        return coverage;
    };
    for (tag, names) in group_by_tag(wanted) {
        let existing = triggers.iter().position(|t| {
            t.get("type").and_then(Value::as_str) == Some(IMAGE_CHANGE)
                && t.get("imageChangeParams")
                    .is_some_and(|p| trigger_tag(p, namespace) == tag)
        });
        let (automatic, created) = match existing {
            Some(i) => (add_names(&mut triggers[i], i, &names, &tag, report), false),
            None => {
                let message = format!(
                    "added ImageChange trigger for {} ({})",
                    quoted(&names),
                    tag.stream_tag()
                );
                let path = format!("{TRIGGERS}/{}", triggers.len());
                match names.as_slice() {
                    [name] => report.change_for(name, Code::ImageChangeTrigger, path, message),
                    _ => report.change(Code::ImageChangeTrigger, path, message),
                }
                triggers.push(new_trigger(&tag, &names, namespace));
                (true, true)
            }
        };
        let sole = names.len() == 1;
        for name in names {
            coverage.insert(
                name,
                Covered {
                    tag: tag.clone(),
                    automatic,
                    sole,
                    created,
                },
            );
        }
    }
    coverage
}

/// The trigger list to append to, created with `ConfigChange` when absent or null (the
/// server's defaulting); `None` for `[]` (reported) or a value that is not a list.
fn triggers_to_extend<'v>(
    object: &'v mut Value,
    report: &mut Report,
) -> Option<&'v mut Vec<Value>> {
    let spec = object.get_mut("spec")?.as_object_mut()?;
    match spec.get("triggers") {
        None | Some(Value::Null) => {
            report.change(
                Code::ConfigChangeTrigger,
                TRIGGERS,
                "added ConfigChange trigger, as the server defaults absent triggers",
            );
            spec.insert("triggers".into(), json!([{"type": CONFIG_CHANGE}]));
        }
        Some(Value::Array(list)) if list.is_empty() => {
            report.finding(
                Code::TriggersDisabled,
                TRIGGERS,
                "spec.triggers is an explicit empty list (no automatic deployments); no trigger added",
            );
            return None;
        }
        Some(Value::Array(_)) => {}
        Some(_) => {
            report.finding(
                Code::Unreadable,
                TRIGGERS,
                "spec.triggers is not a list; no trigger added",
            );
            return None;
        }
    }
    spec.get_mut("triggers")?.as_array_mut()
}

/// Add missing names to an existing trigger of the same tag; returns its `automatic`.
fn add_names(
    trigger: &mut Value,
    i: usize,
    names: &[String],
    tag: &TagRef,
    report: &mut Report,
) -> bool {
    let Some(params) = trigger
        .get_mut("imageChangeParams")
        .and_then(Value::as_object_mut)
    else {
        return false;
    };
    let automatic = params.get("automatic").and_then(Value::as_bool) == Some(true);
    if matches!(params.get("containerNames"), None | Some(Value::Null)) {
        params.insert("containerNames".into(), json!([]));
    }
    let Some(list) = params
        .get_mut("containerNames")
        .and_then(Value::as_array_mut)
    else {
        report.finding(
            Code::Unreadable,
            format!("{TRIGGERS}/{i}/imageChangeParams/containerNames"),
            "containerNames is not a list",
        );
        return false;
    };
    for name in names {
        if !list.iter().any(|n| n.as_str() == Some(name)) {
            list.push(Value::String(name.clone()));
            report.change_for(
                name,
                Code::TriggerContainerAdded,
                format!("{TRIGGERS}/{i}/imageChangeParams/containerNames"),
                format!(
                    "added container {name:?} to the ImageChange trigger for {}",
                    tag.stream_tag()
                ),
            );
        }
    }
    automatic
}

fn new_trigger(tag: &TagRef, names: &[String], namespace: &str) -> Value {
    let mut from = json!({"kind": IMAGE_STREAM_TAG, "name": tag.stream_tag()});
    // Written only when it differs, as `oc set triggers` does; the server defaults it.
    if tag.namespace != namespace {
        from["namespace"] = Value::String(tag.namespace.clone());
    }
    json!({"type": IMAGE_CHANGE, "imageChangeParams": {"automatic": true, "containerNames": names, "from": from}})
}

/// Tags in order of first use, each with its container names.
fn group_by_tag(wanted: &[Wanted<'_>]) -> Vec<(TagRef, Vec<String>)> {
    let mut groups: Vec<(TagRef, Vec<String>)> = Vec::new();
    for w in wanted {
        match groups.iter_mut().find(|(tag, _)| *tag == w.tag) {
            Some((_, names)) => names.push(w.container.name.clone()),
            None => groups.push((w.tag.clone(), vec![w.container.name.clone()])),
        }
    }
    groups
}

fn image_change_triggers(object: &Value) -> impl Iterator<Item = (usize, &Value)> {
    object
        .at(TRIGGERS)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, t)| t.get("type").and_then(Value::as_str) == Some(IMAGE_CHANGE))
}

fn container_names(params: &Value) -> impl Iterator<Item = &str> {
    params
        .get("containerNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// The tag a trigger follows; `from.namespace` empty means the DC's namespace.
fn trigger_tag(params: &Value, namespace: &str) -> TagRef {
    trigger_source(params.get("from"), namespace).unwrap_or_else(|tagless| tagless)
}

fn quoted(names: &[String]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match list.len() {
        1 => format!("container {}", list[0]),
        _ => format!("containers {}", list.join(", ")),
    }
}

#[cfg(test)]
mod tests;
