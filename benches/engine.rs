//! Engine micro-benchmarks: a typical DeploymentConfig (bound through the catalog, trigger,
//! pull policy, resolved image) and ImageStreams with 1, 100 and 10,000 tags to show cost
//! grows linearly with object size, and the whole per-review CPU path short of TLS and HTTP
//! (decode, engine, response, encode) on each recorded review. Results are recorded in
//! docs/benchmarks.md.

use std::hint::black_box;

use autoredeploy::admission;
use autoredeploy::catalog::CatalogIndex;
use autoredeploy::config::{Mode, RuleConfig};
use autoredeploy::engine::{Request, mutate};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

use autoredeploy::testing::imported_stream as stream;
use autoredeploy::testing::recorded;

// Measure with the allocator the `autoredeploy` binary ships with (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn deployment_config() -> Value {
    json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
                     "annotations": {"openshift.io/generated-by": "OpenShiftNewApp"}},
        "spec": {"replicas": 2, "selector": {"app": "web"}, "strategy": {"type": "Rolling", "rollingParams": {"timeoutSeconds": 600}},
                 "triggers": [{"type": "ConfigChange"}],
                 "template": {"metadata": {"labels": {"app": "web"}},
                   "spec": {"initContainers": [{"name": "migrate", "image": "docker.io/org/app:v1", "imagePullPolicy": "Always"}],
                            "containers": [
                              {"name": "web", "image": "docker.io/org/app:v1", "imagePullPolicy": "Always",
                               "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                               "env": [{"name": "MODE", "value": "prod"}], "resources": {"limits": {"memory": "256Mi"}}},
                              {"name": "proxy", "image": "quay.io/org/proxy:2", "imagePullPolicy": "IfNotPresent"}]}}}})
}

fn benches(c: &mut Criterion) {
    let config = RuleConfig::default();
    let catalog = CatalogIndex::from_objects([&stream(100)], "");
    let dc = deployment_config();
    c.bench_function("deploymentconfig_typical", |b| {
        b.iter(|| mutate(black_box(&dc), &Request::default(), &catalog, &config))
    });
    let mut group = c.benchmark_group("imagestream_tags");
    for tags in [1usize, 100, 10_000] {
        let object = stream(tags);
        group.throughput(Throughput::Elements(tags as u64));
        group.bench_with_input(BenchmarkId::from_parameter(tags), &object, |b, object| {
            b.iter(|| mutate(black_box(object), &Request::default(), &catalog, &config))
        });
    }
    group.finish();
    // Where the 10,000-tag time goes: the engine's own work versus the clone and the diff
    // every outcome needs.
    let big = stream(10_000);
    let mutated = mutate(&big, &Request::default(), &catalog, &config).object;
    let mut parts = c.benchmark_group("imagestream_10000_parts");
    parts.bench_function("reapply_unchanged", |b| {
        b.iter(|| mutate(black_box(&mutated), &Request::default(), &catalog, &config))
    });
    parts.sample_size(20);
    parts.bench_function("clone", |b| b.iter(|| black_box(&big).clone()));
    parts.bench_function("diff", |b| {
        b.iter(|| json_patch::diff(black_box(&big), &mutated))
    });
    parts.finish();
    reviews(c, &catalog, &config);
}

/// What the server does with a request body besides TLS and HTTP: decode the review, run
/// the engine, build the response and encode it, as `server::router` does.
fn reviews(c: &mut Criterion, catalog: &CatalogIndex, config: &RuleConfig) {
    let mut fixtures = recorded::reviews().expect("recorded reviews");
    // A 10,000-tag ImageStream as the API server sends it on UPDATE: object and oldObject
    // both with their status (every tag imported), the tags not yet scheduled.
    let big = stream(10_000);
    let update = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "b", "kind": {"group": "image.openshift.io", "version": "v1", "kind": "ImageStream"},
                    "resource": {"group": "image.openshift.io", "version": "v1", "resource": "imagestreams"},
                    "name": "app", "namespace": "shop", "operation": "UPDATE",
                    "userInfo": {"username": "alice"}, "object": big, "oldObject": big}});
    fixtures.push((
        "imagestream-10000-tags-update".into(),
        serde_json::to_vec(&update).unwrap(),
    ));
    let ctx = admission::Context {
        mode: Mode::Enforce,
        catalog,
        config,
    };
    let mut group = c.benchmark_group("review");
    group.sample_size(20);
    for (name, body) in &fixtures {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), body, |b, body| {
            b.iter(|| {
                let (response, _) = admission::review(black_box(body), &ctx).expect("a review");
                serde_json::to_vec(&response).expect("encodable")
            })
        });
    }
    group.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
