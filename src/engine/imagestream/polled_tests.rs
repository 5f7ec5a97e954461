//! `--polled-registry`: tags of a polled registry are left to `autoredeploy poll`.

use serde_json::{Value, json};

use crate::config::RuleConfig;
use crate::engine::catalog::EmptyCatalog;
use crate::engine::test_support::{change_codes, finding_codes, run_input};
use crate::engine::{Code, Request};

fn polled_docker_hub() -> RuleConfig {
    RuleConfig {
        polled_registries: vec!["docker.io".into()],
        ..RuleConfig::default()
    }
}

fn tag(name: &str, from: &str) -> Value {
    json!({"name": name, "from": {"kind": "DockerImage", "name": from}})
}

#[test]
fn a_polled_registry_is_not_scheduled_and_says_why() {
    let object = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "app", "namespace": "shop"},
        "spec": {"tags": [tag("hub", "nginx:1"), tag("quay", "quay.io/org/app:1")]}});
    let outcome = run_input(
        &object,
        &Request::default(),
        &EmptyCatalog,
        &polled_docker_hub(),
    );
    assert_eq!(outcome.object["spec"]["tags"][0].get("importPolicy"), None);
    assert_eq!(
        outcome.object["spec"]["tags"][1]["importPolicy"],
        json!({"scheduled": true})
    );
    assert_eq!(change_codes(&outcome), [Code::ScheduledImport]);
    assert_eq!(finding_codes(&outcome), [Code::Polled]);
    let finding = &outcome.findings[0];
    assert_eq!(finding.path, "/spec/tags/0");
    assert!(
        finding
            .message
            .contains("docker.io is polled by autoredeploy poll"),
        "{}",
        finding.message
    );
}

#[test]
fn many_polled_tags_get_no_pull_budget_finding() {
    let tags: Vec<Value> = (0..20)
        .map(|i| tag(&format!("t{i}"), &format!("org/app{i}:latest")))
        .collect();
    let object = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "app", "namespace": "shop"}, "spec": {"tags": tags}});
    let polled = run_input(
        &object,
        &Request::default(),
        &EmptyCatalog,
        &polled_docker_hub(),
    );
    assert!(polled.is_unchanged());
    assert!(finding_codes(&polled).iter().all(|c| *c == Code::Polled));
    // Without the flag the same stream goes over docker.io's default budget.
    let scheduled = run_input(
        &object,
        &Request::default(),
        &EmptyCatalog,
        &RuleConfig::default(),
    );
    assert!(finding_codes(&scheduled).contains(&Code::PullBudget));
}

#[test]
fn the_pollers_own_image_stream_import_is_not_scheduled() {
    let import = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport",
        "metadata": {"name": "app", "namespace": "shop"},
        "spec": {"import": true, "images": [{
            "from": {"kind": "DockerImage", "name": "docker.io/org/app:1"},
            "to": {"name": "1"}, "importPolicy": {"importMode": "Legacy"},
            "referencePolicy": {"type": "Source"}}]}});
    let outcome = run_input(
        &import,
        &Request::default(),
        &EmptyCatalog,
        &polled_docker_hub(),
    );
    assert!(outcome.is_unchanged(), "{:?}", outcome.changes);
    assert_eq!(finding_codes(&outcome), [Code::Polled]);
}

/// The UPDATE the poller's merge patch makes: the annotation added, nothing else changed.
fn annotated_by_the_poller(tags: Vec<Value>, unpollable: &str) -> (Value, Value) {
    let old = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "app", "namespace": "shop", "resourceVersion": "7"},
        "spec": {"tags": tags}});
    let mut new = old.clone();
    new["metadata"]["annotations"] = json!({"autoredeploy.io/unpollable-tags": unpollable});
    (old, new)
}

fn update(old: &Value) -> Request<'_> {
    Request::update(old)
}

#[test]
fn a_tag_the_poller_cannot_read_is_scheduled_within_budget_with_a_finding() {
    let (old, new) = annotated_by_the_poller(
        vec![tag("private", "team/private:1"), tag("public", "nginx:1")],
        "private, gone",
    );
    let outcome = run_input(&new, &update(&old), &EmptyCatalog, &polled_docker_hub());
    assert_eq!(
        outcome.object["spec"]["tags"][0]["importPolicy"],
        json!({"scheduled": true})
    );
    assert_eq!(outcome.object["spec"]["tags"][1].get("importPolicy"), None);
    assert_eq!(change_codes(&outcome), [Code::ScheduledImport]);
    assert_eq!(finding_codes(&outcome), [Code::Unpollable, Code::Polled]);
    let finding = &outcome.findings[0];
    assert_eq!(finding.path, "/spec/tags/0");
    assert!(
        finding.message.contains("autoredeploy.io/unpollable-tags")
            && finding.message.contains("pull budget"),
        "{}",
        finding.message
    );
    // Not annotated: the same update schedules nothing.
    let plain = run_input(&old, &update(&old), &EmptyCatalog, &polled_docker_hub());
    assert!(plain.is_unchanged(), "{:?}", plain.changes);
    assert_eq!(finding_codes(&plain), [Code::Polled, Code::Polled]);
}

#[test]
fn an_unpollable_tag_over_its_budget_stays_unscheduled_with_pull_budget() {
    let (old, new) = annotated_by_the_poller(vec![tag("private", "team/private:1")], "private");
    let config = RuleConfig {
        budgets: crate::config::RegistryBudgets::new(
            &["docker.io=10/6h".parse().unwrap()],
            "15m".parse().unwrap(),
        ),
        ..polled_docker_hub()
    };
    let outcome = run_input(&new, &update(&old), &EmptyCatalog, &config);
    assert!(outcome.is_unchanged(), "{:?}", outcome.changes);
    assert_eq!(
        finding_codes(&outcome),
        [Code::Unpollable, Code::PullBudget]
    );
}
