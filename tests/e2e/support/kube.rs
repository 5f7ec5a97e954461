//! `kubectl` against the cluster under test: the same client a person uses, so client-side
//! apply, server-side apply and dry runs are the real ones, and every request goes through
//! the API servers' admission chains.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How often a wait looks again at the cluster.
pub const POLL: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct Kube {
    kubeconfig: PathBuf,
}

/// What one kubectl call printed.
#[derive(Debug)]
pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The API server's `Warning:` lines (where admission webhooks' warnings arrive).
    pub fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("Warning: "))
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("kubectl printed no JSON ({e}): {}", self.stdout))
    }
}

impl Kube {
    pub fn new(kubeconfig: &Path) -> Kube {
        Kube {
            kubeconfig: kubeconfig.to_path_buf(),
        }
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `kubectl ARGS` with `stdin`, whatever its exit status.
    pub fn try_run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .expect("kubectl reads its input");
        }
        let out = child.wait_with_output().expect("kubectl finishes");
        Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `kubectl ARGS`, which must succeed.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let out = self.try_run(args, stdin);
        assert!(
            out.ok,
            "kubectl {} failed:\n{}{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
        out
    }

    /// Client-side `kubectl apply` of one object (as `oc apply` does).
    pub fn apply(&self, object: &Value) -> Output {
        self.run(&["apply", "-f", "-"], Some(&object.to_string()))
    }

    /// Server-side apply of one object with field manager `manager`.
    pub fn apply_server_side(&self, object: &Value, manager: &str) -> Output {
        let manager = format!("--field-manager={manager}");
        self.run(
            &[
                "apply",
                "--server-side",
                "--force-conflicts",
                &manager,
                "-f",
                "-",
            ],
            Some(&object.to_string()),
        )
    }

    /// `kubectl create` of one object.
    pub fn create(&self, object: &Value) -> Output {
        self.run(&["create", "-f", "-"], Some(&object.to_string()))
    }

    /// The object as stored, or `None` when it does not exist.
    pub fn get(&self, namespace: &str, resource: &str, name: &str) -> Option<Value> {
        let out = self.try_run(
            &["get", "-n", namespace, resource, name, "-o", "json"],
            None,
        );
        if out.ok {
            return Some(out.json());
        }
        assert!(
            out.stderr.contains("NotFound") || out.stderr.contains("not found"),
            "kubectl get {resource}/{name} -n {namespace}: {}",
            out.stderr
        );
        None
    }

    /// The stored object, which must exist.
    pub fn must_get(&self, namespace: &str, resource: &str, name: &str) -> Value {
        self.get(namespace, resource, name)
            .unwrap_or_else(|| panic!("{resource}/{name} not found in {namespace}"))
    }

    /// The items of `kubectl get RESOURCE -n NS` (optionally with a label selector).
    pub fn list(&self, namespace: &str, resource: &str, selector: Option<&str>) -> Vec<Value> {
        let mut args = vec!["get", "-n", namespace, resource, "-o", "json"];
        if let Some(selector) = selector {
            args.extend(["-l", selector]);
        }
        let list = self.run(&args, None).json();
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// Wait until `check` gives `Some` for the stored object, or fail after `deadline` naming
    /// `what` and the object as last seen.
    pub fn wait_for<T>(
        &self,
        namespace: &str,
        resource: &str,
        name: &str,
        what: &str,
        deadline: Duration,
        mut check: impl FnMut(&Value) -> Option<T>,
    ) -> T {
        let end = Instant::now() + deadline;
        let mut last = None;
        loop {
            if let Some(object) = self.get(namespace, resource, name) {
                if let Some(found) = check(&object) {
                    return found;
                }
                last = Some(object);
            }
            assert!(
                Instant::now() < end,
                "timed out after {deadline:?} waiting for {resource}/{name} in {namespace}: {what}; last seen:\n{}",
                last.map_or("(not found)".to_string(), |o| serde_json::to_string_pretty(
                    &o
                )
                .unwrap_or_default())
            );
            std::thread::sleep(POLL);
        }
    }
}

/// Wait until `check` gives `Some`, or fail naming `what` after `deadline`.
pub fn eventually<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// A fresh random hex string of 64 digits (an image digest's), from the standard library's
/// randomly seeded hasher.
pub fn random_hex64() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(64);
    for i in 0..4u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(i);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}
