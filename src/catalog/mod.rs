//! The ImageStream catalog: what the engine knows about the streams in a namespace. The engine sees
//! it only through its own `Catalog` trait (`engine::catalog`), so the offline `mutate` command
//! (the ImageStreams found in the same manifests) and `serve` (a watch-backed cache) bind
//! containers identically. This module owns the pure index; it must not do I/O.

pub mod budget;
pub mod client;
pub mod index;
pub mod object;
pub mod snapshot;
pub mod status;
pub mod watch;

pub use index::CatalogIndex;

pub use crate::engine::catalog::{Catalog, EmptyCatalog, TagRef, TagState};
