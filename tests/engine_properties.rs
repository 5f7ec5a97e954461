//! Properties of the engine over generated objects: it never panics, the patch applies to the
//! input, gives the output and equals the full diff, a second pass changes nothing, only
//! fields autoredeploy owns change, and an object that opted out (annotation or label) or that
//! a controller owns is never patched, by the engine or through the admission adapter. Case
//! counts are modest so the suite runs in seconds in debug.

use autoredeploy::admission::{self, Context};
use autoredeploy::catalog::CatalogIndex;
use autoredeploy::config::{Mode, RuleConfig};
use autoredeploy::engine::{Code, Operation, Request, mutate};
use autoredeploy::testing::invariant_violation;
use autoredeploy::testing::recorded::fixture;
use proptest::prelude::*;
use serde_json::{Value, json};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const INTERNAL: &str = "image-registry.openshift-image-registry.svc:5000";

fn image() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("nginx")),
        Just(json!("app:1")),
        Just(json!("app")),
        Just(json!("docker.io/org/app:1")),
        Just(json!("org/app:latest")),
        Just(json!(format!("org/app@{DIGEST}"))),
        Just(json!(format!("quay.io/other/thing@{DIGEST}"))),
        Just(json!("quay.io/untracked/thing:2")),
        Just(json!(format!("{INTERNAL}/shop/app:1"))),
        Just(json!(format!("{INTERNAL}/other/tools:2"))),
        Just(json!(format!("{INTERNAL}/shop/app@{DIGEST}"))),
        Just(json!(" ")),
        Just(json!("")),
        Just(json!("Bad Image")),
        Just(json!(7)),
        "[a-z:/@.]{0,12}".prop_map(Value::from),
    ]
}

fn container() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        Just(json!("web")),
        Just(json!("side")),
        Just(json!("init")),
        Just(json!(3))
    ];
    let policy = prop_oneof![
        Just(None),
        Just(Some(json!("Always"))),
        Just(Some(json!("IfNotPresent"))),
        Just(Some(json!("Never")))
    ];
    (name, image(), policy).prop_map(|(name, image, policy)| {
        let mut c = json!({"name": name, "image": image});
        if let Some(policy) = policy {
            c["imagePullPolicy"] = policy;
        }
        c
    })
}

fn annotations() -> impl Strategy<Value = Value> {
    let triggers = prop_oneof![
        Just(None),
        Just(Some(
            r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image","paused":true}]"#
        )),
        Just(Some(
            r#"[{"from":{"kind":"ImageStreamTag","name":"app:1"},"fieldPath":"spec.template.spec.containers[0].image"}]"#
        )),
        Just(Some("not json")),
        Just(Some(r#"[{"paused":"false"}]"#)),
    ];
    let skip = prop_oneof![Just(None), Just(Some("true")), Just(Some("false"))];
    let skip_containers = prop_oneof![Just(None), Just(Some("side")), Just(Some("web,init"))];
    let explicit = prop_oneof![
        Just(None),
        Just(Some("web=app:1")),
        Just(Some("init=other/tools:2,x")),
        Just(Some("=="))
    ];
    // The record of the triggers autoredeploy wrote: its own, paused, or not readable.
    let record = prop_oneof![
        Just(None),
        Just(Some("web=app:1")),
        Just(Some("web=app:1 paused,init=tools:2")),
        Just(Some("web=app:latest paused")),
        Just(Some("web, =x"))
    ];
    (triggers, skip, skip_containers, explicit, record).prop_map(|(t, s, sc, e, r)| {
        let mut map = serde_json::Map::new();
        for (key, value) in [
            ("image.openshift.io/triggers", t),
            ("autoredeploy.io/skip", s),
            ("autoredeploy.io/skip-containers", sc),
            ("autoredeploy.io/image-stream-tags", e),
            ("autoredeploy.io/managed-triggers", r),
        ] {
            if let Some(value) = value {
                map.insert(key.into(), value.into());
            }
        }
        Value::Object(map)
    })
}

fn dc_triggers() -> impl Strategy<Value = Option<Value>> {
    let trigger = (
        prop_oneof![
            Just(json!("app:1")),
            Just(json!("tools:2")),
            Just(json!("bad"))
        ],
        prop::option::of(any::<bool>()),
        prop::collection::vec(
            prop_oneof![Just(json!("web")), Just(json!("init")), Just(json!(1))],
            0..3,
        ),
    )
        .prop_map(|(name, automatic, names)| {
            let mut params =
                json!({"containerNames": names, "from": {"kind": "ImageStreamTag", "name": name}});
            if let Some(automatic) = automatic {
                params["automatic"] = json!(automatic);
                params["lastTriggeredImage"] = json!(format!("org/app@{DIGEST}"));
            }
            json!({"type": "ImageChange", "imageChangeParams": params})
        });
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!([]))),
        Just(Some(json!("junk"))),
        prop::collection::vec(
            prop_oneof![Just(json!({"type": "ConfigChange"})), trigger],
            1..3
        )
        .prop_map(|t| Some(Value::Array(t))),
    ]
}

