//! Helpers for the engine's unit tests: run the engine and check the invariants every
//! outcome must hold (the patch reproduces the output; a second pass changes nothing).

use serde_json::Value;

use super::{Code, Input, Outcome, mutate};
use crate::catalog::{Catalog, CatalogIndex, EmptyCatalog};
use crate::config::RuleConfig;

/// Run `input` and assert the patch and idempotence invariants.
pub fn run_input(input: &Input<'_>, catalog: &dyn Catalog, config: &RuleConfig) -> Outcome {
    let outcome = mutate(input, catalog, config);
    let mut patched = input.object.clone();
    json_patch::patch(&mut patched, &outcome.patch).expect("patch applies to the input");
    assert_eq!(patched, outcome.object, "patch gives the mutated object");
    let again = mutate(
        &Input {
            object: &outcome.object,
            ..*input
        },
        catalog,
        config,
    );
    assert!(again.is_unchanged(), "second pass patch: {:?}", again.patch);
    assert!(
        again.changes.is_empty(),
        "second pass changes: {:?}",
        again.changes
    );
    outcome
}

/// A CREATE with the default configuration and no catalog.
pub fn run(object: &Value) -> Outcome {
    run_input(
        &Input::create(object),
        &EmptyCatalog,
        &RuleConfig::default(),
    )
}

/// A CREATE with a catalog built from `streams`.
pub fn run_with_streams(object: &Value, streams: &[Value]) -> Outcome {
    let catalog = CatalogIndex::from_objects(streams, "");
    run_input(&Input::create(object), &catalog, &RuleConfig::default())
}

/// The codes of the changes, in order.
pub fn change_codes(outcome: &Outcome) -> Vec<Code> {
    outcome.changes.iter().map(|c| c.code).collect()
}

/// The codes of the findings, in order.
pub fn finding_codes(outcome: &Outcome) -> Vec<Code> {
    outcome.findings.iter().map(|c| c.code).collect()
}
