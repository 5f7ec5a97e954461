//! What `scan` reports is what the webhook does on the next apply. Generated cluster states
//! (Deployments, DeploymentConfigs and CronJobs with up to a dozen containers, some stored as
//! the webhook already left them; short names, external and internal-registry images,
//! digests, broken trigger annotations and DeploymentConfig triggers, opted-out containers;
//! repository filters, a polled registry) are scanned through the fake API server. Every
//! object is then sent to the admission adapter as the re-apply `scan` models (an UPDATE whose
//! old object is the stored one), streams first, each stream's patch in the catalog before the
//! next object, as a re-apply of everything in list order would leave it. Patch, change codes
//! and finding codes must be the same, object by object; each finding at a container's field
//! names that container; `scan KIND/NAME` explains each container as following the tag the
//! webhook's patch leaves its trigger on (as OpenShift's trigger controller reads it), or
//! none; and `auto-redeploys` holds on the cluster the webhook leaves.

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{Value, json};

use autoredeploy::admission::{self, Context};
use autoredeploy::catalog::CatalogIndex;
use autoredeploy::cli::{Cli, Command};
use autoredeploy::config::{Mode, RuleConfig};
use autoredeploy::engine::kind::Kind;
use autoredeploy::engine::view;
use autoredeploy::engine::{self, Request};
use autoredeploy::testing::fake_api::FakeApi;
use clap::Parser;

use super::scan_objects::{DIGEST_APP, DIGEST_NGINX, scan, stream};

const INTERNAL: &str = "image-registry.openshift-image-registry.svc:5000";

/// Images a container may run: each way of binding, and each way of not binding.
fn image() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("app:1".to_string()),
        Just("quay.io/org/app:1".to_string()),
        Just("nginx:1.25".to_string()),
        Just("docker.io/library/nginx:1.25".to_string()),
        Just(format!("quay.io/org/app@{DIGEST_APP}")),
        Just(format!("{INTERNAL}/shop/app:1")),
        Just(format!("{INTERNAL}/shop/mirror:1")),
        Just(format!("{INTERNAL}/shop/app@{DIGEST_APP}")),
        Just("quay.io/org/tools:1".to_string()),
        Just("tools:1".to_string()),
        Just("quay.io/other/untracked:2".to_string()),
        Just(String::new()),
    ]
}

/// The triggers annotation: none, a working entry, or one OpenShift's controller fails.
fn annotations(containers: usize) -> impl Strategy<Value = Value> {
    // One entry for container `name`, its selector quoted with `quote`, and `paused`.
    let entry = |name: &str, quote: char, paused: Value| {
        let selector = format!("@.name=={quote}{name}{quote}");
        let mut entry = json!({"from": {"kind": "ImageStreamTag", "name": "app:1"},
            "fieldPath": format!("spec.template.spec.containers[?({selector})].image")});
        if !paused.is_null() {
            entry["paused"] = paused;
        }
        json!({"image.openshift.io/triggers": json!([entry]).to_string()})
    };
    let last = format!("c{}", containers - 1);
    prop_oneof![
        3 => Just(json!({})),
        2 => Just(entry("c0", '"', Value::Null)),
        2 => Just(entry(&last, '"', json!(false))),
        1 => Just(entry("c0", '"', json!(true))),
        1 => Just(entry("c0", '\'', Value::Null)),
        1 => Just(entry("c0", '"', json!("true"))),
        1 => Just(entry("nobody", '"', Value::Null)),
        1 => Just(json!({"image.openshift.io/triggers": "not json"})),
        1 => Just(json!({"autoredeploy.io/skip-containers": last})),
        1 => Just(json!({"autoredeploy.io/image-stream-tags": "c0=app:1"})),
    ]
}

/// A Deployment; with `dc` a DeploymentConfig whose `spec.triggers` is `dc` (absent when
/// `null`), or a CronJob when `dc` is the string `"CronJob"`.
fn workload(name: String, images: Vec<String>, annotations: Value, dc: Option<Value>) -> Value {
    let containers: Vec<Value> = (images.into_iter().enumerate())
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image, "imagePullPolicy": "Always"}))
        .collect();
    let template =
        json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": containers}});
    let metadata = json!({"name": name, "namespace": "shop", "annotations": annotations});
    match dc {
        None => json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}}, "template": template}}),
        Some(Value::String(kind)) if kind == "CronJob" => {
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata,
                "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}})
        }
        Some(triggers) => {
            let mut dc = json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
                "metadata": metadata,
                "spec": {"replicas": 1, "selector": {"app": "x"}, "template": template}});
            if !triggers.is_null() {
                dc["spec"]["triggers"] = triggers;
            }
            dc
        }
    }
}

