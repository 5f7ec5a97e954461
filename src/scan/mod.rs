//! `scan`: the engine over what already exists in a cluster. It lists ImageStreams and the
//! workload kinds page by page, builds the same catalog `serve` builds from the streams, and
//! runs every object the webhook would be called for ([`scope`]) through the engine as
//! the webhook would see a re-apply of it (an UPDATE whose old object is the stored one); the
//! others are reported out of scope. The objects go through one [`Batch`] per kind, in list
//! order, against the scan's catalog: the batch runs the engine, derives each object's mode
//! and keeps what a written patch schedules in the catalog; each object's report row is the
//! batch's [`Row`], the one `mutate` reports too. Each object gets a status ([`classify`]), the
//! whole scan a per-registry load ([`streams`]); [`fix`] applies the patches; [`image`]
//! answers what redeploys if an image moves, from the same flow (an [`Observer`] of each
//! judged object). Rendering lives in [`render`], [`explain`] and [`policyreport`].
//! Workloads are dropped page by page, so memory follows the number of objects, not their
//! size; streams are held until the catalog is built. This module must not print.

pub mod api;
pub mod catalog;
pub mod chain;
pub mod classify;
pub mod explain;
pub mod fix;
pub mod image;
pub mod policyreport;
pub mod render;
pub mod resources;
pub mod scope;
pub mod selector;
pub mod streams;

use serde::Serialize;
use serde_json::Value;

use crate::batch::{Batch, Judgement, Row, View};
use crate::catalog::CatalogIndex;
use crate::catalog::budget::registry_totals;
use crate::config::{Disposition, Mode, RuleConfig};
use api::{ApiError, Cluster};
use classify::{Status, Verdict};
use resources::Resource;
use scope::{Decision, Scope, ScopeOptions};
use streams::{RegistryLoad, TagTable};

/// One scanned object and what the engine said about it.
#[derive(Debug, Clone, Serialize)]
pub struct ScannedObject {
    /// Kind, namespace, name, mode, changes, findings, the patch the webhook would write and,
    /// in audit, the would-be patch. `mode` is `audit` when only the audit webhook is called
    /// for the object (its namespace is labelled `autoredeploy.io/mode=audit`) or it says
    /// `autoredeploy.io/mode: audit`: the webhook only reports its changes, so its `patch` is
    /// empty, `--fix` leaves it alone and the exit code does not count it. The patch comes
    /// without the `resourceVersion` test `--fix` puts first.
    #[serde(flatten)]
    pub row: Row,
    pub api_version: String,
    pub status: Status,
    /// One line: the change codes, or why the object does not redeploy by itself.
    pub detail: String,
    #[serde(skip)]
    pub resource: &'static Resource,
    #[serde(skip)]
    pub resource_version: Option<String>,
}

/// Everything a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Streams first, then workloads, each in list order.
    pub objects: Vec<ScannedObject>,
    /// Said once, not errors: kinds this cluster does not serve, a catalog limited to one
    /// namespace.
    pub notes: Vec<String>,
    /// One line per failed request.
    pub errors: Vec<String>,
    pub registries: Vec<RegistryLoad>,
    /// List requests made.
    pub requests: usize,
    /// The webhook's scope the objects were judged by (set once the scan has read it).
    pub scope: Option<Scope>,
    /// The catalog the engine ran with, streams updated with what the scan would schedule.
    pub catalog: CatalogIndex,
    pub tags: TagTable,
}

/// Told how far a long scan has come (what is being listed, objects so far).
pub trait Progress {
    fn listed(&mut self, what: &str, objects: usize);
}

/// No progress output.
pub struct Quiet;

/// Told about every object as the scan judges it, with what the engine said: what
/// `scan --image` answers from, so it runs the very same flow.
pub trait Observer {
    /// An ImageStream of the catalog's listing (every namespace the catalog covers).
    fn listed_stream(&mut self, _stored: &Value) {}
    /// An object of the scanned namespaces, judged; `tags` is the scan's tag table.
    fn judged(
        &mut self,
        _resource: &'static Resource,
        _stored: &Value,
        _judged: Judged<'_>,
        _tags: &TagTable,
    ) {
    }
}

/// What the scan made of one object.
pub enum Judged<'a> {
    /// No webhook is called for it: why.
    OutOfScope(&'a str),
    /// Run through the engine, in the mode the webhook serves it (or the object asks for).
    Ran {
        judgement: &'a Judgement,
        verdict: &'a Verdict,
    },
}

