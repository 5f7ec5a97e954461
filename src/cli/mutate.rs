//! `autoredeploy mutate`: the engine over manifests, offline. A thin layer: `manifests` reads,
//! parses, rewrites and diffs; the engine decides. This command builds the offline catalog
//! (the ImageStreams among all inputs), runs every object through the engine, and chooses
//! what to print and the exit code. It must not touch YAML syntax itself.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::Value;

use super::rules::RuleArgs;
use crate::catalog::CatalogIndex;
use crate::catalog::budget::{RegistryTotal, registry_totals};
use crate::config::RuleConfig;
use crate::engine::{self, Change, Input};
use crate::manifests::{self, Manifest};

/// Nothing would change (or `--check` was not asked).
pub const EXIT_OK: u8 = 0;
/// `--check`: something would change.
pub const EXIT_CHANGES: u8 = 1;
/// Bad flags or unreadable input.
pub const EXIT_ERROR: u8 = 2;

/// The catalog's namespace for objects without `metadata.namespace`.
const NO_NAMESPACE: &str = "";

const AFTER_HELP: &str = "\
Output: the manifests in input order as one YAML stream (`---` between files). A document \
that does not change is printed as its original text, comments included; a changed document \
is re-serialised in its file's format (YAML stays YAML, a *.json file stays JSON; standard \
input is read as YAML, which includes JSON), keys in their original order.

The offline catalog is the set of ImageStreams found in all inputs (List items included); \
objects without metadata.namespace share one namespace. Registry pull budgets count the \
imports the inputs schedule in document order: what an earlier document scheduled counts \
for the later ones, so the set as a whole stays within each budget.

--check prints `FILE:LINE: Kind namespace/name: code: message` per change (findings as \
`... note: code: message`), and exits 1 when anything would change. With --diff or \
--output json it only sets the exit code.

Exit codes: 0 nothing would change (or no --check), 1 --check and something would change, \
2 bad flags or unreadable input.";

/// What `--output` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// The mutated manifests.
    #[default]
    Yaml,
    /// A JSON report: per object its file, document, kind, name, changes, findings and patch.
    Json,
}

#[derive(Debug, Clone, Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct MutateArgs {
    /// A manifest file, a directory (its *.yaml, *.yml and *.json files, recursively, in
    /// name order) or `-` for standard input. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
    /// Print a unified diff per input file instead of the manifests.
    #[arg(long, env = "AUTOREDEPLOY_DIFF", conflicts_with = "output")]
    pub diff: bool,
    /// Exit 1 when anything would change (for CI); alone, print one line per change.
    #[arg(long, env = "AUTOREDEPLOY_CHECK")]
    pub check: bool,
    /// `yaml`: the mutated manifests; `json`: a report for machines.
    #[arg(short, long, value_enum, default_value_t, env = "AUTOREDEPLOY_OUTPUT")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// What the engine did to one object.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectReport {
    pub file: String,
    /// 1-based index of the document in its file.
    pub document: usize,
    /// Index in the List's `items`, when the object is a List item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// 1-based line where the document starts.
    pub line: usize,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub changes: Vec<Change>,
    pub findings: Vec<Change>,
    /// RFC 6902 JSON Patch, relative to the object (the item, for a List item).
    pub patch: json_patch::Patch,
}

/// One input after the engine ran.
#[derive(Debug, Clone)]
pub struct FileRun {
    pub name: String,
    pub original: String,
    pub output: String,
}

/// Everything the command computed, before printing.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub files: Vec<FileRun>,
    pub objects: Vec<ObjectReport>,
    /// Per registry, what the mutated manifest set schedules against its budget.
    pub registries: Vec<RegistryTotal>,
}

impl Run {
    fn change_count(&self) -> usize {
        self.objects.iter().map(|o| o.changes.len()).sum()
    }

    fn changed_objects(&self) -> usize {
        self.objects
            .iter()
            .filter(|o| !o.patch.0.is_empty())
            .count()
    }
}

pub fn run(args: MutateArgs) -> ExitCode {
    let code = execute(
        &args,
        &mut io::stdin().lock(),
        &mut io::stdout().lock(),
        &mut io::stderr(),
    );
    ExitCode::from(code)
}

/// The command with its streams passed in (tests drive it this way); returns the exit code.
pub fn execute(
    args: &MutateArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let result = mutate_inputs(args, stdin).and_then(|run| print(args, &run, out, err));
    match result {
        Ok(code) => code,
        Err(error) => {
            // Nothing more can be reported when standard error itself fails.
            let _ = writeln!(err, "autoredeploy: {error:#}");
            EXIT_ERROR
        }
    }
}