/// A DeploymentConfig's `spec.triggers`: absent (the server defaults a ConfigChange), a
/// ConfigChange alone, an automatic or a manual ImageChange trigger for `c0`, one naming no
/// container of the template, or `[]` (no automatic deployments).
fn dc_triggers() -> impl Strategy<Value = Value> {
    let image_change = |automatic: bool, container: &str| {
        json!({"type": "ImageChange", "imageChangeParams": {"automatic": automatic,
            "containerNames": [container], "from": {"kind": "ImageStreamTag", "name": "app:1"}}})
    };
    prop_oneof![
        Just(Value::Null),
        Just(json!([{"type": "ConfigChange"}])),
        Just(json!([{"type": "ConfigChange"}, image_change(true, "c0")])),
        Just(json!([image_change(false, "c0")])),
        Just(json!([{"type": "ConfigChange"}, image_change(true, "nobody")])),
        Just(json!([])),
    ]
}

/// The kinds a generated workload is: its engine kind, its API group and resource, and the
/// name `scan KIND/NAME` takes.
fn kind_of(object: &Value) -> (Kind, &'static str, &'static str, &'static str) {
    match object["kind"].as_str() {
        Some("CronJob") => (Kind::CronJob, "batch", "cronjobs", "cronjob"),
        Some("DeploymentConfig") => (
            Kind::DeploymentConfig,
            "apps.openshift.io",
            "deploymentconfigs",
            "dc",
        ),
        _ => (Kind::Deployment, "apps", "deployments", "deployment"),
    }
}

/// Images every one of which some tag imports or resolves: a workload of only these can
/// redeploy by itself.
fn tracked_image() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("app:1".to_string()),
        Just("quay.io/org/app:1".to_string()),
        Just("docker.io/library/nginx:1.25".to_string()),
        Just("quay.io/org/tools:1".to_string()),
        Just(format!("{INTERNAL}/shop/app:1")),
    ]
}

fn workloads() -> impl Strategy<Value = Vec<Value>> {
    let any_image =
        (1usize..=12).prop_flat_map(|n| (prop::collection::vec(image(), n), annotations(n)));
    let tracked = (1usize..=3)
        .prop_flat_map(|n| (prop::collection::vec(tracked_image(), n), Just(json!({}))));
    let one = (
        prop_oneof![any_image, tracked],
        prop_oneof![
            2 => Just(None),
            1 => dc_triggers().prop_map(Some),
            1 => Just(Some(json!("CronJob"))),
        ],
    );
    prop::collection::vec(one, 1..=3).prop_map(|all| {
        (all.into_iter().enumerate())
            .map(|(i, ((images, annotations), dc))| {
                workload(format!("w{i}"), images, annotations, dc)
            })
            .collect()
    })
}

/// The streams: `app` resolves short names (`lookupPolicy.local`), `web` and `tools` are not
/// scheduled yet (the webhook schedules them, unless a repository filter leaves them out),
/// `mirror` imports from the cluster's own registry.
fn streams() -> Vec<Value> {
    let mut app = stream("shop", "app", "1", "quay.io/org/app:1", DIGEST_APP, true);
    app["spec"]["lookupPolicy"]["local"] = json!(true);
    let web = stream(
        "shop",
        "web",
        "1.25",
        "docker.io/library/nginx:1.25",
        DIGEST_NGINX,
        false,
    );
    let mirror = stream(
        "shop",
        "mirror",
        "1",
        &format!("{INTERNAL}/base/tools:1"),
        DIGEST_APP,
        false,
    );
    let tools = stream(
        "shop",
        "tools",
        "1",
        "quay.io/org/tools:1",
        DIGEST_NGINX,
        false,
    );
    vec![app, web, mirror, tools]
}

fn filters() -> impl Strategy<Value = Vec<&'static str>> {
    prop_oneof![
        Just(vec![]),
        Just(vec!["--exclude-repository", "quay.io/org/*"]),
        Just(vec!["--include-repository", "docker.io/*"]),
        Just(vec!["--polled-registry", "docker.io"]),
    ]
}

/// The rule configuration `flags` give `scan` (and so the webhook, which has the same flags).
fn rules(flags: &[&str]) -> RuleConfig {
    let argv = ["autoredeploy", "scan"]
        .into_iter()
        .chain(flags.iter().copied());
    let Command::Scan(args) = Cli::try_parse_from(argv).expect("valid flags").command else {
        panic!("not a scan command");
    };
    RuleConfig::try_from(&args.rules).expect("valid rules")
}

