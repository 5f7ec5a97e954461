//! Decoding `request.object` and `request.oldObject` without what no rule reads
//! (`crate::engine::fields` lists it): the top-level `status`, the bookkeeping members of
//! `metadata` (`managedFields`, `uid`, `resourceVersion`, ...), `kubectl apply`'s
//! `last-applied-configuration` annotation and, of the stored object, everything but `metadata`
//! and `spec`. A workload's own object keeps `managedFields` and the last-applied annotation
//! (`fields::INTENT_METADATA`, `fields::INTENT_ANNOTATIONS`): its rules read what the manifest
//! said. Together they are most of a recorded review's object (an ImageStream's status
//! lists every imported image; managedFields repeats the shape of every field each manager
//! set; the last-applied annotation is the whole manifest again, escaped), and a
//! `serde_json::Value` pays for them four times: building the maps, the engine's clone, the
//! diff walk and the drop. serde_json still scans the skipped bytes (so a malformed body is
//! still an error) but allocates nothing.
//!
//! Leaving them out cannot change a patch: no rule reads or writes them (the engine writes
//! only `metadata.annotations`, `spec` and `tag`, and a skipped member sits beside those by
//! name, so no operation's path moves).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::engine::fields::{
    INTENT_ANNOTATIONS, INTENT_METADATA, OLD_OBJECT_MEMBERS, UNREAD_ANNOTATIONS, UNREAD_MEMBERS,
    UNREAD_METADATA,
};

/// What of the records of what the manifest said (`fields::INTENT_METADATA`,
/// `fields::INTENT_ANNOTATIONS`) an object keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Intent {
    /// None: the kind's rules do not read them.
    No,
    /// A workload whose pod spec is at this pointer: the last-applied annotation, and of
    /// `managedFields` only what `engine::intent` reads (each entry's `operation` and
    /// `fieldsType`; in `fieldsV1` the last-applied annotation and the containers' `f:image`
    /// and `f:imagePullPolicy`, as empty objects).
    Pruned(&'static str),
    /// The kind is not known yet: all of it.
    Whole,
}

impl Intent {
    fn keeps(self) -> bool {
        self != Intent::No
    }
}

