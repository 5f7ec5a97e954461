//! PURE: the one batch driver for a set of objects, used by `mutate` (manifests, offline) and
//! `scan` (what a cluster stores). It judges objects one at a time, in the caller's order,
//! against one `CatalogIndex`: it runs the engine (the only call to it outside the admission
//! adapter), derives each object's mode from the mode it is served in (`Mode::for_object`),
//! and when the patch is written (`Mode::disposition`, the one audit rule) puts the mutated
//! object into the catalog, so what an earlier object scheduled counts against the pull
//! budgets of the later ones. An audited object is only reported: it writes nothing and
//! consumes no budget. Its [`Row`] is the one report row `mutate` and `scan` share. No I/O;
//! the admission adapter keeps its own response building.

use serde::Serialize;
use serde_json::Value;

use crate::catalog::CatalogIndex;
use crate::config::{Disposition, Mode, RuleConfig};
use crate::engine::{self, Change, Outcome, Request};

/// How the engine sees every object of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// A CREATE by an unknown user: offline manifests (`mutate`).
    Create,
    /// A re-apply of the stored object: an UPDATE whose old object is itself (`scan`).
    Reapply,
}

/// The engine on one object, as `view` sees it: the one place it is called from here.
fn run_engine(view: View, object: &Value, catalog: &CatalogIndex, rules: &RuleConfig) -> Outcome {
    let request = match view {
        View::Create => Request::default(),
        View::Reapply => Request::reapply(object),
    };
    engine::mutate(object, &request, catalog, rules)
}

/// What the batch made of one object: the engine's outcome and the mode the object is in.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub outcome: Outcome,
    /// The mode it is served in, or `audit` when the object asks for it.
    pub mode: Mode,
}

impl Judgement {
    /// What the mode does with the engine's patch.
    pub fn disposition(&self) -> Disposition<'_> {
        self.mode.disposition(&self.outcome.patch)
    }

    /// The patch written (enforce, and something changes).
    pub fn written(&self) -> Option<&json_patch::Patch> {
        self.disposition().written()
    }

    /// The patch only reported (audit, and something would change).
    pub fn would_be(&self) -> Option<&json_patch::Patch> {
        self.disposition().would_be()
    }
}

/// Judge one object alone, as `view` sees it, served in `served`; nothing is recorded.
pub fn judge(
    view: View,
    object: &Value,
    served: Mode,
    catalog: &CatalogIndex,
    rules: &RuleConfig,
) -> Judgement {
    Judgement {
        outcome: run_engine(view, object, catalog, rules),
        mode: served.for_object(Some(object)),
    }
}

/// A set of objects judged in order against one catalog.
pub struct Batch<'a> {
    view: View,
    catalog: &'a mut CatalogIndex,
    rules: &'a RuleConfig,
    /// Where a mutated object without `metadata.namespace` goes in the catalog.
    namespace: &'a str,
}

impl<'a> Batch<'a> {
    pub fn new(
        view: View,
        catalog: &'a mut CatalogIndex,
        rules: &'a RuleConfig,
        namespace: &'a str,
    ) -> Self {
        Batch {
            view,
            catalog,
            rules,
            namespace,
        }
    }

    /// Judge the next object, served in `served`. A written patch puts the mutated object
    /// into the catalog (only ImageStreams are kept there) before the next object is judged.
    pub fn judge(&mut self, object: &Value, served: Mode) -> Judgement {
        let judgement = judge(self.view, object, served, self.catalog, self.rules);
        if judgement.written().is_some() {
            self.catalog
                .upsert(&judgement.outcome.object, self.namespace);
        }
        judgement
    }

    /// The catalog as the objects judged so far left it.
    pub fn catalog(&self) -> &CatalogIndex {
        self.catalog
    }
}

/// One object's report row, the same in `mutate --output json` and `scan --output json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// `audit` when the object is served in audit mode or says `autoredeploy.io/mode: audit`:
    /// its changes are reported, not written; else `enforce`.
    pub mode: Mode,
    pub changes: Vec<Change>,
    pub findings: Vec<Change>,
    /// RFC 6902 JSON Patch written to the object; empty when nothing changes and in audit.
    pub patch: json_patch::Patch,
    /// In audit, the patch enforce would have written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_patch: Option<json_patch::Patch>,
}

impl Row {
    /// The row of `object` as judged.
    pub fn new(object: &Value, judgement: &Judgement) -> Row {
        Row {
            changes: judgement.outcome.changes.clone(),
            findings: judgement.outcome.findings.clone(),
            patch: judgement.written().cloned().unwrap_or_default(),
            would_patch: judgement.would_be().cloned(),
            ..Row::unjudged(object, judgement.mode)
        }
    }

    /// The row of an object the engine did not run on: no changes, findings or patch.
    pub fn unjudged(object: &Value, mode: Mode) -> Row {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Row {
            kind: text("/kind").unwrap_or_default(),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
            mode,
            changes: Vec::new(),
            findings: Vec::new(),
            patch: json_patch::Patch::default(),
            would_patch: None,
        }
    }

    pub fn audited(&self) -> bool {
        self.mode == Mode::Audit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RegistryBudget, RegistryBudgets};
    use crate::engine::Code;
    use serde_json::json;

