//! Helpers for the engine's unit tests: run the engine and check the invariants every
//! outcome must hold (the patch reproduces the output; a second pass changes nothing).

use serde_json::Value;

use super::{Code, Outcome, Request};
use crate::config::RuleConfig;
use crate::engine::catalog::{Catalog, EmptyCatalog};
use crate::testing;

/// Run `object` as `request` has it and assert every outcome invariant
/// (`crate::testing::invariants`).
pub fn run_input(
    object: &Value,
    request: &Request<'_>,
    catalog: &dyn Catalog,
    config: &RuleConfig,
) -> Outcome {
    crate::testing::checked(object, request, catalog, config)
}

/// A CREATE with the default configuration and no catalog.
pub fn run(object: &Value) -> Outcome {
    run_input(
        object,
        &Request::default(),
        &EmptyCatalog,
        &RuleConfig::default(),
    )
}

/// A CREATE with a catalog built from `streams`.
pub fn run_with_streams(object: &Value, streams: &[Value]) -> Outcome {
    let catalog = testing::catalog(streams, "");
    run_input(
        object,
        &Request::default(),
        &catalog,
        &RuleConfig::default(),
    )
}

/// The codes of the changes, in order.
pub fn change_codes(outcome: &Outcome) -> Vec<Code> {
    outcome.changes.iter().map(|c| c.code).collect()
}

/// The codes of the findings, in order.
pub fn finding_codes(outcome: &Outcome) -> Vec<Code> {
    outcome.findings.iter().map(|c| c.code).collect()
}
