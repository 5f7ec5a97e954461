//! Decoding an AdmissionReview v1: the typed error a bad body gets (HTTP 400) and the parts
//! of `request` this webhook reads. `object` and `oldObject` stay `serde_json::Value`s (see
//! [`super::trimmed`] for what is left out of them).

use kube::core::admission::{META_API_VERSION_V1, META_KIND, Operation};
use serde::Deserialize;
use serde_json::Value;

/// Why a body is not an AdmissionReview this webhook can answer (HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("body is not a valid AdmissionReview: {0}")]
    Json(#[from] serde_json::Error),
    #[error("apiVersion must be {META_API_VERSION_V1:?}, got {0:?}")]
    ApiVersion(String),
    #[error("kind must be {META_KIND:?}, got {0:?}")]
    Kind(String),
    #[error("missing request")]
    MissingRequest,
    #[error("missing request.uid")]
    MissingUid,
    #[error("missing request.kind")]
    MissingKind,
    #[error("missing request.operation")]
    MissingOperation,
}

impl ReviewError {
    /// A stable label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            ReviewError::Json(_) => "json",
            ReviewError::ApiVersion(_) => "api-version",
            ReviewError::Kind(_) => "kind",
            ReviewError::MissingRequest => "missing-request",
            ReviewError::MissingUid => "missing-uid",
            ReviewError::MissingKind => "missing-kind",
            ReviewError::MissingOperation => "missing-operation",
        }
    }
}

/// `request.kind`: the group, version and kind of the object as sent to this webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireReview {
    api_version: Option<String>,
    kind: Option<String>,
    request: Option<WireRequest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest {
    uid: Option<String>,
    kind: Option<GroupVersionKind>,
    sub_resource: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    operation: Option<Operation>,
    user_info: Option<WireUserInfo>,
    #[serde(default, deserialize_with = "super::trimmed::deserialize")]
    object: Option<Value>,
    #[serde(default, deserialize_with = "super::trimmed::deserialize")]
    old_object: Option<Value>,
    dry_run: Option<bool>,
}

#[derive(Deserialize)]
struct WireUserInfo {
    username: Option<String>,
}

/// The parts of `request` this webhook reads.
#[derive(Debug, Clone)]
pub struct AdmissionRequest {
    pub uid: String,
    pub kind: GroupVersionKind,
    /// Empty for the main resource.
    pub sub_resource: String,
    /// Empty on CREATE with `generateName`.
    pub name: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub operation: Operation,
    pub username: Option<String>,
    pub object: Option<Value>,
    pub old_object: Option<Value>,
    pub dry_run: bool,
}

/// Decode an AdmissionReview v1. serde_json's recursion limit turns absurdly nested bodies
/// into an error instead of a stack overflow.
pub fn decode(body: &[u8]) -> Result<AdmissionRequest, ReviewError> {
    let review: WireReview = serde_json::from_slice(body)?;
    let api_version = review.api_version.unwrap_or_default();
    if api_version != META_API_VERSION_V1 {
        return Err(ReviewError::ApiVersion(api_version));
    }
    let kind = review.kind.unwrap_or_default();
    if kind != META_KIND {
        return Err(ReviewError::Kind(kind));
    }
    let request = review.request.ok_or(ReviewError::MissingRequest)?;
    let uid = request.uid.filter(|uid| !uid.is_empty());
    Ok(AdmissionRequest {
        uid: uid.ok_or(ReviewError::MissingUid)?,
        kind: request.kind.ok_or(ReviewError::MissingKind)?,
        sub_resource: request.sub_resource.unwrap_or_default(),
        name: request.name.unwrap_or_default(),
        namespace: request.namespace.unwrap_or_default(),
        operation: request.operation.ok_or(ReviewError::MissingOperation)?,
        username: request.user_info.and_then(|u| u.username),
        object: request.object,
        old_object: request.old_object,
        dry_run: request.dry_run.unwrap_or(false),
    })
}
