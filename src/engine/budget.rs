//! Registry pull budgets in the engine: what one scheduled import of a tag costs,
//! and a ledger that says whether scheduling one more tag keeps its registry within budget.
//! The catalog supplies what the rest of the cluster (or manifest set) already schedules,
//! leaving out what the object under review replaces; the object's own scheduled tags are
//! counted here. Pure: no clock, no I/O; the numbers come from `RegistryBudgets`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::catalog::Replaced;
use super::image_ref::ImageRef;
use crate::config::{Budget, RegistryBudgets};
use crate::engine::catalog::Catalog;

/// The only `from.kind` the import controller imports (`tagImportable`).
pub const DOCKER_IMAGE: &str = "DockerImage";
/// Keeps every platform of a manifest list, and fetches every sub-manifest on each import.
pub const PRESERVE_ORIGINAL: &str = "PreserveOriginal";
/// Platforms assumed for a `PreserveOriginal` tag whose status lists none yet (never imported,
/// or last imported as one image): Docker's official images list about 8 (nginx: amd64,
/// arm/v5, arm/v7, arm64/v8, 386, mips64le, ppc64le, s390x). A guess of 1 would admit a tag
/// that costs several times its registry's budget after its first import.
pub const ASSUMED_PLATFORMS: u32 = 8;
/// Tags a repository import may create (`maxImagesBulkImportedPerRepository`, openshift/
/// openshift-apiserver `pkg/cmd/openshift-apiserver/openshiftcontrolplane_default.go`).
pub const REPOSITORY_IMPORT_TAGS: u32 = 50;

/// The normalised registry of a TagReference the import controller imports: `from.kind`
/// `DockerImage`, not `reference`, parsable and not digest-pinned (a pinned tag is dropped
/// from scheduling after its first import, openshift/openshift-controller-manager#29).
pub fn import_registry(entry: &Value) -> Option<String> {
    let from = entry.get("from")?;
    if from.get("kind").and_then(Value::as_str) != Some(DOCKER_IMAGE)
        || entry.get("reference").and_then(Value::as_bool) == Some(true)
    {
        return None;
    }
    let image = ImageRef::parse(from.get("name")?.as_str()?).ok()?;
    (!image.is_digest_pinned()).then_some(image.registry)
}

/// Whether the entry asks for scheduled import.
pub fn is_scheduled(entry: &Value) -> bool {
    import_policy(entry, "scheduled") == Some(&Value::Bool(true))
}

/// Whether the entry imports whole manifest lists.
pub fn preserves_original(entry: &Value) -> bool {
    import_policy(entry, "importMode").and_then(Value::as_str) == Some(PRESERVE_ORIGINAL)
}

/// `importPolicy.<field>` of an entry. Asked several times for every tag of a stream, so
/// not `Value::pointer`, which allocates each token it unescapes.
fn import_policy<'a>(entry: &'a Value, field: &str) -> Option<&'a Value> {
    entry.get("importPolicy")?.get(field)
}

/// Pulls one import costs: 1 manifest GET, or with `PreserveOriginal` one per sub-manifest
/// the status lists (at least 1), and [`ASSUMED_PLATFORMS`] while the status lists none.
pub fn pulls_per_import(preserve_original: bool, platforms: Option<u32>) -> u32 {
    if preserve_original {
        platforms.map_or(ASSUMED_PLATFORMS, |n| n.max(1))
    } else {
        1
    }
}

/// Whether [`pulls_per_import`] had to assume the platform count.
pub fn platforms_assumed(preserve_original: bool, platforms: Option<u32>) -> bool {
    preserve_original && platforms.is_none()
}

/// Why a tag stays unscheduled: the numbers its finding quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    pub registry: String,
    pub budget: u64,
    pub window: String,
    /// Pulls per window already projected without this tag.
    pub projected: u64,
    /// Pulls per window with it.
    pub with_tag: u64,
}

