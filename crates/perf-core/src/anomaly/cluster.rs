//! Incidents: anomalies of many series that happen together are one incident, described by
//! the dimension values they share and a probable cause.
//!
//! An anomaly joins the open incident *of its service* whose last anomaly is at most `gap`
//! earlier; otherwise it opens a new one; an incident closes when `gap` passes without a new
//! anomaly. Grouping by service as well as by time keeps unrelated things that happen
//! together apart: a node slowing down in one service while another service's rollout
//! shifts its traffic between versions are two incidents with a cause each, not one with a
//! muddled cause. (A cause that spans services — one tenant flooding several — shows as one
//! incident per service, each naming it, and each lists the others as `related`: concurrent
//! within the gap, cause naming the same dimension value. Anomalies of views without a
//! service dimension group among themselves.) The cause:
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

use super::excess_cause::{self, Excess, ValueCounts};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What the cause analysis may ask about the traffic behind the anomalies.
pub trait Traffic {
    /// The value's share of its service's recent requests (1.0 for a dimension's only value).
    fn share(&self, service: &str, dimension: &str, value: &str) -> f64;
    /// Requests and events (errors, or requests slower than the service's p95 of the hour
    /// before `from`) of every value of every dimension of `service` in `[from, to)` and in
    /// the hour before `from`.
    fn counts_by_value(&self, service: &str, of: Excess, from: i64, to: i64) -> Vec<ValueCounts>;
}

/// The excess events of an incident, per value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExcessShares {
    /// `errors` or `slow_requests` (slower than the service's p95 of the hour before).
    pub of: String,
    /// Each value's share of its dimension's excess, largest first.
    pub contributions: Vec<Contribution>,
}

/// Incidents kept (oldest dropped first).
const MAX_INCIDENTS: usize = 200;
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
/// Member anomalies kept per incident.
const MAX_MEMBERS: usize = 200;

/// One anomalous point of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesAnomaly {
    /// View.
    pub view: String,
    /// Dimension values of the series, in the view's order.
    pub key: Vec<(String, String)>,
    /// `throughput`, `error_rate`, `p95` or `p99`.
    pub metric: String,
    /// Bucket start.
    #[serde(with = "crate::time::serde_rfc3339")]
    pub at: i64,
    /// Observed value (requests/s, fraction, ms).
    pub value: f64,
    /// What the detector expected.
    pub expected: f64,
    /// Anomaly score in [0, 1].
    pub score: f64,
}

impl SeriesAnomaly {
    /// `view{dim=value,…}`.
    pub fn series(&self) -> String {
        let dims: Vec<String> = self.key.iter().map(|(d, v)| format!("{d}={v}")).collect();
        format!("{}{{{}}}", self.view, dims.join(","))
    }

    /// The service of the series (`""` for a view without one): incidents group by it.
    fn service(&self) -> &str {
        self.value_of("service").unwrap_or("")
    }

    fn value_of(&self, dim: &str) -> Option<&str> {
        self.key
            .iter()
            .find(|(d, _)| d == dim)
            .map(|(_, v)| v.as_str())
    }
}

/// A dimension value shared by anomalous series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shared {
    /// Dimension.
    pub dimension: String,
    /// Value.
    pub value: String,
    /// Anomalous series with it.
    pub series: usize,
    /// Anomalous series that have the dimension at all.
    pub of: usize,
}

/// A value's share of a throughput surge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contribution {
    /// Dimension.
    pub dimension: String,
    /// Value.
    pub value: String,
    /// Share of the excess requests, 0–1.
    pub share: f64,
}

/// A dimension value named as a cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CauseValue {
    /// Dimension.
    pub dimension: String,
    /// Value.
    pub value: String,
}

