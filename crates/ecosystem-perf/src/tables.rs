//! Tables for the terminal: the overview and a service profile, and the one way every table
//! colours a state word ([`state_cell`]). Colour only when standard output is a terminal
//! and `NO_COLOR` is unset, so piped output and golden files stay plain.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Color, Table};
use perf_core::report::{Callers, Overview, Profile, QueryResult};
use std::io::IsTerminal;

use crate::units;

/// A latency in a column headed "ms": the number alone.
fn ms(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}"))
        .unwrap_or_else(|| units::MISSING.into())
}

fn pct(v: Option<f64>) -> String {
    units::percent_opt(v, 2)
}

pub(crate) fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    if !std::io::stdout().is_terminal() || std::env::var_os("NO_COLOR").is_some() {
        t.force_no_tty();
    }
    t.set_header(header.iter().map(Cell::new));
    for i in 1..header.len() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// Left-aligns `columns` of a table made by [`new_table`]: columns of words or sentences
/// (a decision, its reasons, evidence) read left to right; numbers stay right-aligned.
pub(crate) fn align_left(t: &mut Table, columns: &[usize]) {
    for &i in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Left);
        }
    }
}

fn error_cell(rate: f64) -> Cell {
    let cell = Cell::new(pct(Some(rate)));
    if rate >= 0.01 {
        cell.fg(Color::Red)
    } else if rate >= 0.001 {
        cell.fg(Color::Yellow)
    } else {
        cell.fg(Color::Green)
    }
}

/// The memory by component, largest first, with each one's share and the process's RSS.
pub fn memory(m: &perf_server::accounting::MemoryReport) -> String {
    let mut t = new_table(&["component", "MiB", "share"]);
    let mut parts = m.components.clone();
    parts.sort_by_key(|p| std::cmp::Reverse(p.bytes));
    let mib = |b: u64| format!("{:.2}", b as f64 / (1024.0 * 1024.0));
    for p in &parts {
        let share = if m.total_bytes > 0 {
            100.0 * p.bytes as f64 / m.total_bytes as f64
        } else {
            0.0
        };
        t.add_row(vec![
            Cell::new(&p.component),
            Cell::new(mib(p.bytes)).set_alignment(CellAlignment::Right),
            Cell::new(units::percent(share / 100.0, 1)).set_alignment(CellAlignment::Right),
        ]);
    }
    let rss = m
        .rss_bytes
        .map_or("unknown".to_string(), |b| format!("{} MiB", mib(b)));
    format!(
        "{t}\naccounted {} MiB of heap; resident set {rss}",
        mib(m.total_bytes)
    )
}

/// The overview as a table.
pub fn overview(o: &Overview) -> String {
    let mut t = new_table(&[
        "service", "requests", "rps", "errors", "p50 ms", "p95 ms", "p99 ms", "SLO", "level",
        "alerts",
    ]);
    for s in &o.services {
        t.add_row(vec![
            Cell::new(&s.service),
            Cell::new(s.requests),
            Cell::new(format!("{:.1}", s.rps)),
            error_cell(s.error_rate),
            Cell::new(ms(s.p50)),
            Cell::new(ms(s.p95)),
            Cell::new(ms(s.p99)),
            state_cell(&s.slo_status),
            state_cell(&format!("L{}", s.degradation_level)),
            Cell::new(s.open_alerts),
        ]);
    }
    let series: Vec<String> = o
        .views
        .iter()
        .map(|v| format!("{} {}", v.view, v.series))
        .collect();
    let mut out = format!("window {}\n{t}\nseries: {}", o.window, series.join(", "));
    let overflowing: Vec<String> = o
        .views
        .iter()
        .filter(|v| v.overflow_events > 0)
        .map(|v| format!("{} ({} events)", v.view, v.overflow_events))
        .collect();
    if !overflowing.is_empty() {
        out.push_str(&format!(
            "\nseries limit reached, events counted in __overflow__: {}",
            overflowing.join(", ")
        ));
    }
    out
}

