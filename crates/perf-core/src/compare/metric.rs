//! One test of one metric of one operation: the estimate of the change with its standard
//! error, interval and raw p-values, before the family correction turns them into verdicts.
//!
//! Latency quantiles combine two views of the same data. The Hodges–Lehmann shift (median of
//! all pairwise log-ratios, with the Moses interval and the Mann–Whitney p-value) measures
//! how the whole distribution moved; the order-statistic ratio of the quantile itself
//! ([`super::quantile`]) measures that quantile alone. When the quantile moved significantly
//! differently from the body (a tail change, a slow mode, a variance increase: what a rank
//! test alone misses, kayenta #780) the quantile's own ratio is the estimate; otherwise the
//! quantile moved with the body and the far more precise shift is the estimate. A quantile
//! estimate that crosses its threshold only in its own noisy ratio is reported as
//! `inconclusive` (manual review), never silently passed.

use super::config::GateConfig;
use super::histogram::{Histogram, PairDifferences};
use super::mann_whitney::{self, MannWhitney};
use super::normal;
use super::proportion;
use super::quantile;
use super::sample::OperationSample;
use serde::{Deserialize, Serialize};

/// Level at which a quantile counts as having moved differently from the body. Looser than
/// the gate's α on purpose: choosing the quantile's own (wider) ratio costs only precision,
/// while wrongly choosing the body shift would hide a tail regression.
const SELECT_ALPHA: f64 = 0.05;

/// The metrics a comparison judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Metric {
    /// Median latency.
    P50,
    /// 95th percentile latency.
    P95,
    /// 99th percentile latency.
    P99,
    /// Failed share of requests.
    ErrorRate,
    /// Hits over lookups.
    CacheHitRate,
    /// Mean cost per request.
    CostPerRequest,
}

impl Metric {
    /// All metrics in report order.
    pub const ALL: [Metric; 6] = [
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::ErrorRate,
        Metric::CacheHitRate,
        Metric::CostPerRequest,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::ErrorRate => "error_rate",
            Metric::CacheHitRate => "cache_hit_rate",
            Metric::CostPerRequest => "cost_per_request",
        }
    }

    /// The violation type it raises.
    pub fn violation_type(self) -> &'static str {
        match self {
            Metric::P50 => "p50_latency_degradation",
            Metric::P95 => "p95_latency_degradation",
            Metric::P99 => "p99_latency_degradation",
            Metric::ErrorRate => "error_rate_increase",
            Metric::CacheHitRate => "cache_hit_rate_drop",
            Metric::CostPerRequest => "cost_per_request_increase",
        }
    }

    /// Quantile level of a latency metric.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Metric::P50 => Some(0.5),
            Metric::P95 => Some(0.95),
            Metric::P99 => Some(0.99),
            _ => None,
        }
    }

    /// Whether its change is relative (ratio − 1) rather than an absolute difference.
    pub fn is_relative(self) -> bool {
        !matches!(self, Metric::ErrorRate | Metric::CacheHitRate)
    }
}

/// How the estimate was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Method {
    /// The whole distribution's shift (Hodges–Lehmann, Moses interval, Mann–Whitney test).
    HodgesLehmann,
    /// The quantile's own ratio (order-statistic standard error).
    OrderStatistics,
    /// Difference of proportions (Newcombe interval, pooled z test).
    Proportions,
    /// Ratio of means (delta-method standard error, z test).
    RatioOfMeans,
}

/// A metric's change, oriented so that positive is worse.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Metric.
    pub metric: Metric,
    /// Baseline value (ms, rate or cost).
    pub baseline: f64,
    /// Candidate value.
    pub current: f64,
    /// Worse-is-positive change: ln ratio for relative metrics, difference for rates.
    pub bad: f64,
    /// Its standard error.
    pub se: f64,
    /// Interval of `bad` at the configured confidence.
    pub bad_interval: (f64, f64),
    /// Largest `bad` allowed (ln(1 + threshold), or the allowed absolute change).
    pub allowed: f64,
    /// Raw one-sided p-value of "worse".
    pub p_worse: f64,
    /// Raw one-sided p-value of "better".
    pub p_better: f64,
    /// Method.
    pub method: Method,
    /// The quantile's own ratio crossed the threshold although the estimate did not.
    pub own_ratio_beyond: bool,
    /// Mann–Whitney result (latency metrics).
    pub mann_whitney: Option<MannWhitney>,
    /// A sentence on where the estimate comes from.
    pub basis: String,
}

/// What the latency metrics of one operation share.
struct LatencyContext {
    candidate: Histogram,
    baseline: Histogram,
    mw: MannWhitney,
    /// Hodges–Lehmann shift, its interval and standard error (ln scale).
    shift: (f64, (f64, f64), f64),
}

