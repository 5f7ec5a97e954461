//! The live catalog: kube-runtime watchers over ImageStreams (all namespaces, or one watcher
//! per listed namespace) feeding one writer task, which publishes immutable
//! [`CatalogSnapshot`]s through an `ArcSwap`. Reviews read a snapshot and never call the API.
//! A relist is indexed aside and swapped in at `InitDone`; errors (HTTP failures, watch
//! `ERROR` events, 410 Gone) are counted and retried with backoff while the last good snapshot
//! keeps being served. This module owns the task and the retry policy; it must not interpret
//! ImageStreams (the index does) nor register metrics (the server reads [`CatalogStatus`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt, StreamExt};
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, Event};
use tokio::task::AbortHandle;
use tracing::Instrument;
use tracing::{debug, info, warn};

use super::object::WatchedImageStream;
use super::snapshot::{CatalogShards, CatalogSnapshot, Relist};
use super::status::CatalogStatus;

/// How the watch runs. `Default` watches all namespaces with kube's usual retry delays.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Namespaces to watch, one watcher each; empty means all namespaces (one watcher).
    pub namespaces: Vec<String>,
    /// First retry delay after an error; doubles on each consecutive error.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Most events applied before a snapshot is published (bursts are batched).
    pub max_batch: usize,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            namespaces: Vec::new(),
            min_backoff: Duration::from_millis(800),
            max_backoff: Duration::from_secs(30),
            max_batch: 512,
        }
    }
}

/// The watch-backed catalog. Clones share the same snapshots and status.
#[derive(Debug, Clone)]
pub struct LiveCatalog {
    published: Arc<ArcSwap<CatalogSnapshot>>,
    status: CatalogStatus,
    task: AbortHandle,
}

impl LiveCatalog {
    /// Start watching `namespaces` (empty = all) with default options. Must be called inside
    /// a Tokio runtime; the watch runs until [`LiveCatalog::stop`] or the runtime ends.
    pub fn spawn(client: kube::Client, namespaces: Vec<String>) -> Self {
        Self::spawn_with(
            client,
            WatchOptions {
                namespaces,
                ..WatchOptions::default()
            },
        )
    }

    /// Start watching with explicit options.
    pub fn spawn_with(client: kube::Client, options: WatchOptions) -> Self {
        let published = Arc::new(ArcSwap::from_pointee(CatalogSnapshot::default()));
        let status = CatalogStatus::new();
        let scopes = scopes(&options.namespaces);
        let events = watch_streams(&client, &scopes, &options);
        let writer = Writer::new(scopes, Arc::clone(&published), status.clone());
        let task = tokio::spawn(
            run(events, writer, options.max_batch.max(1))
                .instrument(tracing::info_span!("catalog_watch")),
        );
        Self {
            published,
            status,
            task: task.abort_handle(),
        }
    }

    /// The current immutable catalog; take one per review and answer from it.
    pub fn snapshot(&self) -> Arc<CatalogSnapshot> {
        self.published.load_full()
    }

    /// Sync state, counts and errors, for readiness, logs and metrics.
    pub fn status(&self) -> CatalogStatus {
        self.status.clone()
    }

    /// Stop the watch task; the last snapshot stays readable.
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// What one watcher covers.
#[derive(Debug)]
struct Scope {
    /// `None` for the all-namespaces watcher.
    namespace: Option<String>,
    relist: Option<Relist>,
    synced: bool,
    /// Consecutive failures, shared with the watcher's backoff.
    failures: Arc<AtomicU32>,
}

impl Scope {
    fn label(&self) -> &str {
        self.namespace.as_deref().unwrap_or("*")
    }
}

fn scopes(namespaces: &[String]) -> Vec<Scope> {
    let scope = |namespace| Scope {
        namespace,
        relist: None,
        synced: false,
        failures: Arc::default(),
    };
    if namespaces.is_empty() {
        return vec![scope(None)];
    }
    let mut unique = namespaces.to_vec();
    unique.sort();
    unique.dedup();
    unique.into_iter().map(|ns| scope(Some(ns))).collect()
}

type ScopedEvent = (usize, Result<Event<WatchedImageStream>, watcher::Error>);

fn watch_streams(
    client: &kube::Client,
    scopes: &[Scope],
    options: &WatchOptions,
) -> SelectAll<BoxStream<'static, ScopedEvent>> {
    let streams = scopes.iter().enumerate().map(|(position, scope)| {
        let api: Api<WatchedImageStream> = match &scope.namespace {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        };
        let backoff = ProgressBackoff {
            failures: Arc::clone(&scope.failures),
            min: options.min_backoff,
            max: options.max_backoff.max(options.min_backoff),
        };
        watcher::watcher(api, watcher::Config::default())
            .backoff(backoff)
            .map(move |event| (position, event))
            .boxed()
    });
    futures::stream::select_all(streams)
}

