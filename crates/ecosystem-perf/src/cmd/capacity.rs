//! `capacity forecast`: the forecaster over a series CSV, offline. Writes
//! `timestamp,forecast,lower,upper` for the `--horizon` steps after the last row (step = the
//! series' median sampling interval), timestamps in the input's format.
//! `capacity show`, `plan` and `cost` read the server's capacity, scaling-plan and cost
//! answers and print them as tables (or JSON / the HPA manifest).

use crate::args::{Format, ServerArgs};
use crate::exit::{BadInput, OK};
use clap::{Subcommand, ValueEnum};
use perf_core::anomaly::series;
use perf_core::forecast::fit;
use std::io::Write;
use std::path::PathBuf;

/// Output of `capacity plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// A summary and the schedule.
    Table,
    /// The plan as JSON.
    Json,
    /// The Kubernetes HorizontalPodAutoscaler manifest (YAML).
    Hpa,
}

/// `capacity` subcommands.
#[derive(Debug, Subcommand)]
pub enum CapacityAction {
    /// A service's capacity report from the server: demand forecast, capacity, headroom now
    /// and at the forecast peak, time to exhaustion, p99 against load.
    #[command(after_help = "Example: ecosystem-perf capacity show qnet")]
    Show {
        /// Service.
        service: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Cost from the server: per service and operation, month to date, 30-day forecast
    /// against the monthly budget, replicas that could be dropped.
    #[command(after_help = "Example: ecosystem-perf capacity cost --format json")]
    Cost {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A service's scaling plan from the server: replicas for the 48 h forecast, HPA bounds,
    /// pre-scaling schedule; `--format hpa` prints the autoscaling/v2 manifest.
    #[command(
        after_help = "Example: ecosystem-perf capacity plan qnet --format hpa | kubectl apply -f -"
    )]
    Plan {
        /// Service.
        service: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
        format: PlanFormat,
    },
    /// Forecast a `timestamp,value` series: writes `timestamp,forecast,lower,upper` for the
    /// N steps after the last row (step = the series' sampling interval).
    #[command(
        after_help = "Example: ecosystem-perf capacity forecast --input rps.csv --horizon 96 --interval 0.95 --output forecast.csv\n\nAt least 16 rows, increasing timestamps; gaps are fine. Exit 2 on a bad file."
    )]
    Forecast {
        /// Series CSV with the header timestamp,value.
        #[arg(long)]
        input: PathBuf,
        /// Steps to forecast.
        #[arg(long)]
        horizon: usize,
        /// Central probability of the interval.
        #[arg(long, default_value_t = 0.95)]
        interval: f64,
        /// Output CSV (default, or `-`: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

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

fn pct(v: &serde_json::Value) -> String {
    crate::units::percent_json(v, 0)
}

fn num(v: &serde_json::Value, digits: usize) -> String {
    v.as_f64()
        .map_or_else(|| "–".to_string(), |x| format!("{x:.digits$}"))
}

/// Hours as a duration label (`1h30m`), the form the rest of the product writes.
fn duration_of(hours: Option<f64>) -> String {
    hours.map_or_else(
        || crate::units::MISSING.to_string(),
        |h| crate::units::duration((h * 3_600_000.0).round() as i64),
    )
}

/// The demand trend in the model's own time scale: per hour for a model of minutes (a
/// per-minute trend compounded over a day reads as millions of percent), per day for a
/// model of hours.
fn trend_row(r: &serde_json::Value) -> (&'static str, String) {
    let per_day = r["trendPerDay"].as_f64();
    let hourly_model = r["stepMinutes"].as_f64().is_some_and(|m| m < 60.0);
    match per_day {
        Some(d) if hourly_model => (
            "trend per hour",
            crate::units::signed_percent((1.0 + d).max(0.0).powf(1.0 / 24.0) - 1.0, 1),
        ),
        Some(d) => ("trend per day", crate::units::signed_percent(d, 1)),
        None => ("trend", "–".to_string()),
    }
}

/// The schedule rows where the replica count changes (and the first), with the largest
/// upper bound of demand until the next change: what to set and when, not every step.
fn change_points(schedule: &[serde_json::Value]) -> Vec<(String, f64, String)> {
    let mut out: Vec<(String, f64, String)> = Vec::new();
    let mut last: Option<&serde_json::Value> = None;
    for h in schedule {
        let upper = h["upperRps"].as_f64().unwrap_or(0.0);
        match (last, out.last_mut()) {
            (Some(prev), Some(row)) if prev["replicas"] == h["replicas"] => {
                row.1 = row.1.max(upper);
            }
            _ => out.push((
                h["at"].as_str().unwrap_or("").to_string(),
                upper,
                h["replicas"].to_string(),
            )),
        }
        last = Some(h);
    }
    out
}

/// Prints a capacity report.
fn print_report(r: &serde_json::Value) {
    println!("{}", r["explanation"].as_str().unwrap_or(""));
    let mut t = crate::tables::new_table(&["measure", "value"]);
    // Values mix numbers and sentences: left-aligned, they read down the column.
    crate::tables::align_left(&mut t, &[1]);
    let rows = [
        ("current rps", num(&r["currentRps"], 1)),
        ("capacity rps", num(&r["capacityRps"], 1)),
        (
            "capacity from",
            r["capacitySource"].as_str().unwrap_or("").to_string(),
        ),
        ("headroom now", pct(&r["currentHeadroom"])),
        ("headroom at forecast peak", pct(&r["headroom"])),
        ("budget", pct(&r["headroomBudget"])),
        ("status", r["status"].as_str().unwrap_or("").to_string()),
        ("hours to exhaustion", num(&r["hoursToExhaustion"], 1)),
        (
            "step / horizon",
            format!(
                "{} / {}",
                duration_of(r["stepMinutes"].as_f64().map(|m| m / 60.0)),
                duration_of(r["horizonHours"].as_f64())
            ),
        ),
        trend_row(r),
        (
            "p99 limit",
            r["latency"]["explanation"]
                .as_str()
                .unwrap_or("–")
                .to_string(),
        ),
    ];
    for (k, v) in rows {
        t.add_row(vec![k.to_string(), v]);
    }
    println!("{t}");
}

/// Prints a cost report.
fn print_cost(c: &serde_json::Value) {
    println!("{}", c["explanation"].as_str().unwrap_or(""));
    let mut t = crate::tables::new_table(&[
        "service",
        "operation",
        "cost / request",
        "last 24 h",
        "month to date",
    ]);
    for s in c["services"].as_array().into_iter().flatten() {
        t.add_row(vec![
            s["service"].as_str().unwrap_or("").to_string(),
            "(all)".to_string(),
            num(&s["costPerRequest"], 6),
            num(&s["last24h"], 2),
            num(&s["monthToDate"], 2),
        ]);
        for o in s["operations"].as_array().into_iter().flatten() {
            t.add_row(vec![
                String::new(),
                o["operation"].as_str().unwrap_or("").to_string(),
                num(&o["costPerRequest"], 6),
                num(&o["last24h"], 2),
                num(&o["monthToDate"], 2),
            ]);
        }
    }
    println!("{t}");
    for r in c["recommendations"].as_array().into_iter().flatten() {
        println!("- {}", r["recommendation"].as_str().unwrap_or(""));
    }
}

/// Runs a `capacity` subcommand.
pub fn run(action: CapacityAction) -> anyhow::Result<i32> {
    match action {
        CapacityAction::Show {
            service,
            server,
            format,
        } => {
            let client = crate::client::ApiClient::new(&server)?;
            let svc = crate::client::encode_component(&service);
            let v: serde_json::Value = client.get(&format!("/v1/capacity/{svc}"))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => print_report(&v),
            }
            Ok(OK)
        }
        CapacityAction::Cost { server, format } => {
            let client = crate::client::ApiClient::new(&server)?;
            let v: serde_json::Value = client.get("/v1/cost")?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => print_cost(&v),
            }
            Ok(OK)
        }
        CapacityAction::Plan {
            service,
            server,
            format,
        } => {
            let client = crate::client::ApiClient::new(&server)?;
            let svc = crate::client::encode_component(&service);
            match format {
                PlanFormat::Hpa => {
                    let v: serde_json::Value =
                        client.get(&format!("/v1/capacity/{svc}/hpa?format=json"))?;
                    print!("{}", serde_yaml_ng::to_string(&v)?);
                }
                PlanFormat::Json => {
                    let v: serde_json::Value = client.get(&format!("/v1/capacity/{svc}/plan"))?;
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                PlanFormat::Table => {
                    let v: serde_json::Value = client.get(&format!("/v1/capacity/{svc}/plan"))?;
                    println!("{}", v["explanation"].as_str().unwrap_or(""));
                    println!(
                        "target utilisation set by: {}",
                        v["limitedBy"].as_str().unwrap_or("")
                    );
                    println!(
                        "HPA: min {} max {} replicas, target CPU {} %",
                        v["minReplicas"], v["maxReplicas"], v["targetCpuUtilization"]
                    );
                    // Where the replica count changes, not every step (`--format json` has them).
                    let mut t = crate::tables::new_table(&[
                        "from",
                        "replicas",
                        "peak upper rps until the next change",
                    ]);
                    let schedule = v["schedule"].as_array().cloned().unwrap_or_default();
                    for (at, upper, replicas) in change_points(&schedule) {
                        t.add_row(vec![at, replicas, format!("{upper:.1}")]);
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
            // `-` is standard output, as in `anomaly detect`.
            match output.filter(|p| p.as_os_str() != "-") {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plan_shows_where_the_replica_count_changes() {
        let schedule: Vec<serde_json::Value> = [(0, 10.0, 2), (1, 12.0, 2), (2, 30.0, 3), (3, 28.0, 3), (4, 11.0, 2)]
            .iter()
            .map(|&(m, upper, replicas)| json!({"at": format!("t{m}"), "upperRps": upper, "replicas": replicas}))
            .collect();
        assert_eq!(
            change_points(&schedule),
            vec![
                ("t0".to_string(), 12.0, "2".to_string()),
                ("t2".to_string(), 30.0, "3".to_string()),
                ("t4".to_string(), 11.0, "2".to_string()),
            ]
        );
    }

    #[test]
    fn a_minute_models_trend_reads_per_hour_and_the_horizon_as_a_duration() {
        // +1 % a minute compounds to ~1.7e6 % a day: shown as the hour's +81.7 %.
        let per_day = 1.01f64.powi(1_440) - 1.0;
        let r = json!({"trendPerDay": per_day, "stepMinutes": 1, "horizonHours": 1.5});
        assert_eq!(trend_row(&r), ("trend per hour", "+81.7 %".to_string()));
        let r = json!({"trendPerDay": 0.05, "stepMinutes": 60});
        assert_eq!(trend_row(&r), ("trend per day", "+5.0 %".to_string()));
        assert_eq!(duration_of(Some(1.5)), "1h30m");
        assert_eq!(duration_of(Some(1.0 / 60.0)), "1m");
    }
}
