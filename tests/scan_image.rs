//! `scan --image REF`: what redeploys if an image moves. Against the fake API server: a tag
//! importing nginx:1.27 in two namespaces (one scheduled, one the webhook would schedule),
//! Deployments following it with an automatic trigger, a paused one, one the webhook would
//! bind on its next apply, workloads in an out-of-scope namespace; then the same cluster with
//! the registry polled, the repository filtered and the budget spent, and an image no tag
//! imports. The answers are held to the scan's own report of the same objects.

use crate::scan_objects::{DIGEST_NGINX, scan, stream, workload};

use autoredeploy::testing::fake_api::{FakeApi, namespace};
use serde_json::{Value, json};

const APPS: &str = "apps/v1";

/// A triggers annotation on `from` (`stream:tag`, in `ns` when given) for container `main`.
fn trigger(from: &str, ns: Option<&str>, paused: bool) -> Value {
    let mut source = json!({"kind": "ImageStreamTag", "name": from});
    if let Some(ns) = ns {
        source["namespace"] = json!(ns);
    }
    let entry = json!([{"from": source,
        "fieldPath": "spec.template.spec.containers[?(@.name==\"main\")].image", "paused": paused}]);
    json!({"image.openshift.io/triggers": entry.to_string()})
}

fn cluster() -> Vec<Value> {
    let running = format!("docker.io/library/nginx@{DIGEST_NGINX}");
    vec![
        namespace("shop", &[]),
        namespace("prod", &[]),
        namespace("openshift-tools", &[]),
        // Scheduled, spelt short.
        stream("shop", "web", "1.27", "nginx:1.27", DIGEST_NGINX, true),
        // Not scheduled: the webhook schedules it on the stream's next apply.
        stream(
            "prod",
            "nginx",
            "1.27",
            "docker.io/library/nginx:1.27",
            DIGEST_NGINX,
            false,
        ),
        // Another image entirely.
        stream(
            "shop",
            "other",
            "1.25",
            "quay.io/org/other:1.25",
            DIGEST_NGINX,
            true,
        ),
        workload(
            APPS,
            "Deployment",
            "shop",
            "auto",
            &running,
            trigger("web:1.27", None, false),
        ),
        workload(
            APPS,
            "Deployment",
            "shop",
            "paused",
            &running,
            trigger("web:1.27", None, true),
        ),
        // No trigger: the engine binds its external reference and adds one.
        workload(
            APPS,
            "Deployment",
            "shop",
            "bare",
            "index.docker.io/library/nginx:1.27",
            json!({}),
        ),
        workload(
            APPS,
            "Deployment",
            "prod",
            "api",
            &running,
            trigger("nginx:1.27", None, false),
        ),
        // Out of the webhook's scope: a trigger of its own still fires; none is never added.
        workload(
            APPS,
            "Deployment",
            "openshift-tools",
            "follower",
            &running,
            trigger("web:1.27", Some("shop"), false),
        ),
        workload(
            APPS,
            "Deployment",
            "openshift-tools",
            "plain",
            "nginx:1.27",
            json!({}),
        ),
        // Follows the other image: not reached.
        workload(
            APPS,
            "Deployment",
            "shop",
            "old",
            &running,
            trigger("other:1.25", None, false),
        ),
    ]
}

async fn start() -> (FakeApi, tempfile::TempDir, std::path::PathBuf) {
    let api = FakeApi::start(cluster()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = api.kubeconfig(dir.path());
    (api, dir, kubeconfig)
}

async fn answer(kubeconfig: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "-A",
        "--image",
        "docker.io/library/nginx:1.27",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let run = scan(kubeconfig, &args).await;
    assert_eq!(run.code, 0, "{}\n{}", run.out, run.err);
    serde_json::from_str(&run.out).unwrap_or_else(|e| panic!("{e}: {}", run.out))
}

fn tag<'a>(report: &'a Value, ns: &str, stream_tag: &str) -> &'a Value {
    (report["tags"].as_array().expect("tags").iter())
        .find(|t| {
            t["namespace"] == ns
                && format!(
                    "{}:{}",
                    t["stream"].as_str().unwrap(),
                    t["tag"].as_str().unwrap()
                ) == stream_tag
        })
        .unwrap_or_else(|| panic!("{ns}/{stream_tag} not in {report}"))
}

