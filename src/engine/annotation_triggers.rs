//! The `image.openshift.io/triggers` annotation of Deployments, StatefulSets, DaemonSets and
//! CronJobs (docs/rules.md, "The triggers annotation"). Owns that one annotation: existing entries
//! are kept, repaired where that loses nothing, retargeted when the user changed the image, new
//! ones appended; the value is written the way Go's `json.Marshal` writes it (what `oc set
//! triggers` produces) and only when something changed, so a re-run is a no-op. OpenShift's
//! controller fails every entry of an object when one names a missing container or has a fieldPath
//! it cannot read (openshift/library-go `pkg/image/trigger/annotations.go`), so such an annotation
//! is reported and nothing is added to it.

use serde_json::{Map, Value};

pub use super::annotation_entries::{TRIGGERS, pointer};
use super::annotation_entries::{
    Unusable, blocking_problems, coverage, field_path, read, repair, target,
};
use super::annotations::trigger_source;
use super::change::{Code, Report};
use super::containers::Container;
use super::triggers::{Coverage, Covered, Existing, Owned, Triggers, Wanted};
use crate::engine::catalog::TagRef;

/// Field order of Go's `json.Marshal` for `ObjectFieldTrigger` and its `ObjectReference`.
const ENTRY_ORDER: [&str; 3] = ["from", "fieldPath", "paused"];
const FROM_ORDER: [&str; 4] = ["kind", "name", "namespace", "apiVersion"];

/// The annotation family of one kind: its pod spec's `fieldPath` prefix.
pub struct AnnotationTriggers {
    pub prefix: &'static str,
}

impl Triggers for AnnotationTriggers {
    fn existing(
        &self,
        object: &mut Value,
        containers: &[Container],
        namespace: &str,
        _owned: &Owned,
        report: &mut Report,
    ) -> Existing {
        let mut entries = match read(object) {
            Ok(entries) => entries,
            Err(Unusable::NotAString) => {
                report.finding(
                    Code::Unreadable,
                    pointer(),
                    format!("{TRIGGERS} is not a string; left alone"),
                );
                return Existing::Unreadable;
            }
            Err(Unusable::NotAnArray) => {
                report.finding(
                    Code::BlockedTrigger,
                    pointer(),
                    format!("{TRIGGERS} is not a JSON array, so OpenShift's trigger controller ignores it whole; fix or remove it (nothing added)"),
                );
                return Existing::Blocked;
            }
            Err(Unusable::RemovedAll) => {
                report.finding(
                    Code::TriggersDisabled,
                    pointer(),
                    format!("{TRIGGERS} is \"null\", what oc set triggers --remove-all writes: no image triggers, as chosen; remove the annotation to get triggers (nothing added)"),
                );
                return Existing::Disabled;
            }
        };
        if repair(&mut entries, report) && !write(object, &entries, report) {
            return Existing::Unreadable;
        }
        let problems = blocking_problems(&entries, self.prefix, containers);
        if !problems.is_empty() {
            for problem in problems {
                report.finding(Code::BlockedTrigger, pointer(), format!("{problem}; OpenShift's trigger controller fails every trigger of this object until it is fixed (nothing added)"));
            }
            return Existing::Blocked;
        }
        Existing::Usable(coverage(&entries, self.prefix, containers, namespace))
    }

    fn stored(&self, object: &Value, containers: &[Container], namespace: &str) -> Existing {
        // Unrepaired: a string `paused` or a single-quoted selector fails the whole object.
        match read(object) {
            Err(Unusable::NotAString) => Existing::Unreadable,
            Err(Unusable::NotAnArray) => Existing::Blocked,
            Err(Unusable::RemovedAll) => Existing::Disabled,
            Ok(entries) if !blocking_problems(&entries, self.prefix, containers).is_empty() => {
                Existing::Blocked
            }
            Ok(entries) => Existing::Usable(coverage(&entries, self.prefix, containers, namespace)),
        }
    }

