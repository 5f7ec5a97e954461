//! Test support shared by the unit tests, the integration tests, the benches and the fuzz
//! checks (compiled with `cfg(test)` or the `testing` feature, never into the shipped
//! binary): ImageStream builders, the invariants every engine outcome must hold, the
//! AdmissionReviews recorded from a real kube-apiserver, the API server's checks on a
//! response, a fake API server on loopback for the tests that talk to a cluster, a loopback
//! TLS client and a runner for the real `serve` binary. One copy of each, so a test states
//! only what it is about.

pub mod apiserver;
pub mod client;
pub mod fake_api;
pub mod fuzz;
pub mod invariants;
pub mod recorded;
pub mod server;
pub mod streams;

pub use apiserver::assert_accepted_by_apiserver;
pub use invariants::{checked, invariant_violation, owned_path};
pub use streams::{INTERNAL_REGISTRY, imported_stream, stream};

use serde_json::Value;

use crate::catalog::CatalogIndex;

/// The offline catalog of `objects` (the ImageStreams among them), as `mutate` builds it;
/// `default_namespace` is used for objects without one.
pub fn catalog<'a>(
    objects: impl IntoIterator<Item = &'a Value>,
    default_namespace: &str,
) -> CatalogIndex {
    CatalogIndex::from_objects(objects, default_namespace)
}

/// `depth` nested arrays: `[[[...]]]` (a body deeper than any JSON parser's recursion limit).
pub fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut body = vec![b'['; depth];
    body.extend(std::iter::repeat_n(b']', depth));
    body
}
