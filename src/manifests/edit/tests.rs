//! Patches applied to text: what changes and what stays.

use serde_json::json;

use super::*;

fn edit(text: &str, patch: serde_json::Value) -> Result<String, Unsupported> {
    let patch: Patch = serde_json::from_value(patch).unwrap();
    apply(text, &[(String::new(), patch)], false)
}

#[test]
fn a_new_key_follows_its_siblings_and_comments_stay() {
    let text = "spec:\n    # the tags\n    tags:\n    - name: a # first\n      from: {kind: DockerImage}\n    # end of tags\n";
    let patch =
        json!([{"op": "add", "path": "/spec/tags/0/importPolicy", "value": {"scheduled": true}}]);
    assert_eq!(
        edit(text, patch).unwrap(),
        "spec:\n    # the tags\n    tags:\n    - name: a # first\n      from: {kind: DockerImage}\n      importPolicy:\n          scheduled: true\n    # end of tags\n"
    );
}

#[test]
fn a_replaced_scalar_keeps_its_comment_and_quotes() {
    let text = "image: \"app:1\" # pinned\npolicy: Always\n";
    let patch = json!([
        {"op": "replace", "path": "/image", "value": "app@sha256:ab"},
        {"op": "replace", "path": "/policy", "value": "IfNotPresent"},
    ]);
    assert_eq!(
        edit(text, patch).unwrap(),
        "image: \"app@sha256:ab\" # pinned\npolicy: IfNotPresent\n"
    );
}

#[test]
fn flow_collections_stay_flow() {
    let text = "metadata: {name: web, labels: {app: web}}\nnames: [a, b]\n";
    let patch = json!([
        {"op": "add", "path": "/metadata/annotations", "value": {"a/b": "x y"}},
        {"op": "add", "path": "/names/2", "value": "c"},
    ]);
    let edited = edit(text, patch).unwrap();
    assert!(edited.contains("annotations: {a/b: 'x y'}"), "{edited}");
    assert!(edited.contains("names: [a, b, c]"), "{edited}");
}

#[test]
fn json_collections_get_json_values() {
    let text = "{\n  \"kind\": \"A\",\n  \"spec\": {\n    \"x\": 1\n  }\n}";
    let patch = json!([{"op": "add", "path": "/spec/y", "value": {"z": "a:b"}}]);
    let edited = apply(
        text,
        &[(String::new(), serde_json::from_value(patch).unwrap())],
        true,
    )
    .unwrap();
    let value: serde_json::Value = serde_json::from_str(&edited).expect("still JSON");
    assert_eq!(value["spec"]["y"], json!({"z": "a:b"}));
    assert!(edited.contains("\"x\": 1"), "{edited}");
}

#[test]
fn aliases_and_merge_keys_on_the_path_are_refused() {
    let text = "base: &b {x: 1}\nspec: *b\nother:\n  <<: *b\n";
    let through_alias = json!([{"op": "add", "path": "/spec/y", "value": 1}]);
    assert_eq!(
        edit(text, through_alias),
        Err(Unsupported::Alias("/spec".into()))
    );
    let merged = json!([{"op": "add", "path": "/other/y", "value": 1}]);
    assert_eq!(
        edit(text, merged),
        Err(Unsupported::MergeKey("/other".into()))
    );
}

#[test]
fn removals_and_the_placeholder_are_refused() {
    let remove = json!([{"op": "remove", "path": "/a"}]);
    assert!(matches!(
        edit("a: 1\n", remove),
        Err(Unsupported::Editor(_))
    ));
    let add = json!([{"op": "add", "path": "/b", "value": 1}]);
    let text = format!("a: {PLACEHOLDER}0\n");
    assert_eq!(edit(&text, add), Err(Unsupported::Placeholder));
}

#[test]
fn crlf_documents_get_crlf_lines() {
    let text = "spec:\r\n  a: 1\r\n";
    let patch =
        json!([{"op": "add", "path": "/spec/triggers", "value": [{"type": "ConfigChange"}]}]);
    assert_eq!(
        edit(text, patch).unwrap(),
        "spec:\r\n  a: 1\r\n  triggers:\r\n  - type: ConfigChange\r\n"
    );
}

#[test]
fn single_quoted_flow_collections_get_single_quoted_style() {
    let text = "labels: {'a': 'b'}\nnames: ['x']\n";
    let patch = json!([
        {"op": "add", "path": "/labels/c", "value": "d e"},
        {"op": "add", "path": "/names/1", "value": "it's"},
    ]);
    let edited = edit(text, patch).unwrap();
    assert_eq!(
        edited,
        "labels: {'a': 'b', c: 'd e'}\nnames: ['x', \"it's\"]\n"
    );
}
