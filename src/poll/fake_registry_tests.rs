//! What the real registry does not do, from a small fake one on loopback: Docker Hub's
//! `ratelimit-remaining`, `429` with `Retry-After`, the anonymous bearer-token flow, and a
//! `401` that stays a `401` with a token (a private repository).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use serde_json::json;

use super::Poller;
use super::proxy::Proxies;
use super::registry::RegistryClient;
use super::registry_tests_support::{FakeCluster, options, stream};

#[derive(Default)]
pub(super) struct Fake {
    pub(super) host: Mutex<String>,
    digest: Mutex<String>,
    remaining: AtomicU64,
    throttled: AtomicUsize,
    pub(super) manifest_requests: Mutex<Vec<String>>,
}

async fn manifest(
    State(fake): State<Arc<Fake>>,
    Path((repo, name, _reference)): Path<(String, String, String)>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> impl IntoResponse {
    let repo = format!("{repo}/{name}");
    fake.manifest_requests
        .lock()
        .unwrap()
        .push(format!("{method} {repo}"));
    let mut out = HeaderMap::new();
    if fake.throttled.load(Ordering::SeqCst) > 0 {
        fake.throttled.fetch_sub(1, Ordering::SeqCst);
        out.insert("retry-after", HeaderValue::from_static("30"));
        return (StatusCode::TOO_MANY_REQUESTS, out);
    }
    let authorized = headers
        .get("authorization")
        .is_some_and(|v| v == "Bearer anonymous-token");
    if !authorized || repo == "team/private" {
        let challenge = format!(
            "Bearer realm=\"http://{}/token\",service=\"fake\",scope=\"repository:{repo}:pull\"",
            fake.host.lock().unwrap()
        );
        out.insert("www-authenticate", challenge.parse().unwrap());
        return (StatusCode::UNAUTHORIZED, out);
    }
    out.insert(
        "docker-content-digest",
        fake.digest.lock().unwrap().parse().unwrap(),
    );
    let remaining = format!("{};w=21600", fake.remaining.load(Ordering::SeqCst));
    out.insert("ratelimit-remaining", remaining.parse().unwrap());
    out.insert("ratelimit-limit", HeaderValue::from_static("100;w=21600"));
    (StatusCode::OK, out)
}

pub(super) async fn start() -> Arc<Fake> {
    let fake = Arc::new(Fake::default());
    *fake.digest.lock().unwrap() = "sha256:1111".into();
    fake.remaining.store(80, Ordering::SeqCst);
    let app = router(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    *fake.host.lock().unwrap() = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    fake
}

/// The fake registry's routes (its token service included).
pub(super) fn router(fake: Arc<Fake>) -> axum::Router {
    axum::Router::new()
        .route(
            "/token",
            get(|| async { axum::Json(json!({"token": "anonymous-token", "expires_in": 300})) }),
        )
        .route("/v2/{repo}/{name}/manifests/{reference}", any(manifest))
        .with_state(fake)
}

#[tokio::test]
async fn token_flow_ratelimit_headers_backoff_and_private_repositories() {
    let fake = start().await;
    let host = fake.host.lock().unwrap().clone();
    let cluster = FakeCluster::default();
    *cluster.streams.lock().unwrap() = vec![
        stream("public", &format!("{host}/team/public:1"), "sha256:1111"),
        stream("private", &format!("{host}/team/private:1"), "sha256:1111"),
    ];
    let heads =
        Arc::new(RegistryClient::with_proxies(Duration::from_secs(5), Proxies::none()).unwrap());
    let mut poller = Poller::new(cluster.clone(), heads.clone(), options(&host))
        .await
        .unwrap();
    let report = poller.poll_once(100).await.unwrap();
    // The public tag: anonymous token, then its digest (already imported: recorded).
    assert_eq!(report.recorded, 1, "{report:?}");
    assert_eq!(report.head_errors.len(), 1, "{report:?}");
    assert_eq!(report.head_errors[0].0, "shop/private:latest");
    assert!(
        report.head_errors[0].1.contains("Unauthorized"),
        "{report:?}"
    );
    assert!(
        fake.manifest_requests
            .lock()
            .unwrap()
            .iter()
            .all(|r| r.starts_with("HEAD ")),
        "only HEADs"
    );
    // The private tag is listed in its stream's annotation, by a merge patch of that one
    // annotation guarded by the resourceVersion; the webhook, seeing that UPDATE, schedules it.
    assert_eq!(report.unpollable, ["shop/private:latest"], "{report:?}");
    assert_eq!(
        *cluster.patches.lock().unwrap(),
        [
            json!({"namespace": "shop", "name": "private", "patch": {"metadata": {
            "resourceVersion": "1",
            "annotations": {"autoredeploy.io/unpollable-tags": "latest"}}}})
        ]
    );
    assert!(
        cluster
            .events
            .lock()
            .unwrap()
            .contains(&"Unpollable shop/private:latest".to_string())
    );
    let private_heads = || {
        (fake.manifest_requests.lock().unwrap().iter())
            .filter(|r| r.ends_with("team/private"))
            .count()
    };
    let headed = private_heads();
    assert!(headed > 0);

    // ratelimit-remaining at the reserve (20): the change is detected, the import waits.
    fake.remaining.store(20, Ordering::SeqCst);
    *fake.digest.lock().unwrap() = "sha256:2222".into();
    // First cycle sees remaining=20 only after this HEAD: the import itself is held back.
    let report = poller.poll_once(200).await.unwrap();
    assert_eq!(
        report.waiting,
        [("shop/public:latest".to_string(), "ratelimit".to_string())],
        "{report:?}"
    );
    assert!(cluster.imports.lock().unwrap().is_empty());
    assert!(
        cluster
            .events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.starts_with("ImportWaiting"))
    );
    // Room again: the waiting import goes out (the digest was not recorded while waiting).
    fake.remaining.store(90, Ordering::SeqCst);
    let report = poller.poll_once(300).await.unwrap();
    assert_eq!(report.imported, ["shop/public:latest"], "{report:?}");

    // 429 with Retry-After: 30 backs the registry off; no HEAD until it has passed.
    fake.throttled.store(2, Ordering::SeqCst);
    let before = fake.manifest_requests.lock().unwrap().len();
    let report = poller.poll_once(400).await.unwrap();
    assert!(
        report.head_errors.iter().any(|(_, e)| e.contains("429")),
        "{report:?}"
    );
    let after_throttle = fake.manifest_requests.lock().unwrap().len();
    assert!(after_throttle > before);
    let report = poller.poll_once(410).await.unwrap();
    assert_eq!(report.polled, 1, "the private tag is no longer polled");
    assert_eq!(
        fake.manifest_requests.lock().unwrap().len(),
        after_throttle,
        "backed off"
    );
    fake.throttled.store(0, Ordering::SeqCst);
    let report = poller.poll_once(431).await.unwrap();
    assert_eq!(report.unchanged, 1, "{report:?}");
    assert!(fake.manifest_requests.lock().unwrap().len() > after_throttle);
    assert_eq!(
        private_heads(),
        headed,
        "no HEAD of the private tag after it was listed"
    );
    assert!(report.head_errors.is_empty(), "{report:?}");
    assert_eq!(cluster.patches.lock().unwrap().len(), 1, "patched once");
}

#[tokio::test]
async fn a_budget_holds_imports_back_in_a_rolling_window() {
    let fake = start().await;
    let host = fake.host.lock().unwrap().clone();
    let cluster = FakeCluster::default();
    *cluster.streams.lock().unwrap() = vec![stream("a", &format!("{host}/team/a:1"), "sha256:old")];
    let mut opts = options(&host);
    opts.rules.budgets = crate::config::RegistryBudgets::new(
        &[format!("{host}=1/1h").parse().unwrap()],
        "15m".parse().unwrap(),
    );
    let heads =
        Arc::new(RegistryClient::with_proxies(Duration::from_secs(5), Proxies::none()).unwrap());
    let mut poller = Poller::new(cluster.clone(), heads, opts).await.unwrap();
    assert_eq!(poller.poll_once(0).await.unwrap().imported.len(), 1);
    *fake.digest.lock().unwrap() = "sha256:3333".into();
    let report = poller.poll_once(60).await.unwrap();
    assert_eq!(
        report.waiting,
        [("shop/a:latest".to_string(), "budget".to_string())]
    );
    let report = poller.poll_once(3_600).await.unwrap();
    assert_eq!(
        report.imported,
        ["shop/a:latest"],
        "the first import left the window"
    );
}

#[tokio::test]
async fn a_change_imports_as_soon_as_its_head_answers_not_at_the_end_of_the_cycle() {
    let fake = start().await;
    let host = fake.host.lock().unwrap().clone();
    let cluster = FakeCluster::default();
    // "a" changed (its status holds another digest), "b" did not; their HEADs are 2 s apart.
    *cluster.streams.lock().unwrap() = vec![
        stream("a", &format!("{host}/team/a:1"), "sha256:old"),
        stream("b", &format!("{host}/team/b:1"), "sha256:1111"),
    ];
    let mut opts = options(&host);
    opts.spread = Duration::from_secs(4);
    let heads =
        Arc::new(RegistryClient::with_proxies(Duration::from_secs(5), Proxies::none()).unwrap());
    let mut poller = Poller::new(cluster.clone(), heads, opts).await.unwrap();
    let cycle = tokio::spawn(async move { poller.poll_once(0).await.unwrap() });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while cluster.imports.lock().unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no import within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let asked = fake.manifest_requests.lock().unwrap().clone();
    assert!(
        !asked.iter().any(|r| r.ends_with("team/b")),
        "a's import went out before b's HEAD: {asked:?}"
    );
    let report = cycle.await.unwrap();
    assert_eq!(report.imported, ["shop/a:latest"], "{report:?}");
    assert_eq!(report.recorded, 1, "{report:?}");
}

#[tokio::test]
async fn streams_the_webhook_would_not_mutate_are_never_headed_nor_imported() {
    let fake = start().await;
    let host = fake.host.lock().unwrap().clone();
    let cluster = FakeCluster::default();
    let in_namespace = |namespace: &str, repo: &str| {
        let mut s = stream("app", &format!("{host}/team/{repo}:1"), "sha256:old");
        s["metadata"]["namespace"] = json!(namespace);
        s
    };
    *cluster.streams.lock().unwrap() = vec![
        in_namespace("shop", "shop"),
        in_namespace("quiet", "quiet"),
        in_namespace("watched", "watched"),
        in_namespace("openshift", "samples"),
        in_namespace("openshift-config", "config"),
    ];
    let namespace = |name: &str, mode: Option<&str>| {
        let mut labels = json!({"kubernetes.io/metadata.name": name});
        if let Some(mode) = mode {
            labels["autoredeploy.io/mode"] = json!(mode);
        }
        json!({"metadata": {"name": name, "labels": labels}})
    };
    *cluster.namespaces.lock().unwrap() = Some(vec![
        namespace("shop", None),
        namespace("quiet", Some("disabled")),
        namespace("watched", Some("audit")),
        namespace("openshift", None),
        namespace("openshift-config", None),
    ]);
    *cluster.configurations.lock().unwrap() =
        vec![crate::scan::scope::ChartDefaults::default().configuration()];
    let heads =
        Arc::new(RegistryClient::with_proxies(Duration::from_secs(5), Proxies::none()).unwrap());
    let mut poller = Poller::new(cluster.clone(), heads, options(&host))
        .await
        .unwrap();
    let report = poller.poll_once(0).await.unwrap();
    assert_eq!(report.imported, ["shop/app:latest"], "{report:?}");
    let left: Vec<&str> = report
        .out_of_scope
        .iter()
        .map(|(s, _)| s.as_str())
        .collect();
    assert_eq!(
        left,
        [
            "quiet/app",
            "watched/app",
            "openshift/app",
            "openshift-config/app"
        ],
        "{report:?}"
    );
    let asked = fake.manifest_requests.lock().unwrap().clone();
    assert!(
        asked.iter().all(|r| r.ends_with("team/shop")),
        "only shop's tag is HEADed: {asked:?}"
    );

    // Labelled audit since: the next cycle leaves it alone too, though its image changed.
    (cluster.namespaces.lock().unwrap().as_mut().unwrap())[0] = namespace("shop", Some("audit"));
    *fake.digest.lock().unwrap() = "sha256:2222".into();
    let before = fake.manifest_requests.lock().unwrap().len();
    let report = poller.poll_once(100).await.unwrap();
    assert!(report.imported.is_empty(), "{report:?}");
    assert_eq!(report.out_of_scope.len(), 5, "{report:?}");
    assert_eq!(fake.manifest_requests.lock().unwrap().len(), before);
    assert_eq!(cluster.imports.lock().unwrap().len(), 1);
}
