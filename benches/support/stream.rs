//! The ImageStream every engine measurement uses: N `DockerImage` tags, each with a status
//! item, as a real imported stream has. Shared by `benches/engine.rs` and
//! `examples/mutate_stream.rs` so both measure the same object.

use serde_json::{Value, json};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub fn stream(tags: usize) -> Value {
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
           "status": {"dockerImageRepository": "image-registry.openshift-image-registry.svc:5000/shop/app", "tags": status_tags}})
}
