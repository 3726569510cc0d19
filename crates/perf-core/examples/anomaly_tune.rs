//! The tuning protocol's runner: scores every `*.csv` series under a data folder with one
//! detector per file and the given parameters, and writes `anomaly_score` files mirroring the
//! folder, the way `ecosystem-perf anomaly detect` does with the product's parameters.
//! `scripts/nab_loco.py` calls it once per candidate and scores the output with NAB's scorer.
//!
//! `cargo run --release -p perf-core --example anomaly_tune -- DATA_DIR RESULTS_DIR [TUNING_JSON]`
//! where `TUNING_JSON` overrides fields of `perf_core::anomaly::Tuning`, e.g.
//! `{"shortAlpha": 0.3, "refractoryPoints": 30}`.

use perf_core::anomaly::{series, Detector, DetectorConfig, Tuning};
use std::path::{Path, PathBuf};

fn csv_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            csv_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "csv") {
            out.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, results, rest @ ..] = args.as_slice() else {
        eprintln!("usage: anomaly_tune DATA_DIR RESULTS_DIR [TUNING_JSON]");
        std::process::exit(2);
    };
    let tuning: Tuning = match rest.first() {
        Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
            eprintln!("tuning: {e}");
            std::process::exit(2)
        }),
        None => Tuning::default(),
    };
    let (data, results) = (Path::new(data), Path::new(results));
    let mut files = Vec::new();
    csv_files(data, &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable series");
        let parsed = series::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut detector = Detector::with_tuning(DetectorConfig::default(), tuning);
        let mut out = String::with_capacity(parsed.rows.len() * 40);
        out.push_str("timestamp,anomaly_score\n");
        for r in &parsed.rows {
            let s = detector.update(r.ts_ms, r.value);
            out.push_str(&format!("{},{:.6}\n", r.ts_text, s.score));
        }
        let target = results.join(f.strip_prefix(data).expect("under the data folder"));
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("results folder");
        std::fs::write(&target, out).expect("writable results");
    }
}
