//! Turning measurements into numbers people read: one line per run, medians over rounds,
//! the autoredeploy/floor ratios, and the targets (docs/benchmarks.md) with pass or fail.

use std::time::Duration;

use crate::drive::Outcome;

/// Target: throughput at least this fraction of the floor's.
pub const TARGET_RATIO: f64 = 0.55;
/// Target: closed-loop p99 at most this multiple of the floor's in the same round.
pub const TARGET_P99_RATIO: f64 = 2.0;
/// Target: peak RSS under this, in KiB.
pub const TARGET_RSS_KIB: u64 = 10 * 1024;
/// Target: ready under this.
pub const TARGET_READY: Duration = Duration::from_millis(100);

/// One closed-loop round of one server.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    pub throughput: f64,
    pub p99_us: f64,
    /// Server CPU time per answered request, in µs.
    pub cpu_per_request_us: f64,
}

impl Round {
    pub fn of(outcome: &Outcome, cpu: Duration) -> Round {
        let answered = (outcome.ok + outcome.errors.total()).max(1) as f64;
        Round {
            throughput: outcome.throughput(),
            p99_us: outcome.latency.value_at_quantile(0.99) as f64,
            cpu_per_request_us: cpu.as_secs_f64() * 1e6 / answered,
        }
    }
}

/// One open-loop point of one server.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub offered: f64,
    pub achieved: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub service_p99_us: f64,
    pub errors: u64,
}

impl Point {
    pub fn of(offered: f64, outcome: &Outcome) -> Point {
        Point {
            offered,
            achieved: outcome.throughput(),
            p50_us: outcome.latency.value_at_quantile(0.50) as f64,
            p99_us: outcome.latency.value_at_quantile(0.99) as f64,
            service_p99_us: outcome.service.value_at_quantile(0.99) as f64,
            errors: outcome.errors.total(),
        }
    }
}

/// One line per run: throughput, latency quantiles, errors by class, server CPU per request.
pub fn print_run(server: &str, label: &str, outcome: &Outcome, cpu: Option<Duration>) {
    let q = |p| outcome.latency.value_at_quantile(p);
    let e = &outcome.errors;
    let cpu = cpu.map_or(String::new(), |c| {
        format!(" cpu/req {:.1}µs", Round::of(outcome, c).cpu_per_request_us)
    });
    println!(
        "{server:>12} {label:<16} {:>8.0} req/s  p50 {:>5}µs p90 {:>5}µs p99 {:>6}µs p99.9 {:>6}µs  \
         ok {} errors {} (transport {}, status {}, json {}, uid {}){cpu}",
        outcome.throughput(),
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        outcome.ok,
        e.total(),
        e.transport,
        e.status,
        e.bad_json,
        e.uid,
    );
}

/// The open-loop sweep as a table: latency from the scheduled time, and (in brackets) the
/// p99 from the actual send, which leaves out time spent waiting for a free connection.
pub fn print_points(points: &[(Point, Point)]) {
    println!("\n== open loop (latency in µs; p99 from send in brackets)");
    println!(
        "{:>9} | {:>30} | {:>30}",
        "offered", "autoredeploy", "floor"
    );
    let cell = |p: &Point| {
        format!(
            "{:>7.0}/s p50 {:>5} p99 {:>6} ({:>5})",
            p.achieved, p.p50_us, p.p99_us, p.service_p99_us
        )
    };
    for (a, b) in points {
        println!("{:>7.0}/s | {} | {}", a.offered, cell(a), cell(b));
    }
}

/// The median of `values` (the mean of the two middle ones for an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    assert!(!values.is_empty(), "median of nothing");
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

pub fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// The headline numbers a run ends with.
#[derive(Debug, Clone)]
pub struct Summary {
    pub throughput_ratio: f64,
    pub cpu_ratio: f64,
    pub p99_ratio: f64,
    pub half_load_rate: f64,
    pub half_load_p99_us: Option<f64>,
    pub peak_rss_kib: u64,
    pub floor_peak_rss_kib: u64,
    pub ready: Duration,
}

pub fn print_summary(s: &Summary) {
    println!("\n== targets");
    println!(
        "throughput autoredeploy/floor (median of rounds): {:.3}  target >= {TARGET_RATIO}: {}",
        s.throughput_ratio,
        pass(s.throughput_ratio >= TARGET_RATIO)
    );
    println!(
        "server CPU per request floor/autoredeploy (median): {:.3}  (the undiluted ratio)",
        s.cpu_ratio
    );
    println!(
        "closed-loop p99 autoredeploy/floor (median): {:.3}  target <= {TARGET_P99_RATIO}: {}",
        s.p99_ratio,
        pass(s.p99_ratio <= TARGET_P99_RATIO)
    );
    match s.half_load_p99_us {
        Some(p99) => println!(
            "p99 at half load ({:.0} req/s, open loop): {p99:.0}µs",
            s.half_load_rate,
        ),
        None => println!("p99 at half load: not measured (--no-open)"),
    }
    println!(
        "peak RSS (VmHWM) autoredeploy: {} KiB (floor {} KiB)  target < {} KiB: {}",
        s.peak_rss_kib,
        s.floor_peak_rss_kib,
        TARGET_RSS_KIB,
        pass(s.peak_rss_kib < TARGET_RSS_KIB)
    );
    println!(
        "ready (spawn to /readyz 200, median): {:.1}ms  target < {}ms: {}",
        s.ready.as_secs_f64() * 1e3,
        TARGET_READY.as_millis(),
        pass(s.ready < TARGET_READY)
    );
}
