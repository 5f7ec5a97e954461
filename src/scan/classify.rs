//! One status per scanned object, from what the engine said about it (its patch, changes and
//! findings) and what the stored object and its streams show (triggers, schedules, import
//! results). Finding codes it does not know are reported as `needs attention` with their code,
//! so new engine rules show up without a change here. Pure; it must not call the engine.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::chain::{self, ContainerView, TriggerView, Via};
use super::streams::{NextApply, TagTable};
use crate::engine::catalog::TagRef;
use crate::engine::kind::Kind;
use crate::engine::view::Importability;
use crate::engine::{Code, Outcome, annotations};

/// What a scanned object does today, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The engine's patch is not empty: the webhook would change this object on re-apply.
    WouldChange,
    /// A finding the status list has no word for (its code is in the detail).
    NeedsAttention,
    /// An annotation trigger with `paused: true`.
    TriggerPaused,
    /// A DeploymentConfig `ImageChange` trigger with `automatic: false`.
    AutomaticFalse,
    /// The last import of a followed tag failed (`ImportSuccess` condition `False`).
    ImportFailing,
    /// A followed or owned external tag is not re-imported on a schedule.
    NotScheduled,
    /// An external image no ImageStream follows.
    NotTracked,
    /// `autoredeploy.io/skip: "true"` (annotation or label), or every container opted out.
    OptedOut,
    /// A controller (`ownerReferences`, `controller: true`) owns it, and it did not opt in.
    Owned,
    /// No webhook is called for it (`scan::scope`): never patched.
    OutOfScope,
    /// An ImageStream without external tags: nothing to re-import.
    NothingToImport,
    /// Every container follows a scheduled, healthy tag through an automatic trigger.
    AutoRedeploys,
}

impl Status {
    /// How the table writes it.
    pub fn label(self) -> &'static str {
        match self {
            Status::WouldChange => "would change",
            Status::NeedsAttention => "needs attention",
            Status::TriggerPaused => "trigger paused",
            Status::AutomaticFalse => "automatic: false",
            Status::ImportFailing => "import failing",
            Status::NotScheduled => "not scheduled",
            Status::NotTracked => "not tracked",
            Status::OptedOut => "opted out",
            Status::Owned => "owned",
            Status::OutOfScope => "out of scope",
            Status::NothingToImport => "nothing to import",
            Status::AutoRedeploys => "auto-redeploys",
        }
    }
}

/// A status and the one line that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub detail: String,
}

/// Problems found, each with the status it implies; the worst decides.
#[derive(Default)]
struct Problems(Vec<(Status, String)>);

impl Problems {
    fn add(&mut self, status: Status, detail: String) {
        self.0.push((status, detail));
    }

    fn verdict(self, otherwise: Verdict) -> Verdict {
        let Some(status) = self.0.iter().map(|(s, _)| *s).min() else {
            return otherwise;
        };
        let detail = self.0.into_iter().map(|(_, d)| d).collect::<Vec<_>>();
        Verdict {
            status,
            detail: detail.join("; "),
        }
    }
}

/// The codes of a non-empty patch, or `None` when the engine would change nothing.
fn would_change(outcome: &Outcome) -> Option<Verdict> {
    if outcome.is_unchanged() {
        return None;
    }
    let codes: BTreeSet<&str> = outcome.changes.iter().map(|c| c.code.as_str()).collect();
    Some(Verdict {
        status: Status::WouldChange,
        detail: codes.into_iter().collect::<Vec<_>>().join(", "),
    })
}

/// The whole object left alone by the engine: opted out by annotation or label, or owned.
fn left_alone(stored: &Value, outcome: &Outcome) -> Option<Verdict> {
    let annotation = annotations::pointer(annotations::SKIP);
    let label = annotations::label_pointer(annotations::SKIP);
    outcome.findings.iter().find_map(|f| match f.code {
        Code::OptedOut if f.path == annotation => Some(Verdict {
            status: Status::OptedOut,
            detail: format!("{}: \"true\"", annotations::SKIP),
        }),
        Code::OptedOut if f.path == label => Some(Verdict {
            status: Status::OptedOut,
            detail: format!("label {}=true", annotations::SKIP),
        }),
        Code::Owned => {
            let owner = annotations::controller_owner(stored);
            let owner = owner.map_or("a controller".into(), |o| format!("{} {}", o.kind, o.name));
            Some(Verdict {
                status: Status::Owned,
                detail: format!(
                    "owned by {owner}; opt in with {}: \"true\"",
                    annotations::MANAGE_OWNED
                ),
            })
        }
        _ => None,
    })
}

