//! Registry pull budgets on ImageStreams and the side doors: at, below and above a budget,
//! the PreserveOriginal cost, UPDATEs that must not count against themselves, and the
//! ImageStream-side rules that keep triggers true (lookups, tag-level opt-out, the cluster's
//! own registry).

use serde_json::{Value, json};

use crate::config::{RegistryBudget, RegistryBudgets, RuleConfig};
use crate::engine::catalog::EmptyCatalog;
use crate::engine::test_support::{change_codes, finding_codes, run, run_input};
use crate::engine::{Code, Operation, Outcome, Request};
use crate::testing;

fn tag(name: &str, from: &str, scheduled: bool) -> Value {
    let mut tag = json!({"name": name, "from": {"kind": "DockerImage", "name": from}});
    if scheduled {
        tag["importPolicy"] = json!({"scheduled": true});
    }
    tag
}

fn stream(name: &str, tags: Value) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
           "metadata": {"name": name, "namespace": "shop"}, "spec": {"tags": tags}})
}

/// A catalog holding `count` other streams, each with one scheduled Docker Hub tag.
fn hub_streams(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let from = format!("docker.io/org/other{i}:latest");
            stream(&format!("other{i}"), json!([tag("latest", &from, true)]))
        })
        .collect()
}

fn with_budgets(flags: &[&str]) -> RuleConfig {
    let flags: Vec<RegistryBudget> = flags.iter().map(|f| f.parse().unwrap()).collect();
    RuleConfig {
        budgets: RegistryBudgets::new(&flags, "15m".parse().unwrap()),
        ..RuleConfig::default()
    }
}

fn create(object: &Value, streams: &[Value], config: &RuleConfig) -> Outcome {
    let catalog = testing::catalog(streams, "");
    run_input(object, &Request::default(), &catalog, config)
}

fn scheduled(outcome: &Outcome, i: usize) -> bool {
    outcome.object["spec"]["tags"][i]["importPolicy"]["scheduled"] == json!(true)
}

#[test]
fn below_the_budget_a_docker_hub_tag_is_scheduled() {
    let object = stream("web", json!([tag("latest", "nginx", false)]));
    let outcome = create(&object, &hub_streams(1), &RuleConfig::default());
    assert!(scheduled(&outcome, 0), "24 + 24 = 48 <= 50");
    assert!(finding_codes(&outcome).is_empty());
}

#[test]
fn exactly_at_the_budget_is_allowed() {
    let object = stream("web", json!([tag("latest", "nginx", false)]));
    let config = with_budgets(&["docker.io=48/6h"]);
    let outcome = create(&object, &hub_streams(1), &config);
    assert!(scheduled(&outcome, 0), "48 <= 48");
    let config = with_budgets(&["docker.io=47/6h"]);
    let outcome = create(&object, &hub_streams(1), &config);
    assert!(!scheduled(&outcome, 0), "48 > 47");
}

#[test]
fn above_the_budget_the_tag_stays_unscheduled_with_a_finding() {
    let object = stream("web", json!([tag("latest", "nginx", false)]));
    let outcome = create(&object, &hub_streams(2), &RuleConfig::default());
    assert!(outcome.is_unchanged());
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    let finding = &outcome.findings[0];
    assert_eq!(finding.path, "/spec/tags/0");
    assert_eq!(
        finding.message,
        "tag \"latest\" left unscheduled: docker.io would reach 72 pulls/6h, over its budget \
         of 50 (48 projected); authenticate imports with a pull secret, then raise \
         --registry-budget docker.io=PULLS/6h (chart: registryBudgets)"
    );
}

#[test]
fn other_registries_and_unlimited_budgets_are_unaffected() {
    let object = stream(
        "web",
        json!([
            tag("hub", "nginx", false),
            tag("quay", "quay.io/org/app:1", false)
        ]),
    );
    let outcome = create(&object, &hub_streams(2), &RuleConfig::default());
    assert!(!scheduled(&outcome, 0) && scheduled(&outcome, 1));
    let unlimited = with_budgets(&["docker.io=unlimited"]);
    let outcome = create(&object, &hub_streams(2), &unlimited);
    assert!(scheduled(&outcome, 0) && scheduled(&outcome, 1));
    assert!(finding_codes(&outcome).is_empty());
}

