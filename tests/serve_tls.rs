//! The real `autoredeploy serve` binary over loopback TLS: recorded reviews with ALPN
//! `http/1.1` only, audit mode, a battery of bad input after which it still answers, a
//! certificate swap through a `..data` symlink mid-traffic, SIGTERM with requests in flight,
//! the admin port, and `autoredeploy certs`.

use autoredeploy::testing::recorded;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use autoredeploy::server::certs;
use autoredeploy::testing::client::{
    HTTP11, Http1, admin_get, connector, raw_request, served_certificate,
};
use autoredeploy::testing::server::{Server, poll_until};
use hyper::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(20);

fn ca(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(certs::CA_FILE)).expect("ca.crt")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_are_answered_over_tls_with_http11_alpn_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_dev(dir.path(), &[]);
    let tls = connector(&[&ca(dir.path())], &[HTTP11]);
    let mut client = Http1::connect(&tls, server.webhook).await;
    for (name, bytes) in recorded::fixtures() {
        let request: Value = serde_json::from_slice(&bytes).unwrap();
        for path in ["/mutate", "/audit"] {
            let (status, body) = client.post_json(path, bytes.clone()).await;
            assert_eq!(status, StatusCode::OK, "{name} {path}");
            let response: Value = serde_json::from_slice(&body).unwrap();
            autoredeploy::testing::assert_accepted_by_apiserver(&request, &response);
        }
    }
    let uid = recorded::fixture("deployment-create.json")["request"]["uid"].clone();
    let line = server.wait_for_log(|l| l["message"] == "reviewed" && l["uid"] == uid, DEADLINE);
    assert_eq!(line["kind"], "Deployment");
    assert_eq!(line["namespace"], "whtest");
    assert_eq!(line["operation"], "CREATE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_audit_mode_reviews_mutate_in_audit() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_dev(dir.path(), &["--mode", "audit"]);
    let tls = connector(&[&ca(dir.path())], &[HTTP11]);
    let bytes = std::fs::read(Path::new(recorded::FIXTURE_DIR).join("deployment-create.json"));
    let (status, _) = Http1::connect(&tls, server.webhook)
        .await
        .post_json("/mutate", bytes.unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let line = server.wait_for_log(|l| l["message"] == "reviewed", DEADLINE);
    assert_eq!(line["mode"], "audit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_dev(dir.path(), &[]);
    let tls = connector(&[&ca(dir.path())], &[HTTP11]);
    let mut fixture = recorded::fixture("deployment-create.json");
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode)> = vec![
        (
            "/mutate",
            "application/json",
            b"{not json".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/mutate",
            "application/json",
            br#"{"apiVersion":5}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/mutate",
            "application/json",
            autoredeploy::testing::nested_arrays(100_000),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/mutate",
            "text/plain",
            b"{}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "/nowhere",
            "application/json",
            b"{}".to_vec(),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (path, ctype, body, expected) in cases {
        // A fresh connection each time: a 413 may close the connection before the body is read.
        let mut client = Http1::connect(&tls, server.webhook).await;
        let (status, body) = client.send("POST", path, ctype, body).await.expect(path);
        assert_eq!(status, expected, "{path} {ctype}");
        let error: Value = serde_json::from_slice(&body).expect("JSON error");
        assert!(error["error"].is_string());
    }
    // Raw, since the server answers 413 before reading the body and closes.
    let big = vec![vec![b' '; 8 << 20]];
    let status = raw_request(
        &tls,
        server.webhook,
        "/mutate",
        "application/json",
        big,
        None,
    );
    assert_eq!(status.await, 413);
    fixture["request"]["uid"] = Value::from(7);
    let (status, _) = Http1::connect(&tls, server.webhook)
        .await
        .post_json("/mutate", fixture.to_string().into_bytes())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    send_tls_garbage(server.webhook).await;
    disconnect_mid_handshake(server.webhook).await;
    let bytes = recorded::fixture("imagestream-create.json")
        .to_string()
        .into_bytes();
    let (status, _) = Http1::connect(&tls, server.webhook)
        .await
        .post_json("/mutate", bytes)
        .await;
    assert_eq!(status, StatusCode::OK, "still serving after the battery");
    let (_, metrics) = admin_get(server.admin, "/metrics").await;
    assert!(
        metrics.contains("autoredeploy_tls_handshake_failures_total"),
        "{metrics}"
    );
}

async fn send_tls_garbage(addr: std::net::SocketAddr) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef])
        .await
        .unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut sink = Vec::new();
    let read = tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "server closes a garbage connection");
}

