//! The AdmissionReviews recorded byte for byte from a real kube-apiserver
//! (`tests/fixtures/apiserver-1.36`), read for tests and benches, and the engine input a
//! recorded `request` stands for.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::engine::{Operation, Request};

/// Directory of the recorded reviews, relative to the package.
pub const FIXTURE_DIR: &str = "tests/fixtures/apiserver-1.36";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(FIXTURE_DIR)
}

/// Every recorded review as `(file name, raw bytes)`, sorted by name (for tests: panics
/// when the directory cannot be read or is empty).
pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let out = reviews().unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.is_empty(), "no recorded reviews in {FIXTURE_DIR}");
    out.into_iter()
        .map(|(stem, bytes)| (format!("{stem}.json"), bytes))
        .collect()
}

/// Every recorded review as `(file stem, raw bytes)`, sorted by name; an error names the
/// path it is about (for benches, which report rather than panic).
pub fn reviews() -> io::Result<Vec<(String, Vec<u8>)>> {
    let dir = dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| located(&dir, e))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            let bytes = std::fs::read(path).map_err(|e| located(path, e))?;
            Ok((name.into_owned(), bytes))
        })
        .collect()
}

fn located(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// One recorded review parsed as JSON.
pub fn fixture(name: &str) -> Value {
    let bytes = std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The object and engine request a recorded `request` stands for.
pub fn engine_input(request: &Value) -> (&Value, Request<'_>) {
    let operation = match request["operation"].as_str() {
        Some("UPDATE") => Operation::Update,
        _ => Operation::Create,
    };
    let engine_request = Request {
        old_object: request.get("oldObject").filter(|o| !o.is_null()),
        operation,
        namespace: request["namespace"].as_str(),
        username: request
            .pointer("/userInfo/username")
            .and_then(Value::as_str),
    };
    (&request["object"], engine_request)
}

/// `myapp:latest`'s image when the ImagePolicy reviews were recorded, before the second push
/// (`tests/fixtures/apiserver-1.36/README.md`).
pub const MYAPP_FIRST: &str =
    "quay.io/acme/myapp@sha256:a5d9b2b6e314d6d3e0c8b2879854d1937ac816dd4fa5fd7da7c1c180478da294";
/// `myapp:latest`'s image after the second push.
pub const MYAPP_SECOND: &str =
    "quay.io/acme/myapp@sha256:b80c7aca61661650b63f2e0b39f74e349b14f59e21eba68c7f1671689894b645";
/// `tools:latest`'s image.
pub const TOOLS: &str =
    "quay.io/acme/tools@sha256:a87f341b3eedac336bd6e97f0a604b214ab763391876855cd0e9e961ccb0046b";
/// `nginx:latest`'s image (the README gives only its start; the reviews never carry it).
pub const NGINX: &str = "docker.io/library/nginx@sha256:1c2d0000000000000000000000000000000000000000000000000000000000aa";

/// The streams of namespace `shop` as they stood when the ImagePolicy reviews were recorded
/// (`tests/fixtures/apiserver-1.36/README.md`), with `myapp:latest` at `myapp` (one of
/// [`MYAPP_FIRST`], [`MYAPP_SECOND`]).
pub fn image_policy_streams(myapp: &str) -> Vec<Value> {
    use crate::testing::streams::stream;
    vec![
        stream("shop", "myapp")
            .lookup_local()
            .tag("latest", "quay.io/acme/myapp:latest")
            .resolved("latest", myapp)
            .build(),
        stream("shop", "nginx")
            .tag("latest", "docker.io/library/nginx:latest")
            .resolved("latest", NGINX)
            .build(),
        stream("shop", "tools")
            .tag("latest", "quay.io/acme/tools:latest")
            .resolved("latest", TOOLS)
            .build(),
        stream("shop", "later")
            .lookup_local()
            .tag("latest", "quay.io/acme/later:latest")
            .build(),
    ]
}