/// A workload (DeploymentConfig, Deployment, StatefulSet, DaemonSet, CronJob).
pub fn workload(kind: Kind, stored: &Value, outcome: &Outcome, tags: &TagTable) -> Verdict {
    if let Some(verdict) = would_change(outcome).or_else(|| left_alone(stored, outcome)) {
        return verdict;
    }
    let namespace = namespace_of(stored);
    let triggers = chain::triggers(kind, stored, namespace);
    let skipped = annotations::skipped_containers(stored);
    let containers = chain::containers(kind, stored);
    let mut problems = Problems::default();
    let mut following = 0;
    let mut explained = BTreeSet::new();
    for container in containers.iter().filter(|c| !skipped.contains(&c.name)) {
        match triggers.get(&container.name) {
            Some(trigger) => {
                following += usize::from(follow(container, trigger, tags, &mut problems));
            }
            None => {
                let pointer = container.pointer(kind);
                untriggered(container, &pointer, outcome, &mut problems, &mut explained);
            }
        }
    }
    unexplained_findings(outcome, &explained, &mut problems);
    let otherwise = match (following, containers.is_empty()) {
        (1.., _) => Verdict {
            status: Status::AutoRedeploys,
            detail: String::new(),
        },
        (0, true) => Verdict {
            status: Status::NeedsAttention,
            detail: "the pod template has no containers".into(),
        },
        (0, false) => Verdict {
            status: Status::OptedOut,
            detail: format!(
                "every container is listed in {}",
                annotations::SKIP_CONTAINERS
            ),
        },
    };
    problems.verdict(otherwise)
}

/// A container no trigger names: why, from the engine's findings at its path.
fn untriggered(
    container: &ContainerView,
    pointer: &str,
    outcome: &Outcome,
    problems: &mut Problems,
    explained: &mut BTreeSet<String>,
) {
    let name = &container.name;
    let mut related = 0;
    for finding in outcome.findings.iter().filter(|f| f.concerns(pointer)) {
        let (status, detail) = match finding.code {
            Code::UntrackedImage => (
                Status::NotTracked,
                format!("container {name:?}: {}", finding.message),
            ),
            code => (
                Status::NeedsAttention,
                format!("{code}: container {name:?}: {}", finding.message),
            ),
        };
        problems.add(status, detail);
        explained.insert(finding.path.clone());
        related += 1;
    }
    if related == 0 {
        problems.add(Status::NotTracked, no_trigger(container));
    }
}

/// Check one trigger and the tag it follows; true when the container redeploys by itself.
fn follow(
    container: &ContainerView,
    trigger: &TriggerView,
    tags: &TagTable,
    problems: &mut Problems,
) -> bool {
    let name = &container.name;
    let followed = &trigger.stream_tag;
    if !trigger.automatic {
        let (status, state) = match trigger.via {
            Via::DeploymentConfig => (Status::AutomaticFalse, "has automatic: false"),
            Via::Annotation => (Status::TriggerPaused, "is paused"),
        };
        let detail = format!("container {name:?}: trigger for {followed} {state}");
        problems.add(status, detail);
        return false;
    }
    let Some(tag) = trigger.tag() else {
        let detail = format!("container {name:?}: trigger source {followed:?} names no tag");
        problems.add(Status::NeedsAttention, detail);
        return false;
    };
    match tag_problem(&tag, tags) {
        Some((status, why)) => {
            let detail = match status {
                Status::ImportFailing => format!("{followed}: {why}"),
                _ => format!("container {name:?} follows {followed}, {why}"),
            };
            problems.add(status, detail);
            false
        }
        None => true,
    }
}

/// What keeps a followed tag from bringing new images, if anything.
fn tag_problem(tag: &TagRef, tags: &TagTable) -> Option<(Status, String)> {
    match tags.get(tag) {
        Some(facts) => match &facts.failing {
            Some(message) => Some((Status::ImportFailing, message.clone())),
            None if facts.importable() && !facts.scheduled => match &facts.next_apply {
                // Watched by `autoredeploy poll`: imported when its digest changes.
                Some(NextApply::Polled) => None,
                Some(NextApply::Schedules) => Some((
                    Status::NotScheduled,
                    "which is not re-imported on a schedule yet: the webhook schedules it on its ImageStream's next apply (scan --fix)".into(),
                )),
                Some(NextApply::OverBudget(why)) => Some((
                    Status::NotScheduled,
                    format!("which is not re-imported on a schedule: {why}"),
                )),
                None => Some((
                    Status::NotScheduled,
                    "which is not re-imported on a schedule".into(),
                )),
            },
            // The webhook never schedules it, so the workload redeploys only on a manual import.
            None => match &facts.importability {
                // A DockerImage source in the cluster's own registry: the webhook does not
                // schedule it, so the tag moves only when someone re-imports it (as
                // `scan --image` answers).
                Some(Importability::OwnRegistry(host)) if !facts.scheduled => Some((
                    Status::NotScheduled,
                    format!(
                        "which is not re-imported on a schedule: its source {} is in the cluster's own registry ({host}), which the webhook does not schedule; follow that ImageStream tag instead",
                        facts.source.as_deref().unwrap_or_default()
                    ),
                )),
                Some(Importability::Filtered(repository)) if !facts.scheduled => Some((
                    Status::NotScheduled,
                    format!(
                        "which is not re-imported on a schedule: {repository} is left out by the repository filters, so the webhook never schedules it"
                    ),
                )),
                _ => None,
            },
        },
        None if !tags.listed() => Some((
            Status::NeedsAttention,
            "but no ImageStream could be listed".into(),
        )),
        None if tags.covers(&tag.namespace) => Some((
            Status::NeedsAttention,
            format!("which no ImageStream in {} has", tag.namespace),
        )),
        // A stream outside the listed namespaces: nothing known against it.
        None => None,
    }
}

