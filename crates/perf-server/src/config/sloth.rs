//! Import of Sloth `prometheus/v1` specs. Sloth SLIs are Prometheus queries; ecosystem-perf
//! evaluates its own counts, so an SLI is written as a plugin of ours and the queries are
//! recognised and refused with a clear message until a Prometheus backend exists:
//!
//! ```yaml
//! version: prometheus/v1
//! service: qnet
//! slos:
//!   - name: feed-availability
//!     objective: 99.9
//!     sli:
//!       plugin:
//!         id: ecosystem-perf/availability        # or ecosystem-perf/latency
//!         options: {operation: GET /feed}        # latency: thresholdMs: "200"
//!     alerting: {name: FeedAvailability}
//! ```
//! Sloth's period is 30 days unless `window` says otherwise (a Sloth CLI flag, here a field).

use super::slo::{SloConfig, WindowConfig};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct Events {
    error_query: String,
    total_query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct Raw {
    error_ratio_query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plugin {
    id: String,
    #[serde(default)]
    options: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sli {
    #[serde(default)]
    events: Option<Events>,
    #[serde(default)]
    raw: Option<Raw>,
    #[serde(default)]
    plugin: Option<Plugin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Slo {
    name: String,
    objective: f64,
    #[serde(default)]
    description: Option<String>,
    sli: Sli,
    #[serde(default)]
    labels: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    alerting: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    window: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    version: String,
    service: String,
    #[serde(default)]
    labels: Option<serde_yaml_ng::Value>,
    slos: Vec<Slo>,
}

/// Parses a Sloth spec into native entries.
pub fn parse(text: &str) -> Result<Vec<SloConfig>, String> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let spec: Spec =
        serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner()))?;
    if spec.version != "prometheus/v1" {
        return Err(format!("version: {:?} is not prometheus/v1", spec.version));
    }
    let _ = &spec.labels;
    spec.slos
        .into_iter()
        .enumerate()
        .map(|(i, s)| convert(&spec.service, i, s))
        .collect()
}

fn convert(service: &str, i: usize, s: Slo) -> Result<SloConfig, String> {
    let field = format!("slos[{i}]");
    let _ = (&s.labels, &s.alerting);
    if !(s.objective > 0.0 && s.objective < 100.0) {
        return Err(format!(
            "{field}.objective: {} must be a percentage strictly between 0 and 100",
            s.objective
        ));
    }
    let plugin = match (s.sli.events, s.sli.raw, s.sli.plugin) {
        (None, None, Some(p)) => p,
        (Some(e), None, None) => {
            return Err(format!("{field}.sli.events: Prometheus queries ({}, {}) cannot be evaluated until a Prometheus backend exists; use sli.plugin with id ecosystem-perf/availability or ecosystem-perf/latency", e.error_query, e.total_query))
        }
        (None, Some(r), None) => {
            return Err(format!("{field}.sli.raw: the Prometheus query {} cannot be evaluated until a Prometheus backend exists; use sli.plugin", r.error_ratio_query))
        }
        _ => return Err(format!("{field}.sli: exactly one of events, raw or plugin")),
    };
    let mut options = plugin.options;
    let (sli, threshold_ms) = match plugin.id.as_str() {
        "ecosystem-perf/availability" => ("availability", None),
        "ecosystem-perf/latency" => {
            let t = options.remove("thresholdMs").ok_or(format!("{field}.sli.plugin.options.thresholdMs: required for latency"))?;
            let t: f64 = t.parse().map_err(|_| format!("{field}.sli.plugin.options.thresholdMs: {t:?} is not a number"))?;
            ("latency", Some(t))
        }
        other => return Err(format!("{field}.sli.plugin.id: {other:?} is not ecosystem-perf/availability or ecosystem-perf/latency")),
    };
    let mut take = |k: &str| options.remove(k);
    let class = match take("class") {
        None => None,
        Some(c) => Some(perf_core::model::RequestClass::parse(&c).ok_or(format!(
            "{field}.sli.plugin.options.class: {c:?} is not read, write or complex_write"
        ))?),
    };
    let config = SloConfig {
        name: s.name,
        description: s.description,
        service: service.to_string(),
        operation: take("operation"),
        class,
        node: take("node"),
        tenant: take("tenant"),
        version: take("version"),
        sli: sli.into(),
        threshold_ms,
        objective: s.objective,
        window: Some(WindowConfig::Rolling(
            s.window.unwrap_or_else(|| "30d".into()),
        )),
        budgeting_method: None,
        time_slice: None,
        time_slice_target: None,
        per_tenant: false,
        alerting: None,
        corrections: None,
        kind: None,
        members: None,
    };
    if let Some(k) = options.keys().next() {
        return Err(format!("{field}.sli.plugin.options.{k}: unknown option (operation, class, node, tenant, version, thresholdMs)"));
    }
    Ok(config)
}
