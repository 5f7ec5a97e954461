//! `scan`'s conversation with the API server: paginated lists (`limit`/`continue`), one GET,
//! and one JSON Patch, each turned into raw JSON objects the engine reads (with `apiVersion`
//! and `kind` put back, `metadata.managedFields` dropped) or into an [`ApiError`] that names
//! the resource and the reason. It owns no decision about what to patch.

use kube::api::{GetParams, ListParams, Patch, PatchParams};
use kube::core::Request;
use serde::Deserialize;
use serde_json::Value;

use super::resources::Resource;
use crate::engine::fields;
use crate::engine::kind::Kind;

/// The field manager every `--fix` write is recorded under (`metadata.managedFields`).
pub const FIELD_MANAGER: &str = "autoredeploy";

/// Why a request failed, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404 on a collection: the API group is not served (ImageStreams and DeploymentConfigs
    /// on plain Kubernetes).
    #[error("{resource} is not served by this cluster (no such API: {api_version})")]
    NotServed {
        resource: String,
        api_version: String,
    },
    #[error("{verb} {target}: forbidden by RBAC: {message}")]
    Forbidden {
        verb: &'static str,
        target: String,
        message: String,
    },
    /// No answer from the API server at all (connection refused, TLS, DNS).
    #[error("{verb} {target}: cannot reach the API server: {message}")]
    Unreachable {
        verb: &'static str,
        target: String,
        message: String,
    },
    #[error("{verb} {target}: not found")]
    NotFound { verb: &'static str, target: String },
    /// 409, or 422 from a failed `test` of `metadata.resourceVersion`: someone else wrote it.
    #[error("{verb} {target}: changed by someone else ({message})")]
    Conflict {
        verb: &'static str,
        target: String,
        message: String,
    },
    #[error("{verb} {target}: {message}")]
    Other {
        verb: &'static str,
        target: String,
        message: String,
    },
}

/// One list response page: the items and the token of the next page.
#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default)]
    items: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct PageMeta {
    #[serde(default, rename = "continue")]
    next: Option<String>,
}

/// A client and the page size of its lists.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    page_size: u32,
}

impl Cluster {
    pub fn new(client: kube::Client, page_size: u32) -> Self {
        Cluster { client, page_size }
    }

    /// The namespace of the kubeconfig context (or `default`), as kubectl uses.
    pub fn default_namespace(&self) -> &str {
        self.client.default_namespace()
    }

    /// Every object of `resource` (in `namespace`, or cluster-wide), one page at a time:
    /// `each` sees an object and drops it before the next page is asked for. Returns how many
    /// requests it took.
    pub async fn list(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        mut each: impl FnMut(Value),
    ) -> Result<usize, ApiError> {
        let request = Request::new(resource.collection_path(namespace));
        let target = scope_name(resource, namespace);
        let mut token: Option<String> = None;
        let mut requests = 0;
        loop {
            let mut params = ListParams::default().limit(self.page_size);
            if let Some(token) = &token {
                params = params.continue_token(token);
            }
            let http = request
                .list(&params)
                .map_err(|e| other("list", &target, e))?;
            requests += 1;
            let page: Page = self
                .client
                .request(http)
                .await
                .map_err(|e| classify(e, "list", &target).not_served_as(resource))?;
            for item in page.items {
                each(typed(item, resource));
            }
            match page.metadata.next.filter(|t| !t.is_empty()) {
                // A server handing back the token it was given would keep this loop going.
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(other(
                        "list",
                        &target,
                        "the server repeated its continue token",
                    ));
                }
                Some(next) => token = Some(next),
                None => return Ok(requests),
            }
        }
    }

    /// One object (`namespace` is ignored for a cluster-scoped kind).
    pub async fn get(
        &self,
        resource: &Resource,
        namespace: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        let target = object_name(resource, namespace, name);
        let http = Request::new(resource.collection_path(Some(namespace)))
            .get(name, &GetParams::default())
            .map_err(|e| other("get", &target, e))?;
        let object: Value = self
            .client
            .request(http)
            .await
            .map_err(|e| classify(e, "get", &target))?;
        Ok(typed(object, resource))
    }

    /// Apply a JSON Patch as field manager [`FIELD_MANAGER`]; `dry_run` sends `dryRun=All`.
    pub async fn patch(
        &self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        patch: json_patch::Patch,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let target = object_name(resource, namespace, name);
        let mut params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PatchParams::default()
        };
        if dry_run {
            params = params.dry_run();
        }
        let http = Request::new(resource.collection_path(Some(namespace)))
            .patch(name, &params, &Patch::<()>::Json(patch))
            .map_err(|e| other("patch", &target, e))?;
        let object: Value = self
            .client
            .request(http)
            .await
            .map_err(|e| classify(e, "patch", &target))?;
        Ok(typed(object, resource))
    }
}

