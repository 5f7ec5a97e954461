//! The ImageStream catalog against a fake API server on loopback: the watch itself, and `serve`
//! with the catalog and budgets on. One test binary.

mod fake_api;

mod catalog_watch;
mod serve_budget;
mod serve_catalog;
