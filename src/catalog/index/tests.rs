//! Unit tests of the ImageStream index: normalised lookups, resolution, replacement, ties,
//! and sharing between clones.

use serde_json::json;

use super::*;

fn stream(ns: &str, name: &str, tags: Value, status: Value) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"tags": tags}, "status": status})
}

fn docker_tag(name: &str, from: &str) -> Value {
    json!({"name": name, "from": {"kind": "DockerImage", "name": from}})
}

#[test]
fn external_sources_are_found_after_normalisation() {
    let index = CatalogIndex::from_objects(
        [&stream(
            "shop",
            "nginx",
            json!([docker_tag("latest", "nginx")]),
            json!({}),
        )],
        "",
    );
    let found = index.find_external("shop", "docker.io/library/nginx:latest");
    assert_eq!(
        found.map(|t| t.stream_tag()),
        Some("nginx:latest".to_string())
    );
    assert!(
        index
            .find_external("other", "docker.io/library/nginx:latest")
            .is_none()
    );
    assert!(index.has_stream("shop", "nginx"));
    assert_eq!(index.len(), 1);
}

#[test]
fn resolved_image_comes_from_the_first_status_item() {
    let status = json!({"dockerImageRepository": "reg:5000/shop/app",
        "tags": [{"tag": "1", "items": [{"dockerImageReference": "org/app@sha256:new", "image": "sha256:new"},
                                        {"dockerImageReference": "org/app@sha256:old", "image": "sha256:old"}]}]});
    let index = CatalogIndex::from_objects(
        [&stream(
            "shop",
            "app",
            json!([docker_tag("1", "org/app:1")]),
            status,
        )],
        "",
    );
    let state = index.tag_state("shop", "app", "1").unwrap();
    assert_eq!(state.source.as_deref(), Some("org/app:1"));
    assert_eq!(state.resolved.as_deref(), Some("org/app@sha256:new"));
}

#[test]
fn local_reference_policy_resolves_through_the_internal_registry() {
    let mut tag = docker_tag("1", "org/app:1");
    tag["referencePolicy"] = json!({"type": "Local"});
    let status = json!({"dockerImageRepository": "reg:5000/shop/app",
        "tags": [{"tag": "1", "items": [{"dockerImageReference": "org/app@sha256:x", "image": "sha256:x"}]}]});
    let index = CatalogIndex::from_objects([&stream("shop", "app", json!([tag]), status)], "");
    let state = index.tag_state("shop", "app", "1").unwrap();
    assert_eq!(
        state.resolved.as_deref(),
        Some("reg:5000/shop/app@sha256:x")
    );
}

#[test]
fn upsert_replaces_old_entries_and_remove_forgets_them() {
    let mut index = CatalogIndex::new();
    index.upsert(
        &stream("ns", "a", json!([docker_tag("t", "x/old:1")]), json!({})),
        "",
    );
    index.upsert(
        &stream("ns", "a", json!([docker_tag("t", "x/new:1")]), json!({})),
        "",
    );
    assert_eq!(index.len(), 1);
    assert!(index.find_external("ns", "docker.io/x/old:1").is_none());
    assert!(index.find_external("ns", "docker.io/x/new:1").is_some());
    index.remove("ns", "a");
    assert!(index.is_empty());
    assert!(index.find_external("ns", "docker.io/x/new:1").is_none());
    assert!(!index.has_stream("ns", "a"));
}

#[test]
fn ties_answer_the_smallest_tag_ref() {
    let objects = [
        stream("ns", "zeta", json!([docker_tag("a", "x/app:1")]), json!({})),
        stream(
            "ns",
            "alpha",
            json!([docker_tag("b", "docker.io/x/app:1")]),
            json!({}),
        ),
    ];
    let index = CatalogIndex::from_objects(&objects, "");
    let found = index.find_external("ns", "docker.io/x/app:1").unwrap();
    assert_eq!(found.stream_tag(), "alpha:b");
}

