//! `autoredeploy scan` against a fake API server on loopback: the table and the JSON report
//! (snapshots), one object explained along its chain, paginated lists, and the errors a real
//! cluster gives (plain Kubernetes without OpenShift's APIs, RBAC, no server at all).

use crate::scan_objects as objects;

use autoredeploy::testing::fake_api::FakeApi;
use objects::{cluster_objects, scan, scan_on_terminal, workload};
use serde_json::{Value, json};

async fn start() -> (FakeApi, tempfile::TempDir, std::path::PathBuf) {
    let cluster = FakeApi::start(cluster_objects()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = cluster.kubeconfig(dir.path());
    (cluster, dir, kubeconfig)
}

#[tokio::test]
async fn table_shows_every_status_and_exits_1_when_something_would_change() {
    let (_cluster, _dir, kubeconfig) = start().await;
    let run = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(run.code, 1, "{}", run.err);
    assert_eq!(run.err, "");
    insta::assert_snapshot!("scan_table", run.out);
}

#[tokio::test]
async fn json_report_has_every_object_change_finding_and_patch() {
    let (_cluster, _dir, kubeconfig) = start().await;
    let run = scan(&kubeconfig, &["-A", "--output", "json"]).await;
    assert_eq!(run.code, 1, "{}", run.err);
    let report: Value = serde_json::from_str(&run.out).expect("JSON report");
    assert_eq!(report["schema"], "autoredeploy.io/scan/v1");
    insta::assert_json_snapshot!("scan_json", report);
}

#[tokio::test]
async fn namespace_defaults_to_the_kubeconfig_context() {
    let (_cluster, _dir, kubeconfig) = start().await;
    let run = scan(&kubeconfig, &["--output", "json"]).await;
    let report: Value = serde_json::from_str(&run.out).expect("JSON report");
    assert_eq!(report["namespace"], "shop");
    let namespaces: Vec<&Value> = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["namespace"])
        .collect();
    assert!(!namespaces.is_empty());
    assert!(namespaces.iter().all(|ns| *ns == "shop"), "{namespaces:?}");
}

#[tokio::test]
async fn a_namespace_scan_builds_its_catalog_from_every_namespace() {
    let (cluster, _dir, kubeconfig) = start().await;
    let run = scan(&kubeconfig, &["-n", "shop"]).await;
    assert_eq!((run.code, run.err.as_str()), (1, ""));
    let streams: Vec<_> = cluster
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("imagestreams"))
        .collect();
    assert_eq!(streams.len(), 1, "{streams:?}");
    assert_eq!(streams[0].path, "/apis/image.openshift.io/v1/imagestreams");
    let deployments: Vec<_> = cluster
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("deployments"))
        .collect();
    assert_eq!(
        deployments[0].path,
        "/apis/apps/v1/namespaces/shop/deployments"
    );
    assert!(
        !run.out.contains("other "),
        "only shop is reported: {}",
        run.out
    );
}

#[tokio::test]
async fn a_namespace_scan_falls_back_to_its_own_streams_when_cluster_wide_is_forbidden() {
    let (cluster, _dir, kubeconfig) = start().await;
    let whole = scan(&kubeconfig, &["-A"]).await;
    cluster.forbid_cluster_wide("imagestreams");
    let run = scan(&kubeconfig, &["-n", "shop"]).await;
    assert_eq!(run.code, 1, "{}", run.err);
    assert!(run.err.starts_with("autoredeploy: the catalog holds the ImageStreams of shop only: list imagestreams.image.openshift.io in all namespaces: forbidden by RBAC"), "{}", run.err);
    let shop_lines = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("shop "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        shop_lines(&run.out),
        shop_lines(&whole.out),
        "the same statuses as with the whole catalog"
    );
    let explained = scan(&kubeconfig, &["deploy/web", "-n", "shop"]).await;
    assert!(
        explained.out.contains("bound by its external reference"),
        "{}",
        explained.out
    );
}

#[tokio::test]
async fn explaining_a_deployment_walks_image_tag_schedule_import_trigger_and_pull_policy() {
    let (_cluster, _dir, kubeconfig) = start().await;
    let run = scan(&kubeconfig, &["deployment/web", "-n", "shop"]).await;
    assert_eq!(run.code, 1, "{}", run.err);
    insta::assert_snapshot!("explain_deployment", run.out);
}

