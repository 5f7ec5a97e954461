//! The `autoredeploy mutate` binary on temporary files: exit codes, located errors, inputs
//! (files, directories, standard input, repeated `-f`) and output formats.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use autoredeploy::manifests::{self, Format, Source};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_autoredeploy");

/// An external tag without a schedule: the engine adds `importPolicy.scheduled: true`.
const UNSCHEDULED_STREAM: &str = "\
# the stream the application runs
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: app
  namespace: shop
spec:
  tags:
  - name: latest
    from:
      kind: DockerImage
      name: docker.io/example/app:latest
";

/// Nothing for the engine to do: a Job is never annotated.
const JOB: &str = "\
apiVersion: batch/v1
kind: Job # not watched by the trigger controller
metadata:
  name: once
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: docker.io/example/app:latest
";

fn mutate(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("mutate")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // A run that refuses its arguments exits before it reads standard input; writing to the
    // closed pipe then fails with BrokenPipe, which is that run's answer, not a test failure.
    match child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => panic!("writing the binary's standard input: {e}"),
    }
    child.wait_with_output().expect("the binary finishes")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr")
}

fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        fs::write(path, text).expect("file written");
    }
    dir
}

#[test]
fn unchanged_manifests_are_printed_byte_for_byte_and_check_exits_0() {
    let dir = workspace(&[("job.yaml", JOB)]);
    let output = mutate(dir.path(), &["-f", "job.yaml"], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), JOB);

    let check = mutate(dir.path(), &["-f", "job.yaml", "--check"], "");
    assert_eq!(check.status.code(), Some(0));
    assert_eq!(stdout(&check), "");
    assert!(stderr(&check).contains("nothing would change"));
}

#[test]
fn broken_yaml_exits_2_naming_file_document_line_and_column() {
    let broken = format!("{JOB}---\nkind: Deployment\nmetadata:\n  name: web\n  bad: a: b\n");
    let dir = workspace(&[("deploy.yaml", &broken)]);
    let output = mutate(dir.path(), &["-f", "deploy.yaml", "--check"], "");
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("deploy.yaml: document 2, line 16, column 9: mapping values"),
        "{message}"
    );
    assert_eq!(stdout(&output), "");
}

#[test]
fn documents_that_are_not_objects_exit_2_with_what_is_wrong() {
    let cases = [
        (
            "kindless.yaml",
            "apiVersion: v1\nmetadata: {name: x}\n",
            "kindless.yaml: document 1, line 1: the object has no `kind`",
        ),
        (
            "bad.json",
            "{\"kind\": }",
            "bad.json: document 1, line 1, column 10: ",
        ),
    ];
    for (name, text, expected) in cases {
        let dir = workspace(&[(name, text)]);
        let output = mutate(dir.path(), &["-f", name], "");
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(
            stderr(&output).contains(expected),
            "{name}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn missing_files_and_empty_directories_exit_2() {
    let dir = workspace(&[("empty/notes.txt", "not a manifest")]);
    let missing = mutate(dir.path(), &["-f", "nope.yaml"], "");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("cannot read nope.yaml: "),
        "{}",
        stderr(&missing)
    );

    let empty = mutate(dir.path(), &["-f", "empty"], "");
    assert_eq!(empty.status.code(), Some(2));
    assert!(stderr(&empty).contains("empty: no *.yaml, *.yml or *.json file"));
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let dir = workspace(&[]);
    let output = mutate(dir.path(), &["-f", "-"], JOB);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), JOB);
}