/// A cluster of concurrent anomalies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// Identifier (increasing).
    pub id: u64,
    /// First anomaly.
    #[serde(with = "crate::time::serde_rfc3339")]
    pub start: i64,
    /// Latest anomaly.
    #[serde(with = "crate::time::serde_rfc3339")]
    pub end: i64,
    /// Still open.
    pub open: bool,
    /// Anomalous points.
    pub anomalies: usize,
    /// Distinct anomalous series (view and key, any metric).
    pub series: usize,
    /// Metrics involved.
    pub metrics: BTreeSet<String>,
    /// Services involved (the one service its anomalies share; empty for views without a
    /// service dimension).
    pub services: BTreeSet<String>,
    /// Most shared dimension values, most shared first.
    pub shared: Vec<Shared>,
    /// Shares of a throughput surge (each value's excess requests), largest first.
    pub contributions: Vec<Contribution>,
    /// Shares of the excess errors or slow requests (beyond each value's rate of the hour
    /// before); only when error rates or latencies are a third of the anomalous series or
    /// more.
    pub excess: Option<ExcessShares>,
    /// The probable cause in one sentence.
    pub probable_cause: String,
    /// The dimension value the probable cause names (none when it names the service).
    pub cause_value: Option<CauseValue>,
    /// Concurrent incidents of other services whose cause names the same value (a tenant
    /// flooding two services is two incidents, related).
    pub related: Vec<u64>,
    /// The anomalies (the first 200).
    pub members: Vec<SeriesAnomaly>,
}

impl Incident {
    fn new(id: u64, a: &SeriesAnomaly) -> Self {
        Incident {
            id,
            start: a.at,
            end: a.at,
            open: true,
            anomalies: 0,
            series: 0,
            metrics: BTreeSet::new(),
            services: BTreeSet::new(),
            shared: Vec::new(),
            contributions: Vec::new(),
            excess: None,
            probable_cause: String::new(),
            cause_value: None,
            related: Vec::new(),
            members: Vec::new(),
        }
    }

    /// The service its anomalies belong to (`""` for views without one).
    fn service(&self) -> &str {
        self.services.first().map_or("", String::as_str)
    }

    fn add(&mut self, a: &SeriesAnomaly) {
        self.end = self.end.max(a.at);
        self.start = self.start.min(a.at);
        self.anomalies += 1;
        self.metrics.insert(a.metric.clone());
        if let Some(s) = a.value_of("service") {
            self.services.insert(s.to_string());
        }
        if self.members.len() < MAX_MEMBERS {
            self.members.push(a.clone());
        }
    }

    /// Recomputes shared values, contributions and the cause from the members and the
    /// traffic behind them.
    fn analyse(&mut self, traffic: &dyn Traffic) {
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

/// Incidents, newest last.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Incidents {
    gap_ms: i64,
    next_id: u64,
    list: VecDeque<Incident>,
}

/// Incidents that opened or closed during an update.
#[derive(Debug, Default)]
pub struct Changes {
    /// Newly opened.
    pub opened: Vec<u64>,
    /// Newly closed.
    pub closed: Vec<u64>,
}

impl Incidents {
    /// No incidents; anomalies at most `gap_ms` apart join one.
    pub fn new(gap_ms: i64) -> Self {
        Incidents {
            gap_ms,
            next_id: 1,
            list: VecDeque::new(),
        }
    }

    /// All kept, oldest first.
    pub fn all(&self) -> impl Iterator<Item = &Incident> {
        self.list.iter()
    }

    /// One by id.
    pub fn get(&self, id: u64) -> Option<&Incident> {
        self.list.iter().find(|i| i.id == id)
    }

    /// Links incidents of different services that overlap in time (within the gap) and
    /// whose causes name the same dimension value.
    fn relate(&mut self) {
        let keys: Vec<(u64, i64, i64, Option<CauseValue>, String)> = self
            .list
            .iter()
            .map(|i| {
                let service = i.service().to_string();
                (i.id, i.start, i.end, i.cause_value.clone(), service)
            })
            .collect();
        for inc in self.list.iter_mut() {
            let Some(value) = &inc.cause_value else {
                inc.related.clear();
                continue;
            };
            inc.related = keys
                .iter()
                .filter(|(id, start, end, other, service)| {
                    *id != inc.id
                        && service != inc.service()
                        && other.as_ref() == Some(value)
                        && *start <= inc.end + self.gap_ms
                        && inc.start <= *end + self.gap_ms
                })
                .map(|k| k.0)
                .collect();
        }
    }

