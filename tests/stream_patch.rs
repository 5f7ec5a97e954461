//! The ImageStream rules edit an owned object in place and record their own JSON Patch
//! (`engine::mutate` given a `Value`: no copy of the input, no diff walk). These tests hold that
//! record to `json_patch::diff` of input and output and to the patch of the clone-and-diff path
//! (`engine::mutate_diffed`), on generated ImageStreams, ImageStreamTags, ImageTags and
//! ImageStreamImports, on every recorded review and through the admission adapter.

use autoredeploy::admission::{self, Context};
use autoredeploy::catalog::CatalogIndex;
use autoredeploy::config::{Mode, RegistryBudget, RegistryBudgets, RuleConfig};
use autoredeploy::engine::{Operation, Outcome, Request, mutate, mutate_diffed};
use autoredeploy::testing::recorded::{engine_input, fixtures};
use autoredeploy::testing::{imported_stream, invariant_violation};
use proptest::prelude::*;
use serde_json::{Value, json};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const INTERNAL: &str = "image-registry.openshift-image-registry.svc:5000";

/// Tag and stream names, some needing `~0` / `~1` in a JSON Pointer.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,3}",
        "[a-z~/.]{1,4}",
        Just("a/b~c".to_string()),
        Just("~1".to_string()),
    ]
}

fn source() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("docker.io/org/app:1")),
        Just(json!("nginx")),
        Just(json!("org/app:latest")),
        Just(json!("quay.io/org/tool:2")),
        Just(json!(format!("org/app@{DIGEST}"))),
        Just(json!(format!("{INTERNAL}/shop/app:1"))),
        Just(json!("Bad Image")),
        Just(json!("")),
        Just(json!(7)),
    ]
}

fn from() -> impl Strategy<Value = Option<Value>> {
    let kind = prop_oneof![
        4 => Just(json!("DockerImage")),
        1 => Just(json!("ImageStreamTag")),
        1 => Just(json!("ImageStreamImage")),
        1 => Just(json!(1)),
    ];
    prop_oneof![
        8 => (kind, source()).prop_map(|(kind, name)| Some(json!({"kind": kind, "name": name}))),
        1 => Just(Some(json!({"kind": "DockerImage"}))),
        1 => Just(None),
    ]
}

/// `importPolicy`: absent, `null`, `{}`, not an object, `scheduled` false / true / odd,
/// `importMode` present or not, and members the rules leave alone (one needing escaping).
fn import_policy() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!({}))),
        Just(Some(json!("x"))),
        Just(Some(json!(7))),
        Just(Some(json!([]))),
        Just(Some(json!([{"scheduled": true}]))),
        Just(Some(json!({"scheduled": false}))),
        Just(Some(json!({"scheduled": true}))),
        Just(Some(json!({"scheduled": "true"}))),
        Just(Some(json!({"scheduled": null}))),
        Just(Some(json!({"scheduled": {}}))),
        Just(Some(json!({"importMode": "Legacy"}))),
        Just(Some(json!({"importMode": "PreserveOriginal"}))),
        Just(Some(
            json!({"importMode": "PreserveOriginal", "scheduled": true})
        )),
        Just(Some(json!({"importMode": "Legacy", "scheduled": false}))),
        Just(Some(json!({"importMode": 1, "insecure": true}))),
        Just(Some(json!({"a/b~c": 1, "scheduled": false, "zz": [1]}))),
    ]
}

fn annotations() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!({"autoredeploy.io/skip": "true"}))),
        1 => Just(Some(json!({"autoredeploy.io/skip": "false", "a/b~c": "x"}))),
    ]
}

/// A TagReference-like entry (also an ImageStreamImport image or repository).
fn entry() -> impl Strategy<Value = Value> {
    (
        name(),
        from(),
        prop::option::of(any::<bool>()),
        import_policy(),
        annotations(),
        prop::option::of(name()),
    )
        .prop_map(|(name, from, reference, policy, annotations, to)| {
            let mut entry = json!({"name": name, "generation": 2,
                                   "referencePolicy": {"type": "Source"}});
            for (key, value) in [
                ("from", from),
                ("reference", reference.map(Value::Bool)),
                ("importPolicy", policy),
                ("annotations", annotations),
                ("to", to.map(|to| json!({"name": to}))),
            ] {
                if let Some(value) = value {
                    entry[key] = value;
                }
            }
            entry
        })
}