#[test]
fn tags_of_one_object_share_the_budget_in_order() {
    let object = stream(
        "web",
        json!([
            tag("a", "org/a", false),
            tag("b", "org/b", false),
            tag("c", "org/c", false)
        ]),
    );
    let outcome = run(&object);
    assert!(scheduled(&outcome, 0) && scheduled(&outcome, 1) && !scheduled(&outcome, 2));
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    assert_eq!(outcome.findings[0].path, "/spec/tags/2");
}

#[test]
fn user_scheduled_tags_are_never_unscheduled_but_count() {
    let object = stream(
        "web",
        json!([
            tag("new", "org/new", false),
            tag("a", "org/a", true),
            tag("b", "org/b", true),
            tag("c", "org/c", true)
        ]),
    );
    let outcome = run(&object);
    assert!(!scheduled(&outcome, 0), "72 pulls are scheduled already");
    assert!((1..4).all(|i| scheduled(&outcome, i)));
    // The registry is over budget already (said once, at a scheduled tag), and the new tag
    // is refused.
    assert_eq!(finding_codes(&outcome), [Code::PullBudget; 2]);
    assert_eq!(outcome.findings[0].path, "/spec/tags/1");
    assert_eq!(
        outcome.findings[0].message,
        "docker.io is over its pull budget: scheduled imports project 72 pulls/6h, over its \
         budget of 50 (tag \"a\" among them); unschedule tags, or authenticate imports and \
         raise --registry-budget docker.io=PULLS/6h"
    );
    assert_eq!(outcome.findings[1].path, "/spec/tags/0");
}

#[test]
fn opted_out_scheduled_tags_still_count() {
    let mut skipped = tag("a", "org/a", true);
    skipped["annotations"] = json!({"autoredeploy.io/skip": "true"});
    let object = stream(
        "web",
        json!([skipped, tag("b", "org/b", false), tag("c", "org/c", false)]),
    );
    let outcome = run(&object);
    assert!(scheduled(&outcome, 1) && !scheduled(&outcome, 2));
}

#[test]
fn preserve_original_costs_one_pull_per_listed_platform() {
    // A stored multi-arch tag listing 2 platforms costs 2 pulls per import: 48 per 6h.
    let mut multi = stream(
        "multi",
        json!([{"name": "latest", "from": {"kind": "DockerImage", "name": "org/multi"},
                "importPolicy": {"scheduled": true, "importMode": "PreserveOriginal"}}]),
    );
    multi["status"] = json!({"tags": [{"tag": "latest",
        "items": [{"image": "sha256:1", "platforms": ["linux/amd64", "linux/arm64"]}]}]});
    let object = stream("web", json!([tag("latest", "nginx", false)]));
    let outcome = create(&object, &[multi], &RuleConfig::default());
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    assert!(outcome.findings[0].message.contains("(48 projected)"));
}

#[test]
fn preserve_original_on_an_object_counts_its_own_status_platforms() {
    let mut object = stream("web", json!([tag("latest", "nginx", false)]));
    object["status"] = json!({"tags": [{"tag": "latest",
        "items": [{"platforms": ["linux/amd64", "linux/arm64", "linux/ppc64le"]}]}]});
    let config = RuleConfig {
        preserve_original: true,
        ..RuleConfig::default()
    };
    let outcome = run_input(&object, &Request::default(), &EmptyCatalog, &config);
    assert_eq!(change_codes(&outcome), [Code::ImportMode]);
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    assert!(outcome.findings[0].message.contains("reach 72 pulls/6h"));
}

