//! The ImageStream catalog against the fake API server on loopback
//! (`autoredeploy::testing::fake_api`): the watch itself, and `serve` with the catalog and
//! budgets on. One test binary.

mod catalog_watch;
mod serve_budget;
mod serve_catalog;
