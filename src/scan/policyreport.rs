//! `scan --output policyreport`: the scan as `wgpolicyk8s.io/v1alpha2` PolicyReport objects
//! (the Policy Report API of the Kubernetes Policy working group,
//! kubernetes-sigs/wg-policy-prototypes), one per namespace, one result per object and rule,
//! wrapped in a `v1` `List` so `kubectl apply -f -` takes them at once. Rules are the engine's
//! stable codes: a change it would make fails, a finding warns, an opt-out or an owned object is
//! skipped, and an object that redeploys by itself passes; objects out of the webhook's scope
//! get no result. Pure; it must not decide any status.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::ScannedObject;
use super::classify::Status;
use crate::engine::{Change, Code};

/// The policy every result belongs to.
const POLICY: &str = "autoredeploy";
/// One report per namespace, replaced on each apply.
const REPORT_NAME: &str = "autoredeploy";
const CATEGORY: &str = "Image updates";

/// A `List` of one PolicyReport per namespace that has objects in the webhook's scope (no
/// report is written into a namespace the webhook never serves, such as `openshift`).
pub fn reports(objects: &[ScannedObject]) -> Value {
    let mut by_namespace: BTreeMap<&str, Vec<&ScannedObject>> = BTreeMap::new();
    for object in objects.iter().filter(|o| o.status != Status::OutOfScope) {
        by_namespace
            .entry(object.namespace())
            .or_default()
            .push(object);
    }
    let items: Vec<Value> = by_namespace
        .into_iter()
        .map(|(namespace, objects)| report(namespace, &objects))
        .collect();
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

fn report(namespace: &str, objects: &[&ScannedObject]) -> Value {
    let results: Vec<Value> = objects.iter().flat_map(|o| results(o)).collect();
    let mut summary = Map::new();
    for outcome in ["pass", "fail", "warn", "error", "skip"] {
        let n = results.iter().filter(|r| r["result"] == outcome).count();
        summary.insert(outcome.into(), n.into());
    }
    json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {
            "name": REPORT_NAME,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "autoredeploy"},
        },
        "summary": summary,
        "results": results,
    })
}

/// Rule -> (result, messages) of one object.
#[derive(Default)]
struct Rules(BTreeMap<String, (&'static str, Vec<String>)>);

impl Rules {
    fn add(&mut self, rule: &str, outcome: &'static str, message: &str) {
        let entry = self
            .0
            .entry(rule.to_string())
            .or_insert((outcome, Vec::new()));
        entry.1.push(message.to_string());
    }
}

/// The results of one object: one per rule.
fn results(object: &ScannedObject) -> Vec<Value> {
    let mut rules = Rules::default();
    for change in &object.row.changes {
        rules.add(change.code.as_str(), "fail", &change.message);
    }
    for finding in findings(&object.row.findings) {
        rules.add(finding.code.as_str(), "warn", &finding.message);
    }
    match object.status {
        Status::OptedOut => rules.add("opted-out", "skip", &object.detail),
        Status::Owned => rules.add("owned", "skip", &object.detail),
        Status::ImportFailing => rules.add("import-success", "fail", &object.detail),
        Status::NotScheduled | Status::TriggerPaused | Status::AutomaticFalse => {
            rules.add(status_rule(object.status), "warn", &object.detail)
        }
        Status::NotTracked if object.row.findings.is_empty() => {
            rules.add("untracked-image", "warn", &object.detail)
        }
        _ => {}
    }
    if rules.0.is_empty() {
        rules.add(
            "auto-redeploy",
            "pass",
            "redeploys by itself when its image changes",
        );
    }
    rules
        .0
        .into_iter()
        .map(|(rule, (outcome, messages))| result(object, &rule, outcome, &messages.join("; ")))
        .collect()
}

/// Findings that are not the object's own opt-out or owner (reported as `skip`).
fn findings(findings: &[Change]) -> impl Iterator<Item = &Change> {
    findings
        .iter()
        .filter(|f| !matches!(f.code, Code::OptedOut | Code::Owned))
}

fn status_rule(status: Status) -> &'static str {
    match status {
        Status::NotScheduled => "scheduled-import",
        Status::TriggerPaused => "trigger-paused",
        _ => "trigger-automatic",
    }
}

fn result(object: &ScannedObject, rule: &str, outcome: &str, message: &str) -> Value {
    let severity = match outcome {
        "fail" => "medium",
        _ => "low",
    };
    json!({
        "policy": POLICY,
        "rule": rule,
        "result": outcome,
        "message": message,
        "source": POLICY,
        "category": CATEGORY,
        "severity": severity,
        "scored": true,
        "resources": [{
            "apiVersion": object.api_version,
            "kind": object.kind(),
            "name": object.name(),
            "namespace": object.namespace(),
        }],
        "properties": {"status": object.status.label()},
    })
}
