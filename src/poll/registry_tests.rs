//! The poller against a real registry (the `docker-registry` of docker/distribution, started
//! on loopback with a config written here) and an in-memory cluster: while nothing changes,
//! polls send HEADs and no manifest GET; a push to one tag starts exactly one import, for that
//! tag; a manifest list imported in Legacy mode (the tag holds a platform sub-manifest) is
//! imported once, not on every poll, also after a restart.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::proxy::Proxies;
use super::registry::RegistryClient;
use super::state::PollState;
use super::tags::PolledTag;
use super::{Cluster, PollOptions, Poller};
use crate::config::RuleConfig;

const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";

/// A `docker-registry` on a free loopback port, its storage and access log in a temp dir.
struct Registry {
    child: Child,
    host: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    async fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("config.yml");
        let storage = dir.path().join("storage");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:{port}\n",
                storage.display()
            ),
        )
        .unwrap();
        let log = dir.path().join("access.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(REGISTRY_BINARY)
            .arg("serve")
            .arg(&config)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("docker-registry (Debian package docker-registry) must be installed");
        let registry = Registry {
            child,
            host: format!("127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        for _ in 0..100 {
            if let Ok((200, _, _)) = registry.request(Method::GET, "/v2/", None, &[]).await {
                return registry;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "registry did not start: {}",
            std::fs::read_to_string(&registry.log).unwrap_or_default()
        );
    }

    async fn request(
        &self,
        method: Method,
        path_or_url: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(u16, hyper::HeaderMap, Bytes), String> {
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("http://{}{path_or_url}", self.host)
        };
        let mut request = Request::builder().method(method).uri(url);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = client
            .request(
                request
                    .body(Full::new(Bytes::copy_from_slice(body)))
                    .unwrap(),
            )
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, headers, body))
    }

    async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let (status, headers, _) = self
            .request(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/"),
                None,
                &[],
            )
            .await
            .unwrap();
        assert_eq!(status, 202, "upload start");
        let location = headers["location"].to_str().unwrap().to_string();
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={digest}");
        let (status, _, body) = self
            .request(Method::PUT, &url, Some("application/octet-stream"), data)
            .await
            .unwrap();
        assert_eq!(status, 201, "blob upload: {body:?}");
        digest
    }

    /// Push a one-layer image (config and layer unique to `seed`) to `repo:reference`;
    /// returns the manifest's digest.
    async fn push_image(
        &self,
        repo: &str,
        reference: &str,
        seed: &str,
        arch: &str,
    ) -> (String, usize) {
        let config =
            json!({"architecture": arch, "os": "linux", "config": {"Labels": {"seed": seed}},
            "rootfs": {"type": "layers", "diff_ids": []}})
            .to_string();
        let layer = format!("layer {seed}");
        let config_digest = self.push_blob(repo, config.as_bytes()).await;
        let layer_digest = self.push_blob(repo, layer.as_bytes()).await;
        let manifest = json!({"schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": config.len(), "digest": config_digest},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": layer.len(), "digest": layer_digest}]})
        .to_string();
        let digest = self
            .put_manifest(
                repo,
                reference,
                "application/vnd.docker.distribution.manifest.v2+json",
                &manifest,
            )
            .await;
        (digest, manifest.len())
    }

    async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        manifest: &str,
    ) -> String {
        let (status, headers, body) = self
            .request(
                Method::PUT,
                &format!("/v2/{repo}/manifests/{reference}"),
                Some(media_type),
                manifest.as_bytes(),
            )
            .await
            .unwrap();
        assert_eq!(status, 201, "manifest put: {body:?}");
        let digest = headers["docker-content-digest"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(digest, sha256(manifest.as_bytes()));
        digest
    }

    /// A manifest list of an amd64 and an arm64 image; returns (list, amd64) digests.
    async fn push_manifest_list(&self, repo: &str, tag: &str, seed: &str) -> (String, String) {
        let (amd64, amd64_size) = self
            .push_image(
                repo,
                &format!("{seed}-amd64"),
                &format!("{seed}-amd64"),
                "amd64",
            )
            .await;
        let (arm64, arm64_size) = self
            .push_image(
                repo,
                &format!("{seed}-arm64"),
                &format!("{seed}-arm64"),
                "arm64",
            )
            .await;
        let media = "application/vnd.docker.distribution.manifest.v2+json";
        let list = json!({"schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests": [
                {"mediaType": media, "size": amd64_size, "digest": amd64,
                 "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": media, "size": arm64_size, "digest": arm64,
                 "platform": {"architecture": "arm64", "os": "linux"}}]})
        .to_string();
        let digest = self
            .put_manifest(
                repo,
                tag,
                "application/vnd.docker.distribution.manifest.list.v2+json",
                &list,
            )
            .await;
        (digest, amd64)
    }

    /// Access-log lines of manifest requests with `method` since the log began.
    fn manifest_requests(&self, method: &str) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap();
        let needle = format!("\"{method} /v2/");
        log.lines()
            .filter(|l| l.contains(&needle) && l.contains("/manifests/"))
            .count()
    }
}

