//! False alarms and detections of the anomaly detector on seeded synthetic series of shapes
//! the NAB subset we have does not contain: counts (Poisson and overdispersed, like tweet
//! volumes), irregularly sampled series with gaps (like traffic sensors), hourly series with
//! a weekly cycle (like ad-exchange prices), besides trends, random walks and skewed noise.
//! Each series runs through one `Detector` with the default configuration; the table counts,
//! away from the injected anomalies and after a warm-up of 1,000 points, the share of points
//! scoring ≥ 0.2 (a Gaussian tail of 1 %: where the score is calibrated, about 1 % of the
//! points of any shape) and ≥ 0.5, with a `percentile` ≥ 0.99 (1 % by construction, on any
//! shape: the check of the rank), `is_anomaly` alerts per 10,000 points, and how many
//! injected anomalies raised an alert within 10 points. Every shape is there without
//! anomalies too, for the false-alarm target (at most one alert per 10,000 points).
//!
//! `cargo run --release -p perf-core --example anomaly_synthetic [TUNING_JSON]` (figures in
//! BENCHMARKS.md); `TUNING_JSON` overrides fields of `perf_core::anomaly::Tuning`, as for
//! `anomaly_tune`, so the tuning protocol scores candidates here too.
//!
//! `… anomaly_synthetic --nab DIR` writes the series instead, as a NAB corpus (`DIR/synthetic/
//! *.csv`, `combined_windows.json` with NAB's windows — 10 % of a file's length shared among
//! its anomalies, centred on each — and NAB's `profiles.json`), so the NAB scorer and
//! `scripts/nab_loco.py` can use the shapes as one more category.

use perf_core::anomaly::{Detector, DetectorConfig, Tuning};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, LogNormal, Normal, Poisson};
use std::f64::consts::PI;

const FIVE_MIN: i64 = 300_000;
const T0: i64 = 1_700_000_000_000;
/// An alert this many points after an injection's start counts as its detection.
const DETECT_WITHIN: usize = 10;
/// Points after an injection's start that are not false alarms.
const AFTERMATH: usize = 60;
/// Points before the calibration shares are counted.
const WARM: usize = 1_000;

/// A series: timestamps, values, and the indices where injected anomalies start.
struct Series {
    name: &'static str,
    ts: Vec<i64>,
    values: Vec<f64>,
    injected: Vec<usize>,
}

fn daily(ts: i64) -> f64 {
    (2.0 * PI * (ts % 86_400_000) as f64 / 86_400_000.0).sin()
}

fn regular(n: usize, step: i64) -> Vec<i64> {
    (0..n as i64).map(|i| T0 + i * step).collect()
}

