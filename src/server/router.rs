//! The review endpoints: `POST /mutate` (enforce) and `POST /audit` (audit). A handler checks
//! the content type, reads the body under a size and time limit, hands the bytes to the pure
//! admission adapter and writes its answer; every other outcome is a JSON error with the
//! right status code. A request that is an AdmissionReview is always answered 200.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Version, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use kube::core::admission::Operation;

use super::AppState;
use super::metrics::{ChangeLabels, GaugeGuard, ReviewLabels};
use crate::admission::{self, AdmissionRequest, Context, ReviewError, Summary};
use crate::config::Mode;
use crate::engine::kind::Kind;

pub const MUTATE_PATH: &str = "/mutate";
pub const AUDIT_PATH: &str = "/audit";
/// An UPDATE carries object and oldObject, each up to the API server's 3 MiB
/// `MaxRequestBodyBytes`; controller-runtime's webhook reads up to 7 MiB for the same reason
/// (controller-runtime `pkg/webhook/admission/http.go`).
pub const MAX_BODY_BYTES: usize = 7 * 1024 * 1024;
/// A client that takes longer than this to send its body is cut off.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
const JSON: &str = "application/json";

/// The webhook router; tests drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(MUTATE_PATH, post(mutate))
        .route(AUDIT_PATH, post(audit))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            close_when_draining,
        ))
        .with_state(state)
}

/// While draining, every HTTP/1 answer carries `Connection: close`: the client reads it and
/// opens its next connection elsewhere instead of sending into one about to close. (HTTP/2
/// has no such header; its connections get a GOAWAY from the drain itself.)
async fn close_when_draining(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let http1 = request.version() < Version::HTTP_2;
    let mut response = next.run(request).await;
    if http1 && state.is_draining() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Why a request to the webhook is not answered with an AdmissionReview: each becomes a
/// JSON error body with its status code, counted by [`Rejection::reason`].
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("no such path")]
    NotFound,
    #[error("only POST is allowed")]
    MethodNotAllowed,
    #[error("Content-Type must be application/json")]
    ContentType,
    #[error("body larger than 7 MiB")]
    TooLarge,
    #[error("could not read the body")]
    Body,
    #[error("body read timed out")]
    Timeout,
    #[error(transparent)]
    Review(#[from] ReviewError),
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::NotFound => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Body | Rejection::Review(_) => StatusCode::BAD_REQUEST,
            Rejection::Timeout => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// A stable label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::NotFound => "not-found",
            Rejection::MethodNotAllowed => "method",
            Rejection::ContentType => "content-type",
            Rejection::TooLarge => "too-large",
            Rejection::Body => "body",
            Rejection::Timeout => "timeout",
            Rejection::Review(err) => err.reason(),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.to_string();
        tracing::warn!(
            status = status.as_u16(),
            reason = self.reason(),
            message,
            "bad request"
        );
        let body = serde_json::json!({ "error": message }).to_string();
        (status, [(header::CONTENT_TYPE, JSON)], body).into_response()
    }
}

// The handlers take the whole request rather than a `HeaderMap` extractor, which clones
// every header.
async fn mutate(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    counted(
        &state,
        handle(&state, Mode::Enforce, &parts.headers, body).await,
    )
}

async fn audit(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    counted(
        &state,
        handle(&state, Mode::Audit, &parts.headers, body).await,
    )
}

async fn not_found(State(state): State<Arc<AppState>>) -> Response {
    counted(&state, Err(Rejection::NotFound))
}

async fn method_not_allowed(State(state): State<Arc<AppState>>) -> Response {
    counted(&state, Err(Rejection::MethodNotAllowed))
}

/// The answer, with a rejection counted by reason.
fn counted(state: &AppState, answer: Result<Response, Rejection>) -> Response {
    answer.unwrap_or_else(|rejection| {
        state.metrics.bad_request(rejection.reason());
        rejection.into_response()
    })
}