fn workload() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just(("apps.openshift.io/v1", "DeploymentConfig")),
        Just(("v1", "DeploymentConfig")),
        Just(("apps/v1", "Deployment")),
        Just(("apps/v1", "StatefulSet")),
        Just(("apps/v1", "DaemonSet")),
        Just(("batch/v1", "CronJob")),
        Just(("batch/v1", "Job"))
    ];
    let containers = prop::collection::vec(container(), 0..3);
    let init = prop::option::of(prop::collection::vec(container(), 0..2));
    (kind, containers, init, annotations(), dc_triggers(), any::<bool>()).prop_map(
        |((api, kind), containers, init, annotations, triggers, namespaced)| {
            let mut pod = json!({"containers": containers});
            if let Some(init) = init {
                pod["initContainers"] = Value::Array(init);
            }
            let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": pod});
            let spec = if kind == "CronJob" { json!({"jobTemplate": {"spec": {"template": template}}}) } else { json!({"template": template, "extra": [1, {"a": null}]}) };
            let mut object = json!({"apiVersion": api, "kind": kind, "metadata": {"name": "w", "annotations": annotations}, "spec": spec});
            if namespaced {
                object["metadata"]["namespace"] = json!("shop");
            }
            if let (Some(triggers), "DeploymentConfig") = (triggers, kind) {
                object["spec"]["triggers"] = triggers;
            }
            object
        },
    )
}

fn image_stream() -> impl Strategy<Value = Value> {
    let from_kind = prop_oneof![
        Just(json!("DockerImage")),
        Just(json!("ImageStreamTag")),
        Just(json!("ImageStreamImage")),
        Just(json!(1))
    ];
    let policy = prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!({"importMode": "Legacy"}))),
        Just(Some(json!({"scheduled": true}))),
        Just(Some(json!({"scheduled": false, "insecure": true}))),
        Just(Some(json!("x")))
    ];
    let tag = (
        "[a-z0-9]{1,3}",
        from_kind,
        image(),
        prop::option::of(any::<bool>()),
        policy,
        any::<bool>(),
    )
        .prop_map(|(name, kind, from, reference, policy, skip)| {
            let mut tag =
                json!({"name": name, "from": {"kind": kind, "name": from}, "annotations": null});
            if let Some(reference) = reference {
                tag["reference"] = json!(reference);
            }
            if let Some(policy) = policy {
                tag["importPolicy"] = policy;
            }
            if skip {
                tag["annotations"] = json!({"autoredeploy.io/skip": "true"});
            }
            tag
        });
    let kind = prop_oneof![
        Just("ImageStream"),
        Just("ImageStreamTag"),
        Just("ImageStreamImport"),
        Just("ImageTag")
    ];
    (kind, prop::collection::vec(tag, 0..5), prop::option::of(Just(json!("docker.io/org/app")))).prop_map(|(kind, tags, repo)| {
        match kind {
            "ImageStream" => {
                let mut spec = json!({"tags": tags});
                if let Some(repo) = repo { spec["dockerImageRepository"] = repo; }
                json!({"apiVersion": "image.openshift.io/v1", "kind": kind, "metadata": {"name": "s"}, "spec": spec})
            }
            "ImageStreamTag" => json!({"apiVersion": "image.openshift.io/v1", "kind": kind, "metadata": {"name": "s:t"}, "tag": tags.first()}),
            "ImageTag" => json!({"apiVersion": "image.openshift.io/v1", "kind": kind, "metadata": {"name": "s:t"}, "spec": tags.first()}),
            _ => json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "s"}, "spec": {"images": tags, "repository": tags.last()}}),
        }
    })
}

