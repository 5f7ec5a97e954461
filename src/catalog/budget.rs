//! Registry use as the catalog counts it: per registry, the scheduled tags it knows and the
//! pulls one import cycle of them costs (what a tag costs is decided by
//! `engine::budget::import_cost`). The totals are kept up to date as streams are inserted and
//! removed, so a review reads them without walking the catalog. Pure bookkeeping: no I/O, no
//! knowledge of budgets or windows (those are the configuration's).

use crate::pointer::items;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::config::{Budget, RegistryBudgets};
use crate::engine::{budget, status};

/// What one scheduled tag costs per import cycle, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportCost {
    /// Normalised registry host (`docker.io`, `quay.io`).
    pub registry: Arc<str>,
    pub pulls: u32,
}

/// One registry's scheduled imports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub scheduled_tags: u64,
    /// Pulls one import cycle of those tags costs.
    pub cycle_pulls: u64,
}

pub use crate::engine::catalog::Replaced;

/// What the catalog keeps of one tag for budgets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagImport {
    /// What one scheduled import costs; `None` when the tag is not scheduled.
    pub import: Option<ImportCost>,
    /// Platforms the current image lists in status (sub-manifests of a manifest list).
    pub platforms: Option<u32>,
}

/// Per tag name of an ImageStream, its platform count and, when scheduled, its cost
/// (engine::budget's model).
pub fn tag_imports(object: &Value) -> BTreeMap<&str, TagImport> {
    let mut tags: BTreeMap<&str, TagImport> = BTreeMap::new();
    for status_tag in items(object, "/status/tags") {
        if let Some(name) = status_tag.get("tag").and_then(Value::as_str) {
            tags.entry(name).or_default().platforms = status::status_tag_platforms(status_tag);
        }
    }
    for spec_tag in items(object, "/spec/tags") {
        let Some(name) = spec_tag.get("name").and_then(Value::as_str) else {
            continue;
        };
        let tag = tags.entry(name).or_default();
        tag.import = budget::import_registry(spec_tag)
            .filter(|_| budget::is_scheduled(spec_tag))
            .map(|registry| ImportCost {
                registry: registry.into(),
                pulls: budget::pulls_per_import(
                    budget::preserves_original(spec_tag),
                    tag.platforms,
                ),
            });
    }
    tags
}

/// Usage per registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageTotals(BTreeMap<Arc<str>, Usage>);

impl UsageTotals {
    pub fn add(&mut self, cost: &ImportCost) {
        let usage = self.0.entry(Arc::clone(&cost.registry)).or_default();
        usage.scheduled_tags += 1;
        usage.cycle_pulls += u64::from(cost.pulls);
    }

    pub fn subtract(&mut self, cost: &ImportCost) {
        if let Some(usage) = self.0.get_mut(cost.registry.as_ref()) {
            usage.scheduled_tags = usage.scheduled_tags.saturating_sub(1);
            usage.cycle_pulls = usage.cycle_pulls.saturating_sub(u64::from(cost.pulls));
            if usage.scheduled_tags == 0 {
                self.0.remove(cost.registry.as_ref());
            }
        }
    }

    /// Adds every registry of `other` (summing per-namespace totals into a cluster's).
    pub fn merge(&mut self, other: &UsageTotals) {
        for (registry, usage) in &other.0 {
            let total = self.0.entry(Arc::clone(registry)).or_default();
            total.scheduled_tags += usage.scheduled_tags;
            total.cycle_pulls += usage.cycle_pulls;
        }
    }

    /// Takes away every registry of `other` (a namespace about to change).
    pub fn unmerge(&mut self, other: &UsageTotals) {
        for (registry, usage) in &other.0 {
            if let Some(total) = self.0.get_mut(registry) {
                total.scheduled_tags = total.scheduled_tags.saturating_sub(usage.scheduled_tags);
                total.cycle_pulls = total.cycle_pulls.saturating_sub(usage.cycle_pulls);
                if total.scheduled_tags == 0 {
                    self.0.remove(registry);
                }
            }
        }
    }

    /// The registry name already held, to share instead of allocating another.
    pub fn shared_name(&self, registry: &str) -> Option<Arc<str>> {
        self.0.get_key_value(registry).map(|(k, _)| Arc::clone(k))
    }

