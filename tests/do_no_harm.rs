//! UPDATE reviews in the envelopes a real kube-apiserver sends (the recorded `oc apply`
//! requests with their objects swapped), judged by what OpenShift's trigger controller does
//! next (a model of it is here, shared with `triggers_stay_true`): an image bump is never
//! reverted, a re-applied unresolved reference rolls out once to the right image, and a
//! retargeted DeploymentConfig never gets the old tag's digest back.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use autoredeploy::admission::{self, Context};
use autoredeploy::catalog::CatalogIndex;
use autoredeploy::config::{Mode, RuleConfig};
use autoredeploy::testing::assert_accepted_by_apiserver;
use autoredeploy::testing::{self, recorded::fixture};
use serde_json::{Value, json};

pub(crate) const INTERNAL: &str = "image-registry.openshift-image-registry.svc:5000";
pub(crate) const OLD: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub(crate) const NEW: &str =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";
pub(crate) const TRIGGERS: &str = "image.openshift.io/triggers";

/// An ImageStream `name` in `shop` (resolving short names) with `(tag, source, digest)`
/// tags: a source is imported, an empty one was pushed; a digest resolves the tag.
pub(crate) fn stream(name: &str, tags: &[(&str, &str, Option<&str>)]) -> Value {
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
pub(crate) fn update_review(kind: &str, object: Value, old: Value) -> Value {
    recorded_review(
        "deploymentconfig-update-kubectl-apply.json",
        kind,
        object,
        Some(old),
    )
}

/// The recorded review `name` (a DeploymentConfig or Deployment one), as a review of `kind`
/// with these objects.
pub(crate) fn recorded_review(name: &str, kind: &str, object: Value, old: Option<Value>) -> Value {
    let mut review = fixture(name);
    let request = &mut review["request"];
    let (group, resource) = match kind {
        "Deployment" => ("apps", "deployments"),
        _ => ("apps.openshift.io", "deploymentconfigs"),
    };
    request["kind"] = json!({"group": group, "version": "v1", "kind": kind});
    request["resource"] = json!({"group": group, "version": "v1", "resource": resource});
    request["requestKind"] = request["kind"].clone();
    request["requestResource"] = request["resource"].clone();
    request["namespace"] = json!("shop");
    request["name"] = object["metadata"]["name"].clone();
    request["object"] = object;
    request["oldObject"] = old.unwrap_or(Value::Null);
    review
}

pub(crate) fn deployment(image: &str, triggers: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "annotations": {TRIGGERS: triggers}},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image, "imagePullPolicy": "IfNotPresent"}]}}}})
}

pub(crate) fn annotation(stream_tag: &str) -> String {
    format!(
        r#"[{{"from":{{"kind":"ImageStreamTag","name":"{stream_tag}"}},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}}]"#
    )
}

