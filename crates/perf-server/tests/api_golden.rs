//! The wire format of the main answers, pinned: overview, profile, SLO, gate, routing
//! weights, policy, tenant, risk, capacity, degradation and go-live answers are reduced to their shape
//! (field names and value types, arrays by their first element) and compared with
//! `tests/golden/api/*.json`. Core structs are the wire format, so a renamed, removed or
//! retyped field fails here instead of silently changing the API. `UPDATE_GOLDEN=1` rewrites
//! the files (review the diff: every change is an API change).

mod common;

use axum::http::StatusCode;
use common::ecosystem::{config, ecosystem, evaluated};
use common::*;
use serde_json::{json, Map, Value};
use std::path::Path;

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

#[tokio::test]
async fn the_main_answers_keep_their_shape() {
    let t = server_with(config());
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

/// `/metrics` carries the risk, go-live and tenant decisions the answers show: callers by
/// level add up to the callers the risk answer tracks, the go-live verdict and every gate's
/// status are the answer's, and every evaluated tenant has an isolation gauge equal to its
/// recommendation.
#[tokio::test]
async fn metrics_carry_risk_levels_golive_gates_and_tenant_isolation() {
    let t = evaluated().await;
    let (_, risk) = get(&t.state, "/v1/risk/signals?minLevel=low").await;
    let (_, golive) = get(&t.state, "/v1/golive").await;
    let (_, tenants) = get(&t.state, "/v1/tenants").await;
    let req = axum::http::Request::get("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, body) = send(&t.state, req).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    let value = |prefix: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .map(|v| v.parse().unwrap())
    };
    let by_level: f64 = ["low", "moderate", "high", "critical"]
        .iter()
        .map(|l| value(&format!("ecosystem_perf_risk_callers{{level=\"{l}\"}}")).unwrap())
        .sum();
    assert!(risk["trackedCallers"].as_u64().unwrap() > 0, "{risk}");
    assert_eq!(by_level, risk["trackedCallers"].as_f64().unwrap(), "{text}");
    let verdict = golive["verdict"].as_str().unwrap();
    assert_eq!(
        value(&format!(
            "ecosystem_perf_golive_verdict{{verdict=\"{verdict}\"}}"
        )),
        Some(1.0),
        "{text}"
    );
    for gate in golive["gates"].as_array().unwrap() {
        let (name, status) = (
            gate["name"].as_str().unwrap(),
            gate["status"].as_str().unwrap(),
        );
        let line = format!("ecosystem_perf_golive_gate{{gate=\"{name}\",status=\"{status}\"}}");
        assert_eq!(value(&line), Some(1.0), "{line}: {text}");
    }
    let tenants = tenants["tenants"].as_array().unwrap();
    assert!(!tenants.is_empty());
    let rank = ["none", "monitor", "traffic_throttling", "isolate"];
    for t in tenants {
        let id = t["daoId"].as_str().unwrap();
        let gauge = value(&format!(
            "ecosystem_perf_tenant_isolation{{tenant=\"{id}\"}}"
        ))
        .unwrap_or_else(|| panic!("no isolation gauge for {id}: {text}"));
        let recommended = t["isolationRecommendation"].as_str().unwrap_or("none");
        let expected = rank.iter().position(|r| *r == recommended).unwrap() as f64;
        assert_eq!(gauge, expected, "{id}: {t}");
    }
}

/// The DAO treasury's figures are exact: the fixture's dao-a sent half of 2,400 requests at
/// 0.001 each, all this month; its share of the ecosystem's month is a half.
#[tokio::test]
async fn a_tenant_answer_carries_its_exact_cost() {
    let t = evaluated().await;
    let (status, one) = get(&t.state, "/v1/tenants/dao-a/evaluation").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let cost = &one["cost"];
    assert!(
        (cost["monthToDate"].as_f64().unwrap() - 1.2).abs() < 1e-9,
        "{cost}"
    );
    assert!(
        (cost["last24h"].as_f64().unwrap() - 1.2).abs() < 1e-9,
        "{cost}"
    );
    assert!(
        (cost["shareOfEcosystem"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{cost}"
    );
    // Twenty minutes of cost: too young for any forecast (30 minutes needed).
    assert!(cost["forecast30d"].is_null(), "{cost}");
    let (_, list) = get(&t.state, "/v1/tenants").await;
    let listed = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["daoId"] == "dao-a")
        .unwrap();
    assert_eq!(&listed["cost"], cost);
}
