//! The latency-vs-offered-load plot (SVG, plotters): p50 and p99 of autoredeploy and of the floor
//! at each open-loop point, on a log latency axis, with the p99 target (twice the floor's p99 at
//! the same load) drawn in.

use std::path::Path;

use plotters::prelude::*;

use crate::report::{Point, TARGET_P99_RATIO};

const SIZE: (u32, u32) = (900, 560);

/// A curve: its legend, which number of a (autoredeploy, floor) point it draws, its colour.
type Curve = (&'static str, fn(&(Point, Point)) -> f64, RGBColor);

/// Draw `points` (autoredeploy, floor) into `path`.
pub fn latency_vs_load(path: &Path, points: &[(Point, Point)]) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let x_max = points.iter().map(|p| p.1.offered).fold(1.0, f64::max) * 1.05;
    let y_max = points
        .iter()
        .flat_map(|(a, b)| [a.p99_us, b.p99_us])
        .fold(1000.0, f64::max)
        * TARGET_P99_RATIO;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Latency vs offered load (2 shared cores, loopback)",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_max, (10f64..y_max).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("offered load (requests/s)")
        .y_desc("latency (µs, log)")
        .draw()
        .map_err(err)?;
    let series: [Curve; 4] = [
        ("autoredeploy p50", |p| p.0.p50_us, BLUE),
        ("autoredeploy p99", |p| p.0.p99_us, RED),
        ("floor p50", |p| p.1.p50_us, CYAN),
        ("floor p99", |p| p.1.p99_us, MAGENTA),
    ];
    for (label, pick, color) in series {
        let line: Vec<(f64, f64)> = points.iter().map(|p| (p.0.offered, pick(p))).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart
            .draw_series(
                line.into_iter()
                    .map(|xy| Circle::new(xy, 3, color.filled())),
            )
            .map_err(err)?;
    }
    let target: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.0.offered, p.1.p99_us * TARGET_P99_RATIO))
        .collect();
    chart
        .draw_series(LineSeries::new(target, BLACK.mix(0.5)))
        .map_err(err)?
        .label("p99 target (2x the floor's)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plot: {e}")
}
