//! A fake Kubernetes API server on 127.0.0.1 for `scan`: paginated lists (`limit` and
//! `continue`) of any stored kind, cluster-wide and per namespace, GET of one object, and JSON
//! Patch (`application/json-patch+json`) with `test` operations, `dryRun=All` and
//! `fieldManager`. Namespaces and MutatingWebhookConfigurations are served too (cluster-scoped):
//! like a real cluster, every object's namespace exists, labelled `kubernetes.io/metadata.name`
//! as kube-apiserver labels it, and the chart's webhook configuration is installed unless a
//! test removes it. Tests can stop serving OpenShift's API groups (plain Kubernetes: 404),
//! forbid a resource (403), and let a concurrent writer change an object just before the next
//! patches of it arrive (the `test` of its resourceVersion then fails with 422).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub mod objects;

/// `(group/version, kind, plural)` of the kinds the fake serves.
const KINDS: [(&str, &str, &str); 8] = [
    ("v1", "Namespace", "namespaces"),
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
    ),
    ("image.openshift.io/v1", "ImageStream", "imagestreams"),
    (
        "apps.openshift.io/v1",
        "DeploymentConfig",
        "deploymentconfigs",
    ),
    ("apps/v1", "Deployment", "deployments"),
    ("apps/v1", "StatefulSet", "statefulsets"),
    ("apps/v1", "DaemonSet", "daemonsets"),
    ("batch/v1", "CronJob", "cronjobs"),
];

/// (group/version, plural, namespace, name)
type Key = (String, String, String, String);

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
}

/// One PATCH request as received.
#[derive(Debug, Clone)]
pub struct Patched {
    pub namespace: String,
    pub name: String,
    pub query: String,
    /// The JSON Patch.
    pub body: Value,
}

#[derive(Default)]
struct Store {
    objects: BTreeMap<Key, Value>,
    resource_version: u64,
    openshift: bool,
    forbidden: BTreeSet<String>,
    /// Lists of this plural always answer the same continue token (a broken server).
    stuck: Option<String>,
    /// Plurals whose cluster-wide list answers 403 (namespaced requests are allowed).
    namespace_only: BTreeSet<String>,
    /// Plurals whose PATCH answers 403 (lists and GETs are allowed).
    read_only: BTreeSet<String>,
    /// Name -> patches still to be preceded by someone else's write.
    interfere: BTreeMap<String, usize>,
    seen: Vec<Seen>,
    patches: Vec<Patched>,
}

#[derive(Clone)]
pub struct FakeCluster {
    store: Arc<Mutex<Store>>,
    pub addr: SocketAddr,
}

/// The chart's MutatingWebhookConfiguration as Helm renders it with the default values.
pub fn chart_webhook_configuration() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/webhook/chart-default.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

/// A Namespace as kube-apiserver stores it: labelled with its own name, and `labels`.
pub fn namespace(name: &str, labels: &[(&str, &str)]) -> Value {
    let mut all = serde_json::Map::new();
    all.insert("kubernetes.io/metadata.name".into(), json!(name));
    for (key, value) in labels {
        all.insert(key.to_string(), json!(value));
    }
    json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": all}, "spec": {"finalizers": ["kubernetes"]}})
}

impl FakeCluster {
    /// Serve `objects` (each with `apiVersion`, `kind`, `metadata.namespace` and `name`), the
    /// namespaces they live in (unless given among them), and the chart's webhook
    /// configuration.
    pub async fn start(objects: impl IntoIterator<Item = Value>) -> Self {
        let objects: Vec<Value> = objects.into_iter().collect();
        let given: BTreeSet<String> = objects
            .iter()
            .filter(|o| o["kind"] == "Namespace")
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        let needed: BTreeSet<String> = objects
            .iter()
            .filter_map(|o| o["metadata"]["namespace"].as_str().map(str::to_string))
            .filter(|ns| !ns.is_empty() && !given.contains(ns))
            .collect();
        let mut all = vec![chart_webhook_configuration()];
        all.extend(needed.iter().map(|ns| namespace(ns, &[])));
        all.extend(objects);
        Self::start_exactly(all).await
    }

