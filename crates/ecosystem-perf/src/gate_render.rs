//! A gate report for people: a terminal table (every metric of every operation with its
//! estimate, interval, p-value, threshold and verdict) and a compact Markdown PR comment
//! (verdict line, what failed or needs review, the full table folded away).

use crate::units;
use comfy_table::{Cell, Color};
use perf_core::compare::gate::{MetricResult, Verdict};
use perf_core::compare::metric::{Method, Metric};
use perf_core::compare::{GateReport, Recommendation};
use std::fmt::Write;

fn value(metric: Metric, v: Option<f64>) -> String {
    match v {
        None => units::MISSING.into(),
        Some(x) => match metric {
            Metric::ErrorRate | Metric::CacheHitRate => units::percent(x, 2),
            Metric::CostPerRequest => format!("{x:.6}"),
            _ => units::ms(x),
        },
    }
}

/// The change of the metric the row names, candidate against baseline (`+4.7 %` for a
/// latency, `+0.12 pt` for a rate), whatever estimate decided the verdict.
fn own_change(m: &MetricResult) -> String {
    match (m.baseline, m.current) {
        (Some(b), Some(c)) if m.metric.is_relative() && b > 0.0 => {
            units::signed_percent(c / b - 1.0, 1)
        }
        (Some(b), Some(c)) if !m.metric.is_relative() => units::points(c - b, 2),
        _ => units::MISSING.into(),
    }
}

/// Which estimate decided, in words.
fn method(m: &MetricResult) -> &'static str {
    match m.method {
        Some(Method::HodgesLehmann) => "distribution shift",
        Some(Method::OrderStatistics) => "quantile ratio",
        Some(Method::Proportions) => "proportions",
        Some(Method::RatioOfMeans) => "ratio of means",
        None => "",
    }
}

/// The estimate that decided (worse is positive), its interval and how it was made.
fn decided_by(m: &MetricResult) -> String {
    match method(m) {
        "" => change(m),
        how => format!("{} ({how})", change(m)),
    }
}

fn change(m: &MetricResult) -> String {
    let Some(c) = m.change else {
        return "–".into();
    };
    let f = |x: f64| {
        if m.metric.is_relative() {
            units::signed_percent(x, 1)
        } else {
            units::points(x, 2)
        }
    };
    match m.interval {
        Some([lo, hi]) => format!("{} [{} … {}]", f(c), f(lo), f(hi)),
        None => f(c),
    }
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Regressed => "REGRESSED",
        Verdict::Improved => "improved",
        Verdict::Inconclusive => "inconclusive",
        Verdict::InsufficientData => "insufficient data",
    }
}

fn headline(r: &GateReport) -> String {
    let o = &r.outcome;
    format!(
        "{} {} — {} on {} vs {} ({} vs {} requests; {} confidence, {} tests, {:?} correction)",
        match o.recommendation {
            Recommendation::Proceed => "✅",
            Recommendation::BlockDeployment => "❌",
            _ => "⚠️",
        },
        o.recommendation.as_str(),
        r.deployment,
        r.service,
        r.baseline.source,
        r.candidate.requests,
        r.baseline.requests,
        units::percent(o.confidence, 0),
        o.tests,
        o.correction
    )
}

