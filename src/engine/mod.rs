//! The pure mutation engine (SPEC §1): one object as JSON in (plus the old one on UPDATE),
//! the mutated object, the changes and findings, and the JSON Patch out. No I/O, no async,
//! no clock, no environment; outside data (the ImageStream catalog) arrives as an argument.
//! Rules never look at the mode.

pub mod change;
pub mod image_ref;
pub mod kind;

pub use change::{Change, Code};

use serde_json::Value;

use crate::catalog::Catalog;
use crate::config::RuleConfig;

/// The admission operation the engine is asked about. Offline manifests are `Create`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
}

/// What the engine is given.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub object: &'a Value,
    /// The stored object, on UPDATE.
    pub old_object: Option<&'a Value>,
    pub operation: Operation,
    /// The request namespace, used when the object carries none (CREATE with generateName).
    pub namespace: Option<&'a str>,
    /// The requesting user (`request.userInfo.username`), to leave the trigger controller alone.
    pub username: Option<&'a str>,
}

impl<'a> Input<'a> {
    /// A CREATE of `object` by an unknown user: how offline manifests are seen.
    pub fn create(object: &'a Value) -> Self {
        Input {
            object,
            old_object: None,
            operation: Operation::Create,
            namespace: None,
            username: None,
        }
    }
}

/// What the engine returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The mutated object (equal to the input when nothing changed).
    pub object: Value,
    /// Changes made, in a stable order.
    pub changes: Vec<Change>,
    /// Findings that change nothing.
    pub findings: Vec<Change>,
    /// `json_patch::diff(input, mutated)`: applies to the input and gives `object`.
    pub patch: json_patch::Patch,
}

impl Outcome {
    pub fn is_unchanged(&self) -> bool {
        self.patch.0.is_empty()
    }
}

/// Apply every rule of SPEC §1 to one object.
pub fn mutate(input: &Input<'_>, catalog: &dyn Catalog, config: &RuleConfig) -> Outcome {
    // Placeholder until the rules land: nothing changes.
    let _ = (catalog, config);
    let object = input.object.clone();
    Outcome {
        patch: json_patch::diff(input.object, &object),
        object,
        changes: Vec::new(),
        findings: Vec::new(),
    }
}
