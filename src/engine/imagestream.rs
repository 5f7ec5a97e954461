//! Scheduled import on ImageStream tags (SPEC §1.1) and on the side doors that bypass an
//! `imagestreams` webhook: `ImageStreamTag.tag` (`oc tag`), `ImageStreamImport.spec`
//! (`oc import-image`) and `ImageTag.spec` (openshift-semantics §1.6). Owns
//! `importPolicy.scheduled` and `importPolicy.importMode`; it must not touch any other field.

use serde_json::{Map, Value};

use super::annotations;
use super::change::{Code, Report};
use super::image_ref::ImageRef;
use super::kind::Kind;
use crate::config::RuleConfig;

/// The only `from.kind` the import controller imports (`tagImportable`, §1.2); setting
/// `scheduled` on `ImageStreamTag`/`ImageStreamImage` sources is a validation error.
const DOCKER_IMAGE: &str = "DockerImage";
/// Keeps every platform of a manifest list (multi-arch images).
const PRESERVE_ORIGINAL: &str = "PreserveOriginal";

/// One TagReference-like entry to check.
struct Site<'a> {
    /// JSON pointer of the entry.
    path: String,
    /// How messages name it (`tag "latest"`).
    label: String,
    entry: &'a mut Value,
}

pub fn apply(kind: Kind, object: &mut Value, config: &RuleConfig, report: &mut Report) {
    match kind {
        Kind::ImageStream => image_stream(object, config, report),
        Kind::ImageStreamTag => single_tag(object, "tag", config, report),
        Kind::ImageTag => single_tag(object, "spec", config, report),
        Kind::ImageStreamImport => image_stream_import(object, config, report),
        _ => {}
    }
}

/// An object holding one TagReference under `member` and named `stream:tag`.
fn single_tag(object: &mut Value, member: &str, config: &RuleConfig, report: &mut Report) {
    let label = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map_or_else(|| "tag".to_string(), |n| format!("tag {n:?}"));
    if let Some(entry) = object.get_mut(member) {
        let site = Site {
            path: format!("/{member}"),
            label,
            entry,
        };
        ensure_scheduled(site, config, report);
    }
}

fn image_stream(object: &mut Value, config: &RuleConfig, report: &mut Report) {
    let has_tags = object
        .pointer("/spec/tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| !tags.is_empty());
    let repository = object
        .pointer("/spec/dockerImageRepository")
        .and_then(Value::as_str)
        .filter(|r| !r.trim().is_empty());
    if let (false, Some(repository)) = (has_tags, repository) {
        // The one-off bulk import of a bare repository is never scheduled (§1.4).
        report.finding(
            Code::RepositoryWithoutTags,
            "/spec/dockerImageRepository",
            format!("{repository} has no spec tags, so no tag is re-imported on a schedule"),
        );
    }
    let Some(tags) = object
        .pointer_mut("/spec/tags")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for (i, entry) in tags.iter_mut().enumerate() {
        let label = match entry.get("name").and_then(Value::as_str) {
            Some(name) => format!("tag {name:?}"),
            None => format!("tag #{i}"),
        };
        let path = format!("/spec/tags/{i}");
        if annotations::skips(entry.get("annotations")) {
            report.finding(
                Code::OptedOut,
                format!("{path}/annotations"),
                format!("{label} opted out with {}", annotations::SKIP),
            );
            continue;
        }
        ensure_scheduled(Site { path, label, entry }, config, report);
    }
}

fn image_stream_import(object: &mut Value, config: &RuleConfig, report: &mut Report) {
    if let Some(images) = object
        .pointer_mut("/spec/images")
        .and_then(Value::as_array_mut)
    {
        for (i, entry) in images.iter_mut().enumerate() {
            let label = match entry.pointer("/to/name").and_then(Value::as_str) {
                Some(name) => format!("imported tag {name:?}"),
                None => format!("imported image #{i}"),
            };
            let path = format!("/spec/images/{i}");
            ensure_scheduled(Site { path, label, entry }, config, report);
        }
    }
    if let Some(entry) = object.pointer_mut("/spec/repository") {
        let site = Site {
            path: "/spec/repository".into(),
            label: "repository import".into(),
            entry,
        };
        ensure_scheduled(site, config, report);
    }
}

/// The rule for one TagReference: `DockerImage`, not `reference`, not digest-pinned,
/// allowed by the repository filter => `importPolicy.scheduled: true`.
fn ensure_scheduled(site: Site<'_>, config: &RuleConfig, report: &mut Report) {
    let Site { path, label, entry } = site;
    let Some(source) = importable_source(entry, &path, &label, config, report) else {
        return;
    };
    let policy = match entry.get_mut("importPolicy") {
        None | Some(Value::Null) => {
            entry["importPolicy"] = Value::Object(Map::new());
            &mut entry["importPolicy"]
        }
        Some(policy) => policy,
    };
    let Some(policy) = policy.as_object_mut() else {
        report.finding(
            Code::Unreadable,
            format!("{path}/importPolicy"),
            format!("importPolicy of {label} is not an object"),
        );
        return;
    };
    // An explicit `scheduled: false` is overwritten too: the API server drops `false`
    // (omitempty) before admission, so in a cluster it looks exactly like an absent field.
    if policy.get("scheduled") != Some(&Value::Bool(true)) {
        policy.insert("scheduled".into(), Value::Bool(true));
        report.change(
            Code::ScheduledImport,
            format!("{path}/importPolicy/scheduled"),
            format!("set importPolicy.scheduled on {label} ({source})"),
        );
    }
    if config.preserve_original
        && policy.get("importMode").and_then(Value::as_str) != Some(PRESERVE_ORIGINAL)
    {
        policy.insert("importMode".into(), Value::String(PRESERVE_ORIGINAL.into()));
        report.change(
            Code::ImportMode,
            format!("{path}/importMode"),
            format!("set importPolicy.importMode PreserveOriginal on {label} ({source})"),
        );
    }
}

/// The `from.name` of an entry the import controller would schedule, or `None` (with a
/// finding where the user should know why).
fn importable_source(
    entry: &Value,
    path: &str,
    label: &str,
    config: &RuleConfig,
    report: &mut Report,
) -> Option<String> {
    let from = entry.get("from")?;
    if from.get("kind").and_then(Value::as_str) != Some(DOCKER_IMAGE) {
        return None;
    }
    if entry.get("reference").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let Some(name) = from.get("name").and_then(Value::as_str) else {
        report.finding(
            Code::Unreadable,
            format!("{path}/from/name"),
            format!("{label} has no source name"),
        );
        return None;
    };
    let image = match ImageRef::parse(name) {
        Ok(image) => image,
        Err(error) => {
            report.finding(
                Code::Unreadable,
                format!("{path}/from/name"),
                format!("{label}: {error}"),
            );
            return None;
        }
    };
    if image.is_digest_pinned() {
        // A digest never changes; the controller drops it after the first import (§1.5).
        report.finding(
            Code::DigestPinned,
            format!("{path}/from/name"),
            format!("{label} is pinned to a digest; nothing to re-import"),
        );
        return None;
    }
    // [suggestion §1.2] the internal registry is fed by the cluster itself, not imported.
    if config.internal_registry_hosts.contains(&image.registry) {
        return None;
    }
    config
        .repositories
        .allows(&image.repository())
        .then(|| name.to_string())
}

#[cfg(test)]
#[path = "imagestream_tests.rs"]
mod tests;
