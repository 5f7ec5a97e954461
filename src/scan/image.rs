//! `scan --image REF`: what redeploys if this image moves. The ImageStream tags importing
//! REF (a `DockerImage` source equal to it after `image_ref` normalisation), how each gets
//! new images (scheduled every 15 minutes, polled by `autoredeploy poll`, or not at all and
//! why), the tags tracking one of them (`from.kind: ImageStreamTag`, as
//! `engine::view::tracking_tags` reads them, through any chain of tracking tags: one tracking
//! a tag of its own stream moves with it, one tracking a tag of another stream never, one
//! tracking a tracking tag not reliably), and every workload container following one of
//! them, with whether it would redeploy by itself now, only after the webhook's next apply,
//! or not at all. Built on what the scan
//! already decided: the tag table (the engine's importability), the poller's own choice of
//! tags (`poll::tags`), each stream's and workload's engine outcome (its changes, findings
//! and `bindings`) and the triggers as OpenShift's controller reads them
//! (`engine::view::triggers`), before and after the patch. Pure; it must not print.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;
use serde_json::Value;

use super::classify::{self, Status, Verdict};
use super::resources::Resource;
use super::streams::{TagFacts, TagTable};
use super::{Judged, Observer};
use crate::config::RuleConfig;
use crate::engine::catalog::TagRef;
use crate::engine::kind::Kind;
use crate::engine::view::{self, Importability, StoredTriggers, Tracking};
use crate::engine::{BindingKind, Code, ContainerBinding, annotations};
use crate::image_ref::{self, ImageRef};
use crate::pointer::items;

/// OpenShift 4's interval between scheduled imports.
pub const EVERY_15_MINUTES: &str = "every 15 minutes";

/// How a tag gets a new image when its source moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum Imported {
    /// `importPolicy.scheduled: true`: OpenShift re-imports it every 15 minutes.
    Scheduled,
    /// Not scheduled yet; the webhook schedules it on its ImageStream's next apply.
    ScheduledOnNextApply,
    /// Left to `autoredeploy poll` (`--polled-registry`): imported when its digest changes.
    Polled,
    /// Never by itself, only by a manual import.
    NotAtAll { reason: String },
    /// A tag tracking a tracking tag: OpenShift may leave it behind when its source moves.
    NotReliably { reason: String },
}

impl Imported {
    fn when(&self) -> Option<&'static str> {
        match self {
            Imported::Scheduled | Imported::ScheduledOnNextApply => Some(EVERY_15_MINUTES),
            Imported::Polled => Some("polled"),
            Imported::NotAtAll { .. } | Imported::NotReliably { .. } => None,
        }
    }

    /// How the table writes it.
    pub fn label(&self) -> String {
        match self {
            Imported::Scheduled => EVERY_15_MINUTES.into(),
            Imported::ScheduledOnNextApply => {
                format!("after the next apply ({EVERY_15_MINUTES}): the webhook schedules it")
            }
            Imported::Polled => "polled (autoredeploy poll)".into(),
            Imported::NotAtAll { reason } => format!("not at all: {reason}"),
            Imported::NotReliably { reason } => format!("not reliably: {reason}"),
        }
    }
}

/// What the scan saw of the ImageStream holding a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamSeen {
    /// Run through the engine: what it would do to this tag on the next apply.
    Ran {
        /// The webhook writes its patch (enforce), rather than only reporting it (audit).
        writes: bool,
        /// The patch sets `importPolicy.scheduled` on the tag.
        schedules: bool,
        /// The `pull-budget` finding on the tag: why it stays unscheduled.
        over_budget: Option<String>,
    },
    /// No webhook is called for it: why.
    OutOfScope(String),
    /// Its namespace was not scanned (`-n` another one).
    NotScanned,
}

