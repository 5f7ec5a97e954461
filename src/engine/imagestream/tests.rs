use serde_json::{Value, json};

use crate::config::{RepositoryFilter, RuleConfig};
use crate::engine::catalog::EmptyCatalog;
use crate::engine::test_support::{change_codes, finding_codes, run, run_input};
use crate::engine::{Code, Request};

fn stream(tags: Value) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
           "metadata": {"name": "app", "namespace": "shop"}, "spec": {"tags": tags}})
}

fn docker_tag(name: &str, from: &str) -> Value {
    json!({"name": name, "from": {"kind": "DockerImage", "name": from},
           "importPolicy": {"importMode": "Legacy"}, "referencePolicy": {"type": "Source"}})
}

#[test]
fn external_tag_gets_scheduled_import() {
    let outcome = run(&stream(json!([docker_tag(
        "latest",
        "docker.io/org/app:latest"
    )])));
    assert_eq!(
        outcome.object["spec"]["tags"][0]["importPolicy"],
        json!({"importMode": "Legacy", "scheduled": true})
    );
    assert_eq!(change_codes(&outcome), [Code::ScheduledImport]);
    assert_eq!(
        outcome.changes[0].path,
        "/spec/tags/0/importPolicy/scheduled"
    );
    assert_eq!(
        outcome.changes[0].message,
        "set importPolicy.scheduled on tag \"latest\" (docker.io/org/app:latest)"
    );
    let patch = serde_json::to_value(&outcome.patch).unwrap();
    assert_eq!(
        patch,
        json!([{"op": "add", "path": "/spec/tags/0/importPolicy/scheduled", "value": true}])
    );
}

#[test]
fn missing_or_null_import_policy_is_created() {
    let outcome = run(&stream(json!([
        {"name": "a", "from": {"kind": "DockerImage", "name": "nginx"}},
        {"name": "b", "from": {"kind": "DockerImage", "name": "nginx:1"}, "importPolicy": null}])));
    assert_eq!(
        outcome.object["spec"]["tags"][0]["importPolicy"],
        json!({"scheduled": true})
    );
    assert_eq!(
        outcome.object["spec"]["tags"][1]["importPolicy"],
        json!({"scheduled": true})
    );
}

#[test]
fn already_scheduled_tag_is_left_alone() {
    let mut tag = docker_tag("latest", "nginx");
    tag["importPolicy"]["scheduled"] = json!(true);
    let outcome = run(&stream(json!([tag])));
    assert!(outcome.is_unchanged());
    assert!(outcome.changes.is_empty());
}

#[test]
fn explicit_false_is_overwritten_like_the_absent_field_it_becomes_in_a_cluster() {
    let mut tag = docker_tag("latest", "nginx");
    tag["importPolicy"]["scheduled"] = json!(false);
    let outcome = run(&stream(json!([tag])));
    assert_eq!(
        outcome.object["spec"]["tags"][0]["importPolicy"]["scheduled"],
        json!(true)
    );
}

#[test]
fn non_docker_reference_and_pinned_tags_are_never_scheduled() {
    let mut reference = docker_tag("ref", "nginx:1");
    reference["reference"] = json!(true);
    let pinned = docker_tag(
        "pin",
        "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    );
    let tags = json!([reference, pinned,
        {"name": "ist", "from": {"kind": "ImageStreamTag", "name": "other:1"}},
        {"name": "isi", "from": {"kind": "ImageStreamImage", "name": "other@sha256:abc"}},
        {"name": "pushed"}]);
    let outcome = run(&stream(tags));
    assert!(outcome.is_unchanged());
    assert_eq!(finding_codes(&outcome), [Code::DigestPinned]);
    assert_eq!(outcome.findings[0].path, "/spec/tags/1/from/name");
}

#[test]
fn per_tag_skip_annotation_opts_the_tag_out() {
    let mut skipped = docker_tag("old", "nginx:1");
    skipped["annotations"] = json!({"autoredeploy.io/skip": "true"});
    let outcome = run(&stream(json!([skipped, docker_tag("new", "nginx:2")])));
    assert_eq!(change_codes(&outcome), [Code::ScheduledImport]);
    assert_eq!(
        outcome.changes[0].path,
        "/spec/tags/1/importPolicy/scheduled"
    );
    assert_eq!(finding_codes(&outcome), [Code::OptedOut]);
}

#[test]
fn object_skip_annotation_opts_the_stream_out() {
    let mut object = stream(json!([docker_tag("latest", "nginx")]));
    object["metadata"]["annotations"] = json!({"autoredeploy.io/skip": "true"});
    let outcome = run(&object);
    assert!(outcome.is_unchanged());
    assert_eq!(finding_codes(&outcome), [Code::OptedOut]);
}

#[test]
fn repository_without_tags_is_reported_and_no_tag_is_invented() {
    let object = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "app"}, "spec": {"dockerImageRepository": "docker.io/org/app"}});
    let outcome = run(&object);
    assert!(outcome.is_unchanged());
    assert_eq!(finding_codes(&outcome), [Code::RepositoryWithoutTags]);
}

