use serde_json::{Value, json};

use super::*;
use crate::batch::{View, judge};
use crate::catalog::CatalogIndex;
use crate::config::Mode;
use crate::config::RuleConfig;
use crate::engine::Change;

/// The engine's outcome for a re-apply of `stored`, as `scan` judges it.
fn run_engine(stored: &Value, catalog: &CatalogIndex, rules: &RuleConfig) -> Outcome {
    judge(View::Reapply, stored, Mode::Enforce, catalog, rules).outcome
}

fn deployment(annotations: Value, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}})
}

fn image_stream(tag: Value) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "app", "namespace": "shop"}, "spec": {"tags": [tag]}})
}

fn unchanged(object: &Value, findings: Vec<Change>) -> Outcome {
    Outcome {
        object: object.clone(),
        changes: Vec::new(),
        findings,
        patch: json_patch::Patch(Vec::new()),
        bindings: Vec::new(),
    }
}

fn tags_of(streams: &[Value]) -> TagTable {
    tags_with(streams, &RuleConfig::default())
}

fn tags_with(streams: &[Value], rules: &RuleConfig) -> TagTable {
    let mut catalog = CatalogIndex::new();
    streams.iter().for_each(|s| catalog.upsert(s, ""));
    let mut tags = TagTable::new(None);
    streams
        .iter()
        .for_each(|s| tags.insert_stream(s, &catalog, rules));
    tags
}

#[test]
fn a_finding_without_a_status_of_its_own_needs_attention_with_its_code() {
    let object = deployment(json!({}), "quay.io/o/a:1");
    let finding = Change::new(Code::Unreadable, "/metadata/annotations/x", "cannot read x");
    let verdict = workload(
        Kind::Deployment,
        &object,
        &unchanged(&object, vec![finding]),
        &tags_of(&[]),
    );
    assert_eq!(verdict.status, Status::NeedsAttention);
    assert!(
        verdict.detail.contains("unreadable: cannot read x"),
        "{}",
        verdict.detail
    );
}

#[test]
fn a_trigger_on_an_unscheduled_external_tag_is_not_scheduled() {
    let trigger = r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#;
    let object = deployment(
        json!({"image.openshift.io/triggers": trigger}),
        "quay.io/o/a:1",
    );
    let tags = tags_of(&[image_stream(
        json!({"name": "1", "from": {"kind": "DockerImage", "name": "quay.io/o/a:1"}}),
    )]);
    let verdict = workload(
        Kind::Deployment,
        &object,
        &unchanged(&object, vec![]),
        &tags,
    );
    assert_eq!(verdict.status, Status::NotScheduled, "{}", verdict.detail);
    let scheduled = image_stream(json!({"name": "1", "importPolicy": {"scheduled": true},
        "from": {"kind": "DockerImage", "name": "quay.io/o/a:1"}}));
    let verdict = workload(
        Kind::Deployment,
        &object,
        &unchanged(&object, vec![]),
        &tags_of(&[scheduled]),
    );
    assert_eq!(verdict.status, Status::AutoRedeploys);
    // A filtered tag is never scheduled by the webhook: the workload does not redeploy by
    // itself, and the detail says why.
    let rules = RuleConfig {
        repositories: crate::config::RepositoryFilter::new(&[], &["quay.io/**".to_string()])
            .unwrap(),
        ..RuleConfig::default()
    };
    let filtered = tags_with(
        &[image_stream(
            json!({"name": "1", "from": {"kind": "DockerImage", "name": "quay.io/o/a:1"}}),
        )],
        &rules,
    );
    let verdict = workload(
        Kind::Deployment,
        &object,
        &unchanged(&object, vec![]),
        &filtered,
    );
    assert_eq!(verdict.status, Status::NotScheduled);
    assert!(
        verdict.detail.ends_with(
            "quay.io/o/a is left out by the repository filters, so the webhook never schedules it"
        ),
        "{}",
        verdict.detail
    );
}

