//! Test support shared by the unit tests, the integration tests, the benches and the fuzz
//! checks (compiled with `cfg(test)` or the `testing` feature, never into the shipped
//! binary): ImageStream builders, the invariants every engine outcome must hold, and the
//! AdmissionReviews recorded from a real kube-apiserver. One copy of each, so a test states
//! only what it is about.

pub mod fuzz;
pub mod invariants;
pub mod recorded;
pub mod streams;

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
