//! The deployment gate: every metric of every operation measured, the whole family of tests
//! corrected together (Holm by default), a verdict per metric and one recommendation.
//!
//! A metric **regressed** when both hold: its estimate is past the threshold, and the change
//! is significant after the correction. It is **inconclusive** when the estimate (or, for a
//! latency quantile, its own ratio) is past the threshold without significance — the gate
//! then asks for `manual_review` instead of guessing. `insufficient_data` when a side has
//! too few requests for the metric (p99 needs ten requests beyond it on each side); a gate
//! never passes on no data. **Improved** when significantly better. Severity grows with how
//! far past the threshold the estimate is, in units of the allowed change: under ½ low,
//! under 1 moderate, under 2 high, beyond that critical.
//!
//! With a [`SequentialState`] (canary analysis, evaluated again and again) the p-values are
//! the always-valid mSPRT ones of [`super::sequential`] instead of fixed-sample ones.

use super::config::GateConfig;
use super::metric::{measure_operation, Measured, Method, Metric};
use super::multiple;
use super::sample::OperationSample;
use super::sequential::SequentialState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Verdict of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = GateVerdict))]
pub enum Verdict {
    /// Within the threshold (or not significantly past it and the estimate under it).
    Pass,
    /// Past the threshold and significant.
    Regressed,
    /// Significantly better.
    Improved,
    /// Past the threshold, not significant: needs a human or more data.
    Inconclusive,
    /// Too few requests to judge.
    InsufficientData,
}

/// How bad a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = GateSeverity))]
pub enum Severity {
    /// Less than half the allowed change past the threshold.
    Low,
    /// Less than the allowed change past it.
    Moderate,
    /// Less than twice.
    High,
    /// More.
    Critical,
}

/// The gate's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Recommendation {
    /// Deploy.
    Proceed,
    /// A metric is past its threshold without significance: a human decides.
    ManualReview,
    /// A significant regression past a threshold.
    BlockDeployment,
    /// Not enough data to decide.
    InsufficientData,
}

impl Recommendation {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::Proceed => "proceed",
            Recommendation::ManualReview => "manual_review",
            Recommendation::BlockDeployment => "block_deployment",
            Recommendation::InsufficientData => "insufficient_data",
        }
    }
}

/// Requests per side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Samples {
    /// Baseline.
    pub baseline: u64,
    /// Candidate.
    pub candidate: u64,
}

/// One metric of one operation, with everything the verdict came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricResult {
    /// Metric.
    pub metric: Metric,
    /// Verdict.
    pub verdict: Verdict,
    /// Baseline value (ms for latency, fraction for rates, currency for cost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// Candidate value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<f64>,
    /// Estimated change: relative (0.12 = +12 %) for latency and cost, absolute difference
    /// for rates (candidate − baseline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<f64>,
    /// Interval of the change at the configured confidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    /// P-value of "worse" after the family correction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// P-value before the correction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value_raw: Option<f64>,
    /// The value the candidate may reach (ms, rate or cost); for the cache hit rate the
    /// floor it must stay above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The allowed change in the unit of `change`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_change: Option<f64>,
    /// Requests per side.
    pub samples: Samples,
    /// Estimation method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// For a regression: the whole interval is past the threshold.
    pub confirmed: bool,
    /// For a regression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Mann–Whitney probability that a candidate request is slower than a baseline one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability_slower: Option<f64>,
    /// One sentence explaining the verdict.
    pub explanation: String,
}

/// How an operation appears on the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OperationStatus {
    /// On both sides.
    Compared,
    /// Only in the baseline: the candidate did not exercise it.
    MissingInCandidate,
    /// Only in the candidate: nothing to compare with.
    NewInCandidate,
}

impl OperationStatus {
    /// In words, for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationStatus::Compared => "compared",
            OperationStatus::MissingInCandidate => "missing in the candidate",
            OperationStatus::NewInCandidate => "new in the candidate",
        }
    }
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperationResult {
    /// Operation.
    pub operation: String,
    /// Presence.
    pub status: OperationStatus,
    /// Requests per side.
    pub samples: Samples,
    /// Share of the larger side's traffic.
    pub traffic_share: f64,
    /// Metrics.
    pub metrics: Vec<MetricResult>,
}

