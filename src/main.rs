//! The `autoredeploy` binary: parse, dispatch, exit code.
#![forbid(unsafe_code)]

use clap::Parser;

// A review allocates and frees many small JSON nodes; glibc malloc took a fifth of the
// server's CPU under load (docs/benchmarks.md), mimalloc much less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = autoredeploy::cli::Cli::parse();
    autoredeploy::cli::run(cli)
}
