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

/// Adds spec tag `name` to `stream`, tracking `from` (`from.kind: ImageStreamTag`, in `ns`
/// when given), with the status item OpenShift copied into it.
fn track(stream: &mut Value, name: &str, from: &str, ns: Option<&str>) {
    let mut source = json!({"kind": "ImageStreamTag", "name": from});
    if let Some(ns) = ns {
        source["namespace"] = json!(ns);
    }
    (stream["spec"]["tags"].as_array_mut().unwrap()).push(json!({"name": name, "from": source,
        "importPolicy": {"importMode": "Legacy"}, "referencePolicy": {"type": "Source"}}));
    let item = stream["status"]["tags"][0]["items"][0].clone();
    (stream["status"]["tags"].as_array_mut().unwrap()).push(json!({"tag": name, "items": [item]}));
}

/// Tags tracking the tags that import nginx:1.27: a chain in one stream, a cycle beside it, a
/// copy in another stream and another namespace, an `ImageStreamImage` pin, and a chain on a
/// tag the webhook schedules only on its stream's next apply.
fn tracking_cluster() -> Vec<Value> {
    let running = format!("docker.io/library/nginx@{DIGEST_NGINX}");
    let mut web = stream("shop", "web", "1.27", "nginx:1.27", DIGEST_NGINX, true);
    track(&mut web, "stable", "1.27", None);
    track(&mut web, "prod", "web:stable", None);
    track(&mut web, "loop-a", "loop-b", None);
    track(&mut web, "loop-b", "web:loop-a", None);
    track(&mut web, "after-loop", "loop-a", None);
    (web["spec"]["tags"].as_array_mut().unwrap()).push(json!({"name": "pinned",
        "from": {"kind": "ImageStreamImage", "name": format!("web@{DIGEST_NGINX}")}}));
    let mut mirror = stream(
        "shop",
        "mirror",
        "own",
        "quay.io/org/own:1",
        DIGEST_NGINX,
        true,
    );
    track(&mut mirror, "copy", "web:1.27", None);
    let mut lib = stream(
        "base",
        "lib",
        "own",
        "quay.io/org/own:1",
        DIGEST_NGINX,
        true,
    );
    track(&mut lib, "nginx", "web:1.27", Some("shop"));
    let mut nginx = stream(
        "prod",
        "nginx",
        "1.27",
        "docker.io/library/nginx:1.27",
        DIGEST_NGINX,
        false,
    );
    track(&mut nginx, "current", "nginx:1.27", None);
    let follower = |ns: &str, name: &str, from: &str, from_ns: Option<&str>| {
        workload(
            APPS,
            "Deployment",
            ns,
            name,
            &running,
            trigger(from, from_ns, false),
        )
    };
    vec![
        namespace("shop", &[]),
        namespace("base", &[]),
        namespace("prod", &[]),
        web,
        mirror,
        lib,
        nginx,
        follower("shop", "stable", "web:stable", None),
        follower("shop", "chained", "web:prod", None),
        follower("shop", "copier", "mirror:copy", None),
        follower("shop", "looped", "web:after-loop", None),
        follower("base", "lib-user", "lib:nginx", None),
        follower("prod", "current", "nginx:current", None),
    ]
}