/// A violation in the shape of docs/ARCHITECTURE.md §6, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Violation {
    /// e.g. `p99_latency_degradation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Operation.
    pub operation: String,
    /// Candidate value.
    pub current: f64,
    /// Baseline value.
    pub baseline: f64,
    /// The value the candidate may reach (floor for cache hit rate).
    pub threshold: f64,
    /// Severity.
    pub severity: Severity,
    /// Estimated change.
    pub change: f64,
    /// Its interval.
    pub interval: [f64; 2],
    /// Corrected p-value.
    pub p_value: f64,
    /// The whole interval is past the threshold.
    pub confirmed: bool,
}

/// Everything a gate evaluation answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateOutcome {
    /// `recommendation == proceed`.
    pub passed: bool,
    /// The decision.
    pub recommendation: Recommendation,
    /// Significant regressions past their thresholds.
    pub violations: Vec<Violation>,
    /// Confidence used.
    pub confidence: f64,
    /// Correction used.
    pub correction: multiple::Correction,
    /// Tests in the corrected family.
    pub tests: usize,
    /// Whether p-values are always-valid sequential ones.
    pub sequential: bool,
    /// Per operation.
    pub operations: Vec<OperationResult>,
    /// Why, in one line.
    pub summary: String,
}

/// Compares two sets of operations. `sequential` switches to always-valid p-values and
/// records this look in the state.
pub fn evaluate(
    baseline: &BTreeMap<String, OperationSample>,
    candidate: &BTreeMap<String, OperationSample>,
    cfg: &GateConfig,
    mut sequential: Option<&mut SequentialState>,
) -> GateOutcome {
    let total_b: u64 = baseline.values().map(|s| s.requests).sum();
    let total_c: u64 = candidate.values().map(|s| s.requests).sum();
    let share = |b: u64, c: u64| {
        let sb = if total_b > 0 {
            b as f64 / total_b as f64
        } else {
            0.0
        };
        let sc = if total_c > 0 {
            c as f64 / total_c as f64
        } else {
            0.0
        };
        sb.max(sc)
    };
    let names: std::collections::BTreeSet<&String> =
        baseline.keys().chain(candidate.keys()).collect();
    let empty = OperationSample::default();

    // Measure everything first; correct over the whole family; then judge.
    struct Pending {
        op: usize,
        metric: Metric,
        measured: Option<Measured>,
        enough: bool,
    }
    let mut operations = Vec::new();
    let mut pending = Vec::new();
    for name in names {
        let (b, c) = (baseline.get(name), candidate.get(name));
        let samples = Samples {
            baseline: b.map_or(0, |s| s.requests),
            candidate: c.map_or(0, |s| s.requests),
        };
        let status = match (b, c) {
            (Some(_), Some(_)) => OperationStatus::Compared,
            (Some(_), None) => OperationStatus::MissingInCandidate,
            _ => OperationStatus::NewInCandidate,
        };
        let idx = operations.len();
        operations.push(OperationResult {
            operation: name.clone(),
            status,
            samples,
            traffic_share: share(samples.baseline, samples.candidate),
            metrics: Vec::new(),
        });
        if status == OperationStatus::Compared {
            let (b, c) = (b.unwrap_or(&empty), c.unwrap_or(&empty));
            for (metric, measured, enough) in measure_operation(b, c, cfg) {
                pending.push(Pending {
                    op: idx,
                    metric,
                    measured,
                    enough,
                });
            }
        }
    }

    let mut raw_worse = Vec::new();
    let mut raw_better = Vec::new();
    for p in &pending {
        if let Some(m) = &p.measured {
            let worse = match sequential.as_deref_mut() {
                Some(state) => {
                    let key = format!("{}/{}", operations[p.op].operation, p.metric.as_str());
                    state.update(&key, m.bad, m.se * m.se, m.allowed.max(0.01))
                }
                None => m.p_worse,
            };
            raw_worse.push(worse);
            raw_better.push(m.p_better);
        }
    }
    if let Some(state) = sequential.as_deref_mut() {
        state.looks += 1;
    }
    let adj_worse = multiple::adjust(&raw_worse, cfg.correction);
    let adj_better = multiple::adjust(&raw_better, cfg.correction);
    let alpha = cfg.alpha();

    let mut violations = Vec::new();
    let mut k = 0;
    for p in pending {
        let op = &mut operations[p.op];
        let samples = op.samples;
        let result = match p.measured {
            None => MetricResult {
                metric: p.metric,
                verdict: Verdict::InsufficientData,
                baseline: None,
                current: None,
                change: None,
                interval: None,
                p_value: None,
                p_value_raw: None,
                threshold: None,
                allowed_change: None,
                samples,
                method: None,
                confirmed: false,
                severity: None,
                probability_slower: None,
                explanation: insufficient_reason(p.metric, p.enough, samples, cfg),
            },
            Some(m) => {
                let (pw, pb, raw) = (adj_worse[k], adj_better[k], raw_worse[k]);
                k += 1;
                let r = judge(&m, pw, pb, raw, alpha, samples);
                if r.verdict == Verdict::Regressed {
                    violations.push(Violation {
                        kind: p.metric.violation_type().to_string(),
                        operation: op.operation.clone(),
                        current: m.current,
                        baseline: m.baseline,
                        threshold: r.threshold.unwrap_or(f64::NAN),
                        severity: r.severity.unwrap_or(Severity::Low),
                        change: r.change.unwrap_or(0.0),
                        interval: r.interval.unwrap_or([0.0, 0.0]),
                        p_value: pw,
                        confirmed: r.confirmed,
                    });
                }
                r
            }
        };
        op.metrics.push(result);
    }
    violations.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.p_value.total_cmp(&b.p_value))
    });

    let recommendation = recommend(&operations, &violations, total_b, total_c, cfg);
    let summary = summarize(recommendation, &violations, &operations, total_b, total_c);
    GateOutcome {
        passed: recommendation == Recommendation::Proceed,
        recommendation,
        violations,
        confidence: cfg.confidence,
        correction: cfg.correction,
        tests: raw_worse.len(),
        sequential: sequential.is_some(),
        operations,
        summary,
    }
}

