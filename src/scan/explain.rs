//! `scan KIND/NAME`: one object explained for a person, container by container along the
//! chain the webhook relies on: image -> stream tag (and how it was bound) ->
//! `importPolicy.scheduled` -> last import -> trigger -> pull policy; then what is missing
//! and the exact patch. Pure text from the stored object, the engine's outcome (how it bound
//! each container, `Outcome::bindings`), the engine's reading of the triggers (`chain`) and
//! the tag table (the engine's scheduling decision); it must not call the API server or the
//! engine, nor guess a decision the engine made.

use std::fmt::Write as _;

use serde_json::Value;

use super::chain::{self, ContainerView, TriggerView, Via};
use super::classify::Verdict;
use super::streams::{NextApply, TagFacts, TagTable, read_tags};
use crate::config::{Disposition, Mode};
use crate::engine::kind::Kind;
use crate::engine::view::Importability;
use crate::engine::{BindingKind, ContainerBinding, Outcome, annotations};

/// What explaining one object needs.
pub struct Subject<'a> {
    pub kind: Kind,
    pub kind_name: &'a str,
    pub stored: &'a Value,
    pub outcome: &'a Outcome,
    /// The mode the object is in: audit writes no patch, only reports the would-be one.
    pub mode: Mode,
    pub verdict: &'a Verdict,
    pub tags: &'a TagTable,
}

/// The whole explanation, ending with a newline.
pub fn render(subject: &Subject<'_>) -> String {
    let mut out = String::new();
    let namespace = super::classify::namespace_of(subject.stored);
    let name = subject
        .stored
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let verdict = subject.verdict;
    let _ = write!(
        out,
        "{} {namespace}/{name}: {}",
        subject.kind_name,
        verdict.status.label()
    );
    if !verdict.detail.is_empty() {
        let _ = write!(out, " ({})", verdict.detail);
    }
    out.push('\n');
    match subject.kind {
        Kind::ImageStream => stream_tags(subject, &mut out),
        _ => containers(subject, namespace, &mut out),
    }
    outcome_sections(subject.outcome, subject.mode, &mut out);
    out
}

fn containers(subject: &Subject<'_>, namespace: &str, out: &mut String) {
    let before = chain::triggers(subject.kind, subject.stored, namespace);
    let after = chain::triggers(subject.kind, &subject.outcome.object, namespace);
    let mutated = chain::containers(subject.kind, &subject.outcome.object);
    let skipped = annotations::skipped_containers(subject.stored);
    for container in chain::containers(subject.kind, subject.stored) {
        let _ = writeln!(out, "\ncontainer {:?}", container.name);
        let image = container.image.as_deref().unwrap_or("(none)");
        line(out, "image", image);
        if skipped.contains(&container.name) {
            line(
                out,
                "opted out",
                &format!("listed in {}", annotations::SKIP_CONTAINERS),
            );
            continue;
        }
        // What the next apply leaves: the webhook's patch may retarget or pause a trigger.
        let stored = before.get(&container.name);
        let Some(trigger) = after.get(&container.name).or(stored) else {
            line(out, "stream tag", &unbound(subject, &container));
            continue;
        };
        let bound = engine_binding(subject, &container);
        let how = binding(bound, stored.is_some());
        let moved = match stored {
            Some(s)
                if (&s.namespace, &s.stream_tag) != (&trigger.namespace, &trigger.stream_tag) =>
            {
                format!(
                    " (the webhook would retarget its trigger, which follows {}/{} as stored)",
                    s.namespace, s.stream_tag
                )
            }
            _ => String::new(),
        };
        line(
            out,
            "stream tag",
            &format!(
                "{}/{}, bound by {how}{moved}",
                trigger.namespace, trigger.stream_tag
            ),
        );
        let facts = trigger.tag().and_then(|tag| subject.tags.get(&tag));
        line(out, "scheduled", &scheduled(facts));
        line(out, "last import", &last_import(facts));
        let repaired = bound.is_some_and(|b| b.kind == BindingKind::ExistingTrigger);
        line(
            out,
            "trigger",
            &trigger_line(trigger, &before, &container, repaired),
        );
        let now = mutated.iter().find(|c| c.name == container.name);
        line(out, "pull policy", &pull_policy(&container, now));
    }
}

fn line(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(out, "  {label:<12} {text}");
}

/// The engine's record of how it bound `container` (matched by its whole pointer).
fn engine_binding<'o>(
    subject: &Subject<'o>,
    container: &ContainerView,
) -> Option<&'o ContainerBinding> {
    let pointer = container.pointer(subject.kind);
    (subject.outcome.bindings.iter()).find(|b| b.pointer == pointer)
}

