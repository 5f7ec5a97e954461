//! `scan KIND/NAME`: one object explained for a person, container by container along the
//! chain the webhook relies on: image -> stream tag (and how it was bound) ->
//! `importPolicy.scheduled` -> last import -> trigger -> pull policy; then what is missing
//! and the exact patch. Pure text from the stored object, the engine's outcome and the tag
//! table (the engine's scheduling decision); it must not call the API server or the engine.

use std::fmt::Write as _;

use serde_json::Value;

use super::chain::{self, ContainerView, TriggerView, Via};
use super::classify::Verdict;
use super::streams::{TagFacts, TagTable, read_tags};
use crate::config::RuleConfig;
use crate::engine::kind::Kind;
use crate::engine::view::Importability;
use crate::engine::{Outcome, annotations};
use crate::image_ref::ImageRef;

/// What explaining one object needs.
pub struct Subject<'a> {
    pub kind: Kind,
    pub kind_name: &'a str,
    pub stored: &'a Value,
    pub outcome: &'a Outcome,
    pub verdict: &'a Verdict,
    pub tags: &'a TagTable,
    pub rules: &'a RuleConfig,
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
    outcome_sections(subject.outcome, &mut out);
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
        let trigger = before
            .get(&container.name)
            .or_else(|| after.get(&container.name));
        let Some(trigger) = trigger else {
            line(out, "stream tag", &unbound(subject, &container));
            continue;
        };
        let how = binding(subject, &container, before.contains_key(&container.name));
        line(
            out,
            "stream tag",
            &format!(
                "{}/{}, bound by {how}",
                trigger.namespace, trigger.stream_tag
            ),
        );
        let facts = trigger.tag().and_then(|tag| subject.tags.get(&tag));
        line(out, "scheduled", &scheduled(facts));
        line(out, "last import", &last_import(facts));
        line(out, "trigger", &trigger_line(trigger, &before, &container));
        let now = mutated.iter().find(|c| c.name == container.name);
        line(out, "pull policy", &pull_policy(&container, now));
    }
}

fn line(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(out, "  {label:<12} {text}");
}

/// How a container came to follow its tag.
fn binding(subject: &Subject<'_>, container: &ContainerView, existing: bool) -> String {
    if existing {
        return "an existing trigger".into();
    }
    let explicit =
        annotations::get(subject.stored, annotations::IMAGE_STREAM_TAGS).is_some_and(|v| {
            v.split(',')
                .any(|e| e.trim().starts_with(&format!("{}=", container.name)))
        });
    if explicit {
        return format!("the {} annotation", annotations::IMAGE_STREAM_TAGS);
    }
    let image = container.image.as_deref().unwrap_or_default();
    match ImageRef::parse(image) {
        Ok(parsed)
            if subject
                .rules
                .internal_registry_hosts
                .contains(&parsed.registry) =>
        {
            "its internal-registry pull spec".into()
        }
        _ if !image.contains(['/', '@']) => "its short name (a stream of this namespace)".into(),
        _ => "its external reference, which the tag imports".into(),
    }
}

/// Why nothing binds, from the engine's findings on this container.
fn unbound(subject: &Subject<'_>, container: &ContainerView) -> String {
    let pointer = container.pointer(subject.kind);
    let reasons: Vec<String> = subject
        .outcome
        .findings
        .iter()
        .filter(|f| f.path.starts_with(&pointer))
        .map(|f| format!("{} ({})", f.message, f.code))
        .collect();
    match reasons.is_empty() {
        true => "none: no ImageStream tag matches this image".into(),
        false => format!("none: {}", reasons.join("; ")),
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
        Some(Importability::Importable { .. }) => {
            "no: importPolicy.scheduled is not set on the ImageStream tag".into()
        }
        Some(Importability::OwnRegistry(host)) => format!(
            "not needed: {source} is in the cluster's own registry ({host}), which pushes and builds feed"
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
    let containers: Vec<&str> = before
        .iter()
        .filter(|(_, t)| t.stream_tag == trigger.stream_tag && t.namespace == trigger.namespace)
        .map(|(name, _)| name.as_str())
        .collect();
    match before.contains_key(&container.name) {
        true => format!("{via}, {state}, containers {}", containers.join(", ")),
        false => format!("missing; the webhook would add {via} ({state})"),
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
        if !facts.scheduled && after.get(&name).is_some_and(|a| a.scheduled) {
            schedule.push_str("; the webhook would set it");
        }
        line(out, "scheduled", &schedule);
        line(out, "last import", &last_import(Some(facts)));
    }
}

/// Changes (what is missing), findings, and the patch.
fn outcome_sections(outcome: &Outcome, out: &mut String) {
    if !outcome.changes.is_empty() {
        out.push_str("\nmissing (the webhook would change this on the next apply):\n");
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
    if outcome.is_unchanged() {
        out.push_str("\npatch: none, the webhook would leave this object as it is\n");
    } else {
        let patch = serde_json::to_string_pretty(&outcome.patch).unwrap_or_default();
        let _ = writeln!(
            out,
            "\npatch (JSON Patch the webhook would apply):\n{patch}"
        );
    }
}
