//! Hostile and slow clients against the real `autoredeploy serve` binary: TLS garbage and
//! abrupt disconnects in the middle of load (the load never notices, and no connection is
//! left behind), 1,000 slow clients holding connections open while a new client is served
//! within its deadline, and a connection cap smaller than the slow crowd that still frees
//! itself within the handshake timeout, as an operator would expect.

use crate::fault_support;

use std::net::SocketAddr;
use std::time::Duration;

use autoredeploy::server::run::TLS_HANDSHAKE_TIMEOUT;
use autoredeploy::testing::client::tls_connect;
use autoredeploy::testing::server::poll_until;
use fault_support::{
    CONNECTIONS, DEADLINE, Load, ServerProcess, assert_all_answered, assert_served, dev_tls,
    metric, review_template, reviewed_at_least,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const ABUSERS: usize = 300;
const SLOW_CLIENTS: usize = 1_000;
/// How long a new client may wait for its answer beside 1,000 slow ones.
const NEW_CLIENT_DEADLINE: Duration = Duration::from_secs(5);
const OPEN: &str = "autoredeploy_connections_open";

/// One kind of misbehaviour, chosen by `i`.
async fn abuse(tls: &TlsConnector, addr: SocketAddr, i: usize) {
    let Ok(mut tcp) = TcpStream::connect(addr).await else {
        return;
    };
    let review = serde_json::to_vec(&review_template()).unwrap();
    let _ = match i % 6 {
        0 => {
            tcp.write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0xde, 0xad])
                .await
        }
        1 => {
            tcp.write_all(b"POST /mutate HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
        }
        2 => {
            tcp.write_all(&(0..=255u8).cycle().skip(i).take(4096).collect::<Vec<_>>())
                .await
        }
        3 => tcp.set_zero_linger(), // dropped with a TCP reset
        4 => {
            let mut tls = tls_connect(tls, addr).await;
            tls.write_all(b"POST /mutate HTTP/1.1\r\nhost: localhost\r\ncontent-le")
                .await
        }
        _ => {
            let mut tls = tls_connect(tls, addr).await;
            let head = format!(
                "POST /mutate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\n\r\n",
                review.len()
            );
            let _ = tls.write_all(head.as_bytes()).await;
            tls.write_all(&review[..review.len() / 2]).await
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_garbage_and_abrupt_disconnects_under_load_leave_the_server_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--dev-certs", dir.path().to_str().unwrap()]);
    let tls = dev_tls(dir.path());
    let load = Load::start(&tls, &server, CONNECTIONS);
    reviewed_at_least(&server, 100).await;
    for i in 0..ABUSERS {
        abuse(&tls, server.webhook, i).await;
    }
    reviewed_at_least(&server, 300).await;
    assert_all_answered(&load.finish().await);
    assert_served(&tls, server.webhook, DEADLINE).await;
    poll_until(DEADLINE, "every abusive connection closed", || async {
        metric(server.admin, OPEN).await.filter(|n| *n == 0)
    })
    .await;
}

/// Connected and silent, half a TLS record, or TLS done and half an HTTP header.
async fn slow_client(tls: &TlsConnector, addr: SocketAddr, i: usize) -> Box<dyn Send> {
    let mut tcp = TcpStream::connect(addr)
        .await
        .expect("slow client connects");
    match i % 3 {
        0 => Box::new(tcp),
        1 => {
            tcp.write_all(&[0x16, 0x03, 0x01, 0x02]).await.unwrap();
            Box::new(tcp)
        }
        _ => {
            let mut tls = tls_connect(tls, addr).await;
            tls.write_all(b"POST /mutate HTTP/1.1\r\nhost: loc")
                .await
                .unwrap();
            Box::new(tls)
        }
    }
}

/// The test process holds one end of every slow connection and the server the other.
fn raise_open_file_limit(clients: usize) {
    let wanted = (clients as u64 + 256) * 2;
    let limit = rlimit::increase_nofile_limit(wanted).expect("raise RLIMIT_NOFILE");
    assert!(limit >= wanted, "open-file limit {limit} < {wanted}");
}

async fn hold_slow_clients(
    tls: &TlsConnector,
    server: &ServerProcess,
    n: usize,
) -> Vec<Box<dyn Send>> {
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        held.push(slow_client(tls, server.webhook, i).await);
    }
    held
}

/// The default cap (1,024) is above 1,000 slow clients: a new one is served at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_clients_do_not_stop_a_new_client_being_served() {
    raise_open_file_limit(SLOW_CLIENTS);
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--dev-certs", dir.path().to_str().unwrap()]);
    let tls = dev_tls(dir.path());
    let held = hold_slow_clients(&tls, &server, SLOW_CLIENTS).await;
    poll_until(DEADLINE, "the slow clients accepted", || async {
        metric(server.admin, OPEN)
            .await
            .filter(|n| *n >= SLOW_CLIENTS as u64)
    })
    .await;
    assert_served(&tls, server.webhook, NEW_CLIENT_DEADLINE).await;
    drop(held);
}

/// A cap below the slow crowd holds (never more connections open than the cap), and the
/// handshake and header timeouts free it: a new client is served within the TLS handshake
/// timeout plus a margin, not never.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_connection_cap_frees_itself_within_the_handshake_timeout() {
    const CAP: usize = 50;
    raise_open_file_limit(2 * CAP);
    let dir = tempfile::tempdir().unwrap();
    let cap = CAP.to_string();
    let args = [
        "--dev-certs",
        dir.path().to_str().unwrap(),
        "--max-connections",
        &cap,
    ];
    let server = ServerProcess::start(dir.path(), &args);
    let tls = dev_tls(dir.path());
    // Only silent or half-TLS clients: TLS-done ones would wait for a permit themselves.
    let mut held = Vec::new();
    for i in 0..2 * CAP {
        let tcp = TcpStream::connect(server.webhook).await.expect("connect");
        if i % 2 == 1 {
            let _ = tcp.try_write(&[0x16, 0x03, 0x01]);
        }
        held.push(tcp);
    }
    poll_until(DEADLINE, "the cap reached", || async {
        metric(server.admin, OPEN)
            .await
            .filter(|n| *n == CAP as u64)
    })
    .await;
    assert_eq!(
        metric(server.admin, OPEN).await,
        Some(CAP as u64),
        "the cap holds"
    );
    assert_served(
        &tls,
        server.webhook,
        2 * TLS_HANDSHAKE_TIMEOUT + NEW_CLIENT_DEADLINE,
    )
    .await;
    drop(held);
}
