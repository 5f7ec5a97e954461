//! Property tests of in-place editing: generated documents (block YAML, JSON, and
//! document-like text with anchors, aliases, merge keys, block scalars and comments) get
//! any add or replace the engine could make, and the written text reads back as exactly the
//! mutated object; block documents are edited in place, keeping every other line.

use proptest::prelude::*;
use serde_json::json;

use super::tests::{change, yaml};
use super::*;

/// Lines of which generated documents are made.
const LINES: [&str; 22] = [
    "a: 1",
    "b:",
    "  c: 2",
    "  - x",
    "- y",
    "d: {e: 1}",
    "f: [1, 2]",
    "g: &x {h: 1}",
    "i: *x",
    "j: |",
    "  text",
    "# c",
    "k: 'q'",
    "<<: *x",
    "metadata:",
    "  name: n",
    "  annotations:",
    "    x: y",
    "",
    "l: \"z\" # c",
    "metadata: &m",
    "  labels: *x",
];

/// Scalars that are easy to get wrong: YAML 1.1 booleans, numbers as strings, quotes, JSON.
fn scalars() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        prop::sample::select(vec![
            "app:latest",
            "yes",
            "on",
            "1.25",
            "0644",
            "a b",
            "x'y",
            "",
            "#x",
            "- a",
            "[{\"a\":\"b\"}]",
            "null",
        ])
        .prop_map(|s| json!(s)),
        any::<bool>().prop_map(|b| json!(b)),
        (0i64..1000).prop_map(|n| json!(n)),
    ]
}

fn values() -> impl Strategy<Value = serde_json::Value> {
    scalars().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec!["a", "b", "name", "spec", "x/y", "on"]),
                inner,
                0..4,
            )
            .prop_map(|m| json!(m)),
        ]
    })
}

/// JSON Pointers of every node in `value` (the root first), and whether it is a collection.
fn nodes(value: &serde_json::Value, at: String, out: &mut Vec<(String, bool)>) {
    match value {
        serde_json::Value::Object(map) => {
            out.push((at.clone(), true));
            for (k, v) in map {
                nodes(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        serde_json::Value::Array(items) => {
            out.push((at.clone(), true));
            for (i, v) in items.iter().enumerate() {
                nodes(v, format!("{at}/{i}"), out);
            }
        }
        _ => out.push((at, false)),
    }
}

/// A document of `body` plus a `kind` (block YAML, or pretty JSON), and its text.
fn document(
    body: std::collections::BTreeMap<String, serde_json::Value>,
    crlf: bool,
    json: bool,
) -> (Manifest, String) {
    let mut original = json!(body);
    original["kind"] = json!("A");
    let text = if json {
        serde_json::to_string_pretty(&original).unwrap()
    } else {
        serde_saphyr::to_string(&original).unwrap()
    };
    let text = if crlf {
        text.replace('\n', "\r\n")
    } else {
        text
    };
    (yaml(&text).unwrap(), text)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any add the engine could make to any document (block YAML or JSON) is made in place
    /// and reads back; a block document only gains lines.
    #[test]
    fn additions_to_block_documents_are_edited_in_place(
        body in prop::collection::btree_map("[c-f]", values(), 1..4),
        new_value in values(),
        pick in any::<prop::sample::Index>(),
        crlf in any::<bool>(),
        json in any::<bool>(),
    ) {
        let (m, text) = document(body, crlf, json);
        let mut targets = Vec::new();
        nodes(&m.documents[0].value, String::new(), &mut targets);
        targets.retain(|(_, collection)| *collection);
        let target = &pick.get(&targets).0;
        let mut mutated = m.documents[0].value.clone();
        let was_empty = match mutated.pointer_mut(target).unwrap() {
            serde_json::Value::Object(map) if !map.contains_key("new") => {
                let was_empty = map.is_empty();
                map.insert("new".into(), new_value);
                was_empty
            }
            serde_json::Value::Array(items) => {
                items.push(new_value);
                items.len() == 1
            }
            _ => return Ok(()),
        };
        let out = m.render(&[change(&m.documents[0], mutated.clone())]).unwrap();
        prop_assert_eq!(&out.rewrites, &[], "{}", text);
        prop_assert_eq!(&yaml(&out.text).unwrap().documents[0].value, &mutated);
        if !was_empty && !json {
            // A block collection only gains lines; an empty one (`{}`) changes its line.
            let mut output = out.text.lines();
            for line in text.lines() {
                prop_assert!(output.any(|l| l == line), "{:?} lost from {}", line, out.text);
            }
        }
        if crlf {
            prop_assert!(!out.text.replace("\r\n", "").contains('\n'), "{:?}", out.text);
        }
    }

    /// Any scalar replaced with any value is edited in place; its line is the only one lost.
    #[test]
    fn replacements_in_block_documents_are_edited_in_place(
        body in prop::collection::btree_map("[c-f]", values(), 1..4),
        new_value in values(),
        pick in any::<prop::sample::Index>(),
    ) {
        let (m, text) = document(body, false, false);
        let mut targets = Vec::new();
        nodes(&m.documents[0].value, String::new(), &mut targets);
        targets.retain(|(pointer, collection)| !collection && pointer != "/kind");
        prop_assume!(!targets.is_empty());
        let target = &pick.get(&targets).0;
        let mut mutated = m.documents[0].value.clone();
        *mutated.pointer_mut(target).unwrap() = new_value;
        let out = m.render(&[change(&m.documents[0], mutated.clone())]).unwrap();
        prop_assert_eq!(&out.rewrites, &[], "{}", text);
        prop_assert_eq!(&yaml(&out.text).unwrap().documents[0].value, &mutated);
        let kept = text.lines().filter(|l| out.text.lines().any(|o| o == *l)).count();
        prop_assert!(kept + 1 >= text.lines().count(), "{} -> {}", text, out.text);
    }
}

proptest! {
    // Most generated texts do not parse (duplicate keys, indentation); many cases are cheap.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Document-like text (anchors, aliases, merge keys, block scalars, flow, comments): a new
    /// annotation is always written, edited or re-rendered, and reads back; nothing panics.
    #[test]
    fn editing_never_panics_and_always_reads_back(lines in prop::collection::vec(prop::sample::select(LINES.to_vec()), 0..14), crlf in any::<bool>()) {
        let text = format!("kind: A\n{}\n", lines.join("\n"));
        let text = if crlf { text.replace('\n', "\r\n") } else { text };
        if let Ok(m) = yaml(&text) {
            let changes: Vec<_> = m.documents.iter().map(|d| {
                let mut mutated = d.value.clone();
                let annotations = json!({"a/b": "[{\"x\":1}]"});
                match mutated.get_mut("metadata") {
                    Some(serde_json::Value::Object(meta)) => { meta.insert("annotations".into(), annotations); }
                    _ => mutated["metadata"] = json!({"annotations": annotations}),
                }
                change(d, mutated)
            }).collect();
            let out = m.render(&changes).unwrap();
            let again = yaml(&out.text).unwrap();
            prop_assert_eq!(again.documents.len(), changes.len());
            for (doc, change) in again.documents.iter().zip(&changes) {
                prop_assert_eq!(&doc.value, &change.as_ref().unwrap().mutated, "{}", out.text);
            }
        }
    }
}
