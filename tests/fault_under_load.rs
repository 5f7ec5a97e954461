//! SIGTERM and certificate rotation while the real `autoredeploy serve` binary is under
//! closed-loop load on loopback: no accepted request is lost, and no request fails across the
//! swap. TLS garbage, abrupt disconnects and slow clients are in `fault_abuse.rs`, the
//! 20,000-request soak in `fault_soak.rs`; the single-client versions are in `serve_tls.rs`.

use crate::fault_support;

use std::sync::atomic::Ordering;
use std::time::Instant;

use autoredeploy::server::certs;
use autoredeploy::testing::client::{HTTP11, connector, served_certificate};
use autoredeploy::testing::server::poll_until;
use fault_support::{
    CONNECTIONS, DEADLINE, Ending, Load, ServerProcess, assert_all_answered, assert_served,
    dev_tls, reviewed_at_least,
};
use rustls_pki_types::pem::PemObject;

/// Accepted = the server logged "reviewed" for the uid. Every accepted request got its 200;
/// every request without a 200 was refused (no connection) or never written (the server had
/// asked for a new connection) AND never reviewed; no request written on an open connection
/// went unanswered; nothing sent before the signal failed at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_accepted_request() {
    let dir = tempfile::tempdir().unwrap();
    let certs_dir = dir.path().to_str().unwrap();
    let mut server = ServerProcess::start(
        dir.path(),
        &["--dev-certs", certs_dir, "--shutdown-timeout", "20"],
    );
    let tls = dev_tls(dir.path());
    assert_served(&tls, server.webhook, DEADLINE).await;
    let load = Load::start(&tls, &server, 16);
    reviewed_at_least(&server, 300).await;
    load.stop_on_refusal.store(true, Ordering::Relaxed);
    let signalled = Instant::now();
    server.terminate();
    let (status, server) =
        tokio::task::spawn_blocking(move || (server.wait_exit(DEADLINE), server))
            .await
            .unwrap();
    assert_eq!(status.code(), Some(0), "clean exit after the drain");
    let tally = load.finish().await;
    let reviewed = server.reviewed_uids();
    assert!(tally.lost().is_empty(), "lost: {:?}", tally.lost());
    for (uid, ending, at) in &tally.endings {
        match ending {
            Ending::Answered => assert!(reviewed.contains(uid), "{uid} answered, not logged"),
            _ => {
                assert!(!reviewed.contains(uid), "{uid} reviewed but got {ending:?}");
                assert!(
                    *at > signalled,
                    "{uid} failed before the signal: {ending:?}"
                );
            }
        }
    }
    let answered: std::collections::HashSet<&String> = tally
        .endings
        .iter()
        .filter(|(_, e, _)| *e == Ending::Answered)
        .map(|(uid, _, _)| uid)
        .collect();
    let lost: Vec<_> = reviewed
        .iter()
        .filter(|uid| uid.starts_with("fault-") && !answered.contains(uid))
        .collect();
    assert!(lost.is_empty(), "reviewed but never answered: {lost:?}");
    let after = tally
        .endings
        .iter()
        .filter(|(_, e, at)| *e == Ending::Answered && *at > signalled);
    eprintln!(
        "answered {} ({} after the signal), not sent {}, closed unanswered {}, refused {}",
        answered.len(),
        after.count(),
        tally.count(&Ending::NotSent),
        tally.count(&Ending::ClosedUnanswered),
        tally.count(&Ending::Refused)
    );
    // The drain answers what arrives on open connections with `Connection: close` before
    // it closes any: no request that was written goes unanswered.
    assert_eq!(
        tally.count(&Ending::ClosedUnanswered),
        0,
        "requests written into a closing connection"
    );
    assert!(
        tally.count(&Ending::NotSent) > 0,
        "the drain asked the kept-alive clients to reconnect"
    );
}

/// Replace `tls.crt` and `tls.key` by rename, as a cert-manager or a hand rotation would.
fn rotate(dir: &std::path::Path, pair: &certs::GeneratedCerts) {
    for (name, pem) in [
        (certs::CERT_FILE, &pair.cert_pem),
        (certs::KEY_FILE, &pair.key_pem),
    ] {
        let tmp = dir.join(format!("{name}.tmp"));
        std::fs::write(&tmp, pem).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    }
}

fn der(pem: &str) -> Vec<u8> {
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

/// Kept-alive connections under load and a fresh handshake per request, across three
/// rotations: every request answered, every new handshake served the newest certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_rotation_under_load_loses_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let names = vec!["localhost".to_string()];
    let pairs: Vec<_> = (0..4).map(|_| certs::generate(&names).unwrap()).collect();
    rotate(dir.path(), &pairs[0]);
    let (cert, key) = (
        dir.path().join(certs::CERT_FILE),
        dir.path().join(certs::KEY_FILE),
    );
    let server = ServerProcess::start(
        dir.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let cas: Vec<&[u8]> = pairs.iter().map(|p| p.ca_pem.as_bytes()).collect();
    let tls = connector(&cas, &[HTTP11]);
    assert_served(&tls, server.webhook, DEADLINE).await;
    let load = Load::start(&tls, &server, CONNECTIONS);
    let fresh = Load::start_fresh(&tls, &server);
    reviewed_at_least(&server, 100).await;
    for pair in &pairs[1..] {
        rotate(dir.path(), pair);
        let want = der(&pair.cert_pem);
        poll_until(DEADLINE, "the rotated certificate", || async {
            (served_certificate(&tls, server.webhook).await == want).then_some(())
        })
        .await;
    }
    let fresh_tally = fresh.finish().await;
    assert_all_answered(&load.finish().await);
    assert_all_answered(&fresh_tally);
}