    fn ensure(
        &self,
        object: &mut Value,
        wanted: &[Wanted<'_>],
        namespace: &str,
        report: &mut Report,
    ) -> Coverage {
        ensure(object, self.prefix, wanted, namespace, report)
    }

    fn retarget(
        &self,
        object: &mut Value,
        container: &Container,
        to: &TagRef,
        // An entry on a tag without an image waits for it: nothing to record.
        _resolved: bool,
        namespace: &str,
        report: &mut Report,
    ) -> bool {
        let Ok(mut entries) = read(object) else {
            return false;
        };
        let mut before = None;
        for entry in self.entries_of(&mut entries, container) {
            let Some(from) = entry.get_mut("from").and_then(Value::as_object_mut) else {
                continue;
            };
            before = from.get("name").and_then(Value::as_str).map(str::to_string);
            from.insert("name".into(), Value::String(to.stream_tag()));
            if to.namespace != namespace {
                from.insert("namespace".into(), Value::String(to.namespace.clone()));
            } else {
                from.remove("namespace");
            }
        }
        let Some(before) = before else {
            return false;
        };
        if !write(object, &entries, report) {
            return false;
        }
        report.change_for(
            &container.name,
            Code::TriggerRetargeted,
            pointer(),
            format!(
                "the image trigger of container {:?} now follows {} (it followed {before}, which would have reverted the new image)",
                container.name,
                to.stream_tag()
            ),
        );
        true
    }

    fn set_paused(
        &self,
        object: &mut Value,
        container: &Container,
        paused: bool,
    ) -> Option<String> {
        let mut entries = read(object).ok()?;
        let mut changed = false;
        for entry in self.entries_of(&mut entries, container) {
            let Some(entry) = entry.as_object_mut() else {
                continue;
            };
            // `paused` is omitempty in the controller's type: false is left out.
            let before = entry.get("paused").and_then(Value::as_bool) == Some(true);
            if before != paused {
                if paused {
                    entry.insert("paused".into(), Value::Bool(true));
                } else {
                    entry.remove("paused");
                }
                changed = true;
            }
        }
        let mut ignored = Report::default();
        (changed && write(object, &entries, &mut ignored)).then(pointer)
    }

    fn followed_tag(
        &self,
        object: &Value,
        containers: &[Container],
        container: &str,
        namespace: &str,
    ) -> Option<TagRef> {
        let entries = read(object).ok()?;
        let entry = entries.iter().find(|e| {
            field_path(e)
                .and_then(|p| target(p, self.prefix, containers))
                .as_deref()
                == Some(container)
        })?;
        trigger_source(entry.get("from"), namespace).ok()
    }
}

impl AnnotationTriggers {
    /// The entries whose `fieldPath` selects `container`.
    fn entries_of<'e>(
        &self,
        entries: &'e mut [Value],
        container: &Container,
    ) -> impl Iterator<Item = &'e mut Value> {
        let containers = std::slice::from_ref(container);
        let prefix = self.prefix;
        let name = container.name.clone();
        entries.iter_mut().filter(move |e| {
            field_path(e)
                .and_then(|p| target(p, prefix, containers))
                .is_some_and(|t| t == name)
        })
    }
}

/// One trigger entry: `from` the wanted tag (its namespace only when it is not the
/// object's), `fieldPath` selecting the container by name.
fn entry(wanted: &Wanted<'_>, prefix: &str, namespace: &str) -> Value {
    let mut from = Map::new();
    from.insert("kind".into(), "ImageStreamTag".into());
    from.insert("name".into(), wanted.tag.stream_tag().into());
    if wanted.tag.namespace != namespace {
        from.insert("namespace".into(), wanted.tag.namespace.clone().into());
    }
    let field_path = format!(
        "{prefix}.{}[?(@.name==\"{}\")].image",
        wanted.container.list.key(),
        wanted.container.name
    );
    let mut entry = Map::new();
    entry.insert("from".into(), Value::Object(from));
    entry.insert("fieldPath".into(), field_path.into());
    Value::Object(entry)
}

/// Append one entry per wanted container; returns their coverage.
fn ensure(
    object: &mut Value,
    prefix: &str,
    wanted: &[Wanted<'_>],
    namespace: &str,
    report: &mut Report,
) -> Coverage {
    let mut coverage = Coverage::new();
    let Ok(mut entries) = read(object) else {
        return coverage;
    };
    let wanted: Vec<&Wanted<'_>> = wanted
        .iter()
        .filter(|w| selectable(&w.container.name))
        .collect();
    if wanted.is_empty() {
        return coverage;
    }
    entries.extend(wanted.iter().map(|w| entry(w, prefix, namespace)));
    if !write(object, &entries, report) {
        return coverage;
    }
    for w in wanted {
        report.change_for(
            &w.container.name,
            Code::AnnotationTrigger,
            pointer(),
            format!(
                "added image trigger for container {:?} ({})",
                w.container.name,
                w.tag.stream_tag()
            ),
        );
        coverage.insert(
            w.container.name.clone(),
            Covered {
                tag: w.tag.clone(),
                automatic: true,
                sole: true,
                created: true,
            },
        );
    }
    coverage
}

/// Write `entries` as the annotation; `false` (reported) when annotations is not a map.
fn write(object: &mut Value, entries: &[Value], report: &mut Report) -> bool {
    let Some(annotations) = annotations_mut(object) else {
        report.finding(
            Code::Unreadable,
            "/metadata/annotations",
            "metadata.annotations is not a map; triggers left alone",
        );
        return false;
    };
    annotations.insert(TRIGGERS.into(), Value::String(go_json_array(entries)));
    true
}

/// Names the selector grammar can carry (no quote, no bracket).
fn selectable(name: &str) -> bool {
    !name.is_empty() && !name.contains(['"', ']', '[', ')'])
}

fn annotations_mut(object: &mut Value) -> Option<&mut Map<String, Value>> {
    let metadata = object
        .as_object_mut()?
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let metadata = metadata.as_object_mut()?;
    let annotations = metadata.entry("annotations").or_insert(Value::Null);
    if annotations.is_null() {
        *annotations = Value::Object(Map::new());
    }
    annotations.as_object_mut()
}

/// Compact JSON with Go's struct field order; unknown keys follow, sorted.
fn go_json_array(entries: &[Value]) -> String {
    let parts: Vec<String> = entries.iter().map(|e| ordered(e, &ENTRY_ORDER)).collect();
    format!("[{}]", parts.join(","))
}

fn ordered(value: &Value, order: &[&str]) -> String {
    let Some(map) = value.as_object() else {
        return value.to_string();
    };
    let known = order.iter().filter_map(|k| map.get_key_value(*k));
    let others = map.iter().filter(|(k, _)| !order.contains(&k.as_str()));
    let fields: Vec<String> = known
        .chain(others)
        .map(|(k, v)| {
            let v = if k == "from" {
                ordered(v, &FROM_ORDER)
            } else {
                v.to_string()
            };
            format!("{}:{v}", Value::String(k.clone()))
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

#[cfg(test)]
mod tests;
