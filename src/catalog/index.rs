//! The pure ImageStream index: (namespace, normalised external reference) -> tag, and
//! (namespace, stream) -> tags with their sources and resolved images. Fed by whole
//! ImageStream objects (offline manifests or watch events); no I/O. It keeps only what the
//! engine's lookups need (a later issue caches 10,000 streams), never whole objects.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Catalog, TagRef, TagState};
use crate::engine::image_ref::ImageRef;
use crate::engine::kind::Kind;

/// One tag of one stream, as the engine needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TagEntry {
    source: Option<Box<str>>,
    resolved: Option<Box<str>>,
    /// Canonical external reference this tag is indexed under, to unindex it on replace.
    external_key: Option<Box<str>>,
}

/// (stream, tag), ordered so ties between streams answer deterministically.
type StreamTag = (Box<str>, Box<str>);

/// The streams of one namespace.
#[derive(Debug, Clone, Default)]
struct Namespace {
    streams: BTreeMap<Box<str>, BTreeMap<Box<str>, TagEntry>>,
    /// Canonical external reference -> (stream, tag); the set orders ties deterministically.
    external: BTreeMap<Box<str>, BTreeSet<StreamTag>>,
}

/// An in-memory index of ImageStreams.
#[derive(Debug, Clone, Default)]
pub struct CatalogIndex {
    namespaces: BTreeMap<Box<str>, Namespace>,
    streams: usize,
}