#[test]
fn every_container_skipped_is_opted_out() {
    let object = deployment(
        json!({"autoredeploy.io/skip-containers": "web"}),
        "quay.io/o/a:1",
    );
    let outcome = run_engine(&object, &CatalogIndex::new(), &RuleConfig::default());
    let verdict = workload(Kind::Deployment, &object, &outcome, &tags_of(&[]));
    assert_eq!(verdict.status, Status::OptedOut, "{}", verdict.detail);
}

#[test]
fn streams_without_external_tags_have_nothing_to_import() {
    let pushed = image_stream(json!({"name": "latest"}));
    let verdict = stream_verdict(&pushed);
    assert_eq!(verdict.status, Status::NothingToImport);
    let bare = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "app", "namespace": "shop"},
        "spec": {"dockerImageRepository": "quay.io/o/a"}});
    let verdict = stream_verdict(&bare);
    assert_eq!(verdict.status, Status::NeedsAttention);
    assert!(
        verdict.detail.starts_with("repository-without-tags: "),
        "{}",
        verdict.detail
    );
}

/// The webhook never schedules a tag the repository filters leave out, so it is not "not
/// scheduled" (which `--fix` or the next apply would change): the engine's decision, not a
/// second one.
#[test]
fn an_excluded_repository_is_nothing_the_webhook_schedules() {
    let tag = image_stream(
        json!({"name": "1", "from": {"kind": "DockerImage", "name": "quay.io/o/a:1"}}),
    );
    let rules = RuleConfig {
        repositories: crate::config::RepositoryFilter::new(&[], &["quay.io/**".to_string()])
            .unwrap(),
        ..RuleConfig::default()
    };
    let outcome = run_engine(&tag, &CatalogIndex::new(), &rules);
    assert!(outcome.is_unchanged(), "{outcome:?}");
    let verdict = stream(
        &tag,
        &outcome,
        &tags_with(std::slice::from_ref(&tag), &rules),
    );
    assert_eq!(
        verdict,
        Verdict {
            status: Status::NothingToImport,
            detail: "no tag the webhook schedules: 1 left out by the repository filters".into()
        }
    );
    // Without the filter, the same tag is scheduled by the engine.
    let outcome = run_engine(&tag, &CatalogIndex::new(), &RuleConfig::default());
    assert_eq!(stream_verdict(&tag).status, Status::WouldChange);
    assert!(!outcome.is_unchanged());
}

/// A tag imported from the cluster's own registry is fed by pushes and builds: the webhook
/// never schedules it, and scan does not call it "not scheduled".
#[test]
fn a_tag_from_the_clusters_own_registry_is_nothing_to_import() {
    let mut tag = image_stream(json!({"name": "1", "from": {"kind": "DockerImage",
        "name": "default-route-openshift-image-registry.apps.example.com/base/app:1"}}));
    tag["status"] = json!({"publicDockerImageRepository":
        "default-route-openshift-image-registry.apps.example.com/shop/app"});
    let outcome = run_engine(&tag, &CatalogIndex::new(), &RuleConfig::default());
    assert!(outcome.is_unchanged(), "{outcome:?}");
    let verdict = stream(&tag, &outcome, &tags_of(std::slice::from_ref(&tag)));
    assert_eq!(verdict.status, Status::NothingToImport, "{verdict:?}");
}

fn stream_verdict(object: &Value) -> Verdict {
    let outcome = run_engine(object, &CatalogIndex::new(), &RuleConfig::default());
    stream(object, &outcome, &tags_of(std::slice::from_ref(object)))
}

