//! The control plane: started once per run from the e2e kit (`../shared/e2e/cluster.sh`), or
//! any cluster named by `AUTOREDEPLOY_E2E_KUBECONFIG`, and stopped by the kit's own `down`
//! (which stops exactly the processes named by its PID files).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the kit is, unless `AUTOREDEPLOY_E2E_KIT` says otherwise: beside the checkout.
fn default_kit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/e2e")
}

pub struct Cluster {
    /// The kit's scratch folder when this run started the control plane (stopped on drop).
    started: Option<(PathBuf, PathBuf)>,
    pub kubeconfig: PathBuf,
    /// The kit's DIR/env, empty for another cluster.
    pub env: HashMap<String, String>,
}

/// Why the suite cannot run here, or the cluster it runs against.
pub enum Found {
    Cluster(Cluster),
    Skipped(String),
}

impl Cluster {
    /// The cluster named by `AUTOREDEPLOY_E2E_KUBECONFIG`, else a fresh control plane from
    /// the kit, else why not.
    pub fn find() -> Result<Found, String> {
        if let Some(kubeconfig) = std::env::var_os("AUTOREDEPLOY_E2E_KUBECONFIG") {
            return Ok(Found::Cluster(Cluster {
                started: None,
                kubeconfig: PathBuf::from(kubeconfig),
                env: HashMap::new(),
            }));
        }
        let kit = std::env::var_os("AUTOREDEPLOY_E2E_KIT")
            .map(PathBuf::from)
            .unwrap_or_else(default_kit);
        let script = kit.join("cluster.sh");
        if !script.is_file() {
            return Ok(Found::Skipped(format!(
                "no control plane: {} not found and AUTOREDEPLOY_E2E_KUBECONFIG unset",
                script.display()
            )));
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-cluster");
        // A run that died may have left its control plane up; start from scratch.
        let _ = Command::new("bash")
            .arg(&script)
            .arg("down")
            .arg(&dir)
            .output();
        if !registry_available() {
            return Err(
                "Debian's docker-registry is not installed (apt-get install -y \
                 docker-registry; .ci/run installs it): the stories push real images"
                    .into(),
            );
        }
        let mut up = Command::new("bash");
        up.arg(&script).arg("up").arg(&dir).args([
            "--openshift-admission",
            "--registry",
            "--import-interval",
            "1",
        ]);
        let out = up
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return Err(format!(
                "the control plane did not start ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        let env = read_env(&dir.join("env"))?;
        let kubeconfig = env
            .get("KUBECONFIG")
            .map(PathBuf::from)
            .ok_or("the kit's env names no KUBECONFIG")?;
        Ok(Found::Cluster(Cluster {
            started: Some((script, dir)),
            kubeconfig,
            env,
        }))
    }

    /// The plain-HTTP loopback registry the kit started, as HOST:PORT.
    pub fn registry(&self) -> Option<&str> {
        self.env
            .get("REGISTRY")
            .map(String::as_str)
            .filter(|r| !r.is_empty())
    }

    /// The loopback registry's log (its access log included), when the kit started one.
    pub fn registry_log(&self) -> Option<PathBuf> {
        self.registry()?;
        let logs = self.env.get("E2E_LOGS")?;
        Some(Path::new(logs).join("registry.log"))
    }

    /// The kit's folder (for `cluster.sh push` and `push-image.py`).
    pub fn kit(&self) -> Option<&Path> {
        self.started.as_ref().and_then(|(s, _)| s.parent())
    }

    /// Lines of the controllers' logs that mention `needle` (the last `limit` of each).
    pub fn log_lines(&self, needle: &str, limit: usize) -> String {
        let Some(logs) = self.env.get("E2E_LOGS") else {
            return String::new();
        };
        let mut out = String::new();
        for (name, what) in [
            ("ocm.log", "openshift-controller-manager"),
            ("kcm.log", "kube-controller-manager"),
            ("oas.log", "openshift-apiserver"),
            ("kas.log", "kube-apiserver"),
        ] {
            let Ok(text) = std::fs::read_to_string(Path::new(logs).join(name)) else {
                continue;
            };
            // Work-queue chatter ("Started syncing", "Finished syncing") says nothing.
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.contains(needle) && !l.contains(" syncing "))
                .collect();
            if lines.is_empty() {
                continue;
            }
            out.push_str(&format!("--- {what} ({name}), lines with {needle:?}:\n"));
            for line in &lines[lines.len().saturating_sub(limit)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    pub fn stop(&mut self) {
        if let Some((script, dir)) = self.started.take() {
            let out = Command::new("bash")
                .arg(&script)
                .arg("down")
                .arg(&dir)
                .output();
            match out {
                Ok(out) if out.status.success() => {}
                Ok(out) => eprintln!(
                    "e2e: cluster.sh down failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
                Err(e) => eprintln!("e2e: cannot run cluster.sh down: {e}"),
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Debian's `docker-registry` (the CNCF distribution registry), which `--registry` needs.
fn registry_available() -> bool {
    Command::new("sh")
        .args(["-c", "command -v docker-registry"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `export NAME=VALUE NAME=VALUE` lines (the kit's values have no spaces or quotes).
fn read_env(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut env = HashMap::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let line = line.trim().trim_start_matches("export ");
        for word in line.split_whitespace() {
            if let Some((name, value)) = word.split_once('=') {
                env.insert(name.to_string(), value.to_string());
            }
        }
    }
    Ok(env)
}