/// A profile as a table, with bottlenecks below.
pub fn profile(p: &Profile) -> String {
    let mut t = new_table(&[
        "operation",
        "count",
        "rps",
        "errors",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "cache hit",
        "cost/req",
    ]);
    for o in &p.operations {
        t.add_row(vec![
            Cell::new(&o.operation),
            Cell::new(o.count),
            Cell::new(format!("{:.1}", o.rps)),
            error_cell(o.error_rate),
            Cell::new(ms(o.p50)),
            Cell::new(ms(o.p95)),
            Cell::new(ms(o.p99)),
            Cell::new(ms(o.max)),
            Cell::new(pct(o.cache_hit_rate)),
            Cell::new(
                o.cost_per_request
                    .map(|c| format!("{c:.6}"))
                    .unwrap_or_else(|| "–".into()),
            ),
        ]);
    }
    let mut out = format!("{} · window {}\n{t}", p.service, p.window);
    if !p.bottlenecks.is_empty() {
        let mut b = new_table(&["operation", "stage", "share of tail", "p99 ms"]);
        for x in &p.bottlenecks {
            b.add_row(vec![
                Cell::new(&x.operation),
                Cell::new(&x.stage),
                Cell::new(pct(Some(x.share_of_tail))),
                Cell::new(ms(x.p99)),
            ]);
        }
        out.push_str(&format!(
            "\nbottlenecks (time of requests over their latency budget)\n{b}"
        ));
    }
    out
}

/// A view query as a table: the view's dimensions, then counts, rates and quantiles.
pub fn query(r: &QueryResult) -> String {
    let dims: Vec<&str> = r.dims.iter().map(|d| d.as_str()).collect();
    let quantiles: Vec<String> = r
        .groups
        .first()
        .map(|g| g.quantiles.keys().cloned().collect())
        .unwrap_or_default();
    let mut header: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    header.extend(["count", "rps", "errors", "cache hit"].map(String::from));
    header.extend(quantiles.iter().map(|q| format!("q{q} ms")));
    header.push("max ms".into());
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = new_table(&header_refs);
    for g in &r.groups {
        let mut row: Vec<Cell> = dims
            .iter()
            .map(|d| Cell::new(g.key.get(*d).map(String::as_str).unwrap_or("*")))
            .collect();
        row.push(Cell::new(g.count));
        row.push(Cell::new(format!("{:.1}", g.rps)));
        row.push(error_cell(g.error_rate.unwrap_or(0.0)));
        row.push(Cell::new(pct(g.cache_hit_rate)));
        for q in &quantiles {
            row.push(Cell::new(ms(g.quantiles.get(q).copied().flatten())));
        }
        row.push(Cell::new(ms(g.max)));
        t.add_row(row);
    }
    format!(
        "{} · {} … {}\n{t}",
        r.view,
        perf_core::time::format_rfc3339(r.from),
        perf_core::time::format_rfc3339(r.to)
    )
}

/// A range answer as a table: one row per step.
pub fn range(r: &perf_core::report::RangeResult) -> String {
    let quantiles: Vec<String> = r
        .points
        .first()
        .map(|p| p.quantiles.keys().cloned().collect())
        .unwrap_or_default();
    let mut header: Vec<String> = ["step start", "count", "rps", "errors"]
        .map(String::from)
        .to_vec();
    header.extend(quantiles.iter().map(|q| format!("q{q} ms")));
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = new_table(&header_refs);
    for p in &r.points {
        let mut row = vec![
            Cell::new(perf_core::time::format_rfc3339(p.ts)),
            Cell::new(p.count),
            Cell::new(format!("{:.1}", p.rps)),
            error_cell(p.error_rate.unwrap_or(0.0)),
        ];
        for q in &quantiles {
            row.push(Cell::new(ms(p.quantiles.get(q).copied().flatten())));
        }
        t.add_row(row);
    }
    let filter: Vec<String> = r.filter.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{} {} · every {} s\n{t}",
        r.view,
        filter.join(" "),
        r.step / 1000
    )
}

