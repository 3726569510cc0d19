//! Signals, correlations and the risk score of one caller of one service.
//!
//! "Recent" is the last two buckets (10 minutes by default); "history" the buckets before.
//! "Others" are the service's totals minus the caller's. The error, slow and cost signals are
//! judged only when the caller's recent counts are known within 20 % (Space-Saving bounds):
//! a caller near the bottom of a summary is left alone rather than guessed at.
//!
//! | signal | evidence | strength in [0, 1] |
//! |---|---|---|
//! | `error_burst` | Wilson 95 % lower bound of the caller's recent error rate minus the others' rate, when the bound is at least twice the others' rate (≥ 10 errors) | excess / 0.25 |
//! | `slow_request_concentration` | the same with requests over their p99 budget | excess / 0.25 |
//! | `cost_spike` | recent cost per request over the others', or the recent cost rate over its own history (≥ 15 minutes of it) at its upper bound (untracked buckets at their floor), the larger, when the caller carries ≥ 1 % of recent cost | (ratio − 2) / 8 |
//! | `anomaly_cluster` | share of the service's requests during anomaly incidents over its share outside them ("lift"), for incidents where it carried ≥ 2 % | (lift − 1) / 3 × min(1, incidents / 2) |
//! | `performance_regression` | the same over the buckets when the service's regression alert fired | (lift − 1) / 3 |
//!
//! `cost_performance_correlation`: Spearman's rank correlation between the caller's cost per
//! bucket and the service's p99 per bucket (≥ 6 buckets), with `costIncrease` = recent cost
//! rate / history rate − 1; it counts when ρ ≥ 0.5 and cost rose, with strength ρ × min(1,
//! costIncrease).
//!
//! **Score** = 100 × (1 − Π (1 − wᵢ·sᵢ)), weights error 0.6, slow 0.6, cost 0.5, anomaly 0.7,
//! regression 0.7, correlation 0.3 — non-decreasing in every signal, 0 without any, and one
//! strong signal alone reaches 50–70. **Levels**: low < 25 ≤ moderate < 50 ≤ high < 75 ≤
//! critical; a signal's severity uses the same cut points on 100 × strength. Everything is
//! computed over the last hour's buckets, so a score decays as the behaviour leaves them.

use super::evidence::{BucketCounts, CallerSeries, ServiceSeries};
use crate::compare::proportion::wilson;
use serde::Serialize;

const RECENT_BUCKETS: usize = 2;
const MIN_EVENTS: f64 = 10.0;

/// One signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskSignal {
    /// `error_burst`, `slow_request_concentration`, `cost_spike`, `anomaly_cluster`,
    /// `performance_regression`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `low`, `moderate`, `high`, `critical`.
    pub severity: &'static str,
    /// Events (errors, slow requests), buckets or incidents behind it.
    pub count: u64,
    /// In [0, 1].
    pub strength: f64,
    /// Service.
    pub service: String,
    /// The numbers behind it.
    pub evidence: serde_json::Value,
}

/// A correlation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Correlation {
    /// `cost_performance_correlation`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Recent cost rate over history − 1.
    pub cost_increase: f64,
    /// Spearman ρ between the caller's cost and the service's p99 per bucket.
    pub rank_correlation: f64,
    /// Service.
    pub service: String,
}

impl EntityRisk {
    /// Heap bytes: its id, signals with their evidence, correlations and evidence.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{json, string, vec};
        string(&self.entity_id)
            + vec(&self.signals)
            + self
                .signals
                .iter()
                .map(|s| string(&s.service) + json(&s.evidence))
                .sum::<usize>()
            + vec(&self.correlations)
            + self
                .correlations
                .iter()
                .map(|c| string(&c.service))
                .sum::<usize>()
            + vec(&self.evidence)
            + self
                .evidence
                .iter()
                .map(|e| string(&e.service))
                .sum::<usize>()
    }
}

/// The risk of one caller (of one service, or merged over services).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntityRisk {
    /// The caller.
    pub entity_id: String,
    /// `low`, `moderate`, `high`, `critical`.
    pub risk_level: &'static str,
    /// 0–100.
    pub risk_score: f64,
    /// Signals, strongest first.
    pub signals: Vec<RiskSignal>,
    /// Correlations.
    pub correlations: Vec<Correlation>,
    /// Per service: requests, rate change against its own history, error rate, slow share,
    /// cost per request and total cost over the hour, and the Space-Saving error bound.
    pub evidence: Vec<CallerEvidence>,
}

/// The numbers behind one caller's risk on one service, over the evidence span. A struct,
/// not a JSON object: every tracked caller keeps one per service between evaluations (a
/// JSON object of these eight numbers took ~700 B, this takes 88). Fields in the order the
/// JSON object had them (alphabetical), so the answer reads the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallerEvidence {
    /// Cost per request.
    pub cost_per_request: f64,
    /// The largest Space-Saving overcount of the caller's counts.
    pub count_error_bound: f64,
    /// Failed share of its requests.
    pub error_rate: f64,
    /// Recent request rate over its own history's, − 1 (0 without history).
    pub request_rate_change: f64,
    /// Requests.
    pub requests: f64,
    /// Service.
    pub service: String,
    /// Share of its requests over the class's slow threshold.
    pub slow_share: f64,
    /// Total cost.
    pub total_cost: f64,
}