#[test]
fn preserve_original_of_an_unknown_platform_count_is_not_scheduled_on_a_guess() {
    let config = RuleConfig {
        preserve_original: true,
        ..RuleConfig::default()
    };
    // Before a first import the status lists no platforms: 8 are assumed, 192 pulls per 6h.
    let fresh = stream("web", json!([tag("latest", "nginx", false)]));
    let outcome = run_input(&fresh, &Request::default(), &EmptyCatalog, &config);
    assert!(!scheduled(&outcome, 0));
    assert_eq!(change_codes(&outcome), [Code::ImportMode]);
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    assert_eq!(
        outcome.findings[0].message,
        "tag \"latest\" left unscheduled: docker.io would reach 192 pulls/6h, over its budget \
         of 50 (0 projected; PreserveOriginal, 8 platforms assumed); authenticate imports, then \
         raise --registry-budget docker.io=PULLS/6h"
    );
    // The same from the tag's own importMode, without the flag.
    let mut own = fresh.clone();
    own["spec"]["tags"][0]["importPolicy"] = json!({"importMode": "PreserveOriginal"});
    let outcome = run(&own);
    assert!(!scheduled(&outcome, 0));
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    // A budget with room for 8 pulls per import admits it; so does a registry without one.
    let roomy = with_budgets(&["docker.io=200/6h"]);
    assert!(scheduled(
        &run_input(&own, &Request::default(), &EmptyCatalog, &roomy),
        0
    ));
    let quay = stream("web", json!([tag("latest", "quay.io/org/app", false)]));
    assert!(scheduled(
        &run_input(&quay, &Request::default(), &EmptyCatalog, &config),
        0
    ));
    // Once imported, the listed count decides: 2 platforms, 48 pulls per 6h.
    let mut imported = own.clone();
    imported["status"] = json!({"tags": [{"tag": "latest",
        "items": [{"platforms": ["linux/amd64", "linux/arm64"]}]}]});
    assert!(scheduled(&run(&imported), 0));
}

#[test]
fn a_registry_already_over_budget_is_reported_by_every_review_that_sees_it() {
    // A PreserveOriginal tag admitted before its first import, whose status now lists 8
    // platforms: 8 pulls per import, 192 per 6h against 50.
    let mut multi = stream(
        "multi",
        json!([{"name": "latest", "from": {"kind": "DockerImage", "name": "library/nginx"},
                "importPolicy": {"scheduled": true, "importMode": "PreserveOriginal"}}]),
    );
    let platforms: Vec<Value> = (0..8).map(|i| json!(format!("linux/p{i}"))).collect();
    multi["status"] = json!({"tags": [{"tag": "latest", "items": [{"platforms": platforms}]}]});
    let catalog = testing::catalog([&multi], "");
    // Its own re-apply (the request carries no status; the catalog knows the count).
    let mut reapplied = multi.clone();
    reapplied.as_object_mut().unwrap().remove("status");
    let request = Request {
        old_object: None,
        operation: Operation::Update,
        ..Request::default()
    };
    let outcome = run_input(&reapplied, &request, &catalog, &RuleConfig::default());
    assert!(outcome.is_unchanged(), "nothing is unscheduled");
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    assert_eq!(outcome.findings[0].path, "/spec/tags/0");
    assert!(
        outcome.findings[0]
            .message
            .starts_with("docker.io is over its pull budget: scheduled imports project 192 pulls/6h, over its budget of 50 (tag \"latest\" at 8 pulls per import among them)"),
        "{}",
        outcome.findings[0].message
    );
    // Another stream with a scheduled Docker Hub tag sees it too; one on quay.io does not.
    let other = stream("other", json!([tag("latest", "org/other", true)]));
    let outcome = run_input(
        &other,
        &Request::default(),
        &catalog,
        &RuleConfig::default(),
    );
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    assert!(outcome.findings[0].message.contains("project 216 pulls/6h"));
    let quay = stream("quay", json!([tag("latest", "quay.io/org/q", true)]));
    let outcome = run_input(&quay, &Request::default(), &catalog, &RuleConfig::default());
    assert!(outcome.findings.is_empty());
}

#[test]
fn preserve_original_is_added_to_a_scheduled_tag_only_within_budget() {
    let config = RuleConfig {
        preserve_original: true,
        ..RuleConfig::default()
    };
    let mut object = stream("web", json!([tag("latest", "nginx", true)]));
    object["status"] = json!({"tags": [{"tag": "latest",
        "items": [{"platforms": ["linux/amd64", "linux/arm64", "linux/s390x"]}]}]});
    // 3 platforms: 72 pulls per 6h; the tag stays scheduled in its Legacy mode.
    let outcome = run_input(&object, &Request::default(), &EmptyCatalog, &config);
    assert!(outcome.is_unchanged());
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    assert!(
        outcome.findings[0]
            .message
            .starts_with("importMode PreserveOriginal not set on tag \"latest\": docker.io would reach 72 pulls/6h"),
        "{}",
        outcome.findings[0].message
    );
    // 2 platforms: 48 fits.
    object["status"]["tags"][0]["items"][0]["platforms"] = json!(["linux/amd64", "linux/arm64"]);
    let outcome = run_input(&object, &Request::default(), &EmptyCatalog, &config);
    assert_eq!(change_codes(&outcome), [Code::ImportMode]);
    assert!(outcome.findings.is_empty());
}

