//! What kube-apiserver checks in a mutating webhook's AdmissionReview response
//! (`VerifyAdmissionResponse` and the mutating dispatcher), restated as assertions.

use base64::Engine as _;
use serde_json::Value;

const API_VERSION: &str = "admission.k8s.io/v1";
const KIND: &str = "AdmissionReview";
const WARNING_BUDGET_RUNES: usize = 4096;
const WARNING_MAX_RUNES: usize = 256;
const AUDIT_KEY_MAX: usize = 63;

/// Panics unless `response` (the whole AdmissionReview) would be accepted for `request`.
pub fn assert_accepted_by_apiserver(request: &Value, response: &Value) {
    assert_eq!(
        response["apiVersion"], API_VERSION,
        "apiVersion: {response}"
    );
    assert_eq!(response["kind"], KIND, "kind: {response}");
    let inner = response
        .get("response")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("response absent: {response}"));
    assert_eq!(
        inner.get("uid"),
        request.pointer("/request/uid"),
        "uid echo"
    );
    assert_eq!(
        inner.get("allowed"),
        Some(&Value::Bool(true)),
        "never denies"
    );
    check_patch(request, inner.get("patchType"), inner.get("patch"));
    check_warnings(inner.get("warnings"));
    check_audit_annotations(inner.get("auditAnnotations"));
}

fn check_patch(request: &Value, patch_type: Option<&Value>, patch: Option<&Value>) {
    match (patch_type, patch) {
        (None, None) => {}
        (Some(pt), Some(Value::String(b64))) => {
            assert_eq!(pt, "JSONPatch", "patchType");
            assert!(!b64.is_empty(), "patchType without patch");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("patch is standard base64");
            let ops: json_patch::Patch =
                serde_json::from_slice(&bytes).expect("patch is a JSON Patch");
            assert!(!ops.0.is_empty(), "patchType with an empty patch");
            let operation = request.pointer("/request/operation").unwrap();
            assert_ne!(operation, "DELETE", "patch on DELETE is an internal error");
            let mut object = request.pointer("/request/object").unwrap().clone();
            json_patch::patch(&mut object, &ops).expect("patch applies to request.object");
        }
        other => panic!("patchType iff a non-empty base64 patch, got {other:?}"),
    }
}

fn check_warnings(warnings: Option<&Value>) {
    let Some(warnings) = warnings else { return };
    let warnings = warnings.as_array().expect("warnings is an array");
    let mut total = 0;
    for warning in warnings {
        let text = warning.as_str().expect("warning is a string");
        assert!(!text.is_empty(), "empty warning");
        assert!(
            !text.chars().any(char::is_control),
            "control char: {text:?}"
        );
        let runes = text.chars().count();
        assert!(runes <= WARNING_MAX_RUNES, "warning too long: {runes}");
        total += runes;
    }
    assert!(
        total <= WARNING_BUDGET_RUNES,
        "warnings over budget: {total}"
    );
}

fn check_audit_annotations(annotations: Option<&Value>) {
    let Some(annotations) = annotations else {
        return;
    };
    for (key, value) in annotations.as_object().expect("auditAnnotations is a map") {
        assert!(value.is_string(), "audit annotation value is a string");
        assert!(
            is_qualified_name_part(key),
            "invalid audit annotation key {key:?}"
        );
    }
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters, no `/`.
fn is_qualified_name_part(key: &str) -> bool {
    let bytes = key.as_bytes();
    let edge = |b: &u8| b.is_ascii_alphanumeric();
    let middle = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    !bytes.is_empty()
        && bytes.len() <= AUDIT_KEY_MAX
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(middle)
}
