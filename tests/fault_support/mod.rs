//! Helpers for the fault tests (`tests/fault_*.rs`): a server process whose PID and complete log
//! are kept (the shared `autoredeploy::testing::server::Server` keeps neither after exit, and
//! the fault tests need the PID for /proc and the whole log to tell accepted requests from refused
//! ones), a client that never panics and classifies every outcome, and a closed-loop load of
//! reviews with one unique uid per request.

use std::collections::HashSet;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use autoredeploy::server::certs;

pub const POLL: Duration = Duration::from_millis(10);
pub const START_DEADLINE: Duration = Duration::from_secs(20);
/// Bound on every wait in the fault tests.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// Kept-alive connections of the load.
pub const CONNECTIONS: usize = 8;

/// `autoredeploy serve` on OS-chosen loopback ports, its JSON log written to a file.
pub struct ServerProcess {
    child: Child,
    log: PathBuf,
    pub webhook: SocketAddr,
    pub admin: SocketAddr,
}

impl ServerProcess {
    pub fn start(dir: &Path, args: &[&str]) -> ServerProcess {
        let log = dir.join("server.log");
        let child = autoredeploy::testing::server::serve_command(args)
            .stdout(Stdio::from(File::create(&log).expect("log file")))
            .spawn()
            .expect("spawn autoredeploy serve");
        let mut server = ServerProcess {
            child,
            log,
            webhook: "0.0.0.0:0".parse().unwrap(),
            admin: "0.0.0.0:0".parse().unwrap(),
        };
        let listening = server.wait_for_log("listening", START_DEADLINE);
        server.webhook = listening["webhook"].as_str().unwrap().parse().unwrap();
        server.admin = listening["admin"].as_str().unwrap().parse().unwrap();
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every JSON log line so far.
    pub fn log_lines(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The uids of every review the server answered (its "reviewed" log lines).
    pub fn reviewed_uids(&self) -> HashSet<String> {
        self.log_lines()
            .into_iter()
            .filter(|l| l["message"] == "reviewed")
            .filter_map(|l| l["uid"].as_str().map(str::to_owned))
            .collect()
    }

    fn wait_for_log(&mut self, message: &str, deadline: Duration) -> Value {
        let end = Instant::now() + deadline;
        loop {
            if let Some(line) = self
                .log_lines()
                .into_iter()
                .find(|l| l["message"] == message)
            {
                return line;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("server exited ({status}) before logging {message:?}");
            }
            assert!(Instant::now() < end, "no {message:?} log line");
            std::thread::sleep(POLL);
        }
    }

    pub fn terminate(&self) {
        autoredeploy::testing::server::terminate(&self.child);
    }

    /// The exit status, waiting at most `deadline`.
    pub fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        autoredeploy::testing::server::wait_exit(&mut self.child, deadline)
    }

    /// A field of /proc/PID/status in KiB (`VmRSS`, `VmHWM`).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap_or_else(|| panic!("{field} missing"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How one review ended, from the client's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// 200 with a JSON answer echoing the uid.
    Answered,
    /// No TCP connection or no TLS session: the server never saw the request.
    Refused,
    /// The client knew the connection was closed before writing the request (the server
    /// had asked it to with `Connection: close`, or closed it): a client reconnects and
    /// sends again, as Go's transport does for a request it never wrote.
    NotSent,
    /// The request was written, then the connection closed before any response byte: a
    /// client cannot know whether it was read (the API server applies `failurePolicy`).
    ClosedUnanswered,
    /// Anything else (non-200, bad JSON, wrong uid, a response cut short): a lost request.
    Lost(String),
}

/// One kept-alive HTTP/1.1 connection over TLS offering only `http/1.1`.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
}

impl Client {
    pub async fn connect(tls: &TlsConnector, addr: SocketAddr) -> Option<Client> {
        let tcp = TcpStream::connect(addr).await.ok()?;
        let name = ServerName::try_from("localhost").unwrap();
        let stream = tls.connect(name, tcp).await.ok()?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(conn);
        Some(Client { sender })
    }

    /// POST `body` to `/mutate`: the status and body, or `None` on a transport error.
    pub async fn post(&mut self, body: Vec<u8>) -> Option<(u16, Vec<u8>)> {
        self.sender.ready().await.ok()?;
        let request = hyper::Request::post("/mutate")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = self.sender.send_request(request).await.ok()?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.ok()?.to_bytes();
        Some((status, body.to_vec()))
    }

    /// Send `review` (whose uid is `uid`) and classify the ending.
    pub async fn review(&mut self, uid: &str, review: Vec<u8>) -> Ending {
        if self.sender.ready().await.is_err() {
            return Ending::NotSent;
        }
        let request = hyper::Request::post("/mutate")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(review)))
            .unwrap();
        let response = match self.sender.send_request(request).await {
            Ok(response) => response,
            // Handed back unwritten: the connection was already closing.
            Err(err) if err.is_canceled() => return Ending::NotSent,
            // No response head: the connection was closed or reset under the request.
            Err(_) => return Ending::ClosedUnanswered,
        };
        let status = response.status();
        let body = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(err) => return Ending::Lost(format!("{uid}: response cut short: {err}")),
        };
        let answer: Value = match serde_json::from_slice(&body) {
            Ok(answer) => answer,
            Err(_) => return Ending::Lost(format!("{uid}: {status} without JSON")),
        };
        if status != 200 || answer["response"]["uid"] != uid {
            return Ending::Lost(format!("{uid}: {status} {answer}"));
        }
        Ending::Answered
    }
}