fn latency_context(b: &OperationSample, c: &OperationSample, z: f64) -> Option<LatencyContext> {
    let (hb, hc) = (Histogram::of(&b.latency), Histogram::of(&c.latency));
    let mw = match (c.complete_values(), b.complete_values()) {
        (Some(cv), Some(bv)) => mann_whitney::from_values(cv, bv)?,
        _ => mann_whitney::from_histograms(&hc, &hb)?,
    };
    let pairs = PairDifferences::of(&hc, &hb)?;
    let (m, n) = (hc.len() as f64, hb.len() as f64);
    let total = pairs.pairs();
    let reach = z * (m * n * (m + n + 1.0) / 12.0).sqrt();
    let lo = pairs.ln_at_weight(total / 2.0 - reach);
    let hi = pairs.ln_at_weight(total / 2.0 + reach);
    let hl = pairs.hodges_lehmann();
    Some(LatencyContext {
        candidate: hc,
        baseline: hb,
        mw,
        shift: (hl, (lo, hi), ((hi - lo) / (2.0 * z)).max(1e-9)),
    })
}

/// Measures every applicable metric of one operation. `None` entries are metrics without
/// data on one side (no cache lookups, no costs) — not applicable, not failed.
pub fn measure_operation(
    b: &OperationSample,
    c: &OperationSample,
    cfg: &GateConfig,
) -> Vec<(Metric, Option<Measured>, bool)> {
    let z = normal::quantile(1.0 - cfg.alpha() / 2.0);
    let enough_requests = b.requests >= cfg.min_requests && c.requests >= cfg.min_requests;
    let latency = if enough_requests {
        latency_context(b, c, z)
    } else {
        None
    };
    let mut out = Vec::new();
    for metric in Metric::ALL {
        let (measured, enough) = match metric.quantile() {
            Some(p) => {
                let enough = enough_requests
                    && quantile::enough(b.requests, p)
                    && quantile::enough(c.requests, p);
                let m = if enough {
                    latency
                        .as_ref()
                        .and_then(|ctx| measure_quantile(metric, p, ctx, cfg, z))
                } else {
                    None
                };
                (m, enough)
            }
            None => {
                let applicable = match metric {
                    Metric::CacheHitRate => b.lookups() > 0 || c.lookups() > 0,
                    Metric::CostPerRequest => b.cost > 0.0 || c.cost > 0.0,
                    _ => true,
                };
                if !applicable {
                    continue;
                }
                let enough = enough_requests
                    && (metric != Metric::CacheHitRate
                        || (b.lookups() >= cfg.min_requests && c.lookups() >= cfg.min_requests));
                let m = if enough {
                    match metric {
                        Metric::ErrorRate => Some(measure_error_rate(b, c, cfg, z)),
                        Metric::CacheHitRate => Some(measure_cache(b, c, cfg, z)),
                        _ => measure_cost(b, c, cfg, z),
                    }
                } else {
                    None
                };
                (m, enough)
            }
        };
        out.push((metric, measured, enough));
    }
    out
}

fn measure_quantile(
    metric: Metric,
    p: f64,
    ctx: &LatencyContext,
    cfg: &GateConfig,
    z: f64,
) -> Option<Measured> {
    let own = quantile::ln_ratio(&ctx.candidate, &ctx.baseline, p)?;
    let threshold = match metric {
        Metric::P50 => cfg.thresholds.p50,
        Metric::P95 => cfg.thresholds.p95,
        _ => cfg.thresholds.p99,
    };
    let allowed = threshold.ln_1p();
    let (hl, (hl_lo, hl_hi), hl_se) = ctx.shift;
    let excess = own.ln - hl;
    let excess_p = 2.0 * normal::sf(excess.abs() / own.se);
    let baseline = ctx.baseline.ln_quantile(p)?.exp();
    let current = ctx.candidate.ln_quantile(p)?.exp();
    let pct = |x: f64| format!("{:+.1} %", x.exp_m1() * 100.0);
    let m = if excess_p < SELECT_ALPHA {
        Measured {
            metric,
            baseline,
            current,
            bad: own.ln,
            se: own.se,
            bad_interval: (own.ln - z * own.se, own.ln + z * own.se),
            allowed,
            p_worse: normal::sf(own.ln / own.se),
            p_better: normal::cdf(own.ln / own.se),
            method: Method::OrderStatistics,
            own_ratio_beyond: false,
            mann_whitney: Some(ctx.mw),
            basis: format!(
                "{} moved differently from the whole distribution ({} vs shift {}, p = {:.2e}): its own ratio is used",
                metric.as_str(),
                pct(own.ln),
                pct(hl),
                excess_p
            ),
        }
    } else {
        Measured {
            metric,
            baseline,
            current,
            bad: hl,
            se: hl_se,
            bad_interval: (hl_lo, hl_hi),
            allowed,
            p_worse: ctx.mw.p_greater,
            p_better: ctx.mw.p_less,
            method: Method::HodgesLehmann,
            own_ratio_beyond: own.ln > allowed,
            mann_whitney: Some(ctx.mw),
            basis: format!(
                "{} moved with the whole distribution (shift {}, own ratio {} ± {:.1} %)",
                metric.as_str(),
                pct(hl),
                pct(own.ln),
                z * own.se * 100.0
            ),
        }
    };
    Some(m)
}