/// How a container came to follow its tag, as the engine bound it.
fn binding(binding: Option<&ContainerBinding>, existing: bool) -> String {
    match binding.map(|b| b.kind) {
        Some(BindingKind::Explicit) => format!("the {} annotation", annotations::IMAGE_STREAM_TAGS),
        Some(BindingKind::InternalRegistry) => "its internal-registry pull spec".into(),
        Some(BindingKind::ShortName) => "its short name (a stream of this namespace)".into(),
        Some(BindingKind::ResolvedShortName) => {
            "the short name its manifest wrote, which OpenShift's ImagePolicy admission resolved"
                .into()
        }
        Some(BindingKind::ExternalReference) => {
            "its external reference, which the tag imports".into()
        }
        Some(BindingKind::ExistingTrigger) if !existing => {
            "an existing trigger, which OpenShift's trigger controller cannot use until the webhook repairs it".into()
        }
        // An existing trigger, also on an object the engine leaves alone whole.
        _ => "an existing trigger".into(),
    }
}

/// Why nothing binds, from the engine's findings on this container.
fn unbound(subject: &Subject<'_>, container: &ContainerView) -> String {
    let pointer = container.pointer(subject.kind);
    let reasons: Vec<String> = subject
        .outcome
        .findings
        .iter()
        .filter(|f| f.concerns(&pointer))
        .map(|f| format!("{} ({})", f.message, f.code))
        .collect();
    if !reasons.is_empty() {
        return format!("none: {}", reasons.join("; "));
    }
    match engine_binding(subject, container).map(|b| b.kind) {
        Some(BindingKind::TriggersUnusable) => {
            "none: this object's image triggers cannot be used as they are (see the findings), so nothing is bound".into()
        }
        Some(BindingKind::NoImage) => "none: the container names no image to bind".into(),
        _ => "none: no ImageStream tag matches this image".into(),
    }
}

/// The schedule of a tag, and when it has none why, from the engine's scheduling decision.
fn scheduled(facts: Option<&TagFacts>) -> String {
    let Some(facts) = facts else {
        return "unknown: no listed ImageStream has this tag".into();
    };
    if facts.re_imported() {
        return "yes (importPolicy.scheduled: true, re-imported every 15 minutes)".into();
    }
    let source = facts.source.as_deref().unwrap_or_default();
    match &facts.importability {
        Some(Importability::Importable { .. }) => match &facts.next_apply {
            Some(NextApply::Polled) => {
                "polled: autoredeploy poll imports it when its digest changes (--polled-registry)"
                    .into()
            }
            Some(NextApply::Schedules) => {
                "not yet: the webhook schedules it on the ImageStream's next apply (scan --fix)"
                    .into()
            }
            Some(NextApply::OverBudget(why)) => format!("no: {why}"),
            None => "no: importPolicy.scheduled is not set on the ImageStream tag".into(),
        },
        Some(Importability::OwnRegistry(host)) => format!(
            "no: {source} is in the cluster's own registry ({host}), which pushes and builds feed; the webhook does not schedule it, so this tag moves only when re-imported"
        ),
        Some(Importability::Filtered(repository)) => format!(
            "no: {repository} is left out by --include-repository/--exclude-repository, so the webhook never schedules it"
        ),
        Some(Importability::OptedOut) => format!(
            "no: the tag opted out with {}, so the webhook never schedules it",
            annotations::SKIP
        ),
        Some(Importability::Reference | Importability::DigestPinned) => {
            format!("not possible: {source} is a reference or digest-pinned")
        }
        Some(Importability::NoSource | Importability::Unparsable(_)) => {
            format!("not possible: the source {source:?} is not an image reference")
        }
        Some(Importability::NotExternal) | None => match &facts.other_source {
            Some(other) => format!("not needed: the tag follows {other}"),
            None => "not needed: images are pushed or built into this tag".into(),
        },
    }
}

fn last_import(facts: Option<&TagFacts>) -> String {
    let Some(facts) = facts else {
        return "unknown".into();
    };
    let good = facts.last_import.as_ref().map(|last| {
        let when = last.created.as_deref().unwrap_or("(no time)");
        let image = last.image.as_deref().unwrap_or("(no digest)");
        format!("{when}, {image}")
    });
    match (&facts.failing, good) {
        (Some(message), Some(good)) => format!("failed: {message} (last good import {good})"),
        (Some(message), None) => format!("failed: {message}"),
        (None, Some(good)) => format!("succeeded {good}"),
        (None, None) => "never".into(),
    }
}

