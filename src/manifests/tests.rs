//! Parsing, located errors, reprinting and the no-panic property of the manifests module.

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn yaml(text: &str) -> Result<Manifest, ManifestError> {
    parse(Source::new("deploy.yaml", text, Format::Yaml))
}

#[test]
fn multi_document_yaml_skips_empty_documents() {
    let m = yaml("---\nkind: A\n---\n# nothing\n---\n~\n---\nkind: B\n").unwrap();
    let kinds: Vec<_> = m
        .documents
        .iter()
        .map(|d| d.value["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("A"), json!("B")]);
    assert_eq!(m.documents[1].index, 3);
    assert_eq!(m.documents[1].line, 8);
}

#[test]
fn syntax_errors_name_file_document_line_and_column() {
    let err = yaml("kind: A\n---\nkind: B\nmetadata:\n  name: x\n  bad: a: b\n").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("deploy.yaml: document 2, line 6, column "),
        "{text}"
    );
    assert!(text.contains("mapping values are not allowed"), "{text}");
}

#[test]
fn json_errors_name_line_and_column() {
    let err = parse(Source::new(
        "a.json",
        "{\n  \"kind\": \"A\",\n}",
        Format::Json,
    ))
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("a.json: document 1, line 3, column 1: "),
        "{err}"
    );
}

#[test]
fn documents_that_are_not_objects_are_rejected() {
    let cases = [
        (
            "- a\n",
            "expected a mapping (a Kubernetes object), found a sequence",
        ),
        ("just text\n", "found a string"),
        ("metadata: {name: x}\n", "no `kind`"),
        ("kind: List\nitems: [{kind: A}, 3]\n", "item 2 of the List"),
        ("kind: List\n", "`items` sequence"),
    ];
    for (text, expected) in cases {
        let err = yaml(text).unwrap_err().to_string();
        assert!(
            err.starts_with("deploy.yaml: document 1, line 1: "),
            "{err}"
        );
        assert!(err.contains(expected), "{text:?}: {err}");
    }
}

#[test]
fn list_items_are_objects_of_the_manifest() {
    let m = yaml("kind: List\nitems:\n- {kind: A}\n- {kind: B}\n---\nkind: C\n").unwrap();
    assert_eq!(m.objects().count(), 3);
    assert_eq!(m.documents[0].items().map(<[_]>::len), Some(2));
}

#[test]
fn octal_modes_read_as_kubernetes_reads_them() {
    let m = yaml("kind: Secret\nmode: 0644\n").unwrap();
    assert_eq!(m.documents[0].value["mode"], json!(420));
}

#[test]
fn render_rewrites_only_changed_documents_in_source_key_order() {
    let text = "# keep me\nkind: A  # inline\nz: 1\n---\n# and me\nkind: B\nz: 1\na: 2\n";
    let m = yaml(text).unwrap();
    assert_eq!(m.render(&[None, None]).unwrap(), text);
    let changed = json!({"kind": "B", "z": 1, "a": 2, "new": true});
    let out = m.render(&[None, Some(&changed)]).unwrap();
    assert_eq!(
        out,
        "# keep me\nkind: A  # inline\nz: 1\n---\n# and me\nkind: B\nz: 1\na: 2\nnew: true\n"
    );
}

#[test]
fn changed_json_stays_json() {
    let m = parse(Source::new(
        "a.json",
        "{\"kind\": \"A\", \"b\": 1}\n",
        Format::Json,
    ))
    .unwrap();
    let out = m.render(&[Some(&json!({"kind": "A", "b": 2}))]).unwrap();
    assert_eq!(out, "{\n  \"kind\": \"A\",\n  \"b\": 2\n}\n");
}

#[test]
fn inline_document_content_moves_below_its_marker_when_rewritten() {
    let m = yaml("--- {kind: A}\n").unwrap();
    let out = m.render(&[Some(&json!({"kind": "A", "b": 1}))]).unwrap();
    assert_eq!(out, "--- \nkind: A\nb: 1\n");
    assert_eq!(
        yaml(&out).unwrap().documents[0].value,
        json!({"kind": "A", "b": 1})
    );
}

#[test]
fn diff_is_empty_for_equal_texts_and_unified_otherwise() {
    assert_eq!(unified_diff("a.yaml", "x\n", "x\n"), "");
    let diff = unified_diff("a.yaml", "x\ny\n", "x\nz\n");
    assert!(diff.starts_with("--- a.yaml\n+++ a.yaml\n@@ "), "{diff}");
    assert!(diff.contains("-y\n+z\n"), "{diff}");
}

proptest! {
    #[test]
    fn parsing_never_panics_on_any_text(text in "\\PC*|(---\n|- |: |[{}\\[\\],#&*!|>'\"%@`\t\n ]|[a-z0-9]{1,4})*") {
        let _ = yaml(&text);
        let _ = parse(Source::new("a.json", text, Format::Json));
    }

    #[test]
    fn parsing_never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Ok(m) = yaml(&text) {
            let values: Vec<_> = m.documents.iter().map(|d| d.value.clone()).collect();
            let refs: Vec<_> = values.iter().map(Some).collect();
            let out = m.render(&refs).unwrap();
            let again = yaml(&out).unwrap();
            let round: Vec<_> = again.documents.iter().map(|d| d.value.clone()).collect();
            prop_assert_eq!(round, values);
        }
    }
}

#[test]
fn concatenated_sources_are_separated_once() {
    let out = concatenate(["a: 1", "---\nb: 2\n", "  \n", "{\"c\": 3}\n"]);
    assert_eq!(out, "a: 1\n---\nb: 2\n---\n{\"c\": 3}\n");
}

#[test]
fn error_messages_keep_quotes_readable() {
    let err = yaml("--- {kind: A, b: [1}\n").unwrap_err().to_string();
    assert!(
        err.starts_with("deploy.yaml: document 1, line 1, column 18: "),
        "{err}"
    );
    assert!(err.contains("'['"), "{err}");
}