/// Top callers as a table.
pub fn callers(c: &Callers) -> String {
    let by = serde_json::to_value(c.by)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let mut t = new_table(&["entity", &by, "max error"]);
    for row in &c.callers {
        let fmt = |v: f64| {
            if by == "cost" {
                format!("{v:.4}")
            } else {
                format!("{v:.0}")
            }
        };
        t.add_row(vec![
            Cell::new(&row.entity),
            Cell::new(fmt(row.count)),
            Cell::new(fmt(row.max_error)),
        ]);
    }
    format!(
        "{} · top callers by {by} · window {} · k = {}\n{t}",
        c.service, c.window, c.k
    )
}

fn opt_pct(v: Option<f64>, digits: usize) -> String {
    units::percent_opt(v, digits)
}

/// How a state word reads at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Good,
    Watch,
    Bad,
    Plain,
}

/// The tone of a state word, whatever the table: SLO status, ladder level (`L0`–`L4`), risk
/// level, alert state, verdicts and decisions. One list, so a word reads the same everywhere.
pub(crate) fn tone(state: &str) -> Tone {
    match state.to_ascii_lowercase().as_str() {
        "ok" | "compliant" | "met" | "pass" | "go" | "proceed" | "promote" | "complete"
        | "completed" | "resolved" | "low" | "none" | "l0" | "healthy" | "recovered" => Tone::Good,
        "warning" | "pending" | "moderate" | "hold" | "inconclusive" | "insufficient data"
        | "manual_review" | "no_data" | "no data" | "l1" | "l2" | "recovering" | "throttle"
        | "queue" | "cache_fallback" | "running" => Tone::Watch,
        "violation" | "firing" | "high" | "critical" | "rollback" | "rolled_back" | "block"
        | "regressed" | "no-go" | "no_go" | "fail" | "failed" | "isolate" | "reject" | "l3"
        | "l4" | "exhausted" => Tone::Bad,
        _ => Tone::Plain,
    }
}

/// A state word in its colour (green, yellow, red); plain when standard output is not a
/// terminal or `NO_COLOR` is set ([`new_table`] turns styling off then).
pub(crate) fn state_cell(state: &str) -> Cell {
    let cell = Cell::new(state);
    match tone(state) {
        Tone::Good => cell.fg(Color::Green),
        Tone::Watch => cell.fg(Color::Yellow),
        Tone::Bad => cell.fg(Color::Red),
        Tone::Plain => cell,
    }
}

/// SLOs as a table.
pub fn slos(list: &[perf_core::slo::SloStatus]) -> String {
    let mut t = new_table(&[
        "slo",
        "tenant",
        "service",
        "sli",
        "objective",
        "window",
        "compliance",
        "budget left",
        "burn 1h",
        "status",
        "alerts",
    ]);
    for s in list {
        let firing = s
            .alerts
            .iter()
            .filter(|a| a.state == perf_core::slo::AlertState::Firing)
            .count();
        t.add_row(vec![
            Cell::new(&s.name),
            Cell::new(s.tenant.as_deref().unwrap_or("–")),
            Cell::new(&s.service),
            Cell::new(&s.sli),
            Cell::new(format!("{} %", perf_core::numeric::percent_of(s.objective))),
            Cell::new(&s.window),
            Cell::new(opt_pct(s.compliance, 3)),
            Cell::new(units::percent(s.error_budget.remaining, 1)),
            Cell::new(format!(
                "{:.2}",
                s.burn_rates.get("1h").copied().unwrap_or(0.0)
            )),
            state_cell(&s.status),
            Cell::new(firing),
        ]);
    }
    t.to_string()
}