/// An object of one of the ImageStream kinds, sometimes opted out as a whole, sometimes
/// with a status (the stream's own registry, platform counts).
fn stream_object() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just("ImageStream"),
        Just("ImageStreamTag"),
        Just("ImageTag"),
        Just("ImageStreamImport")
    ];
    let skip = prop_oneof![4 => Just(false), 1 => Just(true)];
    (
        kind,
        name(),
        prop::collection::vec(entry(), 0..6),
        skip,
        any::<bool>(),
        prop_oneof![Just(json!(true)), Just(json!(false)), Just(json!("true"))],
        any::<bool>(),
    )
        .prop_map(|(kind, stream, entries, skip, status, import, repository)| {
            let mut metadata = json!({"name": stream, "namespace": "shop"});
            if skip {
                metadata["annotations"] = json!({"autoredeploy.io/skip": "true"});
            }
            let mut object = json!({"apiVersion": "image.openshift.io/v1", "kind": kind});
            match kind {
                "ImageStream" => {
                    object["spec"] = json!({"lookupPolicy": {"local": false}, "tags": entries});
                }
                "ImageStreamTag" | "ImageTag" => {
                    metadata["name"] = json!(format!("{stream}:t"));
                    let member = if kind == "ImageTag" { "spec" } else { "tag" };
                    object[member] = entries.first().cloned().unwrap_or(Value::Null);
                }
                _ => {
                    let mut spec = json!({"import": import, "images": entries});
                    if repository {
                        spec["repository"] = json!({"from": {"kind": "DockerImage", "name": "docker.io/org/bulk"},
                                                    "importPolicy": {"insecure": false}});
                    }
                    object["spec"] = spec;
                }
            }
            if status {
                object["status"] = json!({"dockerImageRepository": format!("{INTERNAL}/shop/s"),
                    "tags": [{"tag": "t", "items": [{"image": DIGEST, "dockerImageReference": format!("org/app@{DIGEST}")}]}]});
            }
            object["metadata"] = metadata;
            object
        })
}

/// Default rules, `PreserveOriginal`, and a Docker Hub budget tight enough that some tags
/// stay unscheduled (24 pulls a tag per 6 hours at the default 15-minute interval).
fn config() -> impl Strategy<Value = RuleConfig> {
    (
        any::<bool>(),
        prop_oneof![
            Just(None),
            Just(Some("docker.io=48/6h")),
            Just(Some("docker.io=100/6h"))
        ],
    )
        .prop_map(|(preserve_original, budget)| {
            let budgets: Vec<RegistryBudget> =
                budget.iter().map(|flag| flag.parse().unwrap()).collect();
            RuleConfig {
                preserve_original,
                budgets: RegistryBudgets::new(&budgets, "15m".parse().unwrap()),
                ..RuleConfig::default()
            }
        })
}

/// A stream in the catalog with one scheduled Docker Hub tag, so budgets count others.
fn catalog() -> CatalogIndex {
    let streams = [
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "other", "namespace": "shop"},
        "spec": {"tags": [{"name": "latest", "importPolicy": {"scheduled": true},
                           "from": {"kind": "DockerImage", "name": "docker.io/org/other:latest"}}]}}),
    ];
    CatalogIndex::from_objects(&streams, "shop")
}

/// The outcome for an owned object (edited in place, its ImageStream patch recorded) equals
/// the clone-and-diff path's in every part, its patch is the full diff of input and output
/// and applies to the input, and a borrowed object gets the same outcome.
fn same_as_diffed(
    object: &Value,
    request: &Request<'_>,
    catalog: &CatalogIndex,
    config: &RuleConfig,
) -> Outcome {
    let owned = mutate(object.clone(), request, catalog, config);
    assert_eq!(
        owned.patch,
        json_patch::diff(object, &owned.object),
        "the recorded patch is not the diff of input and output"
    );
    let diffed = mutate_diffed(object, request, catalog, config);
    assert_eq!(
        owned, diffed,
        "the owned and the clone-and-diff paths differ"
    );
    assert_eq!(
        mutate(object, request, catalog, config),
        owned,
        "a borrowed and an owned object differ"
    );
    let mut patched = object.clone();
    json_patch::patch(&mut patched, &owned.patch).expect("the patch applies");
    assert_eq!(patched, owned.object, "the patch gives the output");
    owned
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn recorded_stream_patches_are_the_diff(
        object in stream_object(),
        old in prop::option::of(stream_object()),
        config in config(),
    ) {
        let catalog = catalog();
        let request = Request {
            old_object: old.as_ref(),
            operation: if old.is_some() { Operation::Update } else { Operation::Create },
            namespace: Some("shop"),
            username: Some("alice"),
        };
        same_as_diffed(&object, &request, &catalog, &config);
        invariant_violation(&object, &request, &catalog, &config).map_err(TestCaseError::fail)?;
    }
}

