//! One measurement session: start autoredeploy and the floor once, warm both up, run the
//! closed-loop rounds interleaved (A B, B A, ...: drift on a shared machine hits both alike),
//! sweep open-loop offered loads, measure the p99 at half of autoredeploy's throughput, the
//! peak RSS and the time to ready, then print, plot and (with `--smoke`) check.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use autoredeploy::server::certs::{self, DevCerts};

use crate::Args;
use crate::child::{Kind, ServerProcess};
use crate::drive::{self, Length, Outcome, Target};
use crate::floor::FLOOR_UID;
use crate::payloads;
use crate::plot;
use crate::report::{self, Point, Round, Summary};

const WARM_UP: Length = Length::Time(Duration::from_secs(1));
/// `--smoke` fails below this throughput ratio: only gross regressions, timing is noisy.
/// Full runs measure 0.31 to 0.38 (docs/benchmarks.md); a 1 s smoke round on a busy CI
/// machine can land far lower, so only a collapse fails.
const SMOKE_MIN_RATIO: f64 = 0.1;

/// A server under test and how to reach it.
struct Side {
    kind: Kind,
    process: ServerProcess,
    target: Target,
}

impl Side {
    fn start(args: &Args, kind: Kind, certs: &DevCerts, base: &Target) -> anyhow::Result<Side> {
        let process = ServerProcess::start(kind, certs, &args.server_binary())
            .with_context(|| kind.name())?;
        let fixed_uid = (kind == Kind::Floor).then_some(FLOOR_UID);
        let target = Target {
            addr: process.webhook,
            fixed_uid,
            ..base.clone()
        };
        Ok(Side {
            kind,
            process,
            target,
        })
    }

    /// A closed-loop run with the server CPU it cost.
    async fn closed(&self, args: &Args, length: Length) -> anyhow::Result<(Outcome, Duration)> {
        let before = self.process.cpu_time()?;
        let outcome = drive::closed_loop(&self.target, args.connections, length).await?;
        Ok((outcome, self.process.cpu_time()? - before))
    }
}

/// `--smoke`: short and small, for CI.
pub fn smoke_args(args: Args) -> Args {
    Args {
        rounds: 2,
        duration: 1.0,
        requests: None,
        loads: vec![0.25, 0.5],
        open_duration: 1.0,
        ready_runs: 3,
        plot: None,
        ..args
    }
}

/// Measure everything; returns whether the smoke checks passed (always true without `--smoke`).
pub fn run(args: &Args) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    let certs = certs::ensure_dev_certs(dir.path(), &[])?;
    let ready = ready_time(args, &certs)?;
    let base = Target {
        addr: "127.0.0.1:0".parse()?,
        connector: drive::connector(&std::fs::read(&certs.ca)?)?,
        payloads: Arc::new(payloads::load(args.payload)?),
        fixed_uid: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (summary, errors) = runtime.block_on(measure(args, &certs, &base, ready))?;
    report::print_summary(&summary);
    if !args.smoke {
        return Ok(true);
    }
    let ok = errors == 0 && summary.throughput_ratio > SMOKE_MIN_RATIO;
    println!(
        "smoke: errors {errors}, ratio {:.3} (> {SMOKE_MIN_RATIO}): {}",
        summary.throughput_ratio,
        report::pass(ok)
    );
    Ok(ok)
}

fn ready_time(args: &Args, certs: &DevCerts) -> anyhow::Result<Duration> {
    let mut samples = Vec::new();
    for _ in 0..args.ready_runs.max(1) {
        let server = ServerProcess::start(Kind::Autoredeploy, certs, &args.server_binary())?;
        samples.push(server.ready_after.as_secs_f64());
    }
    println!("ready samples (ms): {:.1?}", ms(&samples));
    Ok(Duration::from_secs_f64(report::median(samples)))
}

fn ms(seconds: &[f64]) -> Vec<f64> {
    seconds.iter().map(|s| s * 1e3).collect()
}

