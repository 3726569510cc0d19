//! `simulate routing|overload`: runs the discrete-event scenarios of `perf_sim::des` over N
//! seeds and prints one row per router or strategy (mean ± 95 % interval across seeds), as a
//! terminal table or Markdown for BENCHMARKS.md.

use crate::exit::{BadInput, OK};
use clap::Args;
use perf_sim::des::{overload_sim, routing_sim};

/// Arguments of `simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// `routing` (scenario A) or `overload` (scenario B).
    #[arg(value_parser = ["routing", "overload"])]
    pub scenario: String,
    /// Seeds (1..=N); intervals are 95 % over the seeds.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Output format.
    #[arg(long, value_parser = ["table", "markdown"], default_value = "table")]
    pub format: String,
}

fn print(heads: &[&str], rows: Vec<Vec<String>>, markdown: bool) {
    if markdown {
        println!("| {} |", heads.join(" | "));
        println!("|{}", "---|".repeat(heads.len()));
        for r in rows {
            println!("| {} |", r.join(" | "));
        }
    } else {
        let mut t = crate::tables::new_table(heads);
        for r in rows {
            t.add_row(r);
        }
        println!("{t}");
    }
}

/// Runs a scenario.
pub fn run(scenario: &str, seeds: u64, format: &str) -> anyhow::Result<i32> {
    if !(1..=100).contains(&seeds) {
        return Err(BadInput("--seeds must be between 1 and 100".into()).into());
    }
    let markdown = format == "markdown";
    match scenario {
        "routing" => {
            let s = routing_sim::ScenarioA::default();
            eprintln!(
                "scenario A: 10 nodes × {} workers, {:.0} % load, {} s; node {} ×{} slower {}–{} s; node {} fails {:.0} % in 1 ms {}–{} s; {seeds} seeds",
                s.workers,
                s.load * 100.0,
                s.duration_s,
                s.slow.0,
                s.slow_factor,
                s.slow.1,
                s.slow.2,
                s.failing.0,
                s.fail_share * 100.0,
                s.failing.1,
                s.failing.2
            );
            let rows = routing_sim::table(&s, seeds)
                .into_iter()
                .map(Vec::from)
                .collect();
            print(&routing_sim::TABLE_HEADS, rows, markdown);
        }
        _ => {
            eprintln!(
                "scenario B: 40 workers × 10 ms, load 0.7× → 2× (30–60 s; half the workers lost 45–60 s) → 0.7×; classes critical 20 % / default 50 % / batch 30 %; SLO 100 ms; {seeds} seeds"
            );
            let rows = overload_sim::table(seeds)
                .into_iter()
                .map(Vec::from)
                .collect();
            print(&overload_sim::TABLE_HEADS, rows, markdown);
        }
    }
    Ok(OK)
}
