//! What `scan` reports is what the engine (so the webhook) does: `scan` reads triggers,
//! bindings and importability through the engine, never with parsers of its own. Each test
//! runs the engine on the same stored objects beside the scan and holds the two to each
//! other: a broken triggers annotation, a binding the image string would mislead a guess
//! about, findings of container 10 next to container 1, filtered and own-registry tags.

use crate::scan_objects::{self as objects, DIGEST_APP, scan};

use autoredeploy::catalog::CatalogIndex;
use autoredeploy::config::RuleConfig;
use autoredeploy::engine::{self, BindingKind, Outcome, Request};
use autoredeploy::testing::fake_api::FakeApi;
use serde_json::{Value, json};

async fn start(cluster: &[Value]) -> (FakeApi, tempfile::TempDir, std::path::PathBuf) {
    let api = FakeApi::start(cluster.to_vec()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = api.kubeconfig(dir.path());
    (api, dir, kubeconfig)
}

/// The engine on a re-apply of `stored`, with the catalog of `cluster`'s streams.
fn engine_on(stored: &Value, cluster: &[Value], rules: &RuleConfig) -> Outcome {
    let mut catalog = CatalogIndex::new();
    for stream in cluster.iter().filter(|o| o["kind"] == "ImageStream") {
        catalog.upsert(stream, "");
    }
    engine::mutate(stored, &Request::reapply(stored), &catalog, rules)
}

/// The JSON report's entry for `kind` `name`.
fn reported<'r>(report: &'r Value, kind: &str, name: &str) -> &'r Value {
    (report["objects"].as_array().expect("objects").iter())
        .find(|o| o["kind"] == kind && o["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} not in {report}"))
}

fn deployment(name: &str, containers: Value, annotations: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
        "spec": {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}}})
}

fn app_stream() -> Value {
    objects::stream("shop", "app", "1", "quay.io/org/app:1", DIGEST_APP, true)
}

