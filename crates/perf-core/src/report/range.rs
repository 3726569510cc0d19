//! Range queries: one rolled-up point per `step` over a window, for charts (the dashboard's
//! sparklines and latency-over-time panels, as Prometheus' `query_range` feeds Grafana).
//!
//! A point holds every bucket of the matching series that starts within its step, merged
//! exactly (counts add, sketches merge), so a point's p99 is the p99 of its requests, not an
//! average of per-series p99s. History kept at a coarser resolution than the step lands
//! whole on the step its bucket starts in: choose a step at least as wide as the resolution
//! that holds the window (by default 10 s for the last 15 minutes, 1 minute for the last 4
//! hours, 10 minutes for the last day, an hour before that).

use super::query::{checked, QuerySpec};
use crate::engine::Engine;
use crate::error::CoreError;
use crate::stats::Stats;
use crate::view::Dim;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most points one range query returns.
pub const MAX_RANGE_POINTS: i64 = 1_440;

/// One step of a range answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RangePoint {
    /// Step start (unix ms).
    pub ts: i64,
    /// Requests whose bucket starts in the step.
    pub count: u64,
    /// Requests per second over the step.
    pub rps: f64,
    /// Failed requests.
    pub errors: u64,
    /// `errors / count`; absent without requests.
    pub error_rate: Option<f64>,
    /// Requests over their class's p99 budget.
    pub slow: u64,
    /// Latency quantiles (ms) by quantile; absent without requests.
    pub quantiles: BTreeMap<String, Option<f64>>,
}

/// A range answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RangeResult {
    /// View.
    pub view: String,
    /// Filter applied, by dimension.
    pub filter: BTreeMap<String, String>,
    /// First step's start (unix ms, a multiple of `step`).
    pub from: i64,
    /// End of the last step (unix ms, exclusive).
    pub to: i64,
    /// Step width (ms).
    pub step: i64,
    /// One point per step, oldest first; steps without requests are present with count 0.
    pub points: Vec<RangePoint>,
}