/// The stored stream had `latest` scheduled from quay.io; the incoming one imports it from
/// Docker Hub and still says `scheduled: true` (what `oc apply` merges back).
fn moved(stored_from: &str) -> (Value, Value) {
    let stored = stream("web", json!([tag("latest", stored_from, true)]));
    let incoming = stream("web", json!([tag("latest", "docker.io/org/web:1", true)]));
    (stored, incoming)
}

#[test]
fn a_tag_moved_to_a_registry_without_room_is_unscheduled_with_a_finding() {
    let (stored, incoming) = moved("quay.io/org/web:1");
    let mut streams = hub_streams(2);
    streams.push(stored.clone());
    let catalog = testing::catalog(&streams, "");
    // From the stored object, and from the catalog's copy when the request has none (serve).
    for old_object in [Some(&stored), None] {
        let request = Request {
            old_object,
            operation: Operation::Update,
            ..Request::default()
        };
        let outcome = run_input(&incoming, &request, &catalog, &RuleConfig::default());
        assert!(!scheduled(&outcome, 0), "{old_object:?}");
        assert_eq!(
            outcome.object["spec"]["tags"][0]["importPolicy"]["scheduled"],
            json!(false)
        );
        assert_eq!(change_codes(&outcome), [Code::UnscheduledImport]);
        assert_eq!(
            outcome.changes[0].message,
            "turned importPolicy.scheduled off on tag \"latest\": its source moved from quay.io \
             to docker.io, whose pull budget has no room for it"
        );
        assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
        assert_eq!(
            outcome.findings[0].message,
            "tag \"latest\" (moved from quay.io) left unscheduled: docker.io would reach 72 \
             pulls/6h, over its budget of 50 (48 projected); authenticate imports, then raise \
             --registry-budget docker.io=PULLS/6h"
        );
    }
}

#[test]
fn a_tag_moved_to_a_registry_with_room_stays_scheduled_and_counts_there() {
    let (stored, incoming) = moved("quay.io/org/web:1");
    let mut streams = hub_streams(1);
    streams.push(stored.clone());
    let catalog = testing::catalog(&streams, "");
    let request = Request {
        old_object: Some(&stored),
        operation: Operation::Update,
        ..Request::default()
    };
    let outcome = run_input(&incoming, &request, &catalog, &RuleConfig::default());
    assert!(outcome.is_unchanged() && outcome.findings.is_empty());
    // Its new cost counts for the object's other tags: a second Docker Hub tag is refused.
    let mut grown = incoming.clone();
    grown["spec"]["tags"]
        .as_array_mut()
        .unwrap()
        .push(tag("next", "docker.io/org/next:1", false));
    let outcome = run_input(&grown, &request, &catalog, &RuleConfig::default());
    assert!(scheduled(&outcome, 0) && !scheduled(&outcome, 1));
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    assert_eq!(outcome.findings[0].path, "/spec/tags/1");
}

#[test]
fn only_a_change_of_registry_is_a_move() {
    let full = || hub_streams(3);
    // The same registry under another repository, or a CREATE: scheduled tags stay as they are.
    let (stored, incoming) = moved("docker.io/org/old:1");
    let mut streams = full();
    streams.push(stored.clone());
    let catalog = testing::catalog(&streams, "");
    let request = Request {
        old_object: Some(&stored),
        operation: Operation::Update,
        ..Request::default()
    };
    let outcome = run_input(&incoming, &request, &catalog, &RuleConfig::default());
    assert!(outcome.is_unchanged(), "same registry");
    let outcome = run_input(
        &incoming,
        &Request::default(),
        &catalog,
        &RuleConfig::default(),
    );
    assert!(outcome.is_unchanged(), "a CREATE has no stored version");
    // A stored tag that was not scheduled: the incoming scheduled: true is the user's.
    let (mut stored, incoming) = moved("quay.io/org/web:1");
    stored["spec"]["tags"][0]["importPolicy"] = json!({});
    let request = Request {
        old_object: Some(&stored),
        operation: Operation::Update,
        ..Request::default()
    };
    assert!(run_input(&incoming, &request, &catalog, &RuleConfig::default()).is_unchanged());
    // A tag opted out is left alone, moved or not.
    let (stored, mut incoming) = moved("quay.io/org/web:1");
    incoming["spec"]["tags"][0]["annotations"] = json!({"autoredeploy.io/skip": "true"});
    let request = Request {
        old_object: Some(&stored),
        operation: Operation::Update,
        ..Request::default()
    };
    let outcome = run_input(&incoming, &request, &catalog, &RuleConfig::default());
    assert!(outcome.is_unchanged());
    assert_eq!(finding_codes(&outcome)[0], Code::OptedOut);
}

