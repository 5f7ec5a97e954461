//! A bounded soak of the real `autoredeploy serve` binary: 20,000 reviews (every recorded
//! fixture, kept-alive connections plus a fresh TLS connection every 50 requests) must all
//! be answered, and resident memory after them must stay near what it was after warm-up:
//! a leak of even a few hundred bytes per request would show.

use crate::fault_support;
use autoredeploy::testing::recorded;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fault_support::{CONNECTIONS, Client, DEADLINE, ServerProcess, assert_served, dev_tls};
use serde_json::Value;
use tokio_rustls::TlsConnector;

const WARM_UP: u64 = 2_000;
const SOAK: u64 = 20_000;
const FRESH_EVERY: u64 = 50;
/// RSS may grow this much after warm-up (allocator slack), and no more.
const TOLERANCE_KIB: u64 = 4 * 1024;

/// Send `n` reviews over `CONNECTIONS` clients; every one must be answered 200.
async fn send(tls: &TlsConnector, addr: std::net::SocketAddr, n: u64) {
    let bodies: Arc<Vec<(String, Vec<u8>)>> = Arc::new(
        recorded::fixtures()
            .into_iter()
            .map(|(_, bytes)| {
                let review: Value = serde_json::from_slice(&bytes).unwrap();
                (review["request"]["uid"].as_str().unwrap().to_owned(), bytes)
            })
            .collect(),
    );
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (tls, bodies, next) = (tls.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(&tls, addr).await.expect("connect");
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                if i % FRESH_EVERY == 0 {
                    client = Client::connect(&tls, addr).await.expect("reconnect");
                }
                let (uid, body) = &bodies[i as usize % bodies.len()];
                let (status, answer) = client.post(body.clone()).await.expect("answer");
                assert_eq!(status, 200, "request {i}");
                let answer: Value = serde_json::from_slice(&answer).expect("JSON");
                assert_eq!(answer["response"]["uid"], uid.as_str(), "request {i}");
            }
        }));
    }
    for task in tasks {
        task.await.expect("every review answered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twenty_thousand_request_soak_keeps_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--dev-certs", dir.path().to_str().unwrap()]);
    let tls = dev_tls(dir.path());
    send(&tls, server.webhook, WARM_UP).await;
    let warm = server.memory_kib("VmRSS");
    send(&tls, server.webhook, SOAK).await;
    let end = server.memory_kib("VmRSS");
    let peak = server.memory_kib("VmHWM");
    eprintln!("VmRSS after warm-up {warm} KiB, after the soak {end} KiB; VmHWM {peak} KiB");
    assert!(
        end <= warm + TOLERANCE_KIB,
        "RSS grew from {warm} KiB to {end} KiB over {SOAK} requests"
    );
    assert_served(&tls, server.webhook, DEADLINE).await;
}
