//! `autoredeploy serve` against the cluster under test, with its ImageStream catalog, and the
//! chart's MutatingWebhookConfiguration pointed at it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::kube::{Kube, POLL};

pub struct Webhook {
    child: Option<Child>,
    /// The HTTPS address the API servers call (its port stays the same across restarts).
    pub listen: String,
    pub admin: String,
    certs: PathBuf,
    log: PathBuf,
    kubeconfig: PathBuf,
    extra: Vec<String>,
    /// The host the API servers reach this machine at: 127.0.0.1 for the kit's control
    /// plane, `AUTOREDEPLOY_E2E_WEBHOOK_HOST` (a DNS name) for a cluster elsewhere.
    host: String,
}

impl Webhook {
    /// Start the webhook with development certificates in `dir`, its log in `dir/serve.log`.
    pub fn start(dir: &Path, kubeconfig: &Path, extra: &[&str]) -> Webhook {
        std::fs::create_dir_all(dir).expect("webhook folder");
        let host = std::env::var("AUTOREDEPLOY_E2E_WEBHOOK_HOST").unwrap_or_default();
        let mut extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (host, listen) = if host.is_empty() {
            ("127.0.0.1".to_string(), "127.0.0.1:0")
        } else {
            extra.extend(["--dev-cert-dns".to_string(), host.clone()]);
            (host, "0.0.0.0:0")
        };
        let mut webhook = Webhook {
            child: None,
            listen: listen.into(),
            admin: "127.0.0.1:0".into(),
            certs: dir.join("certs"),
            log: dir.join("serve.log"),
            kubeconfig: kubeconfig.to_path_buf(),
            extra,
            host,
        };
        let _ = std::fs::remove_file(&webhook.log);
        webhook.spawn();
        webhook
    }

    fn spawn(&mut self) {
        let skip = self.log_lines().len();
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("webhook log");
        let child = Command::new(autoredeploy::testing::server::binary())
            .args([
                "serve",
                "--listen",
                &self.listen,
                "--admin-listen",
                &self.admin,
            ])
            .args(["--log-format", "json", "--catalog", "auto"])
            .arg("--dev-certs")
            .arg(&self.certs)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("autoredeploy serve starts");
        self.child = Some(child);
        let end = Instant::now() + Duration::from_secs(60);
        let listening = loop {
            if let Some(line) = self.log_lines()[skip..]
                .iter()
                .find(|l| l["message"] == "listening")
            {
                break line.clone();
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().expect("try_wait") {
                panic!("autoredeploy serve exited ({status}) before listening");
            }
            assert!(
                Instant::now() < end,
                "autoredeploy serve did not listen in 60 s"
            );
            std::thread::sleep(POLL);
        };
        self.listen = listening["webhook"]
            .as_str()
            .expect("webhook address")
            .into();
        self.admin = listening["admin"].as_str().expect("admin address").into();
        self.wait_ready();
    }

    /// `/readyz` answers 200: the catalog has its first full list.
    fn wait_ready(&self) {
        let url = format!("http://{}/readyz", self.admin);
        let end = Instant::now() + Duration::from_secs(60);
        while !curl_ok(&url) {
            assert!(Instant::now() < end, "autoredeploy serve not ready in 60 s");
            std::thread::sleep(POLL);
        }
    }

    fn port(&self) -> &str {
        self.listen.rsplit(':').next().unwrap_or_default()
    }

    pub fn ca(&self) -> PathBuf {
        self.certs.join("ca.crt")
    }

    /// Stop the server (SIGTERM, then wait) by its PID.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let end = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < end {
                std::thread::sleep(POLL);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start again on the same addresses.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Every JSON line the server has logged so far.
    pub fn log_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The `reviewed` lines for `namespace`.
    pub fn reviews(&self, namespace: &str) -> Vec<Value> {
        self.log_lines()
            .into_iter()
            .filter(|l| l["message"] == "reviewed" && l["namespace"] == namespace)
            .collect()
    }

    /// Install the chart's webhook configuration (values `extra`, JSON) pointed at this server.
    pub fn install_configuration(&self, kube: &Kube, python: &Path, extra: &str) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/webhook_config.py");
        let out = Command::new(python)
            .arg(&script)
            .arg("--ca")
            .arg(self.ca())
            .args(["--url", &format!("https://{}:{}", self.host, self.port())])
            .args(["--set-json", extra])
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "rendering the chart's webhook configuration failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = String::from_utf8(out.stdout).expect("UTF-8");
        kube.run(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            Some(&config),
        );
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop();
    }
}

fn curl_ok(url: &str) -> bool {
    Command::new("curl")
        .args(["-sSf", "--max-time", "5", "-o", "/dev/null", url])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
