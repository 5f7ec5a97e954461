//! The JSON Patch of an outcome, always what `json_patch::diff(original, mutated)` gives,
//! obtained one of two ways. Workload rules edit a copy and the patch is the diff of the
//! members rules write ([`derive`]): rules write under a few top-level members and never
//! elsewhere, so the rest (above all `status`) is not walked. The ImageStream rules, whose
//! objects can hold 10,000 tags, edit the object itself and record each edit as the
//! operations the diff would give for it ([`Edits`]), so neither a copy nor a walk is
//! needed; debug builds and the property tests (`tests/stream_patch.rs`) hold that record to
//! the diff. Neither way knows what any rule does beyond the list of members they write.

use json_patch::jsonptr::{Pointer, PointerBuf};
use json_patch::{AddOperation, Patch, PatchOperation, ReplaceOperation, diff};
use serde_json::{Map, Value};

use super::fields::WRITABLE_MEMBERS;

/// `json_patch::diff(original, mutated)`, walking only [`WRITABLE_MEMBERS`]. Every rule
/// records a change for each edit it makes, so with no change there is nothing to diff;
/// debug builds check both claims.
pub(crate) fn derive(original: &Value, mutated: &Value, changed: bool) -> Patch {
    if !changed {
        debug_assert!(original == mutated, "edit without a change");
        return Patch(Vec::new());
    }
    let (Some(original_members), Some(mutated_members)) =
        (original.as_object(), mutated.as_object())
    else {
        // Not reachable (rules only run on objects), but the full diff is always right.
        return diff(original, mutated);
    };
    debug_assert!(
        only_writable_members_differ(original_members, mutated_members),
        "a rule wrote outside {WRITABLE_MEMBERS:?}"
    );
    let mut operations = Vec::new();
    for member in WRITABLE_MEMBERS {
        match (original_members.get(member), mutated_members.get(member)) {
            (Some(before), Some(after)) => {
                operations.extend(diff(before, after).0.into_iter().map(|mut operation| {
                    prefix(&mut operation, member);
                    operation
                }));
            }
            // A member a rule created (`metadata` on an object without one): diff the
            // member alone so the `add` operation is still the diff's own.
            (None, Some(after)) => {
                let before = Value::Object(Map::new());
                let after = Value::Object(Map::from_iter([(member.to_string(), after.clone())]));
                operations.extend(diff(&before, &after).0);
            }
            (Some(_), None) => {
                // Rules never delete a member; if one did, the full diff says so exactly.
                return diff(original, mutated);
            }
            (None, None) => {}
        }
    }
    Patch(operations)
}

/// Operations recorded by rules that edit the object in place, in the order
/// `json_patch::diff` walks the object: members of an object in the map's order (sorted),
/// array elements by index. Recording in that order is the rules' part.
#[derive(Debug, Default)]
pub(crate) struct Edits(Vec<PatchOperation>);

impl Edits {
    /// Record that the value at `path` went from `before` (`None`: absent) to `after`, as
    /// json-patch 4.2's `diff_impl` and `diff_object` would: an absent member is added
    /// whole, an equal value gives nothing, two objects or two arrays are walked (delegated
    /// to `diff` itself, paths rebased under `path`), anything else is replaced whole. A path
    /// built with `PointerBuf::push_back` escapes `~` and `/` as the diff's own does.
    pub(crate) fn record(&mut self, path: PointerBuf, before: Option<&Value>, after: &Value) {
        let Some(before) = before else {
            self.0.push(PatchOperation::Add(AddOperation {
                path,
                value: after.clone(),
            }));
            return;
        };
        match (before, after) {
            (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_)) => {
                self.0
                    .extend(diff(before, after).0.into_iter().map(|mut operation| {
                        rebase(&mut operation, &path);
                        operation
                    }));
            }
            _ if before == after => {}
            _ => self.0.push(PatchOperation::Replace(ReplaceOperation {
                path,
                value: after.clone(),
            })),
        }
    }

    pub(crate) fn into_patch(self) -> Patch {
        Patch(self.0)
    }
}

/// Puts `base` in front of an operation's paths, which `diff` made relative to it.
fn rebase(operation: &mut PatchOperation, base: &Pointer) {
    let rebased = |path: &mut PointerBuf| *path = base.concat(path);
    match operation {
        PatchOperation::Add(op) => rebased(&mut op.path),
        PatchOperation::Remove(op) => rebased(&mut op.path),
        PatchOperation::Replace(op) => rebased(&mut op.path),
        PatchOperation::Test(op) => rebased(&mut op.path),
        PatchOperation::Move(op) => {
            rebased(&mut op.from);
            rebased(&mut op.path);
        }
        PatchOperation::Copy(op) => {
            rebased(&mut op.from);
            rebased(&mut op.path);
        }
    }
}

