//! What `scan` knows about each ImageStream tag beyond the engine's catalog: whether the
//! webhook would schedule it (the engine's own decision, `engine::view::tag_importability`:
//! the cluster's own registry hosts and the repository filters included), whether it is
//! scheduled, its last import (time, digest, or the registry's error from the
//! `ImportSuccess` condition); and each registry's load before and after the scan's patches,
//! paired from the catalog's own registry totals (it must not count pulls itself: the budget
//! rule's arithmetic lives in `catalog::budget`). Built from the listed streams, one small
//! entry per tag; pure, no I/O.

use crate::pointer::items;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::budget::RegistryTotal;
use crate::config::RuleConfig;
use crate::engine::catalog::{Catalog, TagRef};
use crate::engine::view::{self, Importability};
use crate::engine::{Code, Outcome};

/// The condition type an import failure is reported under (`status.tags[].conditions`).
const IMPORT_SUCCESS: &str = "ImportSuccess";

/// One spec or status tag of one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagFacts {
    /// `from.name` when `from.kind` is `DockerImage`.
    pub source: Option<String>,
    /// Other `from.kind`s (`ImageStreamTag`, `ImageStreamImage`) as `kind name`.
    pub other_source: Option<String>,
    /// `reference: true`: never imported.
    pub reference: bool,
    /// `importPolicy.scheduled: true`.
    pub scheduled: bool,
    /// `referencePolicy.type`.
    pub reference_policy: Option<String>,
    /// `status.tags[].items[0]`.
    pub last_import: Option<LastImport>,
    /// The message of an `ImportSuccess` condition with status `False`.
    pub failing: Option<String>,
    /// What the engine's scheduling rule makes of the tag; `None` for a status-only tag, or
    /// facts read without the engine ([`read_tags`]).
    pub importability: Option<Importability>,
    /// What the webhook does to the tag on its stream's next apply, when the stream was
    /// judged in enforce mode ([`TagTable::record_next_apply`]).
    pub next_apply: Option<NextApply>,
}

