//! Gate 1: p99 per request class within its budget over the steady state.
//!
//! Per class with requests in the window, the p99 of the whole 30 minutes **decides**, and
//! the worst 5-minute p99 inside them is shown beside it. The criterion is a p99 over the
//! steady state; a 5-minute p99 rests on a sixth of the requests, so its top percentile is
//! noisy (at 10 requests/s a 5-minute p99 is the 30th slowest of 3,000) and judging by the
//! worst of six would fail a service that meets its budget by chance alone. The worst five
//! minutes are evidence for the reviewer: a burst the whole window averages away shows there.
//!
//! Needs a view grouped by `[service, class]` (`service_class` by default). Every 5-minute
//! stretch of the window must have requests: a window reaching back before the traffic began
//! is not a steady state.

use super::{status_of, Evidence, Gate, GateStatus, Guardrails, Window};
use crate::model::RequestClass;
use crate::view::Dim;
use crate::Engine;

const FIVE_MINUTES: i64 = 5 * 60_000;
/// Services shown per class in the evidence.
const SERVICES_SHOWN: usize = 5;

/// The steady window, or why there is none.
pub type Steady = Result<Window, String>;

fn budget(g: &Guardrails, class: RequestClass) -> f64 {
    match class {
        RequestClass::Read => g.read_p99_ms,
        RequestClass::Write => g.write_p99_ms,
        RequestClass::ComplexWrite => g.complex_write_p99_ms,
    }
}

/// The latency gate over `steady`.
pub fn gate(engine: &Engine, steady: &Steady, g: &Guardrails) -> Gate {
    let name = "latency";
    let window = match steady {
        Ok(w) => w.clone(),
        Err(why) => return Gate::insufficient(name, g.read_p99_ms, "ms", why.clone()),
    };
    let Some(view) = engine
        .views()
        .iter()
        .find(|v| v.def.dims == [Dim::Service, Dim::Class])
    else {
        return Gate::insufficient(
            name,
            g.read_p99_ms,
            "ms",
            "no view groups by [service, class]: add one under `views` (the default has service_class)".into(),
        );
    };
    let view = view.def.name.clone();
    let mut evidence = Vec::new();
    let mut gaps = Vec::new();
    for class in [
        RequestClass::Read,
        RequestClass::Write,
        RequestClass::ComplexWrite,
    ] {
        let filter = [(Dim::Class, class.as_str())];
        let Ok(groups) = engine.group(&view, &filter, window.from, window.to) else {
            continue;
        };
        if groups.is_empty() {
            continue;
        }
        let mut all = crate::stats::Stats::default();
        for (_, s) in &groups {
            all.merge(s);
        }
        let mut worst5: Option<(i64, f64)> = None;
        let mut empty_stretches = 0;
        let mut start = window.from;
        while start < window.to {
            let end = (start + FIVE_MINUTES).min(window.to);
            let s = engine.query(&view, &filter, start, end).unwrap_or_default();
            match s.latency.quantile(0.99) {
                Some(p) if worst5.is_none_or(|(_, w)| p > w) => worst5 = Some((start, p)),
                Some(_) => {}
                None => empty_stretches += 1,
            }
            start = end;
        }
        if empty_stretches > 0 {
            gaps.push(format!(
                "{}: {empty_stretches} of the window's 5-minute stretches have no requests",
                class.as_str()
            ));
            continue;
        }
        let Some(p99) = all.latency.quantile(0.99) else {
            continue;
        };
        let limit = budget(g, class);
        let worst5_text = worst5.map_or(String::new(), |(at, p)| {
            format!(
                "; worst 5 minutes {p:.1} ms from {}",
                crate::time::format_rfc3339(at)
            )
        });
        let mut services: Vec<(String, f64, u64)> = groups
            .iter()
            .filter_map(|(key, s)| Some((key[0].clone(), s.latency.quantile(0.99)?, s.requests)))
            .collect();
        services.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let services_text: Vec<String> = services
            .iter()
            .take(SERVICES_SHOWN)
            .map(|(svc, p, n)| format!("{svc} {p:.1} ms ({n} requests)"))
            .collect();
        evidence.push(Evidence {
            subject: class.as_str().to_string(),
            actual: Some(p99),
            threshold: Some(limit),
            requests: Some(all.requests),
            pass: p99 <= limit,
            detail: format!(
                "p99 {p99:.1} ms over {} requests against {limit:.0} ms{worst5_text}; slowest services: {}",
                all.requests,
                services_text.join(", ")
            ),
        });
    }
    // Worst first: by p99 over its budget.
    evidence.sort_by(|a, b| {
        let r = |e: &Evidence| e.actual.unwrap_or(0.0) / e.threshold.unwrap_or(1.0);
        r(b).total_cmp(&r(a))
    });
    let mut status = status_of(&evidence);
    if status == GateStatus::Pass && !gaps.is_empty() {
        status = GateStatus::InsufficientData;
    }
    let worst = evidence.first();
    let reason = match status {
        GateStatus::InsufficientData if evidence.is_empty() && gaps.is_empty() => {
            "no requests in the steady window (the traffic began after it or stopped before it)"
                .to_string()
        }
        GateStatus::InsufficientData => {
            format!("not a steady state for every class: {}", gaps.join("; "))
        }
        GateStatus::Fail => {
            let failing: Vec<String> = evidence
                .iter()
                .filter(|e| !e.pass)
                .map(|e| {
                    format!(
                        "{} p99 {:.1} ms > {:.0} ms",
                        e.subject,
                        e.actual.unwrap_or(0.0),
                        e.threshold.unwrap_or(0.0)
                    )
                })
                .collect();
            failing.join("; ")
        }
        GateStatus::Pass => {
            let each: Vec<String> = evidence
                .iter()
                .map(|e| {
                    format!(
                        "{} p99 {:.1} ms ≤ {:.0} ms",
                        e.subject,
                        e.actual.unwrap_or(0.0),
                        e.threshold.unwrap_or(0.0)
                    )
                })
                .collect();
            each.join("; ")
        }
    };
    Gate {
        name: name.to_string(),
        status,
        actual: worst.and_then(|e| e.actual),
        threshold: worst.and_then(|e| e.threshold).unwrap_or(g.read_p99_ms),
        unit: "ms".into(),
        window: Some(window),
        reason,
        evidence,
    }
}