/// Observes nothing.
pub struct Unobserved;

impl Observer for Unobserved {}

impl ScannedObject {
    /// Whether `--fix` would patch it: a change the webhook would write, not only report.
    pub fn fixable(&self) -> bool {
        self.status != Status::OutOfScope && !self.row.patch.0.is_empty()
    }

    pub fn namespace(&self) -> &str {
        self.row.namespace.as_deref().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.row.name.as_deref().unwrap_or_default()
    }

    pub fn kind(&self) -> &'static str {
        self.resource.kind
    }
}

impl Progress for Quiet {
    fn listed(&mut self, _: &str, _: usize) {}
}

/// Scan `namespace` (`None`: every namespace). An unreachable cluster ends the scan with an
/// error; a forbidden or unserved kind is recorded and the other kinds are still scanned.
pub async fn scan(
    cluster: &Cluster,
    namespace: Option<&str>,
    rules: &RuleConfig,
    options: &ScopeOptions,
    progress: &mut dyn Progress,
) -> Result<Scan, ApiError> {
    let mut flow = Flow {
        progress,
        observer: &mut Unobserved,
    };
    scan_observed(cluster, namespace, rules, options, &mut flow).await
}

/// Where a scan reports as it goes: progress, and an observer of each judged object.
pub struct Flow<'a> {
    pub progress: &'a mut dyn Progress,
    pub observer: &'a mut dyn Observer,
}

/// [`scan`], telling `flow.observer` about every object it judges.
pub async fn scan_observed(
    cluster: &Cluster,
    namespace: Option<&str>,
    rules: &RuleConfig,
    options: &ScopeOptions,
    flow: &mut Flow<'_>,
) -> Result<Scan, ApiError> {
    let mut scan = Scan::default();
    let streams = list_streams(cluster, namespace, rules, &mut scan, flow.progress).await?;
    for stream in &streams {
        flow.observer.listed_stream(stream);
    }
    let (scope, requests) = scope::load(cluster, namespace, options).await?;
    scan.requests += requests;
    scan.notes.extend(scope.notes.iter().cloned());
    scan_streams(streams, namespace, rules, &scope, &mut scan, flow.observer);
    for resource in &resources::WORKLOADS {
        scan_workloads(cluster, resource, namespace, rules, &scope, &mut scan, flow).await?;
    }
    scan.scope = Some(scope);
    Ok(scan)
}

/// The stored ImageStreams the catalog is built from, with the catalog and tag table.
async fn list_streams(
    cluster: &Cluster,
    namespace: Option<&str>,
    rules: &RuleConfig,
    scan: &mut Scan,
    progress: &mut dyn Progress,
) -> Result<Vec<Value>, ApiError> {
    let resource = &resources::IMAGE_STREAMS;
    let mut streams = Vec::new();
    let listing = catalog::list(cluster, namespace, |stream| {
        streams.push(stream);
        progress.listed(&resource.qualified(), streams.len());
    })
    .await;
    scan.tags = TagTable::new(listing.scope);
    scan.notes.extend(listing.note);
    if listing.result.is_err() {
        scan.tags.mark_unlisted();
    }
    record(listing.result, resource, scan)?;
    for stream in &streams {
        scan.catalog.upsert(stream, "");
    }
    // Judged against the whole catalog: a stream's own registry hosts come from it.
    for stream in &streams {
        scan.tags.insert_stream(stream, &scan.catalog, rules);
    }
    Ok(streams)
}

/// Run each stream the webhook is called for through the engine in list order, in one batch:
/// what the engine would schedule on a stream of the scanned scope goes into the catalog
/// before the next stream runs, so streams scheduled earlier count against the budgets of
/// later ones, as they will after `--fix`. Streams outside the scope, and audited ones, count
/// as stored.
fn scan_streams(
    streams: Vec<Value>,
    namespace: Option<&str>,
    rules: &RuleConfig,
    scope: &Scope,
    scan: &mut Scan,
    observer: &mut dyn Observer,
) {
    let now = registry_totals(scan.catalog.usage(), &rules.budgets);
    let resource = &resources::IMAGE_STREAMS;
    let mut batch = Batch::new(View::Reapply, &mut scan.catalog, rules, "");
    for stored in streams {
        if namespace.is_some_and(|ns| classify::namespace_of(&stored) != ns) {
            continue;
        }
        let object = match scope.decide(resource, &stored) {
            Decision::OutOfScope(why) => {
                let judged = Judged::OutOfScope(&why);
                observer.judged(resource, &stored, judged, &scan.tags);
                out_of_scope(resource, &stored, why)
            }
            Decision::Served(served) => {
                let judgement = batch.judge(&stored, served);
                if judgement.mode == Mode::Enforce {
                    scan.tags.record_next_apply(&stored, &judgement.outcome);
                }
                let verdict = classify::stream(&stored, &judgement.outcome, &scan.tags);
                let judged = Judged::Ran {
                    judgement: &judgement,
                    verdict: &verdict,
                };
                observer.judged(resource, &stored, judged, &scan.tags);
                scanned(resource, &stored, &judgement, verdict)
            }
        };
        scan.objects.push(object);
    }
    let after = registry_totals(scan.catalog.usage(), &rules.budgets);
    scan.registries = streams::registry_loads(now, after);
}