#[test]
fn repository_filter_and_internal_registry_limit_scheduling() {
    let config = RuleConfig {
        repositories: RepositoryFilter::new(&[], &["docker.io/library/*".to_string()]).unwrap(),
        ..RuleConfig::default()
    };
    let object = stream(json!([
        docker_tag("a", "nginx"),
        docker_tag("b", "org/app:1"),
        docker_tag(
            "c",
            "image-registry.openshift-image-registry.svc:5000/shop/x:1"
        )
    ]));
    let outcome = run_input(&object, &Request::default(), &EmptyCatalog, &config);
    assert_eq!(outcome.changes.len(), 1);
    assert_eq!(
        outcome.changes[0].path,
        "/spec/tags/1/importPolicy/scheduled"
    );
}

#[test]
fn preserve_original_sets_import_mode_when_configured() {
    let config = RuleConfig {
        preserve_original: true,
        ..RuleConfig::default()
    };
    // quay.io has no budget: the unknown platform count does not matter there.
    let object = stream(json!([docker_tag("latest", "quay.io/org/app")]));
    let outcome = run_input(&object, &Request::default(), &EmptyCatalog, &config);
    assert_eq!(
        outcome.object["spec"]["tags"][0]["importPolicy"],
        json!({"importMode": "PreserveOriginal", "scheduled": true})
    );
    assert_eq!(
        change_codes(&outcome),
        [Code::ScheduledImport, Code::ImportMode]
    );
}

#[test]
fn image_stream_tag_from_oc_tag_gets_scheduled_import() {
    let object = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamTag",
        "metadata": {"name": "app:latest"},
        "tag": {"name": "latest", "from": {"kind": "DockerImage", "name": "quay.io/org/app:latest"},
                "importPolicy": {"insecure": true}}});
    let outcome = run(&object);
    assert_eq!(
        outcome.object["tag"]["importPolicy"],
        json!({"insecure": true, "scheduled": true})
    );
    assert_eq!(outcome.changes[0].path, "/tag/importPolicy/scheduled");
}

#[test]
fn image_stream_import_images_and_repository_get_scheduled_import() {
    let object = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport",
        "metadata": {"name": "app"},
        "spec": {"import": true,
                 "images": [{"from": {"kind": "DockerImage", "name": "org/app:1"}, "to": {"name": "1"},
                             "importPolicy": {}}],
                 "repository": {"from": {"kind": "DockerImage", "name": "quay.io/org/app"}}}});
    let outcome = run(&object);
    assert_eq!(
        outcome.object["spec"]["images"][0]["importPolicy"],
        json!({"scheduled": true})
    );
    assert_eq!(
        outcome.object["spec"]["repository"]["importPolicy"],
        json!({"scheduled": true})
    );
    assert_eq!(outcome.changes.len(), 2);
}

#[test]
fn wrong_types_are_skipped_or_reported_without_panic() {
    let object = stream(
        json!([7, {"name": "x", "from": {"kind": "DockerImage", "name": 3}},
        {"name": "y", "from": {"kind": "DockerImage", "name": "nginx"}, "importPolicy": "no"},
        {"name": "z", "from": {"kind": "DockerImage", "name": "Bad Name"}}]),
    );
    let outcome = run(&object);
    assert!(outcome.is_unchanged());
    assert_eq!(
        finding_codes(&outcome),
        [Code::Unreadable, Code::Unreadable, Code::Unreadable]
    );
}
