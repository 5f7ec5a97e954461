//! One `engine::mutate` call on an ImageStream of N `DockerImage` tags (default 10,000), the
//! same object as `benches/engine.rs`: a fixed workload whose instruction count
//! (`valgrind --tool=callgrind --toggle-collect='*engine*mutate*'`) compares two builds
//! exactly, where timings on a shared machine cannot. Prints the size of the outcome so the
//! call is not optimised away.
//!
//! With `review` as the second argument it instead answers the benchmark's UPDATE
//! AdmissionReview of that stream once, as `review/imagestream-10000-tags-update` does, in
//! separate steps so a profile splits its cost: `decode`, `respond` (the engine and the
//! response, with the drop of the engine's outcome), `drop_request` (what is left of the
//! request, `oldObject` above all) and `encode`
//! (`valgrind --tool=callgrind --toggle-collect='*mutate_stream*'`, then
//! `callgrind_annotate --inclusive=yes`).

use autoredeploy::admission::{self, AdmissionRequest, ReviewResponse, Summary};
use autoredeploy::catalog::{CatalogIndex, EmptyCatalog};
use autoredeploy::config::{Mode, RuleConfig};
use autoredeploy::engine::{Request, mutate};
use autoredeploy::testing::imported_stream as stream;
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let tags = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    if args.next().as_deref() == Some("review") {
        return review(tags);
    }
    let object = stream(tags);
    let outcome = mutate(
        &object,
        &Request::default(),
        &EmptyCatalog,
        &RuleConfig::default(),
    );
    println!(
        "{tags} tags: {} changes, {} patch operations",
        outcome.changes.len(),
        outcome.patch.0.len()
    );
}

/// The bench's review, catalog and configuration (`benches/engine.rs`, `reviews`).
fn review(tags: usize) {
    let big = stream(tags);
    let update = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "b", "kind": {"group": "image.openshift.io", "version": "v1", "kind": "ImageStream"},
                    "resource": {"group": "image.openshift.io", "version": "v1", "resource": "imagestreams"},
                    "name": "app", "namespace": "shop", "operation": "UPDATE",
                    "userInfo": {"username": "alice"}, "object": big, "oldObject": big}});
    let body = serde_json::to_vec(&update).expect("encodable");
    drop(update);
    let config = RuleConfig::default();
    let catalog = CatalogIndex::from_objects([&stream(100)], "");
    let ctx = admission::Context {
        mode: Mode::Enforce,
        catalog: &catalog,
        config: &config,
    };
    let mut request = decode(&body);
    let (response, summary) = respond(&mut request, &ctx);
    drop_request(request);
    let encoded = encode(&response);
    println!(
        "{tags} tags: {:?}, {} changes, {} response bytes",
        summary.verdict,
        summary.changes.len(),
        encoded.len()
    );
}

#[inline(never)]
fn decode(body: &[u8]) -> AdmissionRequest {
    admission::decode(body).expect("a review")
}

#[inline(never)]
fn respond(
    request: &mut AdmissionRequest,
    ctx: &admission::Context<'_>,
) -> (ReviewResponse, Summary) {
    admission::respond(request, ctx)
}

#[inline(never)]
fn drop_request(request: AdmissionRequest) {
    drop(request);
}

#[inline(never)]
fn encode(response: &ReviewResponse) -> Vec<u8> {
    serde_json::to_vec(response).expect("encodable")
}