/// Runs `spec` (its `rollup` is implied) as one point per `step` ms. The step must be a
/// positive multiple of `finest_width` (the engine's finest resolution), and the window at
/// most [`MAX_RANGE_POINTS`] steps; the window is widened to whole steps.
pub fn run_range_query(
    engine: &Engine,
    spec: &QuerySpec,
    step: i64,
    finest_width: i64,
) -> Result<RangeResult, CoreError> {
    if step <= 0 || finest_width <= 0 || step % finest_width != 0 {
        return Err(CoreError::InvalidQuery(format!(
            "step must be a positive multiple of the finest resolution ({} s), got {step} ms",
            finest_width / 1000
        )));
    }
    let spec = &checked(engine, spec)?;
    let from = spec.from.div_euclid(step) * step;
    let to = (spec.to + step - 1).div_euclid(step) * step;
    let steps = (to - from) / step;
    if steps > MAX_RANGE_POINTS {
        return Err(CoreError::InvalidQuery(format!(
            "{steps} steps asked for; at most {MAX_RANGE_POINTS} per query (a wider step or a shorter window)"
        )));
    }
    let filter: Vec<(Dim, &str)> = spec.filter.iter().map(|(d, v)| (*d, v.as_str())).collect();
    let mut points = Vec::with_capacity(steps as usize);
    for i in 0..steps {
        let start = from + i * step;
        let mut all = Stats::default();
        for (_, s) in engine.group_within(
            &spec.view,
            &filter,
            start,
            start + step,
            spec.budget.deadline,
        )? {
            all.merge(&s);
        }
        points.push(RangePoint {
            ts: start,
            count: all.requests,
            rps: all.requests as f64 * 1000.0 / step as f64,
            errors: all.errors,
            error_rate: all.error_rate(),
            slow: all.slow,
            quantiles: spec
                .quantiles
                .iter()
                .map(|q| (q.to_string(), all.latency.quantile(*q)))
                .collect(),
        });
    }
    Ok(RangeResult {
        view: spec.view.clone(),
        filter: spec
            .filter
            .iter()
            .map(|(d, v)| (d.as_str().to_string(), v.clone()))
            .collect(),
        from,
        to,
        step,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{run_query, QueryBudget};
    use crate::{EngineConfig, Event};

    fn engine() -> (Engine, i64) {
        let t0 = 1_699_999_200_000;
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        // Three minutes of qnet on two nodes, latency growing with time; a failure in ten.
        let events: Vec<Event> = (0..1800)
            .map(|i| {
                let mut e = Event::new(t0 + i * 100, "qnet", "op", 1.0 + i as f64 / 10.0);
                e.node = format!("n{}", i % 2);
                e.ok = i % 10 != 0;
                e
            })
            .collect();
        engine.ingest(&events, t0 + 180_000);
        (engine, t0)
    }

    fn spec(from: i64, to: i64) -> QuerySpec {
        QuerySpec {
            view: "service_node".into(),
            filter: vec![(Dim::Service, "qnet".into())],
            from,
            to,
            covered_ms: to - from,
            rollup: true,
            quantiles: vec![0.5, 0.99],
            budget: QueryBudget::default(),
        }
    }

    /// Every point equals the rolled-up query over its own step (the exact oracle), the points
    /// add up to the whole window, and empty steps are present with no quantiles.
    #[test]
    fn each_point_is_the_query_of_its_step() {
        let (engine, t0) = engine();
        let whole = spec(t0 - 60_000, t0 + 240_000);
        let r = run_range_query(&engine, &whole, 60_000, 10_000).unwrap();
        assert_eq!(r.points.len(), 5);
        assert_eq!(r.points.iter().map(|p| p.count).sum::<u64>(), 1800);
        for p in &r.points {
            let one = run_query(&engine, &spec(p.ts, p.ts + 60_000)).unwrap();
            match one.groups.first() {
                Some(g) => {
                    assert_eq!((p.count, p.errors, p.slow), (g.count, g.errors, g.slow));
                    assert_eq!(p.quantiles, g.quantiles);
                    assert!((p.rps - g.rps).abs() < 1e-9);
                }
                None => {
                    assert_eq!(p.count, 0);
                    assert_eq!(p.quantiles["0.99"], None);
                }
            }
        }
        // Latency grows with time: the p99 of the third minute is above the first's.
        let p99 = |i: usize| r.points[i].quantiles["0.99"].unwrap();
        assert!(p99(3) > p99(1), "{:?}", r.points);
        assert_eq!(r.points[1].error_rate, Some(0.1));
    }

    #[test]
    fn bad_steps_and_windows_are_refused() {
        let (engine, t0) = engine();
        let s = spec(t0, t0 + 60_000);
        for step in [0, -10_000, 15_000] {
            assert!(
                run_range_query(&engine, &s, step, 10_000).is_err(),
                "{step}"
            );
        }
        let long = spec(t0, t0 + 10_000 * (MAX_RANGE_POINTS + 1));
        let e = run_range_query(&engine, &long, 10_000, 10_000).unwrap_err();
        assert!(e.to_string().contains("at most 1440"), "{e}");
        assert!(run_range_query(&engine, &spec(t0, t0), 10_000, 10_000).is_err());
        let mut q = spec(t0, t0 + 60_000);
        q.quantiles = vec![2.0];
        assert!(run_range_query(&engine, &q, 10_000, 10_000).is_err());
        // The same checks as any query: copies of one quantile are one quantile.
        q.quantiles = vec![0.5; 10_000];
        q.budget.max_quantiles = 4;
        let r = run_range_query(&engine, &q, 10_000, 10_000).unwrap();
        assert_eq!(r.points[0].quantiles.len(), 1);
        q.filter.clear();
        q.budget.max_series = 1;
        assert!(
            run_range_query(&engine, &q, 10_000, 10_000).is_err(),
            "two series to scan"
        );
    }
}
