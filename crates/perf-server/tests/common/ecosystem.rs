//! The shared ecosystem fixture: twenty minutes of one service with three nodes, two
//! versions, two tenants, callers, cache outcomes and stages, and resource samples; the
//! answer-shape and OpenAPI tests read every answer of the API off it.

use perf_server::config::slo::SloConfig;
use perf_server::config::{ClockMode, Config};
use serde_json::{json, Value};

/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600_000;
pub const MINUTE: i64 = 60_000;

/// Twenty minutes of a service with three nodes, two versions, two tenants and callers,
/// node n2 slow and failing in the last five.
pub fn ecosystem() -> (String, String) {
    let mut events = Vec::new();
    for m in 0..20 {
        for i in 0..120 {
            let node = i % 3;
            let late_trouble = m >= 15 && node == 2;
            let latency = if late_trouble {
                400 + i % 50
            } else {
                12 + i % 30
            };
            let ok = !(late_trouble && i % 4 == 0);
            events.push(json!({
                "ts": T0 + m * MINUTE + i as i64 * 400,
                "service": "qnet",
                "operation": if i % 5 == 0 { "POST /route" } else { "GET /feed" },
                "class": if i % 5 == 0 { "write" } else { "read" },
                "node": format!("n{node}"),
                "version": if i % 10 == 0 { "v2" } else { "v1" },
                "tenant": if i % 2 == 0 { "dao-a" } else { "dao-b" },
                "entity": format!("caller-{}", i % 7),
                "latencyMs": latency,
                "ok": ok,
                "cache": if i % 3 == 0 { "miss" } else { "hit" },
                "cost": 0.001,
                "stages": {"db": latency as f64 * 0.6},
            }));
        }
    }
    let events: Vec<String> = events.iter().map(Value::to_string).collect();
    let resources: Vec<Value> = (0..20)
        .flat_map(|m| {
            (0..3).map(move |n| {
                json!({"ts": T0 + m * MINUTE, "service": "qnet", "node": format!("n{n}"),
                       "cpu": 0.3, "capacityRps": 50, "inflight": 2})
            })
        })
        .collect();
    (events.join("\n"), Value::Array(resources).to_string())
}

/// The configuration the fixture is read with: event clock, a ladder that climbs in one
/// cycle, an availability SLO and a per-tenant one.
pub fn config() -> Config {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    // One evaluation cycle: the ladder climbs at once, so its answer shows a level, its
    // runbook line and its history.
    c.policy.ladder.confirm = 0;
    c.slos = vec![
        serde_yaml_ng::from_str::<SloConfig>(
            "{name: feed-availability, service: qnet, sli: availability, objective: 99.9, window: 30d}",
        )
        .unwrap(),
        serde_yaml_ng::from_str::<SloConfig>(
            "{name: qnet-per-dao, service: qnet, sli: availability, objective: 99.5, perTenant: true}",
        )
        .unwrap(),
    ];
    c
}

/// A server on [`config`] holding the fixture's events and resource samples, after one
/// evaluation cycle.
pub async fn evaluated() -> super::TestServer {
    let t = super::server_with(config());
    let (events, resources) = ecosystem();
    super::ingest(&t.state, "/v1/events", "application/x-ndjson", events).await;
    super::ingest(&t.state, "/v1/resources", "application/json", resources).await;
    perf_server::evaluate_cycle(&t.state).unwrap();
    t
}
