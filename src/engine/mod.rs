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
mod intent;
pub mod kind;
pub mod names;
mod ownership;
mod patch;
mod pull_policy;
mod rollout;
pub mod status;
mod triggers;
pub mod view;
mod workload;

#[cfg(test)]
mod test_support;

use crate::pointer::Pointer as _;
use change::Report;
pub use change::{BindingKind, Change, Code, ContainerBinding};
use kind::Kind;

use std::borrow::Cow;

use serde_json::Value;

use crate::config::RuleConfig;
use catalog::Catalog;

/// The admission operation the engine is asked about. Offline manifests are `Create`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Operation {
    #[default]
    Create,
    Update,
}

/// Everything the engine is told besides the object: how it reached the API server. The
/// default is how offline manifests are seen, a CREATE by an unknown user.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// The stored object, on UPDATE.
    pub old_object: Option<&'a Value>,
    pub operation: Operation,
    /// The request namespace, used when the object carries none (CREATE with generateName).
    pub namespace: Option<&'a str>,
    /// The requesting user (`request.userInfo.username`), to leave the trigger controller
    /// alone.
    pub username: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A re-apply of `stored` as it is: an UPDATE whose old object is itself, in its own
    /// namespace. What `scan` asks of every object in a cluster.
    pub fn reapply(stored: &'a Value) -> Self {
        Request {
            old_object: Some(stored),
            operation: Operation::Update,
            namespace: stored.at("/metadata/namespace").and_then(Value::as_str),
            username: None,
        }
    }

    /// An UPDATE replacing `stored`.
    pub fn update(stored: &'a Value) -> Self {
        Request {
            old_object: Some(stored),
            operation: Operation::Update,
            ..Request::default()
        }
    }
}

/// The object given to [`mutate`]: borrowed, when the caller keeps it (the outcome then holds
/// an edited copy), or owned, when the caller has no use for it afterwards (the admission
/// adapter's decoded object). An owned object is edited in place, and for the ImageStream
/// kinds without a diff walk either, since their rules record the patch as they edit: a
/// copy of a 10,000-tag ImageStream is ~200,000 fresh JSON nodes.
#[derive(Debug, Clone)]
pub struct Object<'a>(Cow<'a, Value>);

impl<'a> From<&'a Value> for Object<'a> {
    fn from(object: &'a Value) -> Self {
        Object(Cow::Borrowed(object))
    }
}

impl From<Value> for Object<'_> {
    fn from(object: Value) -> Self {
        Object(Cow::Owned(object))
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
    /// How each container of a workload was bound, in pod-spec order (containers, then init
    /// containers); empty for other kinds and for objects left alone whole.
    pub bindings: Vec<ContainerBinding>,
}

impl Outcome {
    pub fn is_unchanged(&self) -> bool {
        self.patch.0.is_empty()
    }
}

/// What every rule may read besides the object: where it lives and what is known.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    /// The object's namespace, else the request's, else `""` (offline).
    pub namespace: &'a str,
    pub catalog: &'a dyn Catalog,
    pub config: &'a RuleConfig,
    pub operation: Operation,
    pub old_object: Option<&'a Value>,
    /// The workload asks OpenShift's ImagePolicy to resolve every short name
    /// (`alpha.image.policy.openshift.io/resolve-names: "*"`), so short names bind to any
    /// stream of the namespace, as if it had `lookupPolicy.local`.
    pub resolve_names: bool,
    /// OpenShift's ImagePolicy admission resolves this object's short names (local lookup,
    /// `resolve-names`): true but in the namespaces kube-apiserver skips the plugin in
    /// ([`names::image_policy_skips`]), where a Deployment's `myapp` stays Docker Hub's.
    pub image_policy: bool,
}

/// Apply every rule to one object (docs/rules.md): the one entry to the engine.
pub fn mutate<'o>(
    object: impl Into<Object<'o>>,
    request: &Request<'_>,
    catalog: &dyn Catalog,
    config: &RuleConfig,
) -> Outcome {
    run(object.into(), request, catalog, config, PatchFrom::Rules)
}

/// [`mutate`] with every patch derived by diffing input and output, the ImageStream kinds'
/// too: the reference the recorded operations are tested against.
#[cfg(any(test, feature = "testing"))]
pub fn mutate_diffed(
    object: &Value,
    request: &Request<'_>,
    catalog: &dyn Catalog,
    config: &RuleConfig,
) -> Outcome {
    run(object.into(), request, catalog, config, PatchFrom::Diff)
}

/// Where the ImageStream kinds' patch comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PatchFrom {
    /// The operations the rules recorded while editing.
    Rules,
    /// `patch::derive` of input and output, as for workloads (tests only).
    #[cfg_attr(not(any(test, feature = "testing")), allow(dead_code))]
    Diff,
}