fn junk() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z:/ ]{0,6}".prop_map(Value::from)
    ];
    let tree = leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("spec".to_string()),
                    Just("tags".to_string()),
                    Just("template".to_string()),
                    Just("containers".to_string()),
                    Just("triggers".to_string()),
                    Just("metadata".to_string()),
                    Just("annotations".to_string()),
                    Just("from".to_string()),
                    Just("importPolicy".to_string()),
                    "[a-z]{1,4}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let kind = prop_oneof![
        Just(("image.openshift.io/v1", "ImageStream")),
        Just(("apps.openshift.io/v1", "DeploymentConfig")),
        Just(("apps/v1", "Deployment")),
        Just(("batch/v1", "CronJob")),
        Just(("v1", "ImageStreamImport")),
        Just(("image.openshift.io/v1", "ImageTag"))
    ];
    (kind, tree.clone(), tree.clone(), tree).prop_map(|((api, kind), spec, metadata, status)| {
        json!({"apiVersion": api, "kind": kind, "spec": spec, "metadata": metadata, "status": status, "tag": status})
    })
}

fn catalog() -> CatalogIndex {
    let resolved = format!("org/app@{DIGEST}");
    let streams = [
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "metadata": {"name": "app", "namespace": "shop"},
        "spec": {"tags": [{"name": "1", "from": {"kind": "DockerImage", "name": "org/app:1"}},
                          {"name": "latest", "from": {"kind": "DockerImage", "name": "org/app"}}]},
        "status": {"tags": [{"tag": "1", "items": [{"dockerImageReference": resolved, "image": DIGEST}]}]}}),
    ];
    CatalogIndex::from_objects(&streams, "shop")
}

fn check(object: &Value, old: Option<&Value>) -> Result<(), TestCaseError> {
    let operation = if old.is_some() {
        Operation::Update
    } else {
        Operation::Create
    };
    let request = Request {
        old_object: old,
        operation,
        namespace: Some("shop"),
        username: Some("alice"),
    };
    invariant_violation(object, &request, &catalog(), &RuleConfig::default())
        .map(drop)
        .map_err(TestCaseError::fail)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn workloads_hold_the_invariants(object in workload()) {
        check(&object, None)?;
    }

    #[test]
    fn workload_updates_hold_the_invariants(object in workload(), old in workload()) {
        check(&object, Some(&old))?;
    }

    #[test]
    fn image_streams_hold_the_invariants(object in image_stream()) {
        check(&object, None)?;
    }

    #[test]
    fn junk_never_panics_and_holds_the_invariants(object in junk(), old in junk()) {
        check(&object, None)?;
        check(&object, Some(&old))?;
    }
}

/// How an object is marked: an owner reference (none, not the controller, the controller),
/// the `autoredeploy.io/skip` label, and the `autoredeploy.io/manage-owned` annotation.
#[derive(Debug, Clone)]
struct Marks {
    owner: Option<bool>,
    skip_label: Option<&'static str>,
    manage_owned: Option<&'static str>,
}

fn marks() -> impl Strategy<Value = Marks> {
    let owner = prop_oneof![Just(None), Just(Some(false)), Just(Some(true))];
    let label = prop_oneof![
        Just(None),
        Just(Some("true")),
        Just(Some("True")),
        Just(Some("false"))
    ];
    let opt_in = prop_oneof![Just(None), Just(Some("true")), Just(Some("no"))];
    (owner, label, opt_in).prop_map(|(owner, skip_label, manage_owned)| Marks {
        owner,
        skip_label,
        manage_owned,
    })
}

