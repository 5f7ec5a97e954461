//! The entries of the `image.openshift.io/triggers` annotation as OpenShift's controller
//! reads them (openshift/library-go `pkg/image/trigger/annotations.go`): decoding, the
//! lossless repairs, what makes the controller fail the whole object, and which container an
//! entry's `fieldPath` selects. Reads and repairs entries only; writing the annotation back
//! belongs to `annotation_triggers`.

use crate::pointer::Pointer;
use std::collections::BTreeSet;

use serde_json::Value;

use super::annotations::{pointer as annotation_pointer, trigger_source};
use super::change::{Code, Report};
use super::containers::{Container, List};
use super::triggers::{Coverage, Covered};

/// The annotation key, on the workload's metadata (not the pod template).
pub const TRIGGERS: &str = "image.openshift.io/triggers";

/// JSON pointer of the annotation.
pub fn pointer() -> String {
    annotation_pointer(TRIGGERS)
}

/// Why the annotation cannot be used at all.
pub(super) enum Unusable {
    NotAString,
    NotAnArray,
    /// `null`: what `oc set triggers --remove-all` writes (Go's `json.Marshal` of an empty
    /// trigger list). The controller decodes it as no triggers, and the user chose that, as
    /// with a DeploymentConfig's `spec.triggers: []`: no entry is added over it.
    RemovedAll,
}

/// The JSON the annotation holds after `oc set triggers --remove-all`.
const REMOVED_ALL: &str = "null";

/// The existing entries (none when the annotation is absent or blank).
pub(super) fn read(object: &Value) -> Result<Vec<Value>, Unusable> {
    let Some(value) = object
        .at("/metadata/annotations")
        .and_then(|a| a.get(TRIGGERS))
    else {
        return Ok(Vec::new());
    };
    let text = value.as_str().ok_or(Unusable::NotAString)?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    if text.trim() == REMOVED_ALL {
        return Err(Unusable::RemovedAll);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(entries)) => Ok(entries),
        _ => Err(Unusable::NotAnArray),
    }
}

pub(super) fn field_path(entry: &Value) -> Option<&str> {
    entry.get("fieldPath").and_then(Value::as_str)
}

/// Lossless repairs: `"paused": "false"` / `"true"` as the boolean the controller decodes
/// (a string fails decoding and disables the whole annotation: OCPBUGS-43061,
/// okd-project/okd#2063), and the single-quoted selector of old docs, `?(@.name='web')`,
/// as the double-quoted one the controller parses (openshift/openshift-docs#32824).
pub(super) fn repair(entries: &mut [Value], report: &mut Report) -> bool {
    let mut repaired = false;
    for (i, entry) in entries.iter_mut().enumerate() {
        let Some(entry) = entry.as_object_mut() else {
            continue;
        };
        let paused = entry.get("paused").and_then(Value::as_str).map(str::trim);
        if let Some(flag) = paused.and_then(|p| p.to_ascii_lowercase().parse::<bool>().ok()) {
            if flag {
                entry.insert("paused".into(), Value::Bool(true));
            } else {
                entry.remove("paused");
            }
            report.change(
                Code::TriggerRepaired,
                pointer(),
                format!("trigger entry {i}: \"paused\" is now the boolean {flag}, not a string the controller cannot decode"),
            );
            repaired = true;
        }
        let fixed = entry
            .get("fieldPath")
            .and_then(Value::as_str)
            .and_then(double_quoted_selector);
        if let Some(fixed) = fixed {
            report.change(
                Code::TriggerRepaired,
                pointer(),
                format!("trigger entry {i}: fieldPath now selects with double quotes ({fixed}), which the controller requires"),
            );
            entry.insert("fieldPath".into(), Value::String(fixed));
            repaired = true;
        }
    }
    repaired
}

/// `…[?(@.name='x')]…` rewritten with double quotes; `None` when there is nothing to fix.
fn double_quoted_selector(path: &str) -> Option<String> {
    let (before, rest) = path.split_once("[?(@.name='")?;
    let (name, after) = rest.split_once("')]")?;
    if name.contains(['"', '\'', '[', ']']) {
        return None;
    }
    Some(format!("{before}[?(@.name==\"{name}\")]{after}"))
}

/// Entries the controller cannot decode, or whose fieldPath (with this kind's prefix) it
/// cannot apply: each makes it fail the whole object.
pub(super) fn blocking_problems(
    entries: &[Value],
    prefix: &str,
    containers: &[Container],
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let decodes = entry.is_object()
            && entry
                .get("paused")
                .is_none_or(|p| p.is_boolean() || p.is_null())
            && entry
                .get("from")
                .is_none_or(|f| f.is_object() || f.is_null())
            && entry.get("fieldPath").is_none_or(Value::is_string);
        if !decodes {
            problems.push(format!("trigger entry {i} does not decode as a trigger"));
            continue;
        }
        let Some(path) = field_path(entry) else {
            continue;
        };
        if !seen.insert(path) {
            problems.push(format!("trigger entry {i} repeats fieldPath {path}"));
            continue;
        }
        let Some(rest) = path.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
            continue; // another kind's prefix: skipped by the controller, blocks nothing
        };
        if target(path, prefix, containers).is_none() {
            problems.push(match selected_name(rest) {
                Some(name) => format!("trigger entry {i} names container {name:?}, which the pod template does not have"),
                None => format!("trigger entry {i} has fieldPath {path}, which selects no container image"),
            });
        }
    }
    problems
}

/// The name in a `containers[?(@.name=="x")]…` selector, whatever follows.
fn selected_name(rest: &str) -> Option<&str> {
    let (_, after) = rest.split_once("[?(@.name==\"")?;
    Some(after.split_once("\")]")?.0)
}

/// Containers covered by usable entries.
pub(super) fn coverage(
    entries: &[Value],
    prefix: &str,
    containers: &[Container],
    namespace: &str,
) -> Coverage {
    let mut coverage = Coverage::new();
    let mut entries_per_container = std::collections::BTreeMap::<String, usize>::new();
    for entry in entries {
        let Some(name) = field_path(entry).and_then(|path| target(path, prefix, containers)) else {
            continue;
        };
        *entries_per_container.entry(name.clone()).or_default() += 1;
        let covered = match trigger_source(entry.get("from"), namespace) {
            Ok(tag) => Covered {
                tag,
                automatic: entry.get("paused").and_then(Value::as_bool) != Some(true),
                sole: true,
                created: false,
            },
            // Never resolves, but the container is still the user's: no second trigger.
            Err(tagless) => Covered {
                tag: tagless,
                automatic: false,
                sole: true,
                created: false,
            },
        };
        coverage.entry(name).or_insert(covered);
    }
    for (name, count) in entries_per_container {
        if let (Some(covered), true) = (coverage.get_mut(&name), count > 1) {
            covered.sole = false;
        }
    }
    coverage
}

/// The container a `fieldPath` points at (§3.2): the kind's prefix, `containers[` or
/// `initContainers[`, a `?(@.name=="x")` or index selector, then `.image`. A name selector
/// searches both lists, as the controller does.
pub(super) fn target(field_path: &str, prefix: &str, containers: &[Container]) -> Option<String> {
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
        // The controller fails the object when the name matches no container.
        return containers
            .iter()
            .any(|c| c.name == name)
            .then(|| name.to_string());
    }
    let index: usize = selector.parse().ok()?;
    containers
        .iter()
        .find(|c| c.list == list && c.index == index)
        .map(|c| c.name.clone())
}
