//! A builder for ImageStream objects as the API server returns them: spec tags with their
//! sources and policies, and status tags with the images they resolved to.

use serde_json::{Map, Value, json};

/// The integrated registry's service host, as OpenShift 4 writes it in status.
pub const INTERNAL_REGISTRY: &str = "image-registry.openshift-image-registry.svc:5000";

/// An ImageStream `namespace/name` (an empty namespace leaves `metadata.namespace` out).
pub fn stream(namespace: &str, name: &str) -> StreamBuilder {
    StreamBuilder {
        namespace: namespace.to_string(),
        name: name.to_string(),
        spec: Map::new(),
        tags: Vec::new(),
        status: Vec::new(),
    }
}

/// The ImageStream every engine measurement uses: `tags` imported `DockerImage` tags, each
/// with a status item, as a real imported stream has (benches and the `mutate_stream`
/// example measure the same object).
pub fn imported_stream(tags: usize) -> Value {
    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let spec_tags: Vec<Value> = (0..tags)
        .map(|i| {
            json!({"name": format!("v{i}"), "annotations": null, "generation": 2,
                   "from": {"kind": "DockerImage", "name": format!("docker.io/org/app:v{i}")},
                   "importPolicy": {"importMode": "Legacy"}, "referencePolicy": {"type": "Source"}})
        })
        .collect();
    let status_tags: Vec<Value> = (0..tags)
        .map(|i| json!({"tag": format!("v{i}"), "items": [{"created": "2026-01-01T00:00:00Z",
                        "dockerImageReference": format!("docker.io/org/app@{DIGEST}"), "image": DIGEST, "generation": 2}]}))
        .collect();
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
           "metadata": {"name": "app", "namespace": "shop", "resourceVersion": "1"},
           "spec": {"lookupPolicy": {"local": false}, "tags": spec_tags},
           "status": {"dockerImageRepository": format!("{INTERNAL_REGISTRY}/shop/app"), "tags": status_tags}})
}

#[derive(Debug, Clone)]
pub struct StreamBuilder {
    namespace: String,
    name: String,
    spec: Map<String, Value>,
    tags: Vec<Value>,
    status: Vec<Value>,
}

impl StreamBuilder {
    /// A spec tag importing the external image `source` (`from.kind: DockerImage`).
    pub fn tag(self, tag: &str, source: &str) -> Self {
        self.spec_tag(json!({"name": tag, "from": {"kind": "DockerImage", "name": source}}))
    }

    /// A spec tag written out in full.
    pub fn spec_tag(mut self, tag: Value) -> Self {
        self.tags.push(tag);
        self
    }

    /// `spec.lookupPolicy.local: true`: short names in the namespace resolve to the stream.
    pub fn lookup_local(mut self) -> Self {
        self.spec
            .insert("lookupPolicy".into(), json!({"local": true}));
        self
    }

    /// Sets a member of the last spec tag (`reference`, `importPolicy`, ...).
    pub fn with(mut self, key: &str, value: Value) -> Self {
        if let Some(tag) = self.tags.last_mut() {
            tag[key] = value;
        }
        self
    }

    /// `referencePolicy.type: Local` on the last spec tag.
    pub fn local_reference(self) -> Self {
        self.with("referencePolicy", json!({"type": "Local"}))
    }

    /// `tag` resolved to `reference` (`…@sha256:…`): its newest status item.
    pub fn resolved(mut self, tag: &str, reference: &str) -> Self {
        let digest = reference.rsplit_once('@').map_or("", |(_, digest)| digest);
        self.status.push(json!({"tag": tag, "items": [
            {"dockerImageReference": reference, "image": digest}]}));
        self
    }

    /// `tag` pushed to the integrated registry with `digest` (status only, no spec tag).
    pub fn pushed(self, tag: &str, digest: &str) -> Self {
        let reference = format!(
            "{INTERNAL_REGISTRY}/{}/{}@{digest}",
            self.namespace, self.name
        );
        self.resolved(tag, &reference)
    }

    /// A status tag with no image yet (exists, never resolved).
    pub fn status_tag(mut self, tag: &str) -> Self {
        self.status.push(json!({"tag": tag, "items": []}));
        self
    }

    pub fn build(self) -> Value {
        let mut spec = self.spec;
        if !self.tags.is_empty() {
            spec.insert("tags".into(), Value::Array(self.tags));
        }
        let mut metadata = json!({"name": self.name});
        if !self.namespace.is_empty() {
            metadata["namespace"] = json!(self.namespace);
        }
        let mut object = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": metadata, "spec": spec});
        if !self.status.is_empty() {
            object["status"] = json!({
                "dockerImageRepository": format!("{INTERNAL_REGISTRY}/{}/{}", self.namespace, self.name),
                "tags": self.status});
        }
        object
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_spec_and_status_as_the_api_server_returns_them() {
        let object = stream("shop", "app")
            .lookup_local()
            .tag("1", "org/app:1")
            .local_reference()
            .resolved("1", "org/app@sha256:ab")
            .pushed("dev", "sha256:cd")
            .build();
        assert_eq!(object["spec"]["lookupPolicy"]["local"], true);
        assert_eq!(
            object["spec"]["tags"][0]["referencePolicy"]["type"],
            "Local"
        );
        assert_eq!(
            object["status"]["tags"][0]["items"][0]["image"],
            "sha256:ab"
        );
        assert_eq!(
            object["status"]["tags"][1]["items"][0]["dockerImageReference"],
            format!("{INTERNAL_REGISTRY}/shop/app@sha256:cd")
        );
    }
}
