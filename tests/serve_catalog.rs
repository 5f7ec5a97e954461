//! `serve` with the live catalog, end to end: the real binary watches ImageStreams from a fake
//! API server on loopback (through `--kubeconfig`), `/readyz` waits for the first full list,
//! and reviews bind external images without being told: a CREATE of a Deployment running
//! `docker.io/x/y:latest` gets the trigger annotation and the tag's digest, and a re-apply of
//! the same manifest keeps the running digest (no double rollout).

use autoredeploy::testing::recorded;

use std::time::Duration;

use autoredeploy::testing::client::{Http1, admin_get, connector};
use autoredeploy::testing::fake_api::FakeApi;
use autoredeploy::testing::server::{Server, poll_until};
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(20);
const NAMESPACE: &str = "whtest";
const SOURCE: &str = "docker.io/x/y:latest";
const DIGEST_IMAGE: &str =
    "docker.io/x/y@sha256:4bd1a5cc0b2b3bd6ab5a0a1e3c1f0f0f7c7b8e0c6d9f5a4b3c2d1e0f9a8b7c6d";
const TRIGGER_CONTROLLER: &str = "system:serviceaccount:openshift-infra:image-trigger-controller";

fn stream() -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "y", "namespace": NAMESPACE},
        "spec": {"tags": [{"name": "latest", "from": {"kind": "DockerImage", "name": SOURCE},
            "importPolicy": {"scheduled": true}, "referencePolicy": {"type": "Source"}}]},
        "status": {"dockerImageRepository": "image-registry.openshift-image-registry.svc:5000/whtest/y",
            "tags": [{"tag": "latest", "items": [{"dockerImageReference": DIGEST_IMAGE,
                "image": "sha256:4bd1a5cc0b2b3bd6ab5a0a1e3c1f0f0f7c7b8e0c6d9f5a4b3c2d1e0f9a8b7c6d"}]}]}})
}

/// `serve` with the catalog watching `api`, once ready, and a TLS client to its webhook port
/// (the directory holds its kubeconfig and certificates, and must outlive the server).
pub(crate) async fn serve_on(api: &FakeApi) -> (tempfile::TempDir, Server, Http1) {
    let dir = tempfile::tempdir().unwrap();
    let config = api.kubeconfig(dir.path());
    let certs = dir.path().join("certs");
    let args = [
        "--catalog",
        "auto",
        "--kubeconfig",
        config.to_str().unwrap(),
    ];
    let server = tokio::task::block_in_place(|| Server::start_dev(&certs, &args));
    poll_until(DEADLINE, "readiness after the first list", || async {
        let (status, _) = admin_get(server.admin, "/readyz").await;
        (status == StatusCode::OK).then_some(())
    })
    .await;
    let ca = std::fs::read(certs.join("ca.crt")).unwrap();
    let tls = connector(&[&ca], &[b"http/1.1"]);
    let client = Http1::connect(&tls, server.webhook).await;
    (dir, server, client)
}

/// The recorded Deployment CREATE, running `image` (and, on UPDATE, `old_image`).
fn deployment_review(image: &str, old_image: Option<&str>, username: &str) -> Value {
    let mut review = recorded::fixture("deployment-create.json");
    let request = &mut review["request"];
    request["object"]["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
    request["userInfo"]["username"] = json!(username);
    if let Some(old_image) = old_image {
        let mut old = request["object"].clone();
        old["spec"]["template"]["spec"]["containers"][0]["image"] = json!(old_image);
        request["operation"] = json!("UPDATE");
        request["oldObject"] = old;
    }
    review
}

/// The object as the API server would store it after our answer.
async fn review(client: &mut Http1, review: &Value) -> Value {
    let (status, body) = client
        .post_json("/mutate", serde_json::to_vec(review).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let response: Value = serde_json::from_slice(&body).unwrap();
    autoredeploy::testing::assert_accepted_by_apiserver(review, &response);
    let mut object = review["request"]["object"].clone();
    if let Some(patch) = response["response"]["patch"].as_str() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(patch)
            .unwrap();
        let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
        json_patch::patch(&mut object, &patch).unwrap();
    }
    object
}

fn container_image(object: &Value) -> &str {
    object["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_image_is_bound_through_the_watched_catalog_and_keeps_its_digest() {
    let api = FakeApi::start([stream()]).await;
    let (_dir, server, mut client) = serve_on(&api).await;

    let created = review(&mut client, &deployment_review(SOURCE, None, "alice")).await;
    let triggers: Value = serde_json::from_str(
        created["metadata"]["annotations"]["image.openshift.io/triggers"]
            .as_str()
            .expect("trigger annotation"),
    )
    .unwrap();
    assert_eq!(
        triggers,
        json!([{"from": {"kind": "ImageStreamTag", "name": "y:latest"},
            "fieldPath": "spec.template.spec.containers[?(@.name==\"web\")].image"}])
    );
    assert_eq!(
        container_image(&created),
        DIGEST_IMAGE,
        "CREATE runs the digest"
    );

    let reapplied = deployment_review(SOURCE, Some(DIGEST_IMAGE), "alice");
    let updated = review(&mut client, &reapplied).await;
    assert_eq!(
        container_image(&updated),
        DIGEST_IMAGE,
        "re-apply keeps the digest"
    );

    let controller = deployment_review(DIGEST_IMAGE, Some(SOURCE), TRIGGER_CONTROLLER);
    let untouched = review(&mut client, &controller).await;
    assert_eq!(untouched, controller["request"]["object"]);

    let (_, metrics) = admin_get(server.admin, "/metrics").await;
    assert!(
        metrics.contains("autoredeploy_catalog_state{state=\"ready\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("autoredeploy_catalog_streams 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_waits_for_the_first_list_of_image_streams() {
    let api = FakeApi::start([stream()]).await;
    api.fail_lists(true);
    let dir = tempfile::tempdir().unwrap();
    let config = api.kubeconfig(dir.path());
    let certs = dir.path().join("certs");
    let args = [
        "--catalog",
        "auto",
        "--kubeconfig",
        config.to_str().unwrap(),
    ];
    let server = tokio::task::block_in_place(|| Server::start_dev(&certs, &args));
    poll_until(DEADLINE, "a failed list", || async {
        (api.lists_failed() > 0).then_some(())
    })
    .await;
    let (status, _) = admin_get(server.admin, "/readyz").await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready before the first list"
    );
    let (_, metrics) = admin_get(server.admin, "/metrics").await;
    assert!(
        metrics.contains("autoredeploy_catalog_state{state=\"syncing\"} 1"),
        "{metrics}"
    );

    api.fail_lists(false);
    poll_until(DEADLINE, "readiness once the list succeeds", || async {
        let (status, _) = admin_get(server.admin, "/readyz").await;
        (status == StatusCode::OK).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cluster_access_serve_runs_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-kubeconfig");
    let certs = dir.path().join("certs");
    let args = [
        "--catalog",
        "auto",
        "--kubeconfig",
        missing.to_str().unwrap(),
    ];
    let mut server = tokio::task::block_in_place(|| Server::start_dev(&certs, &args));
    let line = server.wait_for_log(
        |l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("catalog unavailable"))
        },
        DEADLINE,
    );
    assert!(
        line["error"].as_str().unwrap().contains("no-kubeconfig"),
        "{line}"
    );
    let (status, _) = admin_get(server.admin, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let (_, metrics) = admin_get(server.admin, "/metrics").await;
    assert!(
        metrics.contains("autoredeploy_catalog_state{state=\"unavailable\"} 1"),
        "{metrics}"
    );
}
