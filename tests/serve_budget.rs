//! Registry pull budgets through the real `serve` binary: with the live catalog (a fake API
//! server on loopback) holding streams that use up Docker Hub's default budget, a new Docker
//! Hub ImageStream is admitted unscheduled with a warning (in enforce and audit alike) while a
//! quay.io one is still scheduled, and the per-registry gauges show the projected use; without
//! a catalog, `serve` says once at start that budgets count only the object under review.

use crate::serve_catalog::serve_on;

use std::time::Duration;

use autoredeploy::testing::client::{Http1, admin_get};
use autoredeploy::testing::fake_api::FakeApi;
use autoredeploy::testing::server::Server;
use axum::http::StatusCode;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(20);
const NAMESPACE: &str = "whtest";

/// A stored stream with one scheduled tag tracking `from`.
fn scheduled_stream(name: &str, from: &str) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"tags": [{"name": "latest", "from": {"kind": "DockerImage", "name": from},
            "importPolicy": {"scheduled": true}, "referencePolicy": {"type": "Source"}}]}})
}

/// The recorded ImageStream CREATE, its one tag tracking `from`.
fn stream_review(from: &str) -> Value {
    let mut review = autoredeploy::testing::recorded::fixture("imagestream-create.json");
    review["request"]["object"]["spec"]["tags"][0]["from"]["name"] = json!(from);
    review
}

/// The response of one review on `path`.
async fn answer(client: &mut Http1, path: &str, review: &Value) -> Value {
    let (status, body) = client
        .post_json(path, serde_json::to_vec(review).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let response: Value = serde_json::from_slice(&body).unwrap();
    autoredeploy::testing::assert_accepted_by_apiserver(review, &response);
    response["response"].clone()
}

fn warnings(response: &Value) -> Vec<String> {
    response["warnings"]
        .as_array()
        .map(|w| w.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_docker_hub_stream_is_admitted_unscheduled_once_the_budget_is_used() {
    let api = FakeApi::start([
        scheduled_stream("one", "docker.io/example/one:latest"),
        scheduled_stream("two", "example/two:latest"),
    ])
    .await;
    let (_dir, server, mut client) = serve_on(&api).await;

    let hub = stream_review("docker.io/example/three:latest");
    let response = answer(&mut client, "/mutate", &hub).await;
    assert_eq!(response["allowed"], true);
    assert!(response.get("patch").is_none(), "{response}");
    let said = warnings(&response);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with(
            "autoredeploy: tag \"latest\" left unscheduled: docker.io would reach 72 pulls/6h"
        ),
        "{said:?}"
    );
    let audited = answer(&mut client, "/audit", &hub).await;
    assert!(
        warnings(&audited)[0].starts_with("(audit) autoredeploy: tag \"latest\" left unscheduled"),
        "{audited}"
    );

    let quay = answer(
        &mut client,
        "/mutate",
        &stream_review("quay.io/example/three:1"),
    )
    .await;
    assert!(quay["patch"].is_string(), "quay.io has no budget: {quay}");

    let (_, metrics) = admin_get(server.admin, "/metrics").await;
    for expected in [
        "autoredeploy_registry_scheduled_tags{registry=\"docker.io\"} 2",
        "autoredeploy_registry_projected_pulls{registry=\"docker.io\",window=\"6h\"} 48",
        "autoredeploy_registry_budget_pulls{registry=\"docker.io\",window=\"6h\"} 50",
        // The refusals, once in enforce and once in audit, are counted as findings.
        "autoredeploy_findings_total{code=\"pull-budget\",mode=\"enforce\"} 1",
        "autoredeploy_findings_total{code=\"pull-budget\",mode=\"audit\"} 1",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_catalog_serve_says_once_that_budgets_count_only_the_object() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let args = ["--catalog", "off", "--registry-budget", "quay.io=10/1h"];
    let mut server = tokio::task::block_in_place(|| Server::start_dev(&certs, &args));
    let line = server.wait_for_log(
        |l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("no ImageStream catalog: registry pull budgets"))
        },
        DEADLINE,
    );
    assert_eq!(line["budgets"], "docker.io=50/6h,quay.io=10/1h", "{line}");
    let (_, metrics) = admin_get(server.admin, "/metrics").await;
    assert!(
        metrics
            .contains("autoredeploy_registry_budget_pulls{registry=\"quay.io\",window=\"1h\"} 10"),
        "{metrics}"
    );
}