impl OverBudget {
    /// One sentence: the registry, the budget, the projected use and how to raise it. Kept
    /// short (no source name; the path says which tag) because the API server cuts each
    /// warning to 256 characters.
    pub fn message(&self, label: &str) -> String {
        let OverBudget {
            registry,
            budget,
            window,
            projected,
            with_tag,
        } = self;
        format!(
            "{label} left unscheduled: {registry} would reach {with_tag} pulls/{window}, over \
             its budget of {budget} ({projected} projected); authenticate imports with a pull \
             secret, then raise --registry-budget {registry}=PULLS/{window} (chart: \
             registryBudgets)"
        )
    }

    /// The same numbers behind another decision: `subject` says what was not done, `note`
    /// (inside the parentheses) what the count assumed.
    pub fn explain(&self, subject: &str, note: Option<&str>) -> String {
        let OverBudget {
            registry,
            budget,
            window,
            projected,
            with_tag,
        } = self;
        let note = note.map(|n| format!("; {n}")).unwrap_or_default();
        format!(
            "{subject}: {registry} would reach {with_tag} pulls/{window}, over its budget of \
             {budget} ({projected} projected{note}); authenticate imports, then raise \
             --registry-budget {registry}=PULLS/{window}"
        )
    }
}

/// A registry whose scheduled imports already project more than its budget (tags scheduled
/// by hand, or that cost more than their first import showed): nothing new is scheduled on
/// it, and every review that sees it says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdrawn {
    pub registry: String,
    pub budget: u64,
    pub window: String,
    /// Pulls per window projected, this object's scheduled tags included.
    pub projected: u64,
}

impl Overdrawn {
    /// One sentence, short enough for one API server warning; `among` names one of the
    /// object's own scheduled tags on the registry.
    pub fn message(&self, among: &str) -> String {
        let Overdrawn {
            registry,
            budget,
            window,
            projected,
        } = self;
        format!(
            "{registry} is over its pull budget: scheduled imports project {projected} \
             pulls/{window}, over its budget of {budget} ({among} among them); unschedule tags, \
             or authenticate imports and raise --registry-budget {registry}=PULLS/{window}"
        )
    }
}

/// Pulls per import cycle counted on each registry while one object is reviewed.
pub struct Ledger<'a> {
    catalog: &'a dyn Catalog,
    budgets: &'a RegistryBudgets,
    replaced: Replaced<'a>,
    used: BTreeMap<String, u64>,
}

impl<'a> Ledger<'a> {
    pub fn new(
        catalog: &'a dyn Catalog,
        budgets: &'a RegistryBudgets,
        replaced: Replaced<'a>,
    ) -> Self {
        Ledger {
            catalog,
            budgets,
            replaced,
            used: BTreeMap::new(),
        }
    }

    fn used(&mut self, registry: &str) -> &mut u64 {
        let (catalog, replaced) = (self.catalog, &self.replaced);
        self.used
            .entry(registry.to_string())
            .or_insert_with(|| catalog.scheduled_pulls(registry, replaced))
    }

    /// Count a tag that is scheduled whatever the budget says (the user scheduled it).
    pub fn count(&mut self, registry: &str, pulls: u32) {
        *self.used(registry) += u64::from(pulls);
    }

    /// The registry's projection when it is already over its budget.
    pub fn overdrawn(&mut self, registry: &str) -> Option<Overdrawn> {
        let budgets = self.budgets;
        let used = *self.used(registry);
        if budgets.allows(registry, used) {
            return None;
        }
        let Budget::Limited {
            pulls: budget,
            window,
        } = budgets.budget(registry)
        else {
            return None;
        };
        Some(Overdrawn {
            registry: registry.to_string(),
            budget,
            window: window.to_string(),
            projected: budgets.pulls_per_window(used, window),
        })
    }

