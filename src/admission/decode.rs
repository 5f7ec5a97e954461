//! Decoding an AdmissionReview v1: the typed error a bad body gets (HTTP 400) and the parts
//! of `request` this webhook reads. `object` and `oldObject` stay `serde_json::Value`s (see
//! [`super::trimmed`] for what is left out of them), and `oldObject` is not decoded at all
//! for kinds whose rules never read it.

use std::fmt;

use kube::core::admission::{META_API_VERSION_V1, META_KIND, Operation};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::trimmed::{Intent, Level, Trimmed};
use crate::engine::fields;
use crate::engine::kind::Kind;

/// Why a body is not an AdmissionReview this webhook can answer (HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("body is not a valid AdmissionReview: {0}")]
    Json(#[from] serde_json::Error),
    #[error("body is not UTF-8 text: {0}")]
    Utf8(#[from] std::str::Utf8Error),
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
            ReviewError::Utf8(_) => "utf-8",
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

/// `request`, decoded by hand (below) so `oldObject` can be skipped for kinds whose rules
/// never read it.
#[derive(Default)]
struct WireRequest {
    uid: Option<String>,
    kind: Option<GroupVersionKind>,
    sub_resource: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    operation: Option<Operation>,
    user_info: Option<WireUserInfo>,
    object: Option<Value>,
    old_object: Option<Value>,
    dry_run: Option<bool>,
}

impl<'de> Deserialize<'de> for WireRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RequestVisitor)
    }
}

struct RequestVisitor;

impl<'de> Visitor<'de> for RequestVisitor {
    type Value = WireRequest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AdmissionRequest object")
    }

    /// The API server writes `kind` before `object` and `oldObject` (the field order of
    /// `k8s.io/api/admission/v1.AdmissionRequest`), so by the time `oldObject` arrives the
    /// kind usually says whether any rule reads it; if `kind` comes later, it is decoded
    /// anyway. A repeated member is an error, as serde's derive makes it.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireRequest, A::Error> {
        fn set<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
            map: &mut A,
            slot: &mut Option<T>,
            name: &'static str,
        ) -> Result<(), A::Error> {
            if slot.is_some() {
                return Err(de::Error::duplicate_field(name));
            }
            *slot = map.next_value()?;
            Ok(())
        }
        let mut request = WireRequest::default();
        let (mut seen_object, mut seen_old_object) = (false, false);
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Uid => set(&mut map, &mut request.uid, "uid")?,
                Field::Kind => set(&mut map, &mut request.kind, "kind")?,
                Field::SubResource => set(&mut map, &mut request.sub_resource, "subResource")?,
                Field::Name => set(&mut map, &mut request.name, "name")?,
                Field::Namespace => set(&mut map, &mut request.namespace, "namespace")?,
                Field::Operation => set(&mut map, &mut request.operation, "operation")?,
                Field::UserInfo => set(&mut map, &mut request.user_info, "userInfo")?,
                Field::DryRun => set(&mut map, &mut request.dry_run, "dryRun")?,
                Field::Object => {
                    if std::mem::replace(&mut seen_object, true) {
                        return Err(de::Error::duplicate_field("object"));
                    }
                    let intent = intent_read(request.kind.as_ref());
                    request.object = map.next_value_seed(Trimmed(Level::Object { intent }))?;
                }
                Field::OldObject => {
                    if std::mem::replace(&mut seen_old_object, true) {
                        return Err(de::Error::duplicate_field("oldObject"));
                    }
                    if old_object_unread(request.kind.as_ref()) {
                        map.next_value::<IgnoredAny>()?;
                    } else {
                        request.old_object = map.next_value_seed(Trimmed(Level::OldObject))?;
                    }
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(request)
    }
}

/// The members of `request` read here; the key is matched without being copied.
enum Field {
    Uid,
    Kind,
    SubResource,
    Name,
    Namespace,
    Operation,
    UserInfo,
    Object,
    OldObject,
    DryRun,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
                Ok(match key {
                    "uid" => Field::Uid,
                    "kind" => Field::Kind,
                    "subResource" => Field::SubResource,
                    "name" => Field::Name,
                    "namespace" => Field::Namespace,
                    "operation" => Field::Operation,
                    "userInfo" => Field::UserInfo,
                    "object" => Field::Object,
                    "oldObject" => Field::OldObject,
                    "dryRun" => Field::DryRun,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

/// Whether `kind` (already decoded) names a kind whose rules never read the stored object.
fn old_object_unread(kind: Option<&GroupVersionKind>) -> bool {
    kind.and_then(|gvk| Kind::of_group_kind(&gvk.group, &gvk.kind))
        .is_some_and(|kind| !fields::reads_old_object(kind))
}

/// What the rules may read of what the manifest said (`managedFields`, the last-applied
/// annotation): a workload's, pruned to what they read; all of it while the kind is not
/// decoded yet; nothing for the other kinds.
fn intent_read(kind: Option<&GroupVersionKind>) -> Intent {
    let Some(gvk) = kind else {
        return Intent::Whole;
    };
    Kind::of_group_kind(&gvk.group, &gvk.kind)
        .filter(|kind| fields::reads_intent(*kind))
        .and_then(Kind::pod_spec_pointer)
        .map_or(Intent::No, Intent::Pruned)
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
///
/// JSON text is UTF-8 (RFC 8259 §8.1), and the body is checked as a whole before parsing:
/// one pass over the bytes, where `from_slice` would check each string it keeps on its own
/// (about a tenth of a small review's decoding) and none of the ones it skips.
pub fn decode(body: &[u8]) -> Result<AdmissionRequest, ReviewError> {
    let review: WireReview = serde_json::from_str(std::str::from_utf8(body)?)?;
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
