//! The reviews recorded behind OpenShift's ImagePolicy admission
//! (`tests/fixtures/apiserver-1.36/README.md`), answered as `serve` answers them (the
//! decoder, the engine, the response), against the streams as they stood: the short name the
//! manifest said binds although the webhook sees the digest ImagePolicy wrote, the digest is
//! kept, and an `imagePullPolicy: Always` written in the manifest stays.

use autoredeploy::testing::recorded::{
    MYAPP_FIRST, MYAPP_SECOND, TOOLS, fixture, image_policy_streams,
};
use serde_json::{Value, json};

/// What `serve` makes of a recorded review: the patched object and the warnings.
struct Answer {
    object: Value,
    warnings: Vec<String>,
}

fn answer(review: &Value, myapp: &str) -> Answer {
    let (object, warnings) = crate::do_no_harm::answer(review, &image_policy_streams(myapp));
    Answer { object, warnings }
}

fn triggers(object: &Value) -> Vec<Value> {
    object
        .pointer("/metadata/annotations/image.openshift.io~1triggers")
        .and_then(Value::as_str)
        .map(|text| serde_json::from_str(text).unwrap())
        .unwrap_or_default()
}

fn container(object: &Value) -> &Value {
    object
        .pointer("/spec/template/spec/containers/0")
        .expect("a container")
}

/// Whether a warning says `text` (warnings carry the message, not the code).
fn warned(answer: &Answer, text: &str) -> bool {
    answer.warnings.iter().any(|w| w.contains(text))
}

#[test]
fn a_short_name_imagepolicy_resolved_gets_its_trigger_and_keeps_the_digest() {
    let review = fixture("deployment-create-image-policy.json");
    let answer = answer(&review, MYAPP_FIRST);
    let entries = triggers(&answer.object);
    assert_eq!(entries.len(), 1, "{}", answer.object);
    assert_eq!(
        entries[0]["from"],
        json!({"kind": "ImageStreamTag", "name": "myapp:latest"})
    );
    assert_eq!(
        entries[0]["fieldPath"],
        "spec.template.spec.containers[?(@.name==\"web\")].image"
    );
    let web = container(&answer.object);
    assert_eq!(
        web["image"], MYAPP_FIRST,
        "the digest ImagePolicy wrote is kept"
    );
    // `Always` was defaulted from `myapp` (no tag): the trigger pins digests.
    assert_eq!(web["imagePullPolicy"], "IfNotPresent");
    assert!(
        !warned(&answer, "runs a digest-pinned image"),
        "{:?}",
        answer.warnings
    );
}

#[test]
fn without_the_last_applied_manifest_the_digest_stays_pinned() {
    let mut review = fixture("deployment-create-image-policy.json");
    review["request"]["object"]["metadata"]["annotations"] = json!({});
    let answer = answer(&review, MYAPP_FIRST);
    assert!(triggers(&answer.object).is_empty(), "{}", answer.object);
    assert!(
        warned(&answer, "runs a digest-pinned image"),
        "{:?}",
        answer.warnings
    );
    assert_eq!(container(&answer.object)["imagePullPolicy"], "Always");
}

#[test]
fn a_digest_that_is_not_the_tags_current_image_is_not_bound() {
    // The catalog says myapp:latest moved on: the digest is not what ImagePolicy would write
    // now, so it may be the user's own pin.
    let review = fixture("deployment-create-image-policy.json");
    let answer = answer(&review, MYAPP_SECOND);
    assert!(triggers(&answer.object).is_empty(), "{}", answer.object);
    assert_eq!(container(&answer.object)["image"], MYAPP_FIRST);
}

#[test]
fn server_side_apply_keeps_no_record_of_the_short_name() {
    // The Apply entry owns `f:image` but holds no value: the digest may be the user's.
    let review = fixture("deployment-create-image-policy-server-side-apply.json");
    let answer = answer(&review, MYAPP_FIRST);
    assert!(triggers(&answer.object).is_empty(), "{}", answer.object);
    assert!(
        warned(&answer, "runs a digest-pinned image"),
        "{:?}",
        answer.warnings
    );
    assert_eq!(container(&answer.object)["image"], MYAPP_FIRST);
}

