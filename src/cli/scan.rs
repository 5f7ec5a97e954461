//! `autoredeploy scan`: flags, cluster access (a kubeconfig, or inferred like `serve`), the
//! output format and the exit code. The work is in `crate::scan`; this command wires it to
//! standard output and standard error. Errors are one line naming the resource and reason.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::rules::RuleArgs;
use crate::batch::{self, Batch, View};
use crate::catalog::client::client_from_env;
use crate::config::{Mode, RuleConfig};
use crate::engine::kind::Kind;
use crate::scan::api::Cluster;
use crate::scan::scope::{self as scan_scope, ChartDefaults, Decision, ScopeOptions};
use crate::scan::{self, Progress, Quiet, explain, fix, image, policyreport, render, resources};

/// Nothing would change (scan), or every patch was applied or none was needed (`--fix`).
pub const EXIT_OK: u8 = 0;
/// Something would change (scan without `--fix`).
pub const EXIT_CHANGES: u8 = 1;
/// An error: bad flags, no cluster, a forbidden list, a patch that failed or was skipped.
pub const EXIT_ERROR: u8 = 2;

const AFTER_HELP: &str = "\
Lists ImageStreams, DeploymentConfigs, Deployments, StatefulSets, DaemonSets and CronJobs \
(page by page) and runs each through the webhook's engine as a re-apply of the stored object. \
ImageStreams and DeploymentConfigs are skipped, with a note, on clusters that do not serve them.

Only objects the webhook is called for are run: the scope (rules, namespaceSelector, \
objectSelector, matchConditions) is read from the installed MutatingWebhookConfiguration, or \
taken from the chart's defaults (the --exclude-namespaces ... flags) when none can be read; \
the other objects are reported out of scope and never patched.

Statuses: auto-redeploys, would change (with the change codes), not tracked, opted out, owned, \
out of scope, trigger paused, automatic: false, import failing, not scheduled, nothing to \
import, needs attention (with the engine's finding code).

KIND/NAME explains one object container by container. --image REF answers what redeploys \
if that image moves: the tags importing it (every 15 minutes, polled, or not at all and why) \
and each workload container following them (yes, after the next apply, or no and why); it \
exits 0 once answered. --fix applies the webhook's patches as \
JSON Patches guarded by a test of metadata.resourceVersion (field manager autoredeploy); \
--dry-run sends them with dryRun=All.

Exit codes: 0 nothing would change (--fix: every patch applied or none needed), 1 something \
would change, 2 errors (the messages name the resource and the reason).";

/// What `--output` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ScanOutput {
    /// One line per object and a summary, for people.
    #[default]
    Table,
    /// The report for machines (schema autoredeploy.io/scan/v1).
    Json,
    /// wgpolicyk8s.io/v1alpha2 PolicyReports, one per namespace, in a v1 List.
    Policyreport,
}

#[derive(Debug, Clone, Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct ScanArgs {
    /// Explain one object: KIND/NAME (deployment/web, dc/api, imagestream/nginx, ...).
    #[arg(value_name = "KIND/NAME")]
    pub target: Option<String>,
    /// Namespace to scan (default: the kubeconfig context's).
    #[arg(
        short,
        long,
        env = "AUTOREDEPLOY_SCAN_NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,
    /// Scan every namespace.
    #[arg(short = 'A', long, env = "AUTOREDEPLOY_SCAN_ALL_NAMESPACES")]
    pub all_namespaces: bool,
    /// Kubeconfig (default: $KUBECONFIG or ~/.kube/config, then the in-cluster account).
    #[arg(long, env = "AUTOREDEPLOY_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    #[arg(
        short,
        long,
        value_enum,
        default_value_t,
        env = "AUTOREDEPLOY_SCAN_OUTPUT"
    )]
    pub output: ScanOutput,
    /// What redeploys if this image moves: the ImageStream tags importing REF (normalised:
    /// nginx:1.27 is docker.io/library/nginx:1.27), how each is re-imported, and every
    /// workload container following them, with whether it would redeploy by itself.
    #[arg(long, value_name = "REF", env = "AUTOREDEPLOY_SCAN_IMAGE")]
    pub image: Option<String>,
    /// Apply the webhook's patch to every object that would change.
    #[arg(long, env = "AUTOREDEPLOY_SCAN_FIX")]
    pub fix: bool,
    /// With --fix: send the patches with dryRun=All (the server checks, stores nothing).
    #[arg(long, requires = "fix", env = "AUTOREDEPLOY_SCAN_DRY_RUN")]
    pub dry_run: bool,
    /// Objects per list request.
    #[arg(long, default_value_t = 500, env = "AUTOREDEPLOY_SCAN_PAGE_SIZE", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// Which objects the webhook is called for: read from a cluster's MutatingWebhookConfiguration,
