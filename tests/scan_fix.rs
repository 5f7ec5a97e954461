//! `autoredeploy scan --fix` against a fake API server on loopback: every patch is a JSON
//! Patch that first tests the resourceVersion it was computed from, sent as field manager
//! `autoredeploy`; a concurrent write is re-read and kept, an object changed on every try is
//! skipped (exit 2), `--dry-run` stores nothing, a second scan after a fix exits 0, and
//! streams patched earlier count against the registry budget of later ones.

use crate::scan_objects as objects;

use autoredeploy::testing::fake_api::FakeApi;
use objects::{cluster_objects, scan};
use serde_json::{Value, json};

const TRIGGERS: &str = "image.openshift.io/triggers";

async fn start() -> (FakeApi, tempfile::TempDir, std::path::PathBuf) {
    let cluster = FakeApi::start(cluster_objects()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = cluster.kubeconfig(dir.path());
    (cluster, dir, kubeconfig)
}

fn triggers_of(object: &Value) -> Option<&str> {
    object["metadata"]["annotations"][TRIGGERS].as_str()
}

#[tokio::test]
async fn fix_patches_behind_a_resource_version_test_and_a_second_scan_exits_0() {
    let (cluster, _dir, kubeconfig) = start().await;
    let stored_version =
        cluster.object("Deployment", "shop", "web")["metadata"]["resourceVersion"].clone();
    let run = scan(&kubeconfig, &["-A", "--fix"]).await;
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
    insta::assert_snapshot!("fix_table", run.out);
    let patches = cluster.patches();
    let names: Vec<&str> = patches.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["nginx", "cart", "web"], "streams go first");
    for patch in &patches {
        assert!(
            patch.query.contains("fieldManager=autoredeploy"),
            "{patch:?}"
        );
        assert!(!patch.query.contains("dryRun"), "{patch:?}");
        assert_eq!(patch.body[0]["op"], "test");
        assert_eq!(patch.body[0]["path"], "/metadata/resourceVersion");
    }
    assert_eq!(patches[2].body[0]["value"], stored_version);
    let cart = cluster.object("DeploymentConfig", "shop", "cart");
    assert_eq!(
        cart["spec"]["triggers"][1]["imageChangeParams"]["from"]["name"],
        "base:latest"
    );
    let stream = cluster.object("ImageStream", "shop", "nginx");
    assert_eq!(stream["spec"]["tags"][0]["importPolicy"]["scheduled"], true);
    assert!(
        triggers_of(&cluster.object("Deployment", "shop", "web"))
            .is_some_and(|t| t.contains("nginx:1.25"))
    );
    let again = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(again.code, 0, "{}", again.out);
    let web = again
        .out
        .lines()
        .find(|l| l.contains(" web "))
        .expect("web");
    assert!(web.contains("auto-redeploys"), "{web}");
}

