//! `autoredeploy poll`: change detection that costs no pulls. For every tag the webhook would
//! schedule on a polled registry (`tags`), a manifest HEAD (`registry`, not counted as a pull
//! by Docker Hub) is compared with the digest last seen (`decide`); only a changed digest
//! starts an `ImageStreamImport` for that one tag, as `oc import-image stream:tag` does, so
//! OpenShift imports it and the trigger controller rolls out as usual. What was seen survives
//! restarts in a ConfigMap (`state`). This module owns the cycle; the cluster is reached only
//! through [`Cluster`], so the cycle runs the same against the API server (`kube`) and tests.

pub mod decide;
pub mod kube;
pub mod lease;
pub mod proxy;
pub mod registry;
pub mod scope;
pub mod state;
pub mod tags;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::config::RuleConfig;
use decide::{Decision, admit};
use registry::{Head, RegistryClient};
use state::{PollState, TagRecord};
use tags::{PolledTag, polled_tags};

/// What the poller needs of a cluster.
pub trait Cluster: Send + Sync {
    /// Every ImageStream the poller manages, as the API returns them.
    fn image_streams(&self) -> impl Future<Output = anyhow::Result<Vec<Value>>> + Send;
    /// What the webhook's scope is read from: the MutatingWebhookConfigurations holding
    /// autoredeploy's webhooks and every namespace (each, or why it could not be read).
    fn scope_inputs(&self) -> impl Future<Output = scope::ScopeInputs> + Send;
    /// Create an `ImageStreamImport`; returns the API server's answer (with `status`).
    fn create_import(
        &self,
        namespace: &str,
        body: Value,
    ) -> impl Future<Output = anyhow::Result<Value>> + Send;
    /// Apply a JSON merge patch to an ImageStream (the poller's field manager).
    fn patch_image_stream(
        &self,
        namespace: &str,
        name: &str,
        patch: Value,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn load_state(&self) -> impl Future<Output = anyhow::Result<PollState>> + Send;
    fn save_state(&self, state: &PollState) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// A Kubernetes Event on the tag's ImageStream; failures are only logged.
    fn event(
        &self,
        tag: &PolledTag,
        reason: &str,
        message: &str,
        warning: bool,
    ) -> impl Future<Output = ()> + Send;
}

/// How the poller polls.
#[derive(Debug, Clone)]
pub struct PollOptions {
    pub rules: RuleConfig,
    /// HEADs of one cycle are spread over this (0 in tests: all at once).
    pub spread: Duration,
    /// Most HEADs in flight per registry.
    pub concurrency: usize,
    /// Most HEADs started per second per registry.
    pub rate: f64,
    /// `ratelimit-remaining` kept for the nodes' own pulls.
    pub ratelimit_reserve: u64,
    /// The webhook's scope when no MutatingWebhookConfiguration of autoredeploy can be read.
    pub scope_defaults: crate::scan::scope::ChartDefaults,
}

/// What one cycle did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CycleReport {
    pub polled: usize,
    pub unchanged: usize,
    pub recorded: usize,
    pub imported: Vec<String>,
    pub failed: Vec<String>,
    /// Imports that wait on a budget or rate limit, with the reason.
    pub waiting: Vec<(String, String)>,
    pub head_errors: Vec<(String, String)>,
    /// ImageStreams (`namespace/name`) not polled because the webhook would not mutate them
    /// (out of its scope, or audit only), with why.
    pub out_of_scope: Vec<(String, String)>,
    /// Tags whose HEAD was refused (`401`/`403`) and that were listed in the stream's
    /// `autoredeploy.io/unpollable-tags` this cycle: the webhook schedules them instead.
    pub unpollable: Vec<String>,
}

/// The poller: its cluster, its registry client and the state it remembers.
pub struct Poller<C> {
    cluster: C,
    registry: Arc<RegistryClient>,
    options: PollOptions,
    state: PollState,
    /// Registries backed off until (unix seconds), after a `429`.
    backoff: HashMap<String, u64>,
    /// The last `ratelimit-remaining` each registry sent.
    remaining: HashMap<String, u64>,
    pub metrics: Option<Arc<metrics::PollMetrics>>,
}

pub mod metrics;

impl<C: Cluster> Poller<C> {
    /// A poller that continues from the state the cluster holds (a new leader picks up where
    /// the last one stopped).
    pub async fn new(
        cluster: C,
        registry: Arc<RegistryClient>,
        options: PollOptions,
    ) -> anyhow::Result<Self> {
        let state = cluster.load_state().await?;
        Ok(Poller {
            cluster,
            registry,
            options,
            state,
            backoff: HashMap::new(),
            remaining: HashMap::new(),
            metrics: None,
        })
    }

    pub fn state(&self) -> &PollState {
        &self.state
    }

