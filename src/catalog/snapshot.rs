//! Copy-on-write catalog storage for the cluster watch: one `CatalogIndex` per namespace,
//! each behind its own `Arc`. A published [`CatalogSnapshot`] is immutable and shares every
//! namespace with the writer's [`CatalogShards`]; an update clones only the namespace it
//! touches (once per published batch), never the whole catalog, and that clone copies
//! pointers to the index's shared, immutable stream entries, not strings. Every `Catalog`
//! lookup is scoped to one namespace, so a per-namespace split answers exactly like one big
//! index. This module owns no I/O and no clock; it must not know how objects arrive.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::budget::{Replaced, UsageTotals};
use super::{Catalog, CatalogIndex, TagRef, TagState};

type Namespaces = HashMap<Arc<str>, Arc<CatalogIndex>>;

/// An immutable view of the catalog, cheap to hold for the length of a review.
#[derive(Debug, Clone, Default)]
pub struct CatalogSnapshot {
    namespaces: Namespaces,
    streams: usize,
    /// Scheduled imports per registry over every namespace, summed once per publish.
    usage: UsageTotals,
}

impl CatalogSnapshot {
    /// Number of ImageStreams in the snapshot.
    pub fn len(&self) -> usize {
        self.streams
    }

    pub fn is_empty(&self) -> bool {
        self.streams == 0
    }

    /// Number of namespaces holding at least one ImageStream.
    pub fn namespace_count(&self) -> usize {
        self.namespaces.len()
    }

    /// Scheduled tags and pulls per import cycle, per registry, cluster-wide.
    pub fn usage(&self) -> &UsageTotals {
        &self.usage
    }
}

impl Catalog for CatalogSnapshot {
    fn has_stream(&self, namespace: &str, stream: &str) -> bool {
        self.namespaces
            .get(namespace)
            .is_some_and(|index| index.has_stream(namespace, stream))
    }

    fn find_external(&self, namespace: &str, normalized: &str) -> Option<TagRef> {
        self.namespaces
            .get(namespace)?
            .find_external(namespace, normalized)
    }

    fn tag_state(&self, namespace: &str, stream: &str, tag: &str) -> Option<TagState> {
        self.namespaces
            .get(namespace)?
            .tag_state(namespace, stream, tag)
    }

    fn external_candidates(&self, namespace: &str, normalized: &str) -> Vec<TagRef> {
        self.namespaces
            .get(namespace)
            .map(|index| index.external_candidates(namespace, normalized))
            .unwrap_or_default()
    }

    fn reference_tag(&self, namespace: &str, normalized: &str) -> Option<TagRef> {
        self.namespaces
            .get(namespace)?
            .reference_tag(namespace, normalized)
    }

    fn local_lookup(&self, namespace: &str, stream: &str) -> bool {
        self.namespaces
            .get(namespace)
            .is_some_and(|index| index.local_lookup(namespace, stream))
    }

    fn scheduled_pulls(&self, registry: &str, replaced: &Replaced<'_>) -> u64 {
        let own = replaced
            .stream()
            .and_then(|(namespace, _)| self.namespaces.get(namespace))
            .map_or(0, |index| index.replaced_pulls(registry, replaced));
        self.usage.get(registry).cycle_pulls.saturating_sub(own)
    }

    fn tag_platforms(&self, namespace: &str, stream: &str, tag: &str) -> Option<u32> {
        self.namespaces
            .get(namespace)?
            .tag_platforms(namespace, stream, tag)
    }

    fn scheduled_registry(&self, namespace: &str, stream: &str, tag: &str) -> Option<String> {
        self.namespaces
            .get(namespace)?
            .scheduled_registry(namespace, stream, tag)
    }

    fn own_registry_hosts(&self, namespace: &str, stream: &str) -> Vec<String> {
        self.namespaces
            .get(namespace)
            .map(|index| index.own_registry_hosts(namespace, stream))
            .unwrap_or_default()
    }
}

/// The writer's side: the live per-namespace indexes, from which snapshots are published.
#[derive(Debug, Default)]
pub struct CatalogShards {
    namespaces: Namespaces,
    /// Scheduled imports per registry over every namespace, kept up to date per event so a
    /// publish copies one small map instead of summing every namespace.
    usage: UsageTotals,
}