fn container<'a>(report: &'a Value, ns: &str, name: &str) -> &'a Value {
    (report["workloads"].as_array().expect("workloads").iter())
        .find(|w| w["namespace"] == ns && w["name"] == name)
        .unwrap_or_else(|| panic!("{ns}/{name} not in {report}"))
}

#[tokio::test]
async fn every_workload_the_image_reaches_is_answered_now_after_the_next_apply_or_no() {
    let (_api, _dir, kubeconfig) = start().await;
    let report = answer(&kubeconfig, &[]).await;
    assert_eq!(report["schema"], "autoredeploy.io/scan-image/v1");
    assert_eq!(report["image"], "docker.io/library/nginx:1.27");
    assert_eq!(report["tags"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(
        tag(&report, "shop", "web:1.27")["imported"],
        json!({"by": "scheduled"})
    );
    assert_eq!(tag(&report, "shop", "web:1.27")["source"], "nginx:1.27");
    assert_eq!(
        tag(&report, "prod", "nginx:1.27")["imported"],
        json!({"by": "scheduled-on-next-apply"})
    );

    let auto = container(&report, "shop", "auto");
    assert_eq!(
        (
            auto["tag"].as_str(),
            auto["redeploys"].as_str(),
            auto["when"].as_str()
        ),
        (Some("shop/web:1.27"), Some("yes"), Some("every 15 minutes")),
        "{auto}"
    );
    let paused = container(&report, "shop", "paused");
    assert_eq!(paused["redeploys"], "no", "{paused}");
    assert_eq!(paused["when"], Value::Null);
    assert!(
        paused["reason"].as_str().unwrap().contains("is paused"),
        "{paused}"
    );
    let bare = container(&report, "shop", "bare");
    assert_eq!(bare["redeploys"], "after-the-next-apply", "{bare}");
    assert_eq!(bare["tag"], "shop/web:1.27");
    assert_eq!(bare["when"], "every 15 minutes");
    assert!(
        bare["reason"]
            .as_str()
            .unwrap()
            .contains("the webhook adds the trigger for web:1.27 on the Deployment's next apply"),
        "{bare}"
    );
    // Its trigger is there, but the tag waits for its stream's next apply.
    let api = container(&report, "prod", "api");
    assert_eq!(api["redeploys"], "after-the-next-apply", "{api}");
    assert!(
        api["reason"]
            .as_str()
            .unwrap()
            .contains("schedules prod/nginx:1.27 on its ImageStream's next apply"),
        "{api}"
    );
    // Out of scope: OpenShift's controller fires an existing trigger all the same; the
    // webhook never adds one.
    let follower = container(&report, "openshift-tools", "follower");
    assert_eq!(
        (follower["redeploys"].as_str(), follower["tag"].as_str()),
        (Some("yes"), Some("shop/web:1.27")),
        "{follower}"
    );
    let plain = container(&report, "openshift-tools", "plain");
    assert_eq!(plain["redeploys"], "no", "{plain}");
    assert!(
        plain["reason"]
            .as_str()
            .unwrap()
            .contains("out of the webhook's scope"),
        "{plain}"
    );
    let names: Vec<&str> = (report["workloads"].as_array().unwrap().iter())
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"old"), "{names:?}");
    assert_eq!(names.len(), 6, "{names:?}");
    assert_eq!(
        report["summary"],
        json!({"tags": 2, "containers": 6, "yes": 2, "after_the_next_apply": 2, "no": 2})
    );

    // The scan's own report of the same objects agrees: what would change would change.
    let run = scan(&kubeconfig, &["-A", "--output", "json"]).await;
    let scanned: Value = serde_json::from_str(&run.out).unwrap();
    let status = |ns: &str, name: &str| {
        (scanned["objects"].as_array().unwrap().iter())
            .find(|o| o["namespace"] == ns && o["name"] == name)
            .map(|o| o["status"].clone())
            .unwrap()
    };
    assert_eq!(status("shop", "auto"), "auto-redeploys");
    assert_eq!(status("shop", "bare"), "would-change");
    assert_eq!(status("prod", "nginx"), "would-change");
    assert_eq!(status("openshift-tools", "plain"), "out-of-scope");

    // The table says the same to people, however the image is spelt.
    let run = scan(&kubeconfig, &["-A", "--image", "nginx:1.27"]).await;
    assert_eq!(run.code, 0, "{}", run.err);
    let out = &run.out;
    assert!(
        out.starts_with("ImageStream tags importing docker.io/library/nginx:1.27:\n"),
        "{out}"
    );
    assert!(
        out.contains("after the next apply (every 15 minutes): the webhook schedules it"),
        "{out}"
    );
    let line = |name: &str| {
        out.lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("{name}: {out}"))
            .to_string()
    };
    let auto = line("auto");
    assert!(
        auto.contains(" shop/web:1.27 ") && auto.ends_with("  yes (every 15 minutes)"),
        "{out}"
    );
    assert!(
        line("paused").contains("no: its trigger for web:1.27 is paused"),
        "{out}"
    );
    assert!(
        line("bare")
            .contains("after the next apply (every 15 minutes): the webhook adds the trigger"),
        "{out}"
    );
    assert!(
        out.contains("2 tag(s), 6 container(s): 2 yes, 2 after the next apply, 2 no"),
        "{out}"
    );
}