/// The re-apply of `stored` the webhook would be sent.
fn review(stored: &Value, group: &str, resource: &str) -> Vec<u8> {
    let kind = stored["kind"].clone();
    let version = "v1";
    serde_json::to_vec(
        &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "7f0d2c4e-0000-4000-8000-000000000001",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "namespace": "shop", "operation": "UPDATE", "name": stored["metadata"]["name"],
            "userInfo": {"username": "alice"}, "object": stored, "oldObject": stored,
            "dryRun": false}}),
    )
    .unwrap()
}

/// What the webhook answers: the patch, the change codes and the finding codes.
fn webhook(body: &[u8], catalog: &CatalogIndex, config: &RuleConfig) -> (Value, Value, Value) {
    let ctx = Context {
        mode: Mode::Enforce,
        catalog,
        config,
    };
    let (response, summary) = admission::review(body, &ctx).expect("a valid review");
    let patch = match &response.response.patch {
        Some(b64) => serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap(),
        None => json!([]),
    };
    let codes = |codes: &[autoredeploy::engine::Code]| {
        Value::Array(codes.iter().map(|c| json!(c.as_str())).collect())
    };
    (patch, codes(&summary.changes), codes(&summary.findings))
}

fn reported_codes(entry: &Value, list: &str) -> Value {
    let all = entry[list].as_array().cloned().unwrap_or_default();
    Value::Array(all.iter().map(|c| c["code"].clone()).collect())
}

/// Each container of `stored` in `scan deployment/NAME`'s explanation follows the tag the
/// trigger controller would read for it from `applied` (the webhook's patch applied), or none.
fn explains_what_the_webhook_leaves(
    applied: &Value,
    stored: &Value,
    explained: &str,
) -> Result<(), TestCaseError> {
    let after = view::triggers(kind_of(stored).0, applied, "shop").usable();
    let skipped = stored["metadata"]["annotations"]["autoredeploy.io/skip-containers"].as_str();
    for container in &containers(stored) {
        let name = container["name"].as_str().unwrap();
        let header = format!("\ncontainer \"{name}\"\n");
        let section = explained
            .split_once(&header)
            .map(|(_, rest)| rest.split("\n\n").next().unwrap_or(rest))
            .unwrap_or_else(|| panic!("no section for {name}: {explained}"));
        if skipped == Some(name) {
            prop_assert!(section.contains("opted out"), "{}", section);
            continue;
        }
        let tag_line = (section.lines())
            .find_map(|l| l.trim_start().strip_prefix("stream tag"))
            .map(str::trim_start)
            .unwrap_or_else(|| panic!("no stream tag line for {name}: {section}"));
        match after.get(name) {
            Some(trigger) => {
                let tag = format!("{}/{}", trigger.tag.namespace, trigger.tag.stream_tag());
                prop_assert!(
                    tag_line.starts_with(&tag),
                    "{}: {} (want {})",
                    name,
                    tag_line,
                    tag
                );
            }
            None => prop_assert!(tag_line.starts_with("none"), "{}: {}", name, tag_line),
        }
    }
    Ok(())
}

/// `auto-redeploys` holds on the cluster the webhook leaves: every container not opted out
/// is named by an automatic trigger, as the trigger controller reads `applied`, on a tag that
/// is re-imported (scheduled, or polled) once its stream is applied.
fn redeploys_by_itself(
    applied: &Value,
    stored: &Value,
    imported: &std::collections::BTreeMap<String, bool>,
) -> Result<(), TestCaseError> {
    let after = view::triggers(kind_of(stored).0, applied, "shop").usable();
    let skipped = stored["metadata"]["annotations"]["autoredeploy.io/skip-containers"].as_str();
    for container in &containers(stored) {
        let name = container["name"].as_str().unwrap();
        if skipped == Some(name) {
            continue;
        }
        let trigger = after.get(name);
        prop_assert!(
            trigger.is_some_and(|t| t.automatic),
            "{}: auto-redeploys without an automatic trigger: {}",
            name,
            applied
        );
        let stream = &trigger.unwrap().tag.stream;
        prop_assert!(
            imported.get(stream) == Some(&true),
            "{}: auto-redeploys, but {} is not re-imported",
            name,
            stream
        );
    }
    Ok(())
}

/// Where `object`'s pod spec is (`/spec/template/spec`, a CronJob's under its job template).
fn pod_spec(object: &Value) -> &'static str {
    kind_of(object)
        .0
        .pod_spec_pointer()
        .expect("a workload kind")
}