fn insufficient_reason(metric: Metric, enough: bool, s: Samples, cfg: &GateConfig) -> String {
    if !enough {
        let need = match metric.quantile() {
            Some(p) => ((super::quantile::MIN_TAIL_COUNT / (1.0 - p).min(p)).ceil() as u64)
                .max(cfg.min_requests),
            None => cfg.min_requests,
        };
        format!(
            "{}: {} baseline and {} candidate requests; at least {} per side are needed",
            metric.as_str(),
            s.baseline,
            s.candidate,
            need
        )
    } else {
        format!("{}: no usable values on one side", metric.as_str())
    }
}

/// Turns a measured change (oriented worse-is-positive) into natural units.
fn to_change(metric: Metric, bad: f64) -> f64 {
    match metric {
        Metric::CacheHitRate => -bad,
        Metric::ErrorRate => bad,
        _ => bad.exp_m1(),
    }
}

fn judge(
    m: &Measured,
    p_worse: f64,
    p_better: f64,
    p_raw: f64,
    alpha: f64,
    samples: Samples,
) -> MetricResult {
    let beyond = m.bad > m.allowed;
    let significant = p_worse < alpha;
    let verdict = if beyond && significant {
        Verdict::Regressed
    } else if beyond || m.own_ratio_beyond {
        Verdict::Inconclusive
    } else if m.bad < 0.0 && p_better < alpha {
        Verdict::Improved
    } else {
        Verdict::Pass
    };
    let confirmed = verdict == Verdict::Regressed && m.bad_interval.0 > m.allowed;
    let severity = (verdict == Verdict::Regressed).then(|| {
        let excess = if m.allowed > 0.0 {
            (m.bad - m.allowed) / m.allowed
        } else {
            f64::INFINITY
        };
        match excess {
            e if e < 0.5 => Severity::Low,
            e if e < 1.0 => Severity::Moderate,
            e if e < 2.0 => Severity::High,
            _ => Severity::Critical,
        }
    });
    let (threshold, allowed_change) = match m.metric {
        Metric::CacheHitRate => (m.baseline - m.allowed, -m.allowed),
        Metric::ErrorRate => (m.baseline + m.allowed, m.allowed),
        _ => (m.baseline * m.allowed.exp(), m.allowed.exp_m1()),
    };
    let change = to_change(m.metric, m.bad);
    let (lo, hi) = (
        to_change(m.metric, m.bad_interval.0),
        to_change(m.metric, m.bad_interval.1),
    );
    let interval = [lo.min(hi), lo.max(hi)];
    let fmt_change = |x: f64| {
        if m.metric.is_relative() {
            format!("{:+.1} %", x * 100.0)
        } else {
            format!("{:+.2} points", x * 100.0)
        }
    };
    let what = match verdict {
        Verdict::Regressed if confirmed => {
            "regressed past the threshold (confirmed by the whole interval)"
        }
        Verdict::Regressed => "regressed: past the threshold and significant",
        Verdict::Inconclusive if beyond => {
            "past the threshold but not significant: manual review or more data"
        }
        Verdict::Inconclusive => {
            "its own ratio is past the threshold but too noisy to tell: manual review or more data"
        }
        Verdict::Improved => "improved significantly",
        Verdict::Pass if p_worse < alpha => "changed significantly but stays within the threshold",
        _ => "within the threshold",
    };
    let explanation = format!(
        "{}: {} ({} … {}), allowed {}, p = {:.2e}; {}. {}",
        m.metric.as_str(),
        fmt_change(change),
        fmt_change(interval[0]),
        fmt_change(interval[1]),
        fmt_change(allowed_change),
        p_worse,
        what,
        m.basis
    );
    MetricResult {
        metric: m.metric,
        verdict,
        baseline: Some(m.baseline),
        current: Some(m.current),
        change: Some(change),
        interval: Some(interval),
        p_value: Some(p_worse),
        p_value_raw: Some(p_raw),
        threshold: Some(threshold),
        allowed_change: Some(allowed_change),
        samples,
        method: Some(m.method),
        confirmed,
        severity,
        probability_slower: m.mann_whitney.map(|mw| mw.probability_slower),
        explanation,
    }
}

