//! One `engine::mutate` call on an ImageStream of N `DockerImage` tags (default 10,000), the
//! same object as `benches/engine.rs`: a fixed workload whose instruction count
//! (`valgrind --tool=callgrind --toggle-collect='*engine::mutate*'`) compares two builds
//! exactly, where timings on a shared machine cannot. Prints the size of the outcome so the
//! call is not optimised away.

use autoredeploy::catalog::EmptyCatalog;
use autoredeploy::config::RuleConfig;
use autoredeploy::engine::{Input, mutate};
use serde_json::{Value, json};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn stream(tags: usize) -> Value {
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

fn main() {
    let tags = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let object = stream(tags);
    let outcome = mutate(
        &Input::create(&object),
        &EmptyCatalog,
        &RuleConfig::default(),
    );
    println!(
        "{tags} tags: {} changes, {} patch operations",
        outcome.changes.len(),
        outcome.patch.0.len()
    );
}
