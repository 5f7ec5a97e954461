//! The rules shared by every workload kind (DeploymentConfig and the four kinds OpenShift's
//! annotation trigger controller watches): read the existing triggers, keep them true to the
//! containers' images (docs/rules.md, "Triggers that stay true"), bind the uncovered containers to
//! tags, let the kind's trigger family add the triggers, then write the right image and fix the
//! pull policy of the containers an automatic trigger manages. It must not know how a kind stores
//! its triggers: it speaks to them through [`Triggers`].

use crate::pointer::Pointer;

use serde_json::Value;

use super::Context;
use super::annotations;
use super::binding::{self, Binding};
use super::change::{BindingKind, Code, Report};
use super::containers::{self, Container};
use super::family;
use super::image_ref::{ImageRef, same_image};
use super::intent::{self, Intent};
use super::kind::Kind;
use super::names;
use super::ownership::Ledger;
use super::pull_policy;
use super::rollout::{self, Managed};
use super::triggers::{Coverage, Covered, Existing, Triggers, Wanted};
use crate::engine::catalog::TagRef;

pub fn apply(kind: Kind, object: &mut Value, context: &Context<'_>, report: &mut Report) {
    let (Some(pod_spec), Some(triggers)) = (kind.pod_spec_pointer(), family::of(kind)) else {
        return;
    };
    let containers = containers::read(object.at(pod_spec));
    if containers.is_empty() {
        return;
    }
    // ImagePolicy resolves every short name of a workload that asks for it; offline, where
    // it does not run, the short-name rule reads them the same way. In the namespaces
    // kube-apiserver skips the plugin in, it resolves none of the kinds kube-apiserver serves;
    // openshift-apiserver still resolves a DeploymentConfig's.
    let image_policy =
        kind == Kind::DeploymentConfig || !names::image_policy_skips(context.namespace);
    let context = &Context {
        resolve_names: image_policy && intent::resolves_all_names(object, pod_spec),
        image_policy,
        ..*context
    };
    let intent = Intent::read(object, pod_spec);
    if let Some(name) = containers::duplicate_name(&containers) {
        // The API server rejects such a pod spec; binding by name would be ambiguous.
        report.finding(
            Code::Unreadable,
            pod_spec,
            format!("container name {name:?} is used twice; containers left alone"),
        );
        return;
    }
    // A trigger the controller cannot use blocks every trigger of the object: claim nothing.
    let mut ledger = Ledger::read(object, context, report);
    let Existing::Usable(existing) = triggers.existing(
        object,
        &containers,
        context.namespace,
        ledger.owned(),
        report,
    ) else {
        for container in &containers {
            let pointer = container.pointer(pod_spec);
            report.bound(
                pointer,
                &container.name,
                None,
                BindingKind::TriggersUnusable,
            );
        }
        return;
    };
    ledger.confirm(&existing);
    let skipped = annotations::skipped_containers(object);
    let explicit = annotations::explicit_bindings(object, context.namespace, report);
    let mut plan = Plan {
        pod_spec,
        wanted: Vec::new(),
        managed: Coverage::new(),
        ledger,
    };
    for container in &containers {
        let pointer = container.pointer(pod_spec);
        if skipped.contains(&container.name) {
            report.bound(pointer, &container.name, None, BindingKind::OptedOut);
            report.finding(
                Code::OptedOut,
                annotations::pointer(annotations::SKIP_CONTAINERS),
                format!(
                    "container {:?} opted out with {}",
                    container.name,
                    annotations::SKIP_CONTAINERS
                ),
            );
        } else if let Some(covered) = existing.get(&container.name) {
            let fit = Fitting {
                triggers,
                container,
                covered,
                explicit: explicit.get(&container.name),
            };
            plan.keep_true(object, &fit, context, report);
            // What it follows after the rules: a retargeted trigger follows its new tag.
            let followed =
                (plan.managed.get(&container.name)).map_or(&covered.tag, |managed| &managed.tag);
            let tag = Some(followed.clone()).filter(|t| !t.tag.is_empty());
            report.bound(pointer, &container.name, tag, BindingKind::ExistingTrigger);
        } else {
            let (tag, kind) = match explicit.get(&container.name) {
                Some(tag) => match explicit_tag(tag, triggers, context, report) {
                    Some(tag) => (Some(tag), BindingKind::Explicit),
                    None => (None, BindingKind::Refused(Code::UnknownTag)),
                },
                None => bind(container, pod_spec, &intent, context, report),
            };
            let written = tag
                .clone()
                .filter(|t| writable(t, container, pod_spec, report));
            let kind = match (&tag, &written) {
                (Some(_), None) => BindingKind::Refused(Code::InvalidName),
                _ => kind,
            };
            report.bound(pointer, &container.name, written.clone(), kind);
            if let Some(tag) = written {
                plan.wanted.push(Wanted { container, tag });
            }
        }
    }
    let added = triggers.ensure(object, &plan.wanted, context.namespace, report);
    for (name, covered) in added.iter().filter(|(_, c)| c.created) {
        plan.ledger.record(name, &covered.tag, false);
    }
    plan.managed
        .extend(added.into_iter().filter(|(_, c)| c.automatic));
    for container in &containers {
        if let Some(covered) = plan.managed.get(&container.name) {
            let managed = Managed {
                triggers,
                pod_spec,
                container,
                tag: &covered.tag,
            };
            manage(object, &managed, &intent, context, report);
        }
    }
    if !plan.managed.is_empty() {
        report_on_delete(kind, object, report);
    }
    plan.ledger.write(object, context.namespace, report);
}