async fn measure(
    args: &Args,
    certs: &DevCerts,
    base: &Target,
    ready: Duration,
) -> anyhow::Result<(Summary, u64)> {
    let ours = Side::start(args, Kind::Autoredeploy, certs, base)?;
    let floor = Side::start(args, Kind::Floor, certs, base)?;
    let names: Vec<&str> = base.payloads.iter().map(|p| p.name.as_str()).collect();
    println!(
        "payloads: {names:?}; {} connections, {} rounds",
        args.connections, args.rounds
    );
    for side in [&ours, &floor] {
        let (outcome, cpu) = side.closed(args, WARM_UP).await?;
        report::print_run(side.kind.name(), "warm-up", &outcome, Some(cpu));
    }
    let (rounds, mut errors) = closed_rounds(args, &ours, &floor).await?;
    let floor_max = report::median(rounds.iter().map(|r| r.1.throughput).collect());
    let ours_max = report::median(rounds.iter().map(|r| r.0.throughput).collect());
    let mut half = None;
    if !args.no_open {
        let points = sweep(args, &ours, &floor, floor_max).await?;
        errors += points.iter().map(|p| p.0.errors + p.1.errors).sum::<u64>();
        report::print_points(&points);
        if let Some(path) = &args.plot {
            plot::latency_vs_load(path, &points)?;
            println!("plot written to {}", path.display());
        }
        let target = &ours.target;
        let outcome =
            drive::open_loop(target, args.connections, ours_max / 2.0, secs(args)).await?;
        report::print_run("autoredeploy", "half load", &outcome, None);
        errors += outcome.errors.total();
        half = Some(Point::of(ours_max / 2.0, &outcome).p99_us);
    }
    let ratio = |f: fn(&(Round, Round)) -> f64| report::median(rounds.iter().map(f).collect());
    let summary = Summary {
        throughput_ratio: ratio(|(a, b)| a.throughput / b.throughput),
        cpu_ratio: ratio(|(a, b)| b.cpu_per_request_us / a.cpu_per_request_us),
        p99_ratio: ratio(|(a, b)| a.p99_us / b.p99_us),
        half_load_rate: ours_max / 2.0,
        half_load_p99_us: half,
        peak_rss_kib: ours.process.peak_rss_kib()?,
        floor_peak_rss_kib: floor.process.peak_rss_kib()?,
        ready,
    };
    Ok((summary, errors))
}

fn secs(args: &Args) -> Duration {
    Duration::from_secs_f64(args.open_duration)
}

/// Closed-loop rounds, ABBA order; returns (autoredeploy, floor) per round and the errors.
async fn closed_rounds(
    args: &Args,
    ours: &Side,
    floor: &Side,
) -> anyhow::Result<(Vec<(Round, Round)>, u64)> {
    let mut rounds = Vec::new();
    let mut errors = 0;
    for r in 0..args.rounds.max(1) {
        let order = if r % 2 == 0 {
            [ours, floor]
        } else {
            [floor, ours]
        };
        let mut got = [None, None];
        for side in order {
            let (outcome, cpu) = side.closed(args, args.round_length()).await?;
            report::print_run(
                side.kind.name(),
                &format!("closed r{r}"),
                &outcome,
                Some(cpu),
            );
            errors += outcome.errors.total();
            got[usize::from(side.kind == Kind::Floor)] = Some(Round::of(&outcome, cpu));
        }
        let [Some(a), Some(b)] = got else {
            unreachable!("both sides ran")
        };
        println!("{:>12} ratio {:.3}", "round", a.throughput / b.throughput);
        rounds.push((a, b));
    }
    Ok((rounds, errors))
}

/// Open-loop points at `args.loads` × the floor's throughput, both servers interleaved.
async fn sweep(
    args: &Args,
    ours: &Side,
    floor: &Side,
    floor_max: f64,
) -> anyhow::Result<Vec<(Point, Point)>> {
    let mut points = Vec::new();
    for (i, load) in args.loads.iter().enumerate() {
        let rate = load * floor_max;
        let order = if i % 2 == 0 {
            [ours, floor]
        } else {
            [floor, ours]
        };
        let mut got = [None, None];
        for side in order {
            let n = args.connections;
            let outcome = drive::open_loop(&side.target, n, rate, secs(args)).await?;
            report::print_run(
                side.kind.name(),
                &format!("open {rate:.0}/s"),
                &outcome,
                None,
            );
            got[usize::from(side.kind == Kind::Floor)] = Some(Point::of(rate, &outcome));
        }
        let [Some(a), Some(b)] = got else {
            unreachable!("both sides ran")
        };
        points.push((a, b));
    }
    Ok(points)
}