async fn handle(
    state: &AppState,
    path_mode: Mode,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Rejection> {
    let started = Instant::now();
    let _in_flight = GaugeGuard::new(&state.metrics.requests_in_flight);
    if !is_json(headers) {
        return Err(Rejection::ContentType);
    }
    let bytes = read_body(headers, body).await?;
    let mut request = admission::decode(&bytes).inspect_err(|_| {
        tracing::debug!(body = %String::from_utf8_lossy(&bytes), "rejected body");
    })?;
    drop(bytes);
    let mode = match (state.mode, path_mode) {
        (Mode::Enforce, Mode::Enforce) => Mode::Enforce,
        _ => Mode::Audit,
    };
    let (review, summary) = state.catalog.with_snapshot(|catalog| {
        let ctx = Context {
            mode,
            catalog,
            config: &state.rules,
        };
        admission::respond(&mut request, &ctx)
    });
    let body = serde_json::to_vec(&review).unwrap_or_default();
    record(state, &request, &summary, started.elapsed());
    tracing::debug!(response = %String::from_utf8_lossy(&body), "response");
    Ok(([(header::CONTENT_TYPE, JSON)], body).into_response())
}

/// Read the whole body, at most [`MAX_BODY_BYTES`], within [`BODY_READ_TIMEOUT`].
async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Rejection> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(Rejection::TooLarge);
    }
    let collect = Limited::new(body, MAX_BODY_BYTES).collect();
    match tokio::time::timeout(BODY_READ_TIMEOUT, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(err)) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err(Rejection::TooLarge)
        }
        Ok(Err(_)) => Err(Rejection::Body),
        Err(_) => Err(Rejection::Timeout),
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON))
}

/// The metrics and the one log line of a review. A dry run (`kubectl apply --dry-run=server`,
/// `kubectl diff`, Flux's drift check on every reconcile, Argo CD's server-side diff) is a
/// review, labelled so, but nothing is written: its changes and findings are left out of
/// their counters, so alerts on them see only what reaches the cluster. Its log line says
/// `dry_run`.
fn record(state: &AppState, request: &AdmissionRequest, summary: &Summary, elapsed: Duration) {
    let metrics = &state.metrics;
    let mode = summary.mode.as_str();
    let labels = ReviewLabels {
        kind: kind_label(request),
        operation: operation_label(&request.operation),
        mode,
        outcome: summary.verdict.as_str(),
        dry_run: if request.dry_run { "true" } else { "false" },
    };
    metrics.reviews.get_or_create(&labels).inc();
    metrics.review_duration.observe(elapsed.as_secs_f64());
    if !request.dry_run {
        for code in &summary.changes {
            let code = code.as_str();
            metrics
                .changes
                .get_or_create(&ChangeLabels { code, mode })
                .inc();
        }
        for code in &summary.findings {
            let code = code.as_str();
            metrics
                .findings
                .get_or_create(&ChangeLabels { code, mode })
                .inc();
        }
    }
    let changes: Vec<&str> = summary.changes.iter().map(|c| c.as_str()).collect();
    // Strings are recorded as `&str`, not `%` (Display): tracing-serde formats a Display
    // value into a fresh `String` before escaping it, a third of the line's cost.
    tracing::info!(
        uid = request.uid.as_str(),
        kind = request.kind.kind.as_str(),
        namespace = request.namespace.as_str(),
        name = request.name.as_str(),
        user = request.username.as_deref().unwrap_or(""),
        operation = labels.operation,
        mode,
        outcome = labels.outcome,
        changes = ?changes,
        findings = summary.findings.len(),
        dry_run = request.dry_run,
        duration_us = elapsed.as_micros() as u64,
        "reviewed"
    );
}

fn kind_label(request: &AdmissionRequest) -> &'static str {
    Kind::of_group_kind(&request.kind.group, &request.kind.kind).map_or("other", Kind::name)
}

fn operation_label(operation: &Operation) -> &'static str {
    match operation {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
        Operation::Connect => "CONNECT",
    }
}
