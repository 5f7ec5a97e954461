//! Parsing, located errors, reprinting and the no-panic property of the manifests module.

use proptest::prelude::*;
use serde_json::json;

use super::*;

pub(super) fn yaml(text: &str) -> Result<Manifest, ManifestError> {
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
fn other_yaml_is_set_aside_with_why() {
    let text = "- a\n---\njust text\n---\non: [push]\njobs: {}\n---\nkind: A\n";
    let m = yaml(text).unwrap();
    assert_eq!(m.documents.len(), 1);
    assert_eq!(m.documents[0].index, 4);
    let reasons: Vec<_> = m.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        reasons,
        [
            "deploy.yaml:1: document 1 left as it is: a sequence, not a Kubernetes object",
            "deploy.yaml:3: document 2 left as it is: a string, not a Kubernetes object",
            "deploy.yaml:5: document 3 left as it is: no apiVersion or kind, so not a Kubernetes object",
        ]
    );
    // Set aside, they are printed back byte for byte.
    let rendered = m.render(&[]).unwrap();
    assert_eq!(rendered.text, text);
}

#[test]
fn a_helm_chart_file_is_set_aside_but_elsewhere_an_api_version_needs_a_kind() {
    let chart = "apiVersion: v2\nname: app\nversion: 0.1.0\n";
    let mut source = Source::new("chart/Chart.yaml", chart, Format::Yaml);
    source.path = Some("chart/Chart.yaml".into());
    let m = parse(source).unwrap();
    assert_eq!(m.skipped[0].reason, "a Helm chart's metadata");
    let err = yaml(chart).unwrap_err().to_string();
    assert!(err.contains("no `kind`"), "{err}");
}

#[test]
fn a_template_that_does_not_parse_is_named_a_template() {
    let text = "# {{ in a comment }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n";
    let err = yaml(text).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "deploy.yaml: line 5: a Helm (Go) template, not a manifest (`{{` on this line)"
        ),
        "{err}"
    );
    // GitHub Actions expressions are not template actions, and valid YAML is read as such.
    assert_eq!(template_line("run: echo ${{ github.sha }}\n"), None);
    let workflow = yaml("on: [push]\njobs:\n  b:\n    steps:\n    - run: echo ${{ github.sha }}\n");
    assert_eq!(workflow.unwrap().skipped.len(), 1);
}

#[test]
fn duplicate_keys_are_reported_without_the_parser_library_s_advice() {
    let err = yaml("kind: A\nmetadata:\n  name: a\n  name: b\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "deploy.yaml: document 1, line 4, column 3: duplicate key \"name\": a key may appear only once in a mapping"
    );
}

#[test]
fn documents_that_are_not_objects_are_rejected() {
    let cases = [
        ("apiVersion: v1\nmetadata: {name: x}\n", "no `kind`"),
        ("kind: 3\n", "no `kind`"),
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

/// The change that turns `doc` into `mutated`, as the engine would report it.
pub(super) fn change(doc: &Document, mutated: serde_json::Value) -> Option<DocumentChange> {
    let patch = json_patch::diff(&doc.value, &mutated);
    Some(DocumentChange {
        mutated,
        patches: vec![(String::new(), patch)],
    })
}

#[test]
fn render_edits_only_changed_documents_in_place() {
    let text = "# keep me\nkind: A  # inline\nz: 1\n---\n# and me\nkind: B\nz: 1\na: 2\n";
    let m = yaml(text).unwrap();
    assert_eq!(m.render(&[None, None]).unwrap().text, text);
    let changed = json!({"kind": "B", "z": 1, "a": 2, "new": true});
    let out = m.render(&[None, change(&m.documents[1], changed)]).unwrap();
    assert_eq!(
        out.text,
        "# keep me\nkind: A  # inline\nz: 1\n---\n# and me\nkind: B\nz: 1\na: 2\nnew: true\n"
    );
    assert_eq!(out.rewrites, []);
}

#[test]
fn changed_json_stays_json_edited_in_place() {
    let text = "{\"kind\": \"A\", \"b\": 1}\n";
    let m = parse(Source::new("a.json", text, Format::Json)).unwrap();
    let out = m
        .render(&[change(&m.documents[0], json!({"kind": "A", "b": 2}))])
        .unwrap();
    assert_eq!(out.text, "{\"kind\": \"A\", \"b\": 2}\n");
}

#[test]
fn inline_document_content_is_edited_on_its_marker_line() {
    let m = yaml("--- {kind: A}\n").unwrap();
    let out = m
        .render(&[change(&m.documents[0], json!({"kind": "A", "b": 1}))])
        .unwrap();
    assert_eq!(out.text, "--- {kind: A, b: 1}\n");
}

#[test]
fn an_edit_under_an_anchor_re_renders_the_document_and_says_why() {
    let text = "kind: A\nmetadata:\n  name: a\nspec: &s\n  x: 1\nstatus: *s\n";
    let m = yaml(text).unwrap();
    let mut mutated = m.documents[0].value.clone();
    mutated["spec"]["y"] = json!(2);
    let out = m
        .render(&[change(&m.documents[0], mutated.clone())])
        .unwrap();
    assert_eq!(yaml(&out.text).unwrap().documents[0].value, mutated);
    let [rewrite] = out.rewrites.as_slice() else {
        panic!("one rewrite: {:?}", out.rewrites)
    };
    assert_eq!((rewrite.document, rewrite.line), (1, 1));
    assert_eq!(
        rewrite.to_string(),
        "deploy.yaml:1: document 1 (A a): re-rendered whole, comments and quoting lost: \
         an edit under an anchor would change its aliases too"
    );
}

#[test]
fn crlf_and_a_byte_order_mark_survive_a_re_rendering() {
    let text = "\u{feff}kind: A\r\nx: &a 1\r\nz: *a\r\n";
    let m = yaml(text).unwrap();
    let mutated = json!({"kind": "A", "x": 2, "z": 1});
    let out = m.render(&[change(&m.documents[0], mutated)]).unwrap();
    assert_eq!(out.rewrites.len(), 1);
    assert_eq!(out.text, "\u{feff}kind: A\r\nx: 2\r\nz: 1\r\n");
}

#[test]
fn text_that_is_not_utf8_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, b"kind: A\nname: caf\xe9\n").unwrap();
    let err = read_sources(&[path], &mut std::io::empty()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("bad.yaml: line 2: not UTF-8 text"),
        "{err}"
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
            let changes: Vec<_> = m.documents.iter().map(|d| change(d, d.value.clone())).collect();
            let out = m.render(&changes).unwrap().text;
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
