//! Scheduled import on ImageStream tags and on the side doors that bypass an `imagestreams`
//! webhook: `ImageStreamTag.tag` (`oc tag`), `ImageStreamImport.spec` (`oc import-image`) and
//! `ImageTag.spec` (the server writes the stream internally, openshift/openshift-apiserver
//! `pkg/image/apiserver/registry/imagestreamtag/rest.go`), within each registry's pull budget
//! (arithmetic in `budget`). Owns `importPolicy.scheduled` and `importPolicy.importMode`; it
//! must not touch any other field. It edits the object in place and records each edit as the
//! JSON Patch operations `json_patch::diff` would give for it (`patch::Edits`): a stream of
//! 10,000 tags is then neither copied nor walked a second time to find what changed.

use crate::pointer::Pointer as _;
use crate::pointer::items;
use std::collections::{BTreeMap, BTreeSet};

use json_patch::jsonptr::{Pointer, PointerBuf};
use serde_json::{Map, Value};

use super::annotations;
use super::budget::{self, Ledger, REPOSITORY_IMPORT_TAGS};
use super::catalog::Replaced;
use super::change::{Change, Code, Report};
use super::kind::Kind;
use super::patch::Edits;
use super::{Context, Operation, status};
pub use importable::Importability;

/// One TagReference-like entry to check.
struct Site<'a> {
    /// JSON pointer of the entry (built token by token, so it is also the patch's path).
    path: PointerBuf,
    /// How messages name it (`tag "latest"`).
    label: String,
    /// The stream tag it writes; `None` for a repository import (tags unknown in advance).
    tag: Option<String>,
    /// Opted out by annotation: left alone, but its scheduled imports still cost pulls.
    opted_out: bool,
    entry: &'a mut Value,
}

/// The stream an object writes to, and what is known of it beyond the object.
struct Scope<'a> {
    context: &'a Context<'a>,
    stream: Option<String>,
    /// Hosts whose sources are the cluster's own registry: configured plus the stream's status.
    internal_hosts: Vec<String>,
    /// Platform counts from the object's own status (offline objects may carry one).
    platforms: BTreeMap<String, u32>,
    /// Where the stored version of the object's tags is read.
    stored: Stored,
    /// Tags the poller cannot HEAD (`autoredeploy.io/unpollable-tags` on an ImageStream).
    unpollable: BTreeSet<String>,
}

/// The stored version of the tags an object writes, as far as the budget needs it: the
/// registry each scheduled one imports from. A tag whose source moved to another registry
/// keeps the `scheduled: true` the webhook once wrote (`oc apply` and server-side apply
/// merge it back, `oc import-image` carries it over), so it is a new import for the new
/// registry's budget.
enum Stored {
    /// Nothing is stored yet (a CREATE of a whole stream).
    Nothing,
    /// The stored object (`oldObject`), read here: tag name -> registry, scheduled tags only.
    Tags(BTreeMap<String, String>),
    /// The catalog's copy of the stream: `serve` watches the stored streams (the admission
    /// decoder does not keep an ImageStream's `oldObject`); `mutate` holds the manifest set.
    Catalog,
}

impl Stored {
    /// From the stored entries (TagReferences) with their tag names.
    fn of<'v>(entries: impl Iterator<Item = (Option<&'v str>, &'v Value)>) -> Self {
        let tags = entries
            .filter(|(_, entry)| budget::is_scheduled(entry))
            .filter_map(|(name, entry)| Some((name?.to_string(), budget::import_registry(entry)?)))
            .collect();
        Stored::Tags(tags)
    }
}

/// What one import of a site costs, and whether the platform count was assumed.
#[derive(Clone, Copy)]
struct Cost {
    pulls: u32,
    assumed: bool,
}

impl Cost {
    /// What the finding says of an assumed count.
    fn note(self) -> Option<String> {
        self.assumed.then(|| {
            format!(
                "PreserveOriginal, {} platforms assumed",
                budget::ASSUMED_PLATFORMS
            )
        })
    }
}

