//! Regressions (`GET /v1/regressions`): every service that has a baseline, its current window against its
//! most recent baseline per operation (the gate's verdicts), and for every operation the
//! day-by-day trend of p99 (Theil–Sen slope, Mann–Kendall significance: "p99 rising
//! 3.1 %/day, significant"). The regression stage of the deployment cycle raises an `EcosystemPerfRegression` alert
//! when a service's current window blocks against its baseline, and resolves it when it no
//! longer does.

use super::baselines;
use super::decisions::Memory;
use super::deploy::live_samples;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::{AlertKind, Effect, Notice};
use perf_core::compare::baseline::Selector;
use perf_core::compare::{evaluate, trend, GateOutcome, Recommendation};
use serde::Serialize;
use std::collections::BTreeMap;

const DAY: i64 = 86_400_000;
/// Requests a day needs to give a p99 point of the trend.
const MIN_DAILY_REQUESTS: u64 = 100;
/// Level at which a trend is called significant.
const TREND_ALPHA: f64 = 0.05;

/// Current window against a baseline.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct Regression {
    /// Service.
    pub service: String,
    /// Baseline compared with.
    pub baseline_id: String,
    /// Its version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_version: Option<String>,
    /// Current window.
    pub window: String,
    /// Verdicts.
    #[serde(flatten)]
    pub outcome: GateOutcome,
}

/// A p99 trend over days.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct TrendReport {
    /// Service.
    pub service: String,
    /// Operation.
    pub operation: String,
    /// Always `p99`.
    pub metric: &'static str,
    /// Days with enough requests.
    pub days: usize,
    /// Relative change per day (0.031 = +3.1 %/day).
    pub change_per_day: f64,
    /// Mann–Kendall p-value.
    pub p_value: f64,
    /// `p_value < 0.05`.
    pub significant: bool,
    /// One line.
    pub message: String,
}

/// Current window against the latest baseline of each service (or one).
pub fn regressions(
    d: &Durable,
    service: Option<&str>,
    window: i64,
) -> Result<Vec<Regression>, ControlError> {
    let now = d.now();
    let mut out = Vec::new();
    let mut latest: BTreeMap<String, perf_core::compare::Baseline> = BTreeMap::new();
    for b in baselines::all(d)? {
        if service.is_some_and(|s| s != b.service) {
            continue;
        }
        let keep = latest
            .get(&b.service)
            .is_none_or(|old| old.created_at <= b.created_at);
        if keep {
            latest.insert(b.service.clone(), b);
        }
    }
    for (svc, b) in latest {
        let sel = Selector {
            service: Some(svc.clone()),
            operation: b.operation.clone(),
            version: None,
        };
        let current = live_samples(d, &sel, now - window, now + 1)?;
        let outcome = evaluate(&b.operations, &current, &d.config.gates, None);
        out.push(Regression {
            service: svc,
            baseline_id: b.id.clone(),
            baseline_version: b.version.clone(),
            window: perf_core::duration::format_duration(window),
            outcome,
        });
    }
    Ok(out)
}

/// p99 trends per operation over the last `days` days.
pub fn trends(
    d: &Durable,
    service: Option<&str>,
    days: usize,
) -> Result<Vec<TrendReport>, ControlError> {
    let now = d.now();
    let services: Vec<String> = d
        .engine()
        .services()
        .into_iter()
        .filter(|s| service.is_none_or(|w| w == s))
        .collect();
    let mut out = Vec::new();
    for svc in services {
        let mut points: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for k in 0..days as i64 {
            let (from, to) = (now - (k + 1) * DAY, now - k * DAY);
            let sel = Selector {
                service: Some(svc.clone()),
                ..Default::default()
            };
            for (op, s) in live_samples(d, &sel, from, to)? {
                if s.requests >= MIN_DAILY_REQUESTS {
                    if let Some(p99) = s.latency.quantile(0.99).filter(|v| *v > 0.0) {
                        points.entry(op).or_default().push((-(k as f64), p99.ln()));
                    }
                }
            }
        }
        for (op, pts) in points {
            let Some(t) = trend::fit(&pts) else {
                continue;
            };
            let change = t.slope.exp_m1();
            let significant = t.p_value < TREND_ALPHA;
            let direction = if !significant {
                "flat (no significant trend)"
            } else if change > 0.0 {
                "rising"
            } else {
                "falling"
            };
            out.push(TrendReport {
                message: format!(
                    "p99 {direction}: {:+.1} %/day over {} days (Mann–Kendall p = {:.3})",
                    change * 100.0,
                    t.points,
                    t.p_value
                ),
                service: svc.clone(),
                operation: op,
                metric: "p99",
                days: t.points,
                change_per_day: change,
                p_value: t.p_value,
                significant,
            });
        }
    }
    Ok(out)
}

/// Raises and resolves regression alerts, and keeps which services regressed (the
/// deployment cycle).
pub fn alert_cycle(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let current = regressions(d, None, 3_600_000)?;
    let mut decisions = m.decisions();
    let mut effects = Vec::new();
    for r in &current {
        let blocked = r.outcome.recommendation == Recommendation::BlockDeployment;
        if blocked {
            decisions.regressed.insert(r.service.clone());
        } else {
            decisions.regressed.remove(&r.service);
        }
        if !decisions
            .firing
            .set(AlertKind::Regression, &r.service, blocked)
        {
            continue;
        }
        effects.push(Effect::Alert(Notice {
            kind: AlertKind::Regression,
            subject: r.service.clone(),
            labels: vec![
                ("service", r.service.clone()),
                ("baseline", r.baseline_id.clone()),
                ("severity", "ticket".into()),
            ],
            summary: format!(
                "{} regressed against baseline {}: {}",
                r.service, r.baseline_id, r.outcome.summary
            ),
            description: r
                .outcome
                .violations
                .iter()
                .map(|v| format!("{} on {}: {:+.1} %", v.kind, v.operation, v.change * 100.0))
                .collect::<Vec<_>>()
                .join("; "),
            firing: blocked,
            since_ms: now,
            path: format!("/v1/regressions?service={}", r.service),
        }));
    }
    Ok(effects)
}