#[test]
fn side_doors_moving_a_scheduled_tag_are_judged_against_the_new_registry() {
    let mut streams = hub_streams(2);
    streams.push(stream(
        "web",
        json!([tag("latest", "quay.io/org/web:1", true)]),
    ));
    let catalog = testing::catalog(&streams, "");
    // `oc tag docker.io/org/web:1 web:latest --scheduled`, and the same through ImageTag.
    for (kind, member) in [("ImageStreamTag", "tag"), ("ImageTag", "spec")] {
        let mut object = side_door(kind, member, "web:latest", "docker.io/org/web:1");
        object[member]["importPolicy"] = json!({"scheduled": true});
        let outcome = run_input(
            &object,
            &Request::default(),
            &catalog,
            &RuleConfig::default(),
        );
        assert_eq!(change_codes(&outcome), [Code::UnscheduledImport], "{kind}");
        assert_eq!(finding_codes(&outcome), [Code::PullBudget], "{kind}");
        assert_eq!(
            outcome.object[member]["importPolicy"]["scheduled"],
            json!(false)
        );
    }
    // `oc import-image web:latest --from=docker.io/org/web:1` carries the stored schedule over.
    let import = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"import": true, "images": [{"from": {"kind": "DockerImage", "name": "docker.io/org/web:1"},
            "to": {"name": "latest"}, "importPolicy": {"scheduled": true}}]}});
    let outcome = run_input(
        &import,
        &Request::default(),
        &catalog,
        &RuleConfig::default(),
    );
    assert_eq!(change_codes(&outcome), [Code::UnscheduledImport]);
    assert_eq!(
        outcome.object["spec"]["images"][0]["importPolicy"]["scheduled"],
        json!(false)
    );
    // A retag within quay.io stays as it is.
    let mut object = side_door("ImageStreamTag", "tag", "web:latest", "quay.io/org/web:2");
    object["tag"]["importPolicy"] = json!({"scheduled": true});
    let outcome = run_input(
        &object,
        &Request::default(),
        &catalog,
        &RuleConfig::default(),
    );
    assert!(outcome.is_unchanged() && outcome.findings.is_empty());
}

#[test]
fn an_update_of_a_scheduled_stream_does_not_count_against_itself() {
    let stored = stream(
        "web",
        json!([tag("a", "org/a", true), tag("b", "org/b", true)]),
    );
    let catalog = testing::catalog([&stored], "");
    let update = |object: &Value| {
        let request = Request {
            old_object: Some(&stored),
            operation: Operation::Update,
            ..Request::default()
        };
        run_input(object, &request, &catalog, &RuleConfig::default())
    };
    let outcome = update(&stored);
    assert!(outcome.is_unchanged() && outcome.findings.is_empty());
    // Re-applied without the fields the webhook added: scheduled again, not refused.
    let reapplied = stream(
        "web",
        json!([tag("a", "org/a", false), tag("b", "org/b", false)]),
    );
    let outcome = update(&reapplied);
    assert_eq!(change_codes(&outcome), [Code::ScheduledImport; 2]);
    // A third tag would take docker.io to 72.
    let grown = stream(
        "web",
        json!([
            tag("a", "org/a", true),
            tag("b", "org/b", true),
            tag("c", "org/c", false)
        ]),
    );
    assert_eq!(finding_codes(&update(&grown)), [Code::PullBudget]);
}