    /// One pass over every polled tag. `now` is unix seconds.
    pub async fn poll_once(&mut self, now: u64) -> anyhow::Result<CycleReport> {
        let streams = self.cluster.image_streams().await?;
        // The scope is read again every cycle: a namespace labelled since is left at once.
        let inputs = self.cluster.scope_inputs().await;
        let (scope, notes) = scope::scope(&inputs, &self.options.scope_defaults);
        for note in notes {
            debug!(note, "webhook scope");
        }
        let mut out_of_scope = Vec::new();
        let mut tags: Vec<PolledTag> = Vec::new();
        for stream in &streams {
            let found = polled_tags(stream, &self.options.rules);
            if found.is_empty() {
                continue;
            }
            match scope::polls(&scope, stream) {
                Ok(()) => tags.extend(found),
                Err(why) => {
                    let name = format!("{}/{}", found[0].namespace, found[0].stream);
                    debug!(stream = %name, why, "not polled: outside the webhook's scope");
                    out_of_scope.push((name, why));
                }
            }
        }
        if let Some(m) = &self.metrics {
            m.out_of_scope
                .set(i64::try_from(out_of_scope.len()).unwrap_or(i64::MAX));
        }
        let mut report = CycleReport {
            polled: tags.len(),
            out_of_scope,
            ..CycleReport::default()
        };
        let mut by_registry: BTreeMap<String, Vec<PolledTag>> = BTreeMap::new();
        for tag in tags {
            by_registry
                .entry(tag.registry.clone())
                .or_default()
                .push(tag);
        }
        // Each answer is acted on as it arrives: a change found early in a long cycle imports
        // at once, not after the last HEAD of the cycle.
        let blocked = (self.backoff.iter())
            .filter(|(_, until)| **until > now)
            .map(|(registry, _)| registry.clone())
            .collect();
        // The HEADs run in a task of their own, so an import being created does not hold back
        // (and then bunch up) the HEADs scheduled meanwhile; they stop when this cycle ends or
        // is cut short.
        let mut stream = head_stream(self.registry.clone(), by_registry, &blocked, &self.options);
        let (answers, mut heads) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(answer) = stream.next().await {
                if answers.send(answer).is_err() {
                    return;
                }
            }
        });
        let mut dirty = false;
        let mut refused: BTreeMap<(String, String), Vec<PolledTag>> = BTreeMap::new();
        while let Some((tag, head)) = heads.recv().await {
            let key = tag.key();
            if let Some(m) = &self.metrics {
                m.head(&tag.registry, head.result());
            }
            let digest = match head {
                Head::Digest { digest, remaining } => {
                    if let Some(r) = remaining {
                        self.remaining.insert(tag.registry.clone(), r);
                        if let Some(m) = &self.metrics {
                            m.remaining(&tag.registry, r);
                        }
                    }
                    digest
                }
                Head::RateLimited { retry_after } => {
                    self.backoff
                        .insert(tag.registry.clone(), now + retry_after.as_secs().max(1));
                    report.head_errors.push((key, "rate limited (429)".into()));
                    continue;
                }
                other => {
                    if other == Head::Unauthorized {
                        (refused.entry((tag.namespace.clone(), tag.stream.clone())))
                            .or_default()
                            .push(tag.clone());
                    }
                    report.head_errors.push((key, format!("{other:?}")));
                    continue;
                }
            };
            let recorded = self.state.tags.get(&key).map(|r| r.digest.as_str());
            match decide::decide(recorded, tag.status_digest.as_deref(), &digest) {
                Decision::Unchanged => report.unchanged += 1,
                Decision::Record => {
                    self.state.tags.insert(key, TagRecord::seen(digest));
                    report.recorded += 1;
                    dirty = true;
                }
                Decision::Import => {
                    if let Some(m) = &self.metrics {
                        m.change(&tag.registry);
                    }
                    let budget = self.options.rules.budgets.budget(&tag.registry);
                    let window = self.state.imports.entry(tag.registry.clone()).or_default();
                    let remaining = self.remaining.get(&tag.registry).copied();
                    let reserve = self.options.ratelimit_reserve;
                    if let Err(wait) = admit(window, budget, now, tag.pulls, remaining, reserve) {
                        if let Some(m) = &self.metrics {
                            m.waiting(&tag.registry, wait.reason());
                        }
                        let message = format!(
                            "{} changed to {digest}; its import waits ({wait:?})",
                            tag.from
                        );
                        self.cluster
                            .event(&tag, "ImportWaiting", &message, true)
                            .await;
                        report.waiting.push((key, wait.reason().to_string()));
                        continue;
                    }
                    match self.import(&tag, &digest).await {
                        Ok(()) => {
                            (self.state.imports.entry(tag.registry.clone()))
                                .or_default()
                                .record(now, tag.pulls);
                            self.state
                                .tags
                                .insert(key.clone(), TagRecord::imported(digest, now));
                            // Written after each import: a new leader must not import it again.
                            if let Err(e) = self.cluster.save_state(&self.state).await {
                                warn!(error = %format!("{e:#}"), "poller state not saved");
                            }
                            report.imported.push(key);
                        }
                        Err(e) => {
                            warn!(tag = %key, error = %e, "import failed");
                            report.failed.push(key);
                        }
                    }
                }
            }
        }
        if dirty {
            self.cluster.save_state(&self.state).await?;
        }
        for ((namespace, name), tags) in refused {
            self.mark_unpollable(&streams, &namespace, &name, &tags, &mut report)
                .await;
        }
        Ok(report)
    }

    /// List tags whose HEAD was refused even with an anonymous token in their stream's
    /// `autoredeploy.io/unpollable-tags`, with a merge patch of that one annotation guarded
    /// by the stream's `resourceVersion` (a conflict waits for the next cycle). The webhook
    /// sees the UPDATE and schedules them within their registry's budget; the poller no longer
    /// HEADs them. Failures are only logged: the tag is tried again next cycle.
    async fn mark_unpollable(
        &self,
        streams: &[Value],
        namespace: &str,
        name: &str,
        tags: &[PolledTag],
        report: &mut CycleReport,
    ) {
        let stream = streams.iter().find(|s| {
            s.pointer("/metadata/namespace").and_then(Value::as_str) == Some(namespace)
                && s.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
        });
        let Some(patch) =
            stream.and_then(|s| tags::unpollable_patch(s, tags.iter().map(|t| t.tag.as_str())))
        else {
            return;
        };
        match self
            .cluster
            .patch_image_stream(namespace, name, patch)
            .await
        {
            Ok(()) => {
                for tag in tags {
                    let message = format!(
                        "{} refuses a manifest HEAD (401/403: a private repository); tag {} is listed in {} and left to scheduled imports within the registry's budget",
                        tag.from,
                        tag.tag,
                        crate::engine::annotations::UNPOLLABLE_TAGS
                    );
                    self.cluster.event(tag, "Unpollable", &message, true).await;
                    report.unpollable.push(tag.key());
                }
            }
            Err(e) => {
                warn!(stream = %format!("{namespace}/{name}"), error = %format!("{e:#}"), "unpollable tags not recorded");
            }
        }
    }

    /// Create the tag's `ImageStreamImport`; an error when the API or the import failed.
    async fn import(&self, tag: &PolledTag, digest: &str) -> anyhow::Result<()> {
        let m = self.metrics.clone();
        let message = format!(
            "{} changed to {digest}; importing tag {}",
            tag.from, tag.tag
        );
        self.cluster
            .event(tag, "ImportStarted", &message, false)
            .await;
        info!(tag = %tag.key(), digest, "change detected, importing");
        let result = self
            .cluster
            .create_import(&tag.namespace, tag.image_stream_import())
            .await
            .and_then(|answer| import_failure(&answer).map_or(Ok(()), |e| Err(anyhow::anyhow!(e))));
        if let Some(m) = &m {
            m.import(&tag.registry, result.is_ok());
        }
        if let Err(e) = &result {
            let message = format!("import of {} into tag {} failed: {e:#}", tag.from, tag.tag);
            self.cluster
                .event(tag, "ImportFailed", &message, true)
                .await;
        }
        result
    }
}

