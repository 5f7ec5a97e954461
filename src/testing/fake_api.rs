//! A fake Kubernetes API server on 127.0.0.1, the one every test that talks to a cluster
//! starts: the catalog watch, `serve --catalog` and `scan`. It keeps one store of objects of
//! the kinds in [`KINDS`] (namespaces, MutatingWebhookConfigurations, ImageStreams,
//! DeploymentConfigs, Deployments, StatefulSets, DaemonSets, CronJobs), every write giving the
//! object the next `resourceVersion`, and serves it over plain HTTP:
//!
//! - lists, cluster-wide and per namespace, paginated with `limit` and `continue` (the token
//!   is the offset of the next page), items without `apiVersion` and `kind`, the list's
//!   `resourceVersion` the store's;
//! - `?watch=true` (or `1`): a chunked stream of one JSON watch event per line, ADDED, MODIFIED or
//!   DELETED for every later write of that kind in that scope (from [`FakeApi::apply`],
//!   [`FakeApi::delete`] and successful patches); the `resourceVersion` a watch asks to start
//!   from is not read, so only writes after the watch opened reach it;
//! - GET of one object, and PATCH with a JSON Patch (`application/json-patch+json`, else
//!   415; `test` operations included, 422 when one fails or a path is missing), `dryRun=All`
//!   answering the result unstored; `fieldManager` is recorded with the patch
//!   ([`FakeApi::patches`]) and not checked. Every request is recorded ([`FakeApi::seen`]).
//!
//! Like a real cluster, [`FakeApi::start`] also stores every object's namespace, labelled
//! `kubernetes.io/metadata.name` as kube-apiserver labels it, and the chart's webhook
//! configuration as Helm renders it with the default values; [`FakeApi::start_exactly`] adds
//! nothing. What it fakes beyond that, on a test's word: a plain Kubernetes cluster
//! (OpenShift's API groups answer 404), RBAC refusals (403 for a resource, its cluster-wide
//! lists or its patches), a server that repeats its continue token, a concurrent writer that
//! changes an object just before the next patches of it arrive (their `test` of its
//! `resourceVersion` then fails), failing lists (500, as in an etcd outage), watch `ERROR`
//! events (410 Gone also closes every watch, as when the resource version expired) and
//! deletions no watch hears of. It serves nothing else: any other path or kind answers 404 and
//! any other method 405, with a Status body as a real server's. Requests are not
//! authenticated. Its table of kinds is its own, not `scan`'s, so a wrong path in the code
//! under test is a failing test, not an agreement.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// `(apiVersion, kind, plural)` of the kinds the fake serves.
pub const KINDS: [(&str, &str, &str); 8] = [
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

/// (apiVersion, plural, namespace, name); the namespace is `""` for a cluster-scoped kind.
type Key = (String, String, String, String);

type EventSender = mpsc::UnboundedSender<Result<Bytes, Infallible>>;

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

/// An open watch: the collection it watches and where its events go.
struct Watch {
    api_version: String,
    plural: String,
    /// `None`: every namespace.
    namespace: Option<String>,
    sender: EventSender,
}

#[derive(Default)]
struct Store {
    objects: BTreeMap<Key, Value>,
    resource_version: u64,
    watches: Vec<Watch>,
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
    /// Lists answer 500.
    failing_lists: bool,
    lists_served: usize,
    lists_failed: usize,
    seen: Vec<Seen>,
    patches: Vec<Patched>,
}

/// Handle on a running fake API server (it runs until the test's runtime stops).
#[derive(Clone)]
pub struct FakeApi {
    store: Arc<Mutex<Store>>,
    pub addr: SocketAddr,
}

/// The chart's MutatingWebhookConfiguration as Helm renders it with the default values
/// (`tests/fixtures/webhook/chart-default.json`).
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

impl FakeApi {
    /// Serve `objects` (each with `apiVersion`, `kind`, `metadata.name` and, when namespaced,
    /// `metadata.namespace`), the namespaces they live in (unless given among them), and the
    /// chart's webhook configuration.
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
        let api = FakeApi { store, addr };
        for object in objects {
            api.apply(object);
        }
        api
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().expect("fake store")
    }

    /// Create or replace an object with a new resourceVersion, and send ADDED or MODIFIED to
    /// the watches of its kind and namespace.
    pub fn apply(&self, object: Value) {
        write(&mut self.lock(), object);
    }

    /// The stored object (`namespace` is `""` for a cluster-scoped kind).
    pub fn object(&self, kind: &str, namespace: &str, name: &str) -> Value {
        self.lock()
            .objects
            .get(&key_of(kind, namespace, name))
            .cloned()
            .expect("stored object")
    }

    /// Delete a stored object and send DELETED (with a new resourceVersion) to the watches of
    /// its kind and namespace.
    pub fn delete(&self, kind: &str, namespace: &str, name: &str) {
        let mut store = self.lock();
        let mut object = remove(&mut store, kind, namespace, name);
        store.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(store.resource_version.to_string());
        broadcast(&mut store, &object, "DELETED");
    }

    /// Delete a stored object while no watch hears of it (the watch was down).
    pub fn delete_unseen(&self, kind: &str, namespace: &str, name: &str) {
        remove(&mut self.lock(), kind, namespace, name);
    }

    /// Send a watch `ERROR` event with `code` to every open watch; 410 also closes them, as
    /// an API server does when the resource version expired.
    pub fn watch_error(&self, code: u16, reason: &str) {
        let event = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
            "metadata": {}, "status": "Failure", "message": format!("fake {reason}"),
            "reason": reason, "code": code}});
        let line = line(&event);
        let mut store = self.lock();
        for watch in &store.watches {
            let _ = watch.sender.send(Ok(line.clone()));
        }
        if code == 410 {
            store.watches.clear();
        }
    }

    /// From now on lists answer HTTP 500 (`true`) or succeed again (`false`); watches and
    /// GETs are not affected.
    pub fn fail_lists(&self, failing: bool) {
        self.lock().failing_lists = failing;
    }

    /// Lists answered with items, of every kind.
    pub fn lists_served(&self) -> usize {
        self.lock().lists_served
    }

    /// Lists answered 500 by [`FakeApi::fail_lists`].
    pub fn lists_failed(&self) -> usize {
        self.lock().lists_failed
    }

    /// Open watches (closed ones are pruned).
    pub fn open_watches(&self) -> usize {
        let mut store = self.lock();
        store.watches.retain(|watch| !watch.sender.is_closed());
        store.watches.len()
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

    /// Every request received, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Every PATCH received, in order.
    pub fn patches(&self) -> Vec<Patched> {
        self.lock().patches.clone()
    }

    /// A kubeconfig file in `dir` pointing at this server (plain HTTP, a token the fake does
    /// not read, default namespace `shop`); returns its path.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
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

    /// A kube client for this server (plain HTTP on loopback).
    pub fn client(&self) -> kube::Client {
        let url = format!("http://{}", self.addr).parse().expect("url");
        kube::Client::try_from(kube::Config::new(url)).expect("client")
    }
}