fn side_door(kind: &str, member: &str, name: &str, from: &str) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": kind,
           "metadata": {"name": name, "namespace": "shop"},
           member: {"name": name.split_once(':').unwrap().1,
                    "from": {"kind": "DockerImage", "name": from}}})
}

#[test]
fn side_doors_follow_the_same_budget() {
    for (kind, member) in [("ImageStreamTag", "tag"), ("ImageTag", "spec")] {
        let object = side_door(kind, member, "web:latest", "nginx");
        let outcome = create(&object, &hub_streams(2), &RuleConfig::default());
        assert!(outcome.is_unchanged(), "{kind}");
        assert_eq!(finding_codes(&outcome), [Code::PullBudget], "{kind}");
        assert_eq!(outcome.findings[0].path, format!("/{member}"));
        let outcome = create(&object, &hub_streams(1), &RuleConfig::default());
        assert_eq!(change_codes(&outcome), [Code::ScheduledImport], "{kind}");
    }
    let import = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"import": true, "images": [{"from": {"kind": "DockerImage", "name": "nginx"}}]}});
    let outcome = create(&import, &hub_streams(2), &RuleConfig::default());
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
}

#[test]
fn a_side_door_retagging_a_scheduled_tag_replaces_only_that_tag() {
    let mut streams = hub_streams(1);
    streams.push(stream("web", json!([tag("latest", "org/old", true)])));
    // `oc tag` without --scheduled rewrites web:latest: its stored cost is replaced, not added.
    let object = side_door("ImageStreamTag", "tag", "web:latest", "org/new");
    let outcome = create(&object, &streams, &RuleConfig::default());
    assert_eq!(change_codes(&outcome), [Code::ScheduledImport]);
    // Another tag of the same stream still counts the stored web:latest.
    let other = side_door("ImageStreamTag", "tag", "web:next", "org/next");
    let outcome = create(&other, &streams, &RuleConfig::default());
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
}

#[test]
fn a_docker_hub_repository_import_counts_as_the_servers_bulk_maximum() {
    let import = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport",
        "metadata": {"name": "web"},
        "spec": {"import": true, "repository": {"from": {"kind": "DockerImage", "name": "org/app"}}}});
    let outcome = run(&import);
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    assert!(outcome.findings[0].message.contains("reach 1200 pulls/6h"));
}

#[test]
fn an_image_stream_import_that_only_looks_up_is_untouched() {
    for import in [json!(false), Value::Null] {
        let object = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport",
            "metadata": {"name": "web"},
            "spec": {"import": import, "images": [{"from": {"kind": "DockerImage", "name": "quay.io/o/a"}}]}});
        let outcome = run(&object);
        assert!(outcome.is_unchanged() && outcome.findings.is_empty());
    }
}

#[test]
fn tag_level_skip_is_honoured_on_image_stream_tags_and_image_tags() {
    for (kind, member) in [("ImageStreamTag", "tag"), ("ImageTag", "spec")] {
        let mut object = side_door(kind, member, "web:latest", "quay.io/org/app");
        object[member]["annotations"] = json!({"autoredeploy.io/skip": "true"});
        let outcome = run(&object);
        assert!(outcome.is_unchanged(), "{kind}");
        assert_eq!(finding_codes(&outcome), [Code::OptedOut], "{kind}");
        assert_eq!(outcome.findings[0].path, format!("/{member}/annotations"));
    }
}

