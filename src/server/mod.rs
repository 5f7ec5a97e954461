//! The HTTPS webhook server: typed server configuration, shared state, the review router,
//! TLS load and reload, the admin port and graceful shutdown. Everything here is a thin
//! adapter around [`crate::admission`]; no rule logic lives in this module.

pub mod admin;
pub mod certs;
pub mod metrics;
pub mod router;
pub mod run;
pub mod shutdown;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::catalog::{Catalog, EmptyCatalog};
use crate::config::{Mode, RuleConfig};

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
    /// Reserved for the catalog watch.
    pub kubeconfig: Option<PathBuf>,
    pub shutdown_timeout: Duration,
    pub max_connections: usize,
    pub tls_reload_interval: Duration,
    pub rules: RuleConfig,
}

/// What the engine is given as catalog, swapped whole when the watch publishes a new one.
pub struct CatalogSnapshot {
    pub catalog: Box<dyn Catalog + Send + Sync>,
    /// One of [`metrics::CATALOG_STATES`].
    pub state: &'static str,
}

impl CatalogSnapshot {
    /// The empty catalog, in the given state (`disabled` or `unavailable`).
    pub fn empty(state: &'static str) -> Self {
        CatalogSnapshot {
            catalog: Box::new(EmptyCatalog),
            state,
        }
    }
}

/// State shared by the handlers, the admin port and the background tasks.
pub struct AppState {
    /// `--mode`: `audit` makes every path audit.
    pub mode: Mode,
    pub rules: RuleConfig,
    pub catalog: ArcSwap<CatalogSnapshot>,
    pub metrics: Metrics,
    ready: AtomicBool,
}

impl AppState {
    pub fn new(mode: Mode, rules: RuleConfig, catalog: CatalogSnapshot) -> Arc<Self> {
        let metrics = Metrics::new();
        metrics.set_catalog_state(catalog.state);
        Arc::new(AppState {
            mode,
            rules,
            catalog: ArcSwap::from_pointee(catalog),
            metrics,
            ready: AtomicBool::new(false),
        })
    }

    /// Ready once TLS is loaded and the listener bound; not ready while draining.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }
}