#[test]
fn non_streams_reference_and_pinned_tags_are_not_bindable() {
    let mut reference = docker_tag("r", "x/ref:1");
    reference["reference"] = json!(true);
    let tags = json!([reference, docker_tag("p", "x/pin@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
                      {"name": "i", "from": {"kind": "ImageStreamTag", "name": "other:1"}}]);
    let deployment =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
    let index =
        CatalogIndex::from_objects([&stream("", "s", tags, json!(null)), &deployment], "ns");
    assert_eq!(index.len(), 1);
    assert!(index.find_external("", "docker.io/x/ref:1").is_none());
    assert_eq!(index.tag_state("", "s", "i"), Some(TagState::default()));
    assert!(index.tag_state("", "s", "p").unwrap().source.is_some());
}

#[test]
fn malformed_streams_do_not_panic() {
    let mut index = CatalogIndex::new();
    for junk in [
        json!(null),
        json!({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1"}),
        json!({"kind": "ImageStream", "apiVersion": "v1", "metadata": {"name": "x"}, "spec": {"tags": [1, {"name": 2}]},
                        "status": {"tags": "no"}}),
    ] {
        index.upsert(&junk, "ns");
    }
    assert_eq!(index.len(), 1);
}

#[test]
fn clones_share_streams_and_updates_do_not_leak_into_them() {
    let mut index = CatalogIndex::from_objects(
        [
            &stream(
                "ns",
                "a",
                json!([docker_tag("t", "quay.io/x/a:1")]),
                json!({}),
            ),
            &stream(
                "ns",
                "b",
                json!([docker_tag("t", "quay.io/x/b:1")]),
                json!({}),
            ),
        ],
        "",
    );
    let held = index.clone();
    let shared = |a: &CatalogIndex, b: &CatalogIndex, name: &str| {
        Arc::ptr_eq(
            &a.namespaces["ns"].streams[name],
            &b.namespaces["ns"].streams[name],
        )
    };
    assert!(shared(&index, &held, "a") && shared(&index, &held, "b"));
    index.upsert(
        &stream(
            "ns",
            "a",
            json!([docker_tag("t", "quay.io/x/new:1")]),
            json!({}),
        ),
        "",
    );
    assert!(!shared(&index, &held, "a") && shared(&index, &held, "b"));
    assert!(held.find_external("ns", "quay.io/x/a:1").is_some());
    assert!(held.find_external("ns", "quay.io/x/new:1").is_none());
    assert!(index.find_external("ns", "quay.io/x/new:1").is_some());
}

#[test]
fn an_already_canonical_source_is_stored_once() {
    let index = CatalogIndex::from_objects(
        [&stream(
            "ns",
            "a",
            json!([docker_tag("t", "quay.io/x/a:1"), docker_tag("u", "nginx")]),
            json!({}),
        )],
        "",
    );
    let tags = &index.namespaces["ns"].streams["a"].tags;
    let (canonical, short) = (&tags[0], &tags[1]);
    assert!(Arc::ptr_eq(
        canonical.source.as_ref().unwrap(),
        canonical.external.as_ref().unwrap()
    ));
    assert_eq!(
        short.external.as_deref(),
        Some("docker.io/library/nginx:latest")
    );
}

#[test]
fn ties_within_one_stream_answer_the_smallest_tag() {
    let tags = json!([docker_tag("z", "x/app:1"), docker_tag("b", "x/app:1")]);
    let mut index = CatalogIndex::from_objects([&stream("ns", "s", tags, json!({}))], "");
    let found = index.find_external("ns", "docker.io/x/app:1").unwrap();
    assert_eq!(found.stream_tag(), "s:b");
    index.remove("ns", "s");
    assert!(index.namespaces.is_empty());
}

fn scheduled_tag(name: &str, from: &str) -> Value {
    json!({"name": name, "from": {"kind": "DockerImage", "name": from},
           "importPolicy": {"scheduled": true}})
}

#[test]
fn scheduled_imports_are_totalled_per_registry_and_follow_updates() {
    let web = stream(
        "shop",
        "web",
        json!([
            scheduled_tag("a", "nginx"),
            scheduled_tag("b", "index.docker.io/org/b"),
            scheduled_tag("q", "quay.io/org/q"),
            docker_tag("unscheduled", "org/c")
        ]),
        json!({}),
    );
    let mut index = CatalogIndex::from_objects([&web], "");
    assert_eq!(index.usage().get("docker.io").scheduled_tags, 2);
    assert_eq!(index.usage().get("quay.io").cycle_pulls, 1);
    let nothing = Replaced::Nothing;
    assert_eq!(index.scheduled_pulls("docker.io", &nothing), 2);
    let whole = Replaced::Stream {
        namespace: "shop",
        stream: "web",
    };
    assert_eq!(index.scheduled_pulls("docker.io", &whole), 0);
    let one = ["a".to_string()];
    let tag = Replaced::Tags {
        namespace: "shop",
        stream: "web",
        tags: &one,
    };
    assert_eq!(index.scheduled_pulls("docker.io", &tag), 1);
    // Replacing the stream replaces its costs; removing it removes them.
    index.upsert(
        &stream(
            "shop",
            "web",
            json!([scheduled_tag("a", "nginx")]),
            json!({}),
        ),
        "",
    );
    assert_eq!(index.scheduled_pulls("docker.io", &nothing), 1);
    assert_eq!(index.usage().get("quay.io").scheduled_tags, 0);
    index.remove("shop", "web");
    assert_eq!(index.usage().iter().count(), 0);
}

#[test]
fn preserve_original_tags_cost_their_listed_platforms() {
    let tags = json!([{"name": "multi", "from": {"kind": "DockerImage", "name": "org/multi"},
        "importPolicy": {"scheduled": true, "importMode": "PreserveOriginal"}}]);
    let status = json!({"dockerImageRepository": "reg.example.com:5000/shop/multi",
        "tags": [{"tag": "multi", "items": [{"platforms": ["linux/amd64", "linux/arm64", "linux/s390x"]}]}]});
    let index = CatalogIndex::from_objects([&stream("shop", "multi", tags, status)], "");
    assert_eq!(index.scheduled_pulls("docker.io", &Replaced::Nothing), 3);
    assert_eq!(index.tag_platforms("shop", "multi", "multi"), Some(3));
    assert_eq!(
        index.own_registry_hosts("shop", "multi"),
        ["reg.example.com:5000"]
    );
}