/// What the webhook's next apply of an ImageStream does to one importable, unscheduled tag, by
/// the engine's outcome for that stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextApply {
    /// It sets `importPolicy.scheduled` (change `scheduled-import`).
    Schedules,
    /// It leaves it to `autoredeploy poll` (finding `polled`).
    Polled,
    /// It leaves it unscheduled to keep the registry within its pull budget (finding
    /// `pull-budget`): why.
    OverBudget(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastImport {
    pub created: Option<String>,
    pub image: Option<String>,
}

impl TagFacts {
    /// A tag the webhook would schedule, by the engine's decision: an external `DockerImage`
    /// source, not `reference`, not digest-pinned, not the cluster's own registry, allowed by
    /// the repository filters, not opted out.
    pub fn importable(&self) -> bool {
        self.importability
            .as_ref()
            .is_some_and(Importability::is_importable)
    }

    /// Whether the import controller re-imports it on a schedule: `scheduled: true` on a
    /// source it can import (whether or not the webhook would have scheduled it).
    pub fn re_imported(&self) -> bool {
        self.scheduled
            && matches!(
                self.importability,
                Some(
                    Importability::Importable { .. }
                        | Importability::OwnRegistry(_)
                        | Importability::Filtered(_)
                        | Importability::OptedOut
                )
            )
    }
}

/// The tags of every listed stream.
#[derive(Debug, Default)]
pub struct TagTable {
    tags: BTreeMap<TagRef, TagFacts>,
    /// The one namespace the streams were listed in, `None` for all.
    scope: Option<String>,
    /// False when the streams could not be listed (not served, forbidden): then no tag is
    /// known to be missing.
    unlisted: bool,
}

impl TagTable {
    /// An empty table for streams listed in `scope` (`None`: all namespaces).
    pub fn new(scope: Option<String>) -> Self {
        TagTable {
            tags: BTreeMap::new(),
            scope,
            unlisted: false,
        }
    }

    /// Whether the streams could be listed at all.
    pub fn listed(&self) -> bool {
        !self.unlisted
    }

    /// The streams could not be listed.
    pub fn mark_unlisted(&mut self) {
        self.unlisted = true;
    }

    /// Whether the streams of `namespace` were listed, so a missing tag there is really
    /// missing.
    pub fn covers(&self, namespace: &str) -> bool {
        !self.unlisted && self.scope.as_deref().is_none_or(|scope| scope == namespace)
    }

    /// Record (or replace) the tags of one ImageStream, with what the engine's scheduling
    /// rule makes of each against `catalog` and `rules`.
    pub fn insert_stream(&mut self, stream: &Value, catalog: &dyn Catalog, rules: &RuleConfig) {
        let meta = |field: &str| {
            stream
                .pointer(&format!("/metadata/{field}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (namespace, name) = (meta("namespace"), meta("name"));
        let mut decided: BTreeMap<String, Importability> =
            view::tag_importability(stream, catalog, rules)
                .into_iter()
                .collect();
        for (tag, mut facts) in read_tags(stream) {
            facts.importability = decided.remove(&tag);
            let key = TagRef {
                namespace: namespace.clone(),
                stream: name.clone(),
                tag,
            };
            self.tags.insert(key, facts);
        }
    }

    /// Record what the webhook's next apply does to `stream`'s tags, from the engine's
    /// `outcome` for it in enforce mode (in audit the webhook writes nothing, and the poller
    /// leaves audited namespaces alone).
    pub fn record_next_apply(&mut self, stream: &Value, outcome: &Outcome) {
        let meta = |field: &str| {
            (stream.pointer(&format!("/metadata/{field}")))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (namespace, name) = (meta("namespace"), meta("name"));
        let decided = (outcome.changes.iter())
            .filter(|c| c.code == Code::ScheduledImport)
            .map(|c| (c, NextApply::Schedules))
            .chain(outcome.findings.iter().filter_map(|f| match f.code {
                Code::Polled => Some((f, NextApply::Polled)),
                Code::PullBudget => Some((f, NextApply::OverBudget(f.message.clone()))),
                _ => None,
            }));
        for (change, next) in decided {
            let Some(tag) = spec_tag_name(stream, &change.path) else {
                continue;
            };
            let key = TagRef {
                namespace: namespace.clone(),
                stream: name.clone(),
                tag,
            };
            if let Some(facts) = self.tags.get_mut(&key) {
                facts.next_apply = Some(next);
            }
        }
    }

    /// Every recorded tag, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&TagRef, &TagFacts)> {
        self.tags.iter()
    }

    pub fn get(&self, tag: &TagRef) -> Option<&TagFacts> {
        self.tags.get(tag)
    }

    /// Tag name -> facts of the recorded stream `namespace/stream`.
    pub fn of_stream(&self, namespace: &str, stream: &str) -> BTreeMap<String, &TagFacts> {
        self.tags
            .iter()
            .filter(|(key, _)| key.namespace == namespace && key.stream == stream)
            .map(|(key, facts)| (key.tag.clone(), facts))
            .collect()
    }
}

/// The name of the spec tag `path` (`/spec/tags/N...`) is in.
fn spec_tag_name(stream: &Value, path: &str) -> Option<String> {
    let index = path.strip_prefix("/spec/tags/")?.split('/').next()?;
    let tag = stream
        .pointer("/spec/tags")?
        .get(index.parse::<usize>().ok()?)?;
    Some(tag.get("name")?.as_str()?.to_string())
}

/// Tag name -> facts, from `spec.tags` and `status.tags` of one stream, without the engine's
/// decision ([`TagTable::insert_stream`] adds it).
pub fn read_tags(stream: &Value) -> BTreeMap<String, TagFacts> {
    let mut tags: BTreeMap<String, TagFacts> = BTreeMap::new();
    for spec in items(stream, "/spec/tags") {
        let Some(name) = spec.get("name").and_then(Value::as_str) else {
            continue;
        };
        let from_kind = spec.pointer("/from/kind").and_then(Value::as_str);
        let from_name = spec.pointer("/from/name").and_then(Value::as_str);
        let facts = tags.entry(name.to_string()).or_default();
        match (from_kind, from_name) {
            (Some("DockerImage"), Some(source)) => facts.source = Some(source.to_string()),
            (Some(kind), Some(source)) => facts.other_source = Some(format!("{kind} {source}")),
            _ => {}
        }
        facts.reference = spec.get("reference").and_then(Value::as_bool) == Some(true);
        facts.scheduled = spec
            .pointer("/importPolicy/scheduled")
            .and_then(Value::as_bool)
            == Some(true);
        facts.reference_policy = spec
            .pointer("/referencePolicy/type")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    for status in items(stream, "/status/tags") {
        let Some(name) = status.get("tag").and_then(Value::as_str) else {
            continue;
        };
        let facts = tags.entry(name.to_string()).or_default();
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        facts.last_import = status.pointer("/items/0").map(|item| LastImport {
            created: text(item.get("created")),
            image: text(item.get("image")),
        });
        facts.failing = items(status, "/conditions")
            .find(|c| {
                c.get("type").and_then(Value::as_str) == Some(IMPORT_SUCCESS)
                    && c.get("status").and_then(Value::as_str) == Some("False")
            })
            .map(|c| {
                text(c.get("message"))
                    .or_else(|| text(c.get("reason")))
                    .unwrap_or_else(|| "import failed".to_string())
            });
    }
    tags
}

/// One registry's scheduled tags and projected pulls against its budget, as stored and as
/// the engine's patches would leave them. Counted by the catalog's own registry totals, the
/// numbers the webhook's budget rule reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegistryLoad {
    pub registry: String,
    /// The budget's window (`6h`), or 6h for a registry without a budget.
    pub window: String,
    /// Pulls allowed per window; `None` when unlimited.
    pub budget_pulls: Option<u64>,
    pub scheduled_tags: u64,
    /// Pulls per window the scheduled imports make.
    pub projected_pulls: u64,
    pub scheduled_tags_after_fix: u64,
    pub projected_pulls_after_fix: u64,
}

/// Pair the totals before and after the scan's patches, registry by registry.
pub fn registry_loads(now: Vec<RegistryTotal>, after: Vec<RegistryTotal>) -> Vec<RegistryLoad> {
    let mut loads: BTreeMap<String, RegistryLoad> = BTreeMap::new();
    for (fixed, total) in now
        .into_iter()
        .map(|t| (false, t))
        .chain(after.into_iter().map(|t| (true, t)))
    {
        let load = loads.entry(total.registry.clone()).or_default();
        load.registry = total.registry;
        load.window = total.window;
        load.budget_pulls = total.budget_pulls;
        if fixed {
            load.scheduled_tags_after_fix = total.scheduled_tags;
            load.projected_pulls_after_fix = total.projected_pulls;
        } else {
            load.scheduled_tags = total.scheduled_tags;
            load.projected_pulls = total.projected_pulls;
        }
    }
    loads.into_values().collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stream(scheduled: bool) -> Value {
        json!({"metadata": {"namespace": "shop", "name": "web"},
            "spec": {"tags": [
                {"name": "1", "from": {"kind": "DockerImage", "name": "nginx:1"},
                 "importPolicy": {"scheduled": scheduled}},
                {"name": "pinned", "from": {"kind": "DockerImage", "name": format!("quay.io/a/b@sha256:{}", "0".repeat(64))}},
                {"name": "copy", "from": {"kind": "ImageStreamTag", "name": "web:1"}}]},
            "status": {"tags": [{"tag": "1",
                "items": [{"created": "2025-05-01T10:00:00Z", "image": "sha256:aa"}],
                "conditions": [{"type": "ImportSuccess", "status": "False",
                    "message": "toomanyrequests: rate limit"}]}]}})
    }

    fn table(streams: &[Value], rules: &RuleConfig) -> TagTable {
        let mut catalog = crate::catalog::CatalogIndex::new();
        streams.iter().for_each(|s| catalog.upsert(s, ""));
        let mut tags = TagTable::new(None);
        streams
            .iter()
            .for_each(|s| tags.insert_stream(s, &catalog, rules));
        tags
    }

    fn facts<'t>(tags: &'t TagTable, tag: &str) -> &'t TagFacts {
        tags.of_stream("shop", "web")[tag]
    }

    #[test]
    fn tags_carry_schedule_last_import_and_failure() {
        let tags = table(&[stream(false)], &RuleConfig::default());
        let one = facts(&tags, "1");
        assert!(one.importable() && !one.scheduled);
        assert_eq!(
            one.importability,
            Some(Importability::Importable {
                source: "nginx:1".into(),
                registry: "docker.io".into()
            })
        );
        assert_eq!(one.failing.as_deref(), Some("toomanyrequests: rate limit"));
        assert_eq!(
            one.last_import.as_ref().and_then(|l| l.image.as_deref()),
            Some("sha256:aa")
        );
        let pinned = facts(&tags, "pinned");
        assert!(!pinned.importable());
        assert_eq!(pinned.importability, Some(Importability::DigestPinned));
        let copy = facts(&tags, "copy");
        assert_eq!(copy.other_source.as_deref(), Some("ImageStreamTag web:1"));
        assert_eq!(copy.importability, Some(Importability::NotExternal));
    }

    /// The webhook never schedules a tag whose source is the cluster's own registry, nor one
    /// the repository filters leave out: neither is importable, and both are still re-imported
    /// when they already are scheduled.
    #[test]
    fn own_registry_and_filtered_tags_are_not_importable() {
        let mut web = stream(true);
        web["spec"]["tags"] = json!([
            {"name": "own", "from": {"kind": "DockerImage", "name": "registry.apps.example.com/shop/web:1"}},
            {"name": "status-host", "from": {"kind": "DockerImage", "name": "image-registry.openshift-image-registry.svc:5000/shop/web:1"}},
            {"name": "hub", "from": {"kind": "DockerImage", "name": "nginx:1"}, "importPolicy": {"scheduled": true}},
            {"name": "quay", "from": {"kind": "DockerImage", "name": "quay.io/org/app:1"}}]);
        web["status"] = json!({"dockerImageRepository": "image-registry.openshift-image-registry.svc:5000/shop/web"});
        let rules = RuleConfig {
            internal_registry_hosts: vec!["registry.apps.example.com".into()],
            repositories: crate::config::RepositoryFilter::new(&[], &["docker.io/*".to_string()])
                .unwrap(),
            ..RuleConfig::default()
        };
        let tags = table(&[web], &rules);
        assert_eq!(
            facts(&tags, "own").importability,
            Some(Importability::OwnRegistry(
                "registry.apps.example.com".into()
            ))
        );
        assert!(matches!(
            facts(&tags, "status-host").importability,
            Some(Importability::OwnRegistry(_))
        ));
        let hub = facts(&tags, "hub");
        assert_eq!(
            hub.importability,
            Some(Importability::Filtered("docker.io/library/nginx".into()))
        );
        assert!(!hub.importable() && hub.re_imported());
        assert!(facts(&tags, "quay").importable());
        assert!(!facts(&tags, "quay").re_imported());
    }

    fn total(registry: &str, tags: u64) -> RegistryTotal {
        RegistryTotal {
            registry: registry.into(),
            scheduled_tags: tags,
            projected_pulls: tags * 24,
            window: "6h".into(),
            window_seconds: 6 * 3600,
            budget_pulls: (registry == "docker.io").then_some(50),
        }
    }

    #[test]
    fn registry_loads_pair_totals_before_and_after_the_patches() {
        let now = vec![total("docker.io", 1)];
        let after = vec![total("docker.io", 2), total("quay.io", 1)];
        let loads = registry_loads(now, after);
        assert_eq!(loads.len(), 2);
        assert_eq!(
            loads[0],
            RegistryLoad {
                registry: "docker.io".into(),
                window: "6h".into(),
                budget_pulls: Some(50),
                scheduled_tags: 1,
                projected_pulls: 24,
                scheduled_tags_after_fix: 2,
                projected_pulls_after_fix: 48,
            }
        );
        assert_eq!(
            (loads[1].scheduled_tags, loads[1].scheduled_tags_after_fix),
            (0, 1)
        );
    }
}
