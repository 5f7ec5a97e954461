//! The pure admission adapter: AdmissionReview bytes in, AdmissionReview out. Like
//! [`crate::batch`] for `mutate` and `scan`, it turns the engine's outcome into what the mode
//! makes of it ([`crate::config::Mode::disposition`], the one audit rule); the engine never sees
//! the mode. It decodes the review once (the object stays a raw `serde_json::Value`,
//! never a typed `ObjectMeta`, so the patch is derived from what the API server sent), decides the
//! mode, calls the engine and builds a response the API server accepts (kube-apiserver
//! `VerifyAdmissionResponse` and the mutating dispatcher). It never denies, never does I/O and
//! never blocks.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use kube::core::admission::{META_API_VERSION_V1, META_KIND, Operation};
use serde::Serialize;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::config::{Disposition, Mode, RuleConfig};
use crate::engine::kind::Kind;
use crate::engine::{self, Change, Code};

mod decode;
mod trimmed;

pub use decode::{AdmissionRequest, GroupVersionKind, ReviewError, decode};

pub use crate::config::MODE_ANNOTATION;
/// Audit annotation holding the compact JSON Patch audit mode would have applied. The API
/// server prefixes it with the webhook name, so it must not contain `/`.
pub const WOULD_PATCH_ANNOTATION: &str = "would-patch";
/// The only patch type the API server accepts.
pub const PATCH_TYPE_JSON_PATCH: &str = "JSONPatch";
/// Every warning starts with this, so `oc` users know who speaks.
pub const WARNING_PREFIX: &str = "autoredeploy: ";
/// Prefix of warnings in audit mode: what would have changed.
pub const AUDIT_WARNING_PREFIX: &str = "(audit) ";
/// The API server cuts every warning to 256 runes once the budget is exceeded.
pub const MAX_WARNING_CHARS: usize = 256;
/// The API server keeps at most 4096 runes of warnings per request.
pub const WARNING_BUDGET_CHARS: usize = 4096;
/// Room kept in the budget for the "more warnings" note.
const OMITTED_NOTE_RESERVE: usize = 64;

/// The AdmissionReview sent back. kube-core's own `AdmissionResponse` is not used: it
/// serialises `patch` as an array of numbers instead of the base64 string the API documents
/// (kube-rs/kube#1781) and always emits `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewResponse {
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub kind: &'static str,
    pub response: AdmissionResponse,
}

/// `response`: always allowed; `patchType` and `patch` only together and non-empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// Standard base64 (with padding) of the JSON Patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<&'static str, String>,
}

/// What happened to one review, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Enforce mode sent a patch.
    Patched,
    /// Audit mode found something it would have patched.
    Audited,
    /// The engine had nothing to change.
    Unchanged,
    /// Not ours to look at: DELETE, CONNECT, a subresource or an unknown kind.
    Skipped,
    /// The object could not be understood (or the engine failed): allowed with a warning.
    Unreadable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Patched => "patched",
            Verdict::Audited => "audited",
            Verdict::Unchanged => "unchanged",
            Verdict::Skipped => "skipped",
            Verdict::Unreadable => "unreadable",
        }
    }
}

/// A short account of one review for the log line and the metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub mode: Mode,
    pub verdict: Verdict,
    pub changes: Vec<Code>,
    pub findings: Vec<Code>,
}

/// Where the mode comes from: the path (`/audit`) or `--mode audit`, then the object.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub mode: Mode,
    pub catalog: &'a dyn Catalog,
    pub config: &'a RuleConfig,
}