#[tokio::test]
async fn tags_tracking_an_importing_tag_are_followed_through_chains_and_no_further() {
    let api = FakeApi::start(tracking_cluster()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = api.kubeconfig(dir.path());
    let report = answer(&kubeconfig, &[]).await;
    let stable = tag(&report, "shop", "web:stable");
    assert_eq!(stable["tracks"], json!(["shop/web:1.27"]), "{stable}");
    assert_eq!(stable["source"], "nginx:1.27");
    assert_eq!(stable["imported"], json!({"by": "scheduled"}));
    let prod = tag(&report, "shop", "web:prod");
    assert_eq!(
        prod["tracks"],
        json!(["shop/web:stable", "shop/web:1.27"]),
        "{prod}"
    );
    assert_eq!(prod["imported"]["by"], "not-reliably", "{prod}");
    // The importing tag itself names no chain.
    assert_eq!(tag(&report, "shop", "web:1.27").get("tracks"), None);
    let copy = &tag(&report, "shop", "mirror:copy")["imported"];
    assert_eq!(copy["by"], "not-at-all", "{copy}");
    assert!(
        (copy["reason"].as_str().unwrap()).starts_with("it tracks web:1.27 in another ImageStream"),
        "{copy}"
    );
    let lib = &tag(&report, "base", "lib:nginx")["imported"];
    assert!(
        (lib["reason"].as_str().unwrap())
            .starts_with("it tracks shop/web:1.27 in another namespace"),
        "{lib}"
    );
    let current = tag(&report, "prod", "nginx:current");
    assert_eq!(
        current["imported"],
        json!({"by": "scheduled-on-next-apply"})
    );
    // Neither the cycle nor what tracks it, nor the pin, reaches the image.
    let listed: Vec<String> = (report["tags"].as_array().unwrap().iter())
        .map(|t| {
            format!(
                "{}:{}",
                t["stream"].as_str().unwrap(),
                t["tag"].as_str().unwrap()
            )
        })
        .collect();
    for absent in ["web:loop-a", "web:loop-b", "web:after-loop", "web:pinned"] {
        assert!(
            !listed.contains(&absent.to_string()),
            "{absent}: {listed:?}"
        );
    }
    assert_eq!(listed.len(), 7, "{listed:?}");

    let stable = container(&report, "shop", "stable");
    assert_eq!(
        (
            stable["tag"].as_str(),
            stable["redeploys"].as_str(),
            stable["when"].as_str()
        ),
        (
            Some("shop/web:stable"),
            Some("yes"),
            Some("every 15 minutes")
        ),
        "{stable}"
    );
    // Two tags down the chain: OpenShift may leave it behind, so no promise is made.
    let chained = container(&report, "shop", "chained");
    assert_eq!(chained["redeploys"], "no", "{chained}");
    assert!(
        (chained["reason"].as_str().unwrap()).starts_with(
            "shop/web:prod may keep an old image: it tracks web:stable, itself a tracking tag"
        ),
        "{chained}"
    );
    let copier = container(&report, "shop", "copier");
    assert_eq!(copier["redeploys"], "no", "{copier}");
    assert!(
        (copier["reason"].as_str().unwrap()).starts_with(
            "shop/mirror:copy is never re-imported: it tracks web:1.27 in another ImageStream"
        ),
        "{copier}"
    );
    let user = container(&report, "base", "lib-user");
    assert_eq!(user["redeploys"], "no", "{user}");
    // Its trigger is there; the tag it tracks is scheduled by its stream's next apply.
    let waits = container(&report, "prod", "current");
    assert_eq!(
        (waits["redeploys"].as_str(), waits["when"].as_str()),
        (Some("after-the-next-apply"), Some("every 15 minutes")),
        "{waits}"
    );
    assert_eq!(
        waits["reason"],
        "the webhook schedules prod/nginx:1.27 on its ImageStream's next apply"
    );
    let names: Vec<&str> = (report["workloads"].as_array().unwrap().iter())
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"looped"), "{names:?}");

    // The table writes the chain.
    let run = scan(&kubeconfig, &["-A", "--image", "nginx:1.27"]).await;
    assert_eq!(run.code, 0, "{}", run.err);
    let line = |stream_tag: &str| {
        (run.out.lines())
            .find(|l| l.split_whitespace().nth(1) == Some(stream_tag))
            .unwrap_or_else(|| panic!("{stream_tag}: {}", run.out))
            .to_string()
    };
    assert!(
        line("web:prod").contains(
            "tracks web:stable, which tracks web:1.27, which imports nginx:1.27  not reliably: "
        ),
        "{}",
        run.out
    );
    let lib = line("lib:nginx");
    assert!(
        lib.contains(" tracks shop/web:1.27, which imports nginx:1.27 ")
            && lib.contains("  not at all: it tracks shop/web:1.27 in another namespace"),
        "{}",
        run.out
    );
    assert!(
        line("nginx:current").ends_with(
            "  after the next apply (every 15 minutes): the webhook schedules nginx:1.27, which it tracks"
        ),
        "{}",
        run.out
    );
}
