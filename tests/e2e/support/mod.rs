//! What every story shares: one control plane and one webhook per run, a namespace per story
//! (deleted afterwards by the real namespace controller), object builders, pushes, and waits
//! on the cluster's state with deadlines.

pub mod cluster;
pub mod kube;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Duration;

use serde_json::{Value, json};

pub use kube::{Kube, eventually};
use webhook::Webhook;

/// Deadline for anything a controller does in reaction to a write (measured well under a
/// second on the kit; generous for a loaded CI machine).
pub const REACT: Duration = Duration::from_secs(30);
pub const TRIGGERS: &str = "image.openshift.io/triggers";

pub struct Env {
    pub cluster: Mutex<cluster::Cluster>,
    pub kube: Kube,
    pub webhook: Mutex<Webhook>,
    /// Stories that change what every other story relies on (the webhook's configuration,
    /// the webhook being up, cluster-wide budgets) hold this exclusively; others share it.
    pub exclusive: RwLock<()>,
    pub registry: Option<String>,
    pub kit: Option<PathBuf>,
}

static ENV: OnceLock<Env> = OnceLock::new();

pub fn env() -> &'static Env {
    ENV.get()
        .expect("the e2e environment is set up before any story")
}

/// Start (or find) the cluster, the webhook and its configuration. `Ok(None)`: skipped, and
/// why.
pub fn setup() -> Result<Option<String>, String> {
    let cluster = match cluster::Cluster::find()? {
        cluster::Found::Cluster(cluster) => cluster,
        cluster::Found::Skipped(why) => return Ok(Some(why)),
    };
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-webhook");
    let kube = Kube::new(&cluster.kubeconfig);
    let python = chart_python()?;
    // The loopback registry under a second name is a polled registry (stories::poller): tags
    // written `localhost:PORT/...` are left to `autoredeploy poll`, tags written
    // `127.0.0.1:PORT/...` (stories::registry) are still scheduled.
    let polled = cluster.registry().and_then(polled_name);
    let mut extra = Vec::new();
    if let Some(polled) = &polled {
        extra.extend(["--polled-registry", polled.as_str()]);
    }
    let webhook = Webhook::start(&work, &cluster.kubeconfig, &extra);
    webhook.install_configuration(&kube, &python, "{}");
    let env = Env {
        registry: cluster.registry().map(str::to_string),
        kit: cluster.kit().map(Path::to_path_buf),
        cluster: Mutex::new(cluster),
        kube,
        webhook: Mutex::new(webhook),
        exclusive: RwLock::new(()),
    };
    if ENV.set(env).is_err() {
        return Err("set up twice".into());
    }
    wait_webhook_called();
    Ok(None)
}

/// Stop the webhook and the control plane this run started.
pub fn teardown() {
    if let Some(env) = ENV.get() {
        lock(&env.webhook).stop();
        lock(&env.cluster).stop();
    }
}

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// `tests/chart/venv.sh` makes (once) and names the python with the chart's packages.
fn chart_python() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chart/venv.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "tests/chart/venv.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Both API servers have loaded the configuration: a dry-run ImageStream comes back
/// scheduled (openshift-apiserver) and a dry-run Deployment comes back with its trigger
/// (kube-apiserver).
fn wait_webhook_called() {
    let env = env();
    let ns = "default-e2e-probe";
    env.kube.try_run(&["create", "namespace", ns], None);
    let stream = imagestream(ns, "probe", &[("latest", "quay.io/e2e/probe:latest")]);
    eventually("the webhook to be called for ImageStreams", REACT, || {
        let out = env.kube.try_run(
            &["create", "--dry-run=server", "-o", "json", "-f", "-"],
            Some(&stream.to_string()),
        );
        (out.ok && out.json()["spec"]["tags"][0]["importPolicy"]["scheduled"] == true).then_some(())
    });
    let probe = deployment(ns, "probe", "quay.io/e2e/probe:latest").to_string();
    eventually("the webhook to be called for Deployments", REACT, || {
        let out = env.kube.try_run(
            &["create", "--dry-run=server", "-o", "json", "-f", "-"],
            Some(&probe),
        );
        (out.ok
            && out
                .warnings()
                .iter()
                .any(|w| w.starts_with("autoredeploy:")))
        .then_some(())
    });
    env.kube
        .run(&["delete", "namespace", ns, "--wait=false"], None);
}

/// A story's own namespace, deleted when the story ends.
pub struct Ns {
    pub name: String,
}