#[tokio::test]
async fn explaining_shows_a_failing_import_and_a_stream() {
    let (_cluster, _dir, kubeconfig) = start().await;
    let api = scan(&kubeconfig, &["deploy/api", "-n", "shop"]).await;
    assert_eq!(api.code, 0, "{}", api.err);
    insta::assert_snapshot!("explain_failing_import", api.out);
    let manual = scan(&kubeconfig, &["dc/worker", "-n", "shop"]).await;
    assert_eq!(manual.code, 0, "{}", manual.err);
    insta::assert_snapshot!("explain_manual_trigger", manual.out);
    let stream = scan(&kubeconfig, &["is/nginx", "-n", "shop"]).await;
    assert_eq!(stream.code, 1, "{}", stream.err);
    insta::assert_snapshot!("explain_stream", stream.out);
}

#[tokio::test]
async fn explaining_a_missing_object_names_it() {
    let (_cluster, _dir, kubeconfig) = start().await;
    let run = scan(&kubeconfig, &["deployment/nope", "-n", "shop"]).await;
    assert_eq!(run.code, 2);
    assert_eq!(
        run.err,
        "autoredeploy: get deployments.apps shop/nope: not found\n"
    );
}

#[tokio::test]
async fn lists_are_paginated_and_2000_deployments_take_4_requests() {
    let cluster = FakeApi::start((0..2000).map(|i| {
        workload(
            "apps/v1",
            "Deployment",
            "bulk",
            &format!("app-{i:04}"),
            "quay.io/org/x:1",
            json!({}),
        )
    }))
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let run = scan(&cluster.kubeconfig(dir.path()), &["-A", "--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.err);
    let report: Value = serde_json::from_str(&run.out).expect("JSON report");
    assert_eq!(report["summary"]["objects"], 2000);
    // Four pages of Deployments, one list per other kind, namespaces and webhook configurations.
    assert_eq!(report["summary"]["list_requests"], 4 + 5 + 2);
    let lists: Vec<_> = cluster
        .seen()
        .into_iter()
        .filter(|s| s.path == "/apis/apps/v1/deployments")
        .collect();
    assert_eq!(lists.len(), 4, "{lists:?}");
    assert!(
        lists.iter().all(|s| s.method == "GET"),
        "a scan only reads: {lists:?}"
    );
    assert!(
        lists.iter().all(|s| s.query.contains("limit=500")),
        "{lists:?}"
    );
    assert!(lists[1].query.contains("continue=500"), "{lists:?}");
    assert_eq!(
        cluster.seen().len(),
        4 + 5 + 2,
        "one list per other kind, namespaces and webhook configurations"
    );
}

#[tokio::test]
async fn small_pages_still_see_every_object() {
    let (cluster, _dir, kubeconfig) = start().await;
    let paged = scan(&kubeconfig, &["-A", "--page-size", "1"]).await;
    let whole = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(paged.out, whole.out);
    let stream_lists = cluster
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/imagestreams"))
        .count();
    assert_eq!(
        stream_lists,
        3 + 1,
        "three one-item pages, then the whole list"
    );
}

#[tokio::test]
async fn a_server_repeating_its_continue_token_ends_that_list_with_an_error() {
    let (cluster, _dir, kubeconfig) = start().await;
    cluster.stick_pages("cronjobs");
    let run = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(run.code, 2);
    assert_eq!(
        run.err,
        "autoredeploy: list cronjobs.batch in all namespaces: the server repeated its continue token\n"
    );
    let cronjob_lists = cluster
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/cronjobs"))
        .count();
    assert_eq!(cronjob_lists, 2);
}

#[tokio::test]
async fn plain_kubernetes_skips_openshift_kinds_and_still_reports_deployments() {
    let (cluster, _dir, kubeconfig) = start().await;
    cluster.without_openshift();
    let run = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
    assert!(
        run.err
            .contains("skipped ImageStreams: imagestreams.image.openshift.io is not served"),
        "{}",
        run.err
    );
    assert!(run.err.contains("skipped DeploymentConfigs"), "{}", run.err);
    let web = run
        .out
        .lines()
        .find(|l| l.contains(" web "))
        .expect("web is listed");
    assert_eq!(
        web.split_whitespace().take(3).collect::<Vec<_>>(),
        ["shop", "Deployment", "web"]
    );
    assert!(web.contains("not tracked"), "{web}");
    let kinds: Vec<&str> = run
        .out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert!(
        !kinds.contains(&"ImageStream") && !kinds.contains(&"DeploymentConfig"),
        "{kinds:?}"
    );
    let api = run
        .out
        .lines()
        .find(|l| l.contains(" api "))
        .expect("api is listed");
    assert!(
        api.contains("needs attention") && api.contains("no ImageStream could be listed"),
        "{api}"
    );
}

#[tokio::test]
async fn forbidden_list_is_one_line_naming_the_resource_and_exits_2() {
    let (cluster, _dir, kubeconfig) = start().await;
    cluster.forbid("deployments");
    let run = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(run.code, 2);
    let lines: Vec<&str> = run.err.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.err);
    assert!(
        lines[0].starts_with(
            "autoredeploy: list deployments.apps in all namespaces: forbidden by RBAC: "
        ),
        "{}",
        lines[0]
    );
    assert!(
        run.out.contains("DeploymentConfig"),
        "other kinds are still reported: {}",
        run.out
    );
}

#[tokio::test]
async fn unreachable_cluster_is_one_line_and_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, format!("apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {{server: 'http://{addr}'}}\nusers:\n- name: me\n  user: {{token: t}}\ncontexts:\n- name: x\n  context: {{cluster: x, user: me}}\ncurrent-context: x\n")).expect("kubeconfig");
    let run = scan(&path, &["-A"]).await;
    assert_eq!(run.code, 2);
    assert_eq!(run.err.lines().count(), 1, "{}", run.err);
    assert!(
        run.err.contains(
            "list imagestreams.image.openshift.io in all namespaces: cannot reach the API server"
        ),
        "{}",
        run.err
    );
    assert_eq!(run.out, "");
}

