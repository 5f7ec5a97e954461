//! Registry pull budgets (`--registry-budget REGISTRY=PULLS/WINDOW`) and the import interval
//! (`--import-interval`): parsing, normalising registry names, and the arithmetic that turns
//! scheduled imports into pulls per window. Pure and without I/O; the engine decides with it,
//! the metrics and `mutate --output json` report with it.
//!
//! The cost model (see docs/operating.md): OpenShift re-imports every scheduled tag once per
//! interval (900 s, openshift/openshift-controller-manager
//! `pkg/cmd/openshift-controller-manager/openshiftcontrolplane_config.go`), and each import
//! GETs the tag's manifest, which Docker Hub counts as a pull. So a registry's pulls per window
//! are the pulls of one import cycle times window / interval.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::image_ref::{DOCKER_HUB, normalise_registry};

/// Seconds in the units a window or interval may be written in.
const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
/// Half of Docker Hub's anonymous 100 pulls per 6 hours, leaving the rest for node pulls.
pub const DEFAULT_BUDGET: &str = "docker.io=50/6h";
/// OpenShift's fixed scheduled-import interval (not configurable on OpenShift 4).
pub const DEFAULT_IMPORT_INTERVAL: &str = "15m";
/// The window metrics use for a registry without a budget: Docker Hub's.
const REPORT_WINDOW_SECONDS: u64 = 6 * HOUR;

/// Why a budget or duration flag is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "registry budget {0:?} must look like REGISTRY=PULLS/WINDOW, e.g. docker.io=150/6h or quay.io=unlimited"
    )]
    Shape(String),
    #[error(
        "registry {0:?} is not a registry host: write the host images are pulled from, e.g. docker.io, quay.io or registry.example.com:5000"
    )]
    NotAHost(String),
    #[error("pull count {0:?} must be a whole number, e.g. 150 in docker.io=150/6h")]
    Pulls(String),
    #[error("duration {0:?} must be a whole number of minutes or hours, e.g. 15m or 6h")]
    Duration(String),
    #[error("duration {0:?} must be at least one minute")]
    ZeroDuration(String),
}

/// A duration in whole seconds, written `<n>m` or `<n>h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window(u64);

impl Window {
    pub fn seconds(self) -> u64 {
        self.0
    }
}

impl FromStr for Window {
    type Err = BudgetError;

    fn from_str(text: &str) -> Result<Self, BudgetError> {
        let bad = || BudgetError::Duration(text.to_string());
        let (number, unit) = match text.trim().strip_suffix('m') {
            Some(number) => (number, MINUTE),
            None => (text.trim().strip_suffix('h').ok_or_else(bad)?, HOUR),
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let seconds = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(unit))
            .ok_or_else(bad)?;
        if seconds == 0 {
            return Err(BudgetError::ZeroDuration(text.to_string()));
        }
        Ok(Window(seconds))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(HOUR) {
            write!(f, "{}h", self.0 / HOUR)
        } else {
            write!(f, "{}m", self.0.div_ceil(MINUTE))
        }
    }
}

/// How many pulls a registry may take per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Unlimited,
    Limited { pulls: u64, window: Window },
}

/// One `--registry-budget` value, its registry normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryBudget {
    pub registry: String,
    pub budget: Budget,
}

impl FromStr for RegistryBudget {
    type Err = BudgetError;

    fn from_str(text: &str) -> Result<Self, BudgetError> {
        let shape = || BudgetError::Shape(text.to_string());
        let (registry, budget) = text.split_once('=').ok_or_else(shape)?;
        let registry = registry_name(registry.trim())?;
        let budget = match budget.trim() {
            "unlimited" => Budget::Unlimited,
            limited => {
                let (pulls, window) = limited.split_once('/').ok_or_else(shape)?;
                let pulls = pulls.trim();
                let pulls = (!pulls.is_empty() && pulls.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| pulls.parse::<u64>().ok())
                    .flatten()
                    .ok_or_else(|| BudgetError::Pulls(pulls.to_string()))?;
                Budget::Limited {
                    pulls,
                    window: window.parse()?,
                }
            }
        };
        Ok(RegistryBudget { registry, budget })
    }
}