/// Apply events as they come; publish once per burst (or at once when a list completes).
async fn run(
    mut events: SelectAll<BoxStream<'static, ScopedEvent>>,
    mut writer: Writer,
    max_batch: usize,
) {
    while let Some((scope, event)) = events.next().await {
        let mut list_done = writer.apply(scope, event);
        let mut applied = 1;
        while !list_done && applied < max_batch {
            let Some(Some((scope, event))) = events.next().now_or_never() else {
                break;
            };
            list_done = writer.apply(scope, event);
            applied += 1;
        }
        writer.publish();
    }
}

/// The only writer of the shards and the published snapshot.
struct Writer {
    scopes: Vec<Scope>,
    shards: CatalogShards,
    published: Arc<ArcSwap<CatalogSnapshot>>,
    status: CatalogStatus,
    dirty: bool,
}

impl Writer {
    fn new(
        scopes: Vec<Scope>,
        published: Arc<ArcSwap<CatalogSnapshot>>,
        status: CatalogStatus,
    ) -> Self {
        Self {
            scopes,
            shards: CatalogShards::new(),
            published,
            status,
            dirty: false,
        }
    }

    /// Apply one event; `true` when it completed a list (publish without waiting).
    fn apply(
        &mut self,
        position: usize,
        event: Result<Event<WatchedImageStream>, watcher::Error>,
    ) -> bool {
        let Some(scope) = self.scopes.get_mut(position) else {
            return false;
        };
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                warn!(scope = scope.label(), error = %error, "ImageStream watch failed; retrying with backoff");
                self.status.record_error(error.to_string());
                return false;
            }
        };
        let default_namespace = scope.namespace.as_deref().unwrap_or_default();
        match event {
            Event::Init => {
                debug!(scope = scope.label(), "ImageStream list started");
                scope.relist = Some(Relist::default());
            }
            Event::InitApply(object) => {
                scope
                    .relist
                    .get_or_insert_default()
                    .upsert(&object.into_index_value(), default_namespace);
            }
            Event::InitDone => {
                self.finish_list(position);
                return true;
            }
            Event::Apply(object) => {
                scope.failures.store(0, Ordering::Relaxed);
                self.shards
                    .upsert(&object.into_index_value(), default_namespace);
                self.status.record_event();
                self.dirty = true;
            }
            Event::Delete(object) => {
                scope.failures.store(0, Ordering::Relaxed);
                if let Some((namespace, name)) = object.key() {
                    self.shards.remove(namespace, name);
                }
                self.status.record_event();
                self.dirty = true;
            }
        }
        false
    }

    /// Swap the relisted objects in, publish, and report the sync.
    fn finish_list(&mut self, position: usize) {
        let Some(scope) = self.scopes.get_mut(position) else {
            return;
        };
        scope.failures.store(0, Ordering::Relaxed);
        scope.synced = true;
        let relist = scope.relist.take().unwrap_or_default();
        match &scope.namespace {
            Some(namespace) => self.shards.replace_namespace(namespace, relist),
            None => self.shards.replace_all(relist),
        }
        self.dirty = true;
        let label = scope.namespace.clone().unwrap_or_else(|| "*".into());
        self.publish();
        self.status.record_relist();
        info!(scope = %label, streams = self.status.streams(), "ImageStream catalog synced");
        if self.scopes.iter().all(|scope| scope.synced) {
            self.status.mark_synced();
        }
    }

    fn publish(&mut self) {
        if !self.dirty {
            return;
        }
        let snapshot = self.shards.snapshot();
        self.status.set_streams(snapshot.len());
        self.published.store(Arc::new(snapshot));
        self.dirty = false;
    }
}

/// Exponential delay counted in consecutive failures. kube's stream backoff resets on every
/// `Ok` item, and a failing list yields `Ok(Init)` before each `Err`, so a reset there would
/// retry at the minimum delay forever; the writer resets `failures` on real progress instead.
struct ProgressBackoff {
    failures: Arc<AtomicU32>,
    min: Duration,
    max: Duration,
}

impl Iterator for ProgressBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let failures = self.failures.fetch_add(1, Ordering::Relaxed).min(20);
        Some(self.min.saturating_mul(1 << failures).min(self.max))
    }
}

impl Backoff for ProgressBackoff {
    fn reset(&mut self) {}
}