/// How `facts` (a tag importing the image) gets new images, `polled` when the poller
/// watches it.
pub fn imported(facts: &TagFacts, polled: bool, seen: &StreamSeen) -> Imported {
    let never = |reason: String| Imported::NotAtAll { reason };
    if facts.re_imported() {
        return Imported::Scheduled;
    }
    match &facts.importability {
        Some(Importability::Importable { .. }) => {}
        Some(Importability::Reference) => return never("reference: true, never imported".into()),
        Some(Importability::DigestPinned) => {
            return never("its source is pinned to a digest".into());
        }
        Some(Importability::OwnRegistry(host)) => {
            return never(format!("its source is the cluster's own registry ({host})"));
        }
        Some(Importability::Filtered(repository)) => {
            return never(format!(
                "not scheduled, and {repository} is left out by the repository filters"
            ));
        }
        Some(Importability::OptedOut) => {
            return never(format!(
                "not scheduled, and the tag opted out ({})",
                annotations::SKIP
            ));
        }
        Some(Importability::Unparsable(error)) => {
            return never(format!("its source does not parse: {error}"));
        }
        Some(Importability::NotExternal | Importability::NoSource) | None => {
            return never("it has no DockerImage source to import".into());
        }
    }
    if polled {
        return Imported::Polled;
    }
    match seen {
        StreamSeen::Ran {
            writes: true,
            schedules: true,
            ..
        } => Imported::ScheduledOnNextApply,
        StreamSeen::Ran {
            writes: false,
            schedules: true,
            ..
        } => never("not scheduled: its ImageStream is audited, the webhook only reports it".into()),
        StreamSeen::Ran {
            over_budget: Some(message),
            ..
        } => never(format!("not scheduled: pull budget: {message}")),
        StreamSeen::Ran { .. } => {
            never("not scheduled, and the webhook leaves it so (scan the ImageStream)".into())
        }
        StreamSeen::OutOfScope(why) => never(format!(
            "not scheduled, and its ImageStream is out of the webhook's scope ({why})"
        )),
        StreamSeen::NotScanned => never(
            "not scheduled, and its ImageStream's namespace was not scanned (-A scans every namespace)"
                .into(),
        ),
    }
}

/// How a tag reaches the image: it imports it, or it tracks (through other tags) one that
/// does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// How it gets a new image when the image moves.
    pub imported: Imported,
    /// The tags it tracks, nearest first, ending with the tag importing the image; empty for
    /// that tag itself.
    pub tracks: Vec<TagRef>,
}

impl Reach {
    /// The tag importing the image, `tag` being the tag reached.
    fn importing<'t>(&'t self, tag: &'t TagRef) -> &'t TagRef {
        self.tracks.last().unwrap_or(tag)
    }
}

/// How `tracker` gets new images, tracking `tracking.source`, which reaches the image as
/// `source`. OpenShift copies each new image of a tag into the tags of the same stream that
/// track it, in the same write (openshift-apiserver `UpdateTrackingTags`); a tag tracking one
/// of another stream or namespace got that tag's image once, when it was written, and never
/// moves by itself. Further down a chain (a tag tracking a tracking tag) the copy is made in
/// one pass over the stream's tags in no set order (`UpdateChangedTrackingTags` ranges over a
/// Go map), so such a tag may keep an old image: not reliably. A tracking tag has no import
/// of its own: `importPolicy.scheduled` on it is rejected by validation and the webhook never
/// adds it, so its schedule is its source's.
pub fn tracked(tracking: &Tracking, tracker: &TagRef, source: &Reach) -> Reach {
    let named = short(&tracking.source, &tracker.namespace);
    let imported = match (&source.imported, tracking.follows) {
        (_, false) => {
            let place = match tracking.source.namespace == tracker.namespace {
                true => "another ImageStream",
                false => "another namespace",
            };
            Imported::NotAtAll {
                reason: format!(
                    "it tracks {named} in {place}: OpenShift copies that tag's image into it only when this tag is written (oc tag), never when it moves"
                ),
            }
        }
        (Imported::NotAtAll { reason }, true) => Imported::NotAtAll {
            reason: format!("it tracks {named}, which is never re-imported: {reason}"),
        },
        (moving, true) if source.tracks.is_empty() => moving.clone(),
        (_, true) => {
            let importing = short(source.importing(&tracking.source), &tracker.namespace);
            Imported::NotReliably {
                reason: format!(
                    "it tracks {named}, itself a tracking tag: OpenShift copies a new image down a chain of tracking tags in one pass over the stream's tags, in no set order, so this tag may keep an old image (track {importing} itself)"
                ),
            }
        }
    };
    let mut tracks = vec![tracking.source.clone()];
    tracks.extend(source.tracks.iter().cloned());
    Reach { imported, tracks }
}