/// Answer one decoded request. Never fails: anything odd is an allow with a warning. The
/// engine is handed `request.object` to edit in place (no copy of a large object), so a
/// reviewed request is left without it; the rest of the request is untouched.
pub fn respond(request: &mut AdmissionRequest, ctx: &Context<'_>) -> (ReviewResponse, Summary) {
    // Audit when the path or the flag says so, or the object asks for it by annotation.
    let mode = ctx.mode.for_object(request.object.as_ref());
    let Some(operation) = engine_operation(request) else {
        return finish(request, mode, Verdict::Skipped, Vec::new());
    };
    if !request.object.as_ref().is_some_and(Value::is_object) {
        let warning = "request.object is not a JSON object; nothing changed";
        return finish(request, mode, Verdict::Unreadable, vec![warning]);
    }
    let object = request.object.take().unwrap_or_default();
    let request = &*request;
    let engine_request = engine::Request {
        old_object: request.old_object.as_ref().filter(|o| o.is_object()),
        operation,
        namespace: Some(request.namespace.as_str()).filter(|ns| !ns.is_empty()),
        username: request.username.as_deref(),
    };
    // The engine is pure and must not panic; if it ever does, fail open with a warning
    // rather than dropping the connection.
    match catch_unwind(AssertUnwindSafe(|| {
        engine::mutate(object, &engine_request, ctx.catalog, ctx.config)
    })) {
        Ok(outcome) => respond_with_outcome(request, mode, &outcome),
        Err(_) => {
            let warning = "internal error while reviewing this object; nothing changed";
            finish(request, mode, Verdict::Unreadable, vec![warning])
        }
    }
}

/// Decode and answer in one step.
pub fn review(body: &[u8], ctx: &Context<'_>) -> Result<(ReviewResponse, Summary), ReviewError> {
    decode(body).map(|mut request| respond(&mut request, ctx))
}

/// Build the response for an engine outcome in the given (already decided) mode.
pub fn respond_with_outcome(
    request: &AdmissionRequest,
    mode: Mode,
    outcome: &engine::Outcome,
) -> (ReviewResponse, Summary) {
    let prefix = match mode {
        Mode::Enforce => "",
        Mode::Audit => AUDIT_WARNING_PREFIX,
    };
    let mut response = allow(request);
    response.warnings = warnings(prefix, outcome.changes.iter().chain(&outcome.findings));
    // Serialising a `Patch` (plain strings and `Value`s) cannot fail.
    let verdict = match mode.disposition(&outcome.patch) {
        Disposition::Unchanged => Verdict::Unchanged,
        Disposition::Write(patch) => {
            let patch_json = serde_json::to_vec(patch).unwrap_or_default();
            response.patch_type = Some(PATCH_TYPE_JSON_PATCH);
            response.patch = Some(BASE64.encode(&patch_json));
            Verdict::Patched
        }
        Disposition::Report(patch) => {
            let compact = serde_json::to_string(patch).unwrap_or_default();
            response
                .audit_annotations
                .insert(WOULD_PATCH_ANNOTATION, compact);
            Verdict::Audited
        }
    };
    let summary = Summary {
        mode,
        verdict,
        changes: outcome.changes.iter().map(|c| c.code).collect(),
        findings: outcome.findings.iter().map(|c| c.code).collect(),
    };
    (wrap(response), summary)
}

/// An allow without patch, with the given warnings (already sanitised constants).
fn finish(
    request: &AdmissionRequest,
    mode: Mode,
    verdict: Verdict,
    warnings: Vec<&str>,
) -> (ReviewResponse, Summary) {
    let mut response = allow(request);
    response.warnings = warnings
        .into_iter()
        .map(|w| format!("{WARNING_PREFIX}{w}"))
        .collect();
    let summary = Summary {
        mode,
        verdict,
        changes: Vec::new(),
        findings: Vec::new(),
    };
    (wrap(response), summary)
}

fn allow(request: &AdmissionRequest) -> AdmissionResponse {
    AdmissionResponse {
        uid: request.uid.clone(),
        allowed: true,
        patch_type: None,
        patch: None,
        warnings: Vec::new(),
        audit_annotations: BTreeMap::new(),
    }
}

fn wrap(response: AdmissionResponse) -> ReviewResponse {
    ReviewResponse {
        api_version: META_API_VERSION_V1,
        kind: META_KIND,
        response,
    }
}

