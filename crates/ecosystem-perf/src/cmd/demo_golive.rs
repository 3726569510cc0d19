//! `demo --scenario golive`: the go-live story. The demo ecosystem runs quietly, within
//! budgets an operator would sign — SLOs its base error rates meet, a cost budget twice its
//! spend, latency budgets its classes keep, every hot cache warm — so after 30 quiet minutes
//! the go-live report says `go`; every hour from minute 40 to 48 a qwallet error burst (30 %)
//! turns it `no_go`: the burst burns a week's share of the qwallet error budget. At minute 50
//! the hourly qerberos failover drill runs (`demo_drills`), after the burst so it does not
//! hide the first `go`. No canaries and no growth: nothing else disturbs the steady state.

use perf_core::model::RequestClass;
use perf_server::config::Config;
use perf_sim::{demo_ecosystem, Ecosystem, ErrorBurst, Generator, Repeating};

const MINUTE: i64 = 60_000;
/// The minute of each hour the failover drill starts at.
pub const DRILL_MINUTE: i64 = 50;
/// Seconds in 30 days.
const MONTH_S: f64 = 30.0 * 86_400.0;

/// The scenario's ecosystem: the demo's, with every cache as warm as the others — hit
/// probabilities of at least 0.88 instead of the default scenario's simulated caches with
/// keys (whose undersized and short-TTL spaces would fail the cache gate).
pub fn ecosystem(rps: f64) -> Ecosystem {
    let mut eco = demo_ecosystem(rps);
    for svc in &mut eco.services {
        for op in &mut svc.operations {
            op.cache_model = None;
            if let Some(hit) = op.cache_hit_rate {
                op.cache_hit_rate = Some(hit.max(0.88));
            }
        }
    }
    eco
}

/// The budgets and SLOs of the scenario (what the configuration leaves at its default).
pub fn configure(config: &mut Config, rps: f64) {
    let eco = ecosystem(rps);
    let per_request: f64 = eco
        .services
        .iter()
        .map(|s| s.share * s.operations.iter().map(|o| o.share * o.cost).sum::<f64>())
        .sum();
    if config.budgets.monthly_cost_budget.is_none() {
        config.budgets.monthly_cost_budget = Some(2.0 * per_request * rps * MONTH_S);
    }
    // qwallet's transfers are complex writes with a median of 95 ms: their p99 is ~340 ms.
    let slowest_complex = eco
        .services
        .iter()
        .flat_map(|s| &s.operations)
        .filter(|o| o.class == RequestClass::ComplexWrite)
        .map(|o| o.median_ms * (2.33 * o.sigma).exp())
        .fold(0.0, f64::max);
    if config.budgets.complex_write.p99_ms < slowest_complex * 1.3 {
        config.budgets.complex_write.p99_ms = (slowest_complex * 1.3 / 50.0).ceil() * 50.0;
    }
    if config.slos.is_empty() {
        let yaml = "
- {name: qwallet-availability, service: qwallet, sli: availability, objective: 99.5, window: 30d}
- {name: qnet-feed-latency, service: qnet, operation: GET /feed, sli: latency, thresholdMs: 200, objective: 99}
";
        config.slos = serde_yaml_ng::from_str(yaml).expect("the scenario's SLOs parse");
    }
}

/// The hourly qwallet error bursts.
pub fn schedule(generator: &mut Generator) {
    generator.add_incident(Box::new(Repeating::every(
        60 * MINUTE,
        ErrorBurst {
            service: "qwallet".into(),
            from_ms: 40 * MINUTE,
            to_ms: 48 * MINUTE,
            error_rate: 0.3,
        },
    )));
}