fn sha256(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The cluster in memory: ImageStreams, the imports created, the state, the events.
#[derive(Clone, Default)]
pub(super) struct FakeCluster {
    pub streams: Arc<Mutex<Vec<Value>>>,
    pub imports: Arc<Mutex<Vec<Value>>>,
    pub state: Arc<Mutex<Option<String>>>,
    pub events: Arc<Mutex<Vec<String>>>,
    /// The namespaces the cluster holds; `None`: each stream's, unlabelled.
    pub namespaces: Arc<Mutex<Option<Vec<Value>>>>,
    /// The webhook's configurations; none: the chart's defaults apply.
    pub configurations: Arc<Mutex<Vec<Value>>>,
    /// The merge patches sent to ImageStreams (applied to `streams`).
    pub patches: Arc<Mutex<Vec<Value>>>,
}

impl Cluster for FakeCluster {
    async fn image_streams(&self) -> anyhow::Result<Vec<Value>> {
        Ok(self.streams.lock().unwrap().clone())
    }
    async fn scope_inputs(&self) -> super::scope::ScopeInputs {
        let namespaces = self.namespaces.lock().unwrap().clone().unwrap_or_else(|| {
            (self.streams.lock().unwrap().iter())
                .filter_map(|s| s.pointer("/metadata/namespace")?.as_str())
                .map(|ns| json!({"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}}))
                .collect()
        });
        super::scope::ScopeInputs {
            configurations: Ok(self.configurations.lock().unwrap().clone()),
            namespaces: Ok(namespaces),
        }
    }
    async fn create_import(&self, _namespace: &str, body: Value) -> anyhow::Result<Value> {
        self.imports.lock().unwrap().push(body.clone());
        Ok(body)
    }
    async fn patch_image_stream(
        &self,
        namespace: &str,
        name: &str,
        patch: Value,
    ) -> anyhow::Result<()> {
        self.patches
            .lock()
            .unwrap()
            .push(json!({"namespace": namespace, "name": name, "patch": patch}));
        let mut streams = self.streams.lock().unwrap();
        let stream = (streams.iter_mut())
            .find(|s| s["metadata"]["namespace"] == namespace && s["metadata"]["name"] == name)
            .ok_or_else(|| anyhow::anyhow!("imagestream {namespace}/{name} not found"))?;
        json_patch::merge(stream, &patch);
        Ok(())
    }
    async fn load_state(&self) -> anyhow::Result<PollState> {
        match self.state.lock().unwrap().as_deref() {
            Some(text) => PollState::from_json(text),
            None => Ok(PollState::default()),
        }
    }
    async fn save_state(&self, state: &PollState) -> anyhow::Result<()> {
        *self.state.lock().unwrap() = Some(state.to_json());
        Ok(())
    }
    async fn event(&self, tag: &PolledTag, reason: &str, _message: &str, _warning: bool) {
        self.events
            .lock()
            .unwrap()
            .push(format!("{reason} {}", tag.key()));
    }
}

impl FakeCluster {
    fn imported_tags(&self) -> Vec<String> {
        self.imports
            .lock()
            .unwrap()
            .iter()
            .map(|i| {
                format!(
                    "{}:{}",
                    i["metadata"]["name"].as_str().unwrap(),
                    i["spec"]["images"][0]["to"]["name"].as_str().unwrap()
                )
            })
            .collect()
    }
}

/// A stream `name` in `shop` with one insecure tag `latest` from `from`, whose status holds
/// `digest` (what OpenShift imported).
pub(super) fn stream(name: &str, from: &str, digest: &str) -> Value {
    json!({"metadata": {"namespace": "shop", "name": name, "resourceVersion": "1"},
        "spec": {"tags": [{"name": "latest", "from": {"kind": "DockerImage", "name": from},
            "importPolicy": {"insecure": true, "importMode": "Legacy"},
            "referencePolicy": {"type": "Source"}}]},
        "status": {"tags": [{"tag": "latest", "items": [{"image": digest}]}]}})
}

pub(super) fn options(host: &str) -> PollOptions {
    PollOptions {
        rules: RuleConfig {
            polled_registries: vec![host.to_string()],
            ..RuleConfig::default()
        },
        spread: Duration::ZERO,
        concurrency: 8,
        rate: 1000.0,
        ratelimit_reserve: 20,
        scope_defaults: crate::scan::scope::ChartDefaults::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_unchanged_tags_cost_no_get_and_one_push_one_import() {
    let registry = Registry::start().await;
    let cluster = FakeCluster::default();
    let mut streams = Vec::new();
    for i in 0..20 {
        let (digest, _) = registry
            .push_image(
                &format!("team/app{i}"),
                "latest",
                &format!("v1-{i}"),
                "amd64",
            )
            .await;
        streams.push(stream(
            &format!("app{i}"),
            &format!("{}/team/app{i}:latest", registry.host),
            &digest,
        ));
    }
    *cluster.streams.lock().unwrap() = streams;
    let gets_before = registry.manifest_requests("GET");
    let heads =
        Arc::new(RegistryClient::with_proxies(Duration::from_secs(10), Proxies::none()).unwrap());
    let mut poller = Poller::new(cluster.clone(), heads.clone(), options(&registry.host))
        .await
        .unwrap();
    let first = poller.poll_once(1_000).await.unwrap();
    assert_eq!(
        (first.polled, first.recorded, first.imported.len()),
        (20, 20, 0),
        "{first:?}"
    );
    for cycle in 0..5 {
        let report = poller.poll_once(1_001 + cycle).await.unwrap();
        assert_eq!(
            (report.unchanged, report.imported.len()),
            (20, 0),
            "{report:?}"
        );
    }
    // HEADs went out (the log is written as requests end; give it a moment).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        registry.manifest_requests("HEAD") >= 120,
        "HEADs in the log"
    );
    assert_eq!(
        registry.manifest_requests("GET"),
        gets_before,
        "no manifest GET while nothing changes"
    );
    assert!(cluster.imports.lock().unwrap().is_empty());

    let (new, _) = registry
        .push_image("team/app7", "latest", "v2-7", "amd64")
        .await;
    let report = poller.poll_once(2_000).await.unwrap();
    assert_eq!(report.imported, ["shop/app7:latest"], "{report:?}");
    assert_eq!(cluster.imported_tags(), ["app7:latest"]);
    let import = cluster.imports.lock().unwrap()[0].clone();
    assert_eq!(
        import["spec"],
        json!({"import": true, "images": [{
            "from": {"kind": "DockerImage", "name": format!("{}/team/app7:latest", registry.host)},
            "to": {"name": "latest"},
            "importPolicy": {"insecure": true, "importMode": "Legacy"},
            "referencePolicy": {"type": "Source"}}]})
    );
    assert_eq!(poller.state().tags["shop/app7:latest"].digest, new);
    assert!(
        cluster
            .events
            .lock()
            .unwrap()
            .contains(&"ImportStarted shop/app7:latest".to_string())
    );
    // OpenShift has not updated the status in this fake; the record alone stops a re-import.
    let again = poller.poll_once(2_001).await.unwrap();
    assert!(again.imported.is_empty(), "{again:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        registry.manifest_requests("GET"),
        gets_before,
        "the poller itself never GETs a manifest"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_manifest_list_is_imported_once_even_across_restarts() {
    let registry = Registry::start().await;
    let (list, amd64) = registry
        .push_manifest_list("team/multi", "latest", "m1")
        .await;
    assert_ne!(list, amd64);
    let cluster = FakeCluster::default();
    // What a Legacy import stores: the amd64 sub-manifest, not the list's digest.
    *cluster.streams.lock().unwrap() = vec![stream(
        "multi",
        &format!("{}/team/multi:latest", registry.host),
        &amd64,
    )];
    let heads =
        Arc::new(RegistryClient::with_proxies(Duration::from_secs(10), Proxies::none()).unwrap());
    let mut poller = Poller::new(cluster.clone(), heads.clone(), options(&registry.host))
        .await
        .unwrap();
    let first = poller.poll_once(10).await.unwrap();
    assert_eq!(first.imported, ["shop/multi:latest"], "{first:?}");
    for now in 11..15 {
        let report = poller.poll_once(now).await.unwrap();
        assert_eq!(report.unchanged, 1, "{report:?}");
    }
    drop(poller);
    // A restart (or a new leader) reads the state back and does not import again.
    let mut restarted = Poller::new(cluster.clone(), heads.clone(), options(&registry.host))
        .await
        .unwrap();
    let report = restarted.poll_once(20).await.unwrap();
    assert_eq!(
        (report.unchanged, report.imported.len()),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(cluster.imported_tags(), ["multi:latest"]);
    // A new list is one more import.
    registry
        .push_manifest_list("team/multi", "latest", "m2")
        .await;
    let report = restarted.poll_once(30).await.unwrap();
    assert_eq!(report.imported, ["shop/multi:latest"]);
    assert_eq!(cluster.imported_tags().len(), 2);
}