pub(crate) fn deployment_config(image: &str, follows: &str, last: Option<&str>) -> Value {
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
pub(crate) fn answer(review: &Value, streams: &[Value]) -> (Value, Vec<String>) {
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

/// What OpenShift's trigger controller writes next, given the streams' status: the object
/// after its next update (unchanged when it writes nothing). Modelled on
/// openshift-controller-manager (`UpdateDeploymentConfigImages` in
/// `pkg/image/trigger/deploymentconfigs/deploymentconfigs.go`, the annotation reactor of
/// `pkg/image/trigger/annotations`) and library-go (`ResolveLatestTaggedImage`,
/// `annotations.go`): a paused entry and an `automatic: false` trigger write nothing; a tag
/// resolves to its newest status item (through the stream's repository for
/// `referencePolicy: Local`); a DeploymentConfig with an automatic trigger that does not
/// resolve and has no `lastTriggeredImage` is left alone whole, and one that does not
/// resolve falls back to its `lastTriggeredImage`; the image is written wherever the
/// container's text differs.
pub(crate) fn trigger_controller(object: &Value, streams: &[Value]) -> Value {
    let mut next = object.clone();
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or("");
    if object["kind"] == "DeploymentConfig" {
        let triggers = object["spec"]["triggers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (i, trigger) in triggers.iter().enumerate() {
            let params = &trigger["imageChangeParams"];
            if trigger["type"] != "ImageChange" || params["automatic"] != true {
                continue;
            }
            let from_namespace = params["from"]["namespace"]
                .as_str()
                .filter(|n| !n.is_empty());
            let resolved = resolve(
                streams,
                from_namespace.unwrap_or(namespace),
                params["from"]["name"].as_str().unwrap_or(""),
            );
            let last = params["lastTriggeredImage"]
                .as_str()
                .filter(|l| !l.is_empty());
            let Some(reference) = resolved.or(last.map(str::to_string)) else {
                return object.clone();
            };
            next["spec"]["triggers"][i]["imageChangeParams"]["lastTriggeredImage"] =
                json!(reference);
            for list in ["initContainers", "containers"] {
                let pod = &mut next["spec"]["template"]["spec"];
                let containers = pod.get_mut(list).and_then(Value::as_array_mut);
                for container in containers.into_iter().flatten() {
                    let named = params["containerNames"]
                        .as_array()
                        .is_some_and(|names| names.contains(&container["name"]));
                    if named && container["image"] != reference.as_str() {
                        container["image"] = json!(reference);
                    }
                }
            }
        }
        return next;
    }
    let text = object["metadata"]["annotations"][TRIGGERS]
        .as_str()
        .unwrap_or("[]");
    let entries: Vec<Value> = serde_json::from_str(text).expect("entries the controller decodes");
    for entry in entries {
        if entry["paused"] == true || entry["from"]["kind"] != "ImageStreamTag" {
            continue;
        }
        let path = entry["fieldPath"].as_str().unwrap_or("");
        let (list, name) = ["containers", "initContainers"]
            .into_iter()
            .find_map(|list| {
                let rest = path.strip_prefix(&format!("spec.template.spec.{list}[?(@.name==\""))?;
                Some((list, rest.strip_suffix("\")].image")?))
            })
            .expect("a name selector");
        let from_namespace = entry["from"]["namespace"]
            .as_str()
            .filter(|n| !n.is_empty());
        let Some(reference) = resolve(
            streams,
            from_namespace.unwrap_or(namespace),
            entry["from"]["name"].as_str().unwrap_or(""),
        ) else {
            continue;
        };
        let pod = &mut next["spec"]["template"]["spec"];
        let containers = pod.get_mut(list).and_then(Value::as_array_mut);
        for container in containers.into_iter().flatten() {
            if container["name"] == name && container["image"] != reference.as_str() {
                container["image"] = json!(reference);
            }
        }
    }
    next
}

/// What a trigger on `namespace/stream:tag` writes: the tag's newest status item, through
/// the stream's repository for `referencePolicy: Local`; `None` when it never resolved.
fn resolve(streams: &[Value], namespace: &str, stream_tag: &str) -> Option<String> {
    let (name, tag) = stream_tag.split_once(':')?;
    let stream = streams.iter().find(|s| {
        s["metadata"]["name"] == name
            && s["metadata"]["namespace"].as_str().unwrap_or("") == namespace
    })?;
    let item = stream["status"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["tag"] == tag)?["items"]
        .get(0)?;
    let local = stream["spec"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["name"] == tag && t["referencePolicy"]["type"] == "Local");
    if local {
        let repository = stream["status"]["dockerImageRepository"].as_str()?;
        return Some(format!("{repository}@{}", item["image"].as_str()?));
    }
    item["dockerImageReference"].as_str().map(str::to_string)
}

pub(crate) fn image_of(object: &Value) -> &str {
    object["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
}

pub(crate) fn nginx() -> Value {
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
    assert_eq!(
        trigger_controller(&object, &[nginx()]),
        object,
        "the controller has nothing to write back"
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
    let (object, warnings) = answer(&review, std::slice::from_ref(&unresolved));
    let from = &object["spec"]["triggers"][1]["imageChangeParams"]["from"];
    assert_eq!(from["name"], "nginx:1.26");
    assert_eq!(
        image_of(&object),
        "nginx:1.26",
        "the 1.25 digest is not kept"
    );
    assert!(!warnings.iter().any(|w| w.contains("kept")), "{warnings:?}");
    // While 1.26 has no image the controller falls back to lastTriggeredImage: it must not
    // be 1.25's digest, or the controller writes it back.
    let next = trigger_controller(&object, std::slice::from_ref(&unresolved));
    assert_eq!(image_of(&next), "nginx:1.26", "the bump is not reverted");
    assert_eq!(next, object);
    // Once 1.26 resolves, the controller writes its image: one more rollout, to the right one.
    assert_eq!(
        image_of(&trigger_controller(&object, &[nginx()])),
        format!("docker.io/library/nginx@{NEW}")
    );
    // With it, one rollout straight to 1.26's image, and nothing left for the controller.
    let (object, _) = answer(&review, &[nginx()]);
    assert_eq!(image_of(&object), format!("docker.io/library/nginx@{NEW}"));
    assert_eq!(
        image_of(&trigger_controller(&object, &[nginx()])),
        image_of(&object)
    );
}

#[test]
fn a_reapplied_image_lookup_name_keeps_the_running_digest() {
    let running = format!("{INTERNAL}/shop/myapp@{OLD}");
    let myapp = stream("myapp", &[("latest", "", Some(OLD))]);
    let old = deployment(&running, &annotation("myapp:latest"));
    let new = deployment("myapp", &annotation("myapp:latest"));
    let (object, warnings) = answer(
        &update_review("Deployment", new, old),
        std::slice::from_ref(&myapp),
    );
    assert_eq!(image_of(&object), running, "no second rollout");
    assert_eq!(trigger_controller(&object, &[myapp]), object);
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
    let (object, warnings) = answer(
        &update_review("Deployment", new, old),
        std::slice::from_ref(&moved),
    );
    assert_eq!(image_of(&object), format!("{INTERNAL}/shop/myapp@{NEW}"));
    assert_eq!(trigger_controller(&object, &[moved]), object);
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
    assert_eq!(object, new, "no patch: the trigger is the user's");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("its automatic trigger follows nginx:1.25")),
        "the user who applies sees why: {warnings:?}"
    );
    // What the warning says the controller will do.
    assert_eq!(
        image_of(&trigger_controller(&object, &[nginx()])),
        format!("docker.io/library/nginx@{OLD}")
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