impl ApiError {
    /// A 404 on a collection means its API is not served, not that an object is missing.
    fn not_served_as(self, resource: &Resource) -> Self {
        match self {
            ApiError::NotFound { .. } => ApiError::NotServed {
                resource: resource.qualified(),
                api_version: resource.api_version(),
            },
            other => other,
        }
    }
}

/// `deployments.apps in namespace shop`, `... in all namespaces`, or for a cluster-scoped
/// kind `namespaces`.
fn scope_name(resource: &Resource, namespace: Option<&str>) -> String {
    match namespace {
        _ if !resource.namespaced => resource.qualified(),
        Some(ns) => format!("{} in namespace {ns}", resource.qualified()),
        None => format!("{} in all namespaces", resource.qualified()),
    }
}

/// `deployments.apps shop/web`, or for a cluster-scoped kind `namespaces shop`.
fn object_name(resource: &Resource, namespace: &str, name: &str) -> String {
    match resource.namespaced {
        true => format!("{} {namespace}/{name}", resource.qualified()),
        false => format!("{} {name}", resource.qualified()),
    }
}

fn other(verb: &'static str, target: &str, error: impl std::fmt::Display) -> ApiError {
    ApiError::Other {
        verb,
        target: target.to_string(),
        message: error.to_string(),
    }
}

fn classify(error: kube::Error, verb: &'static str, target: &str) -> ApiError {
    let target = target.to_string();
    let status = match error {
        kube::Error::Api(status) => status,
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            return ApiError::Unreachable {
                verb,
                target,
                message: one_line(&causes(&error)),
            };
        }
        error => {
            return ApiError::Other {
                verb,
                target,
                message: one_line(&error.to_string()),
            };
        }
    };
    let message = one_line(&status.message);
    match status.code {
        403 => ApiError::Forbidden {
            verb,
            target,
            message,
        },
        404 => ApiError::NotFound { verb, target },
        // A JSON Patch whose `test` fails is answered 422 (kubernetes/kubernetes
        // staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go, `applyJSPatch`), a
        // stale resourceVersion 409: either way another writer may have come first.
        409 | 422 => ApiError::Conflict {
            verb,
            target,
            message,
        },
        code => ApiError::Other {
            verb,
            target,
            message: format!("HTTP {code}: {message}"),
        },
    }
}

/// An error and its sources, each said once: `client error (Connect): tcp connect error:
/// Connection refused` rather than only the outermost words.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        source = cause.source();
    }
    text
}

/// Server messages can span lines; errors are printed one per line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// List items and some responses come without `apiVersion` and `kind`, which the engine
/// needs; `managedFields` is dropped except on workloads, whose rules read it (what the
/// manifest said, `engine::fields::reads_intent`): it is often most of an ImageStream.
fn typed(mut object: Value, resource: &Resource) -> Value {
    if let Some(fields) = object.as_object_mut() {
        fields.insert("apiVersion".into(), resource.api_version().into());
        fields.insert("kind".into(), resource.kind.into());
    }
    let keep = Kind::of(&object).is_some_and(fields::reads_intent);
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut)
        && !keep
    {
        meta.remove("managedFields");
    }
    object
}
