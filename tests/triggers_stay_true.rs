//! Reviews in the envelopes a real kube-apiserver sends, judged by what OpenShift's trigger
//! controller does next (the model in `do_no_harm`): an image spelled as its own trigger's
//! tag rolls out once; a bump to an untracked image pauses the trigger autoredeploy wrote,
//! so the user's image sticks, and the trigger resumes when the image names a tracked tag
//! again; a trigger the user wrote is never touched; a digest of another repository is not
//! the tag's earlier image.

use serde_json::{Value, json};

use crate::do_no_harm::{
    NEW, OLD, TRIGGERS, annotation, answer, deployment, deployment_config, image_of, nginx,
    recorded_review, trigger_controller, update_review,
};
use autoredeploy::testing;

const RECORD: &str = "autoredeploy.io/managed-triggers";

/// `nginx` in `shop` after its tag 1.25 moved to NEW: the controller would write NEW.
fn nginx_moved() -> Value {
    let mut stream = nginx();
    stream["status"]["tags"][0]["items"][0] = json!({
        "dockerImageReference": format!("docker.io/library/nginx@{NEW}"), "image": NEW});
    stream
}

/// `hello` in `shop`: imported from quay.io, without `lookupPolicy.local`, so a bare
/// `hello:latest` would never be bound to it by name alone.
fn hello() -> Value {
    testing::stream("shop", "hello")
        .tag("latest", "quay.io/acme/hello:latest")
        .resolved("latest", &format!("quay.io/acme/hello@{OLD}"))
        .build()
}

/// The classic template: `image: hello:latest` under its own trigger for `hello:latest`.
fn hello_dc(image: &str) -> Value {
    let mut dc = deployment_config(image, "hello:latest", None);
    dc["metadata"]["name"] = json!("hello");
    dc["spec"]["triggers"][1]["imageChangeParams"]["from"] =
        json!({"kind": "ImageStreamTag", "name": "hello:latest"});
    dc
}

fn with_record(mut object: Value, record: &str) -> Value {
    object["metadata"]["annotations"][RECORD] = json!(record);
    object
}

/// The warning of the change or finding `code` (warnings carry messages, not codes).
fn warned<'w>(warnings: &'w [String], code: &str) -> Option<&'w String> {
    let words = match code {
        "stale-trigger" => "but its automatic trigger follows",
        "kept-running-image" => "kept the running image",
        "manual-trigger-kept" => "kept manual ImageChange trigger",
        "trigger-paused" => "paused the image trigger",
        "trigger-resumed" => "resumed the image trigger",
        "earlier-digest" => "that is not the tag's current image",
        _ => panic!("no message known for {code}"),
    };
    warnings.iter().find(|w| w.contains(words))
}