/// HEAD every tag, per registry at most `concurrency` at once and `rate` per second, spread
/// over `spread`, the registries' answers merged as they come; registries in `blocked` (backed
/// off) are skipped. Owns what it needs, so the cycle can update the poller between answers.
fn head_stream(
    client: Arc<RegistryClient>,
    by_registry: BTreeMap<String, Vec<PolledTag>>,
    blocked: &std::collections::HashSet<String>,
    options: &PollOptions,
) -> futures::stream::BoxStream<'static, (PolledTag, Head)> {
    let started = tokio::time::Instant::now();
    let per_registry = (by_registry.into_iter())
        .filter(|(registry, _)| !blocked.contains(registry))
        .map(|(_, tags)| {
            let client = client.clone();
            let n = tags.len().max(1) as f64;
            let step = (options.spread.as_secs_f64() / n).max(1.0 / options.rate.max(0.001));
            futures::stream::iter(tags.into_iter().enumerate())
                .map(move |(i, tag)| {
                    let client = client.clone();
                    async move {
                        let at = started + Duration::from_secs_f64(step * i as f64);
                        tokio::time::sleep_until(at).await;
                        let head = client.head(&tag).await;
                        (tag, head)
                    }
                })
                .buffer_unordered(options.concurrency.max(1))
                .boxed()
        });
    futures::stream::select_all(per_registry).boxed()
}

/// The failure an `ImageStreamImport`'s answer reports for its one image, if any.
pub fn import_failure(answer: &Value) -> Option<String> {
    let status = answer.pointer("/status/images/0/status")?;
    (status.get("status").and_then(Value::as_str) == Some("Failure")).then(|| {
        status
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the import failed")
            .to_string()
    })
}

#[cfg(test)]
mod registry_tests;
#[cfg(test)]
use registry_tests as registry_tests_support;

#[cfg(test)]
mod fake_registry_tests;
#[cfg(test)]
mod proxy_tests;