impl Ns {
    pub fn new(story: &str) -> Ns {
        let short: String = story
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let short = short.trim_matches('-');
        let name = format!(
            "e2e-{}-{}",
            &short[..short.len().min(40)],
            &kube::random_hex64()[..5]
        );
        let name = name.replace("--", "-");
        Ns::create(&name, &[])
    }

    /// A namespace with exactly this name and these labels.
    pub fn create(name: &str, labels: &[(&str, &str)]) -> Ns {
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        env()
            .kube
            .create(&json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}));
        Ns {
            name: name.to_string(),
        }
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        env()
            .kube
            .try_run(&["delete", "namespace", &self.name, "--wait=false"], None);
    }
}

/// An ImageStream with external `(tag, source)` tags, as a person writes it (no schedule).
pub fn imagestream(ns: &str, name: &str, tags: &[(&str, &str)]) -> Value {
    let tags: Vec<Value> = tags
        .iter()
        .map(|(tag, source)| json!({"name": tag, "from": {"kind": "DockerImage", "name": source}}))
        .collect();
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": name, "namespace": ns}, "spec": {"tags": tags}})
}

/// A Deployment `name` with one container `web` running `image`.
pub fn deployment(ns: &str, name: &str, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]}}}})
}

/// A DeploymentConfig `name` with one container `web` running `image` and no triggers
/// written (the server defaults them to ConfigChange).
pub fn deploymentconfig(ns: &str, name: &str, image: &str) -> Value {
    json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"app": name},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]}}}})
}