/// or, when none can be read, the chart's values given here (their defaults are the chart's).
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    /// The MutatingWebhookConfiguration whose scope applies (default: every one holding the
    /// webhooks mutate.autoredeploy.io or audit.autoredeploy.io).
    #[arg(
        long,
        env = "AUTOREDEPLOY_SCAN_WEBHOOK_CONFIGURATION",
        value_name = "NAME"
    )]
    pub webhook_configuration: Option<String>,
    /// When no configuration can be read: namespaces the webhook never serves (the chart's
    /// webhook.excludeNamespaces and its release namespace) [default:
    /// kube-system,kube-node-lease,openshift].
    #[arg(
        long,
        env = "AUTOREDEPLOY_SCAN_EXCLUDE_NAMESPACES",
        value_name = "NS,...",
        value_delimiter = ','
    )]
    pub exclude_namespaces: Option<Vec<String>>,
    /// When no configuration can be read: the namespace label that opts a namespace out
    /// (webhook.namespaceOptOut.key) [default: autoredeploy.io/mode].
    #[arg(
        long,
        env = "AUTOREDEPLOY_SCAN_NAMESPACE_OPT_OUT_LABEL",
        value_name = "KEY"
    )]
    pub namespace_opt_out_label: Option<String>,
    /// When no configuration can be read: the values of that label that opt out
    /// (webhook.namespaceOptOut.values) [default: disabled].
    #[arg(
        long,
        env = "AUTOREDEPLOY_SCAN_NAMESPACE_OPT_OUT_VALUES",
        value_name = "VALUE,...",
        value_delimiter = ','
    )]
    pub namespace_opt_out_values: Option<Vec<String>>,
    /// When no configuration can be read: the object label that opts an object out when
    /// "true" (webhook.objectOptOutLabel) [default: autoredeploy.io/skip].
    #[arg(
        long,
        env = "AUTOREDEPLOY_SCAN_OBJECT_OPT_OUT_LABEL",
        value_name = "KEY"
    )]
    pub object_opt_out_label: Option<String>,
    /// When no configuration can be read: serve openshift-* namespaces too
    /// (webhook.excludeOpenShiftNamespaces: false).
    #[arg(long, env = "AUTOREDEPLOY_SCAN_INCLUDE_OPENSHIFT_NAMESPACES")]
    pub include_openshift_namespaces: bool,
}

