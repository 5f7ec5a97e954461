//! The AdmissionReviews recorded from a real kube-apiserver, read the same way by the engine
//! bench (`benches/engine.rs`) and the load tool (`benches/load/payloads.rs`).

use std::io;
use std::path::{Path, PathBuf};

/// Directory of the recorded reviews, relative to the package root.
pub const FIXTURE_DIR: &str = "tests/fixtures/apiserver-1.36";

/// Every recorded review as `(file stem, raw bytes)`, sorted by name; an error names the
/// path it is about.
pub fn recorded_reviews() -> io::Result<Vec<(String, Vec<u8>)>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE_DIR);
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
