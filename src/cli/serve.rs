//! `autoredeploy serve`: flags, telemetry set-up, and the server's lifetime. The flags are
//! validated once into a [`ServerConfig`]; `--dev-certs` writes its certificates here,
//! before the server loads them like any other pair.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

use super::rules::RuleArgs;
use crate::config::{Mode, RuleConfig};
use crate::server::{self, CatalogMode, ServerConfig, certs};

/// Runtime workers: TLS and JSON work is CPU-bound and the pod gets about two cores.
const WORKER_THREADS: usize = 2;
/// Log lines queued for the writer thread before a review waits for it: enough to absorb a
/// burst, small enough to keep memory flat under sustained load.
const LOG_QUEUE_LINES: usize = 1024;
/// Bytes the log writer thread gathers before a `write(2)` (it also writes whenever its queue
/// runs empty).
const LOG_WRITE_BUFFER: usize = 64 * 1024;
/// Log filter when `RUST_LOG` is not set.
const DEFAULT_LOG_FILTER: &str = "info";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Plain,
    Json,
}

#[derive(Debug, Clone, Args)]
// Numbers are u32, not u64/usize, to keep `Command::Serve` within clippy's
// large-enum-variant threshold.
pub struct ServeArgs {
    /// HTTPS address of the webhook.
    #[arg(long, env = "AUTOREDEPLOY_LISTEN", default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
    /// Plain-HTTP address of /healthz, /readyz and /metrics.
    #[arg(
        long,
        env = "AUTOREDEPLOY_ADMIN_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub admin_listen: SocketAddr,
    /// Serving certificate chain (PEM); re-read when it changes.
    #[arg(long, env = "AUTOREDEPLOY_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Serving private key (PEM); re-read when it changes.
    #[arg(long, env = "AUTOREDEPLOY_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Use (and create when missing) ca.crt, tls.crt and tls.key in DIR. For development.
    #[arg(long, env = "AUTOREDEPLOY_DEV_CERTS", value_name = "DIR")]
    pub dev_certs: Option<PathBuf>,
    /// Extra DNS names for generated dev certificates (localhost and 127.0.0.1 always).
    #[arg(
        long,
        env = "AUTOREDEPLOY_DEV_CERT_DNS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub dev_cert_dns: Vec<String>,
    /// `audit` answers every path in audit mode (no patch, warnings only).
    #[arg(long, env = "AUTOREDEPLOY_MODE", value_enum, default_value_t = Mode::Enforce)]
    pub mode: Mode,
    #[arg(long, env = "AUTOREDEPLOY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,
    /// Watch ImageStreams from the cluster (`auto`) or never (`off`).
    #[arg(long, env = "AUTOREDEPLOY_CATALOG", value_enum, default_value_t = CatalogMode::Auto)]
    pub catalog: CatalogMode,
    /// Kubeconfig for the catalog watch (in-cluster configuration otherwise).
    #[arg(long, env = "AUTOREDEPLOY_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Namespaces whose ImageStreams the catalog watches (all when empty).
    #[arg(
        long,
        env = "AUTOREDEPLOY_CATALOG_NAMESPACES",
        value_delimiter = ',',
        value_name = "NAMESPACE"
    )]
    pub catalog_namespaces: Vec<String>,
    /// Seconds readiness waits for the catalog's first full list before serving without it.
    #[arg(
        long,
        env = "AUTOREDEPLOY_CATALOG_SYNC_TIMEOUT",
        default_value_t = 30,
        value_name = "SECONDS"
    )]
    pub catalog_sync_timeout: u32,
    /// Seconds to finish in-flight reviews after SIGTERM.
    #[arg(
        long,
        env = "AUTOREDEPLOY_SHUTDOWN_TIMEOUT",
        default_value_t = 25,
        value_name = "SECONDS"
    )]
    pub shutdown_timeout: u32,
    /// Concurrent HTTPS connections (including handshakes).
    #[arg(long, env = "AUTOREDEPLOY_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: u32,
    /// Seconds between checks of the certificate files.
    #[arg(
        long,
        env = "AUTOREDEPLOY_TLS_RELOAD_INTERVAL",
        default_value_t = 5,
        value_name = "SECONDS"
    )]
    pub tls_reload_interval: u32,
    #[command(flatten)]
    pub rules: RuleArgs,
}