impl ScopeArgs {
    /// The options `scan::scope::load` takes; empty list entries are dropped.
    pub fn options(&self) -> ScopeOptions {
        let mut defaults = ChartDefaults::default();
        let mut given = Vec::new();
        let list = |values: &[String]| -> Vec<String> {
            values
                .iter()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        if let Some(namespaces) = &self.exclude_namespaces {
            defaults.exclude_namespaces = list(namespaces);
            given.push("--exclude-namespaces");
        }
        if let Some(key) = &self.namespace_opt_out_label {
            defaults.namespace_opt_out_label = key.clone();
            given.push("--namespace-opt-out-label");
        }
        if let Some(values) = &self.namespace_opt_out_values {
            defaults.namespace_opt_out_values = list(values);
            given.push("--namespace-opt-out-values");
        }
        if let Some(key) = &self.object_opt_out_label {
            defaults.object_opt_out_label = key.clone();
            given.push("--object-opt-out-label");
        }
        if self.include_openshift_namespaces {
            defaults.exclude_openshift_namespaces = false;
            given.push("--include-openshift-namespaces");
        }
        ScopeOptions {
            configuration: self.webhook_configuration.clone(),
            defaults,
            defaults_given: given,
        }
    }
}

pub fn run(args: ScanArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("autoredeploy: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let progress = std::io::stderr().is_terminal();
    let mut out = std::io::stdout().lock();
    let code = runtime.block_on(execute(&args, progress, &mut out, &mut std::io::stderr()));
    ExitCode::from(code)
}

/// The command with its streams passed in (tests drive it this way); returns the exit code.
/// `progress` writes list progress to `err` (only asked for when it is a terminal).
pub async fn execute(
    args: &ScanArgs,
    progress: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    match scan_and_print(args, progress, out, err).await {
        Ok(code) => code,
        Err(error) => {
            // The errors here carry their causes in their own message already.
            // Nothing more can be reported when standard error itself fails.
            let _ = writeln!(err, "autoredeploy: {error}");
            EXIT_ERROR
        }
    }
}

async fn scan_and_print(
    args: &ScanArgs,
    progress: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let rules = RuleConfig::try_from(&args.rules)?;
    let target = checked_target(args)?;
    let image = checked_image(args)?;
    let client = client_from_env(args.kubeconfig.as_deref()).await?;
    let cluster = Cluster::new(client, args.page_size);
    let namespace = match (&args.namespace, args.all_namespaces) {
        (Some(ns), _) => Some(ns.clone()),
        (None, true) => None,
        (None, false) => Some(cluster.default_namespace().to_string()),
    };
    let scope = args.scope.options();
    if let Some(query) = image {
        let asked = ImageQuestion {
            query,
            namespace: namespace.as_deref(),
            output: args.output,
            progress,
        };
        return answer_image(&cluster, asked, &rules, &scope, out, err).await;
    }
    if let Some((resource, name)) = target {
        let ns = namespace.unwrap_or_default();
        let one = One {
            resource,
            namespace: &ns,
            name: &name,
        };
        return explain_one(&cluster, one, &rules, &scope, out, err).await;
    }
    let mut reporter: Box<dyn Progress> = match progress {
        true => Box::new(Terminal { err: &mut *err }),
        false => Box::new(Quiet),
    };
    let mut scan = scan::scan(
        &cluster,
        namespace.as_deref(),
        &rules,
        &scope,
        reporter.as_mut(),
    )
    .await?;
    drop(reporter);
    for note in &scan.notes {
        writeln!(err, "autoredeploy: {note}")?;
    }
    for error in &scan.errors {
        writeln!(err, "autoredeploy: {error}")?;
    }
    let fixes = match args.fix {
        true => Some(fix::fix(&cluster, &mut scan, &rules, args.dry_run).await),
        false => None,
    };
    print(args, &scan, namespace.as_deref(), fixes.as_deref(), out)?;
    Ok(exit_code(&scan, fixes.as_deref()))
}

/// The `KIND/NAME` to explain, after refusing flag mixes that mean nothing.
fn checked_target(
    args: &ScanArgs,
) -> anyhow::Result<Option<(&'static resources::Resource, String)>> {
    let target = args
        .target
        .as_deref()
        .map(resources::parse_target)
        .transpose();
    let target = target.map_err(anyhow::Error::msg)?;
    if target.is_some() && (args.all_namespaces || args.fix || args.output != ScanOutput::Table) {
        anyhow::bail!(
            "KIND/NAME explains one object in one namespace: it takes -n, not -A, --fix or --output"
        );
    }
    if args.fix && args.output == ScanOutput::Policyreport {
        anyhow::bail!("--fix prints what it changed as a table or JSON, not as PolicyReports");
    }
    Ok(target)
}

/// The `--image` asked about, after refusing flag mixes that mean nothing.
fn checked_image(args: &ScanArgs) -> anyhow::Result<Option<image::Query>> {
    let Some(given) = args.image.as_deref() else {
        return Ok(None);
    };
    if args.target.is_some() || args.fix {
        anyhow::bail!(
            "--image answers what redeploys if an image moves across the scanned namespaces: it takes neither KIND/NAME nor --fix"
        );
    }
    if args.output == ScanOutput::Policyreport {
        anyhow::bail!("--image prints a table or JSON, not PolicyReports");
    }
    image::Query::parse(given)
        .map(Some)
        .map_err(anyhow::Error::msg)
}

/// What `--image` asks, and how the answer is printed.
struct ImageQuestion<'a> {
    query: image::Query,
    namespace: Option<&'a str>,
    output: ScanOutput,
    progress: bool,
}

/// `--image`: the scan's own flow, observed. Exit 0 once answered (whatever the answer:
/// it is a question, not a check), 2 when a list failed.
async fn answer_image(
    cluster: &Cluster,
    asked: ImageQuestion<'_>,
    rules: &RuleConfig,
    scope: &ScopeOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let namespace = asked.namespace;
    let mut observer = image::ImageAnswer::new(asked.query, rules, namespace);
    let mut reporter: Box<dyn Progress> = match asked.progress {
        true => Box::new(Terminal { err: &mut *err }),
        false => Box::new(Quiet),
    };
    let mut flow = scan::Flow {
        progress: reporter.as_mut(),
        observer: &mut observer,
    };
    let scan = scan::scan_observed(cluster, namespace, rules, scope, &mut flow).await;
    drop(reporter);
    let scan = scan?;
    for line in scan.notes.iter().chain(&scan.errors) {
        writeln!(err, "autoredeploy: {line}")?;
    }
    let answer = observer.finish(&scan.tags);
    match asked.output {
        ScanOutput::Json => {
            let report = render::ImageJsonReport::new(&answer, &scan, namespace);
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        _ => out.write_all(render::image_table(&answer).as_bytes())?,
    }
    Ok(match scan.errors.is_empty() {
        true => EXIT_OK,
        false => EXIT_ERROR,
    })
}

fn print(
    args: &ScanArgs,
    scan: &scan::Scan,
    namespace: Option<&str>,
    fixes: Option<&[fix::FixResult]>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match (args.output, fixes) {
        (ScanOutput::Table, Some(fixes)) => {
            out.write_all(fix::render(fixes, args.dry_run).as_bytes())?
        }
        (ScanOutput::Table, None) => out.write_all(render::table(scan).as_bytes())?,
        (ScanOutput::Json, _) => {
            let report = render::JsonReport::new(scan, namespace, fixes);
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        (ScanOutput::Policyreport, _) => {
            serde_json::to_writer_pretty(&mut *out, &policyreport::reports(&scan.objects))?;
            writeln!(out)?;
        }
    }
    Ok(())
}

fn exit_code(scan: &scan::Scan, fixes: Option<&[fix::FixResult]>) -> u8 {
    if !scan.errors.is_empty() {
        return EXIT_ERROR;
    }
    match fixes {
        Some(fixes) if fixes.iter().any(fix::FixResult::failed) => EXIT_ERROR,
        Some(_) => EXIT_OK,
        None if scan.objects.iter().any(scan::ScannedObject::fixable) => EXIT_CHANGES,
        None => EXIT_OK,
    }
}

/// The object `scan KIND/NAME` explains.
struct One<'a> {
    resource: &'static resources::Resource,
    namespace: &'a str,
    name: &'a str,
}

/// One object: its namespace's streams for the catalog, the webhook's scope, the object
/// itself, the explanation.
async fn explain_one(
    cluster: &Cluster,
    one: One<'_>,
    rules: &RuleConfig,
    options: &ScopeOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let One {
        resource,
        namespace,
        name,
    } = one;
    let (catalog, mut tags, streams) = scan::catalog::of(cluster, namespace, rules).await?;
    let (scope, _) = scan_scope::load(cluster, Some(namespace), options).await?;
    // What the next apply of each of the namespace's streams does to its tags, in list
    // order, as the whole-namespace scan judges them; a workload is then judged against the
    // catalog they leave, as there.
    let mut after_streams = catalog.clone();
    let mut batch = Batch::new(View::Reapply, &mut after_streams, rules, "");
    for stream in (streams.iter()).filter(|s| scan::classify::namespace_of(s) == namespace) {
        if let Decision::Served(served) = scope.decide(&resources::IMAGE_STREAMS, stream) {
            let judgement = batch.judge(stream, served);
            if judgement.mode == Mode::Enforce {
                tags.record_next_apply(stream, &judgement.outcome);
            }
        }
    }
    for note in &scope.notes {
        writeln!(err, "autoredeploy: {note}")?;
    }
    let stored = cluster.get(resource, namespace, name).await?;
    let served = match scope.decide(resource, &stored) {
        Decision::Served(served) => served,
        Decision::OutOfScope(why) => {
            writeln!(
                out,
                "{} {namespace}/{name}: out of scope ({why})\n\nThe webhook is not called for it ({}): scan --fix never patches it.",
                resource.kind, scope.source
            )?;
            return Ok(EXIT_OK);
        }
    };
    let against = match resource.engine {
        Some(Kind::ImageStream) => &catalog,
        _ => &after_streams,
    };
    let judgement = batch::judge(View::Reapply, &stored, served, against, rules);
    let outcome = &judgement.outcome;
    let Some(kind) = resource.engine else {
        anyhow::bail!("{} is not a kind the engine handles", resource.kind);
    };
    let verdict = match kind {
        Kind::ImageStream => scan::classify::stream(&stored, outcome, &tags),
        _ => scan::classify::workload(kind, &stored, outcome, &tags),
    };
    // The same object report the table shows: it marks an audited object's changes.
    let report = scan::scanned(resource, &stored, &judgement, verdict.clone());
    let verdict = scan::classify::Verdict {
        detail: report.detail,
        ..verdict
    };
    let subject = explain::Subject {
        kind,
        kind_name: resource.kind,
        stored: &stored,
        outcome,
        mode: judgement.mode,
        verdict: &verdict,
        tags: &tags,
    };
    out.write_all(explain::render(&subject).as_bytes())?;
    Ok(match judgement.written().is_none() {
        true => EXIT_OK,
        false => EXIT_CHANGES,
    })
}

/// Progress on a terminal: one line rewritten in place.
struct Terminal<'a> {
    err: &'a mut dyn Write,
}

/// Objects between two progress updates.
const PROGRESS_EVERY: usize = 100;

impl Progress for Terminal<'_> {
    fn listed(&mut self, what: &str, objects: usize) {
        if objects.is_multiple_of(PROGRESS_EVERY) {
            // Progress is a courtesy: a failed write to the terminal changes nothing.
            let _ = write!(self.err, "\rlisting {what}: {objects}\x1b[K");
            let _ = self.err.flush();
        }
    }
}

impl Drop for Terminal<'_> {
    fn drop(&mut self) {
        let _ = write!(self.err, "\r\x1b[K");
    }
}
