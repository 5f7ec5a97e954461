//! The rules shared by every workload kind (DeploymentConfig and the four kinds OpenShift's
//! annotation trigger controller watches): bind each container to a tag, let the kind's
//! module add the triggers, then avoid the double rollout and fix the pull policy of the
//! containers a trigger now manages. It must not know how a kind stores its triggers.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Context;
use super::annotations;
use super::binding::{self, Binding};
use super::change::{Code, Report};
use super::containers::{self, Container};
use super::kind::Kind;
use super::{annotation_triggers, deploymentconfig, pull_policy, rollout};
use crate::catalog::TagRef;

/// The trigger that manages a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covered {
    pub tag: TagRef,
    /// `automatic: true` (DC) or not `paused` (annotation): the controller writes the image.
    pub automatic: bool,
}

/// Container name -> the trigger that names it.
pub type Coverage = BTreeMap<String, Covered>;

/// A container to give a new trigger.
pub struct Wanted<'a> {
    pub container: &'a Container,
    pub tag: TagRef,
}

pub fn apply(kind: Kind, object: &mut Value, context: &Context<'_>, report: &mut Report) {
    let Some(pod_spec) = kind.pod_spec_pointer() else {
        return;
    };
    let containers = containers::read(object.pointer(pod_spec));
    if containers.is_empty() {
        return;
    }
    if let Some(name) = containers::duplicate_name(&containers) {
        // The API server rejects such a pod spec; binding by name would be ambiguous.
        report.finding(
            Code::Unreadable,
            pod_spec,
            format!("container name {name:?} is used twice; containers left alone"),
        );
        return;
    }
    let Some(existing) = existing_coverage(kind, object, &containers, context, report) else {
        return;
    };
    let skipped = annotations::skipped_containers(object);
    let wanted = wanted_triggers(
        object,
        pod_spec,
        &containers,
        &existing,
        &skipped,
        context,
        report,
    );
    let added = match kind {
        Kind::DeploymentConfig => {
            deploymentconfig::ensure_triggers(object, &wanted, context.namespace, report)
        }
        _ => annotation_triggers::ensure(object, kind, &wanted, context.namespace, report),
    };
    for container in containers.iter().filter(|c| !skipped.contains(&c.name)) {
        let covered = existing
            .get(&container.name)
            .or_else(|| added.get(&container.name));
        if let Some(covered) = covered.filter(|c| c.automatic) {
            manage(object, kind, pod_spec, container, covered, context, report);
        }
    }
}

/// The triggers already there, or `None` when they cannot be read (rewriting an annotation
/// we cannot read would lose the user's triggers).
fn existing_coverage(
    kind: Kind,
    object: &Value,
    containers: &[Container],
    context: &Context<'_>,
    report: &mut Report,
) -> Option<Coverage> {
    match kind {
        Kind::DeploymentConfig => Some(deploymentconfig::coverage(
            object,
            context.namespace,
            report,
        )),
        _ => match annotation_triggers::coverage(object, kind, containers, context.namespace) {
            Ok(coverage) => Some(coverage),
            Err(why) => {
                report.finding(Code::Unreadable, annotation_triggers::pointer(), why);
                None
            }
        },
    }
}

/// The containers no trigger names yet, each with the tag it binds to (explicit annotation
/// first, then the catalog); opted-out containers are reported and left out.
fn wanted_triggers<'c>(
    object: &Value,
    pod_spec: &str,
    containers: &'c [Container],
    existing: &Coverage,
    skipped: &BTreeSet<String>,
    context: &Context<'_>,
    report: &mut Report,
) -> Vec<Wanted<'c>> {
    let explicit = annotations::explicit_bindings(object, context.namespace, report);
    let mut wanted = Vec::new();
    for container in containers {
        if skipped.contains(&container.name) {
            report.finding(
                Code::OptedOut,
                annotations::pointer(annotations::SKIP_CONTAINERS),
                format!(
                    "container {:?} opted out with {}",
                    container.name,
                    annotations::SKIP_CONTAINERS
                ),
            );
        } else if !existing.contains_key(&container.name) {
            let explicit = explicit.get(&container.name).cloned();
            if let Some(tag) = explicit.or_else(|| bind(container, pod_spec, context, report)) {
                wanted.push(Wanted { container, tag });
            }
        }
    }
    wanted
}

/// What a container whose image an automatic trigger writes needs: its running or resolved
/// image kept (double rollout) and a pull policy that suits digests.
fn manage(
    object: &mut Value,
    kind: Kind,
    pod_spec: &str,
    container: &Container,
    covered: &Covered,
    context: &Context<'_>,
    report: &mut Report,
) {
    if context.config.avoid_double_rollout {
        rollout::avoid_double_rollout(
            object,
            kind,
            pod_spec,
            container,
            &covered.tag,
            context,
            report,
        );
    }
    pull_policy::ensure(object, pod_spec, container, context.config, report);
}

/// Catalog binding for one container, reporting why an image stays unbound.
fn bind(
    container: &Container,
    pod_spec: &str,
    context: &Context<'_>,
    report: &mut Report,
) -> Option<TagRef> {
    let image = container.image.as_deref()?;
    let path = format!("{}/image", container.pointer(pod_spec));
    match binding::bind(image, context) {
        Binding::Tag(tag) => Some(tag),
        Binding::DigestPinned => {
            report.finding(
                Code::DigestPinned,
                path,
                format!(
                    "container {:?} runs a digest-pinned image; no trigger added",
                    container.name
                ),
            );
            None
        }
        Binding::Untracked(image) => {
            report.finding(
                Code::UntrackedImage,
                path,
                format!(
                    "no ImageStream tracks {image}; run: {}",
                    binding::import_hint(&image)
                ),
            );
            None
        }
        Binding::Nothing => None,
    }
}
