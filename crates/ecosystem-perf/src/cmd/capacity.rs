//! `capacity forecast`: the forecaster over a series CSV, offline. Writes
//! `timestamp,forecast,lower,upper` for the `--horizon` steps after the last row (step = the
//! series' median sampling interval), timestamps in the input's format.

use crate::cli::CapacityAction;
use crate::exit::{BadInput, OK};
use perf_core::anomaly::series;
use perf_core::forecast::fit;
use std::io::Write;

/// Formats a timestamp like the input's first one: `YYYY-MM-DD HH:MM:SS`, RFC 3339, unix
/// seconds or unix milliseconds.
fn format_like(example: &str, ms: i64) -> String {
    let e = example.trim();
    if e.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return if e.trim_start_matches('-').len() >= 12 {
            ms.to_string()
        } else {
            (ms / 1000).to_string()
        };
    }
    let t = perf_core::time::format_rfc3339(ms);
    if e.contains('T') {
        if e.contains('.') {
            t
        } else {
            t.replace(".000Z", "Z")
        }
    } else {
        // `YYYY-MM-DD HH:MM:SS` (UTC), as NAB and most exports write it.
        t[..19].replace('T', " ")
    }
}

/// Runs a `capacity` subcommand.
pub fn run(action: CapacityAction) -> anyhow::Result<i32> {
    match action {
        CapacityAction::Plan {
            service,
            server,
            format,
        } => {
            let client = crate::client::ApiClient::new(&server)?;
            let svc = crate::client::encode_component(&service);
            match format {
                crate::cli::PlanFormat::Hpa => {
                    let v: serde_json::Value =
                        client.get(&format!("/v1/capacity/{svc}/hpa?format=json"))?;
                    print!("{}", serde_yaml_ng::to_string(&v)?);
                }
                crate::cli::PlanFormat::Json => {
                    let v: serde_json::Value = client.get(&format!("/v1/capacity/{svc}/plan"))?;
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                crate::cli::PlanFormat::Table => {
                    let v: serde_json::Value = client.get(&format!("/v1/capacity/{svc}/plan"))?;
                    println!("{}", v["explanation"].as_str().unwrap_or(""));
                    println!(
                        "HPA: min {} max {} replicas, target CPU {} %",
                        v["minReplicas"], v["maxReplicas"], v["targetCpuUtilization"]
                    );
                    let mut t = crate::tables::new_table(&["hour", "upper rps", "replicas"]);
                    for h in v["schedule"].as_array().into_iter().flatten() {
                        t.add_row(vec![
                            h["at"].as_str().unwrap_or("").to_string(),
                            format!("{:.1}", h["upperRps"].as_f64().unwrap_or(0.0)),
                            h["replicas"].to_string(),
                        ]);
                    }
                    println!("{t}");
                }
            }
            Ok(OK)
        }
        CapacityAction::Forecast {
            input,
            horizon,
            interval,
            output,
        } => {
            if horizon == 0 || horizon > 100_000 {
                return Err(BadInput("--horizon must be between 1 and 100000 steps".into()).into());
            }
            if !(interval > 0.5 && interval < 1.0) {
                return Err(BadInput("--interval must be in (0.5, 1), e.g. 0.95".into()).into());
            }
            let text = std::fs::read_to_string(&input)
                .map_err(|e| BadInput(format!("{}: {e}", input.display())))?;
            let parsed =
                series::parse(&text).map_err(|e| BadInput(format!("{}: {e}", input.display())))?;
            if parsed.out_of_order > 0 {
                return Err(BadInput(format!(
                    "{}: {} row(s) are not after the previous timestamp; a forecast needs increasing time",
                    input.display(),
                    parsed.out_of_order
                ))
                .into());
            }
            let points: Vec<(i64, f64)> = parsed.rows.iter().map(|r| (r.ts_ms, r.value)).collect();
            let fitted = fit(&points).map_err(|e| BadInput(format!("{}: {e}", input.display())))?;
            let example = &parsed.rows[0].ts_text;
            let mut out = String::from("timestamp,forecast,lower,upper\n");
            for p in fitted.forecast(horizon, interval) {
                out.push_str(&format!(
                    "{},{:.6},{:.6},{:.6}\n",
                    format_like(example, p.ts_ms),
                    p.forecast,
                    p.lower,
                    p.upper
                ));
            }
            match output {
                Some(path) => {
                    std::fs::write(&path, out)
                        .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
                    eprintln!(
                        "{horizon} steps of {} s forecast (period {} steps) → {}",
                        fitted.step_ms() / 1000,
                        fitted.period(),
                        path.display()
                    );
                }
                None => std::io::stdout().lock().write_all(out.as_bytes())?,
            }
            Ok(OK)
        }
    }
}