#[test]
fn re_applying_the_short_name_after_a_push_binds_the_new_digest() {
    let review = fixture("deployment-update-image-policy.json");
    assert_eq!(
        container(&review["request"]["oldObject"])["image"],
        MYAPP_FIRST
    );
    let answer = answer(&review, MYAPP_SECOND);
    let entries = triggers(&answer.object);
    assert_eq!(entries.len(), 1, "{}", answer.object);
    assert_eq!(entries[0]["from"]["name"], "myapp:latest");
    assert_eq!(container(&answer.object)["image"], MYAPP_SECOND);
}

#[test]
fn a_deploymentconfig_short_name_gets_its_image_change_trigger() {
    let review = fixture("deploymentconfig-create-image-policy.json");
    let answer = answer(&review, MYAPP_SECOND);
    let image_change: Vec<&Value> = answer.object["spec"]["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "ImageChange")
        .collect();
    assert_eq!(image_change.len(), 1, "{}", answer.object);
    let params = &image_change[0]["imageChangeParams"];
    assert_eq!(params["automatic"], true);
    assert_eq!(params["from"]["name"], "myapp:latest");
    assert_eq!(container(&answer.object)["image"], MYAPP_SECOND);
}

#[test]
fn before_the_first_import_the_internal_pull_spec_binds_to_the_short_names_tag() {
    let review = fixture("deployment-create-image-policy-before-import.json");
    let internal = "image-registry.openshift-image-registry.svc:5000/shop/later:latest";
    assert_eq!(container(&review["request"]["object"])["image"], internal);
    let answer = answer(&review, MYAPP_FIRST);
    let entries = triggers(&answer.object);
    assert_eq!(entries.len(), 1, "{}", answer.object);
    assert_eq!(entries[0]["from"]["name"], "later:latest");
    assert_eq!(
        container(&answer.object)["image"],
        internal,
        "left for the trigger"
    );
    assert!(
        !warned(&answer, "referencePolicy Source"),
        "{:?}",
        answer.warnings
    );
}

#[test]
fn resolve_names_binds_a_stream_without_local_lookup() {
    let review = fixture("deployment-create-resolve-names.json");
    let answer = answer(&review, MYAPP_FIRST);
    let entries = triggers(&answer.object);
    assert_eq!(entries.len(), 1, "{}", answer.object);
    assert_eq!(entries[0]["from"]["name"], "tools:latest");
    assert_eq!(container(&answer.object)["image"], TOOLS);

    // Without the annotation, `tools` means Docker Hub's image, not the stream's.
    let mut review = review;
    let template = &mut review["request"]["object"]["spec"]["template"]["metadata"];
    template["annotations"]
        .as_object_mut()
        .expect("the template carries resolve-names")
        .remove("alpha.image.policy.openshift.io/resolve-names");
    let answer = self::answer(&review, MYAPP_FIRST);
    assert!(triggers(&answer.object).is_empty(), "{}", answer.object);
}

#[test]
fn an_always_written_in_the_manifest_stays() {
    for name in [
        "deployment-create-pull-always.json",
        "deployment-create-pull-always-server-side-apply.json",
    ] {
        let review = fixture(name);
        let answer = answer(&review, MYAPP_FIRST);
        let entries = triggers(&answer.object);
        assert_eq!(entries.len(), 1, "{name}: {}", answer.object);
        assert_eq!(entries[0]["from"]["name"], "nginx:latest", "{name}");
        assert_eq!(
            container(&answer.object)["imagePullPolicy"],
            "Always",
            "{name}"
        );
        assert!(
            warned(&answer, "kept imagePullPolicy Always"),
            "{name}: {:?}",
            answer.warnings
        );
    }
}

#[test]
fn a_defaulted_always_is_still_replaced() {
    // The same CREATE without the user's `imagePullPolicy`: the last-applied manifest lacks
    // it, so `Always` is Kubernetes' default for `nginx:latest`.
    let mut review = fixture("deployment-create-pull-always.json");
    let object = &mut review["request"]["object"];
    let text =
        object["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap();
    let mut manifest: Value = serde_json::from_str(text).unwrap();
    manifest["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("imagePullPolicy")
        .expect("the manifest wrote it");
    object["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
        json!(manifest.to_string());
    let answer = answer(&review, MYAPP_FIRST);
    assert_eq!(container(&answer.object)["imagePullPolicy"], "IfNotPresent");
}
