//! Registry pull budgets through `mutate`: ten ImageStreams each tracking a different Docker
//! Hub image schedule exactly two tags under the default budget (24 pulls per 6 h each: 48 fit
//! in 50, a third would make 72) and all ten when Docker Hub is unlimited; other registries are
//! unaffected; `--output json` carries the per-registry totals; bad budget flags are clear
//! errors.

use crate::cases::run;
use std::fmt::Write as _;

use autoredeploy::cli::Cli;
use autoredeploy::cli::mutate::{EXIT_ERROR, EXIT_OK};
use clap::Parser;
use serde_json::Value;

/// Ten Docker Hub streams, then one quay.io stream, one per document.
fn manifest_set() -> tempfile::NamedTempFile {
    let mut text = String::new();
    let sources = (0..10)
        .map(|i| {
            (
                format!("hub{i}"),
                format!("docker.io/example/app{i}:latest"),
            )
        })
        .chain([("quay".to_string(), "quay.io/example/app:1".to_string())]);
    for (name, from) in sources {
        write!(
            text,
            "---\napiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  \
             name: {name}\n  namespace: shop\nspec:\n  tags:\n  - name: latest\n    from:\n      \
             kind: DockerImage\n      name: {from}\n"
        )
        .expect("writing to a String");
    }
    let file = tempfile::Builder::new()
        .suffix(".yaml")
        .tempfile()
        .expect("temp file");
    std::fs::write(file.path(), text).expect("manifest written");
    file
}

fn report(args: &[&str]) -> Value {
    let ran = run(args);
    assert_eq!(ran.code, EXIT_OK, "{}", ran.stderr);
    serde_json::from_str(&ran.stdout).expect("the report is JSON")
}

/// (object name, change codes, finding codes) per object.
fn codes(report: &Value) -> Vec<(String, Vec<String>, Vec<String>)> {
    let list = |object: &Value, key: &str| -> Vec<String> {
        object[key]
            .as_array()
            .expect("a list")
            .iter()
            .map(|c| c["code"].as_str().expect("a code").to_string())
            .collect()
    };
    report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            let name = o["name"].as_str().expect("a name").to_string();
            (name, list(o, "changes"), list(o, "findings"))
        })
        .collect()
}

#[test]
fn the_default_budget_schedules_two_docker_hub_tags_in_document_order() {
    let file = manifest_set();
    let path = file.path().to_str().expect("UTF-8 path");
    let report = report(&["-f", path, "--output", "json"]);
    let codes = codes(&report);
    for (i, (name, changes, findings)) in codes.iter().enumerate() {
        match i {
            0 | 1 | 10 => {
                assert_eq!(changes, &["scheduled-import"], "{name}");
                assert!(findings.is_empty(), "{name}: {findings:?}");
            }
            _ => {
                assert!(changes.is_empty(), "{name}: {changes:?}");
                assert_eq!(findings, &["pull-budget"], "{name}");
            }
        }
    }
    let registries = &report["registries"];
    assert_eq!(registries[0]["registry"], "docker.io");
    assert_eq!(registries[0]["scheduled_tags"], 2);
    assert_eq!(registries[0]["projected_pulls"], 48);
    assert_eq!(registries[0]["budget_pulls"], 50);
    assert_eq!(registries[0]["window"], "6h");
    assert_eq!(registries[1]["registry"], "quay.io");
    assert_eq!(registries[1]["scheduled_tags"], 1);
    assert_eq!(registries[1]["budget_pulls"], Value::Null);
}

#[test]
fn an_unlimited_docker_hub_schedules_all_ten() {
    let file = manifest_set();
    let path = file.path().to_str().expect("UTF-8 path");
    let report = report(&[
        "-f",
        path,
        "--output",
        "json",
        "--registry-budget",
        "docker.io=unlimited",
    ]);
    for (name, changes, findings) in codes(&report) {
        assert_eq!(changes, ["scheduled-import"], "{name}");
        assert!(findings.is_empty(), "{name}: {findings:?}");
    }
    assert_eq!(report["registries"][0]["scheduled_tags"], 10);
    assert_eq!(report["registries"][0]["projected_pulls"], 240);
}

#[test]
fn the_printed_manifests_are_within_budget_and_stay_so() {
    let file = manifest_set();
    let path = file.path().to_str().expect("UTF-8 path");
    let ran = run(&["-f", path]);
    assert_eq!(ran.code, EXIT_OK, "{}", ran.stderr);
    assert_eq!(ran.stdout.matches("scheduled: true").count(), 3);
    assert_eq!(ran.stderr.matches("pull-budget").count(), 8);
    let again = tempfile::Builder::new()
        .suffix(".yaml")
        .tempfile()
        .expect("temp file");
    std::fs::write(again.path(), &ran.stdout).expect("output written");
    let check = run(&["-f", again.path().to_str().expect("UTF-8"), "--check"]);
    assert_eq!(
        check.code, EXIT_OK,
        "a second pass changes nothing: {}",
        check.stdout
    );
}

#[test]
fn bad_budget_flags_are_clear_errors() {
    for (flag, says) in [
        ("docker.io=50", "REGISTRY=PULLS/WINDOW"),
        ("nginx=50/6h", "not a registry host"),
        ("docker.io=50/6d", "minutes or hours"),
    ] {
        let parsed = Cli::try_parse_from([
            "autoredeploy",
            "mutate",
            "-f",
            "-",
            "--registry-budget",
            flag,
        ]);
        let error = parsed.expect_err("refused").to_string();
        assert!(error.contains(says), "{flag}: {error}");
    }
    let bad_pattern = run(&["-f", "-", "--exclude-repository", "index.docker.io/*"]);
    assert_eq!(bad_pattern.code, EXIT_ERROR);
    assert!(
        bad_pattern.stderr.contains("write \"docker.io/*\""),
        "{}",
        bad_pattern.stderr
    );
}
