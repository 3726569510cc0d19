//! Generic queries over any view: filter on any of its dimensions, any window (the last N,
//! or `[from, to)`), per series or rolled up across keys, any quantiles. The reports
//! (overview, profile) are fixed shapes of this; `GET /v1/query` exposes it directly.

use crate::engine::Engine;
use crate::error::CoreError;
use crate::stats::Stats;
use crate::view::Dim;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What to ask.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    /// View name.
    pub view: String,
    /// Dimension values that must match.
    pub filter: Vec<(Dim, String)>,
    /// First bucket start included (unix ms).
    pub from: i64,
    /// End, exclusive.
    pub to: i64,
    /// Milliseconds the rates divide by.
    pub covered_ms: i64,
    /// Merge every matching series into one group.
    pub rollup: bool,
    /// Quantiles in [0, 1].
    pub quantiles: Vec<f64>,
    /// What the query may cost.
    pub budget: QueryBudget,
}

/// Bounds on one query's work, so that one request cannot hold the engine for seconds or
/// build an answer of hundreds of megabytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryBudget {
    /// Distinct quantiles at most.
    pub max_quantiles: usize,
    /// Series the query may scan (those its filter leaves as candidates).
    pub max_series: usize,
    /// The query gives up past this instant.
    pub deadline: Option<std::time::Instant>,
}

impl Default for QueryBudget {
    fn default() -> Self {
        QueryBudget {
            max_quantiles: usize::MAX,
            max_series: usize::MAX,
            deadline: None,
        }
    }
}

/// One group of the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryGroup {
    /// Dimension values (empty when rolled up).
    pub key: BTreeMap<String, String>,
    /// Requests.
    pub count: u64,
    /// Requests per second.
    pub rps: f64,
    /// Failed requests.
    pub errors: u64,
    /// Failed share.
    pub error_rate: Option<f64>,
    /// Cache hits over lookups.
    pub cache_hit_rate: Option<f64>,
    /// Cost per request.
    pub cost_per_request: Option<f64>,
    /// Requests over their class's latency budget.
    pub slow: u64,
    /// Exact smallest latency.
    pub min: Option<f64>,
    /// Exact largest latency.
    pub max: Option<f64>,
    /// Latency quantiles, keyed by the quantile as written (`"0.99"`).
    pub quantiles: BTreeMap<String, Option<f64>>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryResult {
    /// View.
    pub view: String,
    /// Dimensions of the view, in key order.
    pub dims: Vec<Dim>,
    /// Window start (unix ms).
    pub from: i64,
    /// Window end (unix ms, exclusive).
    pub to: i64,
    /// Groups, busiest first.
    pub groups: Vec<QueryGroup>,
}

fn group_of(key: BTreeMap<String, String>, s: &Stats, spec: &QuerySpec) -> QueryGroup {
    QueryGroup {
        key,
        count: s.requests,
        rps: s.requests as f64 * 1000.0 / spec.covered_ms.max(1) as f64,
        errors: s.errors,
        error_rate: s.error_rate(),
        cache_hit_rate: s.cache_hit_rate(),
        cost_per_request: s.cost_per_request(),
        slow: s.slow,
        min: s.latency.min(),
        max: s.latency.max(),
        quantiles: spec
            .quantiles
            .iter()
            .map(|q| (q.to_string(), s.latency.quantile(*q)))
            .collect(),
    }
}

/// `spec` checked against its budget and the engine (quantiles in [0, 1], a non-empty window,
/// at most `max_quantiles` distinct quantiles, a known view, at most `max_series` series to
/// scan), with its quantiles sorted and deduplicated: what every query of a view runs on.
pub(crate) fn checked(engine: &Engine, spec: &QuerySpec) -> Result<QuerySpec, CoreError> {
    if let Some(q) = spec.quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        return Err(CoreError::InvalidQuery(format!(
            "quantile {q} is outside [0, 1]"
        )));
    }
    if spec.from >= spec.to {
        return Err(CoreError::InvalidQuery("from must be before to".into()));
    }
    let mut distinct = spec.quantiles.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if distinct.len() > spec.budget.max_quantiles {
        return Err(CoreError::InvalidQuery(format!(
            "{} distinct quantiles asked for; at most {} per query",
            distinct.len(),
            spec.budget.max_quantiles
        )));
    }
    engine.view(&spec.view)?;
    let filter: Vec<(Dim, &str)> = spec.filter.iter().map(|(d, v)| (*d, v.as_str())).collect();
    let candidates = engine.candidate_series(&spec.view, &filter)?;
    if candidates > spec.budget.max_series {
        return Err(CoreError::InvalidQuery(format!(
            "the query would scan {candidates} series of view {}, more than {} per query; filter on a service or another dimension",
            spec.view, spec.budget.max_series
        )));
    }
    Ok(QuerySpec {
        quantiles: distinct,
        ..spec.clone()
    })
}

