//! `autoredeploy poll`: the poller (see `poll`). Flags, the leader election loop, the cycle
//! timer and the metrics port; the decisions are in `poll`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Args;
use tracing::{info, warn};

use super::rules::RuleArgs;
use crate::config::{RuleConfig, Window};
use crate::poll::kube::KubeCluster;
use crate::poll::lease::LeaseLock;
use crate::poll::metrics::PollMetrics;
use crate::poll::registry::RegistryClient;
use crate::poll::{PollOptions, Poller};

#[derive(Debug, Clone, Args)]
pub struct PollArgs {
    /// How often every polled tag gets one manifest HEAD; the HEADs are spread over it.
    #[arg(
        long,
        env = "AUTOREDEPLOY_POLL_INTERVAL",
        default_value = "5m",
        value_name = "DURATION"
    )]
    pub poll_interval: Window,
    /// Most HEADs in flight per registry.
    #[arg(long, env = "AUTOREDEPLOY_POLL_CONCURRENCY", default_value_t = 4)]
    pub registry_concurrency: u16,
    /// Most HEADs started per second per registry.
    #[arg(long, env = "AUTOREDEPLOY_POLL_RATE", default_value_t = 5.0)]
    pub registry_rate: f64,
    /// Imports wait when a registry's ratelimit-remaining falls to this (kept for the
    /// nodes' own pulls).
    #[arg(long, env = "AUTOREDEPLOY_RATELIMIT_RESERVE", default_value_t = 20)]
    pub ratelimit_reserve: u32,
    /// Namespace of the state ConfigMap and the Lease (the pod's own).
    #[arg(long, env = "POD_NAMESPACE", default_value = "autoredeploy")]
    pub namespace: String,
    /// Name of the ConfigMap holding what the poller saw.
    #[arg(
        long,
        env = "AUTOREDEPLOY_POLL_STATE",
        default_value = "autoredeploy-poller-state"
    )]
    pub state_configmap: String,
    /// Name of the Lease electing the one active poller.
    #[arg(
        long,
        env = "AUTOREDEPLOY_POLL_LEASE",
        default_value = "autoredeploy-poller"
    )]
    pub lease: String,
    /// This replica's identity in the Lease.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Namespaces whose ImageStreams are polled (all when empty).
    #[arg(long, env = "AUTOREDEPLOY_CATALOG_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Plain-HTTP address of /healthz and /metrics.
    #[arg(
        long,
        env = "AUTOREDEPLOY_ADMIN_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub admin_listen: SocketAddr,
    #[arg(long, env = "AUTOREDEPLOY_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Run one cycle and exit (no Lease): for a CronJob or a check by hand.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
}

pub fn run(args: PollArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run_async(args))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn run_async(args: PollArgs) -> anyhow::Result<()> {
    let rules = RuleConfig::try_from(&args.rules)?;
    if rules.polled_registries.is_empty() {
        anyhow::bail!("no registry is polled: set --polled-registry (for example docker.io)");
    }
    let client = crate::catalog::client::client_from_env(args.kubeconfig.as_deref()).await?;
    let mut registry = prometheus_client::registry::Registry::with_prefix("autoredeploy");
    let metrics = PollMetrics::registered(&mut registry);
    let registry = Arc::new(registry);
    let listener = tokio::net::TcpListener::bind(args.admin_listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.admin_listen))?;
    tokio::spawn(serve_admin(listener, registry));
    let interval = Duration::from_secs(args.poll_interval.seconds().max(1));
    let options = PollOptions {
        rules,
        spread: if args.once {
            Duration::ZERO
        } else {
            interval.mul_f64(0.8)
        },
        concurrency: usize::from(args.registry_concurrency),
        rate: args.registry_rate,
        ratelimit_reserve: u64::from(args.ratelimit_reserve),
    };
    let heads = Arc::new(RegistryClient::new(Duration::from_secs(20))?);
    let cluster = || {
        KubeCluster::new(
            client.clone(),
            args.namespaces.clone(),
            args.namespace.clone(),
            args.state_configmap.clone(),
        )
    };
    if args.once {
        let mut poller = Poller::new(cluster(), heads, options).await?;
        poller.metrics = Some(metrics);
        let report = poller.poll_once(unix_now()).await?;
        println!("{report:?}");
        return Ok(());
    }
    let identity = args
        .identity
        .clone()
        .unwrap_or_else(|| format!("poller-{}", std::process::id()));
    let lease_seconds = i32::try_from(interval.as_secs().clamp(15, 120)).unwrap_or(120) * 3;
    let lock = LeaseLock::new(
        client.clone(),
        &args.namespace,
        &args.lease,
        &identity,
        lease_seconds,
    );
    let renew = Duration::from_secs(u64::try_from(lease_seconds / 3).unwrap_or(15));
    let mut poller: Option<Poller<KubeCluster>> = None;
    loop {
        match lock.try_hold().await {
            Ok(true) => {
                if poller.is_none() {
                    info!(%identity, "holding the lease: polling");
                    // Re-read the state: continue where the last leader stopped.
                    let mut p = Poller::new(cluster(), heads.clone(), options.clone()).await?;
                    p.metrics = Some(metrics.clone());
                    poller = Some(p);
                }
            }
            Ok(false) => {
                if poller.take().is_some() {
                    warn!(%identity, "lost the lease: standing by");
                }
                tokio::time::sleep(renew).await;
                continue;
            }
            Err(e) => {
                warn!(error = %format!("{e:#}"), "lease not renewed");
                poller = None;
                tokio::time::sleep(renew).await;
                continue;
            }
        }
        let Some(p) = poller.as_mut() else { continue };
        let started = tokio::time::Instant::now();
        match p.poll_once(unix_now()).await {
            Ok(report) => info!(
                polled = report.polled,
                imported = report.imported.len(),
                waiting = report.waiting.len(),
                errors = report.head_errors.len(),
                "poll cycle done"
            ),
            Err(e) => warn!(error = %format!("{e:#}"), "poll cycle failed"),
        }
        let took = started.elapsed();
        metrics
            .cycle_seconds
            .set(i64::try_from(took.as_secs()).unwrap_or(i64::MAX));
        metrics
            .lag_seconds
            .set(i64::try_from(took.saturating_sub(interval).as_secs()).unwrap_or(i64::MAX));
        // Renew the lease at least every `renew` while waiting for the next cycle.
        let mut left = interval.saturating_sub(took);
        while left > Duration::ZERO {
            let nap = left.min(renew);
            tokio::time::sleep(nap).await;
            left = left.saturating_sub(nap);
            if left > Duration::ZERO && !matches!(lock.try_hold().await, Ok(true)) {
                poller = None;
                break;
            }
        }
    }
}

async fn serve_admin(
    listener: tokio::net::TcpListener,
    registry: Arc<prometheus_client::registry::Registry>,
) {
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let registry = registry.clone();
                async move {
                    let mut text = String::new();
                    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
                    text
                }
            }),
        );
    if let Err(e) = axum::serve(listener, app).await {
        warn!(error = %e, "admin server stopped");
    }
}