fn recommend(
    ops: &[OperationResult],
    violations: &[Violation],
    total_b: u64,
    total_c: u64,
    cfg: &GateConfig,
) -> Recommendation {
    if total_b == 0 || total_c == 0 {
        return Recommendation::InsufficientData;
    }
    if !violations.is_empty() {
        return Recommendation::BlockDeployment;
    }
    let verdicts = || {
        ops.iter()
            .flat_map(|o| o.metrics.iter().map(move |m| (o, m)))
    };
    if verdicts().any(|(_, m)| m.verdict == Verdict::Inconclusive) {
        return Recommendation::ManualReview;
    }
    let compared = ops.iter().any(|o| o.status == OperationStatus::Compared);
    let lacking = verdicts().any(|(o, m)| {
        m.verdict == Verdict::InsufficientData && o.traffic_share >= cfg.min_traffic_share
    });
    if !compared || lacking {
        return Recommendation::InsufficientData;
    }
    Recommendation::Proceed
}

fn summarize(
    rec: Recommendation,
    violations: &[Violation],
    ops: &[OperationResult],
    total_b: u64,
    total_c: u64,
) -> String {
    let count = |v: Verdict| {
        ops.iter()
            .flat_map(|o| &o.metrics)
            .filter(|m| m.verdict == v)
            .count()
    };
    match rec {
        Recommendation::BlockDeployment => {
            let first = &violations[0];
            format!(
                "{} violation(s); worst: {} on {} ({:+.1} %, {} severity)",
                violations.len(),
                first.kind,
                first.operation,
                first.change * 100.0,
                match first.severity {
                    Severity::Low => "low",
                    Severity::Moderate => "moderate",
                    Severity::High => "high",
                    Severity::Critical => "critical",
                }
            )
        }
        Recommendation::ManualReview => format!(
            "{} metric(s) past their thresholds without significance; no confirmed violation",
            count(Verdict::Inconclusive)
        ),
        Recommendation::InsufficientData if total_b == 0 || total_c == 0 => {
            format!("no data on one side ({total_b} baseline and {total_c} candidate requests)")
        }
        Recommendation::InsufficientData => format!(
            "{} metric(s) lack data ({total_b} baseline and {total_c} candidate requests)",
            count(Verdict::InsufficientData)
        ),
        Recommendation::Proceed => format!(
            "{} metric(s) within thresholds, {} improved",
            count(Verdict::Pass) + count(Verdict::Improved),
            count(Verdict::Improved)
        ),
    }
}
