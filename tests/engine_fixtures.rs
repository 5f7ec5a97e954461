//! The objects of AdmissionReview requests recorded from a real kube-apiserver go through
//! the engine: the patch reproduces the output, a second pass changes nothing, and each
//! fixture gets the changes the rules promise.

use autoredeploy::catalog::{CatalogIndex, EmptyCatalog};
use autoredeploy::config::RuleConfig;
use autoredeploy::engine::{Code, Outcome, Request, mutate};
use autoredeploy::testing::recorded::{self, engine_input};
use serde_json::{Value, json};

/// The `request` of a recorded review, by file stem.
fn request(name: &str) -> Value {
    recorded::fixture(&format!("{name}.json"))["request"].clone()
}

fn catalog() -> CatalogIndex {
    let stream = request("imagestream-create");
    CatalogIndex::from_objects([&stream["object"]], "")
}

fn checked((object, request): (&Value, Request<'_>), catalog: &CatalogIndex) -> Outcome {
    autoredeploy::testing::checked(object, &request, catalog, &RuleConfig::default())
}

fn codes(changes: &[autoredeploy::engine::Change]) -> Vec<Code> {
    changes.iter().map(|c| c.code).collect()
}

#[test]
fn recorded_imagestream_create_gets_scheduled_import() {
    let request = request("imagestream-create");
    let outcome = checked(engine_input(&request), &CatalogIndex::new());
    assert_eq!(codes(&outcome.changes), [Code::ScheduledImport]);
    assert_eq!(
        outcome.object.pointer("/spec/tags/0/importPolicy"),
        Some(&json!({"scheduled": true}))
    );
}

#[test]
fn recorded_deploymentconfig_requests_keep_their_trigger_and_get_pull_policy() {
    let catalog = catalog();
    for name in [
        "deploymentconfig-create",
        "deploymentconfig-update-kubectl-apply",
        "deploymentconfig-update-server-side-apply",
        "deploymentconfig-update-dry-run",
    ] {
        let request = request(name);
        let outcome = checked(engine_input(&request), &catalog);
        // The existing ImageChange trigger covers "frontend": nothing is added to triggers.
        assert_eq!(
            outcome.object["spec"]["triggers"], request["object"]["spec"]["triggers"],
            "{name}"
        );
        assert_eq!(codes(&outcome.changes), [Code::PullPolicy], "{name}");
    }
}

#[test]
fn recorded_deploymentconfig_update_keeps_the_digest_the_trigger_wrote() {
    let mut request = request("deploymentconfig-update-kubectl-apply");
    let running = "registry.example/frontend@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    request["oldObject"]["spec"]["template"]["spec"]["containers"][0]["image"] = json!(running);
    request["oldObject"]["spec"]["triggers"][1]["imageChangeParams"]["lastTriggeredImage"] =
        json!(running);
    let outcome = checked(engine_input(&request), &CatalogIndex::new());
    assert_eq!(
        outcome
            .object
            .pointer("/spec/template/spec/containers/0/image"),
        Some(&json!(running))
    );
    assert!(codes(&outcome.changes).contains(&Code::KeptRunningImage));
}

#[test]
fn recorded_deployment_create_reports_its_untracked_image() {
    let request = request("deployment-create");
    let outcome = checked(engine_input(&request), &catalog());
    assert!(outcome.is_unchanged());
    assert_eq!(codes(&outcome.findings), [Code::UntrackedImage]);
    assert!(
        outcome.findings[0]
            .message
            .contains("--from=registry.example/web:1.0")
    );
}

#[test]
fn recorded_requests_from_the_trigger_controller_pass_untouched() {
    let mut request = request("deploymentconfig-create");
    request["userInfo"]["username"] =
        json!("system:serviceaccount:openshift-infra:image-trigger-controller");
    let (object, engine_request) = engine_input(&request);
    let outcome = mutate(
        object,
        &engine_request,
        &EmptyCatalog,
        &RuleConfig::default(),
    );
    assert!(outcome.is_unchanged() && outcome.changes.is_empty() && outcome.findings.is_empty());
}
