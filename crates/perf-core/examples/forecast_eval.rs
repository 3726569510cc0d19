//! Rolling-origin evaluation of the forecaster (BENCHMARKS.md, "Forecasting"): 4-week
//! training window, one origin per day, horizons 48 and 96 steps, 95 % intervals, beside the
//! weekly and daily seasonal naive forecasts. Same settings for every file.
//!
//! `cargo run --release -p perf-core --example forecast_eval -- FILE.csv [FILE.csv …]`

#![allow(missing_docs)]

use perf_core::anomaly::series;
use perf_core::forecast::eval::rolling_origin;
use std::time::Instant;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    println!("| series | h | method | sMAPE % | MASE (m = daily) | 95 % coverage |");
    println!("|---|---|---|---|---|---|");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable file");
        let rows = series::parse(&text).expect("a series CSV").rows;
        let points: Vec<(i64, f64)> = rows.iter().map(|r| (r.ts_ms, r.value)).collect();
        let step = (points[1].0 - points[0].0).max(1);
        let day = (86_400_000 / step) as usize;
        let week = 7 * day;
        let name = file.rsplit('/').next().unwrap_or(&file).to_string();
        for h in [48usize, 96] {
            let started = Instant::now();
            let e = rolling_origin(&points, 4 * week, day, h, 0.95, day, &[week, day]);
            let per_fit = started.elapsed().as_secs_f64() * 1000.0 / e.fits.max(1) as f64;
            println!(
                "| {name} | {h} | **model** ({} origins, {:.1} ms per fit+forecast incl. scoring) | **{:.2}** | **{:.3}** | {:.1} |",
                e.model.origins,
                per_fit,
                e.model.smape,
                e.model.mase,
                e.model.coverage.unwrap_or(0.0) * 100.0
            );
            for (lag, s) in &e.naive {
                let label = if *lag == week {
                    "weekly seasonal naive"
                } else {
                    "daily seasonal naive"
                };
                println!(
                    "| {name} | {h} | {label} | {:.2} | {:.3} | – |",
                    s.smape, s.mase
                );
            }
        }
    }
}
