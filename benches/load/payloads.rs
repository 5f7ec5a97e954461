//! What the load tool sends: the AdmissionReviews recorded from a real kube-apiserver, and
//! generated larger ones (an ImageStream with 1,000 external tags, a Deployment with 20
//! containers bound through internal-registry pull specs), each with its `request.uid` so
//! every answer can be checked against the request it answers.

use anyhow::Context as _;
use hyper::body::Bytes;
use serde_json::{Value, json};

const REGISTRY: &str = "image-registry.openshift-image-registry.svc:5000";

/// Which requests a run cycles through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Set {
    /// The recorded reviews (a few KiB each).
    Fixtures,
    /// One ImageStream CREATE with 1,000 external tags (about 150 KiB).
    Imagestream1000,
    /// One Deployment CREATE with 20 containers.
    Deployment20,
    /// All of the above.
    Mix,
}

/// One request body, its path and the uid its answer must echo.
#[derive(Debug, Clone)]
pub struct Payload {
    pub name: String,
    pub body: Bytes,
    pub uid: String,
}

pub fn load(set: Set) -> anyhow::Result<Vec<Payload>> {
    let mut out = Vec::new();
    if matches!(set, Set::Fixtures | Set::Mix) {
        out.extend(fixtures()?);
    }
    if matches!(set, Set::Imagestream1000 | Set::Mix) {
        out.push(payload("imagestream-1000", review(imagestream(1000)))?);
    }
    if matches!(set, Set::Deployment20 | Set::Mix) {
        out.push(payload("deployment-20", review(deployment(20)))?);
    }
    Ok(out)
}

fn fixtures() -> anyhow::Result<Vec<Payload>> {
    autoredeploy::testing::recorded::reviews()?
        .into_iter()
        .map(|(name, bytes)| {
            let review = serde_json::from_slice(&bytes).with_context(|| format!("{name}.json"))?;
            payload(&name, review)
        })
        .collect()
}

fn payload(name: &str, review: Value) -> anyhow::Result<Payload> {
    let uid = review
        .pointer("/request/uid")
        .and_then(Value::as_str)
        .context("review without request.uid")?
        .to_owned();
    let body = Bytes::from(serde_json::to_vec(&review)?);
    Ok(Payload {
        name: name.to_owned(),
        body,
        uid,
    })
}

/// A CREATE review of `object` as the API server would send it.
pub fn review(object: Value) -> Value {
    let kind = object["kind"].clone();
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let uid = format!("load-{}", kind.as_str().unwrap_or("object").to_lowercase());
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": "objects"},
            "name": object["metadata"]["name"], "namespace": "team-a", "operation": "CREATE",
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": object, "oldObject": null, "dryRun": false,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
        }
    })
}

/// An ImageStream whose `tags` external tags all need a scheduled import.
pub fn imagestream(tags: usize) -> Value {
    let tags: Vec<Value> = (0..tags)
        .map(|i| {
            json!({"name": format!("v{i}"),
                   "from": {"kind": "DockerImage", "name": format!("docker.io/org/app:v{i}")},
                   "importPolicy": {}, "referencePolicy": {"type": "Source"}})
        })
        .collect();
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
           "metadata": {"name": "app", "namespace": "team-a"},
           "spec": {"lookupPolicy": {"local": false}, "tags": tags}})
}

/// A Deployment whose containers all pull from the internal registry.
pub fn deployment(containers: usize) -> Value {
    let containers: Vec<Value> = (0..containers)
        .map(|i| {
            json!({"name": format!("c{i}"),
                   "image": format!("{REGISTRY}/team-a/app{i}:latest"),
                   "ports": [{"containerPort": 8080 + i}],
                   "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}})
        })
        .collect();
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "big", "namespace": "team-a", "labels": {"app": "big"}},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "big"}},
                    "template": {"metadata": {"labels": {"app": "big"}},
                                 "spec": {"containers": containers}}}})
}
