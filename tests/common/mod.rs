//! Shared test helpers: the recorded API-server fixtures and the checks the API server makes
//! on a webhook response (admission-mechanics §1.4), so every test holds responses to the
//! same bar as a real kube-apiserver.
#![allow(dead_code)] // each test crate uses a different subset

pub mod apiserver;
pub mod client;
pub mod server;

use std::path::PathBuf;

use autoredeploy::engine::{Input, Operation};
use serde_json::Value;

#[allow(unused_imports)] // engine-only test crates never check a response
pub use apiserver::assert_accepted_by_apiserver;

/// Directory of the AdmissionReviews recorded from kube-apiserver 1.36.
pub const FIXTURE_DIR: &str = "tests/fixtures/apiserver-1.36";

/// Every recorded fixture as `(file name, raw bytes)`, sorted by name.
pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(FIXTURE_DIR);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("fixture"))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

/// One fixture parsed as JSON.
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURE_DIR)
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("fixture json")
}

/// The engine's input for a recorded `request`, read straight from its JSON (no admission
/// decoding).
pub fn engine_input(request: &Value) -> Input<'_> {
    let operation = match request["operation"].as_str() {
        Some("UPDATE") => Operation::Update,
        _ => Operation::Create,
    };
    Input {
        object: &request["object"],
        old_object: request.get("oldObject").filter(|o| !o.is_null()),
        operation,
        namespace: request["namespace"].as_str(),
        username: request
            .pointer("/userInfo/username")
            .and_then(Value::as_str),
    }
}

/// `depth` nested arrays: `[[[...]]]`.
pub fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut body = vec![b'['; depth];
    body.extend(std::iter::repeat_n(b']', depth));
    body
}
