//! What must hold for ANY input bytes, checked by the fuzz target (`fuzz/`) and, on the saved
//! inputs, by `tests/fuzz_regressions.rs`: no panic; a body that decodes is answered
//! allowed, with its uid, with `patchType` iff a patch, and a patch that applies to
//! `request.object`; the engine's patch turns the input into its output, and a second pass
//! over the output changes nothing. Anything else is a finding.

use crate::admission::{self, Context};
use crate::catalog::CatalogIndex;
use crate::config::{Mode, RuleConfig};
use crate::engine::{Operation, Request};
use base64::Engine as _;
use serde_json::{Value, json};

/// Run every check on `data`; panics on a violation.
pub fn check(data: &[u8]) {
    let rules = RuleConfig::default();
    // serde_json does not check UTF-8 inside strings a typed decode skips, so a review can
    // decode while the same bytes are not valid JSON text; the lossy copy is the reference.
    let parsed: Option<Value> = serde_json::from_slice(data)
        .ok()
        .or_else(|| serde_json::from_str(&String::from_utf8_lossy(data)).ok());
    let catalog = catalog(parsed.as_ref().and_then(|v| v.pointer("/request/object")));
    for mode in [Mode::Enforce, Mode::Audit] {
        let ctx = Context {
            mode,
            catalog: &catalog,
            config: &rules,
        };
        if let Ok((response, _)) = admission::review(data, &ctx) {
            let response = serde_json::to_value(&response).expect("response serialises");
            check_response(parsed.as_ref().expect("decoded, so JSON"), &response);
        }
    }
    if let Ok(request) = admission::decode(data) {
        let operation = match request.operation {
            kube::core::admission::Operation::Update => Operation::Update,
            _ => Operation::Create,
        };
        if let Some(object) = request.object.as_ref().filter(|o| o.is_object()) {
            let engine_request = Request {
                old_object: request.old_object.as_ref().filter(|o| o.is_object()),
                operation,
                namespace: Some(request.namespace.as_str()).filter(|ns| !ns.is_empty()),
                username: request.username.as_deref(),
            };
            check_engine(object, &engine_request, &catalog, &rules);
        }
    } else if let Some(object) = parsed.as_ref().filter(|v| v.is_object()) {
        check_engine(object, &Request::default(), &catalog, &rules);
    }
}

/// A catalog knowing one stream, plus the input object when it is an ImageStream.
fn catalog(object: Option<&Value>) -> CatalogIndex {
    let known = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "app", "namespace": "team-a"},
        "spec": {"tags": [{"name": "latest",
            "from": {"kind": "DockerImage", "name": "docker.io/library/nginx:latest"}}]},
        "status": {"tags": [{"tag": "latest", "items": [{"dockerImageReference":
            "docker.io/library/nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"}]}]}});
    CatalogIndex::from_objects([&known].into_iter().chain(object), "team-a")
}

fn check_response(review: &Value, response: &Value) {
    assert_eq!(response["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(response["kind"], "AdmissionReview");
    let inner = &response["response"];
    assert_eq!(inner["uid"], review["request"]["uid"], "uid echoed");
    assert_eq!(inner["allowed"], true, "never denies");
    match (inner.get("patchType"), inner.get("patch")) {
        (None, None) => {}
        (Some(kind), Some(Value::String(b64))) => {
            assert_eq!(kind, "JSONPatch");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("patch is base64");
            let patch: json_patch::Patch = serde_json::from_slice(&bytes).expect("JSON Patch");
            assert!(!patch.0.is_empty(), "patchType with an empty patch");
            let mut object = review["request"]["object"].clone();
            json_patch::patch(&mut object, &patch).expect("patch applies to request.object");
        }
        other => panic!("patchType iff patch: {other:?}"),
    }
}

fn check_engine(object: &Value, request: &Request<'_>, catalog: &CatalogIndex, rules: &RuleConfig) {
    super::checked(object, request, catalog, rules);
}