fn series(seed: u64) -> Vec<Series> {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = 12_000;
    let ts = regular(n, FIVE_MIN);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let mut out = Vec::new();

    let trend = (0..n)
        .map(|i| 10.0 + i as f64 * 0.002 + normal.sample(&mut rng))
        .collect();
    out.push(("noisy linear trend", ts.clone(), trend, vec![]));

    let mut walk = 100.0;
    let walk = (0..n)
        .map(|_| {
            walk += normal.sample(&mut rng);
            walk
        })
        .collect();
    out.push(("random walk", ts.clone(), walk, vec![]));

    let growing = ts
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let g = (i as f64 / n as f64 * 1.5).exp();
            g * (50.0 + 20.0 * daily(t)) + normal.sample(&mut rng)
        })
        .collect();
    out.push((
        "daily cycle growing exponentially",
        ts.clone(),
        growing,
        vec![],
    ));

    let white = (0..n).map(|_| normal.sample(&mut rng)).collect();
    out.push(("white noise", ts.clone(), white, vec![]));

    let lognormal = LogNormal::new(3.0, 0.5).unwrap();
    let skewed = (0..n).map(|_| lognormal.sample(&mut rng)).collect();
    out.push(("lognormal noise (σ 0.5)", ts.clone(), skewed, vec![]));

    // Counts with a daily cycle, and bursts of six points at 4–8 times the usual level.
    let injected: Vec<usize> = vec![4_000, 7_000, 10_000];
    let burst = |i: usize, rng: &mut StdRng, level: f64| -> f64 {
        match injected.iter().find(|&&s| i >= s && i < s + 6) {
            Some(_) => level * rng.random_range(4.0..8.0),
            None => level,
        }
    };
    let poisson_counts = ts
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let level = burst(i, &mut rng, 12.0 + 8.0 * daily(t));
            Poisson::new(level).unwrap().sample(&mut rng)
        })
        .collect();
    out.push((
        "Poisson counts, daily cycle, 3 bursts",
        ts.clone(),
        poisson_counts,
        injected.clone(),
    ));

    // Overdispersed counts (gamma–Poisson, shape 2): heavy right tail like tweet volumes.
    let over = ts
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let level = burst(i, &mut rng, 30.0 + 20.0 * daily(t));
            let rate = Gamma::new(2.0, level / 2.0).unwrap().sample(&mut rng);
            Poisson::new(rate.max(1e-9)).unwrap().sample(&mut rng)
        })
        .collect();
    out.push((
        "overdispersed counts, daily cycle, 3 bursts",
        ts.clone(),
        over,
        injected.clone(),
    ));

    // Irregular sampling: 1–9 minutes apart, multi-hour gaps, a drop to a third at the end
    // of a gap-free stretch (a sensor's speed falling).
    let mut t = T0;
    let (mut its, mut ivals) = (Vec::new(), Vec::new());
    let mut drop_at = Vec::new();
    for i in 0..6_000 {
        t += rng.random_range(60_000..540_000);
        if rng.random::<f64>() < 0.003 {
            t += rng.random_range(2..12) * 3_600_000;
        }
        let dropped = (4_500..4_520).contains(&i);
        if i == 4_500 {
            drop_at.push(its.len());
        }
        let level = 60.0 + 15.0 * daily(t);
        let v = level * if dropped { 0.33 } else { 1.0 } + 4.0 * normal.sample(&mut rng);
        its.push(t);
        ivals.push(v);
    }
    out.push(("irregular sampling with gaps, 1 drop", its, ivals, drop_at));

    // Hourly, weekly cycle (weekdays high), noisy; one day at 1.8× from hour 1,200.
    let hts = regular(1_600, 3_600_000);
    let hourly = hts
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let day = ((t / 86_400_000) + 4) % 7;
            let base = if day < 5 { 1.0 } else { 0.6 } * (1.0 + 0.3 * daily(t));
            let up = if (1_200..1_224).contains(&i) {
                1.8
            } else {
                1.0
            };
            (base * up + 0.08 * normal.sample(&mut rng)).max(0.0)
        })
        .collect();
    out.push((
        "hourly, weekly cycle, 1 day at 1.8x",
        hts,
        hourly,
        vec![1_200],
    ));

    // Shapes added for issue 16 draw from their own stream, so the series above keep theirs.
    let mut rng2 = StdRng::seed_from_u64(seed ^ 0x5eed);
    // Pareto noise (α 2.5): a heavier right tail than the lognormal's.
    let pareto = (0..n)
        .map(|_| 10.0 * (1.0 - rng2.random::<f64>()).powf(-1.0 / 2.5))
        .collect();
    out.push(("Pareto noise (α 2.5)", ts.clone(), pareto, vec![]));

    // Counts without anomalies: Poisson and overdispersed, with a daily cycle.
    let quiet_poisson = ts
        .iter()
        .map(|&t| {
            Poisson::new(12.0 + 8.0 * daily(t))
                .unwrap()
                .sample(&mut rng2)
        })
        .collect();
    out.push((
        "Poisson counts, daily cycle, no anomaly",
        ts.clone(),
        quiet_poisson,
        vec![],
    ));
    let quiet_over = ts
        .iter()
        .map(|&t| {
            let rate = Gamma::new(2.0, (30.0 + 20.0 * daily(t)) / 2.0)
                .unwrap()
                .sample(&mut rng2);
            Poisson::new(rate.max(1e-9)).unwrap().sample(&mut rng2)
        })
        .collect();
    out.push((
        "overdispersed counts, daily cycle, no anomaly",
        ts.clone(),
        quiet_over,
        vec![],
    ));
    // Sparse counts: mostly zeros (an error count of a healthy service).
    let sparse = (0..n)
        .map(|_| Poisson::new(0.3).unwrap().sample(&mut rng2))
        .collect();
    out.push((
        "sparse counts (mean 0.3), no anomaly",
        ts.clone(),
        sparse,
        vec![],
    ));

    // A rate that steps between levels now and then (a deploy, a new client), each step an
    // anomaly: three steps up or down by 40–60 %, held for days.
    let steps: Vec<usize> = vec![3_000, 6_500, 9_500];
    let mut level = 200.0;
    let stepped = ts
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            if steps.contains(&i) {
                let f = rng2.random_range(1.4..1.6);
                level = if i == 6_500 { level / f } else { level * f };
            }
            Poisson::new(level * (1.0 + 0.2 * daily(t)))
                .unwrap()
                .sample(&mut rng2)
        })
        .collect();
    out.push((
        "counts stepping 40–60 %, 3 steps",
        ts.clone(),
        stepped,
        steps,
    ));

    // The same sampling without the drop.
    let mut t = T0;
    let (mut qts, mut qvals) = (Vec::new(), Vec::new());
    for _ in 0..12_000 {
        t += rng2.random_range(60_000..540_000);
        if rng2.random::<f64>() < 0.003 {
            t += rng2.random_range(2..12) * 3_600_000;
        }
        qts.push(t);
        qvals.push(60.0 + 15.0 * daily(t) + 4.0 * normal.sample(&mut rng2));
    }
    out.push((
        "irregular sampling with gaps, no anomaly",
        qts,
        qvals,
        vec![],
    ));

    out.into_iter()
        .map(|(name, ts, values, injected)| Series {
            name,
            ts,
            values,
            injected,
        })
        .collect()
}

