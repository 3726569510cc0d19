//! The wire format of the main answers, pinned: overview, profile, SLO, gate, routing
//! weights, policy, tenant, risk, capacity, degradation and go-live answers are reduced to their shape
//! (field names and value types, arrays by their first element) and compared with
//! `tests/golden/api/*.json`. Core structs are the wire format, so a renamed, removed or
//! retyped field fails here instead of silently changing the API. `UPDATE_GOLDEN=1` rewrites
//! the files (review the diff: every change is an API change).

mod common;

use axum::http::StatusCode;
use common::*;
use perf_server::config::slo::SloConfig;
use perf_server::config::{ClockMode, Config};
use serde_json::{json, Map, Value};
use std::path::Path;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;

/// Field names and value types; an array by its first element.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::Object(o) => {
            let mut m = Map::new();
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            for k in keys {
                m.insert(k.clone(), shape(&o[k]));
            }
            Value::Object(m)
        }
    }
}

fn assert_shape(name: &str, answer: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/api")
        .join(format!("{name}.json"));
    let actual = serde_json::to_string_pretty(&shape(answer)).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        actual,
        expected,
        "the shape of {name} changed (an API change): compare with {}",
        path.display()
    );
}

/// Twenty minutes of a service with three nodes, two versions, two tenants and callers,
/// node n2 slow and failing in the last five.
fn ecosystem() -> (String, String) {
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

#[tokio::test]
async fn the_main_answers_keep_their_shape() {
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
    let t = server_with(c);
    let (events, resources) = ecosystem();
    let (status, r) = post(&t.state, "/v1/events", "application/x-ndjson", events).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["rejected"], 0, "{r}");
    let (status, r) = post(&t.state, "/v1/resources", "application/json", resources).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    perf_server::evaluate_cycle(&t.state).unwrap();

    let reads = [
        ("overview", "/v1/overview?window=20m"),
        ("profile", "/v1/services/qnet/profile?window=20m"),
        ("slo", "/v1/slos/feed-availability"),
        ("weights", "/v1/routing/weights?service=qnet"),
        ("tenants", "/v1/tenants"),
        ("tenant", "/v1/tenants/dao-a/evaluation"),
        ("risk", "/v1/risk/signals?minLevel=low"),
        ("capacity", "/v1/capacity/qnet"),
        ("degradation", "/v1/degradation"),
        ("golive", "/v1/golive"),
    ];
    for (name, path) in reads {
        let (status, answer) = get(&t.state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        assert_shape(name, &answer);
    }
    let (status, gate) = post(
        &t.state,
        "/v1/gates/evaluate",
        "application/json",
        json!({"service": "qnet", "candidateVersion": "v2", "baselineVersion": "v1", "window": "20m"})
            .to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{gate}");
    assert_shape("gate", &gate);
    let (status, decision) = post(
        &t.state,
        "/v1/policy/evaluate",
        "application/json",
        json!({"service": "qnet", "operation": "GET /feed", "tenant": "dao-a", "priority": "batch", "cacheable": true})
            .to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decision}");
    assert_shape("policy", &decision);
}

#[test]
fn shapes_keep_names_and_types_not_values() {
    let a = json!({"b": [1, 2], "a": {"x": "s", "y": null}, "c": []});
    assert_eq!(
        shape(&a),
        json!({"a": {"x": "string", "y": "null"}, "b": ["number"], "c": []})
    );
    assert_ne!(shape(&json!({"p99": 1})), shape(&json!({"p99Ms": 1})));
}
