//! A fake Kubernetes API server on 127.0.0.1 serving `image.openshift.io/v1` `imagestreams`:
//! list (with `resourceVersion`) and `?watch=true` (one JSON watch event per line, chunked),
//! cluster-wide and per namespace. Tests drive it: store changes, silent deletions (a gap in
//! the watch), watch `ERROR` events, 410 Gone and failing lists.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::mpsc;

type EventSender = mpsc::UnboundedSender<Result<Bytes, Infallible>>;

#[derive(Default)]
struct Store {
    objects: BTreeMap<(String, String), Value>,
    resource_version: u64,
    watches: Vec<(Option<String>, EventSender)>,
    failing_lists: bool,
    lists_served: usize,
    lists_failed: usize,
}

/// Handle on a running fake API server.
#[derive(Clone)]
pub struct FakeApi {
    store: Arc<Mutex<Store>>,
    pub addr: SocketAddr,
}

impl FakeApi {
    /// Serve `objects` (ImageStreams with `metadata.namespace` and `metadata.name`).
    pub async fn start(objects: impl IntoIterator<Item = Value>) -> Self {
        let store = Arc::new(Mutex::new(Store::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let router = Router::new()
            .route("/apis/image.openshift.io/v1/imagestreams", get(all))
            .route(
                "/apis/image.openshift.io/v1/namespaces/{namespace}/imagestreams",
                get(namespaced),
            )
            .with_state(Arc::clone(&store));
        tokio::spawn(async move { axum::serve(listener, router).await });
        let api = Self { store, addr };
        for object in objects {
            api.store_object(object);
        }
        api
    }

    /// A kube client for this server (plain HTTP on loopback).
    /// A kubeconfig file in `dir` pointing at this server; returns its path.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> String {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters:\n- name: fake\n  cluster:\n    server: http://{}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n\
             users:\n- name: fake\n  user: {{}}\n",
            self.addr
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path.to_str().expect("UTF-8 temp path").to_string()
    }

    pub fn client(&self) -> kube::Client {
        let url = format!("http://{}", self.addr).parse().expect("url");
        kube::Client::try_from(kube::Config::new(url)).expect("client")
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().expect("fake store")
    }

    /// Store an object without telling any watch; returns it as stored.
    fn store_object(&self, mut object: Value) -> Value {
        let mut store = self.lock();
        store.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(store.resource_version.to_string());
        store.objects.insert(key(&object), object.clone());
        object
    }

    /// Create or replace an object and send ADDED or MODIFIED to the open watches.
    pub fn apply(&self, object: Value) {
        let existed = self.lock().objects.contains_key(&key(&object));
        let object = self.store_object(object);
        let kind = if existed { "MODIFIED" } else { "ADDED" };
        self.broadcast(&object, json!({"type": kind, "object": object}));
    }

    /// Delete an object and send DELETED to the open watches.
    pub fn delete(&self, namespace: &str, name: &str) {
        let Some(mut object) = self.delete_unseen(namespace, name) else {
            return;
        };
        let mut store = self.lock();
        store.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(store.resource_version.to_string());
        drop(store);
        self.broadcast(&object, json!({"type": "DELETED", "object": object}));
    }

    /// Delete an object while no watch hears of it (the watch was down).
    pub fn delete_unseen(&self, namespace: &str, name: &str) -> Option<Value> {
        let key = (namespace.to_string(), name.to_string());
        self.lock().objects.remove(&key)
    }

    /// Send a watch `ERROR` event with `code` to every open watch; 410 also closes them, as
    /// an API server does when the resource version expired.
    pub fn watch_error(&self, code: u16, reason: &str) {
        let event = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
            "metadata": {}, "status": "Failure", "message": format!("fake {reason}"),
            "reason": reason, "code": code}});
        let line = line(&event);
        let mut store = self.lock();
        for (_, watch) in &store.watches {
            let _ = watch.send(Ok(line.clone()));
        }
        if code == 410 {
            store.watches.clear();
        }
    }

    /// From now on lists answer HTTP 500 (`true`) or succeed again (`false`).
    pub fn fail_lists(&self, failing: bool) {
        self.lock().failing_lists = failing;
    }

    pub fn lists_served(&self) -> usize {
        self.lock().lists_served
    }

    pub fn lists_failed(&self) -> usize {
        self.lock().lists_failed
    }

    /// Open watches (closed ones are pruned).
    pub fn open_watches(&self) -> usize {
        let mut store = self.lock();
        store.watches.retain(|(_, watch)| !watch.is_closed());
        store.watches.len()
    }

    fn broadcast(&self, object: &Value, event: Value) {
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        let line = line(&event);
        let store = self.lock();
        for (scope, watch) in &store.watches {
            if scope.as_deref().is_none_or(|scope| scope == namespace) {
                let _ = watch.send(Ok(line.clone()));
            }
        }
    }
}

fn key(object: &Value) -> (String, String) {
    let meta = &object["metadata"];
    let text = |field: &str| meta[field].as_str().unwrap_or_default().to_string();
    (text("namespace"), text("name"))
}

fn line(event: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(event).expect("event json");
    bytes.push(b'\n');
    Bytes::from(bytes)
}

async fn all(State(store): State<Arc<Mutex<Store>>>, RawQuery(query): RawQuery) -> Response {
    respond(&store, None, query.as_deref().unwrap_or_default())
}

async fn namespaced(
    State(store): State<Arc<Mutex<Store>>>,
    Path(namespace): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    respond(
        &store,
        Some(namespace),
        query.as_deref().unwrap_or_default(),
    )
}

fn respond(store: &Mutex<Store>, namespace: Option<String>, query: &str) -> Response {
    let mut store = store.lock().expect("fake store");
    let watching = query
        .split('&')
        .any(|pair| pair == "watch=true" || pair == "watch=1");
    if watching {
        let (sender, receiver) = mpsc::unbounded_channel();
        store.watches.push((namespace, sender));
        let body = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (chunk, receiver))
        });
        return (
            [(header::CONTENT_TYPE, "application/json")],
            Body::from_stream(body),
        )
            .into_response();
    }
    if store.failing_lists {
        store.lists_failed += 1;
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "fake etcd outage", "reason": "InternalError", "code": 500});
        return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(status)).into_response();
    }
    store.lists_served += 1;
    let items: Vec<Value> = store
        .objects
        .iter()
        .filter(|((ns, _), _)| namespace.as_deref().is_none_or(|scope| scope == ns))
        .map(|(_, object)| without_type_meta(object))
        .collect();
    let list = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamList",
        "metadata": {"resourceVersion": store.resource_version.to_string()}, "items": items});
    axum::Json(list).into_response()
}

/// List items come without `apiVersion` and `kind`, as from a real API server.
fn without_type_meta(object: &Value) -> Value {
    let mut item = object.clone();
    if let Some(fields) = item.as_object_mut() {
        fields.remove("apiVersion");
        fields.remove("kind");
    }
    item
}
