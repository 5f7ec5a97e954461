//! Whether the scheduling rule would schedule one spec tag, and if not why: the one decision
//! the rule acts on ([`super::importable_source`]) and `scan` reports (`engine::view`). Pure
//! reads; findings are the caller's.

use serde_json::Value;

use super::budget;
use super::{Context, Scope, Stored, annotations};
use crate::config::RuleConfig;
use crate::image_ref::ImageRef;
use crate::pointer::items;

/// What the scheduling rule makes of one ImageStream spec tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Importability {
    /// An external `DockerImage` source the rule schedules (budget permitting): its
    /// `from.name` and normalised registry host.
    Importable { source: String, registry: String },
    /// No `DockerImage` source: images are pushed or built into it, or it follows another tag.
    NotExternal,
    /// `reference: true`: never imported.
    Reference,
    /// `from.name` is missing (reported `unreadable`).
    NoSource,
    /// `from.name` does not parse as an image reference (reported `unreadable`): the error.
    Unparsable(String),
    /// Pinned to a digest: nothing to re-import (reported `digest-pinned`).
    DigestPinned,
    /// The source is the cluster's own registry (service or route, configured or from the
    /// stream's status): the cluster feeds it, nothing is imported. The host.
    OwnRegistry(String),
    /// Left out by `--include-repository` / `--exclude-repository`: the repository.
    Filtered(String),
    /// Would be importable, but the tag opted out with `autoredeploy.io/skip`.
    OptedOut,
}

impl Importability {
    /// Whether the rule schedules the tag.
    pub fn is_importable(&self) -> bool {
        matches!(self, Importability::Importable { .. })
    }
}

/// The decision for one TagReference-like entry, in the rule's order; `internal_hosts` are
/// the cluster's own registry hosts for the stream.
pub(super) fn decide(
    entry: &Value,
    internal_hosts: &[String],
    config: &RuleConfig,
) -> Importability {
    let Some(from) = entry.get("from") else {
        return Importability::NotExternal;
    };
    if from.get("kind").and_then(Value::as_str) != Some(budget::DOCKER_IMAGE) {
        return Importability::NotExternal;
    }
    if entry.get("reference").and_then(Value::as_bool) == Some(true) {
        return Importability::Reference;
    }
    let Some(name) = from.get("name").and_then(Value::as_str) else {
        return Importability::NoSource;
    };
    let image = match ImageRef::parse(name) {
        Ok(image) => image,
        Err(error) => return Importability::Unparsable(error.to_string()),
    };
    if image.is_digest_pinned() {
        // A digest never changes; the controller drops it after the first import
        // (openshift/openshift-controller-manager#29).
        return Importability::DigestPinned;
    }
    // The cluster's own registry (service or route) is fed by the cluster, not imported.
    if internal_hosts.contains(&image.registry) {
        return Importability::OwnRegistry(image.registry);
    }
    let repository = image.repository();
    if !config.repositories.allows(&repository) {
        return Importability::Filtered(repository);
    }
    Importability::Importable {
        source: name.to_string(),
        registry: image.registry,
    }
}

/// Tag name -> decision for every named spec tag of an ImageStream, with the cluster's own
/// registry hosts the rule would use for it (configured, the stream's status, the catalog's
/// copy).
pub(in crate::engine) fn of_stream(
    stream: &Value,
    context: &Context<'_>,
) -> Vec<(String, Importability)> {
    let name = stream.pointer("/metadata/name").and_then(Value::as_str);
    let scope = Scope::new(context, name.map(str::to_string), stream, Stored::Nothing);
    items(stream, "/spec/tags")
        .filter_map(|entry| {
            let tag = entry.get("name").and_then(Value::as_str)?;
            let decision = match decide(entry, &scope.internal_hosts, context.config) {
                Importability::Importable { .. }
                    if annotations::skips(entry.get("annotations")) =>
                {
                    Importability::OptedOut
                }
                decision => decision,
            };
            Some((tag.to_string(), decision))
        })
        .collect()
}
