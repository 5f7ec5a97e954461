//! Registry pull budgets on ImageStreams and the side doors: at, below and above a budget,
//! the PreserveOriginal cost, UPDATEs that must not count against themselves, and the
//! ImageStream-side rules that keep triggers true (lookups, tag-level opt-out, the cluster's
//! own registry).

use serde_json::{Value, json};

use crate::config::{RegistryBudget, RegistryBudgets, RuleConfig};
use crate::engine::catalog::EmptyCatalog;
use crate::engine::test_support::{change_codes, finding_codes, run, run_input};
use crate::engine::{Code, Input, Operation, Outcome};
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
    run_input(&Input::create(object), &catalog, config)
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
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
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
    let outcome = run_input(&Input::create(&object), &EmptyCatalog, &config);
    assert_eq!(change_codes(&outcome), [Code::ImportMode]);
    assert_eq!(finding_codes(&outcome), [Code::PullBudget]);
    assert!(outcome.findings[0].message.contains("reach 72 pulls/6h"));
    // Before a first import the count is unknown: at least one pull.
    let fresh = stream("web", json!([tag("latest", "nginx", false)]));
    let outcome = run_input(&Input::create(&fresh), &EmptyCatalog, &config);
    assert!(scheduled(&outcome, 0));
}

#[test]
fn an_update_of_a_scheduled_stream_does_not_count_against_itself() {
    let stored = stream(
        "web",
        json!([tag("a", "org/a", true), tag("b", "org/b", true)]),
    );
    let catalog = testing::catalog([&stored], "");
    let update = |object: &Value| {
        let input = Input {
            old_object: Some(&stored),
            operation: Operation::Update,
            ..Input::create(object)
        };
        run_input(&input, &catalog, &RuleConfig::default())
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
    let outcome = run_input(&Input::create(&object), &EmptyCatalog, &config);
    assert!(outcome.is_unchanged());
    let mut with_status = object.clone();
    with_status["status"] = json!({
        "dockerImageRepository": "image-registry.openshift-image-registry.svc:5000/shop/web",
        "publicDockerImageRepository": "default-route-openshift-image-registry.apps.example.com/shop/web"});
    assert!(run(&with_status).is_unchanged());
    // The stored stream's status counts too (admission strips status from the request).
    let catalog = testing::catalog([&with_status], "");
    let outcome = run_input(&Input::create(&object), &catalog, &RuleConfig::default());
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
            let outcome = run_input(&Input::create(&object), &EmptyCatalog, &config);
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
            let unscheduled = tags.iter().filter(|t| !t.1).count();
            let decided = outcome.changes.iter().filter(|c| c.code == Code::ScheduledImport).count()
                + outcome.findings.iter().filter(|f| f.code == Code::PullBudget).count();
            prop_assert_eq!(decided, unscheduled);
        }
    }
}