async fn disconnect_mid_handshake(addr: std::net::SocketAddr) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // The first bytes of a TLS ClientHello record, then gone.
    tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
        .await
        .unwrap();
    drop(tcp);
}

/// A Kubernetes-style Secret volume: `tls.crt -> ..data/tls.crt`, `..data -> ..vN`.
fn publish(dir: &Path, version: &str, cert_pem: &str, key_pem: &str) {
    let versioned = dir.join(version);
    std::fs::create_dir(&versioned).unwrap();
    std::fs::write(versioned.join(certs::CERT_FILE), cert_pem).unwrap();
    std::fs::write(versioned.join(certs::KEY_FILE), key_pem).unwrap();
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink(version, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    for name in [certs::CERT_FILE, certs::KEY_FILE] {
        let link = dir.join(name);
        if link.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(name), link).unwrap();
        }
    }
}

fn der_of(pem: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

async fn metric_count(admin: std::net::SocketAddr, series: &str) -> Option<u64> {
    let (_, text) = admin_get(admin, "/metrics").await;
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_swap_mid_traffic_loses_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let names = vec!["localhost".to_string()];
    let (v1, v2) = (
        certs::generate(&names).unwrap(),
        certs::generate(&names).unwrap(),
    );
    publish(dir.path(), "..v1", &v1.cert_pem, &v1.key_pem);
    let cert = dir.path().join(certs::CERT_FILE);
    let key = dir.path().join(certs::KEY_FILE);
    let server = Server::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--tls-reload-interval",
        "1",
    ]);
    let tls = connector(&[v1.ca_pem.as_bytes(), v2.ca_pem.as_bytes()], &[HTTP11]);
    assert_eq!(
        served_certificate(&tls, server.webhook).await,
        der_of(&v1.cert_pem)
    );

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let traffic = tokio::spawn(keep_sending(
        tls.clone(),
        server.webhook,
        stop.clone(),
        sent.clone(),
    ));
    publish(dir.path(), "..v2", &v2.cert_pem, &v2.key_pem);
    let v2_der = der_of(&v2.cert_pem);
    poll_until(DEADLINE, "the new certificate", || async {
        (served_certificate(&tls, server.webhook).await == v2_der).then_some(())
    })
    .await;
    // A bad pair (v1's key with v2's certificate) is refused; v2 keeps serving.
    publish(dir.path(), "..v3", &v2.cert_pem, &v1.key_pem);
    let series = "autoredeploy_tls_reloads_total{result=\"error\"}";
    poll_until(DEADLINE, "a failed reload", || {
        metric_count(server.admin, series)
    })
    .await;
    assert_eq!(served_certificate(&tls, server.webhook).await, v2_der);
    stop.store(true, Ordering::Relaxed);
    traffic
        .await
        .expect("every request during the swap succeeded");
    assert!(sent.load(Ordering::Relaxed) > 0);
    let ok = "autoredeploy_tls_reloads_total{result=\"ok\"}";
    assert_eq!(metric_count(server.admin, ok).await, Some(1));
}

/// Reviews on a kept-alive connection and on fresh ones until `stop`; panics on any failure.
async fn keep_sending(
    tls: tokio_rustls::TlsConnector,
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
) {
    let body = recorded::fixture("deploymentconfig-create.json")
        .to_string()
        .into_bytes();
    let mut kept = Http1::connect(&tls, addr).await;
    while !stop.load(Ordering::Relaxed) {
        let (status, _) = kept.post_json("/mutate", body.clone()).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = Http1::connect(&tls, addr)
            .await
            .post_json("/mutate", body.clone())
            .await;
        assert_eq!(status, StatusCode::OK);
        sent.fetch_add(2, Ordering::Relaxed);
    }
}

