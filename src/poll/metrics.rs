//! The poller's metrics, per registry: HEADs by result, changes detected, imports started and
//! failed, imports waiting by reason, the last `ratelimit-remaining` seen, the cycle's lag.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RegistryLabels {
    pub registry: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub registry: String,
    pub result: String,
}

#[derive(Debug, Default)]
pub struct PollMetrics {
    pub heads: Family<ResultLabels, Counter>,
    pub changes: Family<RegistryLabels, Counter>,
    pub imports: Family<ResultLabels, Counter>,
    pub waiting: Family<ResultLabels, Counter>,
    pub ratelimit_remaining: Family<RegistryLabels, Gauge>,
    /// Seconds the last cycle took beyond the poll interval (0 when on time).
    pub lag_seconds: Gauge,
    pub cycle_seconds: Gauge,
    /// ImageStreams with tags to poll that the last cycle left alone: the webhook would not
    /// mutate them (out of its scope, or audit only).
    pub out_of_scope: Gauge,
}

impl PollMetrics {
    /// The metrics, registered under `autoredeploy_poll_*`.
    pub fn registered(registry: &mut Registry) -> std::sync::Arc<Self> {
        let m = std::sync::Arc::new(PollMetrics::default());
        let r = registry.sub_registry_with_prefix("poll");
        r.register(
            "heads",
            "Manifest HEAD requests by registry and result",
            m.heads.clone(),
        );
        r.register("changes", "Digest changes detected", m.changes.clone());
        r.register(
            "imports",
            "ImageStreamImports by result (started, failed)",
            m.imports.clone(),
        );
        r.register(
            "imports_waiting",
            "Imports held back by a budget or the registry's rate limit",
            m.waiting.clone(),
        );
        r.register(
            "ratelimit_remaining",
            "The registry's ratelimit-remaining as last seen",
            m.ratelimit_remaining.clone(),
        );
        r.register(
            "lag_seconds",
            "How far the last cycle ran past the poll interval",
            m.lag_seconds.clone(),
        );
        r.register(
            "cycle_seconds",
            "How long the last cycle took",
            m.cycle_seconds.clone(),
        );
        r.register(
            "streams_out_of_scope",
            "ImageStreams with polled-registry tags the last cycle left alone: outside the webhook's scope or audit only",
            m.out_of_scope.clone(),
        );
        m
    }

    fn labels(registry: &str, result: &str) -> ResultLabels {
        ResultLabels {
            registry: registry.into(),
            result: result.into(),
        }
    }

    pub fn head(&self, registry: &str, result: &str) {
        self.heads
            .get_or_create(&Self::labels(registry, result))
            .inc();
    }

    pub fn change(&self, registry: &str) {
        self.changes
            .get_or_create(&RegistryLabels {
                registry: registry.into(),
            })
            .inc();
    }

    pub fn import(&self, registry: &str, ok: bool) {
        let result = if ok { "started" } else { "failed" };
        self.imports
            .get_or_create(&Self::labels(registry, result))
            .inc();
    }

    pub fn waiting(&self, registry: &str, reason: &str) {
        self.waiting
            .get_or_create(&Self::labels(registry, reason))
            .inc();
    }

    pub fn remaining(&self, registry: &str, remaining: u64) {
        self.ratelimit_remaining
            .get_or_create(&RegistryLabels {
                registry: registry.into(),
            })
            .set(i64::try_from(remaining).unwrap_or(i64::MAX));
    }
}