impl TryFrom<&ServeArgs> for ServerConfig {
    type Error = anyhow::Error;

    fn try_from(args: &ServeArgs) -> anyhow::Result<Self> {
        let (tls_cert, tls_key) = tls_paths(args)?;
        if args.max_connections == 0 {
            bail!("--max-connections must be at least 1");
        }
        if args.tls_reload_interval == 0 {
            bail!("--tls-reload-interval must be at least 1 second");
        }
        Ok(ServerConfig {
            listen: args.listen,
            admin_listen: args.admin_listen,
            tls_cert,
            tls_key,
            mode: args.mode,
            catalog: args.catalog,
            kubeconfig: args.kubeconfig.clone(),
            catalog_namespaces: args.catalog_namespaces.clone(),
            catalog_sync_timeout: Duration::from_secs(args.catalog_sync_timeout.into()),
            shutdown_timeout: Duration::from_secs(args.shutdown_timeout.into()),
            max_connections: usize::try_from(args.max_connections)?,
            tls_reload_interval: Duration::from_secs(args.tls_reload_interval.into()),
            rules: RuleConfig::try_from(&args.rules)?,
        })
    }
}

/// Exactly one of `--tls-cert` with `--tls-key`, or `--dev-certs`.
fn tls_paths(args: &ServeArgs) -> anyhow::Result<(PathBuf, PathBuf)> {
    match (&args.tls_cert, &args.tls_key, &args.dev_certs) {
        (Some(cert), Some(key), None) => Ok((cert.clone(), key.clone())),
        (None, None, Some(dir)) => Ok((dir.join(certs::CERT_FILE), dir.join(certs::KEY_FILE))),
        (None, None, None) => bail!("give --tls-cert and --tls-key, or --dev-certs DIR"),
        (_, _, Some(_)) => bail!("--dev-certs cannot be combined with --tls-cert/--tls-key"),
        _ => bail!("--tls-cert and --tls-key go together"),
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    // Dropping the guard flushes the log lines still queued for stdout.
    let _flush_logs = init_logging(args.log_format)?;
    let config = ServerConfig::try_from(&args)?;
    if let Some(dir) = &args.dev_certs {
        prepare_dev_certs(dir, &args.dev_cert_dns)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(server::serve(config))?;
    Ok(())
}

fn prepare_dev_certs(dir: &Path, extra_names: &[String]) -> anyhow::Result<()> {
    let dev = certs::ensure_dev_certs(dir, extra_names)
        .with_context(|| format!("dev certificates in {}", dir.display()))?;
    let ca = std::fs::read(&dev.ca).with_context(|| format!("reading {}", dev.ca.display()))?;
    tracing::info!(
        dir = %dir.display(),
        generated = dev.generated,
        ca_bundle = %certs::ca_bundle(&ca),
        "dev certificates"
    );
    Ok(())
}

/// Plain or JSON logs on stdout; `RUST_LOG` overrides the default `info` filter. Lines are
/// handed to a writer thread so a review never waits on a `write(2)` to stdout (one line per
/// review was a tenth of the server's CPU under load); the queue blocks rather than drops
/// when full, so no line is lost. The writer thread buffers what it drains and flushes
/// whenever the queue is empty, so a burst of lines costs one `write(2)`, not one per line,
/// and no line waits once the burst is over.
fn init_logging(format: LogFormat) -> anyhow::Result<WorkerGuard> {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(std::io::BufWriter::with_capacity(
            LOG_WRITE_BUFFER,
            std::io::stdout(),
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    let result = match format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(crate::server::logging::JsonLines)
            .try_init(),
    };
    result.map_err(|err| anyhow::anyhow!("cannot set up logging: {err}"))?;
    Ok(guard)
}
