//! The slice of an ImageStream that the catalog watch decodes from the API server. It owns the
//! `kube::Resource` description of `image.openshift.io/v1` `imagestreams` and the conversion
//! into the JSON form `CatalogIndex::upsert` reads. It must not keep anything alive: objects
//! are consumed by the index and dropped, so only what the index stores survives an event.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::NamespaceResourceScope;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// API group of ImageStreams.
pub const IMAGE_GROUP: &str = "image.openshift.io";
/// API version of ImageStreams within [`IMAGE_GROUP`].
pub const IMAGE_VERSION: &str = "v1";
/// Kind of the watched objects.
pub const IMAGE_STREAM_KIND: &str = "ImageStream";
/// Resource (plural) of the watched objects.
pub const IMAGE_STREAM_PLURAL: &str = "imagestreams";

/// An ImageStream as the watch decodes it: metadata, `spec` and `status`, nothing else. Fields
/// the index does not read (`managedFields`, other top-level keys) are skipped by serde or
/// dropped when the object is converted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WatchedImageStream {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Value,
    #[serde(default)]
    pub status: Value,
}

impl kube::Resource for WatchedImageStream {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(IMAGE_STREAM_KIND)
    }
    fn group(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(IMAGE_GROUP)
    }
    fn version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(IMAGE_VERSION)
    }
    fn plural(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(IMAGE_STREAM_PLURAL)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl WatchedImageStream {
    /// `(namespace, name)`, or `None` when the server sent an object without them.
    pub fn key(&self) -> Option<(&str, &str)> {
        let namespace = self.metadata.namespace.as_deref()?;
        let name = self.metadata.name.as_deref()?;
        Some((namespace, name))
    }

    /// The whole-object JSON `CatalogIndex::upsert` expects: type, name, namespace, `spec` and
    /// `status` (the index reads nothing else). `apiVersion` and `kind` are set here because
    /// list items from the API server usually omit them.
    pub fn into_index_value(self) -> Value {
        let mut metadata = Map::new();
        if let Some(name) = self.metadata.name {
            metadata.insert("name".into(), Value::String(name));
        }
        if let Some(namespace) = self.metadata.namespace {
            metadata.insert("namespace".into(), Value::String(namespace));
        }
        json!({
            "apiVersion": format!("{IMAGE_GROUP}/{IMAGE_VERSION}"),
            "kind": IMAGE_STREAM_KIND,
            "metadata": metadata,
            "spec": self.spec,
            "status": self.status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_item_without_type_meta_becomes_an_image_stream() {
        let item: WatchedImageStream = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop", "managedFields": [{"manager": "oc"}]},
            "spec": {"tags": [{"name": "latest"}]},
            "status": {"dockerImageRepository": "r/shop/web"}
        }))
        .expect("valid ImageStream");
        assert_eq!(item.key(), Some(("shop", "web")));
        let value = item.into_index_value();
        assert_eq!(value["kind"], "ImageStream");
        assert_eq!(value["apiVersion"], "image.openshift.io/v1");
        assert_eq!(
            value["metadata"],
            json!({"name": "web", "namespace": "shop"})
        );
        assert_eq!(value["spec"]["tags"][0]["name"], "latest");
    }
}