impl CatalogIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Index the ImageStreams among `objects` (other kinds are ignored). `default_namespace`
    /// is used for objects without `metadata.namespace` (offline manifests).
    pub fn from_objects<'a>(
        objects: impl IntoIterator<Item = &'a Value>,
        default_namespace: &str,
    ) -> Self {
        let mut index = Self::new();
        for object in objects {
            index.upsert(object, default_namespace);
        }
        index
    }

    /// Insert or replace one ImageStream (ignored when `object` is not one).
    pub fn upsert(&mut self, object: &Value, default_namespace: &str) {
        if Kind::of(object) != Some(Kind::ImageStream) {
            return;
        }
        let Some(name) = object.pointer("/metadata/name").and_then(Value::as_str) else {
            return;
        };
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(default_namespace);
        self.remove(namespace, name);
        let tags = read_tags(object);
        let ns = self.namespaces.entry(namespace.into()).or_default();
        for (tag, entry) in &tags {
            if let Some(key) = &entry.external_key {
                ns.external
                    .entry(key.clone())
                    .or_default()
                    .insert((name.into(), tag.clone()));
            }
        }
        ns.streams.insert(name.into(), tags);
        self.streams += 1;
    }

    /// Forget one ImageStream.
    pub fn remove(&mut self, namespace: &str, name: &str) {
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        let Some(tags) = ns.streams.remove(name) else {
            return;
        };
        self.streams -= 1;
        for (tag, entry) in tags {
            let Some(key) = entry.external_key else {
                continue;
            };
            if let Some(set) = ns.external.get_mut(&key) {
                set.remove(&(Box::from(name), tag));
                if set.is_empty() {
                    ns.external.remove(&key);
                }
            }
        }
        if ns.streams.is_empty() {
            self.namespaces.remove(namespace);
        }
    }

    /// Number of streams indexed.
    pub fn len(&self) -> usize {
        self.streams
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Catalog for CatalogIndex {
    fn has_stream(&self, namespace: &str, stream: &str) -> bool {
        self.namespaces
            .get(namespace)
            .is_some_and(|ns| ns.streams.contains_key(stream))
    }

    fn find_external(&self, namespace: &str, normalized: &str) -> Option<TagRef> {
        let (stream, tag) = self
            .namespaces
            .get(namespace)?
            .external
            .get(normalized)?
            .first()?;
        Some(TagRef {
            namespace: namespace.to_string(),
            stream: stream.to_string(),
            tag: tag.to_string(),
        })
    }

    fn tag_state(&self, namespace: &str, stream: &str, tag: &str) -> Option<TagState> {
        let entry = self
            .namespaces
            .get(namespace)?
            .streams
            .get(stream)?
            .get(tag)?;
        Some(TagState {
            source: entry.source.as_deref().map(str::to_string),
            resolved: entry.resolved.as_deref().map(str::to_string),
        })
    }
}

/// Spec tags (with their sources) and status-only tags (pushed images), each resolved as
/// library-go `ResolveLatestTaggedImage` does (openshift-semantics §1.3).
fn read_tags(object: &Value) -> BTreeMap<Box<str>, TagEntry> {
    let mut tags: BTreeMap<Box<str>, TagEntry> = BTreeMap::new();
    let mut local_policy = BTreeSet::new();
    for spec_tag in array_at(object, "/spec/tags") {
        let Some(name) = spec_tag.get("name").and_then(Value::as_str) else {
            continue;
        };
        let from = spec_tag.get("from");
        let source = (from.and_then(|f| f.get("kind")).and_then(Value::as_str)
            == Some("DockerImage"))
        .then(|| from.and_then(|f| f.get("name")).and_then(Value::as_str))
        .flatten();
        let reference = spec_tag.get("reference").and_then(Value::as_bool) == Some(true);
        // `reference: true` tags are never imported, so binding a container to one would
        // promise updates that never come.
        let external_key = source
            .filter(|_| !reference)
            .and_then(|s| ImageRef::parse(s).ok())
            .filter(|r| !r.is_digest_pinned())
            .map(|r| r.canonical().into_boxed_str());
        if spec_tag
            .pointer("/referencePolicy/type")
            .and_then(Value::as_str)
            == Some("Local")
        {
            local_policy.insert(name.to_string());
        }
        tags.insert(
            name.into(),
            TagEntry {
                source: source.map(Box::from),
                resolved: None,
                external_key,
            },
        );
    }
    let repository = object
        .pointer("/status/dockerImageRepository")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty());
    for status_tag in array_at(object, "/status/tags") {
        let Some(name) = status_tag.get("tag").and_then(Value::as_str) else {
            continue;
        };
        let item = status_tag.pointer("/items/0");
        let image = item.and_then(|i| i.get("image")).and_then(Value::as_str);
        let reference = item
            .and_then(|i| i.get("dockerImageReference"))
            .and_then(Value::as_str);
        let resolved = match (local_policy.contains(name), repository, image) {
            (true, Some(repo), Some(image)) if !image.is_empty() => Some(format!("{repo}@{image}")),
            _ => reference.filter(|r| !r.is_empty()).map(str::to_string),
        };
        tags.entry(name.into()).or_default().resolved = resolved.map(String::into_boxed_str);
    }
    tags
}

