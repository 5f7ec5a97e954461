//! The command line: `serve`, `mutate` and `certs`. Flags are parsed once with clap (each
//! also an environment variable) and turned into typed configuration; nothing else reads the
//! environment. Errors here are `anyhow` with context.

pub mod certs;
mod in_place;
pub mod mutate;
pub mod poll;
pub mod rules;
pub mod scan;
pub mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Make OpenShift workloads redeploy by themselves when the external image they run changes.
#[derive(Debug, Parser)]
#[command(name = "autoredeploy", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the admission webhook over HTTPS.
    Serve(Box<serve::ServeArgs>),
    /// Run the engine over YAML or JSON manifests, offline.
    Mutate(mutate::MutateArgs),
    /// Write a CA and a serving certificate for the given DNS names.
    Certs(certs::CertsArgs),
    /// Which objects in a cluster redeploy by themselves, why not, and --fix them.
    Scan(Box<scan::ScanArgs>),
    /// Watch external tags with manifest HEADs (no pulls) and import only what changed.
    Poll(Box<poll::PollArgs>),
}

/// Run one command and turn its result into the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => report(serve::run(*args)),
        Command::Mutate(args) => mutate::run(args),
        Command::Certs(args) => report(certs::run(args)),
        Command::Scan(args) => scan::run(*args),
        Command::Poll(args) => report(poll::run(*args)),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("autoredeploy: {err:#}");
            ExitCode::from(2)
        }
    }
}