/// `(apiVersion, plural)` of a served kind.
fn api_of(kind: &str) -> (&'static str, &'static str) {
    KINDS
        .iter()
        .find(|k| k.1 == kind)
        .map(|k| (k.0, k.2))
        .unwrap_or_else(|| panic!("the fake API server does not serve {kind:?}"))
}

fn key_of(kind: &str, namespace: &str, name: &str) -> Key {
    let (api_version, plural) = api_of(kind);
    (
        api_version.to_string(),
        plural.to_string(),
        namespace.into(),
        name.into(),
    )
}

fn object_key(object: &Value) -> Key {
    let meta = &object["metadata"];
    let text = |field: &str| meta[field].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    key_of(kind, text("namespace"), text("name"))
}

fn remove(store: &mut Store, kind: &str, namespace: &str, name: &str) -> Value {
    let removed = store.objects.remove(&key_of(kind, namespace, name));
    removed.unwrap_or_else(|| panic!("no {kind} {namespace}/{name} to delete"))
}

/// Store (create or replace) an object with a new resourceVersion and tell the watches.
fn write(store: &mut Store, mut object: Value) -> Value {
    store.resource_version += 1;
    object["metadata"]["resourceVersion"] = json!(store.resource_version.to_string());
    let key = object_key(&object);
    let event = match store.objects.insert(key, object.clone()) {
        Some(_) => "MODIFIED",
        None => "ADDED",
    };
    broadcast(store, &object, event);
    object
}

/// Send `{"type": event, "object": object}` to the watches of the object's kind and namespace.
fn broadcast(store: &mut Store, object: &Value, event: &str) {
    let (api_version, plural, namespace, _) = object_key(object);
    let line = line(&json!({"type": event, "object": object}));
    for watch in &store.watches {
        let scoped = watch.namespace.as_ref().is_none_or(|ns| *ns == namespace);
        if watch.api_version == api_version && watch.plural == plural && scoped {
            let _ = watch.sender.send(Ok(line.clone()));
        }
    }
}

fn line(event: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(event).expect("event json");
    bytes.push(b'\n');
    Bytes::from(bytes)
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
        (Method::GET, None) if watching(&query) => watch(&mut store, target),
        (Method::GET, None) => list(&mut store, &target, &query),
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

fn watching(query: &str) -> bool {
    matches!(param(query, "watch"), Some("true" | "1"))
}

/// A chunked response that stays open: one line per event sent to the new watch.
fn watch(store: &mut Store, target: Target) -> Response {
    let (sender, receiver) = mpsc::unbounded_channel();
    store.watches.push(Watch {
        api_version: target.api_version,
        plural: target.plural,
        namespace: target.namespace,
        sender,
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response()
}

/// Items in key order; `continue` is the offset of the next page.
fn list(store: &mut Store, target: &Target, query: &str) -> Response {
    if store.failing_lists {
        store.lists_failed += 1;
        return status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "fake etcd outage",
        );
    }
    store.lists_served += 1;
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
    // List items come without `apiVersion` and `kind`, as from a real API server.
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
    let kind = KINDS
        .iter()
        .find(|k| k.0 == target.api_version && k.2 == target.plural)
        .map_or("", |k| k.1);
    axum::Json(
        json!({"apiVersion": target.api_version, "kind": format!("{kind}List"),
        "metadata": metadata, "items": items}),
    )
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
            write(store, other);
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
    axum::Json(write(store, object)).into_response()
}