/// The rules on `object`, edited in place when it is owned, on a copy when it is borrowed
/// (the borrowed input is then the original the patch is taken from).
fn run(
    object: Object<'_>,
    request: &Request<'_>,
    catalog: &dyn Catalog,
    config: &RuleConfig,
    patch_from: PatchFrom,
) -> Outcome {
    let (mut object, original) = match object.0 {
        Cow::Borrowed(original) => (original.clone(), Some(original)),
        Cow::Owned(object) => (object, None),
    };
    let mut report = Report::default();
    let kind = if from_trigger_controller(request.username, config) {
        None
    } else {
        Kind::of(&object)
    };
    let Some(kind) = kind else {
        return Outcome {
            object,
            changes: Vec::new(),
            findings: Vec::new(),
            patch: json_patch::Patch(Vec::new()),
            bindings: Vec::new(),
        };
    };
    // A copy: the context outlives the rules' mutable borrows of the object.
    let namespace = namespace_of(&object, request.namespace).to_string();
    let context = Context {
        namespace: &namespace,
        catalog,
        config,
        operation: request.operation,
        old_object: request.old_object,
        resolve_names: false,
        image_policy: true,
    };
    let patch = if kind.is_image_stream_family() {
        stream_patch(
            kind,
            &mut object,
            original,
            &context,
            &mut report,
            patch_from,
        )
    } else {
        let copy;
        let original = match original {
            Some(original) => original,
            None => {
                copy = object.clone();
                &copy
            }
        };
        if !opted_out(&object, &mut report) {
            workload::apply(kind, &mut object, &context, &mut report);
        }
        patch::derive(original, &object, !report.changes.is_empty())
    };
    report.finish();
    Outcome {
        object,
        changes: report.changes,
        findings: report.findings,
        patch,
        bindings: report.bindings,
    }
}

/// Run the ImageStream rules on `object` in place; the patch is the operations they
/// recorded (`patch::Edits`), with no copy of the input and no diff walk. Debug builds keep
/// a copy and hold the record to the full `json_patch::diff`, so every debug test checks it.
fn stream_patch(
    kind: Kind,
    object: &mut Value,
    original: Option<&Value>,
    context: &Context<'_>,
    report: &mut Report,
    patch_from: PatchFrom,
) -> json_patch::Patch {
    let compare = cfg!(debug_assertions) || patch_from == PatchFrom::Diff;
    let copy = (compare && original.is_none()).then(|| object.clone());
    let original = original.filter(|_| compare).or(copy.as_ref());
    let mut edits = patch::Edits::default();
    if !opted_out(object, report) {
        imagestream::apply(kind, object, context, report, &mut edits);
    }
    let recorded = edits.into_patch();
    let Some(original) = original else {
        return recorded;
    };
    debug_assert_eq!(
        recorded,
        json_patch::diff(original, object),
        "the ImageStream rules recorded other operations than the diff"
    );
    match patch_from {
        PatchFrom::Rules => recorded,
        PatchFrom::Diff => patch::derive(original, object, !report.changes.is_empty()),
    }
}

/// Whether the whole object is left alone, reported as a finding: it opted out (the
/// `autoredeploy.io/skip` annotation or label), or a controller owns it and it did not opt
/// in. An owner reconciles its object's template back to what it wants, so a trigger, a
/// digest or a pull policy written on it would start a fight, each write a rollout.
fn opted_out(object: &Value, report: &mut Report) -> bool {
    if annotations::skips(object.at("/metadata/annotations")) {
        report.finding(
            Code::OptedOut,
            annotations::pointer(annotations::SKIP),
            format!("object opted out with {}", annotations::SKIP),
        );
        return true;
    }
    if annotations::skips_by_label(object) {
        report.finding(
            Code::OptedOut,
            annotations::label_pointer(annotations::SKIP),
            format!("object opted out with the label {}=true", annotations::SKIP),
        );
        return true;
    }
    match annotations::controller_owner(object) {
        Some(owner) if !annotations::manages_owned(object) => {
            report.finding(
                Code::Owned,
                owner.pointer(),
                format!(
                    "owned by {} {} (controller: true), which reconciles this object: left alone; annotate {}: \"true\" if that controller keeps autoredeploy's changes",
                    owner.kind,
                    owner.name,
                    annotations::MANAGE_OWNED
                ),
            );
            true
        }
        _ => false,
    }
}

/// The trigger controller writes resolved images with full updates; rewriting them would fight it
/// (its writes arrive as UPDATEs by
/// `system:serviceaccount:openshift-infra:image-trigger-controller`).
fn from_trigger_controller(username: Option<&str>, config: &RuleConfig) -> bool {
    let prefix = config.controller_user_prefix.as_str();
    !prefix.is_empty() && username.is_some_and(|u| u.starts_with(prefix))
}

fn namespace_of<'a>(object: &'a Value, request_namespace: Option<&'a str>) -> &'a str {
    object
        .at("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|ns| !ns.is_empty())
        .or(request_namespace)
        .unwrap_or("")
}