/// The engine's operation, or `None` when the request is not ours to look at.
fn engine_operation(request: &AdmissionRequest) -> Option<engine::Operation> {
    if !request.sub_resource.is_empty() || !is_known_kind(&request.kind) {
        return None;
    }
    match request.operation {
        Operation::Create => Some(engine::Operation::Create),
        Operation::Update => Some(engine::Operation::Update),
        Operation::Delete | Operation::Connect => None,
    }
}

/// The kinds the engine has rules for; anything else gets an empty allow.
fn is_known_kind(gvk: &GroupVersionKind) -> bool {
    Kind::of_group_kind(&gvk.group, &gvk.kind).is_some()
}

/// One warning per change and finding: no control characters (the API server drops such
/// warnings), each at most [`MAX_WARNING_CHARS`], all within [`WARNING_BUDGET_CHARS`].
pub fn warnings<'a>(prefix: &str, items: impl Iterator<Item = &'a Change>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut used = 0;
    let mut omitted = 0usize;
    for item in items {
        let text = warning_text(prefix, &item.message);
        if out.contains(&text) {
            continue;
        }
        let len = if omitted > 0 { 0 } else { text.chars().count() };
        if omitted > 0 || used + len > WARNING_BUDGET_CHARS - OMITTED_NOTE_RESERVE {
            omitted += 1;
            continue;
        }
        used += len;
        out.push(text);
    }
    if omitted > 0 {
        out.push(format!(
            "{prefix}{WARNING_PREFIX}{omitted} more warnings not shown"
        ));
    }
    out
}

/// `prefix`, [`WARNING_PREFIX`] and `message` without control characters, cut to
/// [`MAX_WARNING_CHARS`] with an ellipsis. One copy of each part: a stream over its pull
/// budget has a finding for each of thousands of tags.
fn warning_text(prefix: &str, message: &str) -> String {
    const ELLIPSIS: &str = "...";
    let mut text = String::with_capacity(prefix.len() + WARNING_PREFIX.len() + message.len());
    for part in [prefix, WARNING_PREFIX, message] {
        if engine::change::has_control(part) {
            text.extend(part.chars().filter(|c| !c.is_control()));
        } else {
            text.push_str(part);
        }
    }
    if text.chars().count() > MAX_WARNING_CHARS {
        let end = text
            .char_indices()
            .nth(MAX_WARNING_CHARS - ELLIPSIS.len())
            .map_or(text.len(), |(i, _)| i);
        text.truncate(end);
        text.push_str(ELLIPSIS);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: every character of the three parts but control characters, and past
    /// the limit the first `MAX_WARNING_CHARS - 3` of them and an ellipsis.
    fn by_definition(prefix: &str, message: &str) -> String {
        let full: Vec<char> = [prefix, WARNING_PREFIX, message]
            .concat()
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        if full.len() <= MAX_WARNING_CHARS {
            return full.into_iter().collect();
        }
        let mut text: String = full[..MAX_WARNING_CHARS - 3].iter().collect();
        text.push_str("...");
        text
    }

    #[test]
    fn warning_text_drops_control_characters_and_cuts_at_the_limit() {
        let limit = MAX_WARNING_CHARS - WARNING_PREFIX.len();
        for prefix in ["", AUDIT_WARNING_PREFIX, "a\tb\n"] {
            for len in [0, 1, limit - 1, limit, limit + 1, limit + 40] {
                for fill in ["x", "é", "\u{7}x", "日本"] {
                    let message: String = fill.repeat(len).chars().take(len).collect();
                    let text = warning_text(prefix, &message);
                    assert_eq!(
                        text,
                        by_definition(prefix, &message),
                        "{prefix:?} {len} {fill:?}"
                    );
                    assert!(text.chars().count() <= MAX_WARNING_CHARS);
                }
            }
        }
    }
}