#[test]
fn a_container_finding_without_a_status_of_its_own_names_its_code_first() {
    let object = deployment(
        json!({}),
        "quay.io/o/a@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    );
    let outcome = run_engine(&object, &CatalogIndex::new(), &RuleConfig::default());
    let verdict = workload(Kind::Deployment, &object, &outcome, &tags_of(&[]));
    assert_eq!(verdict.status, Status::NeedsAttention);
    assert!(
        verdict
            .detail
            .starts_with("digest-pinned: container \"web\": "),
        "{}",
        verdict.detail
    );
}

#[test]
fn a_tag_on_a_polled_registry_is_reported_as_polled_not_unscheduled() {
    let tag = image_stream(
        json!({"name": "1", "from": {"kind": "DockerImage", "name": "docker.io/o/a:1"}}),
    );
    let rules = RuleConfig {
        polled_registries: vec!["docker.io".into()],
        ..RuleConfig::default()
    };
    let outcome = run_engine(&tag, &CatalogIndex::new(), &rules);
    let verdict = stream(
        &tag,
        &outcome,
        &tags_with(std::slice::from_ref(&tag), &rules),
    );
    assert_eq!(verdict.status, Status::AutoRedeploys, "{}", verdict.detail);
    assert!(
        verdict.detail.contains("polled by autoredeploy poll"),
        "{}",
        verdict.detail
    );
    let scheduled = run_engine(&tag, &CatalogIndex::new(), &RuleConfig::default());
    let table = tags_of(std::slice::from_ref(&tag));
    assert_ne!(
        stream(&tag, &scheduled, &table).status,
        Status::AutoRedeploys
    );
}

#[test]
fn owned_and_label_opted_out_objects_say_so() {
    let mut owned = deployment(json!({}), "quay.io/o/a:1");
    owned["metadata"]["ownerReferences"] =
        json!([{"kind": "Shop", "name": "main", "uid": "u", "controller": true}]);
    let outcome = run_engine(&owned, &CatalogIndex::new(), &RuleConfig::default());
    let verdict = workload(Kind::Deployment, &owned, &outcome, &tags_of(&[]));
    assert_eq!(
        verdict,
        Verdict {
            status: Status::Owned,
            detail: "owned by Shop main; opt in with autoredeploy.io/manage-owned: \"true\"".into()
        }
    );
    let mut labelled = image_stream(json!({"name": "1",
        "from": {"kind": "DockerImage", "name": "quay.io/o/a:1"}}));
    labelled["metadata"]["labels"] = json!({"autoredeploy.io/skip": "true"});
    let outcome = run_engine(&labelled, &CatalogIndex::new(), &RuleConfig::default());
    assert_eq!(
        stream(
            &labelled,
            &outcome,
            &tags_of(std::slice::from_ref(&labelled))
        ),
        Verdict {
            status: Status::OptedOut,
            detail: "label autoredeploy.io/skip=true".into()
        }
    );
}

/// From 11 containers on, `/containers/1` is a string prefix of `/containers/10`: container
/// 1 must not claim container 10's findings.
#[test]
fn container_one_does_not_claim_container_tens_findings() {
    let containers: Vec<Value> = (0..11)
        .map(|i| json!({"name": format!("c{i}"), "image": format!("quay.io/o/c{i}:1")}))
        .collect();
    let mut object = deployment(json!({}), "unused");
    object["spec"]["template"]["spec"]["containers"] = Value::Array(containers);
    let outcome = run_engine(&object, &CatalogIndex::new(), &RuleConfig::default());
    assert_eq!(outcome.findings.len(), 11, "{:?}", outcome.findings);
    let verdict = workload(Kind::Deployment, &object, &outcome, &tags_of(&[]));
    assert_eq!(verdict.status, Status::NotTracked);
    for i in 0..11 {
        let said = verdict
            .detail
            .matches(&format!("container \"c{i}\": "))
            .count();
        assert_eq!(said, 1, "c{i}: {}", verdict.detail);
    }
    assert!(
        !verdict
            .detail
            .contains("container \"c1\": no ImageStream tracks quay.io/o/c10:1"),
        "{}",
        verdict.detail
    );
}