/// OpenShift's trigger controller fails a triggers annotation with a single-quoted selector
/// or a string `paused`: the stored trigger follows nothing. `scan` says so, and, where the
/// engine can repair the entry (`='main'` of old docs, a string `paused`), that the webhook
/// would; where it cannot (`=='main'`), that nothing is bound. Status and patch are the
/// engine's.
#[tokio::test]
async fn a_trigger_the_controller_cannot_use_is_explained_as_unusable() {
    let main = json!([{"name": "main", "image": "quay.io/org/app:1"}]);
    let entry = |field_path: &str, paused: &str| {
        format!(
            r#"[{{"from":{{"kind":"ImageStreamTag","name":"app:1"}},"fieldPath":"spec.template.spec.containers[?(@.name{field_path})].image"{paused}}}]"#
        )
    };
    let cases = [
        ("old-docs", entry("='main'", ""), "would-change"),
        (
            "paused",
            entry(r#"==\"main\""#, r#","paused":"true""#),
            "would-change",
        ),
        ("quoted", entry("=='main'", ""), "needs-attention"),
    ];
    let mut cluster = vec![app_stream()];
    for (name, triggers, _) in &cases {
        let annotations = json!({"image.openshift.io/triggers": triggers});
        cluster.push(deployment(name, main.clone(), annotations));
    }
    let (_api, _dir, kubeconfig) = start(&cluster).await;
    let run = scan(&kubeconfig, &["-n", "shop", "--output", "json"]).await;
    let report: Value = serde_json::from_str(&run.out).expect("JSON report");
    for (stored, (name, _, status)) in cluster[1..].iter().zip(&cases) {
        let outcome = engine_on(stored, &cluster, &RuleConfig::default());
        let entry = reported(&report, "Deployment", name);
        assert_eq!(entry["status"], *status, "{entry}");
        assert_eq!(
            entry["patch"],
            serde_json::to_value(&outcome.patch).unwrap()
        );
        let explained = scan(&kubeconfig, &[&format!("deployment/{name}"), "-n", "shop"]).await;
        let out = &explained.out;
        assert!(
            !out.contains("containers main"),
            "no trigger is explained as in use: {out}"
        );
        if *status == "would-change" {
            assert_eq!(explained.code, 1, "{}", explained.err);
            assert!(out.contains("trigger-repaired"), "{out}");
            assert!(
                out.contains("trigger      unusable as stored (OpenShift's trigger controller fails it); the webhook would repair image.openshift.io/triggers (paused: "),
                "{out}"
            );
        } else {
            assert!(out.contains("blocked-trigger"), "{out}");
            assert!(
                out.contains(
                    "stream tag   none: this object's image triggers cannot be used as they are"
                ),
                "{out}"
            );
        }
    }
}

/// Eleven containers: container 1's findings are its own, not container 10's too (a string
/// prefix of `/containers/1` matches `/containers/10`), and each container is said to be
/// bound the way the engine bound it: `nginx:1.25` is a short name, but with no stream
/// called `nginx` the engine binds it by its external reference.
#[tokio::test]
async fn eleven_containers_each_get_their_own_findings_and_the_engines_binding() {
    let mut containers: Vec<Value> = (0..11)
        .map(|i| json!({"name": format!("c{i}"), "image": "quay.io/org/app:1"}))
        .collect();
    containers[0]["image"] = json!("nginx:1.25");
    containers[1]["image"] = json!("quay.io/org/one:1");
    containers[10]["image"] = json!("quay.io/org/ten:1");
    let cluster = vec![
        app_stream(),
        objects::stream(
            "shop",
            "web",
            "1.25",
            "docker.io/library/nginx:1.25",
            DIGEST_APP,
            true,
        ),
        deployment("many", Value::Array(containers), json!({})),
    ];
    let outcome = engine_on(&cluster[2], &cluster, &RuleConfig::default());
    assert_eq!(outcome.bindings.len(), 11);
    assert_eq!(outcome.bindings[0].kind, BindingKind::ExternalReference);
    assert_eq!(outcome.bindings[1].kind, BindingKind::Untracked);
    assert_eq!(outcome.bindings[2].kind, BindingKind::ExternalReference);
    assert_eq!(outcome.bindings[10].kind, BindingKind::Untracked);
    let (_api, _dir, kubeconfig) = start(&cluster).await;
    let run = scan(&kubeconfig, &["deployment/many", "-n", "shop"]).await;
    assert_eq!(run.code, 1, "{}", run.err);
    let section = |name: &str| -> String {
        let start = run
            .out
            .find(&format!("\ncontainer \"{name}\"\n"))
            .expect(name);
        let rest = &run.out[start + 1..];
        let end = rest[1..].find("\n\n").map_or(rest.len(), |e| e + 1);
        rest[..end].to_string()
    };
    let c0 = section("c0");
    assert!(
        c0.contains("shop/web:1.25, bound by its external reference, which the tag imports"),
        "{c0}"
    );
    let c1 = section("c1");
    assert!(c1.contains("quay.io/org/one:1"), "{c1}");
    assert!(
        !c1.contains("quay.io/org/ten:1"),
        "container 10's finding: {c1}"
    );
    let c10 = section("c10");
    assert!(
        c10.contains("stream tag   none: no ImageStream tracks quay.io/org/ten:1"),
        "{c10}"
    );
    let table = scan(&kubeconfig, &["-n", "shop", "--output", "json"]).await;
    let report: Value = serde_json::from_str(&table.out).expect("JSON report");
    let entry = reported(&report, "Deployment", "many");
    assert_eq!(
        entry["patch"],
        serde_json::to_value(&outcome.patch).unwrap()
    );
}

/// Tags the webhook never schedules (left out by `--exclude-repository`, or imported from
/// the cluster's own registry) are not "not scheduled": the engine leaves them alone, and
/// scan agrees, saying why.
#[tokio::test]
async fn filtered_and_own_registry_tags_are_not_reported_not_scheduled() {
    let hub = objects::stream(
        "shop",
        "hub",
        "1",
        "docker.io/library/busybox:1",
        DIGEST_APP,
        false,
    );
    let own = objects::stream(
        "shop",
        "own",
        "1",
        "image-registry.openshift-image-registry.svc:5000/base/app:1",
        DIGEST_APP,
        false,
    );
    let cluster = vec![hub.clone(), own.clone()];
    let (_api, _dir, kubeconfig) = start(&cluster).await;
    let filtered = RuleConfig {
        repositories: autoredeploy::config::RepositoryFilter::new(&[], &["docker.io/*".into()])
            .unwrap(),
        ..RuleConfig::default()
    };
    assert!(engine_on(&hub, &cluster, &filtered).is_unchanged());
    assert!(!engine_on(&hub, &cluster, &RuleConfig::default()).is_unchanged());
    assert!(engine_on(&own, &cluster, &RuleConfig::default()).is_unchanged());

    let args = [
        "-n",
        "shop",
        "--exclude-repository",
        "docker.io/*",
        "--output",
        "json",
    ];
    let run = scan(&kubeconfig, &args).await;
    let report: Value = serde_json::from_str(&run.out).expect("JSON report");
    let entry = reported(&report, "ImageStream", "hub");
    assert_eq!(
        (&entry["status"], &entry["detail"]),
        (
            &json!("nothing-to-import"),
            &json!("no tag the webhook schedules: 1 left out by the repository filters")
        )
    );
    let entry = reported(&report, "ImageStream", "own");
    assert_eq!(entry["status"], "nothing-to-import", "{entry}");

    let explained = scan(
        &kubeconfig,
        &[
            "is/hub",
            "-n",
            "shop",
            "--exclude-repository",
            "docker.io/*",
        ],
    )
    .await;
    assert!(
        explained.out.contains("scheduled    no: docker.io/library/busybox is left out by --include-repository/--exclude-repository, so the webhook never schedules it"),
        "{}",
        explained.out
    );
    let explained = scan(&kubeconfig, &["is/own", "-n", "shop"]).await;
    assert!(
        explained.out.contains("scheduled    no: image-registry.openshift-image-registry.svc:5000/base/app:1 is in the cluster's own registry (image-registry.openshift-image-registry.svc:5000), which pushes and builds feed; the webhook does not schedule it"),
        "{}",
        explained.out
    );
}

/// A tag of a `--polled-registry` is left unscheduled on purpose: `autoredeploy poll` imports
/// it when its digest changes. A workload following it redeploys by itself, and scan says so;
/// without the flag, the same tag is one the webhook schedules on its next apply.
#[tokio::test]
async fn a_workload_following_a_polled_tag_redeploys_by_itself() {
    let mut hub = objects::stream(
        "shop",
        "hub",
        "1.25",
        "docker.io/library/nginx:1.25",
        DIGEST_APP,
        false,
    );
    hub["spec"]["tags"][0]["importPolicy"] = json!({});
    let entry = r#"[{"from":{"kind":"ImageStreamTag","name":"hub:1.25"},"fieldPath":"spec.template.spec.containers[?(@.name==\"main\")].image"}]"#;
    let web = deployment(
        "web",
        json!([{"name": "main", "image": format!("docker.io/library/nginx@{DIGEST_APP}"),
            "imagePullPolicy": "IfNotPresent"}]),
        json!({"image.openshift.io/triggers": entry}),
    );
    let (_api, _dir, kubeconfig) = start(&[hub, web]).await;
    let polled = scan(
        &kubeconfig,
        &["-n", "shop", "--polled-registry", "docker.io", "-o", "json"],
    )
    .await;
    let report: Value = serde_json::from_str(&polled.out).expect("JSON report");
    assert_eq!(
        reported(&report, "ImageStream", "hub")["status"],
        "auto-redeploys"
    );
    let entry = reported(&report, "Deployment", "web");
    assert_eq!(entry["status"], "auto-redeploys", "{entry}");
    let scheduled = scan(&kubeconfig, &["-n", "shop", "-o", "json"]).await;
    let report: Value = serde_json::from_str(&scheduled.out).expect("JSON report");
    assert_eq!(
        reported(&report, "ImageStream", "hub")["status"],
        "would-change"
    );
    let entry = reported(&report, "Deployment", "web");
    assert_eq!(entry["status"], "not-scheduled", "{entry}");
    assert!(
        (entry["detail"].as_str().unwrap())
            .contains("the webhook schedules it on its ImageStream's next apply"),
        "{entry}"
    );
    let args = [
        "deployment/web",
        "-n",
        "shop",
        "--polled-registry",
        "docker.io",
    ];
    let explained = scan(&kubeconfig, &args).await;
    assert!(
        (explained.out)
            .contains("scheduled    polled: autoredeploy poll imports it when its digest changes"),
        "{}",
        explained.out
    );
    let explained = scan(&kubeconfig, &args[..3]).await;
    assert!(
        (explained.out).contains("scheduled    not yet: the webhook schedules it"),
        "{}",
        explained.out
    );
}