/// Terminal table.
pub fn table(r: &GateReport) -> String {
    let mut t = crate::tables::new_table(&[
        "operation",
        "metric",
        "baseline",
        "candidate",
        "change",
        "decided by: estimate [interval]",
        "p",
        "threshold",
        "verdict",
    ]);
    for op in &r.outcome.operations {
        if op.metrics.is_empty() {
            t.add_row(vec![
                Cell::new(&op.operation),
                Cell::new("–"),
                Cell::new(op.samples.baseline),
                Cell::new(op.samples.candidate),
                Cell::new(""),
                Cell::new(op.status.as_str()),
                Cell::new(""),
                Cell::new(""),
                Cell::new(""),
            ]);
        }
        for m in &op.metrics {
            let colour = match m.verdict {
                Verdict::Regressed => Color::Red,
                Verdict::Inconclusive | Verdict::InsufficientData => Color::Yellow,
                _ => Color::Green,
            };
            t.add_row(vec![
                Cell::new(&op.operation),
                Cell::new(m.metric.as_str()),
                Cell::new(value(m.metric, m.baseline)),
                Cell::new(value(m.metric, m.current)),
                Cell::new(own_change(m)),
                Cell::new(decided_by(m)),
                Cell::new(
                    m.p_value
                        .map_or("–".into(), perf_core::numeric::format_p_value),
                ),
                Cell::new(value(m.metric, m.threshold)),
                Cell::new(verdict(m.verdict)).fg(colour),
            ]);
        }
    }
    format!("{}\n{}\n{}", headline(r), r.outcome.summary, t)
}

/// Markdown for a pull-request comment.
pub fn markdown(r: &GateReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### {}\n", headline(r));
    let _ = writeln!(s, "{}\n", r.outcome.summary);
    let row = |s: &mut String, op: &str, m: &MetricResult| {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            op,
            m.metric.as_str(),
            value(m.metric, m.baseline),
            value(m.metric, m.current),
            own_change(m),
            decided_by(m),
            value(m.metric, m.threshold),
            verdict(m.verdict)
        );
    };
    let header = "| operation | metric | baseline | candidate | change | decided by: estimate [interval] | threshold | verdict |\n|---|---|---|---|---|---|---|---|\n";
    let notable: Vec<(&str, &MetricResult)> = r
        .outcome
        .operations
        .iter()
        .flat_map(|o| o.metrics.iter().map(move |m| (o.operation.as_str(), m)))
        .filter(|(_, m)| !matches!(m.verdict, Verdict::Pass | Verdict::Improved))
        .collect();
    if !notable.is_empty() {
        s.push_str(header);
        for (op, m) in &notable {
            row(&mut s, op, m);
        }
        s.push('\n');
        for (op, m) in notable
            .iter()
            .filter(|(_, m)| m.verdict != Verdict::InsufficientData)
        {
            let _ = writeln!(s, "- **{op}** {}", m.explanation);
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "<details><summary>All {} checks</summary>\n",
        r.outcome
            .operations
            .iter()
            .map(|o| o.metrics.len())
            .sum::<usize>()
    );
    s.push_str(header);
    for o in &r.outcome.operations {
        for m in &o.metrics {
            row(&mut s, &o.operation, m);
        }
    }
    s.push_str("\n</details>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A p99 row whose verdict came from the distribution's shift: the change column is the
    /// p99's own (151.6 → 158.8 ms is +4.7 %), the shift is shown as what decided.
    #[test]
    fn a_row_shows_its_metrics_own_change_and_what_decided() {
        let m: MetricResult = serde_json::from_value(serde_json::json!({
            "metric": "p99", "verdict": "pass", "baseline": 151.6, "current": 158.8,
            "change": -0.005, "interval": [-0.02, 0.011], "pValue": 1.0, "threshold": 174.34,
            "samples": {"baseline": 5000, "candidate": 5000}, "method": "hodges_lehmann",
            "confirmed": false, "explanation": ""
        }))
        .unwrap();
        assert_eq!(own_change(&m), "+4.7 %");
        assert_eq!(
            decided_by(&m),
            "-0.5 % [-2.0 % … +1.1 %] (distribution shift)"
        );
        assert_eq!(
            m.p_value.map(perf_core::numeric::format_p_value).as_deref(),
            Some("1.00")
        );
        let rate: MetricResult = serde_json::from_value(serde_json::json!({
            "metric": "error_rate", "verdict": "pass", "baseline": 0.01, "current": 0.0125,
            "samples": {"baseline": 5000, "candidate": 5000}, "confirmed": false, "explanation": ""
        }))
        .unwrap();
        assert_eq!(own_change(&rate), "+0.25 pt");
    }
}