/// `stream:tag` for a tag of `namespace`, `namespace/stream:tag` for any other.
fn short(tag: &TagRef, namespace: &str) -> String {
    match tag.namespace == namespace {
        true => tag.stream_tag(),
        false => label(tag),
    }
}

/// One tag importing the image, or tracking a tag that does.
#[derive(Debug, Clone, Serialize)]
pub struct TagAnswer {
    pub namespace: String,
    pub stream: String,
    pub tag: String,
    /// `from.name` as written, of the tag importing the image (for a tracking tag, of the
    /// last tag of `tracks`).
    pub source: String,
    /// For a tag tracking another (`from.kind: ImageStreamTag`): the tags it tracks as
    /// `namespace/stream:tag`, nearest first, ending with the tag importing the image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tracks: Vec<String>,
    pub imported: Imported,
    /// The last import failed (the `ImportSuccess` condition's message; for a tracking tag,
    /// that of the tag importing the image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_failing: Option<String>,
}

impl TagAnswer {
    /// How the table writes the `SOURCE` column: the source, or the chain of tags tracked
    /// down to it (`tracks web:1.27, which imports nginx:1.27`).
    pub fn source_label(&self) -> String {
        let own = format!("{}/", self.namespace);
        let mut out = String::new();
        for tag in &self.tracks {
            let tag = tag.strip_prefix(&own).unwrap_or(tag);
            out.push_str(&format!("tracks {tag}, which "));
        }
        match out.is_empty() {
            true => self.source.clone(),
            false => format!("{out}imports {}", self.source),
        }
    }

    /// How the table writes the `RE-IMPORTED` column: a tracking tag names the tag the
    /// webhook schedules.
    pub fn imported_label(&self) -> String {
        match (&self.imported, self.tracks.last()) {
            (Imported::ScheduledOnNextApply, Some(importing)) => {
                let own = format!("{}/", self.namespace);
                let importing = importing.strip_prefix(&own).unwrap_or(importing);
                format!(
                    "after the next apply ({EVERY_15_MINUTES}): the webhook schedules {importing}, which it tracks"
                )
            }
            _ => self.imported.label(),
        }
    }
}

/// Whether a container redeploys by itself when the image moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Redeploys {
    /// Yes, as things are stored.
    Yes,
    /// Only once the webhook's next apply (of the workload, or of the tag's ImageStream) has
    /// written its patch.
    AfterTheNextApply,
    No,
}

/// One workload container the image reaches.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadAnswer {
    pub namespace: String,
    pub kind: &'static str,
    pub name: String,
    pub container: String,
    /// `namespace/stream:tag` it follows (or would follow after the next apply); `null` when
    /// it runs the image without following a tag.
    pub tag: Option<String>,
    pub redeploys: Redeploys,
    /// `every 15 minutes` or `polled` when it redeploys (now or after the next apply).
    pub when: Option<&'static str>,
    /// Why not, or what the next apply must do first; with `yes`, that the tag's last
    /// import failed (it redeploys once an import succeeds).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl WorkloadAnswer {
    /// How the table writes the `REDEPLOYS` column.
    pub fn label(&self) -> String {
        let when = self.when.unwrap_or_default();
        match self.redeploys {
            Redeploys::Yes if self.reason.is_empty() => format!("yes ({when})"),
            Redeploys::Yes => format!("yes ({when}), {}", self.reason),
            Redeploys::AfterTheNextApply => {
                format!("after the next apply ({when}): {}", self.reason)
            }
            Redeploys::No => format!("no: {}", self.reason),
        }
    }
}

/// What a workload's container does with the tags importing the image.
struct Following<'a> {
    /// A usable trigger on a matching tag, as stored.
    now: Option<&'a view::StoredTrigger>,
    /// The same after the webhook's patch (only when it writes one).
    after: Option<&'a view::StoredTrigger>,
    /// The engine's binding of the container.
    binding: Option<&'a ContainerBinding>,
    /// The container's image is the image itself.
    runs_it: bool,
}