/// What the rules decided for the containers.
struct Plan<'c> {
    pod_spec: &'c str,
    /// Uncovered containers to give a trigger.
    wanted: Vec<Wanted<'c>>,
    /// Containers an automatic trigger manages (after retargeting), by name.
    managed: Coverage,
    /// The triggers autoredeploy wrote itself, kept up to date as they change.
    ledger: Ledger,
}

/// One container with an existing trigger.
struct Fitting<'a> {
    triggers: &'a dyn Triggers,
    container: &'a Container,
    covered: &'a Covered,
    /// The container's explicit binding, if any.
    explicit: Option<&'a TagRef>,
}

impl Fitting<'_> {
    fn image(&self) -> &str {
        self.container.image.as_deref().unwrap_or("")
    }

    fn name(&self) -> &str {
        &self.container.name
    }

    /// The tag the container's image asks for: its explicit binding, else what it binds to.
    fn wanted(&self, context: &Context<'_>) -> Option<TagRef> {
        match self.explicit {
            Some(tag) => Some(tag.clone()),
            None => match binding::bind(self.image(), context) {
                Binding::Tag { tag, .. } => Some(tag),
                _ => None,
            },
        }
    }
}

impl Plan<'_> {
    /// A container's image is the user's latest word. An automatic trigger that
    /// follows another tag would write that tag's image back over it (observed on
    /// openshift-controller-manager: within milliseconds), so it is retargeted when it
    /// covers only this container; one autoredeploy wrote is paused when the image names no
    /// tracked tag; any other is reported. A trigger autoredeploy paused is resumed once the
    /// image names a tracked tag again.
    fn keep_true(
        &mut self,
        object: &mut Value,
        fit: &Fitting<'_>,
        context: &Context<'_>,
        report: &mut Report,
    ) {
        let covered = fit.covered;
        let owned = self.ledger.get(fit.name()).cloned();
        if !covered.automatic {
            if owned.is_some_and(|o| o.paused) {
                self.resume(object, fit, context, report);
            }
            return;
        }
        match fits(object, fit, context) {
            Fit::Follows => {
                self.manage(fit.name(), covered.clone());
                return;
            }
            Fit::OtherDigest => {
                if changed_by_request(fit.container, self.pod_spec, context) {
                    report.finding(
                        Code::EarlierDigest,
                        format!("{}/image", fit.container.pointer(self.pod_spec)),
                        format!(
                            "container {:?} runs a digest of {}'s repository that is not the tag's current image: OpenShift's trigger controller will write the current image over it; pause the trigger to keep this one",
                            fit.name(),
                            covered.tag.stream_tag()
                        ),
                    );
                }
                self.manage(fit.name(), covered.clone());
                return;
            }
            Fit::Stale => {}
        }
        let wanted = fit.wanted(context);
        if wanted.as_ref() == Some(&covered.tag) {
            // An explicit binding to the tag the trigger follows: the user's own choice.
            self.manage(fit.name(), covered.clone());
            return;
        }
        let retargeted = wanted.filter(|tag| {
            covered.sole
                && names::validate(tag).is_ok()
                && fit.triggers.retarget(
                    object,
                    fit.container,
                    tag,
                    resolves(tag, context),
                    context.namespace,
                    report,
                )
        });
        if let Some(tag) = retargeted {
            if owned.is_some() {
                self.ledger.record(fit.name(), &tag, false);
            }
            let covered = Covered {
                tag,
                ..covered.clone()
            };
            self.manage(fit.name(), covered);
            return;
        }
        // Lossless and reversible, and only for a trigger autoredeploy wrote.
        let paused = (owned.is_some() && covered.sole)
            .then(|| fit.triggers.set_paused(object, fit.container, true))
            .flatten();
        match paused {
            Some(path) => {
                report.change_for(
                    fit.name(),
                    Code::TriggerPaused,
                    path,
                    format!(
                        "paused the image trigger of container {:?} ({}), which autoredeploy wrote: it would have written that tag's image over the new one; it resumes when the image names a tracked tag again",
                        fit.name(),
                        covered.tag.stream_tag(),
                    ),
                );
                self.ledger.record(fit.name(), &covered.tag, true);
            }
            None => report.finding(
                Code::StaleTrigger,
                format!("{}/image", fit.container.pointer(self.pod_spec)),
                format!(
                    "container {:?} runs {:?}, but its automatic trigger follows {}: OpenShift's trigger controller will write that tag's image back; point the trigger at the image's tag or remove it",
                    fit.name(),
                    fit.image(),
                    covered.tag.stream_tag()
                ),
            ),
        }
    }

    /// Resume a trigger autoredeploy paused, once the container's image names its tag again
    /// (or another tracked tag, which it is retargeted to). A digest names no tag: the trigger
    /// stays paused.
    fn resume(
        &mut self,
        object: &mut Value,
        fit: &Fitting<'_>,
        context: &Context<'_>,
        report: &mut Report,
    ) {
        let covered = fit.covered;
        let to = if binding::is_unresolved_reference(fit.image(), &covered.tag, context) {
            Some(covered.tag.clone())
        } else {
            fit.wanted(context)
        };
        let Some(to) = to.filter(|t| covered.sole && names::validate(t).is_ok()) else {
            return;
        };
        if to != covered.tag
            && !fit.triggers.retarget(
                object,
                fit.container,
                &to,
                resolves(&to, context),
                context.namespace,
                report,
            )
        {
            return;
        }
        let Some(path) = fit.triggers.set_paused(object, fit.container, false) else {
            return;
        };
        report.change_for(
            fit.name(),
            Code::TriggerResumed,
            path,
            format!(
                "resumed the image trigger of container {:?}, which autoredeploy had paused: its image names {} again",
                fit.name(),
                to.stream_tag()
            ),
        );
        self.ledger.record(fit.name(), &to, false);
        let covered = Covered {
            tag: to,
            automatic: true,
            ..covered.clone()
        };
        self.manage(fit.name(), covered);
    }

    fn manage(&mut self, name: &str, covered: Covered) {
        self.managed.insert(name.to_string(), covered);
    }
}