#[tokio::test]
async fn polled_filtered_and_over_budget_tags_say_how_or_why_not() {
    let (_api, _dir, kubeconfig) = start().await;
    let polled = answer(&kubeconfig, &["--polled-registry", "docker.io"]).await;
    // Already scheduled: OpenShift imports it itself; the other is the poller's.
    assert_eq!(
        tag(&polled, "shop", "web:1.27")["imported"]["by"],
        "scheduled"
    );
    assert_eq!(
        tag(&polled, "prod", "nginx:1.27")["imported"]["by"],
        "polled"
    );
    let api = container(&polled, "prod", "api");
    assert_eq!(
        (api["redeploys"].as_str(), api["when"].as_str()),
        (Some("yes"), Some("polled")),
        "{api}"
    );

    let filtered = answer(
        &kubeconfig,
        &["--exclude-repository", "docker.io/library/nginx"],
    )
    .await;
    let prod = &tag(&filtered, "prod", "nginx:1.27")["imported"];
    assert_eq!(prod["by"], "not-at-all", "{prod}");
    assert!(
        prod["reason"]
            .as_str()
            .unwrap()
            .contains("left out by the repository filters"),
        "{prod}"
    );
    let api = container(&filtered, "prod", "api");
    assert_eq!(api["redeploys"], "no", "{api}");
    assert!(
        api["reason"]
            .as_str()
            .unwrap()
            .starts_with("prod/nginx:1.27 is never re-imported: "),
        "{api}"
    );

    // One scheduled tag (24 pulls in 6h at 15m) fits in 30; a second does not.
    let spent = answer(&kubeconfig, &["--registry-budget", "docker.io=30/6h"]).await;
    let prod = &tag(&spent, "prod", "nginx:1.27")["imported"];
    assert_eq!(prod["by"], "not-at-all", "{prod}");
    assert!(
        prod["reason"].as_str().unwrap().contains("pull budget"),
        "{prod}"
    );
    assert_eq!(
        tag(&spent, "shop", "web:1.27")["imported"]["by"],
        "scheduled"
    );
}

