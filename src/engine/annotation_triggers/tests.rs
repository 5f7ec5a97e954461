use serde_json::{Value, json};

use crate::config::RuleConfig;
use crate::engine::test_support::{change_codes, finding_codes, run, run_input, run_with_streams};
use crate::engine::{Code, Operation, Request};
use crate::testing;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn workload(kind: &str, containers: Value, annotations: Option<Value>) -> Value {
    let (api, spec) = match kind {
        "CronJob" => (
            "batch/v1",
            json!({"jobTemplate": {"spec": {"template": {"spec": {"containers": containers}}}}}),
        ),
        _ => (
            "apps/v1",
            json!({"template": {"spec": {"containers": containers}}}),
        ),
    };
    let mut object = json!({"apiVersion": api, "kind": kind, "metadata": {"name": "web", "namespace": "shop"}, "spec": spec});
    if let Some(annotations) = annotations {
        object["metadata"]["annotations"] = annotations;
    }
    object
}

/// Stream `app` with tag `1` from `org/app:1`; lookupPolicy.local, so short `app:1` names
/// in these tests mean the stream.
fn stream(resolved: Option<&str>) -> Value {
    let app = testing::stream("shop", "app")
        .lookup_local()
        .tag("1", "org/app:1");
    match resolved {
        Some(reference) => app.resolved("1", reference).build(),
        None => app.build(),
    }
}

fn triggers(outcome: &crate::engine::Outcome) -> &str {
    outcome.object["metadata"]["annotations"]["image.openshift.io/triggers"]
        .as_str()
        .unwrap()
}

#[test]
fn deployment_gets_the_triggers_annotation_in_go_json_form() {
    let object = workload(
        "Deployment",
        json!([{"name": "web", "image": "org/app:1", "imagePullPolicy": "IfNotPresent"}]),
        None,
    );
    let outcome = run_with_streams(&object, &[stream(None)]);
    assert_eq!(
        triggers(&outcome),
        r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#
    );
    assert_eq!(change_codes(&outcome), [Code::AnnotationTrigger]);
    assert_eq!(
        outcome.changes[0].path,
        "/metadata/annotations/image.openshift.io~1triggers"
    );
    assert_eq!(
        outcome.changes[0].message,
        "added image trigger for container \"web\" (app:1)"
    );
    assert!(
        outcome.object["spec"]["template"]["metadata"].is_null(),
        "never on the pod template"
    );
}

#[test]
fn statefulset_and_daemonset_are_annotated_too() {
    for kind in ["StatefulSet", "DaemonSet"] {
        let object = workload(kind, json!([{"name": "web", "image": "app:1"}]), None);
        let outcome = run_with_streams(&object, &[stream(None)]);
        assert!(
            triggers(&outcome).contains("spec.template.spec.containers"),
            "{kind}"
        );
    }
}

#[test]
fn cronjob_uses_the_job_template_prefix_and_init_containers_their_list() {
    let mut object = workload("CronJob", json!([{"name": "run", "image": "app:1"}]), None);
    object["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"] = json!([{"name": "prep", "image": "image-registry.openshift-image-registry.svc:5000/tools/prep:1"}]);
    // `prep:1` was pushed to the cluster's registry: it exists in status only.
    let prep = testing::stream("tools", "prep").status_tag("1").build();
    let outcome = run_with_streams(&object, &[stream(None), prep]);
    assert_eq!(
        triggers(&outcome),
        concat!(
            r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.jobTemplate.spec.template.spec.containers[?(@.name==\"run\")].image"},"#,
            r#"{"from":{"kind":"ImageStreamTag","name":"prep:1","namespace":"tools"},"fieldPath":"spec.jobTemplate.spec.template.spec.initContainers[?(@.name==\"prep\")].image"}]"#
        )
    );
}

#[test]
fn existing_entries_are_kept_and_covered_containers_not_added_twice() {
    let existing = r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"a\")].image","paused":true},{"fieldPath":"spec.template.spec.containers[1].image","from":{"name":"app:1","kind":"ImageStreamTag"},"x":1}]"#;
    let object = workload(
        "Deployment",
        json!([{"name": "a", "image": "app:1"}, {"name": "b", "image": "app:1"},
                                               {"name": "c", "image": "app:1", "imagePullPolicy": "IfNotPresent"}]),
        Some(json!({"image.openshift.io/triggers": existing})),
    );
    let outcome = run_with_streams(&object, &[stream(None)]);
    let entries: Vec<Value> = serde_json::from_str(triggers(&outcome)).unwrap();
    let before: Vec<Value> = serde_json::from_str(existing).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[..2], before[..], "existing entries kept in meaning");
    assert!(entries[2]["fieldPath"].as_str().unwrap().contains("\"c\""));
    // "a" is paused: the controller does not write its image, so its pull policy stays.
    assert!(
        outcome.object["spec"]["template"]["spec"]["containers"][0]
            .get("imagePullPolicy")
            .is_none()
    );
}

