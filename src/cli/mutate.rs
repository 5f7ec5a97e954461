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

use super::in_place;

mod print;
use crate::batch::{Batch, Row, View};
use crate::config::{Mode, RuleConfig};
use crate::manifests::{self, DocumentChange, Manifest, Rewrite, Skipped};

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
that does not change is printed as its original text. A changed document is edited in place, \
as a person would: only the fields the engine adds or replaces change; comments, quoting, flow \
or block style, indentation, CRLF line breaks and a byte order mark stay, and new keys follow \
their siblings' indentation and sequence style. A document that cannot be edited so (an \
edit through an alias or a merge key) is re-serialised whole in its file's format, with a \
note naming it and saying why. Standard input is read as YAML, which includes JSON. A document \
with neither apiVersion nor kind (a CI workflow, Helm values), a Chart.yaml, and a Helm chart \
found in a directory are left as they are, with a note; a Helm template is an error saying so. \
Mutate what you apply: rendered Helm or kustomize output (helm template ... | autoredeploy \
mutate -f -), not a base an overlay changes; a changed file beside a kustomization is noted.

--in-place writes the results back to the files given (not `-`): only files that change, \
each through a temporary file in the same directory renamed over the original (permissions \
kept), one line per file written. --diff shows exactly what --in-place would write. Combined \
with --diff or --check, --in-place still writes, and its lines go to standard error.

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
    /// A JSON report: per object its file, document, kind, namespace, name, mode, changes,
    /// findings and patch (in audit, the would-be patch); and the documents re-rendered whole,
    /// with why.
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
    /// Write the results back to the files given (not `-`) instead of printing them; only
    /// files that change are written.
    #[arg(
        short = 'i',
        long,
        env = "AUTOREDEPLOY_IN_PLACE",
        conflicts_with = "output"
    )]
    pub in_place: bool,
    /// `yaml`: the mutated manifests; `json`: a report for machines.
    #[arg(short, long, value_enum, default_value_t, env = "AUTOREDEPLOY_OUTPUT")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// What the engine did to one object: where it sits in the input, and its report row.
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
    /// Kind, namespace, name, mode (`audit` when the object asks for it,
    /// `autoredeploy.io/mode: audit`: its changes are reported, not written), changes,
    /// findings, the patch written to the object (the item, for a List item; empty in audit)
    /// and, in audit, the patch enforce would have written.
    #[serde(flatten)]
    pub row: Row,
}

/// One input after the engine ran.
#[derive(Debug, Clone)]
pub struct FileRun {
    pub name: String,
    /// The file it came from; none for standard input.
    pub path: Option<PathBuf>,
    /// The input and the output, byte order marks included: what `--in-place` compares and
    /// writes.
    pub original: String,
    pub output: String,
    /// Documents that could not be edited in place.
    pub rewrites: Vec<Rewrite>,
}

/// Everything the command computed, before printing.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub files: Vec<FileRun>,
    pub objects: Vec<ObjectReport>,
    /// Per registry, what the mutated manifest set schedules against its budget.
    pub registries: Vec<RegistryTotal>,
    /// Input that is not Kubernetes objects, left as it is.
    pub skipped: Vec<Skipped>,
    /// Changed files that a kustomization beside them builds.
    pub kustomized: Vec<Kustomized>,
}

/// A changed file with a kustomization in its directory: an overlay may replace its images
/// (`images:`), so triggers written into the base follow the base's tags, and with the
/// webhook down or in audit mode they would write the base's image over the overlay's.
#[derive(Debug, Clone, Serialize)]
pub struct Kustomized {
    pub file: String,
    pub kustomization: String,
}

impl std::fmt::Display for Kustomized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = std::path::Path::new(&self.kustomization)
            .parent()
            .map(|d| d.display().to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| ".".into());
        write!(
            f,
            "{}: {} builds this file, and an overlay may change its images: mutate what you apply (kustomize build {dir} | autoredeploy mutate -f -)",
            self.file, self.kustomization
        )
    }
}

impl Run {
    fn rewrites(&self) -> impl Iterator<Item = &Rewrite> {
        self.files.iter().flat_map(|f| &f.rewrites)
    }

    /// Changes written (audited objects' changes are only reported).
    fn change_count(&self) -> usize {
        self.objects
            .iter()
            .filter(|o| !o.row.audited())
            .map(|o| o.row.changes.len())
            .sum()
    }

    fn changed_objects(&self) -> usize {
        self.objects
            .iter()
            .filter(|o| !o.row.patch.0.is_empty())
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
    let result = mutate_inputs(args, stdin).and_then(|run| print::print(args, &run, out, err));
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
    if args.in_place {
        in_place::check_inputs(&args.files)?;
    }
    let (sources, charts) = manifests::read_sources_noting(&args.files, stdin)?;
    let parsed = sources
        .into_iter()
        .map(manifests::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let mut catalog =
        CatalogIndex::from_objects(parsed.iter().flat_map(Manifest::objects), NO_NAMESPACE);
    // One batch over every input in order: what an earlier document scheduled counts
    // against the budgets of later ones.
    let mut batch = Batch::new(View::Create, &mut catalog, &rules, NO_NAMESPACE);
    let mut run = Run {
        skipped: charts,
        ..Run::default()
    };
    for manifest in &parsed {
        run.skipped.extend(manifest.skipped.iter().cloned());
        let file = mutate_manifest(manifest, &mut batch, &mut run.objects)?;
        let kustomization = (file.output != file.original)
            .then(|| manifests::kustomization_beside(file.path.as_deref()?))
            .flatten();
        if let Some(kustomization) = kustomization {
            run.kustomized.push(Kustomized {
                file: file.name.clone(),
                kustomization: kustomization.display().to_string(),
            });
        }
        run.files.push(file);
    }
    run.registries = registry_totals(batch.catalog().usage(), &rules.budgets);
    Ok(run)
}

fn mutate_manifest(
    manifest: &Manifest,
    batch: &mut Batch<'_>,
    reports: &mut Vec<ObjectReport>,
) -> anyhow::Result<FileRun> {
    let mut changes = Vec::with_capacity(manifest.documents.len());
    for doc in &manifest.documents {
        let mut at = |item, object: &Value| {
            // An object in audit mode is reported, never written (as the webhook answers it).
            let judgement = batch.judge(object, Mode::Enforce);
            reports.push(ObjectReport {
                file: manifest.source.name.clone(),
                document: doc.index,
                item,
                line: doc.line,
                row: Row::new(object, &judgement),
            });
            let written = judgement.written().is_some();
            written.then_some((judgement.outcome.object, judgement.outcome.patch))
        };
        let change = match doc.items() {
            None => at(None, &doc.value).map(DocumentChange::object),
            Some(items) => {
                let outcomes: Vec<_> = (items.iter().enumerate())
                    .map(|(i, item)| at(Some(i), item))
                    .collect();
                DocumentChange::list(&doc.value, outcomes)
            }
        };
        changes.push(change);
    }
    let rendered = manifest.render(&changes)?;
    Ok(FileRun {
        name: manifest.source.name.clone(),
        path: manifest.source.path.clone(),
        original: manifest.source.with_byte_order_mark(&manifest.source.text),
        output: rendered.text,
        rewrites: rendered.rewrites,
    })
}