/// `object` with `marks` written into its metadata, and whether the engine must leave it
/// alone: written here from the rules (docs/rules.md, "Opting in and out"), not from the code.
fn marked(mut object: Value, marks: &Marks) -> (Value, bool) {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return (object, false);
    };
    if let Some(controller) = marks.owner {
        metadata.insert(
            "ownerReferences".into(),
            json!([{"apiVersion": "example.com/v1",
            "kind": "Shop", "name": "main", "uid": "u-1", "controller": controller}]),
        );
    }
    if let Some(value) = marks.skip_label {
        metadata.insert(
            "labels".into(),
            json!({"app": "w", "autoredeploy.io/skip": value}),
        );
    }
    if !metadata.get("annotations").is_some_and(Value::is_object) {
        metadata.insert("annotations".into(), json!({}));
    }
    let annotations = metadata["annotations"].as_object_mut().expect("a map");
    if let Some(value) = marks.manage_owned {
        annotations.insert("autoredeploy.io/manage-owned".into(), json!(value));
    }
    let skip_annotation = annotations.get("autoredeploy.io/skip") == Some(&json!("true"));
    let skip_label = marks
        .skip_label
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let owned = marks.owner == Some(true) && marks.manage_owned != Some("true");
    (object, skip_annotation || skip_label || owned)
}

/// The patch the admission adapter answers for `object` in the recorded envelope, as CREATE
/// or as an UPDATE of itself.
fn reviewed_patch(object: &Value, update: bool) -> Option<String> {
    let mut review = fixture("deployment-create.json");
    review["request"]["namespace"] = json!("shop");
    review["request"]["object"] = object.clone();
    if update {
        review["request"]["operation"] = json!("UPDATE");
        review["request"]["oldObject"] = object.clone();
    }
    let config = RuleConfig::default();
    let catalog = catalog();
    let ctx = Context {
        mode: Mode::Enforce,
        catalog: &catalog,
        config: &config,
    };
    let body = serde_json::to_vec(&review).expect("JSON");
    let (response, _) = admission::review(&body, &ctx).expect("a valid review");
    let response = serde_json::to_value(response).expect("JSON");
    response["response"]["patch"].as_str().map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// No object that opted out by annotation or label, and no object a controller owns
    /// (without opting in), is ever patched: not by the engine, not through the admission
    /// adapter (whose decoder must keep `labels` and `ownerReferences`), on CREATE or UPDATE.
    #[test]
    fn opted_out_and_owned_objects_are_never_patched(
        object in prop_oneof![workload(), image_stream()],
        marks in marks(),
    ) {
        let (object, left_alone) = marked(object, &marks);
        prop_assume!(left_alone);
        for old in [None, Some(&object)] {
            let request = Request {
                old_object: old,
                operation: if old.is_some() { Operation::Update } else { Operation::Create },
                namespace: Some("shop"),
                username: Some("alice"),
            };
            let outcome = mutate(&object, &request, &catalog(), &RuleConfig::default());
            prop_assert!(outcome.patch.0.is_empty(), "{:?}", outcome.patch);
            prop_assert!(outcome.changes.is_empty(), "{:?}", outcome.changes);
            // Kinds the engine has no rules for (a Job) get no finding at all.
            let handled = autoredeploy::engine::kind::Kind::of(&object).is_some();
            prop_assert!(
                !handled || outcome.findings.iter().any(|f| matches!(f.code, Code::OptedOut | Code::Owned)),
                "the reason is reported: {:?}", outcome.findings
            );
            prop_assert_eq!(reviewed_patch(&object, old.is_some()), None);
        }
    }
}

/// Streams with names, tags, sources and policies drawn from one small vocabulary, so that
/// generated images often almost match them.
fn bind_catalog() -> impl Strategy<Value = Vec<Value>> {
    let source = prop_oneof![
        Just(Some("docker.io/library/nginx:1.25")),
        Just(Some("nginx:latest")),
        Just(Some("quay.io/acme/nginx:1.25")),
        Just(Some("org/app:1")),
        Just(None)
    ];
    let tag = (
        prop_oneof![Just("latest"), Just("1"), Just("1.25"), Just("stable")],
        source,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(name, source, local, reference)| {
            let mut tag = json!({"name": name});
            if let Some(source) = source {
                tag["from"] = json!({"kind": "DockerImage", "name": source});
            }
            tag["referencePolicy"] = json!({"type": if local { "Local" } else { "Source" }});
            if reference {
                tag["reference"] = json!(true);
            }
            tag
        });
    let stream = (
        prop_oneof![Just("app"), Just("nginx"), Just("tools")],
        prop_oneof![Just("shop"), Just("other")],
        prop::collection::vec(tag, 0..3),
        any::<bool>(),
        prop::option::of(prop_oneof![Just("latest"), Just("1.25"), Just("pushed")]),
    )
        .prop_map(|(name, namespace, tags, local, pushed)| {
            let mut status =
                json!({"dockerImageRepository": format!("{INTERNAL}/{namespace}/{name}")});
            if let Some(tag) = pushed {
                status["tags"] = json!([{"tag": tag, "items": [{"image": DIGEST,
                    "dockerImageReference": format!("{INTERNAL}/{namespace}/{name}@{DIGEST}")}]}]);
            }
            json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"lookupPolicy": {"local": local}, "tags": tags}, "status": status})
        });
    prop::collection::vec(stream, 0..4)
}

