//! `scan --fix`: apply the engine's patch to each object that would change, never over a
//! concurrent writer. Every request is a JSON Patch whose first operation tests
//! `metadata.resourceVersion` against the version the patch was computed from; on a conflict
//! the object is read again, run through the engine again, and the new patch tried, a few
//! times, before the object is reported skipped. An object the re-read finds out of the
//! webhook's scope, or in audit mode, is skipped too. Streams go first and each written stream
//! replaces its catalog entry, so streams scheduled earlier count against the budgets of later
//! ones. Only objects the scan found in scope and in enforce mode are ever sent. It must not
//! print.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use super::api::{ApiError, Cluster};
use super::resources::Resource;
use super::scope::{Decision, Scope};
use super::{Scan, ScannedObject};
use crate::batch::{self, View};
use crate::catalog::CatalogIndex;
use crate::config::{Disposition, RuleConfig};
use crate::engine::Outcome;

/// The field every patch tests first: the version the patch was computed from.
const RESOURCE_VERSION: &str = "/metadata/resourceVersion";

/// Patches sent per object before it is reported skipped: the first, then one after each
/// re-read that followed a conflict.
pub const ATTEMPTS: u32 = 3;

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixState {
    Patched,
    /// `--dry-run`: the server accepted the patch and stored nothing.
    WouldPatch,
    /// Re-read after a conflict, the object needed nothing any more.
    AlreadyDone,
    /// Changed by someone else on every try.
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct FixResult {
    pub namespace: String,
    pub kind: &'static str,
    pub name: String,
    pub result: FixState,
    /// The change codes of the patch sent (or last tried).
    pub codes: Vec<String>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl FixResult {
    pub fn failed(&self) -> bool {
        matches!(self.result, FixState::Skipped | FixState::Failed)
    }
}

/// Patch every object of `scan` that would change, streams first. A scan that never read the
/// webhook's scope patches nothing.
pub async fn fix(
    cluster: &Cluster,
    scan: &mut Scan,
    rules: &RuleConfig,
    dry_run: bool,
) -> Vec<FixResult> {
    let Some(scope) = scan.scope.clone() else {
        return Vec::new();
    };
    let pending: Vec<ScannedObject> = scan
        .objects
        .iter()
        .filter(|o| o.fixable())
        .cloned()
        .collect();
    let (streams, workloads): (Vec<_>, Vec<_>) = pending
        .into_iter()
        .partition(|o| o.resource.is_image_stream());
    let mut results = Vec::new();
    for object in streams.into_iter().chain(workloads) {
        let fixer = Fixer {
            cluster,
            resource: object.resource,
            rules,
            scope: &scope,
            dry_run,
        };
        results.push(fixer.apply(object, &mut scan.catalog).await);
    }
    results
}

/// What to do after a conflict.
enum Next {
    /// Try again with this outcome's patch, testing this resourceVersion.
    Retry(Outcome, Option<String>),
    UpToDate,
    /// The webhook would no longer write it (out of scope, or audit mode now): why.
    LeftAlone(String),
    Failed(String),
}

struct Fixer<'a> {
    cluster: &'a Cluster,
    resource: &'static Resource,
    rules: &'a RuleConfig,
    scope: &'a Scope,
    dry_run: bool,
}

impl Fixer<'_> {
    async fn apply(&self, object: ScannedObject, catalog: &mut CatalogIndex) -> FixResult {
        let mut result = FixResult {
            namespace: object.namespace().to_string(),
            kind: object.kind(),
            name: object.name().to_string(),
            result: FixState::Failed,
            codes: codes(&object.row.changes),
            attempts: 0,
            reason: None,
        };
        let (mut patch, mut version) = (object.row.patch, object.resource_version);
        while result.attempts < ATTEMPTS {
            result.attempts += 1;
            let Some(expected) = version.clone() else {
                return failed(result, "the object has no metadata.resourceVersion".into());
            };
            let sent = self.send(&result.namespace, &result.name, &expected, patch.clone());
            match sent.await {
                Ok(written) => {
                    if self.resource.is_image_stream() {
                        catalog.upsert(&written, "");
                    }
                    result.result = match self.dry_run {
                        true => FixState::WouldPatch,
                        false => FixState::Patched,
                    };
                    return result;
                }
                Err(ApiError::Conflict { message, .. }) => {
                    match self.reread(&result, &expected, &message, catalog).await {
                        Next::Retry(outcome, fresh) => {
                            result.codes = codes(&outcome.changes);
                            (patch, version) = (outcome.patch, fresh);
                        }
                        Next::UpToDate => {
                            result.result = FixState::AlreadyDone;
                            return result;
                        }
                        Next::LeftAlone(reason) => {
                            result.result = FixState::Skipped;
                            result.reason = Some(reason);
                            return result;
                        }
                        Next::Failed(reason) => return failed(result, reason),
                    }
                }
                Err(error) => return failed(result, error.to_string()),
            }
        }
        result.result = FixState::Skipped;
        result.reason = Some(format!(
            "changed by someone else on each of {ATTEMPTS} tries; scan it again"
        ));
        result
    }

    /// After a conflict: read the object again and run the engine on what is there now.
    async fn reread(
        &self,
        result: &FixResult,
        expected: &str,
        message: &str,
        catalog: &CatalogIndex,
    ) -> Next {
        let fresh = match self
            .cluster
            .get(self.resource, &result.namespace, &result.name)
            .await
        {
            Ok(fresh) => fresh,
            Err(error) => return Next::Failed(error.to_string()),
        };
        let version = resource_version(&fresh);
        if version.as_deref() == Some(expected) {
            // Nobody else wrote: the server refused the patch itself.
            return Next::Failed(format!("the server refused the patch: {message}"));
        }
        let served = match self.scope.decide(self.resource, &fresh) {
            Decision::Served(served) => served,
            Decision::OutOfScope(why) => {
                return Next::LeftAlone(format!("now out of the webhook's scope: {why}"));
            }
        };
        let judgement = batch::judge(View::Reapply, &fresh, served, catalog, self.rules);
        match judgement.disposition() {
            Disposition::Unchanged => Next::UpToDate,
            Disposition::Report(_) => {
                Next::LeftAlone("now in audit mode: the webhook would only report it".into())
            }
            Disposition::Write(_) => Next::Retry(judgement.outcome, version),
        }
    }

    /// The engine's patch behind a `test` of the resourceVersion it was computed from.
    async fn send(
        &self,
        namespace: &str,
        name: &str,
        version: &str,
        patch: json_patch::Patch,
    ) -> Result<Value, ApiError> {
        let test = json!({"op": "test", "path": RESOURCE_VERSION, "value": version});
        let mut ops = Vec::with_capacity(patch.0.len() + 1);
        // A fixed, well-formed operation: it always deserialises.
        if let Ok(test) = serde_json::from_value(test) {
            ops.push(test);
        }
        ops.extend(patch.0);
        self.cluster
            .patch(
                self.resource,
                namespace,
                name,
                json_patch::Patch(ops),
                self.dry_run,
            )
            .await
    }
}