/// A recorded review with `uid` in place of its own.
pub fn review_with_uid(template: &Value, uid: &str) -> Vec<u8> {
    let mut review = template.clone();
    review["request"]["uid"] = Value::from(uid);
    serde_json::to_vec(&review).unwrap()
}

/// What a load produced: every uid sent, with how it ended and when.
#[derive(Debug, Default)]
pub struct Tally {
    pub endings: Vec<(String, Ending, Instant)>,
}

impl Tally {
    pub fn count(&self, ending: &Ending) -> usize {
        self.endings.iter().filter(|(_, e, _)| e == ending).count()
    }

    pub fn lost(&self) -> Vec<&String> {
        self.endings
            .iter()
            .filter_map(|(_, e, _)| match e {
                Ending::Lost(why) => Some(why),
                _ => None,
            })
            .collect()
    }
}

/// `connections` closed-loop clients sending uniquely-numbered reviews until `stop`, each
/// reconnecting after a closed connection, and giving up once a connection is refused
/// while `stop_on_refusal` is set (the server is going away).
pub async fn hammer(
    tls: TlsConnector,
    addr: SocketAddr,
    connections: usize,
    stop: Arc<AtomicBool>,
    stop_on_refusal: Arc<AtomicBool>,
) -> Tally {
    let template = Arc::new(review_template());
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (tls, stop, refusal) = (tls.clone(), stop.clone(), stop_on_refusal.clone());
        let template = template.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut client = None;
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let uid = format!("fault-{c}-{i}");
                if client.is_none() {
                    client = Client::connect(&tls, addr).await;
                }
                let Some(conn) = client.as_mut() else {
                    tally.endings.push((uid, Ending::Refused, Instant::now()));
                    if refusal.load(Ordering::Relaxed) {
                        break;
                    }
                    continue;
                };
                let ending = conn.review(&uid, review_with_uid(&template, &uid)).await;
                if ending != Ending::Answered {
                    client = None;
                }
                tally.endings.push((uid, ending, Instant::now()));
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        all.endings.extend(task.await.expect("load task").endings);
    }
    all
}

/// The recorded DeploymentConfig CREATE: one that the engine patches.
pub fn review_template() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apiserver-1.36/deploymentconfig-create.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A running load and the switches that end it.
pub struct Load {
    pub stop: Arc<AtomicBool>,
    pub stop_on_refusal: Arc<AtomicBool>,
    task: JoinHandle<Tally>,
}

impl Load {
    pub fn start(tls: &tokio_rustls::TlsConnector, server: &ServerProcess, n: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_on_refusal = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(hammer(
            tls.clone(),
            server.webhook,
            n,
            stop.clone(),
            stop_on_refusal.clone(),
        ));
        Load {
            stop,
            stop_on_refusal,
            task,
        }
    }

    pub async fn finish(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("load")
    }
}

pub fn dev_tls(dir: &std::path::Path) -> tokio_rustls::TlsConnector {
    let ca = std::fs::read(dir.join(certs::CA_FILE)).expect("ca.crt");
    autoredeploy::testing::client::connector(&[&ca], &[autoredeploy::testing::client::HTTP11])
}

/// Wait until the server has answered at least `n` reviews.
pub async fn reviewed_at_least(server: &ServerProcess, n: usize) {
    autoredeploy::testing::server::poll_until(DEADLINE, "reviews under load", || async {
        (server.reviewed_uids().len() >= n).then_some(())
    })
    .await;
}

pub async fn metric(admin: std::net::SocketAddr, series: &str) -> Option<u64> {
    let (_, text) = autoredeploy::testing::client::admin_get(admin, "/metrics").await;
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

pub fn assert_all_answered(tally: &Tally) {
    assert!(tally.lost().is_empty(), "lost: {:?}", tally.lost());
    let failed: Vec<_> = tally
        .endings
        .iter()
        .filter(|(_, e, _)| *e != Ending::Answered)
        .collect();
    assert!(failed.is_empty(), "not answered: {failed:?}");
    assert!(tally.count(&Ending::Answered) > 0, "no traffic");
}

impl Load {
    /// One client that opens a new TLS connection for every review.
    pub fn start_fresh(tls: &tokio_rustls::TlsConnector, server: &ServerProcess) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let (tls, addr, flag) = (tls.clone(), server.webhook, stop.clone());
        let task = tokio::spawn(async move {
            let template = review_template();
            let mut tally = Tally::default();
            for i in 0.. {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let uid = format!("fresh-{i}");
                let ending = match Client::connect(&tls, addr).await {
                    Some(mut c) => c.review(&uid, review_with_uid(&template, &uid)).await,
                    None => Ending::Refused,
                };
                tally.endings.push((uid, ending, Instant::now()));
            }
            tally
        });
        Load {
            stop,
            stop_on_refusal: Arc::new(AtomicBool::new(false)),
            task,
        }
    }
}

/// A fresh client gets a review answered as kube-apiserver requires, within `deadline`.
pub async fn assert_served(tls: &TlsConnector, addr: SocketAddr, deadline: Duration) {
    let review = review_template();
    let body = serde_json::to_vec(&review).unwrap();
    let exchange = async {
        let mut client = Client::connect(tls, addr).await.expect("connect");
        client.post(body).await.expect("answer")
    };
    let (status, answer) = tokio::time::timeout(deadline, exchange)
        .await
        .expect("served within the deadline");
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&answer).expect("JSON answer");
    autoredeploy::testing::assert_accepted_by_apiserver(&review, &answer);
}
