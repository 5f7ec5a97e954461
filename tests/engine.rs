//! Engine, admission adapter and offline `mutate` tests: one test binary, so the kube, axum and
//! rustls dependency graph is linked once for all of them.

mod admission;
mod cases;
mod cases_format;
mod cli_mutate;
mod cli_mutate_budget;
mod do_no_harm;
mod docs_truth;
mod engine_fixtures;
mod engine_properties;
mod fuzz_regressions;
mod image_policy_fixtures;
mod mutate_properties;
mod stream_patch;
mod triggers_stay_true;