/// How a container's image fits the automatic trigger that covers it.
enum Fit {
    /// What the trigger leaves or expects: an unresolved reference of its tag, the tag's
    /// current image (or its digest through another of the tag's repositories), the image
    /// the controller last wrote, a digest of the tag's own repository when the catalog does
    /// not know the current one, or any digest when nothing is known of the tag.
    Follows,
    /// Another digest of the tag's own repository than its current image (a rollback, or a
    /// digest not yet imported): the controller will write the current image over it.
    OtherDigest,
    /// Anything else: the controller would write the tag's image over the user's.
    Stale,
}

fn fits(object: &Value, fit: &Fitting<'_>, context: &Context<'_>) -> Fit {
    let (image, tag) = (fit.image(), &fit.covered.tag);
    if binding::is_unresolved_reference(image, tag, context) {
        return Fit::Follows;
    }
    let state = context
        .catalog
        .tag_state(&tag.namespace, &tag.stream, &tag.tag);
    let current = state.as_ref().and_then(|s| s.resolved.as_deref());
    let last = fit.triggers.last_triggered_image(object, fit.name());
    if current.is_some_and(|c| same_image(c, image)) || last.is_some_and(|l| same_image(l, image)) {
        return Fit::Follows;
    }
    let Some(digest) = ImageRef::parse(image)
        .ok()
        .filter(ImageRef::is_digest_pinned)
    else {
        return Fit::Stale;
    };
    // A digest follows a tag only in the tag's own repository: its source, what it resolves
    // to, what the controller last wrote, or the stream's repository in the cluster's
    // registry. Any other is another product the controller would swap out.
    let known: Vec<String> = [
        state.as_ref().and_then(|s| s.source.as_deref()),
        current,
        last,
    ]
    .into_iter()
    .flatten()
    .filter_map(|i| ImageRef::parse(i).ok())
    .map(|r| r.repository())
    .collect();
    let repository = digest.repository();
    let own =
        known.contains(&repository) || internal_repositories(tag, context).any(|r| r == repository);
    if !own {
        // Nothing known to compare with (no catalog): the digest may be the tag's.
        return if known.is_empty() {
            Fit::Follows
        } else {
            Fit::Stale
        };
    }
    let current_digest = current
        .and_then(|c| ImageRef::parse(c).ok())
        .and_then(|c| c.digest);
    match current_digest {
        Some(current) if Some(&current) != digest.digest.as_ref() => Fit::OtherDigest,
        _ => Fit::Follows,
    }
}