/// NAB's cost matrices (`profiles.json` of NAB v1.1).
const NAB_PROFILES: &str = r#"{"standard": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}}, "reward_low_FP_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22, "tnWeight": 1.0}}, "reward_low_FN_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11, "tnWeight": 1.0}}}"#;

fn nab_time(ts: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .expect("a timestamp in range")
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Writes every series as a NAB corpus under `dir`.
fn write_nab(dir: &std::path::Path) {
    let data = dir.join("synthetic");
    std::fs::create_dir_all(&data).expect("writable folder");
    let mut windows = serde_json::Map::new();
    for s in series(7) {
        let slug: String = s
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let mut csv = String::from("timestamp,value\n");
        for (t, v) in s.ts.iter().zip(&s.values) {
            csv.push_str(&format!("{},{v}\n", nab_time(*t)));
        }
        std::fs::write(data.join(format!("{slug}.csv")), csv).expect("writable file");
        let n = s.values.len();
        let half = if s.injected.is_empty() {
            0
        } else {
            n / 10 / s.injected.len() / 2
        };
        let wins: Vec<serde_json::Value> = s
            .injected
            .iter()
            .map(|&i| {
                let (a, b) = (i.saturating_sub(half), (i + half).min(n - 1));
                serde_json::json!([
                    format!("{}.000000", nab_time(s.ts[a])),
                    format!("{}.000000", nab_time(s.ts[b]))
                ])
            })
            .collect();
        windows.insert(format!("synthetic/{slug}.csv"), wins.into());
    }
    std::fs::write(
        dir.join("combined_windows.json"),
        serde_json::to_string_pretty(&windows).expect("json"),
    )
    .expect("writable file");
    std::fs::write(dir.join("profiles.json"), NAB_PROFILES).expect("writable file");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, dir] = args.as_slice() {
        if flag == "--nab" {
            write_nab(std::path::Path::new(dir));
            return;
        }
    }
    let tuning: Tuning = match args.first() {
        Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
            eprintln!("tuning: {e}");
            std::process::exit(2)
        }),
        None => Tuning::default(),
    };
    println!("| series | points | score ≥ 0.2 (1 % if calibrated) | score ≥ 0.5 | percentile ≥ 0.99 | alerts per 10k points | injections alerted within {DETECT_WITHIN} points |");
    println!("|---|---|---|---|---|---|---|");
    for s in series(7) {
        let mut d = Detector::with_tuning(DetectorConfig::default(), tuning);
        let (mut counted, mut above_02, mut above_05, mut alerts, mut away) = (0, 0, 0, 0, 0);
        let mut top_percent = 0;
        let mut found = vec![false; s.injected.len()];
        for (i, (&t, &v)) in s.ts.iter().zip(&s.values).enumerate() {
            let r = d.update(t, v);
            let near = s
                .injected
                .iter()
                .position(|&start| i >= start && i < start + AFTERMATH);
            match near {
                Some(k) => {
                    if r.is_anomaly && i < s.injected[k] + DETECT_WITHIN {
                        found[k] = true;
                    }
                }
                None => {
                    away += 1;
                    alerts += usize::from(r.is_anomaly);
                    if i >= WARM {
                        counted += 1;
                        above_02 += usize::from(r.score >= 0.2);
                        above_05 += usize::from(r.score >= 0.5);
                        top_percent += usize::from(r.percentile >= 0.99);
                    }
                }
            }
        }
        let detected = if s.injected.is_empty() {
            "—".to_string()
        } else {
            format!(
                "{} of {}",
                found.iter().filter(|&&f| f).count(),
                found.len()
            )
        };
        let share = |k: usize| 100.0 * k as f64 / counted.max(1) as f64;
        println!(
            "| {} | {} | {:.2} % | {:.2} % ({above_05}) | {:.2} % | {:.1} | {detected} |",
            s.name,
            s.values.len(),
            share(above_02),
            share(above_05),
            share(top_percent),
            alerts as f64 * 10_000.0 / away.max(1) as f64,
        );
    }
}