/// Run each workload of `resource` the webhook is called for through the engine in list
/// order, in one batch (workloads schedule nothing, so the catalog stays as the streams left
/// it).
async fn scan_workloads(
    cluster: &Cluster,
    resource: &'static Resource,
    namespace: Option<&str>,
    rules: &RuleConfig,
    scope: &Scope,
    scan: &mut Scan,
    flow: &mut Flow<'_>,
) -> Result<(), ApiError> {
    let Some(kind) = resource.engine else {
        return Ok(());
    };
    let mut found = Vec::new();
    let mut seen = 0;
    let mut batch = Batch::new(View::Reapply, &mut scan.catalog, rules, "");
    let tags = &scan.tags;
    let listed = cluster
        .list(resource, namespace, |stored| {
            let object = match scope.decide(resource, &stored) {
                Decision::OutOfScope(why) => {
                    let judged = Judged::OutOfScope(&why);
                    flow.observer.judged(resource, &stored, judged, tags);
                    out_of_scope(resource, &stored, why)
                }
                Decision::Served(served) => {
                    let judgement = batch.judge(&stored, served);
                    let verdict = classify::workload(kind, &stored, &judgement.outcome, tags);
                    let judged = Judged::Ran {
                        judgement: &judgement,
                        verdict: &verdict,
                    };
                    flow.observer.judged(resource, &stored, judged, tags);
                    scanned(resource, &stored, &judgement, verdict)
                }
            };
            found.push(object);
            seen += 1;
            flow.progress.listed(&resource.qualified(), seen);
        })
        .await;
    scan.objects.extend(found);
    record(listed, resource, scan)
}

/// Count a finished list; an unreachable cluster is fatal, anything else is noted.
fn record(
    listed: Result<usize, ApiError>,
    resource: &Resource,
    scan: &mut Scan,
) -> Result<(), ApiError> {
    match listed {
        Ok(requests) => scan.requests += requests,
        Err(error @ ApiError::NotServed { .. }) => {
            scan.notes
                .push(format!("skipped {}s: {error}", resource.kind));
        }
        Err(error @ ApiError::Unreachable { .. }) => return Err(error),
        Err(error) => scan.errors.push(error.to_string()),
    }
    Ok(())
}

/// A report line for one object the webhook is called for, as the batch judged it.
pub fn scanned(
    resource: &'static Resource,
    stored: &Value,
    judgement: &Judgement,
    verdict: Verdict,
) -> ScannedObject {
    let detail = match (judgement.disposition(), verdict.status) {
        (Disposition::Report(_), Status::WouldChange) => format!("(audit) {}", verdict.detail),
        _ => verdict.detail,
    };
    ScannedObject {
        row: Row {
            kind: resource.kind.into(),
            ..Row::new(stored, judgement)
        },
        api_version: resource.api_version(),
        status: verdict.status,
        detail,
        resource,
        resource_version: meta(stored, "resourceVersion"),
    }
}

/// A report line for an object no webhook is called for: no changes, no findings, no patch.
pub fn out_of_scope(resource: &'static Resource, stored: &Value, why: String) -> ScannedObject {
    ScannedObject {
        row: Row {
            kind: resource.kind.into(),
            ..Row::unjudged(stored, Mode::Enforce.for_object(Some(stored)))
        },
        api_version: resource.api_version(),
        status: Status::OutOfScope,
        detail: why,
        resource,
        resource_version: meta(stored, "resourceVersion"),
    }
}

fn meta(stored: &Value, field: &str) -> Option<String> {
    stored
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .map(str::to_string)
}
