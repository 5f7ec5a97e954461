//! The cluster the scan tests run against: one object per status the table can show, as a
//! kube-apiserver would store them (created with the webhook off), and the helper that runs
//! `autoredeploy scan` with given flags against a fake server.

use autoredeploy::cli::{Cli, Command, scan};
use clap::Parser;
use serde_json::{Value, json};

pub const DIGEST_NGINX: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub const DIGEST_BASE: &str =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";
pub const DIGEST_APP: &str =
    "sha256:3333333333333333333333333333333333333333333333333333333333333333";

/// An ImageStream with one DockerImage tag imported once.
pub fn stream(ns: &str, name: &str, tag: &str, from: &str, digest: &str, scheduled: bool) -> Value {
    let repository = from.rsplit_once(':').map_or(from, |(repo, _)| repo);
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"),
            "managedFields": [{"manager": "oc", "operation": "Update"}]},
        "spec": {"lookupPolicy": {"local": false}, "tags": [{"name": tag,
            "from": {"kind": "DockerImage", "name": from},
            "importPolicy": if scheduled { json!({"scheduled": true, "importMode": "Legacy"}) } else { json!({"importMode": "Legacy"}) },
            "referencePolicy": {"type": "Source"}}]},
        "status": {"dockerImageRepository": format!("image-registry.openshift-image-registry.svc:5000/{ns}/{name}"),
            "tags": [{"tag": tag, "items": [{"created": "2026-11-30T08:00:00Z",
                "dockerImageReference": format!("{repository}@{digest}"), "image": digest, "generation": 1}]}]}})
}

/// A Deployment-like workload (`apiVersion`, `kind`) with one container.
pub fn workload(
    api: &str,
    kind: &str,
    ns: &str,
    name: &str,
    image: &str,
    annotations: Value,
) -> Value {
    let pod = json!({"metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": image, "imagePullPolicy": "Always"}]}});
    let spec = match kind {
        "CronJob" => json!({"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": pod}}}),
        "DeploymentConfig" => json!({"replicas": 1, "selector": {"app": name}, "template": pod,
            "triggers": [{"type": "ConfigChange"}]}),
        _ => json!({"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": pod}),
    };
    json!({"apiVersion": api, "kind": kind,
        "metadata": {"name": name, "namespace": ns, "annotations": annotations}, "spec": spec})
}

fn trigger(kind: &str, stream_tag: &str, paused: bool) -> Value {
    let prefix = match kind {
        "CronJob" => "spec.jobTemplate.spec.template.spec",
        _ => "spec.template.spec",
    };
    let entry = json!([{"from": {"kind": "ImageStreamTag", "name": stream_tag},
        "fieldPath": format!("{prefix}.containers[?(@.name==\"main\")].image"), "paused": paused}]);
    json!({"image.openshift.io/triggers": entry.to_string()})
}

/// One object per status.
pub fn cluster_objects() -> Vec<Value> {
    let mut objects = streams();
    objects.extend(workloads());
    objects
}

/// `nginx` unscheduled, `base` scheduled and healthy, `app` scheduled with a failing import.
fn streams() -> Vec<Value> {
    let mut failing = stream("shop", "app", "1", "quay.io/org/app:1", DIGEST_APP, true);
    failing["status"]["tags"][0]["conditions"] = json!([{"type": "ImportSuccess", "status": "False",
        "reason": "NotFound", "message": "Internal error occurred: quay.io/org/app:1: manifest unknown",
        "lastTransitionTime": "2026-12-01T06:00:00Z", "generation": 2}]);
    vec![
        stream(
            "shop",
            "nginx",
            "1.25",
            "docker.io/library/nginx:1.25",
            DIGEST_NGINX,
            false,
        ),
        stream(
            "shop",
            "base",
            "latest",
            "docker.io/org/base:latest",
            DIGEST_BASE,
            true,
        ),
        failing,
    ]
}