/// The stream's repositories in the cluster's own registry: `<host>/<namespace>/<stream>`.
fn internal_repositories<'a>(
    tag: &'a TagRef,
    context: &'a Context<'_>,
) -> impl Iterator<Item = String> + 'a {
    binding::registry_hosts(tag, context)
        .map(move |host| format!("{host}/{}/{}", tag.namespace, tag.stream))
}

/// Whether the catalog knows the tag's current image.
fn resolves(tag: &TagRef, context: &Context<'_>) -> bool {
    context
        .catalog
        .tag_state(&tag.namespace, &tag.stream, &tag.tag)
        .is_some_and(|s| s.resolved.is_some())
}

/// Whether this request set the container's image: a CREATE, or an UPDATE whose stored
/// object ran another one (an image the stored object already ran is not a new decision).
fn changed_by_request(container: &Container, pod_spec: &str, context: &Context<'_>) -> bool {
    let Some(old) = context
        .old_object
        .filter(|_| context.operation == super::Operation::Update)
    else {
        return true;
    };
    let old_containers = containers::read(old.at(pod_spec));
    containers::find(&old_containers, container.list, &container.name)
        .is_none_or(|old| old.image != container.image)
}

/// An explicit binding is the user's word, but a tag the catalog does not know is named in
/// a finding: an annotation trigger waits for it harmlessly, while on a DeploymentConfig it
/// would block every rollout, so there it is not written.
fn explicit_tag(
    tag: &TagRef,
    triggers: &dyn Triggers,
    context: &Context<'_>,
    report: &mut Report,
) -> Option<TagRef> {
    let known = context
        .catalog
        .tag_state(&tag.namespace, &tag.stream, &tag.tag)
        .is_some();
    if known {
        return Some(tag.clone());
    }
    let blocks = triggers.missing_tag_blocks();
    report.finding(
        Code::UnknownTag,
        annotations::pointer(annotations::IMAGE_STREAM_TAGS),
        format!(
            "{} names {}/{}, which no known ImageStream has; {}",
            annotations::IMAGE_STREAM_TAGS,
            tag.namespace,
            tag.stream_tag(),
            if blocks {
                "no trigger added, since a DeploymentConfig trigger on a missing tag blocks every rollout"
            } else {
                "the trigger will fire once it exists"
            }
        ),
    );
    (!blocks).then(|| tag.clone())
}

