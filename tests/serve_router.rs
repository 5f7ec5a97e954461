//! The review router driven in-process with `tower::ServiceExt::oneshot`: status codes for
//! every kind of bad request, audit paths, and the admin endpoints.

use autoredeploy::testing::recorded;

use std::sync::Arc;

use autoredeploy::config::{Mode, RuleConfig};
use autoredeploy::server::admin::admin_router;
use autoredeploy::server::{AppState, CatalogSource, router};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

fn state(mode: Mode) -> Arc<AppState> {
    AppState::new(mode, RuleConfig::default(), CatalogSource::Disabled)
}

async fn call(
    app: axum::Router,
    method: &str,
    path: &str,
    ctype: &str,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, ctype)
        .body(Body::from(body))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

async fn post(path: &str, ctype: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    call(router(state(Mode::Enforce)), "POST", path, ctype, body).await
}

fn error_message(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).expect("JSON error body");
    value["error"].as_str().expect("error field").to_string()
}

#[tokio::test]
async fn every_fixture_is_answered_200_on_both_paths() {
    for (_, bytes) in recorded::fixtures() {
        let request: Value = serde_json::from_slice(&bytes).unwrap();
        for path in ["/mutate", "/audit"] {
            let (status, body) = post(path, "application/json", bytes.clone()).await;
            assert_eq!(status, StatusCode::OK);
            let response: Value = serde_json::from_slice(&body).unwrap();
            autoredeploy::testing::assert_accepted_by_apiserver(&request, &response);
        }
    }
}

#[tokio::test]
async fn content_type_with_charset_is_json() {
    let (_, bytes) = recorded::fixtures().remove(0);
    let (status, _) = post("/mutate", "application/json; charset=utf-8", bytes).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_requests_get_json_errors_with_the_right_status() {
    let (status, body) = post("/mutate", "application/json", b"{garbage".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_message(&body).contains("not a valid AdmissionReview"));
    let mut no_uid = recorded::fixture("deployment-create.json");
    no_uid["request"].as_object_mut().unwrap().remove("uid");
    let (status, body) = post("/mutate", "application/json", no_uid.to_string().into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_message(&body).contains("request.uid"));
    let nested = autoredeploy::testing::nested_arrays(100_000);
    let (status, _) = post("/mutate", "application/json", nested).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = post("/mutate", "text/plain", b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    error_message(&body);
    let big = vec![b' '; 8 * 1024 * 1024];
    let (status, body) = post("/mutate", "application/json", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    error_message(&body);
    let (status, body) = post("/nope", "application/json", b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_message(&body);
    let app = router(state(Mode::Enforce));
    let (status, body) = call(app, "GET", "/mutate", "application/json", vec![]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    error_message(&body);
}

#[tokio::test]
async fn global_audit_mode_makes_mutate_audit() {
    let (_, bytes) = recorded::fixtures().remove(0);
    let app = router(state(Mode::Audit));
    let (status, _) = call(app, "POST", "/mutate", "application/json", bytes).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn admin_endpoints_report_health_readiness_and_metrics() {
    let shared = state(Mode::Enforce);
    let bytes = recorded::fixture("deployment-create.json")
        .to_string()
        .into_bytes();
    let (status, _) = call(
        router(shared.clone()),
        "POST",
        "/mutate",
        "application/json",
        bytes,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        router(shared.clone()),
        "POST",
        "/mutate",
        "text/plain",
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let admin = |path: &'static str| call(admin_router(shared.clone()), "GET", path, "", vec![]);
    assert_eq!(admin("/healthz").await.0, StatusCode::OK);
    assert_eq!(admin("/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
    shared.set_ready(true);
    assert_eq!(admin("/readyz").await.0, StatusCode::OK);
    let (status, body) = admin("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    for expected in [
        "autoredeploy_reviews_total{kind=\"Deployment\",operation=\"CREATE\",mode=\"enforce\",outcome=\"unchanged\",dry_run=\"false\"} 1",
        "autoredeploy_bad_requests_total{reason=\"content-type\"} 1",
        "autoredeploy_review_duration_seconds_bucket{le=\"0.001\"}",
        "autoredeploy_catalog_state{state=\"disabled\"} 1",
        "autoredeploy_connections_open",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
}

/// Draining: HTTP/1 answers (reviews and errors alike) ask the client to reconnect; HTTP/2
/// answers never carry the connection-specific header; before the drain nothing does.
#[tokio::test]
async fn draining_answers_ask_http1_clients_to_reconnect() {
    let state = state(Mode::Enforce);
    let app = router(state.clone());
    let body = serde_json::to_vec(&recorded::fixture("deployment-create.json")).unwrap();
    let send = |version, path: &str| {
        Request::builder()
            .method("POST")
            .uri(path)
            .version(version)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let http1 = axum::http::Version::HTTP_11;
    let before = app.clone().oneshot(send(http1, "/mutate")).await.unwrap();
    assert_eq!(before.status(), StatusCode::OK);
    assert!(before.headers().get(header::CONNECTION).is_none());

    state.start_draining();
    assert!(!state.is_ready(), "not ready while draining");
    for path in ["/mutate", "/audit", "/nowhere"] {
        let during = app.clone().oneshot(send(http1, path)).await.unwrap();
        assert_eq!(during.headers()[header::CONNECTION], "close", "{path}");
    }
    let during = app
        .clone()
        .oneshot(send(axum::http::Version::HTTP_2, "/mutate"))
        .await;
    let during = during.unwrap();
    assert_eq!(during.status(), StatusCode::OK);
    assert!(during.headers().get(header::CONNECTION).is_none());
}
