//! The pure ImageStream index: (namespace, normalised external reference) -> tag, and
//! (namespace, stream) -> tags with their sources and resolved images. Fed by whole
//! ImageStream objects (offline manifests or watch events); no I/O. It keeps only what the
//! engine's lookups need, never whole objects, and is laid out for a cluster-wide cache of
//! 10,000+ streams: each stream is one immutable `Arc`-shared entry with its tags in a sorted
//! slice, names and references are `Arc<str>` shared between the maps, and one reference's
//! candidates sit inline. So an index holds ~1 KiB per 3-tag stream, and cloning one (what the
//! watch's copy-on-write does on every update of a namespace) copies pointers, not strings.

use crate::pointer::items;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;
use smallvec::SmallVec;

use super::budget::{ImportCost, Replaced, UsageTotals};
use super::{Catalog, TagRef, TagState};
use crate::engine::kind::Kind;
use crate::engine::status;
use crate::image_ref::ImageRef;

/// One tag of one stream, as the engine needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tag {
    name: Box<str>,
    /// `from.name` of a `DockerImage` source, as the user spelled it.
    source: Option<Arc<str>>,
    resolved: Option<Box<str>>,
    /// The canonical external reference this tag is indexed under. It shares `source`'s
    /// allocation when the user spelled the canonical form (the usual case: `quay.io/o/a:1`).
    external: Option<Arc<str>>,
    /// `referencePolicy.type: Local`.
    local_reference: bool,
    /// `reference: true`: indexed, so advice can name it, but never bound.
    reference: bool,
    /// What one scheduled import of this tag costs; `None` when it is not scheduled.
    import: Option<ImportCost>,
    /// Platforms the current image lists in status (sub-manifests of a manifest list).
    platforms: Option<u32>,
}

/// One ImageStream. Never edited in place: an update builds a new one, so clones of the
/// index share it.
#[derive(Debug)]
struct Stream {
    name: Arc<str>,
    /// Sorted by name, unique.
    tags: Box<[Tag]>,
    /// `spec.lookupPolicy.local`.
    local_lookup: bool,
    /// The cluster registry's hosts from the stream's status (usually one, often none).
    own_hosts: Box<[Arc<str>]>,
}

impl Stream {
    fn tag(&self, name: &str) -> Option<&Tag> {
        let i = self
            .tags
            .binary_search_by(|tag| tag.name.as_ref().cmp(name))
            .ok()?;
        self.tags.get(i)
    }
}

/// A tag answering one external reference: the stream and the tag's position in it.
#[derive(Debug, Clone)]
struct Candidate {
    stream: Arc<Stream>,
    tag: u32,
}

impl Candidate {
    /// (stream, tag) order, since tags are sorted by name: ties answer the smallest `TagRef`.
    fn key(&self) -> (&str, u32) {
        (&self.stream.name, self.tag)
    }
}

/// Almost every reference is tracked by one tag, which then needs no allocation of its own.
type Candidates = SmallVec<[Candidate; 1]>;

/// The streams of one namespace.
#[derive(Debug, Clone, Default)]
struct Namespace {
    streams: BTreeMap<Arc<str>, Arc<Stream>>,
    /// Canonical external reference -> its tags, sorted by [`Candidate::key`].
    external: BTreeMap<Arc<str>, Candidates>,
}

impl Namespace {
    fn insert(&mut self, stream: Arc<Stream>) {
        for (i, tag) in stream.tags.iter().enumerate() {
            let Some(key) = &tag.external else { continue };
            let candidate = Candidate {
                stream: Arc::clone(&stream),
                tag: i as u32,
            };
            let candidates = self.external.entry(Arc::clone(key)).or_default();
            let at = candidates.partition_point(|c| c.key() < candidate.key());
            candidates.insert(at, candidate);
        }
        self.streams.insert(Arc::clone(&stream.name), stream);
    }

    fn remove(&mut self, name: &str) -> bool {
        let Some(stream) = self.streams.remove(name) else {
            return false;
        };
        for key in stream.tags.iter().filter_map(|tag| tag.external.as_deref()) {
            if let Some(candidates) = self.external.get_mut(key) {
                candidates.retain(|c| !Arc::ptr_eq(&c.stream, &stream));
                if candidates.is_empty() {
                    self.external.remove(key);
                }
            }
        }
        true
    }
}