/// Never write a trigger OpenShift's validation rejects: it would fail the whole request.
fn writable(tag: &TagRef, container: &Container, pod_spec: &str, report: &mut Report) -> bool {
    match names::validate(tag) {
        Ok(()) => true,
        Err(error) => {
            report.finding(
                Code::InvalidName,
                format!("{}/image", container.pointer(pod_spec)),
                format!("no trigger for container {:?}: {error}", container.name),
            );
            false
        }
    }
}

/// What a container whose image an automatic trigger writes needs: the right image
/// (double rollout) and a pull policy that suits digests.
fn manage(
    object: &mut Value,
    managed: &Managed<'_>,
    intent: &Intent,
    context: &Context<'_>,
    report: &mut Report,
) {
    if context.config.avoid_double_rollout {
        rollout::avoid_double_rollout(object, managed, context, report);
    }
    pull_policy::ensure(
        object,
        managed.pod_spec,
        managed.container,
        intent,
        context.config,
        report,
    );
}

/// Catalog binding for one container and how it was made, reporting why an image stays
/// unbound. A short name the manifest gave it that ImagePolicy resolved binds as the short
/// name would.
fn bind(
    container: &Container,
    pod_spec: &str,
    intent: &Intent,
    context: &Context<'_>,
    report: &mut Report,
) -> (Option<TagRef>, BindingKind) {
    let Some(image) = container.image.as_deref() else {
        return (None, BindingKind::NoImage);
    };
    if context.image_policy
        && binding::may_be_resolved_by_image_policy(image, context)
        && let Some(tag) = intent
            .image(container)
            .and_then(|written| binding::resolved_by_image_policy(image, &written, context))
    {
        return (Some(tag), BindingKind::ResolvedShortName);
    }
    let path = format!("{}/image", container.pointer(pod_spec));
    match binding::bind(image, context) {
        Binding::Tag { tag, others, via } => {
            if !others.is_empty() {
                let others: Vec<String> = others.iter().map(TagRef::stream_tag).collect();
                report.finding(
                    Code::SeveralTags,
                    path,
                    format!(
                        "{image} is imported by {} and also by {}; container {:?} follows the first",
                        tag.stream_tag(),
                        others.join(", "),
                        container.name
                    ),
                );
            }
            let kind = match via {
                binding::Via::InternalRegistry => BindingKind::InternalRegistry,
                binding::Via::ShortName => BindingKind::ShortName,
                binding::Via::ExternalReference => BindingKind::ExternalReference,
            };
            (Some(tag), kind)
        }
        Binding::DigestPinned => {
            report.finding(
                Code::DigestPinned,
                path,
                format!(
                    "container {:?} runs a digest-pinned image; no trigger added",
                    container.name
                ),
            );
            (None, BindingKind::DigestPinned)
        }
        Binding::Untracked(image) => {
            report.finding(
                Code::UntrackedImage,
                path,
                binding::untracked_advice(&image, context),
            );
            (None, BindingKind::Untracked)
        }
        Binding::Refused { code, message } => {
            report.finding(code, path, message);
            (None, BindingKind::Refused(code))
        }
        Binding::Nothing => (None, BindingKind::NoImage),
    }
}

/// StatefulSets and DaemonSets with `updateStrategy: OnDelete` get the new image in their
/// template, but pods keep the old one until deleted (Kubernetes' StatefulSet and DaemonSet
/// update strategies).
fn report_on_delete(kind: Kind, object: &Value, report: &mut Report) {
    if !matches!(kind, Kind::StatefulSet | Kind::DaemonSet) {
        return;
    }
    let strategy = object
        .at("/spec/updateStrategy/type")
        .and_then(Value::as_str);
    if strategy == Some("OnDelete") {
        report.finding(
            Code::OnDeleteStrategy,
            "/spec/updateStrategy/type",
            "updateStrategy is OnDelete: a new image reaches the template, but pods keep the old one until they are deleted",
        );
    }
}