/// One SLO in detail: budget, burn rates, alerts.
pub fn slo_detail(s: &perf_core::slo::SloStatus) -> String {
    let mut out = format!(
        "{} · {} {} on {} · objective {} % over {}\ncompliance {} · {} of {} good · budget {:.1} of {:.1} spent ({} left) · weekly burn {} · exhausted in {}\nstatus {}\n",
        s.name,
        s.sli,
        s.threshold_ms.map(|t| format!("≤ {t} ms")).unwrap_or_default(),
        s.service,
        perf_core::numeric::percent_of(s.objective),
        s.window,
        opt_pct(s.compliance, 3),
        s.good,
        s.total,
        s.error_budget.spent,
        s.error_budget.total,
        units::percent(s.error_budget.remaining, 1),
        units::percent(s.weekly_budget_burn, 1),
        s.time_to_exhaustion.as_deref().unwrap_or("never at this rate"),
        s.status
    );
    let mut burn = new_table(&["window", "burn rate", "events"]);
    for w in perf_core::slo::BURN_WINDOWS
        .iter()
        .map(|w| units::duration(*w))
    {
        burn.add_row(vec![
            Cell::new(&w),
            Cell::new(format!(
                "{:.2}",
                s.burn_rates.get(w.as_str()).copied().unwrap_or(0.0)
            )),
            Cell::new(s.burn_rate_events.get(w.as_str()).copied().unwrap_or(0)),
        ]);
    }
    out.push_str(&burn.to_string());
    if !s.alerts.is_empty() {
        let mut a = new_table(&[
            "severity",
            "state",
            "windows",
            "factor",
            "burn long",
            "burn short",
            "since",
            "why",
        ]);
        for x in &s.alerts {
            a.add_row(vec![
                Cell::new(format!("{:?}", x.severity).to_lowercase()),
                state_cell(&format!("{:?}", x.state).to_lowercase()),
                Cell::new(format!("{}/{}", x.long_window, x.short_window)),
                Cell::new(format!("{:.1}", x.factor)),
                Cell::new(format!("{:.1}", x.burn_rate_long)),
                Cell::new(format!("{:.1}", x.burn_rate_short)),
                Cell::new(perf_core::time::format_rfc3339(x.since_ms)),
                Cell::new(x.reason.as_deref().unwrap_or("")),
            ]);
        }
        out.push_str(&format!("\nalerts\n{a}"));
    }
    out
}

fn isolation(i: perf_core::tenant::Isolation) -> Cell {
    use perf_core::tenant::Isolation::*;
    match i {
        None => Cell::new("none").fg(Color::Green),
        Monitor => Cell::new("monitor"),
        TrafficThrottling => Cell::new("traffic_throttling").fg(Color::Yellow),
        Isolate => Cell::new("isolate").fg(Color::Red),
    }
}

/// Tenants as a table.
/// `costs[i]` is the `cost` object of the answer's tenant `i` (`null` without one).
pub fn tenants(
    list: &[perf_core::tenant::TenantEvaluation],
    costs: &[serde_json::Value],
) -> String {
    let mut t = new_table(&[
        "tenant",
        "score",
        "rps",
        "load share",
        "burn 1h",
        "availability",
        "p99 ms",
        "cost, month",
        "next 30 d",
        "recommendation",
    ]);
    let money = |v: &serde_json::Value, digits: usize| {
        v.as_f64()
            .map_or_else(|| "–".to_string(), |x| format!("{x:.digits$}"))
    };
    for (i, e) in list.iter().enumerate() {
        let cost = costs.get(i).unwrap_or(&serde_json::Value::Null);
        t.add_row(vec![
            Cell::new(&e.dao_id),
            Cell::new(
                e.performance_score
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "–".into()),
            ),
            Cell::new(format!("{:.1}", e.rps)),
            Cell::new(units::percent(e.load_share, 0)),
            Cell::new(format!("{:.2}", e.error_budget_burn)),
            Cell::new(opt_pct(
                e.slo_compliance.get("availability").and_then(|c| c.actual),
                3,
            )),
            Cell::new(ms(e.slo_compliance.get("latency").and_then(|c| c.actual))),
            Cell::new(money(&cost["monthToDate"], 2)),
            Cell::new(money(&cost["forecast30d"], 0)),
            isolation(e.isolation_recommendation),
        ]);
    }
    t.to_string()
}

