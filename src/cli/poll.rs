//! `autoredeploy poll`: the poller (see `poll`). Flags, the leader election loop, the cycle
//! timer and the metrics port; the decisions are in `poll`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Args;
use tracing::{info, warn};

use crate::server::shutdown::TerminationSignals;

use super::rules::RuleArgs;
use crate::config::RuleConfig;
use crate::poll::kube::KubeCluster;
use crate::poll::lease::{self, LeaseOptions};
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
    pub poll_interval: Seconds,
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
    /// How long a silent holder keeps the Lease: how long a successor waits after the
    /// active poller died without releasing it (it releases it when stopped).
    #[arg(
        long,
        env = "AUTOREDEPLOY_POLL_LEASE_DURATION",
        default_value = "30s",
        value_name = "DURATION"
    )]
    pub lease_duration: Seconds,
    /// This replica's identity in the Lease.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Namespaces whose ImageStreams are polled (all when empty); the webhook's catalog
    /// namespaces, under the same flag as `serve`'s.
    #[arg(long, env = "AUTOREDEPLOY_CATALOG_NAMESPACES", value_delimiter = ',')]
    pub catalog_namespaces: Vec<String>,
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
        // The chart excludes its own namespace too.
        scope_defaults: {
            let mut defaults = crate::scan::scope::ChartDefaults::default();
            defaults.exclude_namespaces.push(args.namespace.clone());
            defaults
        },
    };
    let heads = Arc::new(RegistryClient::new(Duration::from_secs(20))?);
    let cluster = || {
        KubeCluster::new(
            client.clone(),
            args.catalog_namespaces.clone(),
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
    let (mut holding, election) = lease::elect(
        client.clone(),
        LeaseOptions {
            namespace: args.namespace.clone(),
            name: args.lease.clone(),
            identity: identity.clone(),
            duration_seconds: args.lease_duration.0.max(2),
        },
    );
    let signals = TerminationSignals::install()?;
    let polling = async {
        loop {
            if !lease::won(&mut holding).await {
                anyhow::bail!("the lease election stopped");
            }
            info!(%identity, "holding the lease: polling");
            // Re-read the state: continue where the last leader stopped.
            let mut poller = match Poller::new(cluster(), heads.clone(), options.clone()).await {
                Ok(p) => p,
                Err(e) => {
                    warn!(error = %format!("{e:#}"), "poller state not read");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            };
            poller.metrics = Some(metrics.clone());
            // A cycle is cut short when the lease is lost: the next leader must be the only one
            // importing. An import already created stays recorded in the ImageStream's status,
            // which the next leader compares with before it imports.
            loop {
                let started = tokio::time::Instant::now();
                tokio::select! {
                    biased;
                    () = lease::lost(&mut holding) => break,
                    cycle = poller.poll_once(unix_now()) => match cycle {
                        Ok(report) => info!(
                            polled = report.polled,
                            imported = report.imported.len(),
                            waiting = report.waiting.len(),
                            errors = report.head_errors.len(),
                            out_of_scope = report.out_of_scope.len(),
                            "poll cycle done"
                        ),
                        Err(e) => warn!(error = %format!("{e:#}"), "poll cycle failed"),
                    },
                }
                let took = started.elapsed();
                metrics
                    .cycle_seconds
                    .set(i64::try_from(took.as_secs()).unwrap_or(i64::MAX));
                metrics.lag_seconds.set(
                    i64::try_from(took.saturating_sub(interval).as_secs()).unwrap_or(i64::MAX),
                );
                tokio::select! {
                    biased;
                    () = lease::lost(&mut holding) => break,
                    () = tokio::time::sleep(interval.saturating_sub(took)) => {}
                }
            }
            warn!(%identity, "lost the lease: standing by");
        }
    };
    let result = tokio::select! {
        result = polling => result,
        signal = signals.recv() => {
            info!(signal, "stopping: releasing the lease");
            Ok(())
        }
    };
    // Dropping the channel makes the election task release the Lease.
    drop(holding);
    if tokio::time::timeout(Duration::from_secs(5), election)
        .await
        .is_err()
    {
        warn!("lease not released within 5s");
    }
    result
}

/// A duration written `<n>s`, `<n>m` or `<n>h`, in whole seconds (at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub u64);

impl Seconds {
    pub fn seconds(self) -> u64 {
        self.0
    }
}

impl std::str::FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "duration {text:?} must be a whole number of seconds, minutes or hours, e.g. 30s, 5m or 1h"
            )
        };
        let text = text.trim();
        let (number, unit) = match text.char_indices().last() {
            Some((at, 's')) => (&text[..at], 1),
            Some((at, 'm')) => (&text[..at], 60),
            Some((at, 'h')) => (&text[..at], 3600),
            _ => return Err(bad()),
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        match number.parse::<u64>().ok().and_then(|n| n.checked_mul(unit)) {
            Some(0) => Err(format!("duration {text:?} must be at least one second")),
            Some(seconds) => Ok(Seconds(seconds)),
            None => Err(bad()),
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

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::Seconds;
    use crate::cli::{Cli, Command};

    /// The arguments the chart gives the poller with every option set
    /// (`tests/fixtures/poller/chart-args.json`, which the chart tests hold the rendering
    /// to): the binary accepts every one of them.
    #[test]
    fn the_charts_arguments_parse() {
        let text = include_str!("../../tests/fixtures/poller/chart-args.json");
        let fixture: serde_json::Value = serde_json::from_str(text).unwrap();
        let args: Vec<&str> = (fixture["args"].as_array().unwrap().iter())
            .map(|a| a.as_str().unwrap())
            .collect();
        let command: Vec<&str> = (fixture["command"].as_array().unwrap().iter())
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(command, ["/usr/local/bin/autoredeploy", "poll"]);
        let cli =
            Cli::try_parse_from(command.iter().chain(&args)).unwrap_or_else(|e| panic!("{e}"));
        let Command::Poll(poll) = cli.command else {
            panic!("not poll")
        };
        assert_eq!(poll.catalog_namespaces, ["shop", "web"]);
        assert_eq!(poll.poll_interval, Seconds(300));
        assert_eq!(poll.rules.polled_registry, ["docker.io", "quay.io"]);
    }

    #[test]
    fn durations_take_seconds_minutes_and_hours() {
        assert_eq!("2s".parse(), Ok(Seconds(2)));
        assert_eq!("5m".parse(), Ok(Seconds(300)));
        assert_eq!(" 1h ".parse(), Ok(Seconds(3600)));
        for bad in [
            "",
            "s",
            "5",
            "1.5m",
            "-1s",
            "0s",
            "2d",
            "99999999999999999999h",
        ] {
            assert!(bad.parse::<Seconds>().is_err(), "{bad:?}");
        }
    }
}
