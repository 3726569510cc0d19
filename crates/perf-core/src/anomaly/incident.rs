//! What an incident is: the anomalous points of series ([`SeriesAnomaly`]) grouped into an
//! [`Incident`] with the dimension values they share and the probable cause found for them.
//! Grouping is in [`super::cluster`], the cause in [`super::cause`].

use super::excess_cause::Contribution;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Member anomalies kept per incident.
const MAX_MEMBERS: usize = 200;

/// One anomalous point of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesAnomaly {
    /// View.
    pub view: String,
    /// Dimension values of the series, in the view's order.
    pub key: Vec<(String, String)>,
    /// `throughput`, `error_rate`, `p95` or `p99`.
    pub metric: String,
    /// Bucket start.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: i64,
    /// Observed value (requests/s, fraction, ms).
    pub value: f64,
    /// What the detector expected.
    pub expected: f64,
    /// Anomaly score in [0, 1].
    pub score: f64,
    /// Share of the series' recent points that scored lower.
    pub percentile: f64,
}

impl SeriesAnomaly {
    /// Heap bytes of its names.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{string, vec};
        string(&self.view)
            + vec(&self.key)
            + self
                .key
                .iter()
                .map(|(d, v)| string(d) + string(v))
                .sum::<usize>()
            + string(&self.metric)
    }

    /// `view{dim=value,…}`.
    pub fn series(&self) -> String {
        let dims: Vec<String> = self.key.iter().map(|(d, v)| format!("{d}={v}")).collect();
        format!("{}{{{}}}", self.view, dims.join(","))
    }

    /// The service of the series (`""` for a view without one): incidents group by it.
    pub(super) fn service(&self) -> &str {
        self.value_of("service").unwrap_or("")
    }

    pub(super) fn value_of(&self, dim: &str) -> Option<&str> {
        self.key
            .iter()
            .find(|(d, _)| d == dim)
            .map(|(_, v)| v.as_str())
    }
}

/// A dimension value shared by anomalous series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// The excess events of an incident, per value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExcessShares {
    /// `errors` or `slow_requests` (slower than the service's p95 of the hour before).
    pub of: String,
    /// Each value's share of its dimension's excess, largest first.
    pub contributions: Vec<Contribution>,
}

/// A dimension value named as a cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CauseValue {
    /// Dimension.
    pub dimension: String,
    /// Value.
    pub value: String,
}

/// A cluster of concurrent anomalies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    /// Identifier (increasing).
    pub id: u64,
    /// First anomaly.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: i64,
    /// Latest anomaly.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
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
    /// Heap bytes: its members, names, shared dimensions and contributions.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{btree_set, string, vec};
        let names =
            |set: &BTreeSet<String>| btree_set(set) + set.iter().map(|s| string(s)).sum::<usize>();
        let contributions = |c: &Vec<super::excess_cause::Contribution>| {
            vec(c)
                + c.iter()
                    .map(|c| string(&c.dimension) + string(&c.value))
                    .sum::<usize>()
        };
        names(&self.metrics)
            + names(&self.services)
            + vec(&self.shared)
            + self
                .shared
                .iter()
                .map(|s| string(&s.dimension) + string(&s.value))
                .sum::<usize>()
            + contributions(&self.contributions)
            + self
                .excess
                .as_ref()
                .map_or(0, |e| string(&e.of) + contributions(&e.contributions))
            + string(&self.probable_cause)
            + self
                .cause_value
                .as_ref()
                .map_or(0, |c| string(&c.dimension) + string(&c.value))
            + vec(&self.related)
            + vec(&self.members)
            + self
                .members
                .iter()
                .map(SeriesAnomaly::heap_bytes)
                .sum::<usize>()
    }

    pub(super) fn new(id: u64, a: &SeriesAnomaly) -> Self {
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
    pub(super) fn service(&self) -> &str {
        self.services.first().map_or("", String::as_str)
    }

    pub(super) fn add(&mut self, a: &SeriesAnomaly) {
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
}
