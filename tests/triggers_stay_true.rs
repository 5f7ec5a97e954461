//! Reviews in the envelopes a real kube-apiserver sends, judged by what OpenShift's trigger
//! controller does next (the model in `do_no_harm`): an image spelled as its own trigger's
//! tag rolls out once; a digest of another repository is not the tag's earlier image.

use serde_json::{Value, json};

use crate::do_no_harm::{
    NEW, OLD, annotation, answer, deployment, deployment_config, image_of, nginx, recorded_review,
    trigger_controller, update_review,
};
use autoredeploy::testing;

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

/// The warning of the change or finding `code` (warnings carry messages, not codes).
fn warned<'w>(warnings: &'w [String], code: &str) -> Option<&'w String> {
    let words = match code {
        "stale-trigger" => "but its automatic trigger follows",
        "kept-running-image" => "kept the running image",
        "earlier-digest" => "that is not the tag's current image",
        _ => panic!("no message known for {code}"),
    };
    warnings.iter().find(|w| w.contains(words))
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

/// The object `kubectl apply` (or Argo CD) sends when Git bumps the image: the stored object
/// with the new image; the annotations nobody applied stay.
fn bumped(stored: &Value, image: &str) -> Value {
    let mut object = stored.clone();
    object["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
    object
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
