//! The docs stay true by test: every change and finding code is in `docs/rules.md` and serialises
//! as its `as_str`; every flag of `serve`, `mutate`, `scan` and `poll` is documented in the README
//! or the operators' guide; every file under `tests/` is compiled into one of the test binaries
//! Cargo.toml declares, so no test file is silently left out; and no comment is wider than the
//! code.

use std::collections::BTreeSet;
use std::path::Path;

use clap::CommandFactory;

use autoredeploy::cli::Cli;
use autoredeploy::engine::Code;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `Code::X => "x"` arm of `Code::as_str` (an exhaustive match, so the compiler keeps
/// it complete), as (variant, string).
fn code_arms() -> Vec<(String, String)> {
    let source = read("src/engine/change.rs");
    let body = source
        .split("pub fn as_str(self) -> &'static str {")
        .nth(1)
        .expect("Code::as_str in src/engine/change.rs");
    let body = &body[..body.find("\n    }\n").expect("the end of as_str")];
    body.lines()
        .filter_map(|line| {
            let (variant, string) = line.trim().split_once(" => ")?;
            let variant = variant.strip_prefix("Code::")?;
            let string = string.trim_end_matches(',').trim_matches('"');
            Some((variant.to_string(), string.to_string()))
        })
        .collect()
}

/// The variants declared in `enum Code`.
fn code_variants() -> BTreeSet<String> {
    let source = read("src/engine/change.rs");
    let body = source.split("pub enum Code {").nth(1).expect("enum Code");
    let body = &body[..body.find("\n}").expect("the end of enum Code")];
    body.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && !l.is_empty())
        .map(|l| l.trim_end_matches(',').to_string())
        .collect()
}

#[test]
fn every_code_is_in_the_rules_doc_and_serialises_as_its_name() {
    let arms = code_arms();
    let variants: BTreeSet<String> = arms.iter().map(|(v, _)| v.clone()).collect();
    assert_eq!(
        variants,
        code_variants(),
        "as_str's arms are the enum's variants"
    );
    let rules = read("docs/rules.md");
    let table: BTreeSet<&str> = rules
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .collect();
    for (variant, string) in &arms {
        let code: Code = serde_json::from_value(serde_json::json!(string))
            .unwrap_or_else(|e| panic!("{string:?} does not deserialise as a Code: {e}"));
        assert_eq!(code.as_str(), string, "Code::{variant}");
        assert_eq!(
            serde_json::to_value(code).unwrap(),
            serde_json::json!(string)
        );
        assert!(
            table.contains(string.as_str()),
            "code `{string}` has no row in docs/rules.md's Codes table"
        );
    }
}

#[test]
fn every_flag_is_documented() {
    let docs = read("README.md") + &read("docs/operating.md") + &read("docs/scan.md");
    let cli = Cli::command();
    let mut missing = Vec::new();
    for sub in ["serve", "mutate", "scan", "poll"] {
        let command = cli.find_subcommand(sub).expect("subcommand");
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            if !docs.contains(&format!("--{long}")) {
                missing.push(format!("{sub} --{long}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "flags documented neither in README.md, docs/operating.md nor docs/scan.md: {missing:?}"
    );
}

/// Every `.rs` file under `tests/` (but fixtures) is a declared test target or a module
/// reached from one.
#[test]
fn every_test_file_is_compiled() {
    let manifest = read("Cargo.toml");
    let roots: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("path = \"tests/"))
        .map(|l| format!("tests/{}", l.trim_end_matches('"')))
        .collect();
    let mut reached = BTreeSet::new();
    let mut queue = roots.clone();
    while let Some(file) = queue.pop() {
        if !reached.insert(file.clone()) {
            continue;
        }
        let text = read(&file);
        let dir = Path::new(&file).parent().unwrap();
        let stem = Path::new(&file).file_stem().unwrap().to_str().unwrap();
        // `mod x;` in a root or mod.rs/main.rs is beside it; elsewhere under its stem.
        let base = if roots.contains(&file) || stem == "mod" || stem == "main" {
            dir.to_path_buf()
        } else {
            dir.join(stem)
        };
        for line in text.lines() {
            let line = line.trim();
            let Some(name) = line
                .strip_prefix("mod ")
                .or_else(|| line.strip_prefix("pub mod "))
                .and_then(|l| l.strip_suffix(';'))
            else {
                continue;
            };
            let flat = base.join(format!("{name}.rs"));
            let nested = base.join(name).join("mod.rs");
            for candidate in [flat, nested] {
                if Path::new(ROOT).join(&candidate).is_file() {
                    queue.push(candidate.to_string_lossy().into_owned());
                }
            }
        }
    }
    let mut files = Vec::new();
    collect(&Path::new(ROOT).join("tests"), &mut files);
    let orphans: Vec<String> = files
        .into_iter()
        .map(|f| f.strip_prefix(ROOT).unwrap().to_string_lossy().into_owned())
        .filter(|f| !f.starts_with("tests/fixtures/") && !reached.contains(f))
        .collect();
    assert!(
        orphans.is_empty(),
        "test files no binary compiles: {orphans:?}"
    );
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            let skipped = [".venv", "__pycache__", "target"];
            if !skipped.iter().any(|s| path.ends_with(s)) {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// rustfmt keeps code within 100 columns but leaves comments alone on stable: no comment line
/// in the crate's Rust sources is wider than the code around it.
#[test]
fn no_comment_line_is_over_100_columns() {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "examples", "fuzz"] {
        let path = Path::new(ROOT).join(dir);
        if path.is_dir() {
            collect(&path, &mut files);
        }
    }
    assert!(files.len() > 50, "the sources were found: {}", files.len());
    let mut wide = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") && line.chars().count() > 100 {
                let name = file.strip_prefix(ROOT).unwrap().display();
                wide.push(format!("{name}:{}", n + 1));
            }
        }
    }
    assert!(wide.is_empty(), "comment lines over 100 columns: {wide:?}");
}