/// The answer for one container, `tags` holding how each matching tag is imported.
fn decide(
    following: &Following<'_>,
    kind: Kind,
    object: &ObjectSeen<'_>,
    tags: &BTreeMap<TagRef, Reach>,
) -> Option<(Option<TagRef>, Redeploys, Option<&'static str>, String)> {
    let binding_tag = following
        .binding
        .and_then(|b| b.tag.as_ref())
        .filter(|t| tags.contains_key(t));
    let tag = (following.now.map(|t| &t.tag))
        .or(following.after.map(|t| &t.tag))
        .or(binding_tag)
        .cloned();
    if tag.is_none() && !following.runs_it {
        return None;
    }
    let no = |reason: String| Some((tag.clone(), Redeploys::No, None, reason));
    let trigger_off = |trigger: &view::StoredTrigger| match kind {
        Kind::DeploymentConfig => format!(
            "its ImageChange trigger for {} has automatic: false",
            trigger.tag.stream_tag()
        ),
        _ => format!("its trigger for {} is paused", trigger.tag.stream_tag()),
    };
    // Now, or only after the workload's next apply, or why not.
    let (mut redeploys, mut reason) = match (following.now, following.after) {
        (Some(now), _) if now.automatic => (Redeploys::Yes, String::new()),
        (Some(now), Some(after)) if after.automatic => (
            Redeploys::AfterTheNextApply,
            format!("the webhook resumes the trigger ({})", trigger_off(now)),
        ),
        (Some(now), _) => return no(trigger_off(now)),
        (None, Some(after)) if after.automatic => (
            Redeploys::AfterTheNextApply,
            format!(
                "the webhook adds the trigger for {} on the {}'s next apply",
                after.tag.stream_tag(),
                object.kind_name
            ),
        ),
        (None, _) => return no(unfollowed(following, object, tag.is_some())),
    };
    let Some(followed) = &tag else {
        return no("it follows no ImageStream tag".into());
    };
    let reach = tags.get(followed)?;
    let imported = &reach.imported;
    let when = imported.when();
    match imported {
        Imported::NotAtAll { reason: why } => {
            return no(format!("{} is never re-imported: {why}", label(followed)));
        }
        Imported::NotReliably { reason: why } => {
            return no(format!("{} may keep an old image: {why}", label(followed)));
        }
        Imported::ScheduledOnNextApply => {
            let stream = format!(
                "the webhook schedules {} on its ImageStream's next apply",
                label(reach.importing(followed))
            );
            reason = match reason.is_empty() {
                true => stream,
                false => format!("{reason}; {stream}"),
            };
            redeploys = Redeploys::AfterTheNextApply;
        }
        Imported::Scheduled | Imported::Polled => {}
    }
    Some((tag, redeploys, when, reason))
}

/// Why a container bound (or running the image) follows no usable trigger on the tag.
fn unfollowed(following: &Following<'_>, object: &ObjectSeen<'_>, bound: bool) -> String {
    if let Some(why) = &object.out_of_scope {
        return format!(
            "no trigger follows the tag, and the object is out of the webhook's scope ({why})"
        );
    }
    if matches!(
        object.triggers,
        StoredTriggers::Blocked | StoredTriggers::Unreadable
    ) && !object.writes
    {
        return "OpenShift's trigger controller cannot use its image triggers as stored (scan KIND/NAME)".into();
    }
    if matches!(object.triggers, StoredTriggers::Disabled) {
        return "its image triggers were turned off (oc set triggers --remove-all)".into();
    }
    if bound && object.would_change && !object.writes {
        return "the object is audited: the webhook would add the trigger, but only reports it"
            .into();
    }
    match following.binding.map(|b| b.kind) {
        Some(BindingKind::OptedOut) => format!(
            "the container is listed in {}",
            annotations::SKIP_CONTAINERS
        ),
        Some(BindingKind::Untracked) => "no ImageStream tag it could follow imports it here".into(),
        Some(BindingKind::Refused(code)) => {
            format!("the webhook does not bind it ({code}: scan KIND/NAME says why)")
        }
        Some(BindingKind::TriggersUnusable) => {
            "its image triggers cannot be used as stored (scan KIND/NAME)".into()
        }
        _ if !object.verdict_detail.is_empty() => format!(
            "no trigger follows the tag ({}: {})",
            object.status_label, object.verdict_detail
        ),
        _ => "no trigger follows the tag".into(),
    }
}

