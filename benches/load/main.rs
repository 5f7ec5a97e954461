//! The load tool: drives `autoredeploy serve` and a FLOOR server (the same tokio-rustls +
//! hyper stack answering a constant review without reading it) over keep-alive HTTP/1.1 TLS
//! connections on loopback, in interleaved rounds, and reports throughput, latency, server
//! CPU and peak RSS for both, their ratios, the time to ready and a latency-vs-load plot.
//! It is a `harness = false` bench so `cargo bench --bench load -- ARGS` builds it, and the
//! server binary it starts, with the release profile. It must not be used against anything
//! but loopback: it only ever starts its own servers.

mod child;
mod drive;
mod floor;
mod payloads;
mod plot;
mod report;
mod run;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Arguments; `cargo bench` appends `--bench`, which is accepted and ignored.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "load",
    about = "Load autoredeploy against a floor TLS server on loopback"
)]
pub struct Args {
    /// Run as the floor server (used by the tool itself, in a child process).
    #[arg(long, hide = true)]
    floor_server: bool,
    /// Serving certificate for `--floor-server`.
    #[arg(long, hide = true)]
    cert: Option<PathBuf>,
    /// Serving key for `--floor-server`.
    #[arg(long, hide = true)]
    key: Option<PathBuf>,
    #[arg(long, hide = true)]
    bench: bool,
    /// A few seconds, small counts; fails on any error or a throughput ratio under 0.1.
    #[arg(long)]
    smoke: bool,
    /// Keep-alive connections, like the API server's pool to one replica.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Closed-loop rounds per server (A, B, A, B ...); the median ratio is reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seconds per closed-loop round.
    #[arg(long, default_value_t = 4.0)]
    duration: f64,
    /// Requests per closed-loop round instead of a duration.
    #[arg(long)]
    requests: Option<u64>,
    /// Payloads: fixtures (recorded reviews), imagestream-1000, deployment-20, or mix.
    #[arg(long, default_value = "fixtures")]
    payload: payloads::Set,
    /// Open-loop offered loads, as fractions of the floor's closed-loop throughput.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.1,0.25,0.5,0.7,0.85,1.0"
    )]
    loads: Vec<f64>,
    /// Seconds per open-loop point.
    #[arg(long, default_value_t = 3.0)]
    open_duration: f64,
    /// Skip the open-loop sweep.
    #[arg(long)]
    no_open: bool,
    /// Server starts measured for the time to ready.
    #[arg(long, default_value_t = 7)]
    ready_runs: usize,
    /// Where to write the latency-vs-load plot (SVG).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// The autoredeploy binary to measure instead of the one built with this tool: an
    /// earlier build, to compare two versions against the same floor.
    #[arg(long)]
    server_binary: Option<PathBuf>,
}

impl Args {
    fn server_binary(&self) -> PathBuf {
        self.server_binary
            .clone()
            .unwrap_or_else(child::built_binary)
    }

    fn round_length(&self) -> drive::Length {
        match self.requests {
            Some(n) => drive::Length::Requests(n),
            None => drive::Length::Time(Duration::from_secs_f64(self.duration)),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.floor_server {
        return floor::run(&args.cert, &args.key);
    }
    if args.smoke {
        args = run::smoke_args(args);
    }
    let passed = run::run(&args)?;
    if !passed {
        anyhow::bail!("smoke checks failed");
    }
    Ok(())
}
