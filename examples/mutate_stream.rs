//! One `engine::mutate` call on an ImageStream of N `DockerImage` tags (default 10,000), the
//! same object as `benches/engine.rs`: a fixed workload whose instruction count
//! (`valgrind --tool=callgrind --toggle-collect='*engine::mutate*'`) compares two builds
//! exactly, where timings on a shared machine cannot. Prints the size of the outcome so the
//! call is not optimised away.

use autoredeploy::catalog::EmptyCatalog;
use autoredeploy::config::RuleConfig;
use autoredeploy::engine::{Input, mutate};
use autoredeploy::testing::imported_stream as stream;

fn main() {
    let tags = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let object = stream(tags);
    let outcome = mutate(
        &Input::create(&object),
        &EmptyCatalog,
        &RuleConfig::default(),
    );
    println!(
        "{tags} tags: {} changes, {} patch operations",
        outcome.changes.len(),
        outcome.patch.0.len()
    );
}
