//! Prometheus metrics for the webhook (prometheus-client, text exposition on the admin
//! port). Labels are closed sets of static strings: a request never creates a new series
//! (kinds outside the known list count as `other`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::budget::BudgetCollector;
use super::catalog::{CatalogCollector, CatalogSource};
use crate::config::RegistryBudgets;

/// Prefix of every metric name.
pub const METRIC_PREFIX: &str = "autoredeploy";
/// Review latency buckets in seconds: sub-millisecond resolution where the target is.
const LATENCY_BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReviewLabels {
    pub kind: &'static str,
    pub operation: &'static str,
    pub mode: &'static str,
    pub outcome: &'static str,
    /// `true` for a dry-run review (`request.dryRun`): nothing it answers is persisted.
    pub dry_run: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChangeLabels {
    pub code: &'static str,
    pub mode: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

/// Every metric the server updates, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub reviews: Family<ReviewLabels, Counter>,
    pub review_duration: Histogram,
    pub changes: Family<ChangeLabels, Counter>,
    pub findings: Family<ChangeLabels, Counter>,
    pub tls_reloads: Family<ResultLabels, Counter>,
    pub bad_requests: Family<ReasonLabels, Counter>,
    pub tls_handshake_failures: Counter,
    pub connections_open: Gauge,
    pub requests_in_flight: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(CatalogSource::Disabled, RegistryBudgets::default())
    }
}

impl Metrics {
    /// Every metric, plus the catalog's and the registry budgets', read from `catalog` at
    /// scrape time.
    pub fn new(catalog: CatalogSource, budgets: RegistryBudgets) -> Self {
        let mut registry = Registry::with_prefix(METRIC_PREFIX);
        let metrics = Metrics {
            reviews: Family::default(),
            review_duration: Histogram::new(LATENCY_BUCKETS),
            changes: Family::default(),
            findings: Family::default(),
            tls_reloads: Family::default(),
            bad_requests: Family::default(),
            tls_handshake_failures: Counter::default(),
            connections_open: Gauge::default(),
            requests_in_flight: Gauge::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "reviews",
            "AdmissionReviews answered (dry runs labelled dry_run)",
            metrics.reviews.clone(),
        );
        let duration = metrics.review_duration.clone();
        r.register(
            "review_duration_seconds",
            "Time to answer one review",
            duration,
        );
        r.register(
            "changes",
            "Changes made or reported, by code (dry-run reviews left out)",
            metrics.changes.clone(),
        );
        r.register(
            "findings",
            "Findings reported (nothing changed: opted out, stale or blocked triggers, pull budget, ...), by code (dry-run reviews left out)",
            metrics.findings.clone(),
        );
        let reloads = metrics.tls_reloads.clone();
        r.register(
            "tls_reloads",
            "Serving certificate reloads, by result",
            reloads,
        );
        let bad = metrics.bad_requests.clone();
        r.register(
            "bad_requests",
            "Requests that got no review, by reason",
            bad,
        );
        let failures = metrics.tls_handshake_failures.clone();
        r.register(
            "tls_handshake_failures",
            "TLS handshakes failed or timed out",
            failures,
        );
        let open = metrics.connections_open.clone();
        r.register("connections_open", "HTTPS connections open", open);
        let in_flight = metrics.requests_in_flight.clone();
        r.register(
            "requests_in_flight",
            "Review requests being read or answered",
            in_flight,
        );
        r.register_collector(Box::new(BudgetCollector {
            catalog: catalog.clone(),
            budgets,
        }));
        r.register_collector(Box::new(CatalogCollector(catalog)));
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Count a request that got no review.
    pub fn bad_request(&self, reason: &'static str) {
        self.bad_requests
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// Count a reload attempt (`ok` or `error`).
    pub fn tls_reload(&self, result: &'static str) {
        self.tls_reloads
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Holds a gauge one higher for its own lifetime (open connections, requests in flight).
pub struct GaugeGuard<'a>(&'a Gauge);

impl<'a> GaugeGuard<'a> {
    pub fn new(gauge: &'a Gauge) -> Self {
        gauge.inc();
        GaugeGuard(gauge)
    }
}

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