    /// A stream with one external tag, not yet scheduled.
    fn stream(name: &str, image: &str, annotations: Value) -> Value {
        json!({
            "apiVersion": "image.openshift.io/v1",
            "kind": "ImageStream",
            "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
            "spec": {"tags": [{"name": "1", "from": {"kind": "DockerImage", "name": image}}]},
        })
    }

    fn codes(changes: &[Change]) -> Vec<Code> {
        changes.iter().map(|c| c.code).collect()
    }

    fn scheduled(catalog: &CatalogIndex, rules: &RuleConfig) -> u64 {
        crate::catalog::budget::registry_totals(catalog.usage(), &rules.budgets)
            .iter()
            .map(|t| t.scheduled_tags)
            .sum()
    }

    /// Docker Hub with room for exactly one scheduled tag.
    fn one_tag_budget() -> RuleConfig {
        let flag: RegistryBudget = "docker.io=24/6h".parse().unwrap();
        RuleConfig {
            budgets: RegistryBudgets::new(&[flag], "15m".parse().unwrap()),
            ..RuleConfig::default()
        }
    }

    #[test]
    fn an_earlier_written_stream_consumes_the_budget_of_a_later_one() {
        let rules = one_tag_budget();
        let first = stream("a", "docker.io/org/a:1", json!({}));
        let second = stream("b", "docker.io/org/b:1", json!({}));
        let mut catalog = CatalogIndex::from_objects([&first, &second], "");
        let mut batch = Batch::new(View::Create, &mut catalog, &rules, "");
        let a = batch.judge(&first, Mode::Enforce);
        let b = batch.judge(&second, Mode::Enforce);
        assert_eq!(codes(&a.outcome.changes), [Code::ScheduledImport]);
        assert!(a.written().is_some());
        assert!(b.outcome.changes.is_empty(), "{:?}", b.outcome.changes);
        assert_eq!(codes(&b.outcome.findings), [Code::PullBudget]);
        assert_eq!(scheduled(batch.catalog(), &rules), 1);

        // The other order: the budget goes to the one judged first.
        let mut catalog = CatalogIndex::from_objects([&first, &second], "");
        let mut batch = Batch::new(View::Create, &mut catalog, &rules, "");
        let b = batch.judge(&second, Mode::Enforce);
        let a = batch.judge(&first, Mode::Enforce);
        assert_eq!(codes(&b.outcome.changes), [Code::ScheduledImport]);
        assert_eq!(codes(&a.outcome.findings), [Code::PullBudget]);
    }

    #[test]
    fn an_audited_stream_is_reported_with_its_would_be_patch_and_consumes_no_budget() {
        let rules = one_tag_budget();
        let audited = stream(
            "a",
            "docker.io/org/a:1",
            json!({"autoredeploy.io/mode": "audit"}),
        );
        let enforced = stream("b", "docker.io/org/b:1", json!({}));
        let mut catalog = CatalogIndex::from_objects([&audited, &enforced], "");
        let mut batch = Batch::new(View::Create, &mut catalog, &rules, "");

        let a = batch.judge(&audited, Mode::Enforce);
        assert_eq!(a.mode, Mode::Audit);
        assert_eq!(codes(&a.outcome.changes), [Code::ScheduledImport]);
        assert_eq!(a.written(), None);
        assert_eq!(a.would_be(), Some(&a.outcome.patch));
        assert_eq!(
            scheduled(batch.catalog(), &rules),
            0,
            "audit upserts nothing"
        );
        let row = Row::new(&audited, &a);
        assert!(row.audited());
        assert_eq!(row.patch, json_patch::Patch::default());
        assert_eq!(row.would_patch.as_ref(), Some(&a.outcome.patch));
        assert_eq!(codes(&row.changes), [Code::ScheduledImport]);

        // The enforced stream after it still finds the budget's room.
        let b = batch.judge(&enforced, Mode::Enforce);
        assert_eq!(codes(&b.outcome.changes), [Code::ScheduledImport]);
        assert_eq!(scheduled(batch.catalog(), &rules), 1);
        let row = Row::new(&enforced, &b);
        assert_eq!(Some(&row.patch), b.written());
        assert_eq!(row.would_patch, None);
        assert_eq!(
            (
                row.kind.as_str(),
                row.namespace.as_deref(),
                row.name.as_deref()
            ),
            ("ImageStream", Some("shop"), Some("b"))
        );
    }

    #[test]
    fn an_object_served_in_audit_is_audited_and_an_annotation_cannot_enforce_it() {
        let rules = RuleConfig::default();
        let object = stream(
            "a",
            "docker.io/org/a:1",
            json!({"autoredeploy.io/mode": "enforce"}),
        );
        let mut catalog = CatalogIndex::from_objects([&object], "");
        let mut batch = Batch::new(View::Reapply, &mut catalog, &rules, "");
        let judged = batch.judge(&object, Mode::Audit);
        assert_eq!(judged.mode, Mode::Audit);
        assert!(judged.would_be().is_some());
        assert_eq!(scheduled(batch.catalog(), &rules), 0);
        let judged = batch.judge(&object, Mode::Enforce);
        assert!(judged.written().is_some());
        assert_eq!(scheduled(batch.catalog(), &rules), 1);
    }
}