/// The generators reach every shape the rules write: each kind gets patched, with `add` and
/// `replace` of a whole `importPolicy` and of its fields, and budgets leave tags out.
#[test]
fn the_generated_objects_reach_every_kind_of_edit() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let catalog = catalog();
    let strategy = (stream_object(), config());
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..2000 {
        let (object, config) = strategy.new_tree(&mut runner).unwrap().current();
        let outcome = same_as_diffed(&object, &Request::default(), &catalog, &config);
        let kind = object["kind"].as_str().unwrap().to_string();
        for operation in serde_json::to_value(&outcome.patch)
            .unwrap()
            .as_array()
            .unwrap()
        {
            let path = operation["path"].as_str().unwrap();
            let whole = path.ends_with("/importPolicy");
            seen.insert(format!(
                "{kind} {} {}",
                operation["op"],
                if whole { "policy" } else { "field" }
            ));
        }
        if outcome
            .findings
            .iter()
            .any(|f| f.code == autoredeploy::engine::Code::PullBudget)
        {
            seen.insert("over budget".into());
        }
    }
    for expected in [
        "ImageStream \"add\" policy",
        "ImageStream \"replace\" policy",
        "ImageStream \"add\" field",
        "ImageStream \"replace\" field",
        "ImageStreamTag \"add\" policy",
        "ImageStreamTag \"add\" field",
        "ImageTag \"add\" policy",
        "ImageTag \"replace\" field",
        "ImageStreamImport \"add\" policy",
        "ImageStreamImport \"add\" field",
        "over budget",
    ] {
        assert!(
            seen.contains(expected),
            "{expected} never generated: {seen:?}"
        );
    }
}

/// Each starting `importPolicy` gives the operations `json_patch::diff` gives, spelled out.
#[test]
fn each_import_policy_gets_the_diffs_operations() {
    let config = RuleConfig {
        preserve_original: true,
        ..RuleConfig::default()
    };
    let both = json!({"importMode": "PreserveOriginal", "scheduled": true});
    let cases = [
        (
            None,
            json!([{"op": "add", "path": "/spec/tags/0/importPolicy", "value": both}]),
        ),
        (
            Some(Value::Null),
            json!([{"op": "replace", "path": "/spec/tags/0/importPolicy", "value": both}]),
        ),
        (
            Some(json!({})),
            json!([{"op": "add", "path": "/spec/tags/0/importPolicy/importMode", "value": "PreserveOriginal"},
                   {"op": "add", "path": "/spec/tags/0/importPolicy/scheduled", "value": true}]),
        ),
        (
            Some(json!({"scheduled": false, "importMode": "Legacy", "insecure": true})),
            json!([{"op": "replace", "path": "/spec/tags/0/importPolicy/importMode", "value": "PreserveOriginal"},
                   {"op": "replace", "path": "/spec/tags/0/importPolicy/scheduled", "value": true}]),
        ),
        (
            Some(json!({"scheduled": true})),
            json!([{"op": "add", "path": "/spec/tags/0/importPolicy/importMode", "value": "PreserveOriginal"}]),
        ),
        (Some(json!("x")), json!([])),
    ];
    for (policy, expected) in cases {
        // quay.io has no budget, so PreserveOriginal of an unknown platform count fits.
        let mut tag =
            json!({"name": "a/b~c", "from": {"kind": "DockerImage", "name": "quay.io/org/app:1"}});
        if let Some(policy) = &policy {
            tag["importPolicy"] = policy.clone();
        }
        let object = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                            "metadata": {"name": "s~/", "namespace": "shop"}, "spec": {"tags": [tag]}});
        let outcome = same_as_diffed(&object, &Request::default(), &catalog(), &config);
        assert_eq!(
            serde_json::to_value(&outcome.patch).unwrap(),
            expected,
            "{policy:?}"
        );
    }
}

