//! UPDATE reviews in the envelopes a real kube-apiserver sends (the recorded `oc apply`
//! requests with their objects swapped), judged by what OpenShift's trigger controller does
//! next: an image bump is never reverted, a re-applied unresolved reference rolls out once
//! to the right image, and a retargeted DeploymentConfig never keeps the old tag's digest.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use autoredeploy::admission::{self, Context};
use autoredeploy::catalog::CatalogIndex;
use autoredeploy::config::{Mode, RuleConfig};
use autoredeploy::testing::assert_accepted_by_apiserver;
use autoredeploy::testing::{self, recorded::fixture};
use serde_json::{Value, json};

const INTERNAL: &str = "image-registry.openshift-image-registry.svc:5000";
const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const TRIGGERS: &str = "image.openshift.io/triggers";

/// An ImageStream `name` in `shop` (resolving short names) with `(tag, source, digest)`
/// tags: a source is imported, an empty one was pushed; a digest resolves the tag.
fn stream(name: &str, tags: &[(&str, &str, Option<&str>)]) -> Value {
    let mut stream = testing::stream("shop", name).lookup_local();
    for (tag, source, digest) in tags {
        if !source.is_empty() {
            stream = stream.tag(tag, source);
        }
        stream = match (digest, source.rsplit_once(':')) {
            (Some(digest), _) if source.is_empty() => stream.pushed(tag, digest),
            (Some(digest), Some((repository, _))) => {
                stream.resolved(tag, &format!("{repository}@{digest}"))
            }
            _ => stream,
        };
    }
    stream.build()
}

/// The recorded `kubectl apply` UPDATE review of `kind`, with these objects.
fn update_review(kind: &str, object: Value, old: Value) -> Value {
    let mut review = fixture("deploymentconfig-update-kubectl-apply.json");
    let request = &mut review["request"];
    if kind == "Deployment" {
        request["kind"] = json!({"group": "apps", "version": "v1", "kind": "Deployment"});
        request["resource"] = json!({"group": "apps", "version": "v1", "resource": "deployments"});
        request["requestKind"] = request["kind"].clone();
        request["requestResource"] = request["resource"].clone();
    }
    request["namespace"] = json!("shop");
    request["name"] = object["metadata"]["name"].clone();
    request["object"] = object;
    request["oldObject"] = old;
    review
}

fn deployment(image: &str, triggers: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "annotations": {TRIGGERS: triggers}},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image, "imagePullPolicy": "IfNotPresent"}]}}}})
}

fn annotation(stream_tag: &str) -> String {
    format!(
        r#"[{{"from":{{"kind":"ImageStreamTag","name":"{stream_tag}"}},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}}]"#
    )
}

fn deployment_config(image: &str, follows: &str, last: Option<&str>) -> Value {
    let mut params = json!({"automatic": true, "containerNames": ["web"],
        "from": {"kind": "ImageStreamTag", "name": follows, "namespace": "shop"}});
    if let Some(last) = last {
        params["lastTriggeredImage"] = json!(last);
    }
    json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 1, "selector": {"app": "web"},
                 "triggers": [{"type": "ConfigChange"}, {"type": "ImageChange", "imageChangeParams": params}],
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image, "imagePullPolicy": "IfNotPresent"}]}}}})
}

/// The enforce answer, checked as the API server checks it, and the object it leads to.
fn answer(review: &Value, streams: &[Value]) -> (Value, Vec<String>) {
    let catalog = CatalogIndex::from_objects(streams, "");
    let config = RuleConfig::default();
    let ctx = Context {
        mode: Mode::Enforce,
        catalog: &catalog,
        config: &config,
    };
    let body = serde_json::to_vec(review).unwrap();
    let (response, _) = admission::review(&body, &ctx).expect("a valid review");
    let response = serde_json::to_value(response).unwrap();
    assert_accepted_by_apiserver(review, &response);
    let mut object = review["request"]["object"].clone();
    if let Some(patch) = response["response"]["patch"].as_str() {
        let patch: json_patch::Patch =
            serde_json::from_slice(&BASE64.decode(patch).unwrap()).unwrap();
        json_patch::patch(&mut object, &patch).expect("patch applies");
    }
    let warnings = response["response"]["warnings"]
        .as_array()
        .map(|w| w.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (object, warnings)
}

fn image_of(object: &Value) -> &str {
    object["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
}

fn nginx() -> Value {
    stream(
        "nginx",
        &[
            ("1.25", "docker.io/library/nginx:1.25", Some(OLD)),
            ("1.26", "docker.io/library/nginx:1.26", Some(NEW)),
        ],
    )
}

#[test]
fn an_image_bump_retargets_the_annotation_trigger_instead_of_reverting() {
    let old = deployment(
        &format!("docker.io/library/nginx@{OLD}"),
        &annotation("nginx:1.25"),
    );
    // `oc apply` keeps the annotation the user never wrote, and sends the bumped image.
    let new = deployment("nginx:1.26", &annotation("nginx:1.25"));
    let (object, warnings) = answer(&update_review("Deployment", new, old), &[nginx()]);
    assert_eq!(
        object["metadata"]["annotations"][TRIGGERS],
        annotation("nginx:1.26")
    );
    assert_eq!(image_of(&object), format!("docker.io/library/nginx@{NEW}"));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("now follows nginx:1.26")),
        "{warnings:?}"
    );
}

