//! The health of the catalog watch, shared between the watch task (the only writer) and the
//! server (readiness, logs, Prometheus). Plain atomics behind an `Arc`: reading never blocks
//! the watch and never allocates, except `last_error`. This module must not hold any index.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
struct StatusCells {
    synced: AtomicBool,
    streams: AtomicUsize,
    last_sync_unix: AtomicU64,
    errors: AtomicU64,
    relists: AtomicU64,
    events: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A cloneable handle on the watch's state; every clone sees the same values.
#[derive(Debug, Clone, Default)]
pub struct CatalogStatus {
    cells: Arc<StatusCells>,
}

impl CatalogStatus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether every watched scope has completed its first full list (`/readyz` waits for it).
    /// Stays true through later errors: the last good index keeps being served.
    pub fn is_synced(&self) -> bool {
        self.cells.synced.load(Ordering::Acquire)
    }

    /// Number of ImageStreams in the published snapshot.
    pub fn streams(&self) -> usize {
        self.cells.streams.load(Ordering::Relaxed)
    }

    /// Unix time (seconds) of the last completed full list, `None` before the first one.
    pub fn last_sync_unix(&self) -> Option<u64> {
        match self.cells.last_sync_unix.load(Ordering::Relaxed) {
            0 => None,
            seconds => Some(seconds),
        }
    }

    /// Watch and list errors seen so far (each is followed by a retry with backoff).
    pub fn errors(&self) -> u64 {
        self.cells.errors.load(Ordering::Relaxed)
    }

    /// Completed full lists, the first one included.
    pub fn relists(&self) -> u64 {
        self.cells.relists.load(Ordering::Relaxed)
    }

    /// Added, modified and deleted events applied after the lists.
    pub fn events(&self) -> u64 {
        self.cells.events.load(Ordering::Relaxed)
    }

    /// The message of the most recent error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.cells
            .last_error
            .lock()
            .map(|last| last.clone())
            .unwrap_or_default()
    }

    pub(crate) fn record_error(&self, message: String) {
        self.cells.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.cells.last_error.lock() {
            *last = Some(message);
        }
    }

    pub(crate) fn record_event(&self) {
        self.cells.events.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_relist(&self) {
        self.cells.relists.fetch_add(1, Ordering::Relaxed);
        self.cells
            .last_sync_unix
            .store(unix_now(), Ordering::Relaxed);
    }

    pub(crate) fn set_streams(&self, streams: usize) {
        self.cells.streams.store(streams, Ordering::Relaxed);
    }

    pub(crate) fn mark_synced(&self) {
        self.cells.synced.store(true, Ordering::Release);
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs().max(1))
        .unwrap_or(1)
}
