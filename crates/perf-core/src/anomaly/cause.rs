//! The probable cause of an incident, from its member anomalies and the traffic behind them:
//! 1. **Surge** — when rising throughputs are a third of the anomalous series or more, or
//!    the service's requests during the incident are 1.25 times its rate of the hour before
//!    or more, each value's share of the excess requests ([`super::excess_cause`]): "tenant
//!    dao-gamma carries 92 % of the surge with 25 % of the usual requests", or "throughput
//!    rose across service qflow" when no value carries it beyond its usual share (said only
//!    when the throughputs themselves are anomalous; otherwise the next rules decide). When
//!    the service's total held (under 1.1×) it is a shift between values: "traffic shifted
//!    to version v1: …". A dimension whose values gained under a tenth of its usual requests
//!    is noise. Without
//!    counts (a [`Traffic`] that has none) the shares come from the anomalous throughput
//!    series' observed minus expected rates.
//! 2. **Excess errors or slow requests** — when error rates, or else latencies (p95, p99),
//!    make up a third of the anomalous series or more, the service's counts per value decide
//!    ([`super::excess_cause`]): "node w-2 carries 90 % of the excess errors with 33 % of the
//!    requests", "version v2.1.0 carries 70 % of the excess slow requests with 10 % of the
//!    requests", or, when no value carries them beyond its share of the requests, "errors
//!    rose across service qwallet" / "latency rose across service qindex".
//! 3. **Concentration** — otherwise, for each dimension other than the service, the value
//!    most of the anomalous series of that dimension share: "3 of 3 anomalous node series
//!    share node qnet-2" when at least 60 % do. Among such values the one with the highest
//!    lift wins: its share of the anomalous series over its share of the service's traffic
//!    (every anomalous series of a service shares the version carrying 95 % of its traffic;
//!    that says little, where one node of three says a lot).
//!
//! A value that carries 80 % or more of its service's recent traffic is never a cause of its
//! own (it is the service).
//! 4. Otherwise the service most anomalous series belong to.

use super::excess_cause::{self, Contribution, Excess, ValueCounts};
use super::incident::{CauseValue, ExcessShares, Incident, SeriesAnomaly, Shared};
use std::collections::{BTreeMap, BTreeSet};

/// What the cause analysis may ask about the traffic behind the anomalies.
pub trait Traffic {
    /// The value's share of its service's recent requests (1.0 for a dimension's only value).
    fn share(&self, service: &str, dimension: &str, value: &str) -> f64;
    /// Requests and events (errors, or requests slower than the service's p95 of the hour
    /// before `from`) of every value of every dimension of `service` in `[from, to)` and in
    /// the hour before `from`.
    fn counts_by_value(&self, service: &str, of: Excess, from: i64, to: i64) -> Vec<ValueCounts>;
}

/// Growth of a service's request rate over the hour before that makes an incident a surge.
const MIN_SURGE_GROWTH: f64 = 1.25;
/// Below this growth, more requests for one value are a shift between values, not a surge.
const SHIFT_GROWTH: f64 = 1.1;

