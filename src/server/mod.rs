//! The HTTPS webhook server: typed server configuration, shared state, the review router,
//! TLS load and reload, the admin port and graceful shutdown. Everything here is a thin
//! adapter around [`crate::admission`]; no rule logic lives in this module.

pub mod admin;
pub mod budget;
pub mod catalog;
pub mod certs;
pub mod logging;
pub mod metrics;
pub mod router;
pub mod run;
pub mod shutdown;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::{Mode, RuleConfig};

pub use catalog::{CatalogSource, CatalogState};
pub use metrics::Metrics;
pub use router::router;
pub use run::{ServeError, serve};

/// Whether the ImageStream catalog is watched from the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CatalogMode {
    /// Watch ImageStreams when cluster access is available.
    #[default]
    Auto,
    /// Never watch: the engine sees an empty catalog.
    Off,
}

/// Everything `serve` needs, validated once by the CLI.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub mode: Mode,
    pub catalog: CatalogMode,
    /// Kubeconfig for the catalog watch; `None` infers (default kubeconfig, then in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// Namespaces whose ImageStreams are watched; empty means all.
    pub catalog_namespaces: Vec<String>,
    /// How long readiness waits for the catalog's first full list.
    pub catalog_sync_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub max_connections: usize,
    pub tls_reload_interval: Duration,
    pub rules: RuleConfig,
}

/// State shared by the handlers, the admin port and the background tasks.
pub struct AppState {
    /// `--mode`: `audit` makes every path audit.
    pub mode: Mode,
    pub rules: RuleConfig,
    pub catalog: CatalogSource,
    pub metrics: Metrics,
    ready: AtomicBool,
    /// Set once SIGTERM or SIGINT arrived: HTTP/1 answers then ask the client to reconnect.
    draining: AtomicBool,
    /// Past this instant readiness stops waiting for the catalog's first full list.
    catalog_deadline: Instant,
}

/// Readiness waits this long for the catalog's first full list by default.
pub const DEFAULT_CATALOG_SYNC_TIMEOUT: Duration = Duration::from_secs(30);

impl AppState {
    pub fn new(mode: Mode, rules: RuleConfig, catalog: CatalogSource) -> Arc<Self> {
        Self::with_catalog_sync_timeout(mode, rules, catalog, DEFAULT_CATALOG_SYNC_TIMEOUT)
    }

    pub fn with_catalog_sync_timeout(
        mode: Mode,
        rules: RuleConfig,
        catalog: CatalogSource,
        sync_timeout: Duration,
    ) -> Arc<Self> {
        Arc::new(AppState {
            mode,
            metrics: Metrics::new(catalog.clone(), rules.budgets.clone()),
            rules,
            catalog,
            ready: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            catalog_deadline: Instant::now() + sync_timeout,
        })
    }

    /// Ready once TLS is loaded, the listener bound and the catalog listed (or its deadline
    /// passed: serving without ImageStreams beats not serving); not ready while draining.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
            && (self.catalog.state() != CatalogState::Syncing
                || Instant::now() >= self.catalog_deadline)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Not ready any more, and every HTTP/1 answer from now on carries `Connection: close`.
    pub fn start_draining(&self) {
        self.set_ready(false);
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}
