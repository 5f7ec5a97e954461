//! The ImageStream catalog as the server sees it: disabled (`--catalog off`), unavailable (no
//! cluster access), or the live watch. Reviews take one immutable snapshot each; readiness
//! waits for the watch's first full list (with a deadline, so a cluster that cannot be listed
//! degrades to "no catalog" rather than "no webhook"); Prometheus reads the watch's status at
//! scrape time. This module starts the watch; it must not interpret ImageStreams.

use std::path::Path;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::CatalogMode;
use crate::catalog::watch::LiveCatalog;
use crate::catalog::{Catalog, EmptyCatalog, client};

/// What the engine is given as catalog.
#[derive(Debug, Clone)]
pub enum CatalogSource {
    /// `--catalog off`.
    Disabled,
    /// `--catalog auto` without cluster access.
    Unavailable,
    /// The watch-backed cache.
    Live(LiveCatalog),
}

/// `autoredeploy_catalog_state{state}`: exactly one is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogState {
    Disabled,
    Unavailable,
    Syncing,
    Ready,
}

impl CatalogState {
    pub const ALL: [CatalogState; 4] = [
        CatalogState::Disabled,
        CatalogState::Unavailable,
        CatalogState::Syncing,
        CatalogState::Ready,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogState::Disabled => "disabled",
            CatalogState::Unavailable => "unavailable",
            CatalogState::Syncing => "syncing",
            CatalogState::Ready => "ready",
        }
    }
}

impl CatalogSource {
    /// Start the watch when `mode` allows it and the cluster can be reached; say why not
    /// otherwise. `namespaces` empty means all namespaces. Must run inside the runtime.
    pub async fn start(
        mode: CatalogMode,
        kubeconfig: Option<&Path>,
        namespaces: &[String],
    ) -> Self {
        if mode == CatalogMode::Off {
            tracing::info!("catalog disabled: only annotations and internal-registry images bind");
            return CatalogSource::Disabled;
        }
        match client::client_from_env(kubeconfig).await {
            Ok(client) => {
                tracing::info!(namespaces = ?namespaces, "catalog: watching ImageStreams");
                CatalogSource::Live(LiveCatalog::spawn(client, namespaces.to_vec()))
            }
            Err(err) => {
                tracing::warn!(error = %err, "catalog unavailable: serving without ImageStreams");
                CatalogSource::Unavailable
            }
        }
    }

    pub fn state(&self) -> CatalogState {
        match self {
            CatalogSource::Disabled => CatalogState::Disabled,
            CatalogSource::Unavailable => CatalogState::Unavailable,
            CatalogSource::Live(live) if live.status().is_synced() => CatalogState::Ready,
            CatalogSource::Live(_) => CatalogState::Syncing,
        }
    }

    /// Run `review` against one consistent snapshot.
    pub fn with_snapshot<R>(&self, review: impl FnOnce(&dyn Catalog) -> R) -> R {
        match self {
            CatalogSource::Live(live) => review(live.snapshot().as_ref()),
            _ => review(&EmptyCatalog),
        }
    }
}

/// Scrape-time catalog metrics, read from the watch's status (nothing to keep in sync).
#[derive(Debug)]
pub struct CatalogCollector(pub CatalogSource);

impl Collector for CatalogCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let current = self.0.state();
        let help = "ImageStream catalog state (1 = current)";
        let mut family = encoder.encode_descriptor(
            "catalog_state",
            help,
            None,
            ConstGauge::new(0i64).metric_type(),
        )?;
        for state in CatalogState::ALL {
            let labels = [("state", state.as_str())];
            let gauge = ConstGauge::new(i64::from(state == current));
            gauge.encode(family.encode_family(&labels)?)?;
        }
        let CatalogSource::Live(live) = &self.0 else {
            return Ok(());
        };
        let status = live.status();
        let gauges: [(&str, &str, i64); 2] = [
            (
                "catalog_streams",
                "ImageStreams in the catalog",
                to_i64(status.streams() as u64),
            ),
            (
                "catalog_last_sync_timestamp_seconds",
                "Unix time of the last full list of ImageStreams",
                to_i64(status.last_sync_unix().unwrap_or(0)),
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let counters: [(&str, &str, u64); 3] = [
            (
                "catalog_errors",
                "Catalog list and watch errors",
                status.errors(),
            ),
            (
                "catalog_relists",
                "Completed full lists of ImageStreams",
                status.relists(),
            ),
            (
                "catalog_events",
                "ImageStream events applied",
                status.events(),
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
