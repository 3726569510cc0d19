//! `anomaly detect` through the real binary: one output row per input row with the input's
//! timestamp text, deterministic, causal (a prefix scores like the start of the whole file),
//! bad files refused with their line. `anomaly incidents` against a real server: a node's
//! slowdown listed with that node as its cause.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn detect(input: &Path, output: &Path) -> Output {
    Command::new(bin())
        .args([
            "anomaly",
            "detect",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ])
        .output()
        .unwrap()
}

fn series(n: usize, spike_at: usize) -> String {
    let mut text = String::from("timestamp,value\n");
    for i in 0..n {
        let t = 1_700_000_000 + i as i64 * 300;
        let ts = chrono_like(t);
        let mut v = 50.0
            + 10.0 * ((i as f64) * 2.0 * std::f64::consts::PI / 288.0).sin()
            + ((i * 7919) % 13) as f64 * 0.1;
        if i == spike_at {
            v += 80.0;
        }
        text.push_str(&format!("{ts},{v:.3}\n"));
    }
    text
}

/// `YYYY-MM-DD HH:MM:SS` without a date library: days since the epoch by civil arithmetic.
fn chrono_like(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[test]
fn output_rows_match_input_and_runs_are_causal_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.csv");
    std::fs::write(&full, series(3_000, 2_500)).unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    assert_eq!(detect(&full, &a).status.code(), Some(0));
    assert_eq!(detect(&full, &b).status.code(), Some(0));
    let out_a = std::fs::read_to_string(&a).unwrap();
    assert_eq!(out_a, std::fs::read_to_string(&b).unwrap(), "deterministic");
    let lines: Vec<&str> = out_a.lines().collect();
    assert_eq!(
        lines[0],
        "timestamp,value,anomaly_score,is_anomaly,percentile"
    );
    assert_eq!(lines.len(), 3_001);
    let input = std::fs::read_to_string(&full).unwrap();
    for (o, i) in lines.iter().zip(input.lines()).skip(1) {
        assert!(o.starts_with(i), "{o} does not repeat {i}");
    }
    assert!(
        lines[2_501].split(',').nth(3) == Some("1"),
        "the spike is flagged: {}",
        lines[2_501]
    );

    let prefix = dir.path().join("prefix.csv");
    std::fs::write(
        &prefix,
        input.lines().take(1_801).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    let p = dir.path().join("p.csv");
    assert_eq!(detect(&prefix, &p).status.code(), Some(0));
    let out_p = std::fs::read_to_string(&p).unwrap();
    assert_eq!(
        out_p.lines().collect::<Vec<_>>(),
        lines[..1_801].to_vec(),
        "causal"
    );

    // `--output -` is standard output, not a file named "-".
    let to_stdout = Command::new(bin())
        .current_dir(dir.path())
        .args(["anomaly", "detect", "--input", "full.csv", "--output", "-"])
        .output()
        .unwrap();
    assert_eq!(to_stdout.status.code(), Some(0));
    assert_eq!(String::from_utf8(to_stdout.stdout).unwrap(), out_a);
    assert!(!dir.path().join("-").exists());
}

#[test]
fn bad_files_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    for (text, needle) in [
        ("", "empty"),
        ("2024-01-01 00:00:00,1\n", "header"),
        (
            "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,abc\n",
            "line 3",
        ),
        ("timestamp,value\n", "no rows"),
    ] {
        let f = dir.path().join("bad.csv");
        std::fs::write(&f, text).unwrap();
        let o = detect(&f, &out);
        assert_eq!(o.status.code(), Some(2), "{text:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn capacity_forecast_writes_the_steps_after_the_last_row_in_the_input_format() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("s.csv");
    std::fs::write(&input, series(3_000, usize::MAX)).unwrap();
    let out = Command::new(bin())
        .args([
            "capacity",
            "forecast",
            "--input",
            input.to_str().unwrap(),
            "--horizon",
            "12",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "timestamp,forecast,lower,upper");
    assert_eq!(lines.len(), 13);
    let last_in = chrono_like(1_700_000_000 + 2_999 * 300);
    let first_out = chrono_like(1_700_000_000 + 3_000 * 300);
    assert!(
        lines[1].starts_with(&format!("{first_out},")),
        "{} after {last_in}",
        lines[1]
    );
    for l in &lines[1..] {
        let v: Vec<f64> = l.split(',').skip(1).map(|x| x.parse().unwrap()).collect();
        assert!(v[1] <= v[0] && v[0] <= v[2], "{l}");
    }
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "timestamp,value\n2024-01-01 00:00:00,1\n").unwrap();
    let out = Command::new(bin())
        .args([
            "capacity",
            "forecast",
            "--input",
            short.to_str().unwrap(),
            "--horizon",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"));
}

#[test]
fn anomaly_incidents_lists_the_servers_incidents_with_their_cause() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    server.play_slow_node(dir.path(), "qsvc");
    let out = server.cli_ok(&["anomaly", "incidents", "--window", "3h"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(table.contains("node n2"), "{table}");
    assert!(table.contains("qsvc") && table.contains("p9"), "{table}");
    let out = server.cli(&[
        "anomaly",
        "incidents",
        "--window",
        "3h",
        "--service",
        "qsvc",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!v["incidents"].as_array().unwrap().is_empty(), "{v}");
    let out = server.cli(&[
        "anomaly",
        "incidents",
        "--service",
        "nothing-here",
        "--window",
        "3h",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("0 incident(s)"));
    let out = server.cli(&["anomaly", "incidents", "--window", "banana"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("window"));
}