fn label(tag: &TagRef) -> String {
    format!("{}/{}", tag.namespace, tag.stream_tag())
}

/// One workload as the scan judged it.
struct ObjectSeen<'a> {
    kind_name: &'a str,
    triggers: StoredTriggers,
    /// The webhook writes a non-empty patch on its next apply.
    writes: bool,
    /// The engine's patch is not empty (written or only reported).
    would_change: bool,
    out_of_scope: Option<String>,
    status_label: &'static str,
    verdict_detail: String,
}

/// The image asked about, normalised.
#[derive(Debug, Clone)]
pub struct Query {
    /// As given.
    pub given: String,
    /// `image_ref`'s canonical form (`docker.io/library/nginx:1.27`).
    pub canonical: String,
}

impl Query {
    pub fn parse(given: &str) -> Result<Query, String> {
        let parsed = ImageRef::parse(given.trim())
            .map_err(|error| format!("--image {given:?} is not an image reference: {error}"))?;
        Ok(Query {
            given: given.to_string(),
            canonical: parsed.canonical(),
        })
    }

    /// Whether `reference` names this image after normalisation.
    pub fn matches(&self, reference: &str) -> bool {
        image_ref::same_image(reference, &self.canonical)
    }
}

/// Collects the answer while the scan runs (an [`Observer`]).
pub struct ImageAnswer<'r> {
    query: Query,
    rules: &'r RuleConfig,
    /// The scanned namespace (`None`: all).
    namespace: Option<String>,
    /// Matching tags of every listed stream -> (facts are in the table) polled by the poller.
    polled: BTreeSet<TagRef>,
    /// Matching tags the scan ran (or left out of scope) with their stream.
    seen: BTreeMap<TagRef, StreamSeen>,
    /// Every listed tag tracking another (`from.kind: ImageStreamTag`).
    tracking: Vec<(TagRef, Tracking)>,
    /// Matching tags and the tags tracking them, decided once the streams are done, with the
    /// facts of the tag importing the image.
    tags: Option<BTreeMap<TagRef, (Reach, TagFacts)>>,
    /// The same, without the facts: what a workload's containers are judged against.
    imported: BTreeMap<TagRef, Reach>,
    pub workloads: Vec<WorkloadAnswer>,
}

