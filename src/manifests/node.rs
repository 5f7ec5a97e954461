//! An order-preserving copy of a parsed document. `serde_json::Value` (built without
//! `preserve_order`) sorts mapping keys, so a re-serialised manifest would come out shuffled;
//! this tree remembers the order the author wrote, and [`reorder`] lays a mutated `Value`
//! back out in that order. It knows nothing of YAML syntax or of Kubernetes.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Number, Value};

/// A parsed document with mapping keys in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The same data as a `serde_json::Value`, what the engine reads.
    pub fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.clone()),
            Node::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// Keys that lead a mapping the source did not have, as Kubernetes writes them (`- type:
/// ImageChange` before its parameters, `- name:` first in a list item); the rest is sorted.
const LEADING_KEYS: [&str; 4] = ["apiVersion", "kind", "name", "type"];

/// `value` laid out as a `Node`, keeping the key order of `template` (the document before
/// mutation) for keys it already had; keys the engine added follow them.
pub fn reorder(value: &Value, template: Option<&Node>) -> Node {
    match (value, template) {
        (Value::Object(map), Some(Node::Map(entries))) => {
            let known: HashSet<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            let kept = entries
                .iter()
                .filter_map(|(k, t)| map.get(k).map(|v| (k.clone(), reorder(v, Some(t)))));
            let added = map
                .iter()
                .filter(|(k, _)| !known.contains(k.as_str()))
                .map(|(k, v)| (k.clone(), reorder(v, None)));
            Node::Map(kept.chain(added).collect())
        }
        (Value::Object(map), _) => {
            let rank = |k: &str| {
                LEADING_KEYS
                    .iter()
                    .position(|l| *l == k)
                    .unwrap_or(LEADING_KEYS.len())
            };
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by_key(|(k, _)| rank(k));
            Node::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), reorder(v, None)))
                    .collect(),
            )
        }
        (Value::Array(items), Some(Node::Seq(templates))) => Node::Seq(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| reorder(v, templates.get(i)))
                .collect(),
        ),
        (Value::Array(items), _) => Node::Seq(items.iter().map(|v| reorder(v, None)).collect()),
        (Value::Null, _) => Node::Null,
        (Value::Bool(b), _) => Node::Bool(*b),
        (Value::Number(n), _) => Node::Number(n.clone()),
        (Value::String(s), _) => Node::String(s.clone()),
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Number(n) => n.serialize(serializer),
            Node::String(s) => serializer.serialize_str(s),
            Node::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reorder_keeps_source_order_and_appends_new_keys() {
        let template: Node = serde_json::from_str(r#"{"z": 1, "a": {"y": 2, "b": 3}}"#).unwrap();
        let mutated = json!({"a": {"b": 3, "y": 2, "c": 4}, "z": 1, "m": 0});
        let node = reorder(&mutated, Some(&template));
        let text = serde_json::to_string(&node).unwrap();
        assert_eq!(text, r#"{"z":1,"a":{"y":2,"b":3,"c":4},"m":0}"#);
        assert_eq!(node.to_value(), mutated);
    }

    #[test]
    fn new_mappings_lead_with_kubernetes_identifying_keys() {
        let new = json!({"imageChangeParams": {"from": {"name": "a:b", "kind": "ImageStreamTag"}}, "type": "ImageChange"});
        let text = serde_json::to_string(&reorder(&new, None)).unwrap();
        assert_eq!(
            text,
            r#"{"type":"ImageChange","imageChangeParams":{"from":{"kind":"ImageStreamTag","name":"a:b"}}}"#
        );
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let err = serde_json::from_str::<Node>(r#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key \"a\""), "{err}");
    }
}