impl<'a> Scope<'a> {
    fn new(
        context: &'a Context<'a>,
        stream: Option<String>,
        object: &Value,
        stored: Stored,
    ) -> Self {
        let mut internal_hosts = context.config.internal_registry_hosts.clone();
        let stored_hosts = stream
            .as_deref()
            .map(|s| context.catalog.own_registry_hosts(context.namespace, s));
        for host in status::own_registry_hosts(object)
            .into_iter()
            .chain(stored_hosts.into_iter().flatten())
        {
            if !internal_hosts.contains(&host) {
                internal_hosts.push(host);
            }
        }
        let platforms = items(object, "/status/tags")
            .filter_map(|t| {
                let tag = t.get("tag")?.as_str()?.to_string();
                Some((tag, status::status_tag_platforms(t)?))
            })
            .collect();
        // Only an ImageStream carries the poller's annotation; a side door's object names
        // another resource's metadata.
        let unpollable = match object.at("/kind").and_then(Value::as_str) {
            Some("ImageStream") => annotations::unpollable_tags(object),
            _ => BTreeSet::new(),
        };
        Scope {
            context,
            stream,
            internal_hosts,
            platforms,
            stored,
            unpollable,
        }
    }

    /// What one import of the site costs in the given import mode (the cost model in
    /// `budget`).
    fn cost(&self, site: &Site<'_>, preserve: bool) -> Cost {
        let Some(tag) = &site.tag else {
            return Cost {
                pulls: budget::pulls_per_import(preserve, None) * REPOSITORY_IMPORT_TAGS,
                assumed: budget::platforms_assumed(preserve, None),
            };
        };
        let platforms = self.platforms.get(tag).copied().or_else(|| {
            let stream = self.stream.as_deref()?;
            (self.context.catalog).tag_platforms(self.context.namespace, stream, tag)
        });
        Cost {
            pulls: budget::pulls_per_import(preserve, platforms),
            assumed: budget::platforms_assumed(preserve, platforms),
        }
    }

    /// What the site costs as it is now, and with the import mode the configuration asks for.
    fn current_cost(&self, site: &Site<'_>) -> Cost {
        self.cost(site, budget::preserves_original(site.entry))
    }

    fn wanted_cost(&self, site: &Site<'_>) -> Cost {
        let preserve =
            self.context.config.preserve_original || budget::preserves_original(site.entry);
        self.cost(site, preserve)
    }

    /// The registry the stored version of `tag` is scheduled on.
    fn stored_registry(&self, tag: &str) -> Option<String> {
        match &self.stored {
            Stored::Nothing => None,
            Stored::Tags(tags) => tags.get(tag).cloned(),
            Stored::Catalog => {
                let stream = self.stream.as_deref()?;
                (self.context.catalog).scheduled_registry(self.context.namespace, stream, tag)
            }
        }
    }

    /// The stored registry of a scheduled site whose source now names another registry.
    fn moved_from(&self, site: &Site<'_>) -> Option<String> {
        if site.opted_out || !budget::is_scheduled(site.entry) {
            return None;
        }
        let now = budget::import_registry(site.entry)?;
        let before = self.stored_registry(site.tag.as_deref()?)?;
        (before != now).then_some(before)
    }
}

/// The rules for one object of the ImageStream kinds; every edit is also recorded in `edits`,
/// in document order (sites are visited in that order and each writes one entry).
pub(super) fn apply(
    kind: Kind,
    object: &mut Value,
    context: &Context<'_>,
    report: &mut Report,
    edits: &mut Edits,
) {
    match kind {
        Kind::ImageStream => image_stream(object, context, report, edits),
        Kind::ImageStreamTag => doors::single_tag(object, "tag", context, report, edits),
        Kind::ImageTag => doors::single_tag(object, "spec", context, report, edits),
        Kind::ImageStreamImport => doors::image_stream_import(object, context, report, edits),
        _ => {}
    }
}

