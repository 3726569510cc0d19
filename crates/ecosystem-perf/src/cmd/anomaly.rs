//! `anomaly detect`: the streaming detector over a series CSV, offline. Writes
//! `timestamp,value,anomaly_score,is_anomaly`, one row per input row in input order, the
//! timestamp and value exactly as read. Deterministic and causal: a row's score depends only
//! on that row and the rows before it.

use crate::cli::AnomalyAction;
use crate::exit::{BadInput, OK};
use perf_core::anomaly::{series, Detector, DetectorConfig};
use std::io::Write;

/// Runs an `anomaly` subcommand.
pub fn run(action: AnomalyAction) -> anyhow::Result<i32> {
    match action {
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
            out.push_str("timestamp,value,anomaly_score,is_anomaly\n");
            let mut flagged = 0usize;
            for r in &rows {
                let s = detector.update(r.ts_ms, r.value);
                flagged += usize::from(s.is_anomaly);
                out.push_str(&format!(
                    "{},{},{:.6},{}\n",
                    r.ts_text,
                    r.value_text,
                    s.score,
                    u8::from(s.is_anomaly)
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
