//! The Grafana dashboard in `deploy/grafana/ecosystem-perf.json` (issue 22) asks only for what
//! the server exports: every metric a query names has a `# TYPE` line on a live server's
//! `/metrics` (a histogram's `_bucket` and `_count` its base name), and every label a query
//! groups by or a legend shows is on that metric's samples when it has any. The server has an
//! SLO, ingested and rejected events, a resource sample and one evaluation cycle, so that
//! most metrics have samples.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use std::collections::{BTreeMap, BTreeSet};

/// Every `expr` and its `legendFormat` under `v`.
fn targets(v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(e) = m.get("expr").and_then(|e| e.as_str()) {
                let legend = m.get("legendFormat").and_then(|l| l.as_str()).unwrap_or("");
                out.push((e.to_string(), legend.to_string()));
            }
            m.values().for_each(|v| targets(v, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| targets(v, out)),
        _ => {}
    }
}

/// Identifiers of the form `ecosystem_perf_…` in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("ecosystem_perf_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// Labels a query groups by (`by (a, b)`) and a legend shows (`{{a}}`).
fn labels_used(expr: &str, legend: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find("by (") {
        let tail = &rest[i + 4..];
        let end = tail.find(')').unwrap_or(tail.len());
        out.extend(tail[..end].split(',').map(|l| l.trim().to_string()));
        rest = &tail[end..];
    }
    let mut rest = legend;
    while let Some(i) = rest.find("{{") {
        let tail = &rest[i + 2..];
        let end = tail.find("}}").unwrap_or(tail.len());
        out.insert(tail[..end].trim().to_string());
        rest = &tail[end..];
    }
    out.retain(|l| !l.is_empty() && l != "le");
    out
}

#[tokio::test]
async fn every_dashboard_query_names_an_exported_metric_and_its_labels() {
    let config = perf_server::Config {
        slos: serde_yaml_ng::from_str(
            "- {name: qnet-availability, service: qnet, sli: availability, objective: 99.9}
- {name: qnet-per-dao, service: qnet, sli: availability, objective: 99.5, perTenant: true}",
        )
        .unwrap(),
        ..Default::default()
    };
    let t = server_with(config);
    let events = r#"[{"service":"qnet","operation":"a","node":"n1","latencyMs":1},
        {"service":"qnet","operation":"b","node":"n1","latencyMs":2,"ok":false,"tenant":"dao-a"},
        {"service":"qnet","operation":"c","latencyMs":-1}]"#;
    ingest(&t.state, "/v1/events", "application/json", events).await;
    ingest(
        &t.state,
        "/v1/resources",
        "application/json",
        r#"[{"service":"qnet","node":"n1","cpu":0.5,"capacityRps":100}]"#,
    )
    .await;
    perf_server::evaluate_cycle(&t.state).unwrap();
    let _ = get(&t.state, "/v1/overview").await;
    let (_, bytes) = send(
        &t.state,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    let exposition = String::from_utf8(bytes).unwrap();
    // Exported names (from TYPE lines) and the labels seen on each one's samples.
    let mut exported: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap().to_string();
            exported.entry(name).or_default();
        } else if !line.starts_with('#') {
            let (name, labels) = match line.split_once('{') {
                Some((n, l)) => (n, l.split('}').next().unwrap_or("")),
                None => (line.split(' ').next().unwrap_or(""), ""),
            };
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|b| exported.contains_key(*b)))
                .unwrap_or(name);
            if let Some(seen) = exported.get_mut(base) {
                seen.extend(
                    labels
                        .split(',')
                        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.trim().to_string())),
                );
            }
        }
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/grafana/ecosystem-perf.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(dashboard["uid"], "ecosystem-perf");
    let mut queries = Vec::new();
    targets(&dashboard, &mut queries);
    assert!(queries.len() >= 20, "{} queries", queries.len());
    let mut problems = Vec::new();
    for (expr, legend) in &queries {
        let names = metric_names(expr);
        if names.is_empty() {
            problems.push(format!("no metric in {expr}"));
        }
        let mut labels_seen = BTreeSet::new();
        let mut with_samples = false;
        for name in &names {
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|b| exported.contains_key(*b)))
                .unwrap_or(name);
            match exported.get(base) {
                None => problems.push(format!("{name} is not exported ({expr})")),
                Some(seen) => {
                    with_samples |= !seen.is_empty();
                    labels_seen.extend(seen.iter().cloned());
                }
            }
        }
        if with_samples {
            for l in labels_used(expr, legend) {
                if l != "instance" && !labels_seen.contains(&l) {
                    problems.push(format!("label {l} is on no sample of {names:?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
