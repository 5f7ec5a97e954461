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

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::engine::fields::{
    INTENT_ANNOTATIONS, INTENT_METADATA, OLD_OBJECT_MEMBERS, UNREAD_ANNOTATIONS, UNREAD_MEMBERS,
    UNREAD_METADATA,
};

/// Where a map sits, which decides what is left out of it.
#[derive(Clone, Copy)]
pub(super) enum Level {
    /// The object itself: `status` is left out. With `intent` (a workload, or a kind not yet
    /// known), what the manifest said is kept.
    Object { intent: bool },
    /// The stored object: all but `metadata` and `spec` is left out.
    OldObject,
    /// Its `metadata`: the members no rule reads are left out.
    Metadata { intent: bool },
    /// `metadata.annotations`: the ones no rule reads are left out.
    Annotations { intent: bool },
}

impl Level {
    fn skips(self, key: &str) -> bool {
        match self {
            Level::Object { .. } => UNREAD_MEMBERS.contains(&key),
            Level::OldObject => !OLD_OBJECT_MEMBERS.contains(&key),
            Level::Metadata { intent } => {
                UNREAD_METADATA.contains(&key) && !(intent && INTENT_METADATA.contains(&key))
            }
            Level::Annotations { intent } => {
                UNREAD_ANNOTATIONS.contains(&key) && !(intent && INTENT_ANNOTATIONS.contains(&key))
            }
        }
    }

    /// The level of the map under `key`, if it is trimmed too.
    fn below(self, key: &str) -> Option<Level> {
        match (self, key) {
            (Level::Object { intent }, "metadata") => Some(Level::Metadata { intent }),
            (Level::OldObject, "metadata") => Some(Level::Metadata { intent: false }),
            (Level::Metadata { intent }, "annotations") => Some(Level::Annotations { intent }),
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
        while let Some(key) = map.next_key::<String>()? {
            if self.0.skips(&key) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = match self.0.below(&key) {
                Some(level) => map.next_value_seed(TrimmedValue(level))?,
                None => map.next_value::<Value>()?,
            };
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }

    // Anything but a map is kept whole: the adapter reports a non-object as unreadable.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
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
        Trimmed(Level::Object { intent: false }).deserialize(deserializer)
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