fn entries(object: &Value) -> Vec<Value> {
    serde_json::from_str(
        object["metadata"]["annotations"][TRIGGERS]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn a_template_image_spelled_as_its_own_trigger_tag_gets_the_digest_and_rolls_out_once() {
    let running = format!("quay.io/acme/hello@{OLD}");
    // CREATE: the tag's image at once, and no false stale-trigger.
    let create = recorded_review(
        "deploymentconfig-create.json",
        "DeploymentConfig",
        hello_dc("hello:latest"),
        None,
    );
    let (created, warnings) = answer(&create, &[hello()]);
    assert_eq!(image_of(&created), running, "{warnings:?}");
    assert_eq!(warned(&warnings, "stale-trigger"), None, "{warnings:?}");
    let stored = trigger_controller(&created, &[hello()]);
    assert_eq!(
        image_of(&stored),
        running,
        "the controller writes no second image"
    );
    // Every re-apply of the template keeps the running image: no rollout at all.
    let reapply = update_review("DeploymentConfig", hello_dc("hello:latest"), stored.clone());
    let (object, warnings) = answer(&reapply, &[hello()]);
    assert_eq!(image_of(&object), running, "{warnings:?}");
    assert_eq!(warned(&warnings, "stale-trigger"), None, "{warnings:?}");
    assert_eq!(image_of(&trigger_controller(&object, &[hello()])), running);
}

#[test]
fn a_deployment_image_spelled_as_its_own_trigger_tag_keeps_the_running_digest() {
    let running = format!("quay.io/acme/hello@{OLD}");
    let old = deployment(&running, &annotation("hello:latest"));
    // `hello` is `hello:latest`: the entry's own tag, though the stream has no local lookup.
    let new = deployment("hello", &annotation("hello:latest"));
    let (object, warnings) = answer(&update_review("Deployment", new, old), &[hello()]);
    assert_eq!(image_of(&object), running, "{warnings:?}");
    assert!(
        warned(&warnings, "kept-running-image").is_some(),
        "{warnings:?}"
    );
    assert_eq!(trigger_controller(&object, &[hello()]), object);
}

#[test]
fn a_trigger_autoredeploy_adds_is_recorded_as_its_own() {
    let create = recorded_review(
        "deployment-create.json",
        "Deployment",
        deployment("nginx:1.25", "[]"),
        None,
    );
    let (object, warnings) = answer(&create, &[nginx()]);
    assert_eq!(entries(&object).len(), 1, "{warnings:?}");
    assert_eq!(object["metadata"]["annotations"][RECORD], "web=nginx:1.25");
    let create = recorded_review(
        "deploymentconfig-create.json",
        "DeploymentConfig",
        json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
               "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"replicas": 1, "selector": {"app": "web"}, "triggers": [{"type": "ConfigChange"}],
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{"name": "web", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent"}]}}}}),
        None,
    );
    let (object, _) = answer(&create, &[nginx()]);
    assert_eq!(object["spec"]["triggers"][1]["type"], "ImageChange");
    assert_eq!(object["metadata"]["annotations"][RECORD], "web=nginx:1.25");
}

/// A Deployment autoredeploy gave a trigger, as stored after the controller wrote its image.
fn owned_deployment() -> Value {
    let running = format!("docker.io/library/nginx@{OLD}");
    with_record(
        deployment(&running, &annotation("nginx:1.25")),
        "web=nginx:1.25",
    )
}

/// The object `kubectl apply` (or Argo CD) sends when Git bumps the image: the stored object
/// with the new image; the annotations nobody applied stay.
fn bumped(stored: &Value, image: &str) -> Value {
    let mut object = stored.clone();
    object["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
    object
}

#[test]
fn a_bump_to_an_untracked_image_pauses_the_trigger_autoredeploy_wrote_and_sticks() {
    let stored = owned_deployment();
    let untracked = "quay.io/acme/web:2";
    let review = update_review("Deployment", bumped(&stored, untracked), stored);
    let (object, warnings) = answer(&review, &[nginx_moved()]);
    assert_eq!(image_of(&object), untracked, "the user's image");
    assert_eq!(entries(&object)[0]["paused"], true);
    assert_eq!(
        entries(&object)[0]["from"]["name"],
        "nginx:1.25",
        "nothing lost"
    );
    assert_eq!(
        object["metadata"]["annotations"][RECORD],
        "web=nginx:1.25 paused"
    );
    assert!(
        warned(&warnings, "trigger-paused").is_some(),
        "{warnings:?}"
    );
    // Even with the tag moved, the controller writes nothing: one rollout, the user's.
    assert_eq!(trigger_controller(&object, &[nginx_moved()]), object);
    // The next GitOps reconcile sends the same manifest again: nothing to change.
    let again = update_review("Deployment", bumped(&object, untracked), object.clone());
    let (after, warnings) = answer(&again, &[nginx_moved()]);
    assert_eq!(after, object, "{warnings:?}");
    assert_eq!(warned(&warnings, "stale-trigger"), None, "{warnings:?}");
}

#[test]
fn the_record_is_read_from_the_stored_object_when_an_apply_dropped_it() {
    let stored = owned_deployment();
    let mut incoming = bumped(&stored, "quay.io/acme/web:2");
    incoming["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove(RECORD);
    let review = recorded_review(
        "deploymentconfig-update-server-side-apply.json",
        "Deployment",
        incoming,
        Some(stored),
    );
    let (object, warnings) = answer(&review, &[nginx()]);
    assert_eq!(entries(&object)[0]["paused"], true, "{warnings:?}");
    assert_eq!(
        object["metadata"]["annotations"][RECORD],
        "web=nginx:1.25 paused"
    );
    assert_eq!(trigger_controller(&object, &[nginx()]), object);
}

#[test]
fn the_record_is_written_back_alone_only_when_the_incoming_object_lost_it() {
    let stored = owned_deployment();
    // Nothing else to change: the stored record comes back, so the next apply still knows.
    let mut incoming = stored.clone();
    incoming["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove(RECORD);
    let (object, warnings) = answer(&update_review("Deployment", incoming, stored), &[nginx()]);
    assert_eq!(
        object["metadata"]["annotations"][RECORD], "web=nginx:1.25",
        "{warnings:?}"
    );
    // A record naming a container without a trigger is not pruned for its own sake: a
    // re-apply that changes nothing else is left as it is.
    let mut stale = owned_deployment();
    stale["metadata"]["annotations"][RECORD] = json!("gone=nginx:1.25,web=nginx:1.25");
    let (object, warnings) = answer(
        &update_review("Deployment", stale.clone(), stale.clone()),
        &[nginx()],
    );
    assert_eq!(object, stale, "{warnings:?}");
}

#[test]
fn a_trigger_the_user_wrote_is_never_paused() {
    let running = format!("docker.io/library/nginx@{OLD}");
    // The same trigger, but no record: the user's (or the record names another tag).
    for stored in [
        deployment(&running, &annotation("nginx:1.25")),
        with_record(
            deployment(&running, &annotation("nginx:1.25")),
            "web=nginx:1.24",
        ),
    ] {
        let review = update_review(
            "Deployment",
            bumped(&stored, "quay.io/acme/web:2"),
            stored.clone(),
        );
        let (object, warnings) = answer(&review, &[nginx()]);
        assert_eq!(entries(&object)[0].get("paused"), None, "{warnings:?}");
        assert!(warned(&warnings, "stale-trigger").is_some(), "{warnings:?}");
    }
}

#[test]
fn a_bump_to_an_untracked_image_sets_the_deploymentconfig_trigger_autoredeploy_wrote_manual() {
    let running = format!("docker.io/library/nginx@{OLD}");
    let stored = with_record(
        deployment_config(&running, "nginx:1.25", Some(&running)),
        "web=nginx:1.25",
    );
    let untracked = "quay.io/acme/web:2";
    let review = update_review("DeploymentConfig", bumped(&stored, untracked), stored);
    let (object, warnings) = answer(&review, &[nginx_moved()]);
    let params = &object["spec"]["triggers"][1]["imageChangeParams"];
    assert_eq!(params["automatic"], false, "{warnings:?}");
    assert_eq!(params["lastTriggeredImage"], running, "nothing lost");
    assert_eq!(trigger_controller(&object, &[nginx_moved()]), object);
    // The next apply: no manual-trigger-kept advice to turn automatic back on.
    let again = update_review(
        "DeploymentConfig",
        bumped(&object, untracked),
        object.clone(),
    );
    let (after, warnings) = answer(&again, &[nginx_moved()]);
    assert_eq!(after, object);
    assert_eq!(
        warned(&warnings, "manual-trigger-kept"),
        None,
        "{warnings:?}"
    );
}

#[test]
fn a_paused_trigger_resumes_when_the_image_names_a_tracked_tag_again() {
    let stored = owned_deployment();
    let review = update_review("Deployment", bumped(&stored, "quay.io/acme/web:2"), stored);
    let (paused, _) = answer(&review, &[nginx()]);
    // Git moves on to nginx:1.26, which a stream tracks.
    let review = update_review("Deployment", bumped(&paused, "nginx:1.26"), paused.clone());
    let (object, warnings) = answer(&review, &[nginx()]);
    let entry = &entries(&object)[0];
    assert_eq!(entry["from"]["name"], "nginx:1.26", "{warnings:?}");
    assert_eq!(entry.get("paused"), None);
    assert_eq!(object["metadata"]["annotations"][RECORD], "web=nginx:1.26");
    assert_eq!(image_of(&object), format!("docker.io/library/nginx@{NEW}"));
    assert!(
        warned(&warnings, "trigger-resumed").is_some(),
        "{warnings:?}"
    );
    assert_eq!(trigger_controller(&object, &[nginx()]), object);
    // A manual trigger the user set (a rollback) is never resumed, even autoredeploy's own.
    let mut rolled_back = owned_deployment();
    rolled_back["metadata"]["annotations"][TRIGGERS] =
        json!(annotation("nginx:1.25").replace(r#".image"}]"#, r#".image","paused":true}]"#));
    let review = update_review(
        "Deployment",
        bumped(&rolled_back, "nginx:1.25"),
        rolled_back,
    );
    let (object, warnings) = answer(&review, &[nginx()]);
    assert_eq!(entries(&object)[0]["paused"], true, "{warnings:?}");
    assert_eq!(image_of(&object), "nginx:1.25");
}

#[test]
fn a_digest_of_another_repository_is_not_the_tags_earlier_image() {
    let running = format!("docker.io/library/nginx@{OLD}");
    let other = "quay.io/acme/other@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    // The user's trigger: reported, since the controller would swap in nginx.
    let stored = deployment(&running, &annotation("nginx:1.25"));
    let review = update_review("Deployment", bumped(&stored, other), stored);
    let (object, warnings) = answer(&review, &[nginx()]);
    assert!(warned(&warnings, "stale-trigger").is_some(), "{warnings:?}");
    assert_eq!(image_of(&trigger_controller(&object, &[nginx()])), running);
    // autoredeploy's own: paused, and the pin sticks.
    let stored = owned_deployment();
    let review = update_review("Deployment", bumped(&stored, other), stored);
    let (object, warnings) = answer(&review, &[nginx()]);
    assert!(
        warned(&warnings, "trigger-paused").is_some(),
        "{warnings:?}"
    );
    assert_eq!(trigger_controller(&object, &[nginx()]), object);
    assert_eq!(image_of(&object), other);
}

#[test]
fn a_rollback_to_another_digest_of_the_tags_repository_is_reported() {
    // 1.25 has moved to NEW and the workload runs it; the user pins OLD, 1.25's earlier image.
    let running = format!("docker.io/library/nginx@{NEW}");
    let earlier = format!("nginx@{OLD}");
    let stored = deployment(&running, &annotation("nginx:1.25"));
    let review = update_review("Deployment", bumped(&stored, &earlier), stored);
    let (object, warnings) = answer(&review, &[nginx_moved()]);
    assert_eq!(image_of(&object), earlier, "the pin is kept");
    assert!(
        warned(&warnings, "earlier-digest").is_some(),
        "{warnings:?}"
    );
    assert_eq!(warned(&warnings, "stale-trigger"), None, "{warnings:?}");
    // What the finding says the controller will do.
    assert_eq!(
        image_of(&trigger_controller(&object, &[nginx_moved()])),
        running
    );
    // The controller's own earlier write, carried by an unrelated update, is no rollback.
    let stored = deployment(&earlier, &annotation("nginx:1.25"));
    let review = update_review("Deployment", stored.clone(), stored);
    let (_, warnings) = answer(&review, &[nginx_moved()]);
    assert_eq!(warned(&warnings, "earlier-digest"), None, "{warnings:?}");
}