/// An in-memory index of ImageStreams.
#[derive(Debug, Clone, Default)]
pub struct CatalogIndex {
    namespaces: BTreeMap<Box<str>, Namespace>,
    streams: usize,
    /// Scheduled imports per registry over every stream held.
    usage: UsageTotals,
    /// The cluster registry's host names seen in statuses, shared by every stream naming them
    /// (one or two per cluster).
    hosts: BTreeSet<Arc<str>>,
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
        let mut tags = read_tags(object);
        attach_import_costs(&mut tags, object, &self.usage);
        let own_hosts = status::own_registry_hosts(object)
            .into_iter()
            .map(|host| self.shared_host(host))
            .collect();
        let stream = Arc::new(Stream {
            name: name.into(),
            local_lookup: object
                .pointer("/spec/lookupPolicy/local")
                .and_then(Value::as_bool)
                == Some(true),
            tags,
            own_hosts,
        });
        stream
            .tags
            .iter()
            .filter_map(|tag| tag.import.as_ref())
            .for_each(|cost| self.usage.add(cost));
        let ns = match self.namespaces.get_mut(namespace) {
            Some(ns) => ns,
            None => self.namespaces.entry(namespace.into()).or_default(),
        };
        ns.insert(stream);
        self.streams += 1;
    }

    /// Forget one ImageStream.
    pub fn remove(&mut self, namespace: &str, name: &str) {
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        let Some(stream) = ns.streams.get(name).cloned() else {
            return;
        };
        ns.remove(name);
        for cost in stream.tags.iter().filter_map(|tag| tag.import.as_ref()) {
            self.usage.subtract(cost);
        }
        self.streams -= 1;
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

    /// Scheduled tags and pulls per import cycle, per registry, over every stream held.
    pub fn usage(&self) -> &UsageTotals {
        &self.usage
    }

    fn shared_host(&mut self, host: String) -> Arc<str> {
        if let Some(shared) = self.hosts.get(host.as_str()) {
            return Arc::clone(shared);
        }
        let host: Arc<str> = host.into();
        self.hosts.insert(Arc::clone(&host));
        host
    }

    /// What the tags `replaced` names cost per import cycle on `registry`.
    pub fn replaced_pulls(&self, registry: &str, replaced: &Replaced<'_>) -> u64 {
        let Some(stream) = replaced.stream().and_then(|(ns, s)| self.stream(ns, s)) else {
            return 0;
        };
        (stream.tags.iter())
            .filter(|tag| replaced.covers(&tag.name))
            .filter_map(|tag| tag.import.as_ref())
            .filter(|cost| cost.registry.as_ref() == registry)
            .map(|cost| u64::from(cost.pulls))
            .sum()
    }

    fn stream(&self, namespace: &str, stream: &str) -> Option<&Stream> {
        self.namespaces
            .get(namespace)?
            .streams
            .get(stream)
            .map(|s| &**s)
    }
}

impl Catalog for CatalogIndex {
    fn has_stream(&self, namespace: &str, stream: &str) -> bool {
        self.namespaces
            .get(namespace)
            .is_some_and(|ns| ns.streams.contains_key(stream))
    }

    fn find_external(&self, namespace: &str, normalized: &str) -> Option<TagRef> {
        self.candidates(namespace, normalized, false).next()
    }

    fn tag_state(&self, namespace: &str, stream: &str, tag: &str) -> Option<TagState> {
        let tag = self
            .namespaces
            .get(namespace)?
            .streams
            .get(stream)?
            .tag(tag)?;
        Some(TagState {
            source: tag.source.as_deref().map(str::to_string),
            resolved: tag.resolved.as_deref().map(str::to_string),
            local_reference: tag.local_reference,
            reference_only: tag.reference,
        })
    }

    fn external_candidates(&self, namespace: &str, normalized: &str) -> Vec<TagRef> {
        self.candidates(namespace, normalized, false).collect()
    }

    fn reference_tag(&self, namespace: &str, normalized: &str) -> Option<TagRef> {
        self.candidates(namespace, normalized, true).next()
    }

    fn local_lookup(&self, namespace: &str, stream: &str) -> bool {
        self.namespaces
            .get(namespace)
            .and_then(|ns| ns.streams.get(stream))
            .is_some_and(|stream| stream.local_lookup)
    }

    fn scheduled_pulls(&self, registry: &str, replaced: &Replaced<'_>) -> u64 {
        let total = self.usage.get(registry).cycle_pulls;
        total.saturating_sub(self.replaced_pulls(registry, replaced))
    }

    fn tag_platforms(&self, namespace: &str, stream: &str, tag: &str) -> Option<u32> {
        self.stream(namespace, stream)?.tag(tag)?.platforms
    }

    fn scheduled_registry(&self, namespace: &str, stream: &str, tag: &str) -> Option<String> {
        let import = self.stream(namespace, stream)?.tag(tag)?.import.as_ref()?;
        Some(import.registry.to_string())
    }

    fn own_registry_hosts(&self, namespace: &str, stream: &str) -> Vec<String> {
        self.stream(namespace, stream)
            .map(|s| s.own_hosts.iter().map(|h| h.to_string()).collect())
            .unwrap_or_default()
    }
}

