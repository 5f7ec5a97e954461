//! The `autoredeploy` binary: parse, dispatch, exit code.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = autoredeploy::cli::Cli::parse();
    autoredeploy::cli::run(cli)
}
