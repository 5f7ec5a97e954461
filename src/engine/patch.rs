//! Deriving the JSON Patch from the original and the mutated object. The patch is always
//! `json_patch::diff` output, never hand-built; this module only decides which parts of the
//! object the diff needs to walk. Rules write under a few top-level members and never
//! elsewhere, so the rest (above all `status`, half of a large ImageStream) is not walked.
//! It must not know what any rule does beyond the list of members they write.

use json_patch::{Patch, PatchOperation, diff};
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
