//! `anomaly detect`: the streaming detector over a series CSV, offline. Writes
//! `timestamp,value,anomaly_score,is_anomaly,percentile`, one row per input row in input order, the
//! timestamp and value exactly as read. Deterministic and causal: a row's score depends only
//! on that row and the rows before it.
//!
//! `anomaly incidents`: the server's recent incidents (`GET /v1/anomalies`), one row each.

use crate::args::{Format, ServerArgs};
use crate::exit::{BadInput, OK};
use clap::Subcommand;
use perf_core::anomaly::{series, Detector, DetectorConfig};
use std::io::Write;
use std::path::PathBuf;

/// `anomaly` subcommands.
#[derive(Debug, Subcommand)]
pub enum AnomalyAction {
    /// Score every row of a `timestamp,value` CSV with the streaming detector; writes
    /// `timestamp,value,anomaly_score,is_anomaly,percentile`, one row per input row, in input
    /// order.
    #[command(
        after_help = "Example: ecosystem-perf anomaly detect --input cpu.csv --output cpu-scored.csv\n\nanomaly_score in [0, 1]: 0.5 is as unlikely as 1 in 100,000 under the series' recent behaviour, 1 is 1 in 10^10; repeats of an earlier event's shape score lower, a climb beyond the series' whole range scores at least 0.6. is_anomaly: score at or above the threshold, and a point at least 6 typical residuals off or a climb that goes on setting records, a percentile of at least 0.999, and rarity on the series' own extrapolated tail (a surprise the series reaches less than once in ~14,000 points, or a climb when none alerted in 10,000 points); a late alert within 45 points of its flag carries the flag's score.\n\npercentile: the share of the series' recent points (~5,000) that scored lower; 0.5, 0.9, 0.99 are the series' median, top 10 % and top 1 %, the same on every shape.\n\nTimestamps should increase; a row at or before the previous one is scored in file order with the detector's clock held (counted on standard error). Gaps are fine. Exit 2 on a bad file (with its line)."
    )]
    Detect {
        /// Series CSV with the header timestamp,value.
        #[arg(long)]
        input: PathBuf,
        /// Output CSV (default, or `-`: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Score at and above which a row is flagged (default 0.5; see below for is_anomaly).
        #[arg(long)]
        threshold: Option<f64>,
    },
    /// The server's recent anomaly incidents: concurrent anomalies of one service, with the
    /// dimension values they share and a probable cause.
    #[command(after_help = "Example: ecosystem-perf anomaly incidents --window 3h
         ecosystem-perf anomaly incidents --service qwallet --format json")]
    Incidents {
        /// How far back (incidents whose latest anomaly is within it): 30m, 3h, 1d…
        #[arg(long, default_value = "1h")]
        window: String,
        /// Only this service's incidents.
        #[arg(long)]
        service: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format (json: the whole `GET /v1/anomalies` answer).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Runs an `anomaly` subcommand.
pub fn run(action: AnomalyAction) -> anyhow::Result<i32> {
    match action {
        AnomalyAction::Incidents {
            window,
            service,
            server,
            format,
        } => {
            let client = crate::client::ApiClient::new(&server)?;
            let mut path = format!(
                "/v1/anomalies?window={}",
                crate::client::encode_component(&window)
            );
            if let Some(svc) = &service {
                path.push_str(&format!(
                    "&service={}",
                    crate::client::encode_component(svc)
                ));
            }
            let v: serde_json::Value = client.get(&path)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => print_incidents(&v, &window),
            }
            Ok(OK)
        }
        AnomalyAction::Detect {
            input,
            output,
            threshold,
        } => {
            let text = std::fs::read_to_string(&input)
                .map_err(|e| BadInput(format!("{}: {e}", input.display())))?;
            let parsed =
                series::parse(&text).map_err(|e| BadInput(format!("{}: {e}", input.display())))?;
            if parsed.out_of_order > 0 {
                eprintln!(
                    "{}: {} row(s) not after the previous timestamp; scored in file order",
                    input.display(),
                    parsed.out_of_order
                );
            }
            let rows = parsed.rows;
            let mut config = DetectorConfig::default();
            if let Some(t) = threshold {
                if !(t > 0.0 && t <= 1.0) {
                    return Err(BadInput("--threshold must be in (0, 1]".into()).into());
                }
                config.threshold = t;
            }
            let mut detector = Detector::new(config);
            let mut out = String::with_capacity(rows.len() * 48);
            out.push_str("timestamp,value,anomaly_score,is_anomaly,percentile\n");
            let mut flagged = 0usize;
            for r in &rows {
                let s = detector.update(r.ts_ms, r.value);
                flagged += usize::from(s.is_anomaly);
                out.push_str(&format!(
                    "{},{},{:.6},{},{:.6}\n",
                    r.ts_text,
                    r.value_text,
                    s.score,
                    u8::from(s.is_anomaly),
                    s.percentile
                ));
            }
            // `-` is standard output, as the help of most CLIs has it.
            match output.filter(|p| p.as_os_str() != "-") {
                Some(path) => {
                    std::fs::write(&path, out)
                        .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
                    eprintln!(
                        "{} rows, {flagged} anomalies → {}",
                        rows.len(),
                        path.display()
                    );
                }
                None => std::io::stdout().lock().write_all(out.as_bytes())?,
            }
            Ok(OK)
        }
    }
}

/// One row per incident, newest first, and the monitor's coverage.
fn print_incidents(v: &serde_json::Value, window: &str) {
    let text = |x: &serde_json::Value| x.as_str().unwrap_or("").to_string();
    let list = |x: &serde_json::Value| {
        x.as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut t = crate::tables::new_table(&[
        "id",
        "state",
        "start",
        "end",
        "service",
        "series",
        "metrics",
        "probable cause",
    ]);
    let incidents: Vec<&serde_json::Value> =
        v["incidents"].as_array().into_iter().flatten().collect();
    for i in incidents.iter().rev() {
        t.add_row(vec![
            i["id"].to_string(),
            if i["open"] == true { "open" } else { "closed" }.to_string(),
            text(&i["start"]),
            text(&i["end"]),
            list(&i["services"]),
            i["series"].to_string(),
            list(&i["metrics"]),
            cause_with_related(i),
        ]);
    }
    println!(
        "{} incident(s) in the last {window}; {} anomalous points; {} detectors ({} points not monitored)",
        incidents.len(),
        v["anomalies"].as_array().map_or(0, Vec::len),
        v["detectors"],
        v["unmonitored"]
    );
    if !incidents.is_empty() {
        println!("{t}");
    }
}

/// The probable cause, and the incidents of other services it is related to.
fn cause_with_related(incident: &serde_json::Value) -> String {
    let cause = incident["probableCause"].as_str().unwrap_or("").to_string();
    let related: Vec<String> = incident["related"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|id| format!("#{id}"))
        .collect();
    if related.is_empty() {
        cause
    } else {
        format!("{cause} (related: {})", related.join(", "))
    }
}
