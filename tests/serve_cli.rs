//! `autoredeploy certs` and the `serve` flag checks, through the real binary.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use autoredeploy::server::certs::{CA_FILE, CERT_FILE, KEY_FILE};
use base64::Engine as _;

fn autoredeploy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autoredeploy"))
        .args(args)
        .output()
        .expect("run autoredeploy")
}

#[test]
fn certs_writes_the_files_and_prints_the_ca_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certs");
    let out_str = out.to_str().unwrap();
    let run = autoredeploy(&[
        "certs",
        "--dns",
        "hook.ns.svc,hook.ns.svc.cluster.local",
        "--out",
        out_str,
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bundle = String::from_utf8(run.stdout).unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(bundle.trim())
        .unwrap();
    assert_eq!(decoded, std::fs::read(out.join(CA_FILE)).unwrap());
    assert!(
        std::fs::read_to_string(out.join(CERT_FILE))
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let mode = std::fs::metadata(out.join(KEY_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let again = autoredeploy(&["certs", "--dns", "hook.ns.svc", "--out", out_str]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = autoredeploy(&["certs", "--dns", "hook.ns.svc", "--out", out_str, "--force"]);
    assert!(forced.status.success());
}

#[test]
fn serve_needs_exactly_one_source_of_certificates() {
    let none = autoredeploy(&["serve"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("--tls-cert and --tls-key, or --dev-certs")
    );
    let both = autoredeploy(&[
        "serve",
        "--tls-cert",
        "a",
        "--tls-key",
        "b",
        "--dev-certs",
        "c",
    ]);
    assert_eq!(both.status.code(), Some(2));
    let half = autoredeploy(&["serve", "--tls-cert", "a"]);
    assert!(String::from_utf8_lossy(&half.stderr).contains("go together"));
}

#[test]
fn serve_checks_tls_material_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.crt");
    let missing = missing.to_str().unwrap();
    let run = autoredeploy(&[
        "serve",
        "--tls-cert",
        missing,
        "--tls-key",
        missing,
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("cannot read"));
}
