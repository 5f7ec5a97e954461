//! How `mutate` edits text, one case per file in `tests/cases-format/` (a YAML case's first
//! line says what it proves). Each case snapshots the `--diff` (line breaks and byte order
//! marks shown) and the notes, and proves: every comment outside a re-rendered document
//! survives; a block-style case only adds lines, except where a value is replaced; a second
//! run over the output changes nothing.

use crate::cases::{relative, run};
use std::fs;

use autoredeploy::cli::mutate::EXIT_OK;

const CASE_COMMENT: &str = "# ";
/// Cases whose diff may remove lines: flow collections grow on their line, JSON too, and a
/// re-rendered document changes whole.
const REWRITES_LINES: [&str; 4] = ["flow-style", "list-json", "list.json", "anchors-fallback"];

/// Line breaks and byte order marks made visible, so the snapshot shows them.
fn visible(text: &str) -> String {
    text.replace('\u{feff}', "<BOM>").replace("\r\n", "<CR>\n")
}

/// Comments of `text`: a `#` at a line's start or after a space, to the end of the line.
fn comments(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_end_matches('\r');
            let at = line.find(" #").map(|at| at + 1).or_else(|| {
                line.trim_start()
                    .starts_with('#')
                    .then(|| line.len() - line.trim_start().len())
            })?;
            Some(&line[at..])
        })
        .collect()
}

fn assert_comments_survive(case: &str, input: &str, output: &str, rewritten: bool) {
    if rewritten {
        return;
    }
    for comment in comments(input) {
        assert!(
            output.contains(comment),
            "{case}: lost the comment {comment:?}"
        );
    }
}

fn assert_only_added_lines(case: &str, diff: &str) {
    for line in diff
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
    {
        assert!(
            line.contains("imagePullPolicy"),
            "{case}: the diff removes {line:?}"
        );
    }
}

fn assert_second_run_changes_nothing(case: &str, output: &str, extension: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("output.{extension}"));
    fs::write(&path, output).expect("output written");
    let path = path.to_str().expect("UTF-8 temp path");
    let again = run(&["-f", path]);
    assert_eq!(again.code, EXIT_OK, "{case}: {}", again.stderr);
    assert_eq!(
        again.stdout, output,
        "{case}: a second run changed the text"
    );
    let check = run(&["-f", path, "--check"]);
    assert_eq!(check.code, EXIT_OK, "{case}: {}", check.stdout);
}

#[test]
fn format_cases() {
    insta::glob!("cases-format/*.{yaml,json}", |path| {
        let input = fs::read_to_string(path).expect("case readable");
        let case = relative(path);
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("yaml");
        let purpose = match extension {
            "json" => "A JSON file stays JSON, edited in place".to_owned(),
            _ => {
                let first = input.trim_start_matches('\u{feff}').lines().next();
                let first = first.unwrap_or_default().trim_end_matches('\r');
                assert!(
                    first.starts_with(CASE_COMMENT),
                    "{case}: the first line must say what the case proves"
                );
                first.trim_start_matches(CASE_COMMENT).to_owned()
            }
        };

        let printed = run(&["-f", &case]);
        assert_eq!(printed.code, EXIT_OK, "{case}: {}", printed.stderr);
        let diff = run(&["-f", &case, "--diff"]);
        assert_eq!(diff.code, EXIT_OK, "{case}: {}", diff.stderr);

        let rewritten = printed.stderr.contains("re-rendered whole");
        assert_comments_survive(&case, &input, &printed.stdout, rewritten);
        if !REWRITES_LINES.iter().any(|name| case.contains(name)) {
            assert_only_added_lines(&case, &diff.stdout);
        }
        if input.contains("\r\n") {
            let bare = printed.stdout.replace("\r\n", "");
            assert!(
                !bare.contains('\n'),
                "{case}: a bare line feed in the output"
            );
        }
        if input.starts_with('\u{feff}') {
            assert!(printed.stdout.starts_with('\u{feff}'), "{case}: BOM lost");
        }
        assert_second_run_changes_nothing(&case, &printed.stdout, extension);

        insta::with_settings!({ description => purpose }, {
            insta::assert_snapshot!(format!(
                "# diff\n{}\n# notes\n{}",
                visible(&diff.stdout),
                diff.stderr
            ));
        });
    });
}
