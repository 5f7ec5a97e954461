//! The client side: N keep-alive HTTP/1.1 connections over TLS offering only ALPN
//! `http/1.1` (as kube-apiserver does), driven closed-loop (each connection sends its next
//! review when the previous answer is in) or open-loop (a pacer thread releases requests at
//! a fixed rate and latency is counted from the scheduled time, so a stalled server cannot
//! hide its queue: no coordinated omission). Every answer is checked: 200, JSON, uid echoed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls_pki_types::pem::PemObject;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio_rustls::TlsConnector;

use crate::payloads::Payload;

/// Latencies are recorded in microseconds, 1 µs to 60 s, 3 significant digits.
const HIST_MAX_US: u64 = 60_000_000;

/// How long a closed-loop round lasts.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    Requests(u64),
    Time(Duration),
}

/// Answers that would make the API server fail the call.
#[derive(Debug, Default, Clone, Copy)]
pub struct Errors {
    pub transport: u64,
    pub status: u64,
    pub bad_json: u64,
    pub uid: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.transport + self.status + self.bad_json + self.uid
    }
    fn add(&mut self, other: &Errors) {
        self.transport += other.transport;
        self.status += other.status;
        self.bad_json += other.bad_json;
        self.uid += other.uid;
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Latency from the scheduled time (open loop) or the send (closed loop), in µs.
    pub latency: Histogram<u64>,
    /// Latency from the actual send, in µs.
    pub service: Histogram<u64>,
    pub ok: u64,
    pub errors: Errors,
    pub elapsed: Duration,
}

impl Outcome {
    fn empty() -> Outcome {
        let hist = || Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("histogram bounds");
        Outcome {
            latency: hist(),
            service: hist(),
            ok: 0,
            errors: Errors::default(),
            elapsed: Duration::ZERO,
        }
    }

    fn merge(&mut self, other: &Outcome) {
        self.latency.add(&other.latency).expect("same bounds");
        self.service.add(&other.service).expect("same bounds");
        self.ok += other.ok;
        self.errors.add(&other.errors);
    }

    /// Answered requests per second.
    pub fn throughput(&self) -> f64 {
        (self.ok + self.errors.total()) as f64 / self.elapsed.as_secs_f64()
    }

    fn record(&mut self, scheduled: Instant, sent: Instant) {
        let now = Instant::now();
        let us = |from: Instant| (now - from).as_micros().max(1) as u64;
        self.latency.saturating_record(us(scheduled));
        self.service.saturating_record(us(sent));
    }
}

/// Where the requests go and what their answers must say.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub connector: TlsConnector,
    pub payloads: Arc<Vec<Payload>>,
    /// The uid every answer carries (the floor's constant), or `None`: the request's.
    pub fixed_uid: Option<&'static str>,
}

/// A client TLS configuration trusting `ca_pem`, offering only `http/1.1`.
pub fn connector(ca_pem: &[u8]) -> anyhow::Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// One kept-alive connection.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    async fn open(target: &Target) -> anyhow::Result<Connection> {
        let tcp = TcpStream::connect(target.addr).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("localhost")?;
        let tls = target.connector.connect(name, tcp).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(conn);
        Ok(Connection { sender })
    }

    /// Send one review and check its answer.
    async fn review(&mut self, target: &Target, index: usize, out: &mut Outcome, due: Instant) {
        let payload = &target.payloads[index % target.payloads.len()];
        let sent = Instant::now();
        match self.exchange(payload).await {
            Ok((status, body)) => {
                out.record(due, sent);
                check(target, payload, status, &body, out);
            }
            Err(_) => {
                out.errors.transport += 1;
                // The connection is dead; carry on with a new one when the server lets us.
                if let Ok(fresh) = Connection::open(target).await {
                    *self = fresh;
                }
            }
        }
    }

    async fn exchange(&mut self, payload: &Payload) -> anyhow::Result<(u16, Bytes)> {
        self.sender.ready().await?;
        let request = Request::post("/mutate")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(payload.body.clone()))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }
}

#[derive(serde::Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    response: AnswerInner<'a>,
}

#[derive(serde::Deserialize)]
struct AnswerInner<'a> {
    uid: &'a str,
}

fn check(target: &Target, payload: &Payload, status: u16, body: &[u8], out: &mut Outcome) {
    if status != 200 {
        out.errors.status += 1;
        return;
    }
    let Ok(answer) = serde_json::from_slice::<Answer>(body) else {
        out.errors.bad_json += 1;
        return;
    };
    let expected = target.fixed_uid.unwrap_or(&payload.uid);
    if answer.response.uid == expected {
        out.ok += 1;
    } else {
        out.errors.uid += 1;
    }
}

async fn open_all(target: &Target, n: usize) -> anyhow::Result<Vec<Connection>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(Connection::open(target).await?);
    }
    Ok(out)
}

/// Each connection sends back to back until `length` is used up.
pub async fn closed_loop(target: &Target, n: usize, length: Length) -> anyhow::Result<Outcome> {
    let connections = open_all(target, n).await?;
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|mut conn| {
            let (target, issued) = (target.clone(), issued.clone());
            tokio::spawn(async move {
                let mut out = Outcome::empty();
                loop {
                    let i = issued.fetch_add(1, Ordering::Relaxed);
                    let more = match length {
                        Length::Requests(total) => i < total,
                        Length::Time(d) => start.elapsed() < d,
                    };
                    if !more {
                        return out;
                    }
                    let due = Instant::now();
                    conn.review(&target, i as usize, &mut out, due).await;
                }
            })
        })
        .collect();
    collect(tasks, start).await
}

/// Requests released at `rate` per second for `duration`, taken by whichever connection is
/// idle; latency counts from the release time.
pub async fn open_loop(
    target: &Target,
    n: usize,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let connections = open_all(target, n).await?;
    let (tx, rx) = unbounded_channel::<Instant>();
    let rx = Arc::new(Mutex::new(rx));
    let start = Instant::now();
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let pacer = std::thread::spawn(move || {
        for i in 0..total {
            let due = start + interval.mul_f64(i as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if tx.send(due).is_err() {
                return;
            }
        }
    });
    let counter = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|conn| {
            tokio::spawn(take_released(
                conn,
                target.clone(),
                rx.clone(),
                counter.clone(),
            ))
        })
        .collect();
    let outcome = collect(tasks, start).await;
    let _ = pacer.join();
    outcome
}

async fn take_released(
    mut conn: Connection,
    target: Target,
    rx: Arc<Mutex<UnboundedReceiver<Instant>>>,
    counter: Arc<AtomicU64>,
) -> Outcome {
    let mut out = Outcome::empty();
    loop {
        let due = rx.lock().await.recv().await;
        let Some(due) = due else { return out };
        let i = counter.fetch_add(1, Ordering::Relaxed) as usize;
        conn.review(&target, i, &mut out, due).await;
    }
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<Outcome>>,
    start: Instant,
) -> anyhow::Result<Outcome> {
    let mut total = Outcome::empty();
    for task in tasks {
        total.merge(&task.await?);
    }
    total.elapsed = start.elapsed();
    Ok(total)
}