/// An incident read as a surge: the excess requests per value.
struct Surge {
    /// Who carries the excess requests.
    attribution: excess_cause::Attribution,
    /// The rising throughputs are a third of the incident's series or more.
    by_series: bool,
    /// The service's requests over its rate of the hour before (the largest of its
    /// dimensions' totals).
    growth: f64,
}
/// A value carrying this share of its service's traffic or more is not a cause of its own.
const MAX_CAUSE_SHARE: f64 = 0.8;
impl Incident {
    /// Recomputes shared values, contributions and the cause from the members and the
    /// traffic behind them.
    pub(super) fn analyse(&mut self, traffic: &dyn Traffic) {
        let mut series: BTreeMap<String, &SeriesAnomaly> = BTreeMap::new();
        for m in &self.members {
            series.entry(m.series()).or_insert(m);
        }
        self.series = series.len();
        // Concentration per dimension.
        let mut by_dim: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        for s in series.values() {
            for (d, v) in &s.key {
                *by_dim.entry(d).or_default().entry(v).or_default() += 1;
            }
        }
        let mut shared = Vec::new();
        for (dim, values) in &by_dim {
            let of: usize = values.values().sum();
            for (value, n) in values {
                shared.push(Shared {
                    dimension: dim.to_string(),
                    value: value.to_string(),
                    series: *n,
                    of,
                });
            }
        }
        shared.sort_by(|a, b| {
            let ra = a.series as f64 / a.of as f64;
            let rb = b.series as f64 / b.of as f64;
            rb.total_cmp(&ra)
                .then(b.series.cmp(&a.series))
                .then((a.dimension == "service").cmp(&(b.dimension == "service")))
        });
        shared.truncate(10);
        self.shared = shared;
        // Contribution to throughput surges, per dimension other than the service.
        let mut excess: BTreeMap<(&str, &str), f64> = BTreeMap::new();
        let mut per_dim_total: BTreeMap<&str, f64> = BTreeMap::new();
        let mut latest: BTreeMap<String, &SeriesAnomaly> = BTreeMap::new();
        for m in self
            .members
            .iter()
            .filter(|m| m.metric == "throughput" && m.value > m.expected)
        {
            latest.insert(format!("{}@{}", m.series(), m.at), m);
        }
        for m in latest.values() {
            for (d, v) in m.key.iter().filter(|(d, _)| d != "service") {
                *excess.entry((d, v)).or_default() += m.value - m.expected;
                *per_dim_total.entry(d).or_default() += m.value - m.expected;
            }
        }
        let mut contributions: Vec<Contribution> = excess
            .iter()
            .filter_map(|((d, v), e)| {
                let total = per_dim_total.get(d).copied().unwrap_or(0.0);
                (total > 0.0).then(|| Contribution {
                    dimension: d.to_string(),
                    value: v.to_string(),
                    share: e / total,
                })
            })
            .collect();
        contributions.sort_by(|a, b| b.share.total_cmp(&a.share));
        contributions.truncate(10);
        self.contributions = contributions;
        let surging = latest.len();
        let surge = self.surge_by_counts(traffic, surging);
        if let Some(surge) = &surge {
            self.contributions = surge.attribution.contributions.clone();
        }
        let excess = self.excess_kind().and_then(|of| {
            let rows = traffic.counts_by_value(self.service(), of, self.start, self.end + 60_000);
            excess_cause::attribute(&rows, of, 0.0).map(|a| (of, a))
        });
        self.excess = excess.as_ref().map(|(of, a)| ExcessShares {
            of: of.key().into(),
            contributions: a.contributions.clone(),
        });
        (self.probable_cause, self.cause_value) =
            self.cause(surging, surge, excess, &series, traffic);
    }

    /// The excess requests per value, when the incident is a surge: rising throughputs are a
    /// third of its series or the service's requests grew by [`MIN_SURGE_GROWTH`]. `None`
    /// without counts.
    fn surge_by_counts(&self, traffic: &dyn Traffic, surging: usize) -> Option<Surge> {
        if self.service().is_empty() {
            return None;
        }
        let to = self.end + 60_000;
        let rows = traffic.counts_by_value(self.service(), Excess::Requests, self.start, to);
        let span = (to - self.start) as f64 / 3_600_000.0;
        let mut per_dim: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for r in &rows {
            let e = per_dim.entry(&r.dimension).or_default();
            e.0 += r.requests as f64;
            e.1 += r.baseline_requests as f64 * span;
        }
        let growth = per_dim
            .values()
            .map(|(now, usual)| now / usual.max(1.0))
            .fold(0.0, f64::max);
        let by_series = surging * 3 >= self.series.max(1);
        if !(by_series || growth >= MIN_SURGE_GROWTH) {
            return None;
        }
        excess_cause::attribute(&rows, Excess::Requests, span).map(|attribution| Surge {
            attribution,
            by_series,
            growth,
        })
    }

    /// Errors when error rates are a third of the anomalous series or more (and no fewer
    /// than latencies), else slow requests when latencies are.
    fn excess_kind(&self) -> Option<Excess> {
        if self.service().is_empty() {
            return None;
        }
        let count = |metrics: &[&str]| {
            self.members
                .iter()
                .filter(|m| metrics.contains(&m.metric.as_str()))
                .map(|m| m.series())
                .collect::<BTreeSet<String>>()
                .len()
        };
        let (failing, slow) = (count(&["error_rate"]), count(&["p95", "p99"]));
        let enough = |n: usize| n * 3 >= self.series.max(1);
        if enough(failing) && failing >= slow {
            Some(Excess::Errors)
        } else if enough(slow) {
            Some(Excess::SlowRequests)
        } else {
            None
        }
    }