/// A registry host as budgets and the catalog key it: lowercased, Docker Hub's aliases folded
/// into `docker.io`. A name that is not a host (no `.` or `:`, not `localhost`) is refused
/// rather than read as Docker Hub the way an image name would be: `quay=10/1h` is a typo,
/// and silently budgeting Docker Hub instead would surprise.
pub fn registry_name(text: &str) -> Result<String, BudgetError> {
    let lower = text.to_ascii_lowercase();
    let valid = !lower.is_empty()
        && !lower.contains('/')
        && (lower.contains(['.', ':']) || lower == "localhost")
        && crate::image_ref::ImageRef::parse(&format!("{lower}/x")).is_ok();
    if !valid {
        return Err(BudgetError::NotAHost(text.to_string()));
    }
    Ok(normalise_registry(&lower))
}

/// Every budget in force and the interval they are counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryBudgets {
    budgets: BTreeMap<String, Budget>,
    interval: Window,
}

impl Default for RegistryBudgets {
    fn default() -> Self {
        Self::new(
            &[],
            DEFAULT_IMPORT_INTERVAL
                .parse()
                .unwrap_or(Window(15 * MINUTE)),
        )
    }
}

impl RegistryBudgets {
    /// The default budget (`docker.io=50/6h`) overridden by `flags`, later flags winning.
    pub fn new(flags: &[RegistryBudget], interval: Window) -> Self {
        let mut budgets = BTreeMap::new();
        budgets.insert(
            DOCKER_HUB.to_string(),
            Budget::Limited {
                pulls: 50,
                window: Window(6 * HOUR),
            },
        );
        for flag in flags {
            budgets.insert(flag.registry.clone(), flag.budget);
        }
        RegistryBudgets { budgets, interval }
    }

    pub fn interval(&self) -> Window {
        self.interval
    }

    /// The budget of a normalised registry; `Unlimited` when none is set.
    pub fn budget(&self, registry: &str) -> Budget {
        self.budgets
            .get(registry)
            .copied()
            .unwrap_or(Budget::Unlimited)
    }

    /// Registries with a budget set (limited or not), in name order.
    pub fn registries(&self) -> impl Iterator<Item = (&str, Budget)> {
        self.budgets.iter().map(|(r, b)| (r.as_str(), *b))
    }

    /// Whether any registry has a limit (what makes a missing catalog worth a warning).
    pub fn any_limited(&self) -> bool {
        self.budgets
            .values()
            .any(|b| matches!(b, Budget::Limited { .. }))
    }

    /// The window a registry's use is reported over: its budget's, else Docker Hub's 6 h.
    pub fn window(&self, registry: &str) -> Window {
        match self.budget(registry) {
            Budget::Limited { window, .. } => window,
            Budget::Unlimited => Window(REPORT_WINDOW_SECONDS),
        }
    }

    /// Pulls per `window` of imports costing `cycle_pulls` per interval (rounded up).
    pub fn pulls_per_window(&self, cycle_pulls: u64, window: Window) -> u64 {
        let pulls = u128::from(cycle_pulls) * u128::from(window.seconds());
        let per_window = pulls.div_ceil(u128::from(self.interval.seconds()));
        u64::try_from(per_window).unwrap_or(u64::MAX)
    }

    /// Whether imports costing `cycle_pulls` per interval stay within the registry's budget.
    /// Compared exactly (no rounding): pulls × window ≤ budget × interval.
    pub fn allows(&self, registry: &str, cycle_pulls: u64) -> bool {
        match self.budget(registry) {
            Budget::Unlimited => true,
            Budget::Limited { pulls, window } => {
                u128::from(cycle_pulls) * u128::from(window.seconds())
                    <= u128::from(pulls) * u128::from(self.interval.seconds())
            }
        }
    }
}

#[cfg(test)]
mod tests;