fn image_stream(object: &mut Value, context: &Context<'_>, report: &mut Report, edits: &mut Edits) {
    report_repository_without_tags(object, report);
    let name = object.at("/metadata/name").and_then(Value::as_str);
    let stored = match context.old_object {
        Some(old) => {
            Stored::of(items(old, "/spec/tags").map(|t| (t.get("name").and_then(Value::as_str), t)))
        }
        None if context.operation == Operation::Update => Stored::Catalog,
        None => Stored::Nothing,
    };
    let scope = Scope::new(context, name.map(str::to_string), object, stored);
    let Some(tags) = object.at_mut("/spec/tags").and_then(Value::as_array_mut) else {
        return;
    };
    let mut sites = Vec::with_capacity(tags.len());
    let tags_path = PointerBuf::from_tokens(["spec", "tags"]);
    for (i, entry) in tags.iter_mut().enumerate() {
        let tag = entry
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string);
        let label = match &tag {
            Some(name) => format!("tag {name:?}"),
            None => format!("tag #{i}"),
        };
        let path = tags_path.with_trailing_token(i);
        let opted_out = annotations::skips(entry.get("annotations"));
        if opted_out {
            report.finding(
                Code::OptedOut,
                format!("{path}/annotations"),
                format!("{label} opted out with {}", annotations::SKIP),
            );
        }
        sites.push(Site {
            path,
            label,
            tag,
            opted_out,
            entry,
        });
    }
    schedule(sites, Writes::WholeStream, &scope, report, edits);
}

/// The one-off bulk import of a bare repository is never scheduled (openshift/
/// openshift-controller-manager `pkg/image/controller/imagestream_controller.go`).
fn report_repository_without_tags(object: &Value, report: &mut Report) {
    let has_tags = object
        .at("/spec/tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| !tags.is_empty());
    let repository = object
        .at("/spec/dockerImageRepository")
        .and_then(Value::as_str)
        .filter(|r| !r.trim().is_empty());
    if let (false, Some(repository)) = (has_tags, repository) {
        report.finding(
            Code::RepositoryWithoutTags,
            "/spec/dockerImageRepository",
            format!("{repository} has no spec tags, so no tag is re-imported on a schedule"),
        );
    }
}

/// An importable site: its source, its registry, and the registry its stored version was
/// scheduled on when that was another one.
struct Candidate<'a> {
    site: Site<'a>,
    source: String,
    registry: String,
    moved_from: Option<String>,
}

/// What an object replaces of its stream: all of it (an ImageStream) or the tags it writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writes {
    WholeStream,
    Tags,
}