/// Read, parse and mutate every input.
pub fn mutate_inputs(args: &MutateArgs, stdin: &mut dyn Read) -> anyhow::Result<Run> {
    let rules = RuleConfig::try_from(&args.rules).context("invalid rule flags")?;
    let sources = manifests::read_sources(&args.files, stdin)?;
    let parsed = sources
        .into_iter()
        .map(manifests::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let mut catalog =
        CatalogIndex::from_objects(parsed.iter().flat_map(Manifest::objects), NO_NAMESPACE);
    let mut run = Run::default();
    for manifest in &parsed {
        let file = mutate_manifest(manifest, &mut catalog, &rules, &mut run.objects)?;
        run.files.push(file);
    }
    run.registries = registry_totals(catalog.usage(), &rules.budgets);
    Ok(run)
}

fn mutate_manifest(
    manifest: &Manifest,
    catalog: &mut CatalogIndex,
    rules: &RuleConfig,
    reports: &mut Vec<ObjectReport>,
) -> anyhow::Result<FileRun> {
    let mut replacements = Vec::with_capacity(manifest.documents.len());
    for doc in &manifest.documents {
        let mut at = |item, object: &Value| {
            let outcome = engine::mutate(&Input::create(object), &*catalog, rules);
            if !outcome.is_unchanged() {
                // What this document scheduled counts against the budgets of later ones.
                catalog.upsert(&outcome.object, NO_NAMESPACE);
            }
            reports.push(report(&manifest.source.name, doc, item, object, &outcome));
            (!outcome.is_unchanged()).then_some(outcome.object)
        };
        let replacement = match doc.items() {
            None => at(None, &doc.value),
            Some(items) => {
                let mutated: Vec<_> = (items.iter().enumerate())
                    .map(|(i, item)| at(Some(i), item))
                    .collect();
                mutated.iter().any(Option::is_some).then(|| {
                    let mut list = doc.value.clone();
                    list[manifests::LIST_ITEMS] = Value::Array(
                        (items.iter().zip(mutated))
                            .map(|(old, new)| new.unwrap_or_else(|| old.clone()))
                            .collect(),
                    );
                    list
                })
            }
        };
        replacements.push(replacement);
    }
    let refs: Vec<_> = replacements.iter().map(Option::as_ref).collect();
    Ok(FileRun {
        name: manifest.source.name.clone(),
        original: manifest.source.text.clone(),
        output: manifest.render(&refs)?,
    })
}

fn report(
    file: &str,
    doc: &manifests::Document,
    item: Option<usize>,
    object: &Value,
    outcome: &engine::Outcome,
) -> ObjectReport {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    ObjectReport {
        file: file.to_owned(),
        document: doc.index,
        item,
        line: doc.line,
        kind: text("/kind").unwrap_or_default(),
        namespace: text("/metadata/namespace"),
        name: text("/metadata/name"),
        changes: outcome.changes.clone(),
        findings: outcome.findings.clone(),
        patch: outcome.patch.clone(),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    objects: &'a [ObjectReport],
    summary: Summary,
    /// Per registry: scheduled tags, projected pulls per window and the budget.
    registries: &'a [RegistryTotal],
}

#[derive(Serialize)]
struct Summary {
    objects: usize,
    changed_objects: usize,
    changes: usize,
    findings: usize,
}

fn print(
    args: &MutateArgs,
    run: &Run,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    match (args.output, args.diff, args.check) {
        (OutputFormat::Json, _, _) => print_report(run, out)?,
        (OutputFormat::Yaml, true, _) => {
            for file in &run.files {
                out.write_all(
                    manifests::unified_diff(&file.name, &file.original, &file.output).as_bytes(),
                )?;
            }
            print_findings(run, err)?;
        }
        (OutputFormat::Yaml, false, true) => print_check(run, out, err)?,
        (OutputFormat::Yaml, false, false) => {
            let outputs = run.files.iter().map(|f| f.output.as_str());
            out.write_all(manifests::concatenate(outputs).as_bytes())?;
            print_findings(run, err)?;
        }
    }
    out.flush()?;
    let changed = run.changed_objects() > 0;
    Ok(if args.check && changed {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

fn print_report(run: &Run, out: &mut dyn Write) -> anyhow::Result<()> {
    let report = Report {
        objects: &run.objects,
        summary: Summary {
            objects: run.objects.len(),
            changed_objects: run.changed_objects(),
            changes: run.change_count(),
            findings: run.objects.iter().map(|o| o.findings.len()).sum(),
        },
        registries: &run.registries,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)?;
    Ok(())
}

/// One line per change on `out`, findings as notes, a summary on `err`.
fn print_check(run: &Run, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<()> {
    for object in &run.objects {
        for change in &object.changes {
            writeln!(
                out,
                "{}: {}: {}",
                locate(object),
                change.code,
                change.message
            )?;
        }
        for finding in &object.findings {
            writeln!(
                out,
                "{}: note: {}: {}",
                locate(object),
                finding.code,
                finding.message
            )?;
        }
    }
    match run.change_count() {
        0 => writeln!(err, "autoredeploy: nothing would change")?,
        n => writeln!(
            err,
            "autoredeploy: {n} change(s) to {} object(s) would be made",
            run.changed_objects()
        )?,
    }
    Ok(())
}

/// Findings on `err`, so the manifests or the diff on `out` stay clean.
fn print_findings(run: &Run, err: &mut dyn Write) -> anyhow::Result<()> {
    for object in &run.objects {
        for finding in &object.findings {
            writeln!(
                err,
                "autoredeploy: note: {}: {}: {}",
                locate(object),
                finding.code,
                finding.message
            )?;
        }
    }
    Ok(())
}

/// `FILE:LINE: Kind namespace/name`, the stable prefix of every `--check` line.
fn locate(object: &ObjectReport) -> String {
    let name = object.name.as_deref().unwrap_or("(unnamed)");
    let kind = &object.kind;
    match object.namespace.as_deref() {
        Some(ns) => format!("{}:{}: {kind} {ns}/{name}", object.file, object.line),
        None => format!("{}:{}: {kind} {name}", object.file, object.line),
    }
}