fn trigger_line(
    trigger: &TriggerView,
    before: &std::collections::BTreeMap<String, TriggerView>,
    container: &ContainerView,
    repaired: bool,
) -> String {
    let (via, state) = match trigger.via {
        Via::DeploymentConfig => (
            "spec.triggers ImageChange",
            format!("automatic: {}", trigger.automatic),
        ),
        Via::Annotation => (
            "image.openshift.io/triggers",
            format!("paused: {}", !trigger.automatic),
        ),
    };
    let stored = before.get(&container.name);
    // The containers the stored trigger names (its tag as stored).
    let named = stored.unwrap_or(trigger);
    let containers: Vec<&str> = before
        .iter()
        .filter(|(_, t)| t.stream_tag == named.stream_tag && t.namespace == named.namespace)
        .map(|(name, _)| name.as_str())
        .collect();
    let change = match stored.map(|s| (s.automatic, trigger.automatic)) {
        Some((true, false)) => "; the webhook would pause it",
        Some((false, true)) => "; the webhook would resume it",
        _ => "",
    };
    match (stored.is_some(), repaired) {
        (true, _) => format!(
            "{via}, {state}, containers {}{change}",
            containers.join(", ")
        ),
        (false, true) => format!(
            "unusable as stored (OpenShift's trigger controller fails it); the webhook would repair {via} ({state})"
        ),
        (false, false) => format!("missing; the webhook would add {via} ({state})"),
    }
}

fn pull_policy(stored: &ContainerView, mutated: Option<&ContainerView>) -> String {
    let now = stored.pull_policy.as_deref().unwrap_or("(unset)");
    match mutated.and_then(|c| c.pull_policy.as_deref()) {
        Some(after) if Some(after) != stored.pull_policy.as_deref() => {
            format!("{now}; the webhook would set {after}")
        }
        _ => now.to_string(),
    }
}

fn stream_tags(subject: &Subject<'_>, out: &mut String) {
    let after = read_tags(&subject.outcome.object);
    let namespace = super::classify::namespace_of(subject.stored);
    let stream = (subject.stored.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    for (name, facts) in subject.tags.of_stream(namespace, stream) {
        let _ = writeln!(out, "\ntag {name:?}");
        let source = match (&facts.source, &facts.other_source) {
            (Some(source), _) => format!("DockerImage {source}"),
            (_, Some(other)) => other.clone(),
            _ => "(pushed or built here)".into(),
        };
        line(out, "source", &source);
        let mut schedule = scheduled(Some(facts));
        let said = facts.next_apply == Some(NextApply::Schedules);
        if !said && !facts.scheduled && after.get(&name).is_some_and(|a| a.scheduled) {
            schedule.push_str("; the webhook would set it");
        }
        line(out, "scheduled", &schedule);
        line(out, "last import", &last_import(Some(facts)));
    }
}

/// Changes (what is missing), findings, and the patch, or in audit the would-be patch.
fn outcome_sections(outcome: &Outcome, mode: Mode, out: &mut String) {
    let disposition = mode.disposition(&outcome.patch);
    if !outcome.changes.is_empty() {
        out.push_str(match disposition {
            Disposition::Report(_) => {
                "\nmissing (audit: the webhook only reports this; enforce would change it):\n"
            }
            _ => "\nmissing (the webhook would change this on the next apply):\n",
        });
        for change in &outcome.changes {
            let _ = writeln!(out, "  {:<24} {}", change.code.as_str(), change.message);
        }
    }
    if !outcome.findings.is_empty() {
        out.push_str("\nfindings:\n");
        for finding in &outcome.findings {
            let _ = writeln!(out, "  {:<24} {}", finding.code.as_str(), finding.message);
        }
    }
    let pretty = |patch| serde_json::to_string_pretty(patch).unwrap_or_default();
    match disposition {
        Disposition::Unchanged => {
            out.push_str("\npatch: none, the webhook would leave this object as it is\n");
        }
        Disposition::Write(patch) => {
            let patch = pretty(patch);
            let _ = writeln!(
                out,
                "\npatch (JSON Patch the webhook would apply):\n{patch}"
            );
        }
        Disposition::Report(patch) => {
            let patch = pretty(patch);
            let _ = writeln!(
                out,
                "\npatch: none in audit; the would-be patch (JSON Patch enforce would apply):\n{patch}"
            );
        }
    }
}