#[test]
fn covered_annotation_is_not_rewritten() {
    let existing = r#"[ {"from": {"kind": "ImageStreamTag", "name": "app:1"}, "fieldPath": "spec.template.spec.containers[?(@.name==\"web\")].image"} ]"#;
    let object = workload(
        "Deployment",
        json!([{"name": "web", "image": "app:1", "imagePullPolicy": "IfNotPresent"}]),
        Some(json!({"image.openshift.io/triggers": existing})),
    );
    let outcome = run_with_streams(&object, &[stream(None)]);
    assert!(outcome.is_unchanged());
}

#[test]
fn annotations_the_controller_cannot_decode_block_and_are_left_alone() {
    for (bad, code) in [
        (json!("not json"), Code::BlockedTrigger),
        (json!("{}"), Code::BlockedTrigger),
        (json!(r#"[{"paused":1}]"#), Code::BlockedTrigger),
        (json!(3), Code::Unreadable),
    ] {
        let object = workload(
            "Deployment",
            json!([{"name": "web", "image": "app:1"}]),
            Some(json!({"image.openshift.io/triggers": bad})),
        );
        let outcome = run_with_streams(&object, &[stream(None)]);
        assert!(outcome.is_unchanged(), "{bad}");
        assert_eq!(finding_codes(&outcome), [code], "{bad}");
    }
}

#[test]
fn paused_strings_and_single_quoted_selectors_are_repaired() {
    let existing = r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[?(@.name='web')].image","paused":"false"}]"#;
    let object = workload(
        "Deployment",
        json!([{"name": "web", "image": "app:1"}]),
        Some(json!({"image.openshift.io/triggers": existing})),
    );
    let outcome = run_with_streams(&object, &[stream(None)]);
    assert_eq!(
        triggers(&outcome),
        r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#
    );
    assert_eq!(
        change_codes(&outcome),
        [
            Code::TriggerRepaired,
            Code::TriggerRepaired,
            Code::PullPolicy
        ]
    );
}

#[test]
fn an_entry_naming_a_missing_container_blocks_everything_and_nothing_is_claimed() {
    let existing = r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"gone\")].image"}]"#;
    let object = workload(
        "Deployment",
        json!([{"name": "web", "image": "app:1", "imagePullPolicy": "Always"}]),
        Some(json!({"image.openshift.io/triggers": existing})),
    );
    let outcome = run_with_streams(&object, &[stream(None)]);
    assert!(
        outcome.is_unchanged(),
        "no trigger added, no pull policy relaxed"
    );
    assert_eq!(finding_codes(&outcome), [Code::BlockedTrigger]);
    assert!(outcome.findings[0].message.contains("\"gone\""));
}

#[test]
fn a_bumped_image_retargets_the_trigger_that_would_revert_it() {
    let existing = r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#;
    let mut two = stream(None);
    two["spec"]["tags"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "2", "from": {"kind": "DockerImage", "name": "org/app:2"}}));
    let object = workload(
        "Deployment",
        json!([{"name": "web", "image": "org/app:2", "imagePullPolicy": "IfNotPresent"}]),
        Some(json!({"image.openshift.io/triggers": existing})),
    );
    let outcome = run_with_streams(&object, &[two]);
    assert!(triggers(&outcome).contains(r#""name":"app:2""#));
    assert_eq!(change_codes(&outcome), [Code::TriggerRetargeted]);
    // Nothing tracks org/app:3: the trigger would write app:1 back, so it is reported.
    let mut three = object.clone();
    three["spec"]["template"]["spec"]["containers"][0]["image"] = json!("org/app:3");
    let outcome = run_with_streams(&three, &[stream(None)]);
    assert!(outcome.is_unchanged());
    assert_eq!(finding_codes(&outcome), [Code::StaleTrigger]);
}

#[test]
fn jobs_pods_and_replicasets_are_never_annotated() {
    for (api, kind) in [
        ("batch/v1", "Job"),
        ("v1", "Pod"),
        ("apps/v1", "ReplicaSet"),
    ] {
        let object = json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}},
                     "containers": [{"name": "web", "image": "nginx"}]}});
        let outcome = run(&object);
        assert!(
            outcome.is_unchanged() && outcome.changes.is_empty() && outcome.findings.is_empty(),
            "{kind}"
        );
    }
}

