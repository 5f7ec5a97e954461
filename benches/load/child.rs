//! Server processes started by the load tool: `autoredeploy serve` and the floor (this tool
//! re-executed with `--floor-server`), each on OS-chosen loopback ports learnt from its
//! "listening" log line, with the process's CPU time and resident memory read from /proc.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use autoredeploy::server::certs::DevCerts;
use autoredeploy::testing::server::serve_command_of;
use serde_json::Value;

/// How long a server may take to listen and answer `/readyz`.
const READY_DEADLINE: Duration = Duration::from_secs(20);
const READY_POLL: Duration = Duration::from_micros(500);

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Autoredeploy,
    Floor,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Autoredeploy => "autoredeploy",
            Kind::Floor => "floor",
        }
    }
}

/// A running server, killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub webhook: SocketAddr,
    /// From spawn to `/readyz` 200 (to "listening" for the floor, which has no admin port).
    pub ready_after: Duration,
}

impl ServerProcess {
    /// `binary` is the autoredeploy executable (ignored for the floor).
    pub fn start(kind: Kind, certs: &DevCerts, binary: &Path) -> anyhow::Result<ServerProcess> {
        let mut command = match kind {
            Kind::Autoredeploy => autoredeploy_command(certs, binary),
            Kind::Floor => floor_command(certs)?,
        };
        let started = Instant::now();
        let mut child = command.stdout(Stdio::piped()).spawn().context("spawn")?;
        let listening = read_listening_line(&mut child)?;
        let webhook = address(&listening, "webhook")?;
        if kind == Kind::Autoredeploy {
            wait_ready(address(&listening, "admin")?)?;
        }
        let ready_after = started.elapsed();
        Ok(ServerProcess {
            child,
            webhook,
            ready_after,
        })
    }

    /// Peak resident set size (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        status_kib(self.child.id(), "VmHWM:")
    }

    /// User + system CPU time so far.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        let after_name = stat.rsplit_once(')').context("stat format")?.1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // Fields 14 and 15 of proc(5) (utime, stime), counted from field 3 (state) here.
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        // USER_HZ is 100 on every Linux architecture this runs on.
        Ok(Duration::from_millis(ticks * 10))
    }
}

/// How long a server may take to exit after SIGTERM before it is killed. A server run under
/// a profiler (`--server-binary` naming a wrapper script) writes its profile on exit.
const EXIT_DEADLINE: Duration = Duration::from_secs(30);

impl Drop for ServerProcess {
    /// SIGTERM, then SIGKILL if it has not exited by [`EXIT_DEADLINE`].
    fn drop(&mut self) {
        let terminated = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        let deadline = Instant::now() + EXIT_DEADLINE;
        while terminated && Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The autoredeploy binary built with this tool.
pub fn built_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_autoredeploy"))
}

fn autoredeploy_command(certs: &DevCerts, binary: &Path) -> Command {
    let mut command = serve_command_of(binary, &[]);
    command
        .arg("--tls-cert")
        .arg(&certs.cert)
        .arg("--tls-key")
        .arg(&certs.key);
    command
}

fn floor_command(certs: &DevCerts) -> anyhow::Result<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("--floor-server")
        .arg("--cert")
        .arg(&certs.cert)
        .arg("--key")
        .arg(&certs.key);
    Ok(command)
}

/// Read stdout up to the "listening" line (within [`READY_DEADLINE`]), then keep draining
/// it on the same thread so the server never blocks on a full pipe.
fn read_listening_line(child: &mut Child) -> anyhow::Result<Value> {
    let reader = BufReader::new(child.stdout.take().context("stdout")?);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = reader.lines().map_while(Result::ok);
        for line in lines.by_ref() {
            let Ok(value) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if value["message"] == "listening" {
                let _ = tx.send(value);
                break;
            }
        }
        lines.for_each(drop);
    });
    rx.recv_timeout(READY_DEADLINE)
        .context("no \"listening\" log line (is RUST_LOG hiding info?)")
}

fn address(line: &Value, field: &str) -> anyhow::Result<SocketAddr> {
    let text = line[field]
        .as_str()
        .context("listening line without address")?;
    Ok(text.parse()?)
}

fn wait_ready(admin: SocketAddr) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_DEADLINE;
    while Instant::now() < deadline {
        if readyz(admin).unwrap_or(false) {
            return Ok(());
        }
        std::thread::sleep(READY_POLL);
    }
    bail!("/readyz not 200 within {READY_DEADLINE:?}")
}

fn readyz(admin: SocketAddr) -> std::io::Result<bool> {
    let mut stream = TcpStream::connect(admin)?;
    stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer.starts_with(b"HTTP/1.1 200"))
}

fn status_kib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .with_context(|| format!("{key} missing"))?;
    let kib = line.split_whitespace().nth(1).context("status format")?;
    Ok(kib.parse()?)
}