impl<'r> ImageAnswer<'r> {
    pub fn new(query: Query, rules: &'r RuleConfig, namespace: Option<&str>) -> Self {
        ImageAnswer {
            query,
            rules,
            namespace: namespace.map(str::to_string),
            polled: BTreeSet::new(),
            seen: BTreeMap::new(),
            tracking: Vec::new(),
            tags: None,
            imported: BTreeMap::new(),
            workloads: Vec::new(),
        }
    }

    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The tags importing the image, decided from `table` (every listed stream's tags), once.
    fn decide_tags(&mut self, table: &TagTable) {
        if self.tags.is_none() {
            let mut decided = BTreeMap::new();
            for (key, facts) in table.iter() {
                let Some(source) = &facts.source else {
                    continue;
                };
                if !self.query.matches(source) {
                    continue;
                }
                let seen = (self.seen.get(key).cloned()).unwrap_or(StreamSeen::NotScanned);
                let reach = Reach {
                    imported: imported(facts, self.polled.contains(key), &seen),
                    tracks: Vec::new(),
                };
                decided.insert(key.clone(), (reach, facts.clone()));
            }
            // The tags tracking those, and the tags tracking them, breadth first. A tag has
            // one source, so a tag already reached is never reached again: a cycle of tags
            // tracking each other ends there.
            let mut queue: VecDeque<TagRef> = decided.keys().cloned().collect();
            while let Some(source) = queue.pop_front() {
                let Some((reach, facts)) = decided.get(&source).cloned() else {
                    continue;
                };
                for (tracker, tracking) in &self.tracking {
                    if tracking.source != source || decided.contains_key(tracker) {
                        continue;
                    }
                    let reached = tracked(tracking, tracker, &reach);
                    decided.insert(tracker.clone(), (reached, facts.clone()));
                    queue.push_back(tracker.clone());
                }
            }
            self.imported = (decided.iter())
                .map(|(key, (reach, _))| (key.clone(), reach.clone()))
                .collect();
            self.tags = Some(decided);
        }
    }

    /// The finished answer: the tags (those of the scanned namespaces, and those a listed
    /// workload follows) and the workload containers, sorted.
    pub fn finish(mut self, table: &TagTable) -> Answer {
        self.decide_tags(table);
        let followed: BTreeSet<String> = (self.workloads.iter())
            .filter_map(|w| w.tag.clone())
            .collect();
        let namespace = self.namespace.clone();
        let tags = (self.tags.take().unwrap_or_default().into_iter())
            .filter(|(key, _)| {
                namespace.as_deref().is_none_or(|ns| key.namespace == ns)
                    || followed.contains(&label(key))
            })
            .map(|(key, (reach, facts))| TagAnswer {
                namespace: key.namespace.clone(),
                stream: key.stream.clone(),
                tag: key.tag.clone(),
                source: facts.source.clone().unwrap_or_default(),
                tracks: reach.tracks.iter().map(label).collect(),
                imported: reach.imported,
                import_failing: facts.failing.clone(),
            })
            .collect();
        let mut workloads = self.workloads;
        workloads.sort_by(|a, b| {
            (&a.namespace, a.kind, &a.name, &a.container).cmp(&(
                &b.namespace,
                b.kind,
                &b.name,
                &b.container,
            ))
        });
        Answer {
            image: self.query,
            tags,
            workloads,
        }
    }

    fn stream_judged(&mut self, stored: &Value, judged: &Judged<'_>) {
        let namespace = classify::namespace_of(stored).to_string();
        let stream = meta_name(stored);
        for (index, spec) in items(stored, "/spec/tags").enumerate() {
            let (Some(tag), Some("DockerImage"), Some(source)) = (
                spec.get("name").and_then(Value::as_str),
                spec.pointer("/from/kind").and_then(Value::as_str),
                spec.pointer("/from/name").and_then(Value::as_str),
            ) else {
                continue;
            };
            if !self.query.matches(source) {
                continue;
            }
            let key = TagRef {
                namespace: namespace.clone(),
                stream: stream.clone(),
                tag: tag.to_string(),
            };
            let seen = match judged {
                Judged::OutOfScope(why) => StreamSeen::OutOfScope(why.to_string()),
                Judged::Ran { judgement, .. } => {
                    let path = format!("/spec/tags/{index}");
                    let scheduled = format!("{path}/importPolicy/scheduled");
                    let outcome = &judgement.outcome;
                    StreamSeen::Ran {
                        writes: judgement.written().is_some(),
                        schedules: (outcome.changes.iter())
                            .any(|c| c.code == Code::ScheduledImport && c.path == scheduled),
                        over_budget: (outcome.findings.iter())
                            .find(|f| f.code == Code::PullBudget && f.path == path)
                            .map(|f| f.message.clone()),
                    }
                }
            };
            self.seen.insert(key, seen);
        }
    }

    fn workload_judged(
        &mut self,
        resource: &'static Resource,
        kind: Kind,
        stored: &Value,
        judged: &Judged<'_>,
        table: &TagTable,
    ) {
        self.decide_tags(table);
        let imported = &self.imported;
        let namespace = classify::namespace_of(stored);
        let now = view::triggers(kind, stored, namespace);
        let (judgement, verdict) = match judged {
            Judged::Ran { judgement, verdict } => (Some(*judgement), Some(*verdict)),
            Judged::OutOfScope(_) => (None, None),
        };
        let outcome = judgement.map(|j| &j.outcome);
        let writes = judgement.is_some_and(|j| j.written().is_some());
        let after = match (writes, outcome) {
            (true, Some(outcome)) => view::triggers(kind, &outcome.object, namespace).usable(),
            _ => BTreeMap::new(),
        };
        let object = ObjectSeen {
            kind_name: resource.kind,
            triggers: now.clone(),
            writes,
            would_change: outcome.is_some_and(|o| !o.is_unchanged()),
            out_of_scope: match judged {
                Judged::OutOfScope(why) => Some(why.to_string()),
                Judged::Ran { .. } => None,
            },
            status_label: verdict
                .map_or(Status::OutOfScope.label(), |v: &Verdict| v.status.label()),
            verdict_detail: verdict.map(|v| v.detail.clone()).unwrap_or_default(),
        };
        let now = now.usable();
        for container in super::chain::containers(kind, stored) {
            let pointer = container.pointer(kind);
            let following = Following {
                now: matching(now.get(&container.name), imported),
                after: matching(after.get(&container.name), imported),
                binding: outcome.and_then(|o| o.bindings.iter().find(|b| b.pointer == pointer)),
                runs_it: container
                    .image
                    .as_deref()
                    .is_some_and(|image| self.query.matches(image)),
            };
            let Some((tag, redeploys, when, mut reason)) =
                decide(&following, kind, &object, imported)
            else {
                continue;
            };
            let failing = (tag.as_ref()).and_then(|t| {
                let (reach, facts) = self.tags.as_ref()?.get(t)?;
                Some((reach.tracks.last(), facts.failing.as_ref()?))
            });
            if let (Some((importing, message)), false) = (failing, redeploys == Redeploys::No) {
                let failed = match importing {
                    None => format!("but the tag's last import failed: {message}"),
                    Some(importing) => format!(
                        "but the last import of {}, which it tracks, failed: {message}",
                        label(importing)
                    ),
                };
                reason = match reason.is_empty() {
                    true => failed,
                    false => format!("{reason}; {failed}"),
                };
            }
            self.workloads.push(WorkloadAnswer {
                namespace: namespace.to_string(),
                kind: resource.kind,
                name: meta_name(stored),
                container: container.name,
                tag: tag.as_ref().map(label),
                redeploys,
                when: match redeploys {
                    Redeploys::No => None,
                    _ => when,
                },
                reason,
            });
        }
    }
}

impl Observer for ImageAnswer<'_> {
    fn listed_stream(&mut self, stored: &Value) {
        let namespace = classify::namespace_of(stored).to_string();
        let stream = meta_name(stored);
        for tracking in view::tracking_tags(stored) {
            let tracker = TagRef {
                namespace: namespace.clone(),
                stream: stream.clone(),
                tag: tracking.tag.clone(),
            };
            self.tracking.push((tracker, tracking));
        }
        for polled in crate::poll::tags::polled_tags(stored, self.rules) {
            if self.query.matches(&polled.from) {
                self.polled.insert(TagRef {
                    namespace: polled.namespace,
                    stream: polled.stream,
                    tag: polled.tag,
                });
            }
        }
    }

