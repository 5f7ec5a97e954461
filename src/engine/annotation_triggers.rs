//! The `image.openshift.io/triggers` annotation of Deployments, StatefulSets, DaemonSets and
//! CronJobs (SPEC §1.4, openshift-semantics §3). Owns that one annotation: existing entries
//! are kept, new ones appended, and the value is written the way Go's `json.Marshal` writes
//! it (what `oc set triggers` produces) and only when something was added, so a re-run is a
//! no-op. An annotation it cannot read is left alone.

use serde_json::{Map, Value};

use super::annotations::{pointer as annotation_pointer, trigger_source};
use super::change::{Code, Report};
use super::containers::{Container, List};
use super::kind::Kind;
use super::workload::{Coverage, Covered, Wanted};

/// The annotation key, on the workload's metadata (not the pod template).
pub const TRIGGERS: &str = "image.openshift.io/triggers";
/// Field order of Go's `json.Marshal` for `ObjectFieldTrigger` and its `ObjectReference`.
const ENTRY_ORDER: [&str; 3] = ["from", "fieldPath", "paused"];
const FROM_ORDER: [&str; 4] = ["kind", "name", "namespace", "apiVersion"];

pub fn pointer() -> String {
    annotation_pointer(TRIGGERS)
}

/// Containers covered by existing entries, or why the annotation cannot be read.
pub fn coverage(
    object: &Value,
    kind: Kind,
    containers: &[Container],
    namespace: &str,
) -> Result<Coverage, String> {
    let mut coverage = Coverage::new();
    let prefix = kind.field_path_prefix().unwrap_or_default();
    for entry in read(object)? {
        let Some(name) = entry
            .get("fieldPath")
            .and_then(Value::as_str)
            .and_then(|path| target(path, prefix, containers))
        else {
            continue;
        };
        let tag = match trigger_source(entry.get("from"), namespace) {
            Ok(tag) => tag,
            Err(tagless) => {
                // Never resolves, but the container is still the user's: no second trigger.
                coverage.entry(name).or_insert(Covered {
                    tag: tagless,
                    automatic: false,
                });
                continue;
            }
        };
        let automatic = entry.get("paused").and_then(Value::as_bool) != Some(true);
        coverage.entry(name).or_insert(Covered { tag, automatic });
    }
    Ok(coverage)
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
pub fn ensure(
    object: &mut Value,
    kind: Kind,
    wanted: &[Wanted<'_>],
    namespace: &str,
    report: &mut Report,
) -> Coverage {
    let mut coverage = Coverage::new();
    let Some(prefix) = kind.field_path_prefix() else {
        return coverage;
    };
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
    let Some(annotations) = annotations_mut(object) else {
        report.finding(
            Code::Unreadable,
            "/metadata/annotations",
            "metadata.annotations is not a map; no trigger added",
        );
        return coverage;
    };
    annotations.insert(TRIGGERS.into(), Value::String(go_json_array(&entries)));
    for w in wanted {
        report.change(
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
            },
        );
    }
    coverage
}

/// The existing entries; an error when the value would not decode in the controller
/// (not a JSON array of objects, or a non-boolean `paused`, which disables the whole
/// annotation: OCPBUGS-43061).
fn read(object: &Value) -> Result<Vec<Value>, String> {
    let Some(value) = object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(TRIGGERS))
    else {
        return Ok(Vec::new());
    };
    let text = value
        .as_str()
        .ok_or_else(|| format!("{TRIGGERS} is not a string; left alone"))?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let entries = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(entries)) => entries,
        _ => return Err(format!("{TRIGGERS} is not a JSON array; left alone")),
    };
    let valid = |e: &Value| {
        e.is_object()
            && e.get("paused")
                .is_none_or(|p| p.is_boolean() || p.is_null())
    };
    if entries.iter().all(valid) {
        Ok(entries)
    } else {
        Err(format!(
            "{TRIGGERS} has an entry the trigger controller cannot decode; left alone"
        ))
    }
}

/// The container a `fieldPath` points at (§3.2): the kind's prefix, `containers[` or
/// `initContainers[`, a `?(@.name=="x")` or index selector, then `.image`. A name selector
/// searches both lists, as the controller does.
fn target(field_path: &str, prefix: &str, containers: &[Container]) -> Option<String> {
    let rest = field_path.strip_prefix(prefix)?.strip_prefix('.')?;
    let (list, rest) = [List::Containers, List::InitContainers]
        .into_iter()
        .find_map(|l| Some((l, rest.strip_prefix(l.key())?.strip_prefix('[')?)))?;
    let (selector, rest) = rest.split_once(']')?;
    if rest != ".image" {
        return None;
    }
    if let Some(name) = selector
        .strip_prefix("?(@.name==\"")
        .and_then(|s| s.strip_suffix("\")"))
    {
        return Some(name.to_string());
    }
    let index: usize = selector.parse().ok()?;
    containers
        .iter()
        .find(|c| c.list == list && c.index == index)
        .map(|c| c.name.clone())
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
#[path = "annotation_triggers_tests.rs"]
mod tests;
