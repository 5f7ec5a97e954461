//! The pure ImageStream index: (namespace, normalised external reference) -> tag, and
//! (namespace, stream) -> tags with their sources and resolved images. Fed by whole
//! ImageStream objects (offline manifests or watch events); no I/O.

use serde_json::Value;

use super::{Catalog, TagRef, TagState};

/// An in-memory index of ImageStreams.
#[derive(Debug, Clone, Default)]
pub struct CatalogIndex {}

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
        let _ = (object, default_namespace);
    }

    /// Forget one ImageStream.
    pub fn remove(&mut self, namespace: &str, name: &str) {
        let _ = (namespace, name);
    }

    /// Number of streams indexed.
    pub fn len(&self) -> usize {
        0
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Catalog for CatalogIndex {
    fn has_stream(&self, _: &str, _: &str) -> bool {
        false
    }
    fn find_external(&self, _: &str, _: &str) -> Option<TagRef> {
        None
    }
    fn tag_state(&self, _: &str, _: &str, _: &str) -> Option<TagState> {
        None
    }
}