    /// Count the tag when its registry stays within budget; say by how much it would not.
    pub fn admit(&mut self, registry: &str, pulls: u32) -> Result<(), OverBudget> {
        let budgets = self.budgets;
        let used = self.used(registry);
        let with_tag = used.saturating_add(u64::from(pulls));
        if budgets.allows(registry, with_tag) {
            *used = with_tag;
            return Ok(());
        }
        let used = *used;
        let Budget::Limited {
            pulls: budget,
            window,
        } = budgets.budget(registry)
        else {
            // `allows` is always true without a limit.
            return Ok(());
        };
        Err(OverBudget {
            registry: registry.to_string(),
            budget,
            window: window.to_string(),
            projected: budgets.pulls_per_window(used, window),
            with_tag: budgets.pulls_per_window(with_tag, window),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::catalog::EmptyCatalog;

    #[test]
    fn only_importable_external_tags_have_a_registry() {
        let tag = |from: Value| json!({"name": "t", "from": from});
        let docker = |name: &str| json!({"kind": "DockerImage", "name": name});
        assert_eq!(
            import_registry(&tag(docker("nginx"))).as_deref(),
            Some("docker.io")
        );
        assert_eq!(
            import_registry(&tag(docker("Quay.io/org/app:1"))).as_deref(),
            Some("quay.io")
        );
        let pinned = format!("nginx@sha256:{}", "a".repeat(64));
        assert_eq!(import_registry(&tag(docker(&pinned))), None);
        assert_eq!(
            import_registry(&tag(json!({"kind": "ImageStreamTag", "name": "a:b"}))),
            None
        );
        let reference =
            json!({"from": {"kind": "DockerImage", "name": "nginx"}, "reference": true});
        assert_eq!(import_registry(&reference), None);
    }

    #[test]
    fn preserve_original_costs_one_pull_per_platform_or_the_assumed_count() {
        assert_eq!(pulls_per_import(false, Some(4)), 1);
        assert_eq!(pulls_per_import(true, Some(4)), 4);
        assert_eq!(pulls_per_import(true, Some(0)), 1);
        // Before a first import the count is unknown: a realistic count, not the cheapest.
        assert_eq!(pulls_per_import(true, None), ASSUMED_PLATFORMS);
        assert!(platforms_assumed(true, None) && !platforms_assumed(false, None));
        assert!(!platforms_assumed(true, Some(2)));
    }

    #[test]
    fn the_ledger_admits_up_to_the_budget_and_explains_the_refusal() {
        let budgets = RegistryBudgets::default();
        let mut ledger = Ledger::new(&EmptyCatalog, &budgets, Replaced::Nothing);
        ledger.count("docker.io", 1);
        assert_eq!(ledger.admit("docker.io", 1), Ok(()));
        let refusal = ledger.admit("docker.io", 1).unwrap_err();
        assert_eq!(
            (refusal.projected, refusal.with_tag, refusal.budget),
            (48, 72, 50)
        );
        assert_eq!(refusal.window, "6h");
        assert_eq!(ledger.admit("quay.io", 1000), Ok(()));
        let message = refusal.message("tag \"latest\"");
        assert!(
            message.contains("docker.io would reach 72 pulls/6h"),
            "{message}"
        );
        assert!(
            message.contains("--registry-budget docker.io=PULLS/6h"),
            "{message}"
        );
        // With "(audit) autoredeploy: " in front it still fits one API server warning.
        assert!(message.len() + 22 <= 256, "{} characters", message.len());
        let assumed = refusal.explain(
            "tag \"latest\" left unscheduled",
            Some("PreserveOriginal, 8 platforms assumed"),
        );
        assert!(assumed.len() + 22 <= 256, "{} characters", assumed.len());
    }

    #[test]
    fn an_overdrawn_registry_is_named_with_its_projection() {
        let budgets = RegistryBudgets::default();
        let mut ledger = Ledger::new(&EmptyCatalog, &budgets, Replaced::Nothing);
        ledger.count("docker.io", 2);
        assert_eq!(ledger.overdrawn("docker.io"), None, "48 <= 50");
        ledger.count("docker.io", 8);
        let over = ledger.overdrawn("docker.io").expect("240 > 50");
        assert_eq!((over.projected, over.budget), (240, 50));
        ledger.count("quay.io", 1000);
        assert_eq!(ledger.overdrawn("quay.io"), None, "no budget");
        let message = over.message("tag \"latest\" (8 pulls per import)");
        assert!(
            message.starts_with(
                "docker.io is over its pull budget: scheduled imports project 240 pulls/6h"
            ),
            "{message}"
        );
        assert!(message.len() + 22 <= 256, "{} characters", message.len());
    }
}
