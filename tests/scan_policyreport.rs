//! `autoredeploy scan --output policyreport` against a fake API server on loopback, validated
//! against the official `wgpolicyk8s.io` PolicyReport CRD (vendored from
//! kubernetes-sigs/wg-policy-prototypes, its `v1alpha2` schema). Unknown fields are refused,
//! as `kubectl apply` does with strict field validation.

use crate::scan_objects as objects;

use autoredeploy::testing::fake_api::FakeApi;
use objects::{cluster_objects, scan};
use serde_json::{Value, json};

const CRD: &str = "tests/fixtures/policyreport/wgpolicyk8s.io_policyreports.yaml";

/// The `v1alpha2` openAPIV3Schema, with every object that lists its properties closed to
/// others (structural schemas prune unknown fields; strict field validation refuses them).
fn schema() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(CRD);
    let text = std::fs::read_to_string(path).expect("vendored CRD");
    let crd: Value = serde_saphyr::from_str(&text).expect("CRD YAML");
    let version = crd["spec"]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .find(|v| v["name"] == "v1alpha2")
        .expect("v1alpha2 is served");
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    close(&mut schema);
    schema
}

/// Walks schema positions only (`properties`, `items`, `additionalProperties`), so a field
/// that happens to be called `properties` is not mistaken for a schema keyword.
fn close(schema: &mut Value) {
    let Some(fields) = schema.as_object_mut() else {
        return;
    };
    if fields.contains_key("properties") && !fields.contains_key("additionalProperties") {
        fields.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(properties) = fields.get_mut("properties").and_then(Value::as_object_mut) {
        properties.values_mut().for_each(close);
    }
    for keyword in ["items", "additionalProperties"] {
        if let Some(child) = fields.get_mut(keyword) {
            close(child);
        }
    }
}

fn errors(validator: &jsonschema::Validator, item: &Value) -> Vec<String> {
    validator
        .iter_errors(item)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

async fn reports() -> Value {
    let cluster = FakeApi::start(cluster_objects()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let run = scan(
        &cluster.kubeconfig(dir.path()),
        &["-A", "--output", "policyreport"],
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.err);
    serde_json::from_str(&run.out).expect("JSON")
}

#[tokio::test]
async fn every_report_is_valid_against_the_policyreport_crd() {
    let list = reports().await;
    assert_eq!(
        (&list["apiVersion"], &list["kind"]),
        (&json!("v1"), &json!("List"))
    );
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    let items = list["items"].as_array().expect("items");
    let namespaces: Vec<&Value> = items.iter().map(|r| &r["metadata"]["namespace"]).collect();
    assert_eq!(
        namespaces,
        [&json!("other"), &json!("shop")],
        "one report per namespace"
    );
    for report in items {
        assert_eq!(
            errors(&validator, report),
            Vec::<String>::new(),
            "{report:#}"
        );
        assert_eq!(report["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        for outcome in ["pass", "fail", "warn", "error", "skip"] {
            let counted = report["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["result"] == outcome)
                .count();
            assert_eq!(report["summary"][outcome], counted, "summary.{outcome}");
        }
    }
    insta::assert_json_snapshot!("policyreport", list);
}

#[tokio::test]
async fn the_schema_check_catches_a_wrong_result_and_an_unknown_field() {
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    let list = reports().await;
    let mut report = list["items"][0].clone();
    report["results"][0]["result"] = json!("bogus");
    assert_eq!(errors(&validator, &report).len(), 1);
    let mut report = list["items"][0].clone();
    report["results"][0]["extra"] = json!("x");
    assert_eq!(errors(&validator, &report).len(), 1);
}

#[tokio::test]
async fn each_object_and_rule_has_one_result() {
    let list = reports().await;
    let shop = &list["items"][1];
    let results = shop["results"].as_array().unwrap();
    let of = |name: &str| -> Vec<(String, String)> {
        results
            .iter()
            .filter(|r| r["resources"][0]["name"] == name)
            .map(|r| {
                (
                    r["rule"].as_str().unwrap().to_string(),
                    r["result"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let fail = |rule: &str| (rule.to_string(), "fail".to_string());
    assert_eq!(
        of("web"),
        [fail("annotation-trigger"), fail("resolved-image")]
    );
    assert_eq!(
        of("ok"),
        [("auto-redeploy".to_string(), "pass".to_string())]
    );
    assert_eq!(of("db"), [("opted-out".to_string(), "skip".to_string())]);
    assert_eq!(
        of("api"),
        [("import-success".to_string(), "fail".to_string())]
    );
    assert_eq!(
        of("report"),
        [("trigger-paused".to_string(), "warn".to_string())]
    );
}
