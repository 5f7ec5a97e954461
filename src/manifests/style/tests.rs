//! The layout a document shows, and new values written in it.

use serde_json::json;

use super::*;
use crate::manifests::node::reorder;

#[test]
fn layout_is_read_from_the_first_nested_mapping_and_sequence() {
    let text = "a:\n    b: 1\n    c:\n    - x\n";
    let layout = Layout::of(text);
    assert_eq!((layout.indent, layout.sequence_indent), (4, 0));
    let indented = Layout::of("a:\r\n  items:\r\n    - x\r\n");
    assert_eq!((indented.indent, indented.sequence_indent), (2, 2));
    assert_eq!(indented.line_break, "\r\n");
}

#[test]
fn comments_and_item_markers_do_not_confuse_the_layout() {
    let text =
        "spec:   # the spec\n  # a comment\n  containers:\n  - name: web\n    ports:\n      - 80\n";
    let layout = Layout::of(text);
    assert_eq!((layout.indent, layout.sequence_indent), (2, 0));
}

#[test]
fn a_new_block_value_follows_the_layout() {
    let layout = Layout {
        indent: 4,
        sequence_indent: 0,
        line_break: "\n",
    };
    let value = reorder(
        &json!([{"type": "ImageChange", "params": {"names": ["web"]}}]),
        None,
    );
    assert_eq!(
        layout.after_key(&value, 2),
        "\n  - type: ImageChange\n    params:\n        names:\n        - web"
    );
}

#[test]
fn scalars_are_plain_only_when_they_read_back_as_the_same_string() {
    let s = |text: &str| scalar(&Node::String(text.into()), Quoting::Plain, false);
    assert_eq!(s("IfNotPresent"), "IfNotPresent");
    assert_eq!(s("app:latest"), "app:latest");
    assert_eq!(
        s("docker.io/x/app@sha256:ab12"),
        "docker.io/x/app@sha256:ab12"
    );
    for word in ["on", "Yes", "null", "1.25", "0644", "", "-x", "a b", "x:"] {
        assert!(s(word).starts_with('\''), "{word:?} -> {}", s(word));
    }
    assert_eq!(s("it's"), r#""it's""#);
    assert_eq!(s("a\nb"), r#""a\nb""#);
    assert_eq!(
        scalar(&Node::String("app:latest".into()), Quoting::Plain, true),
        "'app:latest'"
    );
}

#[test]
fn the_triggers_annotation_is_single_quoted_json() {
    let annotation = r#"[{"from":{"kind":"ImageStreamTag","name":"app:latest"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#;
    let written = scalar(&Node::String(annotation.into()), Quoting::Plain, false);
    assert_eq!(written, format!("'{annotation}'"));
}

#[test]
fn a_replaced_scalar_keeps_its_quotes_unless_it_needs_others() {
    let value = Node::String("nginx:1.26".into());
    assert_eq!(scalar(&value, Quoting::Double, false), r#""nginx:1.26""#);
    assert_eq!(scalar(&value, Quoting::Single, false), "'nginx:1.26'");
    let json = Node::String(r#"[{"a":"b"}]"#.into());
    assert_eq!(scalar(&json, Quoting::Double, false), r#"'[{"a":"b"}]'"#);
}

#[test]
fn flow_values_are_yaml_or_json() {
    let value = reorder(&json!({"scheduled": true, "name": "a:b"}), None);
    assert_eq!(flow(&value, false), "{name: 'a:b', scheduled: true}");
    assert_eq!(flow(&value, true), r#"{"name": "a:b", "scheduled": true}"#);
}