#[test]
fn sources_on_the_clusters_own_registry_are_never_scheduled() {
    // The default service host in either spelling, and in any case.
    let object = stream(
        "web",
        json!([
            tag(
                "svc",
                "image-registry.openshift-image-registry.svc:5000/shop/app:1",
                false
            ),
            tag(
                "fqdn",
                "Image-Registry.openshift-image-registry.svc.cluster.local:5000/shop/app:1",
                false
            ),
            tag(
                "route",
                "default-route-openshift-image-registry.apps.example.com/shop/app:1",
                false
            )
        ]),
    );
    let outcome = run(&object);
    assert!(!scheduled(&outcome, 0) && !scheduled(&outcome, 1));
    assert!(
        scheduled(&outcome, 2),
        "an unknown route host looks external"
    );
    // The route named by --internal-registry, or found in the stream's own status.
    let config = RuleConfig {
        internal_registry_hosts: crate::config::internal_registry_hosts(&[
            "Default-Route-Openshift-Image-Registry.apps.example.com".into(),
        ]),
        ..RuleConfig::default()
    };
    let outcome = run_input(&object, &Request::default(), &EmptyCatalog, &config);
    assert!(outcome.is_unchanged());
    let mut with_status = object.clone();
    with_status["status"] = json!({
        "dockerImageRepository": "image-registry.openshift-image-registry.svc:5000/shop/web",
        "publicDockerImageRepository": "default-route-openshift-image-registry.apps.example.com/shop/web"});
    assert!(run(&with_status).is_unchanged());
    // The stored stream's status counts too (admission strips status from the request).
    let catalog = testing::catalog([&with_status], "");
    let outcome = run_input(
        &object,
        &Request::default(),
        &catalog,
        &RuleConfig::default(),
    );
    assert!(outcome.is_unchanged());
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// (registry, already scheduled, PreserveOriginal, platforms in status)
    type TagSpec = (usize, bool, bool, Option<u32>);
    const REGISTRIES: [&str; 3] = ["docker.io", "quay.io", "ghcr.io"];

    fn object(tags: &[TagSpec]) -> Value {
        let spec: Vec<Value> = (tags.iter().enumerate())
            .map(|(i, &(registry, scheduled, preserve, _))| {
                let mut tag = tag(
                    &format!("t{i}"),
                    &format!("{}/org/app{i}:1", REGISTRIES[registry]),
                    scheduled,
                );
                if preserve {
                    tag["importPolicy"]["importMode"] = json!("PreserveOriginal");
                }
                tag
            })
            .collect();
        let status: Vec<Value> = (tags.iter().enumerate())
            .filter_map(|(i, &(_, _, _, platforms))| {
                let platforms = vec![json!("linux/amd64"); platforms? as usize];
                Some(json!({"tag": format!("t{i}"), "items": [{"platforms": platforms}]}))
            })
            .collect();
        let mut object = stream("web", Value::Array(spec));
        object["status"] = json!({"tags": status});
        object
    }

    fn cost(spec: &TagSpec) -> u64 {
        let &(_, _, preserve, platforms) = spec;
        u64::from(crate::engine::budget::pulls_per_import(preserve, platforms))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Every unscheduled tag is either scheduled or reported; user-scheduled tags stay;
        /// what the webhook adds never takes docker.io past its budget.
        #[test]
        fn scheduling_never_exceeds_a_budget(
            tags in proptest::collection::vec((0..3usize, any::<bool>(), any::<bool>(), proptest::option::of(0..5u32)), 0..12),
            budget in 0..200u64,
        ) {
            let config = with_budgets(&[&format!("docker.io={budget}/6h")]);
            let object = object(&tags);
            let outcome = run_input(&object, &Request::default(), &EmptyCatalog, &config);
            let mut user = 0;
            let mut added = 0;
            for (i, spec) in tags.iter().enumerate() {
                let now = scheduled(&outcome, i);
                prop_assert!(now || !spec.1, "a user-scheduled tag was unscheduled");
                if spec.0 == 0 && spec.1 {
                    user += cost(spec);
                }
                if spec.0 == 0 && now && !spec.1 {
                    added += cost(spec);
                }
            }
            if added > 0 {
                prop_assert!((user + added) * 24 <= budget, "{} > {budget}", (user + added) * 24);
            }
            let unscheduled: Vec<String> = (tags.iter().enumerate())
                .filter(|(_, t)| !t.1)
                .map(|(i, _)| format!("/spec/tags/{i}"))
                .collect();
            let refused = outcome.findings.iter()
                .filter(|f| f.code == Code::PullBudget && unscheduled.contains(&f.path))
                .count();
            let decided = outcome.changes.iter().filter(|c| c.code == Code::ScheduledImport).count()
                + refused;
            prop_assert_eq!(decided, unscheduled.len());
            // Docker Hub already over budget from the user's own tags is said exactly once.
            let overdrawn = outcome.findings.iter()
                .filter(|f| f.code == Code::PullBudget && f.message.starts_with("docker.io is over"))
                .count();
            prop_assert_eq!(overdrawn, usize::from(user * 24 > budget));
        }
    }
}
