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