#[test]
fn an_image_bump_retargets_the_deploymentconfig_trigger_and_never_keeps_the_old_digest() {
    let running = format!("docker.io/library/nginx@{OLD}");
    let old = deployment_config(&running, "nginx:1.25", Some(&running));
    let new = deployment_config("nginx:1.26", "nginx:1.25", Some(&running));
    // Without 1.26's image in the catalog nothing is written but the trigger.
    let unresolved = stream(
        "nginx",
        &[
            ("1.25", "docker.io/library/nginx:1.25", Some(OLD)),
            ("1.26", "docker.io/library/nginx:1.26", None),
        ],
    );
    let review = update_review("DeploymentConfig", new, old);
    let (object, warnings) = answer(&review, &[unresolved]);
    let from = &object["spec"]["triggers"][1]["imageChangeParams"]["from"];
    assert_eq!(from["name"], "nginx:1.26");
    assert_eq!(
        image_of(&object),
        "nginx:1.26",
        "the 1.25 digest is not kept"
    );
    assert!(!warnings.iter().any(|w| w.contains("kept")), "{warnings:?}");
    // With it, one rollout straight to 1.26's image.
    let (object, _) = answer(&review, &[nginx()]);
    assert_eq!(image_of(&object), format!("docker.io/library/nginx@{NEW}"));
}

#[test]
fn a_reapplied_image_lookup_name_keeps_the_running_digest() {
    let running = format!("{INTERNAL}/shop/myapp@{OLD}");
    let myapp = stream("myapp", &[("latest", "", Some(OLD))]);
    let old = deployment(&running, &annotation("myapp:latest"));
    let new = deployment("myapp", &annotation("myapp:latest"));
    let (object, warnings) = answer(&update_review("Deployment", new, old), &[myapp]);
    assert_eq!(image_of(&object), running, "no second rollout");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("kept the running image")),
        "{warnings:?}"
    );
}

#[test]
fn a_reapplied_reference_of_a_moved_tag_rolls_out_once_to_its_current_image() {
    let moved = stream("myapp", &[("latest", "", Some(NEW))]);
    let old = deployment(
        &format!("{INTERNAL}/shop/myapp@{OLD}"),
        &annotation("myapp:latest"),
    );
    let new = deployment("myapp", &annotation("myapp:latest"));
    let (object, warnings) = answer(&update_review("Deployment", new, old), &[moved]);
    assert_eq!(image_of(&object), format!("{INTERNAL}/shop/myapp@{NEW}"));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("current image of myapp:latest")),
        "{warnings:?}"
    );
}

#[test]
fn a_bump_to_an_untracked_image_is_reported_and_left_alone() {
    let old = deployment(
        &format!("docker.io/library/nginx@{OLD}"),
        &annotation("nginx:1.25"),
    );
    let new = deployment("nginx:1.27", &annotation("nginx:1.25"));
    let review = update_review("Deployment", new.clone(), old);
    let (object, warnings) = answer(&review, &[nginx()]);
    assert_eq!(object, new, "no patch");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("its automatic trigger follows nginx:1.25")),
        "the user who applies sees why: {warnings:?}"
    );
}

/// A Deployment that an operator's custom resource controls, in the recorded `kubectl apply`
/// envelope: its owner reconciles the template back, so the webhook leaves it alone and says
/// whose it is; the same object without the owner (or opting in) is patched, so the test
/// proves the skip and not an object that needs nothing.
#[test]
fn a_controller_owned_deployment_is_left_alone_unless_it_opts_in() {
    let owner = json!([{"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
        "name": "web-00001", "uid": "4b1d1c54-7a0e-4c55-9a57-0c6f5e6f0002", "controller": true}]);
    let mut owned = deployment("docker.io/library/nginx:1.25", "[]");
    owned["metadata"]["ownerReferences"] = owner;
    let review = update_review("Deployment", owned.clone(), owned.clone());
    let (object, warnings) = answer(&review, &[nginx()]);
    assert_eq!(object, owned, "no patch");
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("autoredeploy: owned by Revision web-00001")),
        "{warnings:?}"
    );
    let mut opted_in = owned.clone();
    opted_in["metadata"]["annotations"]["autoredeploy.io/manage-owned"] = json!("true");
    let (object, _) = answer(
        &update_review("Deployment", opted_in.clone(), opted_in.clone()),
        &[nginx()],
    );
    assert_ne!(object, opted_in, "an owner that opts in gets its trigger");
    let mut plain = owned.clone();
    plain["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("ownerReferences");
    let (object, _) = answer(
        &update_review("Deployment", plain.clone(), plain.clone()),
        &[nginx()],
    );
    assert_ne!(object, plain, "without an owner the same object is patched");
}

