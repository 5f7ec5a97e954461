//! What `scan` knows about each ImageStream tag beyond the engine's catalog: whether it is
//! importable and scheduled, its last import (time, digest, or the registry's error from the
//! `ImportSuccess` condition), and the load scheduled tags put on each registry. Built from
//! the listed streams, one small entry per tag; pure, no I/O.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::TagRef;
use crate::engine::image_ref::ImageRef;

/// A scheduled tag is re-imported every 15 minutes, one manifest GET each (OpenShift's
/// fixed interval, openshift/openshift-apiserver `pkg/image/apiserver/importer`): 24 per 6 h.
pub const PULLS_PER_TAG_PER_WINDOW: u64 = 24;
/// The window Docker Hub counts pulls over (docs.docker.com/docker-hub/usage/pulls).
pub const WINDOW: &str = "6h";

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastImport {
    pub created: Option<String>,
    pub image: Option<String>,
}

impl TagFacts {
    /// A tag the import controller would re-import on a schedule if asked: an external
    /// `DockerImage` source, not `reference`, not digest-pinned.
    pub fn importable(&self) -> bool {
        !self.reference
            && self
                .source
                .as_deref()
                .and_then(|s| ImageRef::parse(s).ok())
                .is_some_and(|r| !r.is_digest_pinned())
    }

    /// The normalised registry host of the source (`docker.io` for Docker Hub).
    pub fn registry(&self) -> Option<String> {
        let source = self.source.as_deref()?;
        Some(ImageRef::parse(source).ok()?.registry)
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

    /// Record (or replace) the tags of one ImageStream.
    pub fn insert_stream(&mut self, stream: &Value) {
        let meta = |field: &str| {
            stream
                .pointer(&format!("/metadata/{field}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (namespace, name) = (meta("namespace"), meta("name"));
        for (tag, facts) in read_tags(stream) {
            let key = TagRef {
                namespace: namespace.clone(),
                stream: name.clone(),
                tag,
            };
            self.tags.insert(key, facts);
        }
    }

    pub fn get(&self, tag: &TagRef) -> Option<&TagFacts> {
        self.tags.get(tag)
    }
}

/// Tag name -> facts, from `spec.tags` and `status.tags` of one stream.
pub fn read_tags(stream: &Value) -> BTreeMap<String, TagFacts> {
    let mut tags: BTreeMap<String, TagFacts> = BTreeMap::new();
    for spec in array(stream, "/spec/tags") {
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
    for status in array(stream, "/status/tags") {
        let Some(name) = status.get("tag").and_then(Value::as_str) else {
            continue;
        };
        let facts = tags.entry(name.to_string()).or_default();
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        facts.last_import = status.pointer("/items/0").map(|item| LastImport {
            created: text(item.get("created")),
            image: text(item.get("image")),
        });
        facts.failing = array(status, "/conditions")
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

fn array<'a>(value: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Scheduled tags and projected pulls of one registry, as stored and after the engine's
/// patches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegistryLoad {
    pub registry: String,
    pub scheduled_tags: u64,
    pub pulls_per_6h: u64,
    pub scheduled_tags_after_fix: u64,
    pub pulls_per_6h_after_fix: u64,
}

/// Per-registry load, counted from each stream as stored and as the engine would leave it.
/// The budget rules will own this count; until then `scan` counts here.
#[derive(Debug, Default)]
pub struct RegistryTally {
    registries: BTreeMap<String, RegistryLoad>,
}

impl RegistryTally {
    /// Count one stream: `stored` as listed, `after` the engine's output for it.
    pub fn add(&mut self, stored: &Value, after: &Value) {
        for (pass, object) in [(false, stored), (true, after)] {
            for facts in read_tags(object).into_values() {
                let Some(registry) = facts.registry().filter(|_| facts.importable()) else {
                    continue;
                };
                if !facts.scheduled {
                    continue;
                }
                let load = self.registries.entry(registry.clone()).or_default();
                load.registry = registry;
                if pass {
                    load.scheduled_tags_after_fix += 1;
                    load.pulls_per_6h_after_fix += PULLS_PER_TAG_PER_WINDOW;
                } else {
                    load.scheduled_tags += 1;
                    load.pulls_per_6h += PULLS_PER_TAG_PER_WINDOW;
                }
            }
        }
    }

    pub fn into_loads(self) -> Vec<RegistryLoad> {
        self.registries.into_values().collect()
    }
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

    #[test]
    fn tags_carry_schedule_last_import_and_failure() {
        let tags = read_tags(&stream(false));
        let one = &tags["1"];
        assert!(one.importable() && !one.scheduled);
        assert_eq!(one.registry().as_deref(), Some("docker.io"));
        assert_eq!(one.failing.as_deref(), Some("toomanyrequests: rate limit"));
        assert_eq!(
            one.last_import.as_ref().and_then(|l| l.image.as_deref()),
            Some("sha256:aa")
        );
        assert!(!tags["pinned"].importable());
        assert_eq!(
            tags["copy"].other_source.as_deref(),
            Some("ImageStreamTag web:1")
        );
    }

    #[test]
    fn registry_load_counts_stored_and_patched_schedules() {
        let mut tally = RegistryTally::default();
        tally.add(&stream(false), &stream(true));
        tally.add(&stream(true), &stream(true));
        let loads = tally.into_loads();
        assert_eq!(
            loads,
            [RegistryLoad {
                registry: "docker.io".into(),
                scheduled_tags: 1,
                pulls_per_6h: 24,
                scheduled_tags_after_fix: 2,
                pulls_per_6h_after_fix: 48,
            }]
        );
    }
}
