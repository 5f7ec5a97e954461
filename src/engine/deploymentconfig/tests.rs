use serde_json::{Value, json};

use crate::config::{PullPolicyHandling, RuleConfig};
use crate::engine::catalog::EmptyCatalog;
use crate::engine::test_support::{change_codes, finding_codes, run, run_input, run_with_streams};
use crate::engine::{Code, Operation, Request};
use crate::testing;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const INTERNAL: &str = "image-registry.openshift-image-registry.svc:5000";

fn dc(containers: Value, triggers: Option<Value>) -> Value {
    let mut object = json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 1, "template": {"spec": {"containers": containers}}}});
    if let Some(triggers) = triggers {
        object["spec"]["triggers"] = triggers;
    }
    object
}

/// Stream `name` with one tag from `from`; lookupPolicy.local, so short `stream:tag` names in
/// these tests mean the stream.
fn stream(name: &str, tag: &str, from: &str, resolved: Option<&str>) -> Value {
    let stream = testing::stream("shop", name).lookup_local().tag(tag, from);
    match resolved {
        Some(reference) => stream.resolved(tag, reference).build(),
        None => stream.build(),
    }
}

#[test]
fn technical_note_example_gets_scheduled_import_and_image_change_trigger() {
    let image = "docker.io/alanbchristie/jenkins-slave-docker-centos7:latest";
    let is = stream("jenkins-slave", "latest", image, None);
    let stream_outcome = run(&is);
    assert_eq!(
        stream_outcome.object["spec"]["tags"][0]["importPolicy"]["scheduled"],
        json!(true)
    );
    let object = dc(
        json!([{"name": "jenkins", "image": image, "imagePullPolicy": "Always"}]),
        Some(json!([{"type": "ConfigChange"}])),
    );
    let outcome = run_with_streams(&object, &[is]);
    assert_eq!(
        outcome.object["spec"]["triggers"],
        json!([{"type": "ConfigChange"},
        {"type": "ImageChange", "imageChangeParams": {"automatic": true, "containerNames": ["jenkins"],
         "from": {"kind": "ImageStreamTag", "name": "jenkins-slave:latest"}}}])
    );
    assert_eq!(
        change_codes(&outcome),
        [Code::ImageChangeTrigger, Code::PullPolicy]
    );
    assert_eq!(
        outcome.changes[0].message,
        "added ImageChange trigger for container \"jenkins\" (jenkins-slave:latest)"
    );
    assert_eq!(
        outcome.object["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
}

#[test]
fn containers_of_one_tag_share_one_trigger_and_other_namespaces_are_named() {
    let mut object = dc(
        json!([{"name": "a", "image": "app:1"}, {"name": "b", "image": format!("{INTERNAL}/base/tools:2")}]),
        Some(json!([])),
    );
    object["spec"]["template"]["spec"]["initContainers"] =
        json!([{"name": "init", "image": "app:1"}]);
    object["spec"]["triggers"] = json!([{"type": "ConfigChange"}]);
    let tools = testing::stream("base", "tools").status_tag("2").build();
    let outcome = run_with_streams(&object, &[stream("app", "1", "org/app:1", None), tools]);
    let triggers = &outcome.object["spec"]["triggers"];
    assert_eq!(
        triggers[1]["imageChangeParams"]["containerNames"],
        json!(["a", "init"])
    );
    assert_eq!(
        triggers[2]["imageChangeParams"]["from"],
        json!({"kind": "ImageStreamTag", "name": "tools:2", "namespace": "base"})
    );
}

#[test]
fn absent_triggers_get_config_change_but_explicit_empty_list_gets_nothing() {
    let containers = json!([{"name": "web", "image": "app:1", "imagePullPolicy": "IfNotPresent"}]);
    let streams = [stream("app", "1", "org/app:1", None)];
    let absent = run_with_streams(&dc(containers.clone(), None), &streams);
    assert_eq!(
        absent.object["spec"]["triggers"][0],
        json!({"type": "ConfigChange"})
    );
    assert_eq!(
        change_codes(&absent),
        [Code::ConfigChangeTrigger, Code::ImageChangeTrigger]
    );
    let null = run_with_streams(&dc(containers.clone(), Some(Value::Null)), &streams);
    assert_eq!(
        null.object["spec"]["triggers"],
        absent.object["spec"]["triggers"]
    );
    let empty = run_with_streams(&dc(containers, Some(json!([]))), &streams);
    assert!(empty.is_unchanged());
    assert_eq!(finding_codes(&empty), [Code::TriggersDisabled]);
}

#[test]
fn existing_trigger_for_the_same_tag_only_gains_container_names() {
    let triggers = json!([{"type": "ImageChange", "imageChangeParams": {"automatic": true,
        "containerNames": ["a"], "from": {"kind": "ImageStreamTag", "name": "app:1", "namespace": "shop"},
        "lastTriggeredImage": "x"}}]);
    let object = dc(
        json!([{"name": "a", "image": " "}, {"name": "b", "image": "app:1"}]),
        Some(triggers),
    );
    let outcome = run_with_streams(&object, &[stream("app", "1", "org/app:1", None)]);
    let params = &outcome.object["spec"]["triggers"][0]["imageChangeParams"];
    assert_eq!(params["containerNames"], json!(["a", "b"]));
    assert_eq!(params["lastTriggeredImage"], "x");
    assert_eq!(
        outcome.object["spec"]["triggers"].as_array().unwrap().len(),
        1
    );
    assert_eq!(change_codes(&outcome)[0], Code::TriggerContainerAdded);
}

#[test]
fn automatic_false_trigger_is_kept_and_reported() {
    let triggers = json!([{"type": "ImageChange", "imageChangeParams": {"automatic": false,
        "containerNames": ["a"], "from": {"kind": "ImageStreamTag", "name": "app:1"}}}]);
    let object = dc(
        json!([{"name": "a", "image": "app:1", "imagePullPolicy": "Always"},
                           {"name": "b", "image": "app:1"}]),
        Some(triggers),
    );
    let outcome = run_with_streams(&object, &[stream("app", "1", "org/app:1", None)]);
    let params = &outcome.object["spec"]["triggers"][0]["imageChangeParams"];
    assert_eq!(params["automatic"], json!(false));
    assert_eq!(params["containerNames"], json!(["a", "b"]));
    assert_eq!(finding_codes(&outcome), [Code::ManualTriggerKept]);
    // A manual trigger does not manage the image, so the pull policy is left alone.
    assert_eq!(change_codes(&outcome), [Code::TriggerContainerAdded]);
}

#[test]
fn pull_policy_keeps_user_values_and_can_be_disabled() {
    let streams = [
        stream("app", "1", "org/app:1", None),
        stream("lat", "latest", "org/lat", None),
    ];
    let object = dc(
        json!([{"name": "pinned-tag", "image": "app:1", "imagePullPolicy": "Always"},
                           {"name": "defaulted", "image": "docker.io/org/lat", "imagePullPolicy": "Always"},
                           {"name": "never", "image": "org/lat:latest", "imagePullPolicy": "Never"}]),
        Some(json!([{"type": "ConfigChange"}])),
    );
    let outcome = run_with_streams(&object, &streams);
    let containers = &outcome.object["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["imagePullPolicy"], "Always");
    assert_eq!(containers[1]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(containers[2]["imagePullPolicy"], "Never");
    let catalog = testing::catalog(&streams, "");
    let keep = RuleConfig {
        pull_policy: PullPolicyHandling::Keep,
        ..RuleConfig::default()
    };
    let kept = run_input(&object, &Request::default(), &catalog, &keep);
    assert!(!change_codes(&kept).contains(&Code::PullPolicy));
}

#[test]
fn explicit_binding_skip_containers_and_object_skip_are_respected() {
    let mut object = dc(
        json!([{"name": "web", "image": " "}, {"name": "side", "image": "app:1"}]),
        Some(json!([{"type": "ConfigChange"}])),
    );
    object["metadata"]["annotations"] = json!({"autoredeploy.io/image-stream-tags": "web=other/site:v2",
                                               "autoredeploy.io/skip-containers": "side"});
    let site = testing::stream("other", "site").status_tag("v2").build();
    let outcome = run_with_streams(&object, &[stream("app", "1", "org/app:1", None), site]);
    assert_eq!(
        outcome.object["spec"]["triggers"][1]["imageChangeParams"]["from"],
        json!({"kind": "ImageStreamTag", "name": "site:v2", "namespace": "other"})
    );
    assert_eq!(
        outcome.object["spec"]["triggers"][1]["imageChangeParams"]["containerNames"],
        json!(["web"])
    );
    assert_eq!(finding_codes(&outcome), [Code::OptedOut]);
    // A tag no stream has would block every rollout of the DC: reported, not written.
    let missing = run_with_streams(&object, &[stream("app", "1", "org/app:1", None)]);
    assert_eq!(
        missing.object["spec"]["triggers"],
        json!([{"type": "ConfigChange"}])
    );
    assert_eq!(finding_codes(&missing), [Code::UnknownTag, Code::OptedOut]);
    object["metadata"]["annotations"]["autoredeploy.io/skip"] = json!("true");
    let skipped = run(&object);
    assert!(skipped.is_unchanged());
    assert_eq!(finding_codes(&skipped), [Code::OptedOut]);
}

#[test]
fn digest_pinned_and_untracked_images_are_reported_not_bound() {
    let object = dc(
        json!([{"name": "pin", "image": format!("org/app@{DIGEST}")},
                           {"name": "ext", "image": "docker.io/org/app:latest"}]),
        None,
    );
    let outcome = run(&object);
    assert!(outcome.is_unchanged());
    assert_eq!(
        finding_codes(&outcome),
        [Code::DigestPinned, Code::UntrackedImage]
    );
    assert_eq!(
        outcome.findings[1].path,
        "/spec/template/spec/containers/1/image"
    );
    assert!(outcome.findings[1].message.contains(
        "oc import-image app:latest --from=docker.io/org/app:latest --confirm --scheduled"
    ));
}

#[test]
fn create_gets_the_resolved_image_when_the_catalog_knows_it() {
    let resolved = format!("org/app@{DIGEST}");
    let object = dc(
        json!([{"name": "web", "image": "org/app:1", "imagePullPolicy": "IfNotPresent"}]),
        None,
    );
    let outcome = run_with_streams(&object, &[stream("app", "1", "org/app:1", Some(&resolved))]);
    assert_eq!(
        outcome.object["spec"]["template"]["spec"]["containers"][0]["image"],
        json!(resolved)
    );
    assert_eq!(
        change_codes(&outcome),
        [
            Code::ConfigChangeTrigger,
            Code::ImageChangeTrigger,
            Code::ResolvedImage
        ]
    );
}

#[test]
fn update_keeps_the_running_image_from_last_triggered_image_without_catalog() {
    let running = format!("org/app@{DIGEST}");
    let triggers = json!([{"type": "ImageChange", "imageChangeParams": {"automatic": true,
        "containerNames": ["web"], "from": {"kind": "ImageStreamTag", "name": "app:1"}, "lastTriggeredImage": running}}]);
    let old = dc(
        json!([{"name": "web", "image": running, "imagePullPolicy": "IfNotPresent"}]),
        Some(triggers.clone()),
    );
    let new = dc(
        json!([{"name": "web", "image": " ", "imagePullPolicy": "IfNotPresent"}]),
        Some(triggers),
    );
    let request = Request {
        old_object: Some(&old),
        operation: Operation::Update,
        ..Request::default()
    };
    let outcome = run_input(&new, &request, &EmptyCatalog, &RuleConfig::default());
    assert_eq!(
        outcome.object["spec"]["template"]["spec"]["containers"][0]["image"],
        json!(running)
    );
    assert_eq!(change_codes(&outcome), [Code::KeptRunningImage]);
    let off = RuleConfig {
        avoid_double_rollout: false,
        ..RuleConfig::default()
    };
    assert!(run_input(&new, &request, &EmptyCatalog, &off).is_unchanged());
}

#[test]
fn trigger_controller_updates_pass_untouched() {
    let object = dc(json!([{"name": "web", "image": "app:1"}]), None);
    let request = Request {
        username: Some("system:serviceaccount:openshift-infra:image-trigger-controller"),
        ..Request::default()
    };
    let catalog = testing::catalog([&stream("app", "1", "org/app:1", None)], "");
    let outcome = run_input(&object, &request, &catalog, &RuleConfig::default());
    assert!(outcome.is_unchanged());
    assert!(outcome.changes.is_empty() && outcome.findings.is_empty());
}

#[test]
fn duplicate_container_names_leave_the_workload_alone() {
    let image = format!("{INTERNAL}/shop/app:1");
    let object = dc(
        json!([{"name": "web", "image": image}, {"name": "web", "image": "app"}]),
        Some(json!([{"type": "ConfigChange"}])),
    );
    let outcome = run(&object);
    assert!(outcome.is_unchanged(), "{:?}", outcome.patch);
    assert_eq!(finding_codes(&outcome), [Code::Unreadable]);
    assert!(
        outcome.findings[0]
            .message
            .contains("\"web\" is used twice")
    );
}