/// The chart's objectSelector never sends an object labelled `autoredeploy.io/skip=true`, but
/// a webhook configured without it (or one edited by hand) must not patch it either.
#[test]
fn an_object_labelled_skip_is_left_alone() {
    let mut labelled = deployment("docker.io/library/nginx:1.25", "[]");
    labelled["metadata"]["labels"] = json!({"app": "web", "autoredeploy.io/skip": "true"});
    let review = update_review("Deployment", labelled.clone(), labelled.clone());
    let (object, warnings) = answer(&review, &[nginx()]);
    assert_eq!(object, labelled, "no patch");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("opted out with the label autoredeploy.io/skip=true")),
        "{warnings:?}"
    );
    labelled["metadata"]["labels"]["autoredeploy.io/skip"] = json!("false");
    let (object, _) = answer(
        &update_review("Deployment", labelled.clone(), labelled.clone()),
        &[nginx()],
    );
    assert_ne!(object, labelled, "only \"true\" opts out");
}

/// The recorded `kubectl apply` (or server-side apply) UPDATE envelope turned into an
/// ImageStream review with these objects.
fn stream_update_review(fixture_name: &str, object: Value, old: Value) -> Value {
    let mut review = fixture(fixture_name);
    let request = &mut review["request"];
    let kind = json!({"group": "image.openshift.io", "version": "v1", "kind": "ImageStream"});
    let resource =
        json!({"group": "image.openshift.io", "version": "v1", "resource": "imagestreams"});
    request["kind"] = kind.clone();
    request["requestKind"] = kind;
    request["resource"] = resource.clone();
    request["requestResource"] = resource;
    request["namespace"] = json!("shop");
    request["name"] = object["metadata"]["name"].clone();
    request["object"] = object;
    request["oldObject"] = old;
    review
}

fn hub_stream(name: &str, from: &str) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"tags": [{"name": "latest", "importPolicy": {"scheduled": true},
                           "from": {"kind": "DockerImage", "name": from}}]}})
}

/// `oc apply` (and server-side apply) of a stream whose tag moved from quay.io to Docker Hub:
/// the stored `scheduled: true` the webhook wrote is merged back into the request. With two
/// Docker Hub tags scheduled elsewhere (48 of 50 pulls per 6h), the moved tag is a new
/// Docker Hub import with no room: the webhook turns `scheduled` off and says why, instead
/// of letting the projection pass the budget.
#[test]
fn a_scheduled_tag_moved_to_docker_hub_is_judged_against_docker_hubs_budget() {
    let stored = hub_stream("web", "quay.io/example/web:1");
    let incoming = hub_stream("web", "docker.io/example/web:1");
    let streams = [
        hub_stream("one", "docker.io/example/one:latest"),
        hub_stream("two", "docker.io/example/two:latest"),
        // In serve the catalog holds the stored stream (the decoder drops an ImageStream's
        // oldObject).
        stored.clone(),
    ];
    for envelope in [
        "deploymentconfig-update-kubectl-apply.json",
        "deploymentconfig-update-server-side-apply.json",
    ] {
        let review = stream_update_review(envelope, incoming.clone(), stored.clone());
        let (object, warnings) = answer(&review, &streams);
        assert_eq!(
            object["spec"]["tags"][0]["importPolicy"],
            json!({"scheduled": false}),
            "{envelope}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("turned importPolicy.scheduled off on tag \"latest\"")),
            "{envelope}: {warnings:?}"
        );
        assert!(
            warnings.iter().any(|w| w.contains(
                "tag \"latest\" (moved from quay.io) left unscheduled: docker.io would reach 72 pulls/6h"
            )),
            "{envelope}: {warnings:?}"
        );
        // With room on Docker Hub the tag stays scheduled, untouched.
        let (object, warnings) = answer(&review, &streams[1..]);
        assert_eq!(object, incoming, "{envelope}");
        assert!(warnings.is_empty(), "{envelope}: {warnings:?}");
    }
}
