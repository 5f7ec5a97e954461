//! autoredeploy: a mutating admission webhook that makes OpenShift workloads redeploy by
//! themselves when the external image they run changes. The engine is pure; the server, the
//! CLI and the catalog watch are thin adapters around it.
#![forbid(unsafe_code)]

pub mod admission; // AdmissionReview in, AdmissionReview out: the webhook's adapter to the engine
pub mod batch; // PURE: one driver judging a set of objects in order (mutate, scan), one report row
pub mod catalog; // ImageStream index (pure) and the cluster watch that feeds it
pub mod cli; // subcommands: serve, mutate, scan, certs
pub mod config; // typed Config, Mode and rule settings
pub mod engine; // PURE: the rules, per resource family
pub mod image_ref; // PURE: Docker image references, parsed and normalised (a leaf)
pub mod manifests; // multi-document YAML/JSON in and out, diffs
pub mod pointer; // PURE: JSON Pointer lookups that allocate nothing (a leaf)
pub mod poll; // the poller: manifest HEADs, change detection, ImageStreamImports
pub mod scan; // the engine over what a cluster holds: list, classify, explain, fix
pub mod server; // HTTPS router, TLS load and reload, admin port, shutdown
#[cfg(any(test, feature = "testing"))]
pub mod testing; // shared test support: builders, invariants, recorded reviews, fuzz checks