#[test]
fn directories_are_read_recursively_in_name_order_and_files_repeat() {
    let dir = workspace(&[
        ("manifests/b/job.yml", &JOB.replace("once", "second")),
        ("manifests/a.yaml", JOB),
        (
            "manifests/c.json",
            r#"{"apiVersion": "v1", "kind": "ConfigMap"}"#,
        ),
        ("manifests/README.md", "ignored"),
        ("extra.yaml", &JOB.replace("once", "third")),
    ]);
    let output = mutate(dir.path(), &["-f", "manifests", "-f", "extra.yaml"], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let names: Vec<_> = text
        .lines()
        .filter_map(|l| l.strip_prefix("  name: "))
        .collect();
    assert_eq!(names, ["once", "second", "third"]);
    assert_eq!(text.matches("\n---\n").count(), 3, "{text}");
    assert!(text.contains(r#"{"apiVersion": "v1", "kind": "ConfigMap"}"#));
}

#[test]
fn json_report_has_one_entry_per_object_with_its_fields() {
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n";
    let dir = workspace(&[("all.yaml", &format!("{JOB}---\n{list}"))]);
    let output = mutate(dir.path(), &["-f", "all.yaml", "--output", "json"], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("JSON report");
    let objects = report["objects"].as_array().expect("objects");
    assert_eq!(objects.len(), 2);
    let job = &objects[0];
    assert_eq!(job["file"], "all.yaml");
    assert_eq!(job["document"], 1);
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["name"], "once");
    assert_eq!(job["namespace"], Value::Null);
    assert!(job["changes"].is_array() && job["findings"].is_array());
    assert_eq!(job["patch"], serde_json::json!([]));
    assert_eq!(objects[1]["document"], 2);
    assert_eq!(objects[1]["item"], 0);
    assert_eq!(objects[1]["kind"], "ConfigMap");
    assert_eq!(report["summary"]["objects"], 2);
}

#[test]
fn diff_prints_nothing_when_nothing_changes() {
    let dir = workspace(&[("job.yaml", JOB)]);
    let output = mutate(dir.path(), &["-f", "job.yaml", "--diff"], "");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "");
}

#[test]
fn diff_and_json_output_cannot_be_combined() {
    let dir = workspace(&[("job.yaml", JOB)]);
    let output = mutate(dir.path(), &["-f", "job.yaml", "--diff", "-o", "json"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot be used with"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_file_is_required() {
    let dir = workspace(&[]);
    let output = mutate(dir.path(), &[], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--filename"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn check_exits_1_with_one_stable_line_per_change() {
    let dir = workspace(&[("is.yaml", UNSCHEDULED_STREAM), ("job.yaml", JOB)]);
    let output = mutate(
        dir.path(),
        &["-f", "is.yaml", "-f", "job.yaml", "--check"],
        "",
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "is.yaml:2: ImageStream shop/app: scheduled-import: \
         set importPolicy.scheduled on tag \"latest\" (docker.io/example/app:latest)\n"
    );
    assert!(stderr(&output).contains("1 change(s) to 1 object(s) would be made"));
}

#[test]
fn check_reads_its_flag_from_the_environment() {
    let dir = workspace(&[("is.yaml", UNSCHEDULED_STREAM)]);
    let output = Command::new(BIN)
        .args(["mutate", "-f", "is.yaml"])
        .current_dir(dir.path())
        .env_clear()
        .env("AUTOREDEPLOY_CHECK", "true")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn changed_documents_are_rewritten_and_the_others_kept() {
    let dir = workspace(&[("all.yaml", &format!("{JOB}---\n{UNSCHEDULED_STREAM}"))]);
    let output = mutate(dir.path(), &["-f", "all.yaml"], "");
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.starts_with(JOB), "{text}");
    assert!(
        text.contains("# the stream the application runs\n"),
        "{text}"
    );
    assert!(
        text.ends_with("    importPolicy:\n      scheduled: true\n"),
        "{text}"
    );
}

#[test]
fn diff_shows_the_added_lines_per_file() {
    let dir = workspace(&[("is.yaml", UNSCHEDULED_STREAM), ("job.yaml", JOB)]);
    let output = mutate(
        dir.path(),
        &["-f", "job.yaml", "-f", "is.yaml", "--diff"],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let diff = stdout(&output);
    assert!(diff.starts_with("--- is.yaml\n+++ is.yaml\n@@ "), "{diff}");
    assert!(
        diff.ends_with("+    importPolicy:\n+      scheduled: true\n"),
        "{diff}"
    );
    assert!(!diff.contains("job.yaml"), "{diff}");

    let check = mutate(dir.path(), &["-f", "is.yaml", "--diff", "--check"], "");
    assert_eq!(check.status.code(), Some(1));
}

#[test]
fn json_report_carries_changes_and_an_applicable_patch() {
    let dir = workspace(&[("is.yaml", UNSCHEDULED_STREAM)]);
    let output = mutate(dir.path(), &["-f", "is.yaml", "-o", "json", "--check"], "");
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("JSON report");
    let stream = &report["objects"][0];
    assert_eq!(stream["namespace"], "shop");
    assert_eq!(stream["changes"][0]["code"], "scheduled-import");
    assert_eq!(
        stream["changes"][0]["path"],
        "/spec/tags/0/importPolicy/scheduled"
    );
    let patch: json_patch::Patch =
        serde_json::from_value(stream["patch"].clone()).expect("a JSON Patch");
    let source = Source::new("is.yaml", UNSCHEDULED_STREAM, Format::Yaml);
    let mut object = manifests::parse(source).expect("parses").documents[0]
        .value
        .clone();
    json_patch::patch(&mut object, &patch).expect("the patch applies");
    assert_eq!(object["spec"]["tags"][0]["importPolicy"]["scheduled"], true);
    assert_eq!(report["summary"]["changes"], 1);
}

/// A commented Deployment that needs a trigger, with CRLF line breaks.
const CRLF_DEPLOYMENT: &str = "# the web tier\r\napiVersion: apps/v1\r\nkind: Deployment\r\nmetadata:\r\n  name: web # public\r\n  namespace: shop\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n      - name: web\r\n        image: example/app:latest\r\n";

#[test]
fn in_place_writes_what_mutate_prints_to_changed_files_only() {
    let dir = workspace(&[
        ("m/is.yaml", UNSCHEDULED_STREAM),
        ("m/deploy.yaml", CRLF_DEPLOYMENT),
        ("m/job.yaml", JOB),
    ]);
    let printed_stream = stdout(&mutate(
        dir.path(),
        &["-f", "m/is.yaml", "-f", "m/deploy.yaml"],
        "",
    ));
    let job_path = dir.path().join("m/job.yaml");
    let job_modified = fs::metadata(&job_path).unwrap().modified().unwrap();

    let output = mutate(dir.path(), &["-f", "m", "--in-place"], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "autoredeploy: updated m/deploy.yaml\nautoredeploy: updated m/is.yaml\n"
    );
    let written = |name: &str| fs::read_to_string(dir.path().join(name)).unwrap();
    let expected_stream =
        manifests::concatenate([written("m/is.yaml").as_str(), &written("m/deploy.yaml")]);
    assert_eq!(printed_stream, expected_stream);
    assert!(written("m/deploy.yaml").starts_with(CRLF_DEPLOYMENT.split("spec:").next().unwrap()));
    assert!(
        !written("m/deploy.yaml").replace("\r\n", "").contains('\n'),
        "CRLF kept"
    );
    assert_eq!(written("m/job.yaml"), JOB);
    assert_eq!(
        fs::metadata(&job_path).unwrap().modified().unwrap(),
        job_modified
    );

    let check = mutate(dir.path(), &["-f", "m", "--check"], "");
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    let again = mutate(dir.path(), &["-f", "m", "--in-place"], "");
    assert_eq!(stdout(&again), "", "nothing left to write");
}

#[test]
fn in_place_output_equals_the_printed_bytes_for_one_file() {
    let dir = workspace(&[
        ("deploy.yaml", CRLF_DEPLOYMENT),
        ("is.yaml", UNSCHEDULED_STREAM),
    ]);
    let printed = mutate(dir.path(), &["-f", "deploy.yaml", "-f", "is.yaml"], "");
    let diff = mutate(dir.path(), &["-f", "deploy.yaml", "--diff"], "");
    mutate(
        dir.path(),
        &["-f", "deploy.yaml", "-f", "is.yaml", "-i"],
        "",
    );
    let deploy = fs::read_to_string(dir.path().join("deploy.yaml")).unwrap();
    assert!(
        stdout(&printed).starts_with(&deploy),
        "{}",
        stdout(&printed)
    );
    let added: Vec<_> = stdout(&diff)
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        added,
        Vec::<String>::new(),
        "block manifests only gain lines"
    );
}

#[test]
fn in_place_writes_the_printed_bytes_when_the_file_lacks_a_final_line_break() {
    let unterminated = UNSCHEDULED_STREAM.trim_end();
    let dir = workspace(&[("is.yaml", unterminated)]);
    let printed = stdout(&mutate(dir.path(), &["-f", "is.yaml"], ""));
    let diff = stdout(&mutate(dir.path(), &["-f", "is.yaml", "--diff"], ""));
    mutate(dir.path(), &["-f", "is.yaml", "--in-place"], "");
    assert_eq!(
        fs::read_to_string(dir.path().join("is.yaml")).unwrap(),
        printed
    );
    assert!(diff.ends_with("+      scheduled: true\n"), "{diff}");
}

#[cfg(unix)]
#[test]
fn in_place_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = workspace(&[("is.yaml", UNSCHEDULED_STREAM)]);
    let path = dir.path().join("is.yaml");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let output = mutate(dir.path(), &["-f", "is.yaml", "--in-place"], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .contains("scheduled: true")
    );
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn in_place_refuses_standard_input_and_json_output() {
    let dir = workspace(&[("is.yaml", UNSCHEDULED_STREAM)]);
    let stdin = mutate(dir.path(), &["-f", "-", "--in-place"], UNSCHEDULED_STREAM);
    assert_eq!(stdin.status.code(), Some(2));
    assert!(
        stderr(&stdin).contains("standard input"),
        "{}",
        stderr(&stdin)
    );
    let json = mutate(dir.path(), &["-f", "is.yaml", "-i", "-o", "json"], "");
    assert_eq!(json.status.code(), Some(2));
    assert_eq!(
        fs::read_to_string(dir.path().join("is.yaml")).unwrap(),
        UNSCHEDULED_STREAM
    );
}

#[test]
fn in_place_with_check_writes_and_exits_1() {
    let dir = workspace(&[("is.yaml", UNSCHEDULED_STREAM)]);
    let output = mutate(dir.path(), &["-f", "is.yaml", "-i", "--check"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("autoredeploy: updated is.yaml"),
        "{}",
        stderr(&output)
    );
    let again = mutate(dir.path(), &["-f", "is.yaml", "--check"], "");
    assert_eq!(again.status.code(), Some(0));
}

#[test]
fn text_that_is_not_utf8_exits_2_naming_file_and_line() {
    let dir = workspace(&[]);
    fs::write(dir.path().join("bad.yaml"), b"kind: A\n# caf\xe9\n").unwrap();
    let output = mutate(dir.path(), &["-f", "bad.yaml"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("bad.yaml: line 2: not UTF-8 text"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_document_that_cannot_be_edited_in_place_is_named_in_every_output() {
    // The second tag is an alias of the first: scheduling it means editing through it.
    let shared = "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: app\n  namespace: shop\nspec:\n  tags:\n  - &tag\n    name: latest\n    from:\n      kind: DockerImage\n      name: docker.io/example/app:latest\n  - *tag\n";
    let dir = workspace(&[("is.yaml", shared)]);
    let note = "is.yaml:1: document 1 (ImageStream app): re-rendered whole";

    let printed = mutate(dir.path(), &["-f", "is.yaml"], "");
    assert!(
        stderr(&printed).contains(&format!("autoredeploy: note: {note}")),
        "{}",
        stderr(&printed)
    );
    let check = mutate(dir.path(), &["-f", "is.yaml", "--check"], "");
    assert!(stdout(&check).contains(note), "{}", stdout(&check));
    let report = mutate(dir.path(), &["-f", "is.yaml", "-o", "json"], "");
    let report: Value = serde_json::from_str(&stdout(&report)).expect("JSON report");
    let rewritten = &report["rewritten"][0];
    assert_eq!(
        (rewritten["file"].as_str(), rewritten["document"].as_u64()),
        (Some("is.yaml"), Some(1))
    );
    assert!(
        rewritten["reason"].as_str().unwrap().contains("anchor"),
        "{rewritten}"
    );
}

const WORKFLOW: &str = "\
name: ci
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
    - run: echo ${{ github.sha }}
";

/// `mutate -f . --in-place` on a repository: other YAML is left as it is with a note each,
/// a Helm chart below is skipped, a kustomization beside a changed file is noted, and only
/// the manifest that changes is written.
#[test]
fn a_repository_directory_mutates_its_manifests_and_leaves_other_yaml_alone() {
    let kustomization =
        "resources:\n- stream.yaml\nimages:\n- name: docker.io/example/app\n  newTag: \"2\"\n";
    let values = "replicas: 2\nimage:\n  repository: nginx\n";
    let files = [
        (".github/workflows/ci.yml", WORKFLOW),
        ("values.yaml", values),
        ("base/kustomization.yaml", kustomization),
        ("base/stream.yaml", UNSCHEDULED_STREAM),
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        ),
        (
            "chart/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
        ),
    ];
    let dir = workspace(&files);
    let output = mutate(dir.path(), &["-f", ".", "--in-place"], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let notes = stderr(&output);
    for expected in [
        "autoredeploy: note: ./chart: left as it is: a Helm chart (Chart.yaml): render it (helm template) and mutate the output",
        "autoredeploy: note: ./.github/workflows/ci.yml:1: document 1 left as it is: no apiVersion or kind, so not a Kubernetes object",
        "autoredeploy: note: ./values.yaml:1: document 1 left as it is: no apiVersion or kind",
        "autoredeploy: note: ./base/kustomization.yaml:1: document 1 left as it is: no apiVersion or kind",
        "autoredeploy: note: ./base/stream.yaml: ./base/kustomization.yaml builds this file, and an overlay may change its images: mutate what you apply (kustomize build ./base | autoredeploy mutate -f -)",
    ] {
        assert!(notes.contains(expected), "missing {expected:?} in\n{notes}");
    }
    assert_eq!(stdout(&output).lines().count(), 1, "{}", stdout(&output));
    for (name, text) in files {
        let now = fs::read_to_string(dir.path().join(name)).unwrap();
        if name == "base/stream.yaml" {
            assert!(
                now.contains("    importPolicy:\n      scheduled: true\n"),
                "{now}"
            );
        } else {
            assert_eq!(now, text, "{name} was written");
        }
    }
}

#[test]
fn a_helm_template_is_an_error_that_says_so() {
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.extra }}\ndata: {}\n{{- end }}\n";
    let dir = workspace(&[("manifests/cm.yaml", template), ("manifests/ok.yaml", JOB)]);
    for path in ["manifests", "manifests/cm.yaml"] {
        let output = mutate(dir.path(), &["-f", path], "");
        assert_eq!(output.status.code(), Some(2), "{path}");
        let message = stderr(&output);
        assert!(
            message.contains("manifests/cm.yaml: line 4: a Helm (Go) template, not a manifest"),
            "{path}: {message}"
        );
        assert!(message.contains("helm template"), "{message}");
    }
    // A chart directory given itself is an error too.
    let dir = workspace(&[(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    )]);
    let output = mutate(dir.path(), &["-f", "chart"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("chart: a Helm chart (Chart.yaml)"));
}

#[test]
fn a_yaml_directive_stays_in_the_output() {
    let text = format!("%YAML 1.1\n---\n{UNSCHEDULED_STREAM}");
    let dir = workspace(&[("stream.yaml", &text)]);
    let output = mutate(dir.path(), &["-f", "stream.yaml"], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = stdout(&output);
    assert!(
        printed.starts_with("%YAML 1.1\n---\n# the stream"),
        "{printed}"
    );
    assert!(printed.contains("      scheduled: true\n"), "{printed}");
    assert_eq!(stderr(&output), "", "edited in place, not re-rendered");
    // Byte for byte what the plain file gives, behind the directive.
    let plain = workspace(&[("stream.yaml", UNSCHEDULED_STREAM)]);
    let expected = stdout(&mutate(plain.path(), &["-f", "stream.yaml"], ""));
    assert_eq!(printed, format!("%YAML 1.1\n---\n{expected}"));
}

#[test]
fn duplicate_keys_are_named_in_plain_words() {
    let text = UNSCHEDULED_STREAM.replace("  name: app\n", "  name: app\n  name: other\n");
    let dir = workspace(&[("dup.yaml", &text)]);
    let output = mutate(dir.path(), &["-f", "dup.yaml"], "");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "autoredeploy: dup.yaml: document 1, line 6, column 3: duplicate key \"name\": a key may appear only once in a mapping\n"
    );
}