/// A scheduled tag whose last import failed: the follower redeploys once an import succeeds,
/// and says so.
#[tokio::test]
async fn a_failing_import_is_said_beside_yes() {
    let mut objects = cluster();
    let web = (objects.iter_mut())
        .find(|o| o["kind"] == "ImageStream" && o["metadata"]["name"] == "web")
        .unwrap();
    web["status"]["tags"][0]["conditions"] = json!([{"type": "ImportSuccess", "status": "False",
        "message": "toomanyrequests: rate limit"}]);
    let api = FakeApi::start(objects).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = api.kubeconfig(dir.path());
    let report = answer(&kubeconfig, &[]).await;
    assert_eq!(
        tag(&report, "shop", "web:1.27")["import_failing"],
        "toomanyrequests: rate limit"
    );
    let auto = container(&report, "shop", "auto");
    assert_eq!(auto["redeploys"], "yes", "{auto}");
    assert_eq!(
        auto["reason"],
        "but the tag's last import failed: toomanyrequests: rate limit"
    );
    let paused = container(&report, "shop", "paused");
    assert_eq!(paused["reason"], "its trigger for web:1.27 is paused");
}

/// One namespace: its tags and workloads, and a tag elsewhere only when one of them follows it.
#[tokio::test]
async fn one_namespace_lists_its_own_tags_and_those_its_workloads_follow() {
    let (_api, _dir, kubeconfig) = start().await;
    let run = scan(
        &kubeconfig,
        &["-n", "prod", "--image", "nginx:1.27", "-o", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.err);
    let prod: Value = serde_json::from_str(&run.out).unwrap();
    assert_eq!(prod["namespace"], "prod");
    let tags: Vec<&Value> = prod["tags"].as_array().unwrap().iter().collect();
    assert_eq!(tags.len(), 1, "{prod}");
    assert_eq!(tags[0]["namespace"], "prod");
    let names: Vec<&str> = (prod["workloads"].as_array().unwrap().iter())
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api"]);
    let run = scan(
        &kubeconfig,
        &[
            "-n",
            "openshift-tools",
            "--image",
            "nginx:1.27",
            "-o",
            "json",
        ],
    )
    .await;
    let tools: Value = serde_json::from_str(&run.out).unwrap();
    let tags: Vec<String> = (tools["tags"].as_array().unwrap().iter())
        .map(|t| {
            format!(
                "{}/{}:{}",
                t["namespace"].as_str().unwrap(),
                t["stream"].as_str().unwrap(),
                t["tag"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(tags, ["shop/web:1.27"], "{tools}");
    // Its stream was not scanned, but it is scheduled: that is known from the catalog.
    assert_eq!(tools["tags"][0]["imported"]["by"], "scheduled");
}

#[tokio::test]
async fn an_image_no_tag_imports_is_said_so() {
    let (_api, _dir, kubeconfig) = start().await;
    let run = scan(&kubeconfig, &["-A", "--image", "quay.io/org/none:1"]).await;
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(
        run.out.starts_with("no ImageStream tag imports quay.io/org/none:1: nothing redeploys by itself when it moves\n"),
        "{}",
        run.out
    );
    let report = answer_for(&kubeconfig, "quay.io/org/none:1").await;
    assert_eq!(report["tags"], json!([]));
    assert_eq!(report["workloads"], json!([]));
}

async fn answer_for(kubeconfig: &std::path::Path, image: &str) -> Value {
    let run = scan(kubeconfig, &["-A", "--image", image, "-o", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.err);
    serde_json::from_str(&run.out).unwrap()
}

#[tokio::test]
async fn image_with_kind_name_or_fix_is_a_usage_error() {
    let (_api, _dir, kubeconfig) = start().await;
    for args in [
        &["--image", "nginx:1.27", "deployment/auto", "-n", "shop"][..],
        &["--image", "nginx:1.27", "--fix", "-A"][..],
    ] {
        let run = scan(&kubeconfig, args).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.out);
        assert!(
            run.err
                .contains("--image answers what redeploys if an image moves"),
            "{}",
            run.err
        );
        assert!(run.out.is_empty(), "{}", run.out);
    }
    let run = scan(&kubeconfig, &["--image", "UPPER::bad", "-A"]).await;
    assert_eq!(run.code, 2);
    assert!(run.err.contains("is not an image reference"), "{}", run.err);
}
