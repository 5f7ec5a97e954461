//! Fuzz target `review`: arbitrary bytes as an AdmissionReview body through decode, the
//! admission adapter in both modes and the engine, and as a bare object through the engine.
//! The invariants live in the main crate's `testing::fuzz`, shared with
//! `tests/fuzz_regressions.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| autoredeploy::testing::fuzz::check(data));