    /// Adds anomalies (in time order), each to the open incident of its service when that
    /// one's last anomaly is at most the gap earlier, and closes incidents quiet for longer
    /// than the gap. `traffic` answers the cause analysis's questions.
    pub fn add(&mut self, found: &[SeriesAnomaly], now: i64, traffic: &dyn Traffic) -> Changes {
        let mut changes = Changes::default();
        let mut touched = BTreeSet::new();
        for a in found {
            let gap = self.gap_ms;
            let open = self
                .list
                .iter_mut()
                .rev()
                .find(|i| i.open && a.at - i.end <= gap && i.service() == a.service());
            let id = match open {
                Some(inc) => {
                    inc.add(a);
                    inc.id
                }
                None => {
                    let mut inc = Incident::new(self.next_id, a);
                    self.next_id += 1;
                    inc.add(a);
                    changes.opened.push(inc.id);
                    let id = inc.id;
                    self.list.push_back(inc);
                    if self.list.len() > MAX_INCIDENTS {
                        self.list.pop_front();
                    }
                    id
                }
            };
            touched.insert(id);
        }
        for inc in self.list.iter_mut() {
            if touched.contains(&inc.id) {
                inc.analyse(traffic);
            }
        }
        if !touched.is_empty() {
            self.relate();
        }
        for inc in self.list.iter_mut() {
            if inc.open && now - inc.end > self.gap_ms + 60_000 {
                inc.open = false;
                changes.closed.push(inc.id);
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Traffic known only by its shares (no error counts).
    struct Shares<F>(F);

    impl<F: Fn(&str, &str, &str) -> f64> Traffic for Shares<F> {
        fn share(&self, service: &str, dimension: &str, value: &str) -> f64 {
            (self.0)(service, dimension, value)
        }
        fn counts_by_value(&self, _: &str, _: Excess, _: i64, _: i64) -> Vec<ValueCounts> {
            Vec::new()
        }
    }

    fn shares(f: impl Fn(&str, &str, &str) -> f64) -> Shares<impl Fn(&str, &str, &str) -> f64> {
        Shares(f)
    }

    fn anomaly(
        view: &str,
        key: &[(&str, &str)],
        metric: &str,
        at: i64,
        value: f64,
        expected: f64,
    ) -> SeriesAnomaly {
        SeriesAnomaly {
            view: view.into(),
            key: key
                .iter()
                .map(|(d, v)| (d.to_string(), v.to_string()))
                .collect(),
            metric: metric.into(),
            at,
            value,
            expected,
            score: 0.9,
        }
    }

    #[test]
    fn a_slow_node_is_the_shared_dimension_of_its_incident() {
        let mut inc = Incidents::new(300_000);
        let found = vec![
            anomaly(
                "service_node",
                &[("service", "qnet"), ("node", "qnet-2")],
                "p99",
                0,
                900.0,
                100.0,
            ),
            anomaly(
                "service_node",
                &[("service", "qnet"), ("node", "qnet-2")],
                "p95",
                60_000,
                500.0,
                80.0,
            ),
            anomaly(
                "service_operation",
                &[("service", "qnet"), ("operation", "GET /feed")],
                "p99",
                60_000,
                300.0,
                100.0,
            ),
            anomaly(
                "service_tenant",
                &[("service", "qnet"), ("tenant", "dao-alpha")],
                "p99",
                60_000,
                300.0,
                100.0,
            ),
        ];
        let changes = inc.add(&found, 120_000, &shares(|_, _, _| 1.0 / 3.0));
        assert_eq!(changes.opened.len(), 1);
        let i = inc.all().next().unwrap().clone();
        assert_eq!((i.anomalies, i.series), (4, 3));
        assert!(
            i.probable_cause.contains("node qnet-2"),
            "{}",
            i.probable_cause
        );
        // Quiet for longer than the gap: closed.
        let changes = inc.add(
            &[],
            60_000 + 300_000 + 120_000,
            &shares(|_, _, _| 1.0 / 3.0),
        );
        assert_eq!(changes.closed, vec![i.id]);
    }

    #[test]
    fn concurrent_anomalies_of_two_services_are_two_incidents() {
        // qnet's node slows down in the minute another service's traffic moves back to its
        // old version: one incident each, each with its own cause.
        let mut found = vec![
            anomaly(
                "service_version",
                &[("service", "qerberos"), ("version", "v3.1.1")],
                "throughput",
                0,
                25.0,
                3.5,
            ),
            anomaly(
                "service_operation_version",
                &[
                    ("service", "qerberos"),
                    ("operation", "POST /assess"),
                    ("version", "v3.1.1"),
                ],
                "throughput",
                0,
                16.0,
                2.0,
            ),
            anomaly(
                "service_operation_version",
                &[
                    ("service", "qerberos"),
                    ("operation", "GET /entities/{id}"),
                    ("version", "v3.1.1"),
                ],
                "throughput",
                0,
                8.0,
                1.0,
            ),
            anomaly(
                "service_node",
                &[("service", "qnet"), ("node", "qnet-2")],
                "p95",
                120_000,
                400.0,
                100.0,
            ),
        ];
        for tenant in ["dao-alpha", "dao-beta"] {
            found.push(anomaly(
                "service_tenant",
                &[("service", "qnet"), ("tenant", tenant)],
                "p99",
                120_000,
                500.0,
                130.0,
            ));
        }
        let mut inc = Incidents::new(300_000);
        let changes = inc.add(
            &found,
            180_000,
            &shares(|_, dim, _| match dim {
                "version" => 0.3,
                "node" => 1.0 / 3.0,
                _ => 0.25,
            }),
        );
        assert_eq!(changes.opened.len(), 2);
        let causes: Vec<(String, String)> = inc
            .all()
            .map(|i| {
                let services: Vec<&String> = i.services.iter().collect();
                assert_eq!(services.len(), 1, "{services:?}");
                (services[0].clone(), i.probable_cause.clone())
            })
            .collect();
        assert_eq!(causes[0].0, "qerberos");
        assert!(causes[0].1.contains("version v3.1.1"), "{causes:?}");
        assert_eq!(causes[1].0, "qnet");
        assert!(causes[1].1.contains("node qnet-2"), "{causes:?}");
        // A later anomaly of qnet joins qnet's incident.
        inc.add(
            &[anomaly(
                "service_node",
                &[("service", "qnet"), ("node", "qnet-2")],
                "p99",
                180_000,
                900.0,
                150.0,
            )],
            240_000,
            &shares(|_, _, _| 1.0 / 3.0),
        );
        assert_eq!(inc.all().count(), 2);
        assert_eq!(inc.all().nth(1).unwrap().anomalies, 4);
    }

    /// Traffic with counts: node n2 has nearly all the slow requests of the incident.
    struct SlowNode;

    impl Traffic for SlowNode {
        fn share(&self, _: &str, _: &str, _: &str) -> f64 {
            1.0 / 3.0
        }
        fn counts_by_value(&self, _: &str, of: Excess, _: i64, _: i64) -> Vec<ValueCounts> {
            if of == Excess::Requests {
                // No request counts: not a surge.
                return Vec::new();
            }
            assert_eq!(of, Excess::SlowRequests);
            let row = |dim: &str, value: &str, requests, events| ValueCounts {
                dimension: dim.into(),
                value: value.into(),
                requests,
                events,
                baseline_requests: requests * 10,
                baseline_events: requests / 2,
            };
            vec![
                row("node", "n1", 600, 31),
                row("node", "n2", 600, 590),
                row("node", "n3", 600, 29),
                row("operation", "GET /a", 1_200, 430),
                row("operation", "POST /b", 600, 220),
            ]
        }
    }

    #[test]
    fn slow_requests_counted_per_value_name_the_node_its_own_series_no_longer_flags() {
        // The node's own series has seen this slowdown before and stays quiet; the
        // operations' series flag it. The counts still put the slow requests on n2.
        let found: Vec<SeriesAnomaly> = ["GET /a", "POST /b"]
            .iter()
            .flat_map(|op| {
                ["p95", "p99"].map(|metric| {
                    anomaly(
                        "service_operation",
                        &[("service", "qsvc"), ("operation", op)],
                        metric,
                        0,
                        400.0,
                        60.0,
                    )
                })
            })
            .collect();
        let mut inc = Incidents::new(300_000);
        inc.add(&found, 60_000, &SlowNode);
        let i = inc.all().next().unwrap();
        assert_eq!(
            i.probable_cause,
            "node n2 carries 100 % of the excess slow requests with 33 % of the requests"
        );
        let excess = i.excess.as_ref().unwrap();
        assert_eq!(excess.of, "slow_requests");
        assert_eq!(excess.contributions[0].value, "n2");
    }

    /// Traffic with counts: tenant gamma tripled its requests, the others as usual.
    struct GammaSurge;

    impl Traffic for GammaSurge {
        fn share(&self, _: &str, _: &str, _: &str) -> f64 {
            0.25
        }
        fn counts_by_value(&self, _: &str, of: Excess, _: i64, _: i64) -> Vec<ValueCounts> {
            // A one-minute incident (span 1/60): 100 requests an hour is ~1.7 a minute.
            let row = |value: &str, requests: u64, events: u64| ValueCounts {
                dimension: "tenant".into(),
                value: value.into(),
                requests,
                events,
                baseline_requests: 100,
                baseline_events: if of == Excess::Requests { 100 } else { 5 },
            };
            match of {
                Excess::Requests => vec![row("a", 2, 2), row("b", 2, 2), row("gamma", 12, 12)],
                _ => vec![row("a", 2, 2), row("b", 2, 2), row("gamma", 12, 1)],
            }
        }
    }

    #[test]
    fn a_latency_incident_during_a_surge_is_the_surging_tenants() {
        // Only the other tenants' latencies are anomalous (the surge's throughput series has
        // seen it before); the service's requests grew 3.2× and gamma carries the growth:
        // gamma's excess 12 − 5/3 of that plus 2 × (2 − 5/3): 94 %.
        let found: Vec<SeriesAnomaly> = ["a", "b"]
            .iter()
            .map(|t| {
                anomaly(
                    "service_tenant",
                    &[("service", "qflow"), ("tenant", t)],
                    "p99",
                    0,
                    300.0,
                    100.0,
                )
            })
            .collect();
        let mut inc = Incidents::new(300_000);
        inc.add(&found, 60_000, &GammaSurge);
        let i = inc.all().next().unwrap();
        assert!(
            i.probable_cause
                == "tenant gamma carries 94 % of the surge with 33 % of the usual requests",
            "{}",
            i.probable_cause
        );
        assert_eq!(i.contributions[0].value, "gamma");
        assert_eq!(
            i.cause_value,
            Some(CauseValue {
                dimension: "tenant".into(),
                value: "gamma".into()
            })
        );
        assert!(i.related.is_empty());
        // The same tenant floods a second service a minute later: its own incident, related
        // to the first (and the first to it).
        let second: Vec<SeriesAnomaly> = found
            .iter()
            .map(|a| {
                let mut a = a.clone();
                a.key[0].1 = "qindex".into();
                a.at = 60_000;
                a
            })
            .collect();
        inc.add(&second, 120_000, &GammaSurge);
        let all: Vec<&Incident> = inc.all().collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].related, vec![all[1].id]);
        assert_eq!(all[1].related, vec![all[0].id]);
    }

    /// Traffic with counts: a canary ended, its requests went back to v1; the total held.
    struct VersionShift;

    impl Traffic for VersionShift {
        fn share(&self, _: &str, _: &str, _: &str) -> f64 {
            0.5
        }
        fn counts_by_value(&self, _: &str, of: Excess, _: i64, _: i64) -> Vec<ValueCounts> {
            let row = |value: &str, requests: u64, baseline: u64| ValueCounts {
                dimension: "version".into(),
                value: value.into(),
                requests,
                events: requests,
                baseline_requests: baseline,
                baseline_events: baseline,
            };
            match of {
                // A one-minute incident: v1 usually 2 of 10 a minute, now all 10.
                Excess::Requests => vec![row("v1", 10, 120), row("v2", 0, 480)],
                _ => Vec::new(),
            }
        }
    }

    #[test]
    fn requests_moving_between_versions_are_a_shift_not_a_surge() {
        let found = vec![anomaly(
            "service_version",
            &[("service", "qsvc"), ("version", "v1")],
            "throughput",
            0,
            10.0 / 60.0,
            2.0 / 60.0,
        )];
        let mut inc = Incidents::new(300_000);
        inc.add(&found, 60_000, &VersionShift);
        assert_eq!(
            inc.all().next().unwrap().probable_cause,
            "traffic shifted to version v1: 100 % of the extra requests, 20 % of the requests usually"
        );
    }

    #[test]
    fn a_tenant_carrying_the_surge_is_named_with_its_share() {
        let mut inc = Incidents::new(300_000);
        let found = vec![
            anomaly(
                "service_tenant",
                &[("service", "qflow"), ("tenant", "dao-gamma")],
                "throughput",
                0,
                90.0,
                10.0,
            ),
            anomaly(
                "service_tenant",
                &[("service", "qflow"), ("tenant", "dao-beta")],
                "throughput",
                0,
                25.0,
                15.0,
            ),
            anomaly(
                "service_tenant",
                &[("service", "qflow"), ("tenant", "dao-beta")],
                "p99",
                0,
                400.0,
                100.0,
            ),
        ];
        inc.add(&found, 60_000, &shares(|_, _, _| 0.25));
        let cause = inc.all().next().unwrap().probable_cause.clone();
        assert!(cause.contains("tenant dao-gamma carries 89 %"), "{cause}");
        // Far apart in time: two incidents.
        inc.add(
            &[anomaly(
                "service_tenant",
                &[("service", "qflow"), ("tenant", "dao-gamma")],
                "throughput",
                3_600_000,
                90.0,
                10.0,
            )],
            3_600_000,
            &shares(|_, _, _| 0.25),
        );
        assert_eq!(inc.all().count(), 2);
    }

    #[test]
    fn without_a_shared_value_the_service_is_the_cause() {
        let mut inc = Incidents::new(300_000);
        let found: Vec<SeriesAnomaly> = (1..=3)
            .map(|n| {
                anomaly(
                    "service_node",
                    &[("service", "qwallet"), ("node", &format!("qwallet-{n}"))],
                    "error_rate",
                    0,
                    0.25,
                    0.001,
                )
            })
            .collect();
        inc.add(&found, 60_000, &shares(|_, _, _| 1.0 / 3.0));
        let i = inc.all().next().unwrap();
        assert_eq!(
            i.probable_cause,
            "3 of 3 anomalous series are in service qwallet"
        );
        // A service's only version is not a cause of its own.
        let mut inc = Incidents::new(300_000);
        let found = vec![
            anomaly(
                "service_version",
                &[("service", "qwallet"), ("version", "v1")],
                "error_rate",
                0,
                0.25,
                0.001,
            ),
            anomaly(
                "service_node",
                &[("service", "qwallet"), ("node", "a")],
                "error_rate",
                0,
                0.25,
                0.001,
            ),
            anomaly(
                "service_node",
                &[("service", "qwallet"), ("node", "b")],
                "error_rate",
                0,
                0.25,
                0.001,
            ),
        ];
        inc.add(
            &found,
            60_000,
            &shares(|_, dim, _| if dim == "version" { 1.0 } else { 0.5 }),
        );
        assert!(inc
            .all()
            .next()
            .unwrap()
            .probable_cause
            .contains("service qwallet"));
    }

    #[test]
    fn the_value_with_the_highest_lift_is_the_cause() {
        // A slow node (one of three, a third of the traffic): its one series and the four
        // series of the version that carries nearly all traffic are all anomalous.
        let mut found = vec![anomaly(
            "service_node",
            &[("service", "qnet"), ("node", "qnet-2")],
            "p95",
            0,
            400.0,
            70.0,
        )];
        for op in ["GET /feed", "GET /peers", "POST /route", "GET /status"] {
            found.push(anomaly(
                "service_operation_version",
                &[
                    ("service", "qnet"),
                    ("operation", op),
                    ("version", "v2.0.3"),
                ],
                "p95",
                0,
                300.0,
                100.0,
            ));
        }
        let cause = |version_share: f64| {
            let mut inc = Incidents::new(300_000);
            inc.add(
                &found,
                60_000,
                &shares(|_, dim, _| match dim {
                    "version" => version_share,
                    "node" => 1.0 / 3.0,
                    _ => 0.25,
                }),
            );
            let cause = inc.all().next().unwrap().probable_cause.clone();
            cause
        };
        // Dominant version: not a cause of its own.
        assert!(cause(0.95).contains("node qnet-2"), "{}", cause(0.95));
        // Half the traffic (a canary at 50 %): lift 2 against the node's 3.
        assert!(cause(0.5).contains("node qnet-2"), "{}", cause(0.5));
        // A canary version with a tenth of the traffic, all four series: lift 10.
        assert!(cause(0.1).contains("version v2.0.3"), "{}", cause(0.1));
    }
}