fn no_trigger(container: &ContainerView) -> String {
    match &container.image {
        Some(image) => format!("container {:?}: no trigger follows {image}", container.name),
        None => format!("container {:?} has no image", container.name),
    }
}

/// Findings not tied to a container: an unknown code needs attention; the ones the other
/// statuses already say are left out.
fn unexplained_findings(outcome: &Outcome, explained: &BTreeSet<String>, problems: &mut Problems) {
    for finding in &outcome.findings {
        if explained.contains(&finding.path) {
            continue;
        }
        match finding.code {
            Code::ManualTriggerKept | Code::OptedOut | Code::DigestPinned => {}
            _ => problems.add(
                Status::NeedsAttention,
                format!("{}: {}", finding.code, finding.message),
            ),
        }
    }
}

/// An ImageStream, its tags judged as `tags` records them (the engine's scheduling decision).
pub fn stream(stored: &Value, outcome: &Outcome, tags: &TagTable) -> Verdict {
    if let Some(verdict) = would_change(outcome).or_else(|| left_alone(stored, outcome)) {
        return verdict;
    }
    let mut problems = Problems::default();
    let (mut scheduled, mut filtered) = (0, 0);
    let polled = polled_tags(stored, outcome);
    let name = stored.pointer("/metadata/name").and_then(Value::as_str);
    for (name, facts) in tags.of_stream(namespace_of(stored), name.unwrap_or_default()) {
        if polled.contains(name.as_str()) && facts.failing.is_none() {
            // Watched by `autoredeploy poll`: imported when its digest changes.
            scheduled += 1;
        } else if let Some(message) = &facts.failing {
            problems.add(Status::ImportFailing, format!("tag {name:?}: {message}"));
        } else if facts.importable() && !facts.scheduled {
            problems.add(
                Status::NotScheduled,
                format!("tag {name:?} is not re-imported on a schedule"),
            );
        } else if facts.re_imported() {
            scheduled += 1;
        } else if matches!(facts.importability, Some(Importability::Filtered(_))) {
            filtered += 1;
        }
    }
    for finding in &outcome.findings {
        match finding.code {
            // An unpollable tag is scheduled within budget; over it, `pull-budget` says so.
            Code::OptedOut | Code::DigestPinned | Code::Polled | Code::Unpollable => {}
            _ => problems.add(
                Status::NeedsAttention,
                format!("{}: {}", finding.code, finding.message),
            ),
        }
    }
    let otherwise = match (scheduled, filtered) {
        (0, 0) => Verdict {
            status: Status::NothingToImport,
            detail: "no tag imports from an external registry".into(),
        },
        (0, filtered) => Verdict {
            status: Status::NothingToImport,
            detail: format!(
                "no tag the webhook schedules: {filtered} left out by the repository filters"
            ),
        },
        _ => Verdict {
            status: Status::AutoRedeploys,
            detail: match polled.len() {
                0 => String::new(),
                n => format!("{n} tag(s) polled by autoredeploy poll (manifest HEAD, no pulls)"),
            },
        },
    };
    problems.verdict(otherwise)
}

/// Names of the tags the engine left to the poller (finding `polled` at `/spec/tags/<i>`).
fn polled_tags(stored: &Value, outcome: &Outcome) -> BTreeSet<String> {
    (outcome.findings.iter())
        .filter(|f| f.code == Code::Polled)
        .filter_map(|f| {
            let index: usize = f.path.strip_prefix("/spec/tags/")?.parse().ok()?;
            let tag = stored.pointer("/spec/tags")?.get(index)?;
            Some(tag.get("name")?.as_str()?.to_string())
        })
        .collect()
}

pub fn namespace_of(object: &Value) -> &str {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