fn bind_image() -> impl Strategy<Value = String> {
    let short = (
        prop_oneof![Just("app"), Just("nginx"), Just("tools"), Just("MyApp")],
        prop::option::of(prop_oneof![
            Just("latest"),
            Just("1"),
            Just("1.25"),
            Just("1.27"),
            Just("stable"),
            Just("pushed")
        ]),
    )
        .prop_map(|(stream, tag)| match tag {
            Some(tag) => format!("{stream}:{tag}"),
            None => stream.to_string(),
        });
    let internal = (
        prop_oneof![Just("shop"), Just("other"), Just("team-a")],
        prop_oneof![Just("app"), Just("nginx"), Just("app."), Just("x--y")],
        prop_oneof![Just("latest"), Just("1.25"), Just("pushed"), Just(".bad")],
    )
        .prop_map(|(ns, stream, tag)| format!("{INTERNAL}/{ns}/{stream}:{tag}"));
    prop_oneof![
        short,
        internal,
        Just("docker.io/library/nginx:1.25".to_string()),
        Just("quay.io/acme/nginx:1.25".to_string()),
        Just("org/app:1".to_string()),
    ]
}

/// `namespace/stream:tag` of every ImageStreamTag a DeploymentConfig trigger or a triggers
/// annotation entry of `object` names.
fn trigger_tags(object: &Value, namespace: &str) -> Vec<(String, String)> {
    let mut froms: Vec<Value> = object
        .pointer("/spec/triggers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.pointer("/imageChangeParams/from").cloned())
        .collect();
    if let Some(text) = object
        .pointer("/metadata/annotations/image.openshift.io~1triggers")
        .and_then(Value::as_str)
        && let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(text)
    {
        froms.extend(entries.iter().filter_map(|e| e.get("from").cloned()));
    }
    froms
        .iter()
        .map(|from| {
            let ns = from["namespace"].as_str().unwrap_or(namespace).to_string();
            (ns, from["name"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The binding contract (docs/rules.md): a trigger the engine writes names a tag the catalog
    /// has (never a missing one, which would freeze a DeploymentConfig), and names OpenShift's
    /// validation accepts (never one that fails the user's request).
    #[test]
    fn written_triggers_name_known_tags_with_valid_names(
        streams in bind_catalog(),
        images in prop::collection::vec(bind_image(), 1..3),
        kind in prop_oneof![Just(("apps.openshift.io/v1", "DeploymentConfig")), Just(("apps/v1", "Deployment"))],
    ) {
        use autoredeploy::catalog::Catalog;
        use autoredeploy::engine::names;
        let catalog = CatalogIndex::from_objects(&streams, "");
        let containers: Vec<Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
            .collect();
        let object = json!({"apiVersion": kind.0, "kind": kind.1,
            "metadata": {"name": "w", "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": containers}}}});
        let outcome = mutate(&object, &Request::default(), &catalog, &RuleConfig::default());
        for (namespace, stream_tag) in trigger_tags(&outcome.object, "shop") {
            let (stream, tag) = stream_tag.split_once(':').expect("stream:tag");
            prop_assert!(
                catalog.tag_state(&namespace, stream, tag).is_some(),
                "{}/{} is not in the catalog", namespace, stream_tag
            );
            let tag_ref = autoredeploy::catalog::TagRef {
                namespace,
                stream: stream.to_string(),
                tag: tag.to_string(),
            };
            prop_assert!(names::validate(&tag_ref).is_ok(), "{:?}", tag_ref);
        }
    }
}