#[tokio::test]
async fn a_concurrent_write_is_read_again_and_kept() {
    let (cluster, _dir, kubeconfig) = start().await;
    cluster.interfere("web", 1);
    let run = scan(&kubeconfig, &["-A", "--fix", "--output", "json"]).await;
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
    let report: Value = serde_json::from_str(&run.out).expect("JSON");
    let web = report["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "web")
        .expect("web fix");
    assert_eq!(
        (&web["result"], &web["attempts"]),
        (&json!("patched"), &json!(2))
    );
    let stored = cluster.object("Deployment", "shop", "web");
    assert_eq!(
        stored["metadata"]["labels"]["touched-by"], "someone-else",
        "the other write survives"
    );
    assert!(
        triggers_of(&stored).is_some(),
        "and the trigger was added on top of it"
    );
    let web_patches: Vec<_> = cluster
        .patches()
        .into_iter()
        .filter(|p| p.name == "web")
        .collect();
    assert_eq!(web_patches.len(), 2);
    assert_ne!(
        web_patches[0].body[0]["value"], web_patches[1].body[0]["value"],
        "the retry tests the new version"
    );
}

#[tokio::test]
async fn an_object_changed_on_every_try_is_skipped_not_overwritten() {
    let (cluster, _dir, kubeconfig) = start().await;
    cluster.interfere("web", 100);
    let run = scan(&kubeconfig, &["-A", "--fix"]).await;
    assert_eq!(run.code, 2, "{}", run.out);
    let line = run
        .out
        .lines()
        .find(|l| l.contains("shop/web"))
        .expect("web line");
    assert_eq!(
        line,
        "skipped     Deployment shop/web: changed by someone else on each of 3 tries; scan it again"
    );
    let stored = cluster.object("Deployment", "shop", "web");
    assert_eq!(
        triggers_of(&stored),
        None,
        "nothing of ours was written over their change"
    );
    assert_eq!(stored["metadata"]["labels"]["touched-by"], "someone-else");
}

#[tokio::test]
async fn dry_run_sends_dry_run_all_and_stores_nothing() {
    let (cluster, _dir, kubeconfig) = start().await;
    let before = cluster.object("Deployment", "shop", "web");
    let run = scan(&kubeconfig, &["-A", "--fix", "--dry-run"]).await;
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
    assert!(
        run.out
            .contains("would patch Deployment shop/web (annotation-trigger, resolved-image)"),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("3 would be patched (dry run)"),
        "{}",
        run.out
    );
    assert!(
        cluster
            .patches()
            .iter()
            .all(|p| p.query.contains("dryRun=All"))
    );
    assert_eq!(cluster.object("Deployment", "shop", "web"), before);
    assert_eq!(
        scan(&kubeconfig, &["-A"]).await.code,
        1,
        "still something to change"
    );
}

#[tokio::test]
async fn a_forbidden_patch_fails_with_the_resource_named_and_exits_2() {
    let (cluster, _dir, kubeconfig) = start().await;
    cluster.forbid_patches("deployments");
    let run = scan(&kubeconfig, &["-A", "--fix"]).await;
    assert_eq!(run.code, 2, "{}", run.out);
    assert!(
        run.out
            .contains("patched     ImageStream shop/nginx (scheduled-import)"),
        "{}",
        run.out
    );
    let line = run
        .out
        .lines()
        .find(|l| l.contains("shop/web"))
        .expect("web line");
    assert!(
        line.starts_with(
            "failed      Deployment shop/web: patch deployments.apps shop/web: forbidden by RBAC: "
        ),
        "{line}"
    );
}

#[tokio::test]
async fn streams_scheduled_earlier_count_against_the_budget_of_later_ones() {
    // Docker Hub's default budget is 50 pulls per 6 h; each scheduled tag costs 24.
    let streams = ["a", "b", "c"].map(|name| {
        objects::stream(
            "hub",
            name,
            "1",
            &format!("docker.io/org/{name}:1"),
            objects::DIGEST_APP,
            false,
        )
    });
    let cluster = FakeApi::start(streams).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = cluster.kubeconfig(dir.path());
    let before = scan(&kubeconfig, &["-A"]).await;
    let status = |out: &str, name: &str| -> String {
        let line = out
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .expect("listed");
        line.split("  ")
            .filter(|c| !c.is_empty())
            .nth(3)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    assert_eq!(status(&before.out, "a"), "would change", "{}", before.out);
    assert_eq!(status(&before.out, "b"), "would change", "{}", before.out);
    assert_eq!(
        status(&before.out, "c"),
        "needs attention",
        "{}",
        before.out
    );
    assert!(before.out.contains("pull-budget: "), "{}", before.out);
    let fixed = scan(&kubeconfig, &["-A", "--fix"]).await;
    assert_eq!(fixed.code, 0, "{}", fixed.out);
    let names: Vec<String> = cluster.patches().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        ["a", "b"],
        "the third would take Docker Hub past 50 pulls per 6h"
    );
    let after = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(after.code, 0, "{}", after.out);
    assert!(
        after
            .out
            .contains("docker.io               2     48/6h          2            48/6h      50/6h"),
        "{}",
        after.out
    );
}

#[tokio::test]
async fn an_object_in_audit_mode_is_reported_never_patched_and_not_counted() {
    let nginx = "docker.io/library/nginx:1.25";
    let stream = objects::stream("shop", "nginx", "1.25", nginx, objects::DIGEST_NGINX, true);
    let audited = objects::workload(
        "apps/v1",
        "Deployment",
        "shop",
        "quiet",
        nginx,
        json!({"autoredeploy.io/mode": "audit"}),
    );
    let cluster = FakeApi::start([stream, audited]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = cluster.kubeconfig(dir.path());
    let run = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(run.code, 0, "only audited changes: {}", run.out);
    let line = run
        .out
        .lines()
        .find(|l| l.contains(" quiet "))
        .expect("listed");
    assert!(
        line.contains("would change    (audit) annotation-trigger"),
        "{line}"
    );
    let explained = scan(&kubeconfig, &["deploy/quiet", "-n", "shop"]).await;
    assert_eq!(explained.code, 0, "{}", explained.out);
    assert!(
        explained
            .out
            .starts_with("Deployment shop/quiet: would change ((audit) "),
        "{}",
        explained.out
    );
    let fixed = scan(&kubeconfig, &["-A", "--fix"]).await;
    assert_eq!(fixed.code, 0, "{}", fixed.out);
    assert!(
        cluster.patches().is_empty(),
        "the webhook would only report it"
    );
}
