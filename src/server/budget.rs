//! Registry pull budgets as the server shows them: per-registry gauges read from the catalog
//! snapshot at scrape time (scheduled tags, projected pulls per window, the budget), and the
//! one warning at start when there is no catalog to count the cluster's imports with. It must
//! not decide anything: the engine applies the budgets.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

use super::catalog::CatalogSource;
use crate::catalog::budget::{RegistryTotal, UsageTotals, registry_totals};
use crate::config::RegistryBudgets;

/// Scrape-time budget gauges. Series are per registry with scheduled tags or a budget, a set
/// bounded by the registries the cluster's ImageStreams name.
#[derive(Debug)]
pub struct BudgetCollector {
    pub catalog: CatalogSource,
    pub budgets: RegistryBudgets,
}

impl BudgetCollector {
    fn totals(&self) -> Vec<RegistryTotal> {
        match &self.catalog {
            CatalogSource::Live(live) => registry_totals(live.snapshot().usage(), &self.budgets),
            _ => registry_totals(&UsageTotals::default(), &self.budgets),
        }
    }
}

impl Collector for BudgetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let totals = self.totals();
        let kind = ConstGauge::new(0i64).metric_type();
        let mut tags = encoder.encode_descriptor(
            "registry_scheduled_tags",
            "Tags with a scheduled import, per registry",
            None,
            kind,
        )?;
        for total in &totals {
            let labels = [("registry", total.registry.as_str())];
            ConstGauge::new(to_i64(total.scheduled_tags)).encode(tags.encode_family(&labels)?)?;
        }
        let mut projected = encoder.encode_descriptor(
            "registry_projected_pulls",
            "Pulls per window the scheduled imports make (window: the budget's, else 6h)",
            None,
            kind,
        )?;
        for total in &totals {
            let labels = [
                ("registry", total.registry.as_str()),
                ("window", total.window.as_str()),
            ];
            let gauge = ConstGauge::new(to_i64(total.projected_pulls));
            gauge.encode(projected.encode_family(&labels)?)?;
        }
        let mut budget = encoder.encode_descriptor(
            "registry_budget_pulls",
            "Pull budget per window (--registry-budget); absent when unlimited",
            None,
            kind,
        )?;
        for total in &totals {
            let Some(pulls) = total.budget_pulls else {
                continue;
            };
            let labels = [
                ("registry", total.registry.as_str()),
                ("window", total.window.as_str()),
            ];
            ConstGauge::new(to_i64(pulls)).encode(budget.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// Said once at start: without the catalog, each review sees only its own object, so the
/// cluster as a whole can exceed a budget.
pub fn warn_without_catalog(catalog: &CatalogSource, budgets: &RegistryBudgets) {
    if matches!(catalog, CatalogSource::Live(_)) || !budgets.any_limited() {
        return;
    }
    let limited: Vec<String> = registry_totals(&UsageTotals::default(), budgets)
        .into_iter()
        .filter_map(|t| Some(format!("{}={}/{}", t.registry, t.budget_pulls?, t.window)))
        .collect();
    tracing::warn!(
        budgets = %limited.join(","),
        "no ImageStream catalog: registry pull budgets count only the object under review, \
         not the imports the cluster already schedules"
    );
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