/// `slo what-if`: the SLO as it is and as it would have been, side by side.
pub fn what_if(
    now: &perf_core::slo::SloStatus,
    then: &perf_core::slo::SloStatus,
    verdict: &serde_json::Value,
    history: &serde_json::Value,
) -> String {
    let mut t = new_table(&[
        "",
        "objective",
        "window",
        "compliance",
        "good / total",
        "budget left",
        "status",
    ]);
    for (label, s) in [("as defined", now), ("what if", then)] {
        t.add_row(vec![
            Cell::new(label),
            Cell::new(format!("{} %", perf_core::numeric::percent_of(s.objective))),
            Cell::new(&s.window),
            Cell::new(opt_pct(s.compliance, 3)),
            Cell::new(format!("{} / {}", s.good, s.total)),
            Cell::new(units::percent(s.error_budget.remaining, 1)),
            state_cell(&s.status),
        ]);
    }
    let read = match (history["events"].as_u64(), history["from"].as_str()) {
        (Some(n), Some(from)) => {
            let bound = history["latencyBound"].as_u64().unwrap_or(0);
            format!(
                "over {n} events since {from}{}",
                if bound > 0 {
                    format!(" (latency estimate within ±{bound} good events)")
                } else {
                    String::new()
                }
            )
        }
        _ => "no history matches this SLO".into(),
    };
    format!("{t}\nverdict: {} · {read}", verdict.as_str().unwrap_or("?"))
}

/// One tenant in detail; `cost` is the answer's `cost` object.
pub fn tenant_detail(e: &perf_core::tenant::TenantEvaluation, cost: &serde_json::Value) -> String {
    let mut out = tenants(std::slice::from_ref(e), std::slice::from_ref(cost));
    if let Some(mtd) = cost["monthToDate"].as_f64() {
        out.push_str(&format!(
            "\ncost: {mtd:.2} this month{} · {:.2} in the last 24 h · next 30 days {}",
            cost["shareOfEcosystem"]
                .as_f64()
                .map_or(String::new(), |s| format!(
                    " ({} of the ecosystem)",
                    units::percent(s, 0)
                )),
            cost["last24h"].as_f64().unwrap_or(0.0),
            match (
                cost["forecast30d"].as_f64(),
                cost["forecast30dUpper"].as_f64()
            ) {
                (Some(f), Some(u)) => format!(
                    "{f:.0} (up to {u:.0}, {})",
                    cost["forecastBasis"].as_str().unwrap_or("")
                ),
                _ => "not forecast yet (30 minutes of cost needed)".into(),
            }
        ));
    }
    for r in &e.reasons {
        out.push_str(&format!("\n· {r}"));
    }
    let n = &e.noisy_neighbour;
    out.push_str(&format!(
        "\nsurge ×{:.1}{} · other tenants' p99 {} → {} ms{}",
        n.surge_ratio,
        if n.surging { " (surging)" } else { "" },
        ms(n.others_p99_before),
        ms(n.others_p99_now),
        if n.degrading_others {
            " (degrading)"
        } else {
            ""
        }
    ));
    out
}

#[cfg(test)]
mod tone_tests {
    use super::*;

    #[test]
    fn a_state_reads_the_same_in_every_table() {
        for (word, want) in [
            ("ok", Tone::Good),
            ("L0", Tone::Good),
            ("warning", Tone::Watch),
            ("L2", Tone::Watch),
            ("moderate", Tone::Watch),
            ("hold", Tone::Watch),
            ("violation", Tone::Bad),
            ("L4", Tone::Bad),
            ("critical", Tone::Bad),
            ("rolled_back", Tone::Bad),
            ("qnet", Tone::Plain),
        ] {
            assert_eq!(tone(word), want, "{word}");
        }
        // Under the test harness standard output is not a terminal: no escapes.
        let mut t = new_table(&["state"]);
        t.add_row(vec![state_cell("violation")]);
        assert!(!t.to_string().contains('\u{1b}'), "{t}");
    }
}
