//! Shared test helpers: the recorded API-server fixtures and the checks the API server makes
//! on a webhook response (kube-apiserver `VerifyAdmissionResponse`), so every test holds responses to the
//! same bar as a real kube-apiserver.
#![allow(dead_code)] // each test crate uses a different subset

pub mod apiserver;
pub mod client;
pub mod server;

#[allow(unused_imports)] // engine-only test crates never check a response
pub use apiserver::assert_accepted_by_apiserver;

/// `depth` nested arrays: `[[[...]]]`.
pub fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut body = vec![b'['; depth];
    body.extend(std::iter::repeat_n(b']', depth));
    body
}