/// Schedule the importable sites within budget: the ones already scheduled count first
/// (they are never unscheduled, unless their source moved to another registry: then they
/// are new imports there), then the others in order while their registry has room. A
/// registry already over its budget is reported once per object. `sites` are in document
/// order, and so are the edits.
fn schedule(
    sites: Vec<Site<'_>>,
    writes: Writes,
    scope: &Scope<'_>,
    report: &mut Report,
    edits: &mut Edits,
) {
    let config = scope.context.config;
    // Only a side door's tags are named to the catalog; a whole stream is replaced as one.
    let tags: Vec<String> = match writes {
        Writes::Tags => sites.iter().filter_map(|s| s.tag.clone()).collect(),
        Writes::WholeStream => Vec::new(),
    };
    let namespace = scope.context.namespace;
    let replaced = match (&scope.stream, writes) {
        (Some(stream), Writes::WholeStream) => Replaced::Stream { namespace, stream },
        (Some(stream), Writes::Tags) => Replaced::Tags {
            namespace,
            stream,
            tags: &tags,
        },
        (None, _) => Replaced::Nothing,
    };
    let mut ledger = Ledger::new(scope.context.catalog, &config.budgets, replaced);
    let mut candidates = Vec::with_capacity(sites.len());
    let mut others = Vec::new();
    for site in sites {
        let importable = (!site.opted_out)
            .then(|| importable_source(&site, scope, report))
            .flatten();
        match importable {
            Some((source, registry)) => {
                let moved_from = scope.moved_from(&site);
                candidates.push(Candidate {
                    site,
                    source,
                    registry,
                    moved_from,
                });
            }
            None => others.push(site),
        }
    }
    // Every tag scheduled already costs pulls, whatever the filters and opt-outs say; a moved
    // one is decided below, as a new import.
    let counted = (others.iter())
        .chain(
            candidates
                .iter()
                .filter(|c| c.moved_from.is_none())
                .map(|c| &c.site),
        )
        .filter(|site| budget::is_scheduled(site.entry));
    let mut dearest: Vec<(String, &Site<'_>, Cost)> = Vec::new();
    for site in counted {
        let Some(registry) = budget::import_registry(site.entry) else {
            continue;
        };
        let cost = scope.current_cost(site);
        ledger.count(&registry, cost.pulls);
        match dearest.iter_mut().find(|(r, ..)| *r == registry) {
            Some(entry) if entry.2.pulls < cost.pulls => *entry = (registry, site, cost),
            Some(_) => {}
            None => dearest.push((registry, site, cost)),
        }
    }
    for (registry, site, cost) in dearest {
        if let Some(over) = ledger.overdrawn(&registry) {
            let among = match cost.pulls {
                1 => site.label.clone(),
                pulls => format!("{} at {pulls} pulls per import", site.label),
            };
            report.finding(Code::PullBudget, site.path.as_str(), over.message(&among));
        }
    }
    for candidate in candidates {
        ensure_scheduled(candidate, &mut ledger, scope, report, edits);
    }
}

/// `importPolicy.scheduled: true` when the budget allows (or `false` for a moved tag when
/// it does not), and the configured import mode when the budget allows what it costs.
fn ensure_scheduled(
    candidate: Candidate<'_>,
    ledger: &mut Ledger<'_>,
    scope: &Scope<'_>,
    report: &mut Report,
    edits: &mut Edits,
) {
    let Candidate {
        site,
        source,
        registry,
        moved_from,
    } = candidate;
    let (path, label) = (&site.path, &site.label);
    if !matches!(
        site.entry.get("importPolicy"),
        None | Some(Value::Null | Value::Object(_))
    ) {
        report.finding(
            Code::Unreadable,
            format!("{path}/importPolicy"),
            format!("importPolicy of {label} is not an object"),
        );
        return;
    }
    let mut writes = Vec::new();
    let add_mode =
        scope.context.config.preserve_original && !budget::preserves_original(site.entry);
    let mode_change = || {
        (
            "importMode",
            Value::String(budget::PRESERVE_ORIGINAL.into()),
            Change::new(
                Code::ImportMode,
                format!("{path}/importPolicy/importMode"),
                format!("set importPolicy.importMode PreserveOriginal on {label} ({source})"),
            ),
        )
    };
    if budget::is_scheduled(site.entry) && moved_from.is_none() {
        // Scheduled and counted already: PreserveOriginal may only add what the budget allows.
        if add_mode {
            let (now, wanted) = (scope.current_cost(&site), scope.wanted_cost(&site));
            let extra = wanted.pulls.saturating_sub(now.pulls);
            match (extra > 0).then(|| ledger.admit(&registry, extra)) {
                None | Some(Ok(())) => writes.push(mode_change()),
                Some(Err(over)) => report.finding(
                    Code::PullBudget,
                    path.as_str(),
                    over.explain(
                        &format!("importMode PreserveOriginal not set on {label}"),
                        wanted.note().as_deref(),
                    ),
                ),
            }
        }
    } else if moved_from.is_none() && polled(scope, &site, &registry, &source, report) {
        // Not scheduled, and never will be: the poller imports it when its digest changes, at
        // no cost to the budget. Its import mode still applies to the poller's imports.
        if add_mode {
            writes.push(mode_change());
        }
    } else {
        // A new import for its registry. An explicit `scheduled: false` is overwritten too:
        // the API server drops `false` (omitempty) before admission, so in a cluster it looks
        // exactly like an absent field.
        let cost = scope.wanted_cost(&site);
        match (ledger.admit(&registry, cost.pulls), &moved_from) {
            (Ok(()), Some(_)) => {}
            (Ok(()), None) => writes.push((
                "scheduled",
                Value::Bool(true),
                Change::new(
                    Code::ScheduledImport,
                    format!("{path}/importPolicy/scheduled"),
                    format!("set importPolicy.scheduled on {label} ({source})"),
                ),
            )),
            (Err(over), None) => {
                let message = match cost.note() {
                    None => over.message(label),
                    Some(note) => over.explain(&format!("{label} left unscheduled"), Some(&note)),
                };
                report.finding(Code::PullBudget, path.as_str(), message);
            }
            (Err(over), Some(from)) => {
                writes.push((
                    "scheduled",
                    Value::Bool(false),
                    Change::new(
                        Code::UnscheduledImport,
                        format!("{path}/importPolicy/scheduled"),
                        format!(
                            "turned importPolicy.scheduled off on {label}: its source moved from {from} to {registry}, whose pull budget has no room for it"
                        ),
                    ),
                ));
                report.finding(
                    Code::PullBudget,
                    path.as_str(),
                    over.explain(
                        &format!("{label} (moved from {from}) left unscheduled"),
                        cost.note().as_deref(),
                    ),
                );
            }
        }
        if add_mode {
            writes.push(mode_change());
        }
    }
    write_import_policy(site.entry, path, writes, report, edits);
}

/// Whether `registry` is polled (`--polled-registry`): then the tag is not scheduled, costs
/// no budget, and gets the finding `polled` instead of `pull-budget`. A tag the poller
/// listed as unpollable (its HEAD is refused) is not: it is scheduled within budget as on any
/// other registry, with the finding `unpollable`.
fn polled(
    scope: &Scope<'_>,
    site: &Site<'_>,
    registry: &str,
    source: &str,
    report: &mut Report,
) -> bool {
    let (path, label) = (&site.path, &site.label);
    if !scope.context.config.is_polled(registry) {
        return false;
    }
    if (site.tag.as_ref()).is_some_and(|tag| scope.unpollable.contains(tag)) {
        report.finding(
            Code::Unpollable,
            path.as_str(),
            format!(
                "{label} ({source}) is on polled {registry}, but autoredeploy poll cannot read \
                 it (its manifest HEAD is refused: a private repository; listed in {}): \
                 scheduled as if {registry} were not polled, within its pull budget",
                annotations::UNPOLLABLE_TAGS
            ),
        );
        return false;
    }
    report.finding(
        Code::Polled,
        path.as_str(),
        format!(
            "{label} ({source}) not scheduled: {registry} is polled by autoredeploy poll \
             (manifest HEAD, no pull until the image changes)"
        ),
    );
    true
}

/// Set `importPolicy` fields, creating the object only when there is something to write,
/// and record the edits as `json_patch::diff` gives them: a new (or `null`, or not an
/// object) `importPolicy` as one operation for the whole object, an existing object's
/// fields one by one in the object's key order (an `add` for a new field, a `replace` for
/// another value).
fn write_import_policy(
    entry: &mut Value,
    path: &Pointer,
    writes: Vec<(&str, Value, Change)>,
    report: &mut Report,
    edits: &mut Edits,
) {
    // Sites reaching here have a `from` (see `importable_source`): always objects.
    let Some(members) = entry.as_object_mut().filter(|_| !writes.is_empty()) else {
        return;
    };
    let policy_path = path.with_trailing_token("importPolicy");
    if let Some(Value::Object(policy)) = members.get_mut("importPolicy") {
        let mut previous = Vec::with_capacity(writes.len());
        for (field, value, change) in writes {
            previous.push((field, policy.insert(field.into(), value)));
            report.change(change.code, change.path, change.message);
        }
        for (key, value) in policy.iter() {
            if let Some((field, before)) = previous.iter().find(|(field, _)| *field == key.as_str())
            {
                edits.record(
                    policy_path.with_trailing_token(*field),
                    before.as_ref(),
                    value,
                );
            }
        }
        return;
    }
    let mut policy = Map::new();
    for (field, value, change) in writes {
        policy.insert(field.into(), value);
        report.change(change.code, change.path, change.message);
    }
    let policy = Value::Object(policy);
    edits.record(policy_path, members.get("importPolicy"), &policy);
    members.insert("importPolicy".into(), policy);
}

/// The `from.name` and registry of an entry the import controller would schedule, or `None`
/// (with a finding where the user should know why). The decision is `importable::decide`.
fn importable_source(
    site: &Site<'_>,
    scope: &Scope<'_>,
    report: &mut Report,
) -> Option<(String, String)> {
    let Site {
        path, label, entry, ..
    } = site;
    match importable::decide(entry, &scope.internal_hosts, scope.context.config) {
        Importability::Importable { source, registry } => Some((source, registry)),
        Importability::NoSource => {
            report.finding(
                Code::Unreadable,
                format!("{path}/from/name"),
                format!("{label} has no source name"),
            );
            None
        }
        Importability::Unparsable(error) => {
            report.finding(
                Code::Unreadable,
                format!("{path}/from/name"),
                format!("{label}: {error}"),
            );
            None
        }
        Importability::DigestPinned => {
            report.finding(
                Code::DigestPinned,
                format!("{path}/from/name"),
                format!("{label} is pinned to a digest; nothing to re-import"),
            );
            None
        }
        _ => None,
    }
}

mod doors;
pub(super) mod importable;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod budget_tests;

#[cfg(test)]
mod polled_tests;