/// Where a map sits, which decides what is left out of it.
#[derive(Clone, Copy)]
pub(super) enum Level {
    /// The object itself: `status` is left out, and what the manifest said unless kept.
    Object { intent: Intent },
    /// The stored object: all but `metadata` and `spec` is left out.
    OldObject,
    /// Its `metadata`: the members no rule reads are left out.
    Metadata { intent: Intent },
    /// `metadata.annotations`: the ones no rule reads are left out.
    Annotations { intent: Intent },
    /// The `metadata.managedFields` list of a workload (its items are [`Level::ManagedEntry`]).
    ManagedFields { pod_spec: &'static str },
    /// One `managedFields` entry: `operation`, `fieldsType` and `fieldsV1` are kept.
    ManagedEntry { pod_spec: &'static str },
    /// Inside `fieldsV1`.
    Fields(Fields),
    /// A field set whose presence is all that is read: kept as `{}`.
    Leaf,
}

/// Where in a `fieldsV1` tree a map sits.
#[derive(Clone, Copy)]
pub(super) enum Fields {
    Root {
        pod_spec: &'static str,
    },
    Metadata,
    Annotations,
    /// `depth` segments of the pod spec pointer matched.
    PodSpec {
        pod_spec: &'static str,
        depth: usize,
    },
    /// `f:containers` or `f:initContainers`: one `k:{"name":…}` per container.
    List,
    Container,
}

impl Fields {
    /// The level of the member `key`, or `None` when it is left out.
    fn step(self, key: &str) -> Option<Level> {
        let field = key.strip_prefix("f:");
        match self {
            Fields::Root { pod_spec } => match field {
                Some("metadata") => Some(Level::Fields(Fields::Metadata)),
                _ => Fields::PodSpec { pod_spec, depth: 0 }.step(key),
            },
            Fields::Metadata => {
                (field == Some("annotations")).then_some(Level::Fields(Fields::Annotations))
            }
            Fields::Annotations => INTENT_ANNOTATIONS
                .contains(&field.unwrap_or_default())
                .then_some(Level::Leaf),
            Fields::PodSpec { pod_spec, depth } => {
                match pod_spec.split('/').filter(|s| !s.is_empty()).nth(depth) {
                    Some(segment) => {
                        (field == Some(segment)).then_some(Level::Fields(Fields::PodSpec {
                            pod_spec,
                            depth: depth + 1,
                        }))
                    }
                    None => matches!(field, Some("containers" | "initContainers"))
                        .then_some(Level::Fields(Fields::List)),
                }
            }
            Fields::List => key
                .starts_with("k:")
                .then_some(Level::Fields(Fields::Container)),
            Fields::Container => {
                matches!(field, Some("image" | "imagePullPolicy")).then_some(Level::Leaf)
            }
        }
    }
}

impl Level {
    fn skips(self, key: &str) -> bool {
        match self {
            Level::Object { .. } => UNREAD_MEMBERS.contains(&key),
            Level::OldObject => !OLD_OBJECT_MEMBERS.contains(&key),
            Level::Metadata { intent } => {
                UNREAD_METADATA.contains(&key)
                    && !(intent.keeps() && INTENT_METADATA.contains(&key))
            }
            Level::Annotations { intent } => {
                UNREAD_ANNOTATIONS.contains(&key)
                    && !(intent.keeps() && INTENT_ANNOTATIONS.contains(&key))
            }
            Level::ManagedFields { .. } => false,
            Level::ManagedEntry { .. } => !matches!(key, "operation" | "fieldsType" | "fieldsV1"),
            Level::Fields(fields) => fields.step(key).is_none(),
            Level::Leaf => true,
        }
    }

    /// The level of the value under `key`, if it is trimmed too.
    fn below(self, key: &str) -> Option<Level> {
        match (self, key) {
            (Level::Object { intent }, "metadata") => Some(Level::Metadata { intent }),
            (Level::OldObject, "metadata") => Some(Level::Metadata { intent: Intent::No }),
            (Level::Metadata { intent }, "annotations") => Some(Level::Annotations { intent }),
            (
                Level::Metadata {
                    intent: Intent::Pruned(pod_spec),
                },
                "managedFields",
            ) => Some(Level::ManagedFields { pod_spec }),
            (Level::ManagedEntry { pod_spec }, "fieldsV1") => {
                Some(Level::Fields(Fields::Root { pod_spec }))
            }
            (Level::Fields(fields), _) => fields.step(key),
            _ => None,
        }
    }
}

/// Decodes an optional object trimmed at `Level`; `null` is `None`.
pub(super) struct Trimmed(pub(super) Level);

impl<'de> DeserializeSeed<'de> for Trimmed {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let value = TrimmedValue(self.0).deserialize(deserializer)?;
        Ok((!value.is_null()).then_some(value))
    }
}

struct TrimmedValue(Level);

/// A map key, borrowed from the body when it can be.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }

            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }

            fn visit_string<E>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> DeserializeSeed<'de> for TrimmedValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TrimmedValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        // A key borrowed from the body when it has no escapes: most of a left-out member's
        // keys (managedFields' `f:...`) are compared and dropped, never copied.
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if self.0.skips(&key.0) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = match self.0.below(&key.0) {
                Some(level) => map.next_value_seed(TrimmedValue(level))?,
                None => map.next_value::<Value>()?,
            };
            members.insert(key.0.into_owned(), value);
        }
        Ok(Value::Object(members))
    }

    // Anything but a map is kept whole (the adapter reports a non-object as unreadable),
    // except the entries of a workload's `managedFields`.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        if let Level::ManagedFields { pod_spec } = self.0 {
            let entry = || TrimmedValue(Level::ManagedEntry { pod_spec });
            while let Some(item) = seq.next_element_seed(entry())? {
                items.push(item);
            }
        } else {
            while let Some(item) = seq.next_element::<Value>()? {
                items.push(item);
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    /// `#[serde(deserialize_with)]` for an optional object: `null` is `None`, as for a plain
    /// `Option<Value>` (a DELETE sends `object: null`).
    fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
        Trimmed(Level::Object { intent: Intent::No }).deserialize(deserializer)
    }

    #[derive(Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "deserialize")]
        object: Option<Value>,
    }

    fn decode(text: &str) -> Result<Option<Value>, serde_json::Error> {
        serde_json::from_str::<Holder>(text).map(|holder| holder.object)
    }

    #[test]
    fn unread_members_are_left_out_and_nothing_else() {
        let object = json!({
            "kind": "ImageStream",
            "metadata": {"name": "web", "labels": {"app": "web"}, "uid": "1", "generation": 2,
                         "ownerReferences": [{"kind": "App", "name": "a", "controller": true}],
                         "annotations": {"a": "b", "kubectl.kubernetes.io/last-applied-configuration": "{\"x\":1}"},
                         "managedFields": [{"manager": "oc", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"status": "kept", "labels": 1, "tags": [{"name": "latest", "managedFields": 1,
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "kept"}}]},
            "status": {"tags": [{"tag": "latest", "items": [{"image": "sha256:1"}]}]},
        });
        let decoded = decode(&json!({ "object": object }).to_string()).unwrap();
        assert_eq!(
            decoded,
            Some(json!({
                "kind": "ImageStream",
                "metadata": {"name": "web", "labels": {"app": "web"},
                             "ownerReferences": [{"kind": "App", "name": "a", "controller": true}],
                             "annotations": {"a": "b"}},
                "spec": {"status": "kept", "labels": 1, "tags": [{"name": "latest", "managedFields": 1,
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "kept"}}]},
            }))
        );
    }

    fn decode_at(level: Level, text: &str) -> Value {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        Trimmed(level)
            .deserialize(&mut deserializer)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_workload_keeps_what_the_manifest_said_pruned_to_what_is_read() {
        let last_applied = "kubectl.kubernetes.io/last-applied-configuration";
        let object = json!({
            "kind": "CronJob",
            "metadata": {"uid": "1", "annotations": {last_applied: "{}", "a": "b"},
                "managedFields": [
                    {"manager": "kubectl", "operation": "Apply", "time": "t", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}, "f:annotations": {format!("f:{last_applied}"): {}, "f:x": {}}},
                        "f:spec": {"f:schedule": {}, "f:jobTemplate": {"f:spec": {"f:template": {"f:spec": {
                            "f:restartPolicy": {},
                            "f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:env": {"k:{\"name\":\"A\"}": {}}}},
                            "f:initContainers": {"k:{\"name\":\"init\"}": {"f:image": {"odd": 1}}}}}}}}}},
                    {"manager": "odd", "fieldsV1": "not a map"},
                    7
                ]},
            "status": {}
        });
        let text = json!({ "object": object }).to_string();
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Option<Value>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
                map.next_key::<String>()?;
                map.next_value_seed(Trimmed(Level::Object {
                    intent: Intent::Pruned("/spec/jobTemplate/spec/template/spec"),
                }))
            }
        }
        let kept = serde::Deserializer::deserialize_map(&mut deserializer, Object).unwrap();
        assert_eq!(
            kept,
            Some(json!({
                "kind": "CronJob",
                "metadata": {"annotations": {last_applied: "{}", "a": "b"}, "managedFields": [
                    {"operation": "Apply", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:metadata": {"f:annotations": {format!("f:{last_applied}"): {}}},
                        "f:spec": {"f:jobTemplate": {"f:spec": {"f:template": {"f:spec": {
                            "f:containers": {"k:{\"name\":\"web\"}": {"f:image": {}, "f:imagePullPolicy": {}}},
                            "f:initContainers": {"k:{\"name\":\"init\"}": {"f:image": {}}}}}}}}}},
                    {"fieldsV1": "not a map"},
                    7
                ]},
            }))
        );
        // A kind not known yet keeps all of it; other kinds none of it.
        let whole = decode_at(
            Level::Object {
                intent: Intent::Whole,
            },
            &object.to_string(),
        );
        assert_eq!(
            whole["metadata"]["managedFields"],
            object["metadata"]["managedFields"]
        );
        let none = decode_at(Level::Object { intent: Intent::No }, &object.to_string());
        assert_eq!(none["metadata"], json!({"annotations": {"a": "b"}}));
    }

    #[test]
    fn the_stored_object_keeps_only_metadata_and_spec() {
        let old = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"a": "b"}, "annotations": {"image.openshift.io/triggers": "[]"}},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
            "status": {"replicas": 1}, "other": [1]});
        let text = json!({ "oldObject": old }).to_string();
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        struct Old;
        impl<'de> Visitor<'de> for Old {
            type Value = Option<Value>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
                map.next_key::<String>()?;
                map.next_value_seed(Trimmed(Level::OldObject))
            }
        }
        let kept = serde::Deserializer::deserialize_map(&mut deserializer, Old).unwrap();
        assert_eq!(
            kept,
            Some(json!({
                "metadata": {"name": "web", "labels": {"a": "b"}, "annotations": {"image.openshift.io/triggers": "[]"}},
                "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
            }))
        );
    }

    #[test]
    fn null_absent_and_non_objects_decode_as_a_plain_option_would() {
        assert_eq!(decode(r#"{"object": null}"#).unwrap(), None);
        assert_eq!(decode("{}").unwrap(), None);
        for text in [
            "[1, {\"status\": 2}]",
            "\"x\"",
            "-3",
            "18446744073709551615",
            "1.5",
            "true",
        ] {
            let expected: Value = serde_json::from_str(text).unwrap();
            let decoded = decode(&format!("{{\"object\": {text}}}")).unwrap();
            assert_eq!(decoded, Some(expected), "{text}");
        }
        let metadata_not_a_map = decode(r#"{"object": {"metadata": [1], "status": 1}}"#).unwrap();
        assert_eq!(metadata_not_a_map, Some(json!({"metadata": [1]})));
    }

    #[test]
    fn malformed_json_in_a_left_out_member_is_still_an_error() {
        for text in [
            r#"{"object": {"status": {"a": }}}"#,
            r#"{"object": {"metadata": {"managedFields": [1,}}}"#,
            r#"{"object": {"status": "unterminated}}"#,
        ] {
            assert!(decode(text).is_err(), "{text}");
        }
    }

    #[test]
    fn deep_nesting_in_a_left_out_member_does_not_recurse() {
        let depth = 100_000;
        let text = format!(
            "{{\"object\": {{\"status\": {}{}}}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert_eq!(decode(&text).unwrap(), Some(json!({})));
    }
}