/// The image of container `web` of a stored workload.
pub fn image_of(object: &Value) -> String {
    let spec = if object["kind"] == "CronJob" {
        &object["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    } else {
        &object["spec"]["template"]["spec"]
    };
    spec["containers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "web"))
        .and_then(|c| c["image"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The parsed `image.openshift.io/triggers` annotation, or `[]`.
pub fn annotation_triggers(object: &Value) -> Vec<Value> {
    object["metadata"]["annotations"][TRIGGERS]
        .as_str()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

/// A registry push as OpenShift records it: an ImageStreamMapping of a fresh digest of
/// `repository` to `stream:tag`. Returns `repository@sha256:...`.
pub fn push(ns: &str, stream: &str, tag: &str, repository: &str) -> String {
    let digest = format!("sha256:{}", kube::random_hex64());
    let reference = format!("{repository}@{digest}");
    env().kube.create(
        &json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamMapping",
        "metadata": {"name": stream, "namespace": ns},
        "tag": tag,
        "image": {"metadata": {"name": digest}, "dockerImageReference": reference}}),
    );
    reference
}

/// The stored tag `tag` of stream `name`: its latest image as the status records it.
pub fn tag_image(ns: &str, stream: &str, tag: &str) -> Option<String> {
    let stream = env().kube.get(ns, "imagestream", stream)?;
    stream["status"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["tag"] == tag)?["items"][0]["dockerImageReference"]
        .as_str()
        .map(str::to_string)
}

/// Wait until the webhook's catalog binds `image` in `ns` and, when `resolved` is given,
/// knows that tag's current image: a server-side dry-run CREATE of a probe Deployment comes
/// back with a trigger (and that image). The catalog follows the cluster through a watch, a
/// moment behind it.
pub fn wait_catalog(ns: &str, image: &str, resolved: Option<&str>) {
    let probe = deployment(ns, "catalog-probe", image).to_string();
    eventually(
        &format!("the webhook's catalog to bind {image} in {ns} (resolved: {resolved:?})"),
        REACT,
        || {
            let out = env().kube.try_run(
                &["create", "--dry-run=server", "-o", "json", "-f", "-"],
                Some(&probe),
            );
            if !out.ok {
                return None;
            }
            let object = out.json();
            let bound = !annotation_triggers(&object).is_empty();
            let image_ok = resolved.is_none_or(|want| image_of(&object) == want);
            (bound && image_ok).then_some(())
        },
    );
}

/// A tag that imports a real image from the loopback registry.
pub struct RealTag {
    /// `HOST:PORT/e2e/NS:latest`, the tag's `from.name`.
    pub source: String,
    /// `HOST:PORT/e2e/NS`.
    pub repository: String,
    kit: PathBuf,
    registry: String,
}

/// The loopback registry's second name, `localhost:PORT` for `127.0.0.1:PORT`: the webhook
/// treats it as polled (`--polled-registry`).
fn polled_name(registry: &str) -> Option<String> {
    registry
        .strip_prefix("127.0.0.1:")
        .map(|port| format!("localhost:{port}"))
}

/// The polled name of the loopback registry, if the cluster has one.
pub fn polled_registry() -> Option<String> {
    env().registry.as_deref().and_then(polled_name)
}

impl RealTag {
    /// A repository of its own for namespace `ns`, or `None` without a registry (another
    /// cluster than the kit's).
    pub fn new(ns: &str) -> Option<RealTag> {
        RealTag::named(ns, env().registry.clone()?)
    }

    /// The same, written with the registry's polled name (`localhost:PORT`): the webhook
    /// leaves it unscheduled and `autoredeploy poll` watches it. Pushes still go to the one
    /// registry.
    pub fn polled(ns: &str) -> Option<RealTag> {
        RealTag::named(ns, polled_registry()?)
    }

    /// Another repository of namespace `ns`'s (`e2e/NS-SUFFIX`), under the polled name.
    pub fn polled_another(ns: &str, suffix: &str) -> Option<RealTag> {
        RealTag::named(&format!("{ns}-{suffix}"), polled_registry()?)
    }

    fn named(ns: &str, host: String) -> Option<RealTag> {
        let (registry, kit) = (env().registry.clone()?, env().kit.clone()?);
        let repository = format!("{host}/e2e/{ns}");
        Some(RealTag {
            source: format!("{repository}:latest"),
            repository,
            kit,
            registry,
        })
    }

    /// Push a new tiny image to `:latest` with the kit's `push-image.py`; its
    /// `repository@sha256:...`.
    pub fn push(&self) -> String {
        let path = self.path();
        let out = std::process::Command::new("python3")
            .arg(self.kit.join("push-image.py"))
            .args([
                "--registry",
                &self.registry,
                "--content",
                &kube::random_hex64(),
            ])
            .args([path, "latest"])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "push-image.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!(
            "{}@{}",
            self.repository,
            String::from_utf8_lossy(&out.stdout).trim()
        )
    }

    /// The repository's path in the registry (`e2e/NS`).
    pub fn path(&self) -> &str {
        self.repository.split_once('/').map_or("", |(_, p)| p)
    }

    /// An ImageStream `name` whose tag `latest` imports this repository (plain HTTP).
    pub fn stream(&self, ns: &str, name: &str) -> Value {
        let mut stream = imagestream(ns, name, &[("latest", &self.source)]);
        stream["spec"]["tags"][0]["importPolicy"] = json!({"insecure": true});
        stream
    }
}

/// ReplicaSets of Deployment `name` (by its selector label).
pub fn replicasets(ns: &str, name: &str) -> Vec<Value> {
    env()
        .kube
        .list(ns, "replicaset", Some(&format!("app={name}")))
}

/// ReplicationControllers of DeploymentConfig `name`.
pub fn replicationcontrollers(ns: &str, name: &str) -> Vec<Value> {
    env().kube.list(
        ns,
        "replicationcontroller",
        Some(&format!("openshift.io/deployment-config.name={name}")),
    )
}

/// A fence: push to a stream of its own that a Deployment `caught-up` follows, and wait until
/// the trigger controller has written the pushed image into it. By then the controllers have
/// handled what happened in the namespace before the push. Used where a story asserts that
/// something does *not* happen next.
pub fn controllers_caught_up(ns: &str) {
    let kube = &env().kube;
    let source = "quay.io/e2e/caught-up:latest";
    if kube.get(ns, "imagestream", "caught-up").is_none() {
        kube.apply(&imagestream(ns, "caught-up", &[("latest", source)]));
        let first = push(ns, "caught-up", "latest", "quay.io/e2e/caught-up");
        wait_catalog(ns, source, Some(&first));
        kube.apply(&deployment(ns, "caught-up", source));
    }
    let pushed = push(ns, "caught-up", "latest", "quay.io/e2e/caught-up");
    kube.wait_for(
        ns,
        "deployment",
        "caught-up",
        "the fence's push",
        REACT,
        |d| (image_of(d) == pushed).then_some(()),
    );
}

pub fn latest_version(dc: &Value) -> i64 {
    dc["status"]["latestVersion"].as_i64().unwrap_or(0)
}

/// Run `autoredeploy ARGS` against the cluster; (exit code, stdout, stderr).
pub fn autoredeploy(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(autoredeploy::testing::server::binary())
        .args(args)
        .arg("--kubeconfig")
        .arg(env().kube.kubeconfig())
        .output()
        .expect("autoredeploy runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