/// The containers of `object`'s pod spec.
fn containers(object: &Value) -> Vec<Value> {
    let pointer = format!("{}/containers", pod_spec(object));
    object
        .pointer(&pointer)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn scan_reports_what_the_webhook_does_on_the_next_apply(
        workloads in workloads(),
        flags in filters(),
        settled in (any::<bool>(), prop::collection::vec(any::<bool>(), 3)),
    ) {
        // Some objects are stored as the webhook already left them (applied once before),
        // so the next apply finds little or nothing to change.
        let config = rules(&flags);
        let (settle_streams, settle_workloads) = settled;
        let mut streams = streams();
        let mut before = CatalogIndex::from_objects(streams.iter(), "");
        if settle_streams {
            for stream in &mut streams {
                let request = Request::reapply(stream);
                *stream = engine::mutate(&*stream, &request, &before, &config).object;
                before.upsert(stream, "");
            }
        }
        let workloads: Vec<Value> = (workloads.into_iter().zip(settle_workloads))
            .map(|(workload, settle)| match settle {
                true => engine::mutate(&workload, &Request::default(), &before, &config).object,
                false => workload,
            })
            .collect();
        let cluster: Vec<Value> = streams.iter().chain(&workloads).cloned().collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (report, explained): (Value, Vec<String>) = runtime.block_on(async {
            let api = FakeApi::start(cluster.clone()).await;
            let dir = tempfile::tempdir().expect("temp dir");
            let kubeconfig = api.kubeconfig(dir.path());
            let mut args = vec!["-n", "shop", "--output", "json"];
            args.extend(flags.iter().copied());
            let run = scan(&kubeconfig, &args).await;
            let report = serde_json::from_str(&run.out)
                .unwrap_or_else(|e| panic!("{e}: {} {}", run.out, run.err));
            let mut explained = Vec::new();
            for workload in &workloads {
                let short = kind_of(workload).3;
                let target = format!("{short}/{}", workload["metadata"]["name"].as_str().unwrap());
                let mut args = vec![target.as_str(), "-n", "shop"];
                args.extend(flags.iter().copied());
                explained.push(scan(&kubeconfig, &args).await.out);
            }
            (report, explained)
        });
        let objects = report["objects"].as_array().expect("objects");
        let mut catalog = CatalogIndex::from_objects(streams.iter(), "");
        let judged = streams
            .iter()
            .map(|s| (s, "image.openshift.io", "imagestreams"))
            .chain(workloads.iter().map(|w| (w, kind_of(w).1, kind_of(w).2)));
        // Stream name -> whether its tag is re-imported (scheduled or polled) after its next apply.
        let mut imported = std::collections::BTreeMap::new();
        for (stored, group, resource) in judged {
            let name = stored["metadata"]["name"].as_str().unwrap();
            let kind = stored["kind"].as_str().unwrap();
            let entry = objects
                .iter()
                .find(|o| o["kind"] == kind && o["name"] == name)
                .unwrap_or_else(|| panic!("{kind} {name} not reported: {report}"));
            let (patch, changes, findings) = webhook(&review(stored, group, resource), &catalog, &config);
            prop_assert_eq!(&entry["patch"], &patch, "{} {}: patch", kind, name);
            prop_assert_eq!(reported_codes(entry, "changes"), changes, "{} {}: changes", kind, name);
            prop_assert_eq!(&reported_codes(entry, "findings"), &findings, "{} {}: findings", kind, name);
            for finding in entry["findings"].as_array().unwrap() {
                let path = finding["path"].as_str().unwrap();
                let list = format!("{}/containers/", pod_spec(stored));
                if let Some(rest) = path.strip_prefix(&list) {
                    let index = rest.split('/').next().unwrap();
                    prop_assert_eq!(
                        &finding["container"],
                        &json!(format!("{list}{index}")),
                        "{}", finding
                    );
                }
            }
            // The next object sees this one as the webhook left it.
            let mut applied = stored.clone();
            let patch: json_patch::Patch = serde_json::from_value(patch).unwrap();
            json_patch::patch(&mut applied, &patch).unwrap();
            catalog.upsert(&applied, "");
            if kind == "ImageStream" {
                // Each stream here has one tag: its re-imports after the next apply.
                let scheduled = applied["spec"]["tags"][0]["importPolicy"]["scheduled"] == true;
                let polled = findings.as_array().unwrap().contains(&json!("polled"));
                imported.insert(name.to_string(), scheduled || polled);
            }
            if kind != "ImageStream" {
                let i: usize = name[1..].parse().unwrap();
                explains_what_the_webhook_leaves(&applied, stored, &explained[i])?;
                if entry["status"] == "auto-redeploys" {
                    redeploys_by_itself(&applied, stored, &imported)?;
                }
            }
        }
    }
}