    /// Serve exactly `objects`: no namespace or webhook configuration is added.
    pub async fn start_exactly(objects: impl IntoIterator<Item = Value>) -> Self {
        let store = Arc::new(Mutex::new(Store {
            openshift: true,
            ..Store::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&store));
        tokio::spawn(async move { axum::serve(listener, router).await });
        let cluster = FakeCluster { store, addr };
        for object in objects {
            cluster.put(object);
        }
        cluster
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().expect("fake store")
    }

    /// Store (create or replace) an object with a new resourceVersion.
    pub fn put(&self, object: Value) {
        let mut store = self.lock();
        store_object(&mut store, object);
    }

    /// The stored object.
    pub fn object(&self, kind: &str, namespace: &str, name: &str) -> Value {
        self.lock()
            .objects
            .get(&key_of(kind, namespace, name))
            .cloned()
            .expect("stored object")
    }

    /// Delete a stored object (`namespace` is `""` for a cluster-scoped kind).
    pub fn remove(&self, kind: &str, namespace: &str, name: &str) {
        let removed = self.lock().objects.remove(&key_of(kind, namespace, name));
        assert!(removed.is_some(), "no {kind} {namespace}/{name} to remove");
    }

    /// Plain Kubernetes: `image.openshift.io` and `apps.openshift.io` answer 404.
    pub fn without_openshift(&self) {
        self.lock().openshift = false;
    }

    /// Requests on `plural` answer 403, as RBAC would.
    pub fn forbid(&self, plural: &str) {
        self.lock().forbidden.insert(plural.to_string());
    }

    /// Every list of `plural` answers `continue: "1"`, page after page.
    pub fn stick_pages(&self, plural: &str) {
        self.lock().stuck = Some(plural.to_string());
    }

    /// Listing `plural` in all namespaces answers 403; in one namespace it is allowed.
    pub fn forbid_cluster_wide(&self, plural: &str) {
        self.lock().namespace_only.insert(plural.to_string());
    }

    /// PATCH on `plural` answers 403; reading it is allowed.
    pub fn forbid_patches(&self, plural: &str) {
        self.lock().read_only.insert(plural.to_string());
    }

    /// The next `times` patches of objects called `name` find it changed by someone else
    /// (a label added, resourceVersion bumped) just before they apply.
    pub fn interfere(&self, name: &str, times: usize) {
        self.lock().interfere.insert(name.to_string(), times);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Every PATCH received, in order.
    pub fn patches(&self) -> Vec<Patched> {
        self.lock().patches.clone()
    }

    /// A kubeconfig file pointing at this server, in `dir`.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: 'http://{}'}}\n\
             users:\n- name: me\n  user: {{token: not-a-secret}}\ncontexts:\n- name: fake\n  \
             context: {{cluster: fake, user: me, namespace: shop}}\ncurrent-context: fake\n",
            self.addr
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}

fn key_of(kind: &str, namespace: &str, name: &str) -> Key {
    let (api_version, _, plural) = KINDS.iter().find(|k| k.1 == kind).expect("known kind");
    (
        api_version.to_string(),
        plural.to_string(),
        namespace.into(),
        name.into(),
    )
}

fn store_object(store: &mut Store, mut object: Value) -> Value {
    store.resource_version += 1;
    object["metadata"]["resourceVersion"] = json!(store.resource_version.to_string());
    let api_version = object["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kind = object["kind"].as_str().unwrap_or_default();
    let plural = KINDS
        .iter()
        .find(|k| k.1 == kind)
        .map(|k| k.2)
        .expect("known kind");
    let meta = &object["metadata"];
    let text = |f: &str| meta[f].as_str().unwrap_or_default().to_string();
    let key = (
        api_version,
        plural.to_string(),
        text("namespace"),
        text("name"),
    );
    store.objects.insert(key, object.clone());
    object
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16()});
    (code, axum::Json(body)).into_response()
}

/// The parts of a resource path: group/version, namespace, plural, name.
struct Target {
    api_version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (api_version, rest) = match parts.as_slice() {
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        ["api", version, rest @ ..] => (version.to_string(), rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        // The namespaces themselves: `/api/v1/namespaces[/NAME]`.
        ["namespaces"] | ["namespaces", _] => (None, rest),
        ["namespaces", ns, rest @ ..] => (Some(ns.to_string()), rest),
        rest => (None, rest),
    };
    let (plural, name) = match rest {
        [plural] => (plural.to_string(), None),
        [plural, name] => (plural.to_string(), Some(name.to_string())),
        _ => return None,
    };
    Some(Target {
        api_version,
        namespace,
        plural,
        name,
    })
}

async fn handle(
    State(store): State<Arc<Mutex<Store>>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = query.unwrap_or_default();
    let mut store = store.lock().expect("fake store");
    store.seen.push(Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: query.clone(),
    });
    let Some(target) = parse_path(uri.path()) else {
        return not_found();
    };
    if let Some(refusal) = refusal(&store, &method, &target) {
        return refusal;
    }
    let json_patch = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        == Some("application/json-patch+json");
    match (method, target.name.clone()) {
        (Method::GET, None) => list(&store, &target, &query),
        (Method::GET, Some(name)) => match find(&store, &target, &name) {
            Some(object) => axum::Json(object).into_response(),
            None => status(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("{name:?} not found"),
            ),
        },
        (Method::PATCH, Some(_)) if !json_patch => status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "want a JSON Patch",
        ),
        (Method::PATCH, Some(name)) => patch(&mut store, &target, &name, &query, &body),
        _ => status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "not served",
        ),
    }
}

