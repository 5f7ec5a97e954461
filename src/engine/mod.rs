//! The pure mutation engine (docs/rules.md): one object as JSON in (plus the old one on UPDATE),
//! the mutated object, the changes and findings, and the JSON Patch out. No I/O, no async,
//! no clock, no environment; outside data (the ImageStream catalog) arrives as an argument.
//! Rules never look at the mode.

mod annotation_entries;
mod annotation_triggers;
pub mod annotations;
mod binding;
pub mod budget;
pub mod catalog;
pub mod change;
mod containers;
mod deploymentconfig;
mod family;
pub mod fields;
pub use crate::image_ref;
mod imagestream;
pub mod kind;
pub mod names;
mod patch;
mod pull_policy;
mod rollout;
pub mod status;
mod triggers;
mod workload;

#[cfg(test)]
mod test_support;

use change::Report;
pub use change::{Change, Code};
use kind::Kind;

use serde_json::Value;

use crate::config::RuleConfig;
use catalog::Catalog;

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

/// What every rule may read besides the object: where it lives and what is known.
pub(crate) struct Context<'a> {
    /// The object's namespace, else the request's, else `""` (offline).
    pub namespace: &'a str,
    pub catalog: &'a dyn Catalog,
    pub config: &'a RuleConfig,
    pub operation: Operation,
    pub old_object: Option<&'a Value>,
}

/// Apply every rule to one object.
pub fn mutate(input: &Input<'_>, catalog: &dyn Catalog, config: &RuleConfig) -> Outcome {
    let mut object = input.object.clone();
    let mut report = Report::default();
    if !from_trigger_controller(input, config)
        && let Some(kind) = Kind::of(input.object)
    {
        let context = Context {
            namespace: namespace_of(input),
            catalog,
            config,
            operation: input.operation,
            old_object: input.old_object,
        };
        apply(kind, &mut object, &context, &mut report);
    }
    Outcome {
        patch: patch::derive(input.object, &object, !report.changes.is_empty()),
        object,
        changes: report.changes,
        findings: report.findings,
    }
}

fn apply(kind: Kind, object: &mut Value, context: &Context<'_>, report: &mut Report) {
    if annotations::skips(object.pointer("/metadata/annotations")) {
        report.finding(
            Code::OptedOut,
            annotations::pointer(annotations::SKIP),
            format!("object opted out with {}", annotations::SKIP),
        );
        return;
    }
    match kind {
        Kind::ImageStream | Kind::ImageStreamTag | Kind::ImageStreamImport | Kind::ImageTag => {
            imagestream::apply(kind, object, context, report)
        }
        _ => workload::apply(kind, object, context, report),
    }
}

/// The trigger controller writes resolved images with full updates; rewriting them would
/// fight it (its writes arrive as UPDATEs by `system:serviceaccount:openshift-infra:image-trigger-controller`).
fn from_trigger_controller(input: &Input<'_>, config: &RuleConfig) -> bool {
    let prefix = config.controller_user_prefix.as_str();
    !prefix.is_empty() && input.username.is_some_and(|u| u.starts_with(prefix))
}

fn namespace_of<'a>(input: &Input<'a>) -> &'a str {
    input
        .object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|ns| !ns.is_empty())
        .or(input.namespace)
        .unwrap_or("")
}