    fn cause(
        &self,
        surging: usize,
        surge: Option<Surge>,
        excess: Option<(Excess, excess_cause::Attribution)>,
        series: &BTreeMap<String, &SeriesAnomaly>,
        traffic: &dyn Traffic,
    ) -> (String, Option<CauseValue>) {
        let named = |dimension: &str, value: &str| {
            Some(CauseValue {
                dimension: dimension.to_string(),
                value: value.to_string(),
            })
        };
        // The value's smallest share of traffic among the services of its anomalous series.
        let traffic_share = |dim: &str, value: &str| {
            series
                .values()
                .filter(|s| s.value_of(dim) == Some(value))
                .filter_map(|s| s.value_of("service"))
                .map(|svc| traffic.share(svc, dim, value))
                .fold(1.0f64, f64::min)
        };
        // A value is informative only if it is not (nearly) all of its service's traffic (a
        // service's only version says nothing beyond the service).
        let informative = |dim: &str, value: &str| traffic_share(dim, value) < MAX_CAUSE_SHARE;
        let surge_matters = surging * 3 >= self.series.max(1);
        if let Some(Surge {
            attribution,
            by_series,
            growth,
        }) = &surge
        {
            if let Some((c, usual)) = &attribution.cause {
                // Requests moved between values while the service's total held: a shift
                // (a rollout, a drain, a failover), not a surge.
                let text = if *growth < SHIFT_GROWTH {
                    format!(
                        "traffic shifted to {} {}: {:.0} % of the extra requests, {:.0} % of the requests usually",
                        c.dimension,
                        c.value,
                        c.share * 100.0,
                        usual * 100.0
                    )
                } else {
                    format!(
                        "{} {} carries {:.0} % of the surge with {:.0} % of the usual requests",
                        c.dimension,
                        c.value,
                        c.share * 100.0,
                        usual * 100.0
                    )
                };
                return (text, named(&c.dimension, &c.value));
            }
            if *by_series {
                let text = if *growth < SHIFT_GROWTH {
                    format!(
                        "requests shifted within service {} (its total held): no value gained beyond its usual share",
                        self.service()
                    )
                } else {
                    format!(
                        "throughput rose across service {}: no value carries the surge beyond its usual share of the requests",
                        self.service()
                    )
                };
                return (text, None);
            }
        }
        if let Some(c) = self.contributions.iter().find(|c| {
            surge.is_none()
                && c.share >= 0.5
                && surge_matters
                && informative(&c.dimension, &c.value)
        }) {
            return (
                format!(
                    "{} {} carries {:.0} % of the surge",
                    c.dimension,
                    c.value,
                    c.share * 100.0
                ),
                named(&c.dimension, &c.value),
            );
        }
        if let Some((of, e)) = excess {
            return match e.cause {
                Some((c, request_share)) => (
                    format!(
                        "{} {} carries {:.0} % of the excess {} with {:.0} % of the requests",
                        c.dimension,
                        c.value,
                        c.share * 100.0,
                        of.noun(),
                        request_share * 100.0
                    ),
                    named(&c.dimension, &c.value),
                ),
                None => (format!(
                    "{} rose across service {}: no value carries {} beyond its share of the requests",
                    match of {
                        Excess::Errors => "errors",
                        Excess::SlowRequests | Excess::Requests => "latency",
                    },
                    self.service(),
                    match of {
                        Excess::Errors => "them",
                        Excess::SlowRequests | Excess::Requests => "the slow requests",
                    }
                ), None),
            };
        }
        let lift = |s: &Shared| {
            (s.series as f64 / s.of as f64) / traffic_share(&s.dimension, &s.value).max(1e-3)
        };
        if let Some(s) = self
            .shared
            .iter()
            .filter(|s| {
                s.dimension != "service"
                    && s.series as f64 >= 0.6 * s.of as f64
                    && informative(&s.dimension, &s.value)
            })
            // The highest lift; on a tie the earlier (higher share of the series, more series).
            .fold(None, |best: Option<&Shared>, s| match best {
                Some(b) if lift(b) >= lift(s) => Some(b),
                _ => Some(s),
            })
        {
            return (
                format!(
                    "{} of {} anomalous {} series share {} {}",
                    s.series, s.of, s.dimension, s.dimension, s.value
                ),
                named(&s.dimension, &s.value),
            );
        }
        let text = match self
            .shared
            .iter()
            .filter(|s| s.dimension == "service")
            .max_by_key(|s| s.series)
        {
            Some(s) => format!(
                "{} of {} anomalous series are in service {}",
                s.series, self.series, s.value
            ),
            None => "no shared dimension".into(),
        };
        (text, None)
    }
}