/// The level of a 0–100 score.
pub fn risk_level(score: f64) -> &'static str {
    if score >= 75.0 {
        "critical"
    } else if score >= 50.0 {
        "high"
    } else if score >= 25.0 {
        "moderate"
    } else {
        "low"
    }
}

fn sum(b: &[BucketCounts]) -> BucketCounts {
    b.iter().fold(BucketCounts::default(), |a, x| BucketCounts {
        requests: a.requests + x.requests,
        errors: a.errors + x.errors,
        cost: a.cost + x.cost,
        slow: a.slow + x.slow,
    })
}

fn minus(a: BucketCounts, b: BucketCounts) -> BucketCounts {
    BucketCounts {
        requests: (a.requests - b.requests).max(0.0),
        errors: (a.errors - b.errors).max(0.0),
        cost: (a.cost - b.cost).max(0.0),
        slow: (a.slow - b.slow).max(0.0),
    }
}

/// Excess of a caller's rate (Wilson lower bound) over the others'.
fn excess(bad: f64, total: f64, others_bad: f64, others_total: f64) -> f64 {
    if bad < MIN_EVENTS || total <= 0.0 {
        return 0.0;
    }
    let lower = wilson(
        bad.round() as u64,
        total.round().max(bad.round()) as u64,
        1.96,
    )
    .0;
    let others = if others_total > 0.0 {
        others_bad / others_total
    } else {
        0.0
    };
    // A concentration: at least twice the others' rate, not a service-wide condition that the
    // caller merely shares.
    if lower < 2.0 * others {
        return 0.0;
    }
    (lower - others).max(0.0)
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in &idx[i..=j] {
            r[*k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation (Pearson on average ranks); `None` when either side is flat.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let sxy: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Share of the service's requests the caller carried over `buckets`.
fn share(caller: &CallerSeries, svc: &ServiceSeries, buckets: &[usize]) -> f64 {
    let (c, t) = buckets.iter().fold((0.0, 0.0), |(c, t), &i| {
        (c + caller.buckets[i].requests, t + svc.totals[i].requests)
    });
    if t > 0.0 {
        c / t
    } else {
        0.0
    }
}

/// Lift of the caller's share inside `inside` buckets over its share in the rest.
fn lift(caller: &CallerSeries, svc: &ServiceSeries, inside: &[usize]) -> Option<(f64, f64)> {
    let outside: Vec<usize> = (0..svc.starts.len())
        .filter(|i| !inside.contains(i))
        .collect();
    let (during, before) = (share(caller, svc, inside), share(caller, svc, &outside));
    if during < 0.02 || outside.is_empty() {
        return None;
    }
    Some((during, during / before.max(1e-3)))
}

fn severity(strength: f64) -> &'static str {
    risk_level(strength * 100.0)
}

/// Evaluates one caller of one service.
pub fn evaluate_caller(svc: &ServiceSeries, caller: &CallerSeries) -> EntityRisk {
    let n = svc.starts.len();
    let split = n.saturating_sub(RECENT_BUCKETS);
    let recent_c = sum(&caller.buckets[split..]);
    // Rates against the caller divide a lower bound by an upper bound, so they are lower
    // bounds too (a ratio of two lower bounds would not be).
    let recent_up = if caller.upper.len() == caller.buckets.len() {
        sum(&caller.upper[split..])
    } else {
        recent_c
    };
    let recent_requests_up = recent_up.requests;
    // A rate is judged only when both of its counts are known within 20 % (a caller near the
    // bottom of a summary has wide bounds and is left alone rather than guessed at).
    let certain = |lower: f64, upper: f64| upper > 0.0 && upper - lower <= 0.2 * upper;
    let requests_known = certain(recent_c.requests, recent_up.requests);
    let recent_s = sum(&svc.totals[split..]);
    let others = minus(recent_s, recent_c);
    let history_c = sum(&caller.buckets[..split]);
    // Its own history at the most it can have been (untracked buckets at their floor).
    let history_up = if caller.upper.len() == caller.buckets.len() {
        sum(&caller.upper[..split])
    } else {
        history_c
    };
    let recent_span = (n - split).max(1) as f64;
    let history_span = split.max(1) as f64;
    let mut signals = Vec::new();
    // The evidence is built only for a signal that is kept (most callers have none).
    let mut push = |kind, strength: f64, count: f64, evidence: &dyn Fn() -> serde_json::Value| {
        let strength = strength.clamp(0.0, 1.0);
        if strength > 0.0 {
            signals.push(RiskSignal {
                kind,
                severity: severity(strength),
                count: count.round().max(0.0) as u64,
                strength,
                service: svc.service.clone(),
                evidence: evidence(),
            });
        }
    };
    let e = if requests_known && certain(recent_c.errors, recent_up.errors) {
        excess(
            recent_c.errors,
            recent_requests_up,
            others.errors,
            others.requests,
        )
    } else {
        0.0
    };
    push(
        "error_burst",
        e / 0.25,
        recent_c.errors,
        &|| serde_json::json!({"errors": recent_c.errors, "requests": recent_requests_up, "othersErrorRate": others.errors / others.requests.max(1.0), "excess": e}),
    );
    let s = if requests_known && certain(recent_c.slow, recent_up.slow) {
        excess(
            recent_c.slow,
            recent_requests_up,
            others.slow,
            others.requests,
        )
    } else {
        0.0
    };
    push(
        "slow_request_concentration",
        s / 0.25,
        recent_c.slow,
        &|| serde_json::json!({"slow": recent_c.slow, "requests": recent_requests_up, "othersSlowShare": others.slow / others.requests.max(1.0), "excess": s}),
    );
    let cost_share = if recent_s.cost > 0.0 {
        recent_c.cost / recent_s.cost
    } else {
        0.0
    };
    let cpr = |b: BucketCounts| (b.requests > 0.0).then(|| b.cost / b.requests);
    let caller_cpr = BucketCounts {
        requests: recent_requests_up,
        ..recent_c
    };
    let vs_others = match (cpr(caller_cpr), cpr(others)) {
        (Some(a), Some(b)) if b > 0.0 => a / b,
        _ => 0.0,
    };
    // Its own history needs 15 minutes (three buckets) to compare with.
    let vs_history = if split >= 3 && history_up.cost > 0.0 {
        (recent_c.cost / recent_span) / (history_up.cost / history_span)
    } else {
        0.0
    };
    if cost_share >= 0.01
        && recent_c.requests >= MIN_EVENTS
        && requests_known
        && certain(recent_c.cost, recent_up.cost)
    {
        let ratio = vs_others.max(vs_history);
        push(
            "cost_spike",
            (ratio - 2.0) / 8.0,
            recent_c.requests,
            &|| serde_json::json!({"costShare": cost_share, "costPerRequestVsOthers": vs_others, "costRateVsHistory": vs_history}),
        );
    }
    let involved: Vec<(f64, f64)> = svc
        .incidents
        .iter()
        .filter_map(|b| lift(caller, svc, b))
        .filter(|(_, l)| *l >= 2.0)
        .collect();
    if let Some(best) = involved.iter().map(|x| x.1).reduce(f64::max) {
        push(
            "anomaly_cluster",
            (best - 1.0) / 3.0 * (involved.len() as f64 / 2.0).min(1.0),
            involved.len() as f64,
            &|| serde_json::json!({"incidents": involved.len(), "bestLift": best, "shareDuring": involved.iter().map(|x| x.0).reduce(f64::max)}),
        );
    }
    if !svc.regression.is_empty() {
        if let Some((during, l)) = lift(caller, svc, &svc.regression).filter(|x| x.1 >= 2.0) {
            push(
                "performance_regression",
                (l - 1.0) / 3.0,
                svc.regression.len() as f64,
                &|| serde_json::json!({"shareDuring": during, "lift": l}),
            );
        }
    }
    let mut correlations = Vec::new();
    let pts: Vec<(f64, f64)> = (0..n)
        .filter_map(|i| svc.p99[i].map(|p| (caller.buckets[i].cost, p)))
        .collect();
    let cost_increase = if vs_history > 0.0 {
        vs_history - 1.0
    } else {
        0.0
    };
    let mut corr_strength = 0.0;
    if pts.len() >= 6 {
        let (x, y): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
        if let Some(rho) = spearman(&x, &y) {
            if rho >= 0.5 && cost_increase > 0.0 {
                corr_strength = rho * cost_increase.min(1.0);
                correlations.push(Correlation {
                    kind: "cost_performance_correlation",
                    cost_increase,
                    rank_correlation: rho,
                    service: svc.service.clone(),
                });
            }
        }
    }
    signals.sort_by(|a, b| b.strength.total_cmp(&a.strength));
    let weight = |k: &str| match k {
        "error_burst" | "slow_request_concentration" => 0.6,
        "cost_spike" => 0.5,
        _ => 0.7,
    };
    let keep = signals
        .iter()
        .map(|s| 1.0 - weight(s.kind) * s.strength)
        .product::<f64>()
        * (1.0 - 0.3 * corr_strength);
    let risk_score = (100.0 * (1.0 - keep)).clamp(0.0, 100.0);
    let all = sum(&caller.buckets);
    let evidence = CallerEvidence {
        service: svc.service.clone(),
        requests: all.requests,
        request_rate_change: if history_up.requests > 0.0 {
            (recent_c.requests / recent_span) / (history_up.requests / history_span) - 1.0
        } else {
            0.0
        },
        error_rate: all.errors / all.requests.max(1.0),
        slow_share: all.slow / all.requests.max(1.0),
        cost_per_request: all.cost / all.requests.max(1.0),
        total_cost: all.cost,
        count_error_bound: caller.max_error,
    };
    EntityRisk {
        entity_id: caller.caller.clone(),
        risk_level: risk_level(risk_score),
        risk_score,
        signals,
        correlations,
        evidence: vec![evidence],
    }
}