/// One review whose body is sent in two halves, the second once `gate` opens.
async fn slow_review(
    tls: &tokio_rustls::TlsConnector,
    addr: std::net::SocketAddr,
    gate: tokio::sync::watch::Receiver<bool>,
) -> u16 {
    let body = recorded::fixture("deploymentconfig-update-kubectl-apply.json").to_string();
    let (a, b) = body.as_bytes().split_at(body.len() / 2);
    let parts = vec![a.to_vec(), b.to_vec()];
    raw_request(tls, addr, "/mutate", "application/json", parts, Some(gate)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_and_exits_zero() {
    const IN_FLIGHT: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_dev(dir.path(), &["--shutdown-timeout", "20"]);
    let tls = connector(&[&ca(dir.path())], &[HTTP11]);
    let (go, rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (tls, rx, addr) = (tls.clone(), rx.clone(), server.webhook);
        tasks.push(tokio::spawn(
            async move { slow_review(&tls, addr, rx).await },
        ));
    }
    // In flight = the server is reading the body; a request whose head has not arrived
    // yet is not, and would rightly see its idle connection closed.
    let series = "autoredeploy_requests_in_flight";
    poll_until(DEADLINE, "requests in flight", || async {
        metric_count(server.admin, series)
            .await
            .filter(|n| *n >= IN_FLIGHT as u64)
    })
    .await;
    server.terminate();
    poll_until(DEADLINE, "not ready", || async {
        let (status, _) = admin_get(server.admin, "/readyz").await;
        (status == StatusCode::SERVICE_UNAVAILABLE).then_some(())
    })
    .await;
    poll_until(DEADLINE, "listener closed", || async {
        TcpStream::connect(server.webhook)
            .await
            .is_err()
            .then_some(())
    })
    .await;
    go.send(true).unwrap();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200, "in-flight review completed");
    }
    let status = tokio::task::spawn_blocking(move || server.wait_exit(DEADLINE))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_port_serves_health_readiness_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_dev(dir.path(), &[]);
    assert_eq!(admin_get(server.admin, "/healthz").await.0, StatusCode::OK);
    assert_eq!(admin_get(server.admin, "/readyz").await.0, StatusCode::OK);
    let tls = connector(&[&ca(dir.path())], &[HTTP11]);
    let body = recorded::fixture("deployment-create.json")
        .to_string()
        .into_bytes();
    Http1::connect(&tls, server.webhook)
        .await
        .post_json("/mutate", body)
        .await;
    let (status, metrics) = admin_get(server.admin, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "autoredeploy_reviews_total{kind=\"Deployment\",operation=\"CREATE\"",
        "autoredeploy_review_duration_seconds_count 1",
        "autoredeploy_catalog_state{state=\"disabled\"} 1",
        "autoredeploy_connections_open",
    ] {
        assert!(metrics.contains(expected), "missing {expected}:\n{metrics}");
    }
}

/// Dry runs (`kubectl apply --dry-run=server`, Flux's drift check, Argo CD's server-side diff)
/// are counted as reviews, labelled `dry_run="true"`, but not as changes or findings: the
/// alerts on those counters see only what reaches the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_are_labelled_and_left_out_of_the_change_and_finding_counters() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_dev(dir.path(), &[]);
    let tls = connector(&[&ca(dir.path())], &[HTTP11]);
    let review = recorded::fixture("imagestream-create.json");
    let mut dry = review.clone();
    dry["request"]["dryRun"] = serde_json::json!(true);
    for body in [&dry, &dry, &review] {
        Http1::connect(&tls, server.webhook)
            .await
            .post_json("/mutate", body.to_string().into_bytes())
            .await;
    }
    let (status, metrics) = admin_get(server.admin, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let reviews = "autoredeploy_reviews_total{kind=\"ImageStream\",operation=\"CREATE\",mode=\"enforce\",outcome=\"patched\"";
    for expected in [
        format!("{reviews},dry_run=\"true\"}} 2"),
        format!("{reviews},dry_run=\"false\"}} 1"),
        "autoredeploy_changes_total{code=\"scheduled-import\",mode=\"enforce\"} 1".to_string(),
    ] {
        assert!(
            metrics.contains(&expected),
            "missing {expected}:\n{metrics}"
        );
    }
}