fn pull_if_not_present(mut object: Value) -> Value {
    object["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    object
}

fn workloads() -> Vec<Value> {
    let mut workloads = with_triggers();
    workloads.extend(without_triggers());
    workloads
}

const APPS: &str = "apps/v1";
const APPS_OPENSHIFT: &str = "apps.openshift.io/v1";

/// `ok` (healthy), `api` (import failing), `worker` (automatic: false), `report` (paused).
fn with_triggers() -> Vec<Value> {
    let base = format!("docker.io/org/base@{DIGEST_BASE}");
    let app = format!("quay.io/org/app@{DIGEST_APP}");
    let mut worker = workload(
        APPS_OPENSHIFT,
        "DeploymentConfig",
        "shop",
        "worker",
        &base,
        json!({}),
    );
    worker["spec"]["triggers"] = json!([{"type": "ConfigChange"}, {"type": "ImageChange",
        "imageChangeParams": {"automatic": false, "containerNames": ["main"],
            "from": {"kind": "ImageStreamTag", "name": "base:latest"}, "lastTriggeredImage": base}}]);
    let ok_trigger = trigger("Deployment", "base:latest", false);
    let api_trigger = trigger("Deployment", "app:1", false);
    let report_trigger = trigger("CronJob", "base:latest", true);
    vec![
        pull_if_not_present(workload(
            APPS,
            "Deployment",
            "shop",
            "ok",
            &base,
            ok_trigger,
        )),
        pull_if_not_present(workload(
            APPS,
            "Deployment",
            "shop",
            "api",
            &app,
            api_trigger,
        )),
        pull_if_not_present(worker),
        workload(
            "batch/v1",
            "CronJob",
            "shop",
            "report",
            &base,
            report_trigger,
        ),
    ]
}

/// `web` and `cart` (would change), `legacy` and `edge` (not tracked), `db` (opted out).
fn without_triggers() -> Vec<Value> {
    let nginx = "docker.io/library/nginx:1.25";
    let base = "docker.io/org/base:latest";
    let skip = json!({"autoredeploy.io/skip": "true"});
    vec![
        workload(APPS, "Deployment", "shop", "web", nginx, json!({})),
        workload(
            APPS_OPENSHIFT,
            "DeploymentConfig",
            "shop",
            "cart",
            base,
            json!({}),
        ),
        workload(
            APPS_OPENSHIFT,
            "DeploymentConfig",
            "shop",
            "legacy",
            "busybox:1.36",
            json!({}),
        ),
        workload(APPS, "StatefulSet", "shop", "db", "postgres:16", skip),
        workload(APPS, "DaemonSet", "other", "edge", nginx, json!({})),
    ]
}

/// What one run printed and returned.
pub struct Run {
    pub code: u8,
    pub out: String,
    pub err: String,
}

/// `autoredeploy scan ARGS` against the kubeconfig at `kubeconfig`.
pub async fn scan(kubeconfig: &std::path::Path, args: &[&str]) -> Run {
    run(kubeconfig, args, false).await
}

/// The same, as if standard error were a terminal (progress is shown).
pub async fn scan_on_terminal(kubeconfig: &std::path::Path, args: &[&str]) -> Run {
    run(kubeconfig, args, true).await
}

async fn run(kubeconfig: &std::path::Path, args: &[&str], terminal: bool) -> Run {
    let mut argv = vec!["autoredeploy", "scan", "--kubeconfig"];
    let path = kubeconfig.to_str().expect("utf-8 path").to_string();
    argv.push(&path);
    argv.extend_from_slice(args);
    let Command::Scan(args) = Cli::try_parse_from(argv).expect("valid flags").command else {
        panic!("not a scan command");
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = scan::execute(&args, terminal, &mut out, &mut err).await;
    Run {
        code,
        out: String::from_utf8(out).expect("utf-8 stdout"),
        err: String::from_utf8(err).expect("utf-8 stderr"),
    }
}