/// Puts `/member` in front of an operation's paths, which `diff` made relative to it.
fn prefix(operation: &mut PatchOperation, member: &str) {
    match operation {
        PatchOperation::Add(op) => op.path.push_front(member),
        PatchOperation::Remove(op) => op.path.push_front(member),
        PatchOperation::Replace(op) => op.path.push_front(member),
        PatchOperation::Test(op) => op.path.push_front(member),
        PatchOperation::Move(op) => {
            op.from.push_front(member);
            op.path.push_front(member);
        }
        PatchOperation::Copy(op) => {
            op.from.push_front(member);
            op.path.push_front(member);
        }
    }
}

fn only_writable_members_differ(
    original: &Map<String, Value>,
    mutated: &Map<String, Value>,
) -> bool {
    fn others(members: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
        members
            .iter()
            .filter(|(key, _)| !WRITABLE_MEMBERS.contains(&key.as_str()))
    }
    others(original).eq(others(mutated))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn writable_members_are_sorted_like_a_json_map() {
        let map: Map<String, Value> = WRITABLE_MEMBERS
            .iter()
            .rev()
            .map(|m| (m.to_string(), Value::Null))
            .collect();
        assert!(map.keys().eq(WRITABLE_MEMBERS.iter().copied()));
    }

    #[test]
    fn the_patch_equals_the_full_diff() {
        let original = json!({"kind": "X", "spec": {"a": [1, {"b": 2}], "gone": 1}, "tag": {"from": "x"},
                              "status": {"big": [1, 2, 3]}});
        let mutated = json!({"kind": "X", "metadata": {"annotations": {"a/b": "c"}},
                             "spec": {"a": [1, {"b": 3}, 4]}, "tag": {"from": "x", "importPolicy": {}},
                             "status": {"big": [1, 2, 3]}});
        assert_eq!(derive(&original, &mutated, true), diff(&original, &mutated));
        assert_eq!(derive(&mutated, &mutated, false), Patch(Vec::new()));
    }

    /// `after` written over `before` (absent when `None`) at `/tags/0/p`, recorded and diffed.
    fn recorded_and_diffed(before: Option<Value>, after: Value) -> (Patch, Patch) {
        let mut original = json!({"tags": [{"name": "a/b~c"}]});
        if let Some(before) = before.clone() {
            original["tags"][0]["p"] = before;
        }
        let mut mutated = original.clone();
        mutated["tags"][0]["p"] = after.clone();
        let mut edits = Edits::default();
        let path = PointerBuf::from_tokens(["tags", "0", "p"]);
        edits.record(path, before.as_ref(), &after);
        (edits.into_patch(), diff(&original, &mutated))
    }

    #[test]
    fn recorded_edits_are_the_diff_of_each_shape() {
        let object = json!({"b": true, "a": {"x~/y": 1}});
        for before in [
            None,
            Some(Value::Null),
            Some(json!({})),
            Some(json!({"a": {"x~/y": 2, "z": 3}, "c": [1]})),
            Some(json!([1, 2])),
            Some(json!("x")),
            Some(object.clone()),
        ] {
            for after in [object.clone(), json!(true), json!([1]), Value::Null] {
                let (recorded, diffed) = recorded_and_diffed(before.clone(), after.clone());
                assert_eq!(recorded, diffed, "{before:?} -> {after:?}");
            }
        }
        let (recorded, _) = recorded_and_diffed(Some(json!({"a": {"x~/y": 2}})), object);
        assert_eq!(
            serde_json::to_value(&recorded).unwrap(),
            json!([{"op": "replace", "path": "/tags/0/p/a/x~0~1y", "value": 1},
                   {"op": "add", "path": "/tags/0/p/b", "value": true}])
        );
    }

    #[test]
    fn a_removed_member_falls_back_to_the_full_diff() {
        let original = json!({"spec": {"a": 1}, "tag": 1});
        let mutated = json!({"spec": {"a": 2}});
        assert_eq!(derive(&original, &mutated, true), diff(&original, &mutated));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "a rule wrote outside")]
    fn writing_status_is_caught_in_debug_builds() {
        derive(&json!({"status": 1}), &json!({"status": 2}), true);
    }
}