fn array_at<'a>(object: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stream(ns: &str, name: &str, tags: Value, status: Value) -> Value {
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
               "metadata": {"name": name, "namespace": ns},
               "spec": {"tags": tags}, "status": status})
    }

    fn docker_tag(name: &str, from: &str) -> Value {
        json!({"name": name, "from": {"kind": "DockerImage", "name": from}})
    }

    #[test]
    fn external_sources_are_found_after_normalisation() {
        let index = CatalogIndex::from_objects(
            [&stream(
                "shop",
                "nginx",
                json!([docker_tag("latest", "nginx")]),
                json!({}),
            )],
            "",
        );
        let found = index.find_external("shop", "docker.io/library/nginx:latest");
        assert_eq!(
            found.map(|t| t.stream_tag()),
            Some("nginx:latest".to_string())
        );
        assert!(
            index
                .find_external("other", "docker.io/library/nginx:latest")
                .is_none()
        );
        assert!(index.has_stream("shop", "nginx"));
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn resolved_image_comes_from_the_first_status_item() {
        let status = json!({"dockerImageRepository": "reg:5000/shop/app",
            "tags": [{"tag": "1", "items": [{"dockerImageReference": "org/app@sha256:new", "image": "sha256:new"},
                                            {"dockerImageReference": "org/app@sha256:old", "image": "sha256:old"}]}]});
        let index = CatalogIndex::from_objects(
            [&stream(
                "shop",
                "app",
                json!([docker_tag("1", "org/app:1")]),
                status,
            )],
            "",
        );
        let state = index.tag_state("shop", "app", "1").unwrap();
        assert_eq!(state.source.as_deref(), Some("org/app:1"));
        assert_eq!(state.resolved.as_deref(), Some("org/app@sha256:new"));
    }

    #[test]
    fn local_reference_policy_resolves_through_the_internal_registry() {
        let mut tag = docker_tag("1", "org/app:1");
        tag["referencePolicy"] = json!({"type": "Local"});
        let status = json!({"dockerImageRepository": "reg:5000/shop/app",
            "tags": [{"tag": "1", "items": [{"dockerImageReference": "org/app@sha256:x", "image": "sha256:x"}]}]});
        let index = CatalogIndex::from_objects([&stream("shop", "app", json!([tag]), status)], "");
        let state = index.tag_state("shop", "app", "1").unwrap();
        assert_eq!(
            state.resolved.as_deref(),
            Some("reg:5000/shop/app@sha256:x")
        );
    }

    #[test]
    fn upsert_replaces_old_entries_and_remove_forgets_them() {
        let mut index = CatalogIndex::new();
        index.upsert(
            &stream("ns", "a", json!([docker_tag("t", "x/old:1")]), json!({})),
            "",
        );
        index.upsert(
            &stream("ns", "a", json!([docker_tag("t", "x/new:1")]), json!({})),
            "",
        );
        assert_eq!(index.len(), 1);
        assert!(index.find_external("ns", "docker.io/x/old:1").is_none());
        assert!(index.find_external("ns", "docker.io/x/new:1").is_some());
        index.remove("ns", "a");
        assert!(index.is_empty());
        assert!(index.find_external("ns", "docker.io/x/new:1").is_none());
        assert!(!index.has_stream("ns", "a"));
    }

    #[test]
    fn ties_answer_the_smallest_tag_ref() {
        let objects = [
            stream("ns", "zeta", json!([docker_tag("a", "x/app:1")]), json!({})),
            stream(
                "ns",
                "alpha",
                json!([docker_tag("b", "docker.io/x/app:1")]),
                json!({}),
            ),
        ];
        let index = CatalogIndex::from_objects(&objects, "");
        let found = index.find_external("ns", "docker.io/x/app:1").unwrap();
        assert_eq!(found.stream_tag(), "alpha:b");
    }

    #[test]
    fn non_streams_reference_and_pinned_tags_are_not_bindable() {
        let mut reference = docker_tag("r", "x/ref:1");
        reference["reference"] = json!(true);
        let tags = json!([reference, docker_tag("p", "x/pin@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
                          {"name": "i", "from": {"kind": "ImageStreamTag", "name": "other:1"}}]);
        let deployment =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
        let index =
            CatalogIndex::from_objects([&stream("", "s", tags, json!(null)), &deployment], "ns");
        assert_eq!(index.len(), 1);
        assert!(index.find_external("", "docker.io/x/ref:1").is_none());
        assert_eq!(index.tag_state("", "s", "i"), Some(TagState::default()));
        assert!(index.tag_state("", "s", "p").unwrap().source.is_some());
    }

    #[test]
    fn malformed_streams_do_not_panic() {
        let mut index = CatalogIndex::new();
        for junk in [
            json!(null),
            json!({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1"}),
            json!({"kind": "ImageStream", "apiVersion": "v1", "metadata": {"name": "x"}, "spec": {"tags": [1, {"name": 2}]},
                            "status": {"tags": "no"}}),
        ] {
            index.upsert(&junk, "ns");
        }
        assert_eq!(index.len(), 1);
    }
}