#[test]
fn create_with_blank_image_gets_the_resolved_image() {
    let resolved = format!("org/app@{DIGEST}");
    let annotations = json!({"autoredeploy.io/image-stream-tags": "web=app:1"});
    let object = workload(
        "Deployment",
        json!([{"name": "web", "image": " "}]),
        Some(annotations),
    );
    let outcome = run_with_streams(&object, &[stream(Some(&resolved))]);
    let container = &outcome.object["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], json!(resolved));
    assert_eq!(
        change_codes(&outcome),
        [
            Code::AnnotationTrigger,
            Code::ResolvedImage,
            Code::PullPolicy
        ]
    );
}

#[test]
fn update_with_the_source_reference_keeps_the_running_digest() {
    let running = format!("docker.io/org/app@{DIGEST}");
    let catalog = testing::catalog([&stream(Some(&format!("org/app@{DIGEST}")))], "");
    let annotation = r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#;
    let old = workload(
        "Deployment",
        json!([{"name": "web", "image": running, "imagePullPolicy": "IfNotPresent"}]),
        Some(json!({"image.openshift.io/triggers": annotation})),
    );
    let new = workload(
        "Deployment",
        json!([{"name": "web", "image": "org/app:1", "imagePullPolicy": "IfNotPresent"}]),
        Some(json!({"image.openshift.io/triggers": annotation})),
    );
    let request = Request {
        old_object: Some(&old),
        operation: Operation::Update,
        ..Request::default()
    };
    let outcome = run_input(&new, &request, &catalog, &RuleConfig::default());
    assert_eq!(
        outcome.object["spec"]["template"]["spec"]["containers"][0]["image"],
        json!(running)
    );
    assert_eq!(change_codes(&outcome), [Code::KeptRunningImage]);
    // A different tag the user asked for is not an unresolved reference: it goes through.
    let other = workload(
        "Deployment",
        json!([{"name": "web", "image": "org/app:2", "imagePullPolicy": "IfNotPresent"}]),
        Some(json!({"image.openshift.io/triggers": annotation})),
    );
    let outcome = run_input(&other, &request, &catalog, &RuleConfig::default());
    assert!(outcome.is_unchanged());
    assert_eq!(finding_codes(&outcome), [Code::StaleTrigger]);
}

#[test]
fn a_digest_follows_the_trigger_only_in_the_tags_own_repositories() {
    let existing = r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#;
    let pinned = |image: String| {
        workload(
            "Deployment",
            json!([{"name": "web", "image": image, "imagePullPolicy": "IfNotPresent"}]),
            Some(json!({"image.openshift.io/triggers": existing})),
        )
    };
    let foreign = pinned(format!("quay.io/other/thing@{DIGEST}"));
    let outcome = run_with_streams(&foreign, &[stream(Some(&format!("org/app@{DIGEST}")))]);
    assert_eq!(finding_codes(&outcome), [Code::StaleTrigger]);
    // Without a catalog nothing is known of app:1's repositories: no false finding.
    assert!(run(&foreign).findings.is_empty());
    // The source's repository, and the stream's in the cluster registry, are the tag's own.
    for own in [
        format!("docker.io/org/app@{DIGEST}"),
        format!("image-registry.openshift-image-registry.svc:5000/shop/app@{DIGEST}"),
    ] {
        let outcome = run_with_streams(&pinned(own.clone()), &[stream(None)]);
        assert!(outcome.findings.is_empty(), "{own}: {:?}", outcome.findings);
    }
}

/// Every change and finding names its container by pointer: with eleven containers, the
/// eleventh's are its own, never the second's (`/containers/1` is a string prefix of
/// `/containers/10`), and a trigger added for a container names it though its path is the
/// annotation.
#[test]
fn changes_and_findings_carry_the_container_they_concern() {
    let mut containers: Vec<Value> = (0..10)
        .map(|i| json!({"name": format!("c{i}"), "image": format!("quay.io/other/c{i}:1")}))
        .collect();
    containers.push(json!({"name": "c10", "image": "app:1"}));
    let object = workload("Deployment", Value::Array(containers), None);
    let outcome = run_with_streams(&object, &[stream(None)]);
    let pointer = |i: usize| format!("/spec/template/spec/containers/{i}");
    let added: Vec<_> = outcome
        .changes
        .iter()
        .map(|c| (c.code, c.container.clone()))
        .collect();
    assert_eq!(
        added,
        [
            (Code::AnnotationTrigger, Some(pointer(10))),
            (Code::PullPolicy, Some(pointer(10)))
        ]
    );
    assert_eq!(
        outcome.changes[0].path,
        "/metadata/annotations/image.openshift.io~1triggers"
    );
    for (i, finding) in outcome.findings.iter().enumerate() {
        assert_eq!(finding.code, Code::UntrackedImage);
        assert_eq!(finding.container, Some(pointer(i)), "{finding:?}");
        assert!(finding.concerns(&pointer(i)) && !finding.concerns(&pointer(10)));
    }
    assert_eq!(outcome.findings.len(), 10);
    // What concerns the whole object names no container.
    let skipped = workload(
        "Deployment",
        json!([{"name": "web", "image": "app:1"}]),
        Some(json!({"autoredeploy.io/skip": "true"})),
    );
    let outcome = run_with_streams(&skipped, &[stream(None)]);
    assert_eq!(finding_codes(&outcome), [Code::OptedOut]);
    assert_eq!(outcome.findings[0].container, None);
}