#[tokio::test]
async fn bad_targets_and_flag_mixes_are_refused() {
    let (_cluster, _dir, kubeconfig) = start().await;
    let run = scan(&kubeconfig, &["pod/web"]).await;
    assert_eq!(
        (run.code, run.err.contains("unknown kind \"pod\"")),
        (2, true),
        "{}",
        run.err
    );
    let run = scan(&kubeconfig, &["deploy/web", "-A"]).await;
    assert_eq!(
        (run.code, run.err.contains("takes -n, not -A")),
        (2, true),
        "{}",
        run.err
    );
    let run = scan(&kubeconfig, &["--fix", "--output", "policyreport"]).await;
    assert_eq!(run.code, 2, "{}", run.err);
}

#[tokio::test]
async fn progress_goes_to_a_terminal_on_stderr_and_is_cleared() {
    let cluster = FakeApi::start((0..250).map(|i| {
        workload(
            "apps/v1",
            "Deployment",
            "bulk",
            &format!("app-{i:03}"),
            "quay.io/org/x:1",
            json!({}),
        )
    }))
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = cluster.kubeconfig(dir.path());
    let run = scan_on_terminal(&kubeconfig, &["-A"]).await;
    assert_eq!(run.code, 0, "{}", run.err);
    assert_eq!(
        run.err,
        "\rlisting deployments.apps: 100\x1b[K\rlisting deployments.apps: 200\x1b[K\r\x1b[K"
    );
    let quiet = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(
        (quiet.err.as_str(), quiet.out),
        ("", run.out),
        "stdout is the same either way"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_the_table_and_exits_1() {
    let (_cluster, _dir, kubeconfig) = start().await;
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_autoredeploy"))
            .args(["scan", "-A", "--kubeconfig"])
            .arg(&kubeconfig)
            .env_remove("AUTOREDEPLOY_SCAN_NAMESPACE")
            .output()
    })
    .await
    .expect("join")
    .expect("run the binary");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(stdout.starts_with("NAMESPACE  KIND"), "{stdout}");
    assert!(stdout.contains("12 objects: 3 would change"), "{stdout}");
    assert_eq!(
        output.stderr, b"",
        "no progress when stderr is not a terminal"
    );
}