impl CatalogShards {
    pub fn new() -> Self {
        Self::default()
    }

    /// Insert or replace one ImageStream. `default_namespace` is used when the object has no
    /// `metadata.namespace` (the API server always sends one), as `CatalogIndex` does.
    pub fn upsert(&mut self, object: &Value, default_namespace: &str) {
        let namespace = object_namespace(object).unwrap_or(default_namespace);
        let index = match self.namespaces.get_mut(namespace) {
            Some(index) => index,
            None => self.namespaces.entry(Arc::from(namespace)).or_default(),
        };
        // Clones this namespace only when a published snapshot still shares it (pointers
        // to the unchanged streams, so the cost is one refcount per stream and reference).
        let index = Arc::make_mut(index);
        self.usage.unmerge(index.usage());
        index.upsert(object, namespace);
        self.usage.merge(index.usage());
        if index.is_empty() {
            // The object was not an ImageStream and the namespace had none.
            self.namespaces.remove(namespace);
        }
    }

    /// Forget one ImageStream; a namespace left empty is dropped.
    pub fn remove(&mut self, namespace: &str, name: &str) {
        let Some(index) = self.namespaces.get_mut(namespace) else {
            return;
        };
        if !index.has_stream(namespace, name) {
            return;
        }
        let index = Arc::make_mut(index);
        self.usage.unmerge(index.usage());
        index.remove(namespace, name);
        self.usage.merge(index.usage());
        if index.is_empty() {
            self.namespaces.remove(namespace);
        }
    }

    /// Replace everything with the result of a full list.
    pub fn replace_all(&mut self, relisted: Relist) {
        self.namespaces = relisted.into_namespaces().collect();
        self.retotal();
    }

    /// Replace one namespace with the result of a list of that namespace.
    pub fn replace_namespace(&mut self, namespace: &str, relisted: Relist) {
        self.namespaces.remove(namespace);
        self.namespaces.extend(
            relisted
                .into_namespaces()
                .filter(|(listed, _)| listed.as_ref() == namespace),
        );
        self.retotal();
    }

    /// Sum the totals afresh (after a list replaced namespaces wholesale).
    fn retotal(&mut self) {
        let mut usage = UsageTotals::default();
        for index in self.namespaces.values() {
            usage.merge(index.usage());
        }
        self.usage = usage;
    }

    /// Number of ImageStreams held.
    pub fn len(&self) -> usize {
        self.namespaces.values().map(|index| index.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
    }

    /// An immutable snapshot sharing every namespace with `self` (O(namespaces), no deep copy).
    pub fn snapshot(&self) -> CatalogSnapshot {
        CatalogSnapshot {
            namespaces: self.namespaces.clone(),
            streams: self.len(),
            usage: self.usage.clone(),
        }
    }
}

/// The objects of one list (the watcher's `Init` .. `InitDone`), indexed aside and swapped in
/// whole, so streams deleted while the watch was down disappear.
#[derive(Debug, Default)]
pub struct Relist {
    namespaces: HashMap<Arc<str>, CatalogIndex>,
}

impl Relist {
    pub fn upsert(&mut self, object: &Value, default_namespace: &str) {
        let namespace = object_namespace(object).unwrap_or(default_namespace);
        let index = match self.namespaces.get_mut(namespace) {
            Some(index) => index,
            None => self.namespaces.entry(Arc::from(namespace)).or_default(),
        };
        index.upsert(object, namespace);
    }