/// 404 for what is not served, 403 for what RBAC would forbid, `None` to go on.
fn refusal(store: &Store, method: &Method, target: &Target) -> Option<Response> {
    let served = KINDS
        .iter()
        .any(|k| k.0 == target.api_version && k.2 == target.plural);
    if !served || (!store.openshift && target.api_version.contains("openshift.io")) {
        return Some(not_found());
    }
    let read_only = method == Method::PATCH && store.read_only.contains(&target.plural);
    let cluster_wide = target.namespace.is_none() && store.namespace_only.contains(&target.plural);
    if !(read_only || cluster_wide || store.forbidden.contains(&target.plural)) {
        return None;
    }
    let message = format!(
        "{} is forbidden: User \"me\" cannot {} resource \"{}\"",
        target.plural,
        method.as_str().to_lowercase(),
        target.plural
    );
    Some(status(StatusCode::FORBIDDEN, "Forbidden", &message))
}

/// What kube-apiserver answers for an API group or resource it does not serve.
fn not_found() -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
    )
}

fn find(store: &Store, target: &Target, name: &str) -> Option<Value> {
    let key = (
        target.api_version.clone(),
        target.plural.clone(),
        target.namespace.clone().unwrap_or_default(),
        name.to_string(),
    );
    store.objects.get(&key).cloned()
}

fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Items in key order; `continue` is the offset of the next page.
fn list(store: &Store, target: &Target, query: &str) -> Response {
    let matching: Vec<&Value> = store
        .objects
        .iter()
        .filter(|((api, plural, ns, _), _)| {
            *api == target.api_version
                && *plural == target.plural
                && target.namespace.as_ref().is_none_or(|scope| scope == ns)
        })
        .map(|(_, object)| object)
        .collect();
    let offset: usize = param(query, "continue")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let limit: usize = param(query, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX);
    let end = offset.saturating_add(limit).min(matching.len());
    let items: Vec<Value> = matching[offset.min(end)..end]
        .iter()
        .map(|object| {
            let mut item = (*object).clone();
            if let Some(fields) = item.as_object_mut() {
                fields.remove("apiVersion");
                fields.remove("kind");
            }
            item
        })
        .collect();
    let mut metadata = json!({"resourceVersion": store.resource_version.to_string()});
    if end < matching.len() {
        metadata["continue"] = json!(end.to_string());
    }
    if store.stuck.as_deref() == Some(target.plural.as_str()) {
        metadata["continue"] = json!("1");
    }
    axum::Json(json!({"apiVersion": target.api_version, "kind": "List", "metadata": metadata, "items": items}))
        .into_response()
}

fn patch(store: &mut Store, target: &Target, name: &str, query: &str, body: &[u8]) -> Response {
    let Ok(ops) = serde_json::from_slice::<json_patch::Patch>(body) else {
        return status(StatusCode::BAD_REQUEST, "BadRequest", "not a JSON Patch");
    };
    store.patches.push(Patched {
        namespace: target.namespace.clone().unwrap_or_default(),
        name: name.to_string(),
        query: query.to_string(),
        body: serde_json::from_slice(body).unwrap_or_default(),
    });
    if let Some(left) = store.interfere.get_mut(name).filter(|n| **n > 0) {
        *left -= 1;
        if let Some(mut other) = find(store, target, name) {
            other["metadata"]["labels"]["touched-by"] = json!("someone-else");
            store_object(store, other);
        }
    }
    let Some(mut object) = find(store, target, name) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{name:?} not found"),
        );
    };
    if let Err(error) = json_patch::patch(&mut object, &ops) {
        return status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            &error.to_string(),
        );
    }
    if param(query, "dryRun") == Some("All") {
        return axum::Json(object).into_response();
    }
    axum::Json(store_object(store, object)).into_response()
}