    fn judged(
        &mut self,
        resource: &'static Resource,
        stored: &Value,
        judged: Judged<'_>,
        table: &TagTable,
    ) {
        match resource.engine {
            Some(Kind::ImageStream) => self.stream_judged(stored, &judged),
            Some(kind) => self.workload_judged(resource, kind, stored, &judged, table),
            None => {}
        }
    }
}

/// The trigger, when it follows one of the tags importing the image.
fn matching<'t>(
    trigger: Option<&'t view::StoredTrigger>,
    imported: &BTreeMap<TagRef, Reach>,
) -> Option<&'t view::StoredTrigger> {
    trigger.filter(|t| imported.contains_key(&t.tag))
}

fn meta_name(stored: &Value) -> String {
    (stored.pointer("/metadata/name").and_then(Value::as_str))
        .unwrap_or_default()
        .to_string()
}

/// The whole answer, for the table and `--output json`.
#[derive(Debug)]
pub struct Answer {
    pub image: Query,
    pub tags: Vec<TagAnswer>,
    pub workloads: Vec<WorkloadAnswer>,
}

impl Answer {
    /// The sentence printed when no tag imports the image.
    pub fn none_imports(&self) -> Option<String> {
        self.tags.is_empty().then(|| {
            format!(
                "no ImageStream tag imports {}: nothing redeploys by itself when it moves",
                self.image.canonical
            )
        })
    }
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
