//! Fuzz target `review`: arbitrary bytes as an AdmissionReview body through decode, the
//! admission adapter in both modes and the engine, and as a bare object through the engine.
//! The invariants live in `src/check.rs`, shared with the regression test in the main crate.
#![no_main]

#[path = "../src/check.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