fn measure_error_rate(
    b: &OperationSample,
    c: &OperationSample,
    cfg: &GateConfig,
    z: f64,
) -> Measured {
    let pb = b.errors as f64 / b.requests as f64;
    let pc = c.errors as f64 / c.requests as f64;
    let (lo, hi) = proportion::newcombe_diff(c.errors, c.requests, b.errors, b.requests, z);
    Measured {
        metric: Metric::ErrorRate,
        baseline: pb,
        current: pc,
        bad: pc - pb,
        se: ((hi - lo) / (2.0 * z)).max(1e-12),
        bad_interval: (lo, hi),
        allowed: cfg.thresholds.error_rate,
        p_worse: proportion::z_test_larger(c.errors, c.requests, b.errors, b.requests),
        p_better: proportion::z_test_larger(b.errors, b.requests, c.errors, c.requests),
        method: Method::Proportions,
        own_ratio_beyond: false,
        mann_whitney: None,
        basis: format!(
            "{} of {} failed vs {} of {}",
            c.errors, c.requests, b.errors, b.requests
        ),
    }
}

fn measure_cache(b: &OperationSample, c: &OperationSample, cfg: &GateConfig, z: f64) -> Measured {
    let t = &cfg.thresholds;
    let pb = b.cache_hits as f64 / b.lookups() as f64;
    let pc = c.cache_hits as f64 / c.lookups() as f64;
    // The candidate must keep the floor when the baseline met it, and never drop more
    // than the allowed points.
    let floor = if pb >= t.cache_hit_rate_min {
        t.cache_hit_rate_min.max(pb - t.cache_hit_rate_drop)
    } else {
        pb - t.cache_hit_rate_drop
    };
    // Oriented so that a drop is positive.
    let (lo, hi) =
        proportion::newcombe_diff(b.cache_hits, b.lookups(), c.cache_hits, c.lookups(), z);
    Measured {
        metric: Metric::CacheHitRate,
        baseline: pb,
        current: pc,
        bad: pb - pc,
        se: ((hi - lo) / (2.0 * z)).max(1e-12),
        bad_interval: (lo, hi),
        allowed: pb - floor,
        p_worse: proportion::z_test_larger(b.cache_hits, b.lookups(), c.cache_hits, c.lookups()),
        p_better: proportion::z_test_larger(c.cache_hits, c.lookups(), b.cache_hits, b.lookups()),
        method: Method::Proportions,
        own_ratio_beyond: false,
        mann_whitney: None,
        basis: format!(
            "{} hits in {} lookups vs {} in {}; floor {:.3}",
            c.cache_hits,
            c.lookups(),
            b.cache_hits,
            b.lookups(),
            floor
        ),
    }
}

fn measure_cost(
    b: &OperationSample,
    c: &OperationSample,
    cfg: &GateConfig,
    z: f64,
) -> Option<Measured> {
    let (mb, vb) = b.cost_moments()?;
    let (mc, vc) = c.cost_moments()?;
    if mb <= 0.0 || mc <= 0.0 {
        return None;
    }
    let ln = (mc / mb).ln();
    let se = (vb / (b.requests as f64 * mb * mb) + vc / (c.requests as f64 * mc * mc))
        .sqrt()
        .max(1e-12);
    Some(Measured {
        metric: Metric::CostPerRequest,
        baseline: mb,
        current: mc,
        bad: ln,
        se,
        bad_interval: (ln - z * se, ln + z * se),
        allowed: cfg.thresholds.cost_per_request.ln_1p(),
        p_worse: normal::sf(ln / se),
        p_better: normal::cdf(ln / se),
        method: Method::RatioOfMeans,
        own_ratio_beyond: false,
        mann_whitney: None,
        basis: format!("mean cost {mc:.6} vs {mb:.6} per request"),
    })
}