fn failed(mut result: FixResult, reason: String) -> FixResult {
    result.result = FixState::Failed;
    result.reason = Some(reason);
    result
}

/// The distinct change codes, sorted as the table's detail shows them.
fn codes(changes: &[crate::engine::Change]) -> Vec<String> {
    let codes: std::collections::BTreeSet<&str> = changes.iter().map(|c| c.code.as_str()).collect();
    codes.into_iter().map(str::to_string).collect()
}

fn resource_version(object: &Value) -> Option<String> {
    object
        .pointer(RESOURCE_VERSION)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// One line per object, then the totals.
pub fn render(results: &[FixResult], dry_run: bool) -> String {
    let mut out = String::new();
    for r in results {
        let verb = match r.result {
            FixState::Patched => "patched",
            FixState::WouldPatch => "would patch",
            FixState::AlreadyDone => "up to date",
            FixState::Skipped => "skipped",
            FixState::Failed => "failed",
        };
        let _ = write!(out, "{verb:<11} {} {}/{}", r.kind, r.namespace, r.name);
        match &r.reason {
            Some(reason) => {
                let _ = writeln!(out, ": {reason}");
            }
            None => {
                let _ = writeln!(out, " ({})", r.codes.join(", "));
            }
        }
    }
    let count = |state: FixState| results.iter().filter(|r| r.result == state).count();
    let applied = match dry_run {
        true => format!("{} would be patched (dry run)", count(FixState::WouldPatch)),
        false => format!("{} patched", count(FixState::Patched)),
    };
    let _ = writeln!(
        out,
        "\n{applied}, {} up to date, {} skipped, {} failed",
        count(FixState::AlreadyDone),
        count(FixState::Skipped),
        count(FixState::Failed)
    );
    out
}