    fn into_namespaces(self) -> impl Iterator<Item = (Arc<str>, Arc<CatalogIndex>)> {
        self.namespaces
            .into_iter()
            .filter(|(_, index)| !index.is_empty())
            .map(|(namespace, index)| (namespace, Arc::new(index)))
    }
}

fn object_namespace(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stream(namespace: &str, name: &str, from: &str) -> Value {
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"tags": [{"name": "latest", "from": {"kind": "DockerImage", "name": from}}]}})
    }

    #[test]
    fn a_held_snapshot_is_not_changed_by_later_updates() {
        let mut shards = CatalogShards::new();
        shards.upsert(&stream("shop", "web", "nginx"), "");
        shards.upsert(&stream("tools", "cli", "quay.io/org/cli"), "");
        let before = shards.snapshot();
        shards.upsert(&stream("shop", "api", "quay.io/org/api"), "");
        shards.remove("tools", "cli");
        let after = shards.snapshot();
        assert_eq!((before.len(), before.namespace_count()), (2, 2));
        assert!(before.has_stream("tools", "cli") && !before.has_stream("shop", "api"));
        assert_eq!((after.len(), after.namespace_count()), (2, 1));
        assert!(after.has_stream("shop", "api") && !after.has_stream("tools", "cli"));
    }

    #[test]
    fn untouched_namespaces_are_shared_not_copied() {
        let mut shards = CatalogShards::new();
        shards.upsert(&stream("shop", "web", "nginx"), "");
        shards.upsert(&stream("tools", "cli", "quay.io/org/cli"), "");
        let before = shards.snapshot();
        shards.upsert(&stream("shop", "api", "quay.io/org/api"), "");
        let after = shards.snapshot();
        let shared = |ns: &str| Arc::ptr_eq(&before.namespaces[ns], &after.namespaces[ns]);
        assert!(shared("tools"));
        assert!(!shared("shop"));
    }

    #[test]
    fn lookups_answer_like_one_index() {
        let objects = [
            stream("shop", "web", "nginx"),
            stream("shop", "proxy", "docker.io/library/nginx:latest"),
            stream("tools", "web", "nginx"),
        ];
        let mut shards = CatalogShards::new();
        objects.iter().for_each(|object| shards.upsert(object, ""));
        let snapshot = shards.snapshot();
        let index = CatalogIndex::from_objects(&objects, "");
        for namespace in ["shop", "tools", "none"] {
            let wanted = "docker.io/library/nginx:latest";
            assert_eq!(
                snapshot.find_external(namespace, wanted),
                index.find_external(namespace, wanted)
            );
            assert_eq!(
                snapshot.tag_state(namespace, "web", "latest"),
                index.tag_state(namespace, "web", "latest")
            );
        }
    }

    #[test]
    fn registry_totals_follow_every_kind_of_update() {
        let scheduled = |namespace: &str, name: &str, from: &str| {
            let mut object = stream(namespace, name, from);
            object["spec"]["tags"][0]["importPolicy"] = serde_json::json!({"scheduled": true});
            object
        };
        let mut shards = CatalogShards::new();
        shards.upsert(&scheduled("shop", "web", "nginx"), "");
        shards.upsert(&scheduled("tools", "cli", "org/cli"), "");
        shards.upsert(&scheduled("tools", "q", "quay.io/org/q"), "");
        let hub = |shards: &CatalogShards| shards.snapshot().usage().get("docker.io").cycle_pulls;
        assert_eq!(hub(&shards), 2);
        shards.upsert(&stream("shop", "web", "nginx"), "");
        assert_eq!(hub(&shards), 1, "unscheduled by an update");
        shards.remove("tools", "cli");
        assert_eq!(hub(&shards), 0);
        let mut relist = Relist::default();
        relist.upsert(&scheduled("shop", "a", "org/a"), "");
        relist.upsert(&scheduled("shop", "b", "org/b"), "");
        shards.replace_namespace("shop", relist);
        assert_eq!(hub(&shards), 2);
        assert_eq!(shards.snapshot().usage().get("quay.io").scheduled_tags, 1);
        shards.replace_all(Relist::default());
        assert_eq!(shards.snapshot().usage().iter().count(), 0);
    }

    #[test]
    fn relist_replaces_only_its_scope() {
        let mut shards = CatalogShards::new();
        shards.upsert(&stream("shop", "web", "nginx"), "");
        shards.upsert(&stream("tools", "cli", "quay.io/org/cli"), "");
        let mut relist = Relist::default();
        relist.upsert(&stream("shop", "api", "quay.io/org/api"), "");
        relist.upsert(&stream("elsewhere", "x", "quay.io/org/x"), "");
        shards.replace_namespace("shop", relist);
        let snapshot = shards.snapshot();
        assert!(snapshot.has_stream("shop", "api") && !snapshot.has_stream("shop", "web"));
        assert!(snapshot.has_stream("tools", "cli") && !snapshot.has_stream("elsewhere", "x"));
        shards.replace_all(Relist::default());
        assert!(shards.snapshot().is_empty());
    }
}