/// Runs a query.
pub fn run_query(engine: &Engine, spec: &QuerySpec) -> Result<QueryResult, CoreError> {
    let spec = &checked(engine, spec)?;
    let dims = engine.view(&spec.view)?.def.dims.clone();
    let filter: Vec<(Dim, &str)> = spec.filter.iter().map(|(d, v)| (*d, v.as_str())).collect();
    let groups = engine.group_within(
        &spec.view,
        &filter,
        spec.from,
        spec.to,
        spec.budget.deadline,
    )?;
    let mut out: Vec<QueryGroup> = if spec.rollup {
        let mut all = Stats::default();
        groups.iter().for_each(|(_, s)| all.merge(s));
        vec![group_of(BTreeMap::new(), &all, spec)]
    } else {
        groups
            .iter()
            .map(|(key, s)| {
                let key = dims
                    .iter()
                    .zip(key)
                    .map(|(d, v)| (d.as_str().to_string(), v.clone()))
                    .collect();
                group_of(key, s, spec)
            })
            .collect()
    };
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    Ok(QueryResult {
        view: spec.view.clone(),
        dims,
        from: spec.from,
        to: spec.to,
        groups: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EngineConfig, Event};

    #[test]
    fn groups_roll_up_and_refuse_bad_specs() {
        let t0 = 1_699_999_200_000;
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        let events: Vec<Event> = (0..100)
            .map(|i| {
                let mut e = Event::new(t0 + i * 100, "qnet", "op", i as f64 + 1.0);
                e.node = format!("n{}", i % 2);
                e.ok = i % 10 != 0;
                e
            })
            .collect();
        engine.ingest(&events, t0 + 10_000);
        let mut spec = QuerySpec {
            view: "service_node".into(),
            filter: vec![(Dim::Service, "qnet".into())],
            from: t0,
            to: t0 + 20_000,
            covered_ms: 20_000,
            rollup: false,
            quantiles: vec![0.5, 1.0],
            budget: QueryBudget::default(),
        };
        let r = run_query(&engine, &spec).unwrap();
        assert_eq!(r.groups.len(), 2);
        assert_eq!(r.groups[0].key["node"], "n0");
        assert_eq!(r.groups[0].count, 50);
        spec.rollup = true;
        let r = run_query(&engine, &spec).unwrap();
        assert_eq!((r.groups[0].count, r.groups[0].errors), (100, 10));
        assert_eq!(r.groups[0].max, Some(100.0));
        assert!((r.groups[0].rps - 5.0).abs() < 1e-9);
        spec.filter.push((Dim::Node, "n1".into()));
        assert_eq!(run_query(&engine, &spec).unwrap().groups[0].count, 50);
        spec.quantiles = vec![1.5];
        assert!(run_query(&engine, &spec).is_err());
        spec.quantiles = vec![0.5];
        spec.view = "nope".into();
        assert!(matches!(
            run_query(&engine, &spec),
            Err(CoreError::UnknownView(_))
        ));
    }

    fn engine_with_services(n: usize) -> Engine {
        let t0 = 1_699_999_200_000;
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        let events: Vec<Event> = (0..n)
            .map(|i| Event::new(t0 + i as i64, &format!("svc{i}"), "op", 1.0 + i as f64))
            .collect();
        engine.ingest(&events, t0 + 60_000);
        engine
    }

    fn spec_over(view: &str, budget: QueryBudget) -> QuerySpec {
        QuerySpec {
            view: view.into(),
            filter: Vec::new(),
            from: 1_699_999_200_000 - 60_000,
            to: 1_699_999_200_000 + 120_000,
            covered_ms: 180_000,
            rollup: false,
            quantiles: vec![0.5],
            budget,
        }
    }

    /// Issue 14 (6): 10,000 copies of one quantile are one quantile; too many distinct ones,
    /// too many series or a spent time budget are refused instead of run.
    #[test]
    fn budgets_bound_quantiles_series_and_time() {
        let engine = engine_with_services(600);
        let budget = QueryBudget {
            max_quantiles: 4,
            max_series: 1_000,
            deadline: None,
        };
        let mut spec = spec_over("service_operation", budget);
        spec.quantiles = vec![0.99; 10_000];
        let r = run_query(&engine, &spec).unwrap();
        assert_eq!(r.groups.len(), 600);
        assert_eq!(r.groups[0].quantiles.len(), 1);
        spec.quantiles = (1..=5).map(|q| q as f64 / 10.0).collect();
        let err = run_query(&engine, &spec).unwrap_err().to_string();
        assert!(err.contains("5 distinct quantiles"), "{err}");
        spec.quantiles = vec![0.5];
        spec.budget.max_series = 599;
        let err = run_query(&engine, &spec).unwrap_err().to_string();
        assert!(err.contains("would scan 600 series"), "{err}");
        spec.filter = vec![(Dim::Service, "svc7".into())];
        assert_eq!(run_query(&engine, &spec).unwrap().groups.len(), 1);
        spec.filter.clear();
        spec.budget.max_series = 1_000;
        spec.budget.deadline = Some(std::time::Instant::now() - std::time::Duration::from_secs(1));
        let err = run_query(&engine, &spec).unwrap_err().to_string();
        assert!(err.contains("time budget"), "{err}");
    }
}
