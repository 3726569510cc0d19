//! Gate 5: capacity headroom at the forecast peak at least `headroom` (30 %) for every
//! service.
//!
//! The figure per service is its capacity report's headroom (`GET /v1/capacity/{service}`:
//! `1 − peak of the 95 % upper forecast / capacity` over the next 48 hours); the gate's is
//! the lowest. A service whose capacity is unknown (no resource samples, no declared
//! capacity) cannot pass: the gate then lacks data and says which services.

use super::error_budget::pct;
use super::{status_of, Evidence, Gate, GateStatus, Guardrails, Window};
use crate::forecast::capacity::CapacityReport;

/// The headroom gate over every service's capacity report.
pub fn gate(reports: &[CapacityReport], now: i64, g: &Guardrails) -> Gate {
    let name = "headroom";
    if reports.is_empty() {
        return Gate::insufficient(
            name,
            g.headroom,
            "ratio",
            "no service has traffic to forecast".into(),
        );
    }
    let mut evidence = Vec::new();
    let mut unknown = Vec::new();
    let mut horizon_h: f64 = 0.0;
    for r in reports {
        horizon_h = horizon_h.max(r.horizon_hours);
        let (Some(h), Some(cap)) = (r.headroom, r.capacity_rps) else {
            unknown.push(r.service.clone());
            continue;
        };
        evidence.push(Evidence {
            subject: r.service.clone(),
            actual: Some(h),
            threshold: Some(g.headroom),
            requests: None,
            pass: h >= g.headroom,
            detail: format!(
                "headroom {} at the forecast peak: {:.1} rps (95 % upper {:.1}) against a capacity of {cap:.1} rps over {} nodes; {:.1} rps now",
                pct(h),
                r.peak_forecast_rps,
                r.peak_upper_rps,
                r.nodes,
                r.current_rps
            ),
        });
    }
    evidence.sort_by(|a, b| {
        a.actual
            .unwrap_or(0.0)
            .total_cmp(&b.actual.unwrap_or(0.0))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    let mut status = status_of(&evidence);
    if status == GateStatus::Pass && !unknown.is_empty() {
        status = GateStatus::InsufficientData;
    }
    let worst = evidence.first().cloned();
    let reason = match status {
        GateStatus::Fail => {
            let low: Vec<String> = evidence
                .iter()
                .filter(|e| !e.pass)
                .map(|e| format!("{} at {}", e.subject, pct(e.actual.unwrap_or(0.0))))
                .collect();
            format!("headroom under {}: {}", pct(g.headroom), low.join("; "))
        }
        GateStatus::InsufficientData => format!(
            "capacity unknown for {}: nodes report resources (POST /v1/resources with capacityRps or cpu)",
            unknown.join(", ")
        ),
        GateStatus::Pass => format!(
            "every service keeps at least {} headroom at its forecast peak (lowest: {} at {})",
            pct(g.headroom),
            worst.as_ref().map_or("", |e| e.subject.as_str()),
            pct(worst.as_ref().and_then(|e| e.actual).unwrap_or(0.0))
        ),
    };
    for s in unknown {
        evidence.push(Evidence {
            subject: s,
            actual: None,
            threshold: Some(g.headroom),
            requests: None,
            pass: true,
            detail: "capacity unknown".into(),
        });
    }
    Gate {
        name: name.to_string(),
        status,
        actual: worst.and_then(|e| e.actual),
        threshold: g.headroom,
        unit: "ratio".into(),
        window: Some(Window {
            from: now,
            to: now + (horizon_h * 3_600_000.0) as i64,
            description: format!("the next {horizon_h:.0} hours (forecast peak)"),
        }),
        reason,
        evidence,
    }
}