/// A scheduled tag moved from quay.io to a Docker Hub without room: `scheduled` is replaced
/// by `false`, one `replace` as the diff gives it, from the stored object or the catalog.
#[test]
fn a_moved_tag_over_budget_gets_scheduled_replaced_by_false() {
    let tag = |from: &str| {
        json!({"name": "a/b~c", "importPolicy": {"scheduled": true, "importMode": "Legacy"},
               "from": {"kind": "DockerImage", "name": from}})
    };
    let stream = |from: &str| {
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
               "metadata": {"name": "s~/", "namespace": "shop"}, "spec": {"tags": [tag(from)]}})
    };
    let (stored, incoming) = (stream("quay.io/org/app:1"), stream("docker.io/org/app:1"));
    // One other Docker Hub tag scheduled (24 pulls); the budget leaves room for none more.
    let config = RuleConfig {
        budgets: RegistryBudgets::new(
            &["docker.io=30/6h".parse::<RegistryBudget>().unwrap()],
            "15m".parse().unwrap(),
        ),
        ..RuleConfig::default()
    };
    let expected =
        json!([{"op": "replace", "path": "/spec/tags/0/importPolicy/scheduled", "value": false}]);
    let with_old = Request::update(&stored);
    let outcome = same_as_diffed(&incoming, &with_old, &catalog(), &config);
    assert_eq!(serde_json::to_value(&outcome.patch).unwrap(), expected);
    let mut from_catalog = catalog();
    from_catalog.upsert(&stored, "shop");
    let without_old = Request {
        old_object: None,
        ..with_old
    };
    let outcome = same_as_diffed(&incoming, &without_old, &from_catalog, &config);
    assert_eq!(serde_json::to_value(&outcome.patch).unwrap(), expected);
}

/// Every recorded review, as the engine sees it and through the admission adapter (which
/// hands the decoded object to the engine): the same patch as the clone-and-diff path.
#[test]
fn every_recorded_review_gets_the_diffed_patch() {
    let catalog = catalog();
    for preserve_original in [false, true] {
        let config = RuleConfig {
            preserve_original,
            ..RuleConfig::default()
        };
        let ctx = Context {
            mode: Mode::Enforce,
            catalog: &catalog,
            config: &config,
        };
        for (name, bytes) in fixtures() {
            let review: Value = serde_json::from_slice(&bytes).unwrap();
            let request = &review["request"];
            let (object, engine_request) = engine_input(request);
            same_as_diffed(object, &engine_request, &catalog, &config);
            let mut decoded = admission::decode(&bytes).unwrap();
            let kept = decoded.clone();
            let (response, summary) = admission::respond(&mut decoded, &ctx);
            assert!(
                decoded.object.is_none(),
                "{name}: the engine took the object"
            );
            let object = kept.object.as_ref().unwrap();
            let diffed = mutate_diffed(
                object,
                &Request {
                    old_object: kept.old_object.as_ref(),
                    ..engine_request
                },
                &catalog,
                &config,
            );
            let mode = Mode::Enforce.for_object(Some(object));
            let expected = admission::respond_with_outcome(&kept, mode, &diffed);
            assert_eq!((response, summary), expected, "{name}");
        }
    }
}

/// A large imported stream on UPDATE, as the review benchmark sends it: every tag patched
/// (Docker Hub unlimited, so the default budget leaves none out).
#[test]
fn a_large_imported_stream_gets_the_diffed_patch() {
    let object = imported_stream(500);
    let request = Request {
        old_object: Some(&object),
        operation: Operation::Update,
        namespace: Some("shop"),
        username: Some("alice"),
    };
    let unlimited: RegistryBudget = "docker.io=unlimited".parse().unwrap();
    let config = RuleConfig {
        budgets: RegistryBudgets::new(&[unlimited], "15m".parse().unwrap()),
        ..RuleConfig::default()
    };
    let outcome = same_as_diffed(&object, &request, &catalog(), &config);
    assert_eq!(outcome.patch.0.len(), 500, "one operation a tag");
    assert_eq!(outcome.changes.len(), 500);
}