    pub fn get(&self, registry: &str) -> Usage {
        self.0.get(registry).copied().unwrap_or_default()
    }

    /// Every registry with scheduled tags, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Usage)> {
        self.0.iter().map(|(r, u)| (r.as_ref(), *u))
    }
}

/// One registry's projected use against its budget, as metrics and `mutate --output json`
/// report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryTotal {
    pub registry: String,
    pub scheduled_tags: u64,
    /// Pulls per `window` the scheduled imports make (rounded up).
    pub projected_pulls: u64,
    /// The budget's window, or 6h for a registry without a budget.
    pub window: String,
    pub window_seconds: u64,
    /// `None` when unlimited.
    pub budget_pulls: Option<u64>,
}

/// Every registry with a budget set or with scheduled tags, in name order.
pub fn registry_totals(usage: &UsageTotals, budgets: &RegistryBudgets) -> Vec<RegistryTotal> {
    let mut registries: Vec<&str> = budgets.registries().map(|(r, _)| r).collect();
    registries.extend(usage.iter().map(|(r, _)| r));
    registries.sort_unstable();
    registries.dedup();
    registries
        .into_iter()
        .map(|registry| {
            let used = usage.get(registry);
            let window = budgets.window(registry);
            RegistryTotal {
                registry: registry.to_string(),
                scheduled_tags: used.scheduled_tags,
                projected_pulls: budgets.pulls_per_window(used.cycle_pulls, window),
                window: window.to_string(),
                window_seconds: window.seconds(),
                budget_pulls: match budgets.budget(registry) {
                    Budget::Limited { pulls, .. } => Some(pulls),
                    Budget::Unlimited => None,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(registry: &str, pulls: u32) -> ImportCost {
        ImportCost {
            registry: registry.into(),
            pulls,
        }
    }

    #[test]
    fn totals_add_subtract_and_merge_per_registry() {
        let mut totals = UsageTotals::default();
        totals.add(&cost("docker.io", 1));
        totals.add(&cost("docker.io", 3));
        totals.add(&cost("quay.io", 1));
        totals.subtract(&cost("docker.io", 1));
        assert_eq!(
            totals.get("docker.io"),
            Usage {
                scheduled_tags: 1,
                cycle_pulls: 3
            }
        );
        totals.subtract(&cost("quay.io", 1));
        assert_eq!(totals.iter().count(), 1, "an emptied registry is dropped");
        let mut cluster = UsageTotals::default();
        cluster.merge(&totals);
        cluster.merge(&totals);
        assert_eq!(cluster.get("docker.io").cycle_pulls, 6);
        assert_eq!(cluster.get("ghcr.io"), Usage::default());
        cluster.unmerge(&totals);
        assert_eq!(cluster, totals);
        cluster.unmerge(&totals);
        assert_eq!(cluster, UsageTotals::default());
    }

    #[test]
    fn totals_list_budgeted_and_used_registries_with_projected_pulls() {
        let mut usage = UsageTotals::default();
        usage.add(&cost("docker.io", 1));
        usage.add(&cost("docker.io", 1));
        usage.add(&cost("quay.io", 2));
        let totals = registry_totals(&usage, &RegistryBudgets::default());
        let hub = &totals[0];
        assert_eq!(
            (
                hub.registry.as_str(),
                hub.scheduled_tags,
                hub.projected_pulls
            ),
            ("docker.io", 2, 48)
        );
        assert_eq!((hub.window.as_str(), hub.budget_pulls), ("6h", Some(50)));
        assert_eq!(
            (totals[1].registry.as_str(), totals[1].projected_pulls),
            ("quay.io", 48)
        );
        assert_eq!(totals[1].budget_pulls, None);
        let idle = registry_totals(&UsageTotals::default(), &RegistryBudgets::default());
        assert_eq!(
            idle.len(),
            1,
            "a budgeted registry is listed even when unused"
        );
        assert_eq!(idle[0].projected_pulls, 0);
    }

    #[test]
    fn replaced_tags_cover_only_their_tags() {
        let tags = ["latest".to_string()];
        let replaced = Replaced::Tags {
            namespace: "shop",
            stream: "web",
            tags: &tags,
        };
        assert!(replaced.covers("latest") && !replaced.covers("1.25"));
        assert_eq!(replaced.stream(), Some(("shop", "web")));
        assert!(!Replaced::Nothing.covers("latest"));
    }
}