impl CatalogIndex {
    /// The tags indexed under `normalized`, in `TagRef` order: the imported ones, or with
    /// `reference` the `reference: true` ones.
    fn candidates<'a>(
        &'a self,
        namespace: &'a str,
        normalized: &str,
        reference: bool,
    ) -> impl Iterator<Item = TagRef> + 'a {
        self.namespaces
            .get(namespace)
            .and_then(|ns| ns.external.get(normalized))
            .into_iter()
            .flatten()
            .filter_map(move |candidate| {
                let tag = candidate.stream.tags.get(candidate.tag as usize)?;
                (tag.reference == reference).then(|| TagRef {
                    namespace: namespace.to_string(),
                    stream: candidate.stream.name.to_string(),
                    tag: tag.name.to_string(),
                })
            })
    }
}

/// Each scheduled spec tag's cost, and every tag's platform count; registry names are shared
/// with the totals' when already there.
fn attach_import_costs(tags: &mut [Tag], object: &Value, usage: &UsageTotals) {
    let mut imports = super::budget::tag_imports(object);
    for tag in tags.iter_mut() {
        let Some(mut found) = imports.remove(tag.name.as_ref()) else {
            continue;
        };
        if let Some(cost) = &mut found.import
            && let Some(shared) = usage.shared_name(&cost.registry)
        {
            cost.registry = shared;
        }
        (tag.import, tag.platforms) = (found.import, found.platforms);
    }
}

/// Spec tags (with their sources) and status-only tags (pushed images), each resolved as library-go
/// `ResolveLatestTaggedImage` does (openshift/library-go `pkg/image/imageutil/helpers.go`).
fn read_tags(object: &Value) -> Box<[Tag]> {
    let mut tags: BTreeMap<&str, Tag> = BTreeMap::new();
    let mut local_policy = BTreeSet::new();
    for spec_tag in items(object, "/spec/tags") {
        let Some(name) = spec_tag.get("name").and_then(Value::as_str) else {
            continue;
        };
        if spec_tag
            .pointer("/referencePolicy/type")
            .and_then(Value::as_str)
            == Some("Local")
        {
            local_policy.insert(name);
        }
        let mut entry = spec_tag_entry(name, spec_tag);
        entry.local_reference = local_policy.contains(name);
        tags.insert(name, entry);
    }
    let repository = object
        .pointer("/status/dockerImageRepository")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty());
    for status_tag in items(object, "/status/tags") {
        let Some(name) = status_tag.get("tag").and_then(Value::as_str) else {
            continue;
        };
        let resolved = resolved_image(status_tag, repository, local_policy.contains(name));
        let tag = tags.entry(name).or_insert_with(|| Tag {
            name: name.into(),
            ..Tag::default()
        });
        tag.resolved = resolved.map(String::into_boxed_str);
    }
    tags.into_values().collect()
}

fn spec_tag_entry(name: &str, spec_tag: &Value) -> Tag {
    let from = spec_tag.get("from");
    let source = (from.and_then(|f| f.get("kind")).and_then(Value::as_str) == Some("DockerImage"))
        .then(|| from.and_then(|f| f.get("name")).and_then(Value::as_str))
        .flatten()
        .map(Arc::<str>::from);
    // `reference: true` tags are never imported, so binding a container to one would
    // promise updates that never come; they are indexed only so advice can name them.
    let reference = spec_tag.get("reference").and_then(Value::as_bool) == Some(true);
    let external = source.as_ref().and_then(external_key);
    Tag {
        name: name.into(),
        source,
        resolved: None,
        external,
        local_reference: false,
        reference,
        import: None,
        platforms: None,
    }
}

/// The first status item's image, through the internal registry for a `Local` policy.
fn resolved_image(status_tag: &Value, repository: Option<&str>, local: bool) -> Option<String> {
    let item = status_tag.pointer("/items/0");
    let image = item.and_then(|i| i.get("image")).and_then(Value::as_str);
    let reference = item
        .and_then(|i| i.get("dockerImageReference"))
        .and_then(Value::as_str);
    match (local, repository, image) {
        (true, Some(repo), Some(image)) if !image.is_empty() => Some(format!("{repo}@{image}")),
        _ => reference.filter(|r| !r.is_empty()).map(str::to_string),
    }
}

/// The canonical reference a `DockerImage` source is found by (`None` when digest-pinned or
/// unparsable), sharing the source's allocation when it is already canonical.
fn external_key(source: &Arc<str>) -> Option<Arc<str>> {
    let canonical = ImageRef::parse(source)
        .ok()
        .filter(|r| !r.is_digest_pinned())?
        .canonical();
    Some(if *canonical == **source {
        Arc::clone(source)
    } else {
        canonical.into()
    })
}

#[cfg(test)]
mod tests;
