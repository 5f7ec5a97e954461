//! Every input saved under `tests/fixtures/fuzz/` (fuzzer findings and hand-made nasty bodies),
//! plus generated ones too big to commit (deep nesting, huge strings), goes through the same checks
//! as the fuzz target (`autoredeploy::testing::fuzz`): no panic, a valid answer when the body
//! decodes, an engine patch that applies and a second pass that changes nothing.

use autoredeploy::testing::fuzz as check;

use std::path::PathBuf;

use serde_json::json;

const DIR: &str = "tests/fixtures/fuzz";
/// Larger than the serde_json recursion limit (128), far smaller than the stack.
const DEEP: usize = 100_000;
const HUGE: usize = 4 * 1024 * 1024;

fn saved_inputs() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fuzz fixture dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("fixture"))
        })
        .collect();
    inputs.sort();
    inputs
}

fn review(object: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                    "namespace": "team-a", "operation": "CREATE", "object": object}
    }))
    .unwrap()
}

#[test]
fn every_saved_fuzz_input_passes_the_fuzz_checks() {
    let inputs = saved_inputs();
    assert!(inputs.len() >= 10, "the hand-made inputs are missing");
    for (name, bytes) in inputs {
        eprintln!("checking {name}");
        check::check(&bytes);
    }
}

#[test]
fn deeply_nested_bodies_are_refused_without_overflowing_the_stack() {
    let mut arrays = vec![b'['; DEEP];
    arrays.extend(vec![b']'; DEEP]);
    check::check(&arrays);
    let mut objects = b"{\"request\":".repeat(DEEP);
    objects.extend(vec![b'}'; DEEP]);
    check::check(&objects);
}

#[test]
fn nesting_just_inside_the_parser_limit_goes_through_the_engine() {
    let mut value = json!("leaf");
    // Two levels per step, plus the review's own eight: 118 of serde_json's 128.
    for _ in 0..55 {
        value = json!({"containers": [value]});
    }
    let body = review(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "deep"}, "spec": {"template": {"spec": value}}}));
    assert!(autoredeploy::admission::decode(&body).is_ok(), "decodes");
    check::check(&body);
}

#[test]
fn huge_strings_are_reviewed() {
    let huge = "a".repeat(HUGE);
    let image = format!("image-registry.openshift-image-registry.svc:5000/team-a/{huge}:latest");
    check::check(&review(
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": huge, "annotations": {"autoredeploy.io/image-stream-tags": huge}},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}),
    ));
}

#[test]
fn arbitrary_bytes_and_truncations_never_panic() {
    let whole = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/apiserver-1.36/deploymentconfig-update-kubectl-apply.json"),
    )
    .unwrap();
    for cut in (0..whole.len()).step_by(97) {
        check::check(&whole[..cut]);
    }
    check::check(&[0xff, 0x00, 0xfe, b'{', b'"']);
}
