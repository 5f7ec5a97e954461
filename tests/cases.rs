//! One case per file in `tests/cases/` (its first line says what it proves), run through the
//! `mutate` command's library entry point. Each case snapshots the printed manifests and the
//! JSON report together, and proves idempotence: `mutate` over its own output changes
//! nothing and `--check` on it exits 0.

use std::fs;
use std::path::Path;

use autoredeploy::cli::mutate::{self, EXIT_OK, MutateArgs};
use autoredeploy::cli::{Cli, Command};
use clap::Parser;

const CASE_COMMENT: &str = "# ";

/// What one `mutate` run printed and returned (shared by the engine binary's `mutate` tests).
pub(crate) struct Ran {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

pub(crate) fn run(args: &[&str]) -> Ran {
    let cli = Cli::try_parse_from(["autoredeploy", "mutate"].iter().chain(args))
        .expect("valid arguments");
    let Command::Mutate(args) = cli.command else {
        unreachable!("parsed as mutate")
    };
    run_args(&args)
}

fn run_args(args: &MutateArgs) -> Ran {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = mutate::execute(args, &mut std::io::empty(), &mut stdout, &mut stderr);
    Ran {
        code,
        stdout: String::from_utf8(stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(stderr).expect("UTF-8 stderr"),
    }
}

/// The case's path relative to the package root (the tests' working directory), so
/// snapshots hold no machine path.
pub(crate) fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .expect("case under the package")
        .display()
        .to_string()
}

fn assert_idempotent(case: &str, output: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let again_path = dir.path().join("output.yaml");
    fs::write(&again_path, output).expect("output written");
    let again_path = again_path.to_str().expect("UTF-8 temp path");

    let again = run(&["-f", again_path]);
    assert_eq!(again.code, EXIT_OK, "{case}: {}", again.stderr);
    assert_eq!(
        again.stdout, output,
        "{case}: a second pass changed the output"
    );

    let check = run(&["-f", again_path, "--check"]);
    assert_eq!(
        check.code, EXIT_OK,
        "{case}: --check on the output: {}",
        check.stdout
    );
}

#[test]
fn cases() {
    insta::glob!("cases/*.yaml", |path| {
        let text = fs::read_to_string(path).expect("case readable");
        let purpose = text.lines().next().unwrap_or_default();
        assert!(
            purpose.starts_with(CASE_COMMENT),
            "{}: the first line must be a comment saying what the case proves",
            path.display()
        );
        let case = relative(path);

        let manifests = run(&["-f", &case]);
        assert_eq!(manifests.code, EXIT_OK, "{case}: {}", manifests.stderr);
        let report = run(&["-f", &case, "--output", "json"]);
        assert_eq!(report.code, EXIT_OK, "{case}: {}", report.stderr);
        let parsed: serde_json::Value =
            serde_json::from_str(&report.stdout).expect("the report is JSON");

        insta::with_settings!({ description => purpose.trim_start_matches(CASE_COMMENT) }, {
            insta::assert_snapshot!(format!(
                "# manifests\n{}\n# notes\n{}\n# report\n{:#}",
                manifests.stdout, manifests.stderr, parsed["objects"]
            ));
        });
        assert_idempotent(&case, &manifests.stdout);
    });
}
