//! Import of OpenSLO v1 `kind: SLO` documents. The metric source of type `ecosystem-perf`
//! carries our selectors; a `prometheus` source is recognised and refused with a clear
//! message until a Prometheus backend exists.
//!
//! ```yaml
//! apiVersion: openslo/v1
//! kind: SLO
//! metadata: {name: feed-latency}
//! spec:
//!   service: qnet
//!   indicator:
//!     metadata: {name: feed-latency}
//!     spec:
//!       thresholdMetric:
//!         metricSource: {type: ecosystem-perf, spec: {operation: GET /feed}}
//!   timeWindow: [{duration: 28d, isRolling: true}]     # or {duration: 1M, calendar: {startTime: …, timeZone: Europe/Berlin}}
//!   budgetingMethod: Occurrences                       # Timeslices, RatioTimeslices
//!   objectives: [{op: lte, value: 200, target: 0.99}]  # thresholdMetric: latency ≤ value ms
//! ```
//! A `ratioMetric` counts availability: `good` and `total` both name an `ecosystem-perf`
//! source; the good one says `{good: ok}` (successful requests) or `{good: latency,
//! thresholdMs: 200}`.

use super::openslo_meta::Metadata;
use super::slo::{SloConfig, WindowConfig};
use perf_core::model::RequestClass;
use perf_core::slo::CalendarUnit;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SourceSpec {
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    class: Option<RequestClass>,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    good: Option<String>,
    #[serde(default)]
    threshold_ms: Option<f64>,
    #[serde(default)]
    query: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetricSource {
    #[serde(rename = "type")]
    kind: String,
    spec: SourceSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metric {
    metric_source: MetricSource,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RatioMetric {
    #[serde(default)]
    counter: Option<bool>,
    good: Metric,
    total: Metric,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SliSpec {
    #[serde(default)]
    ratio_metric: Option<RatioMetric>,
    #[serde(default)]
    threshold_metric: Option<Metric>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Indicator {
    #[serde(default)]
    metadata: Option<Metadata>,
    spec: SliSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Calendar {
    /// Accepted; periods start at calendar boundaries in `timeZone`.
    #[serde(default, rename = "startTime")]
    _start_time: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TimeWindow {
    duration: String,
    #[serde(default)]
    is_rolling: Option<bool>,
    #[serde(default)]
    calendar: Option<Calendar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Objective {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    op: Option<String>,
    #[serde(default)]
    value: Option<f64>,
    target: Option<f64>,
    #[serde(default)]
    target_percent: Option<f64>,
    #[serde(default)]
    time_slice_target: Option<f64>,
    #[serde(default)]
    time_slice_window: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    description: Option<String>,
    service: String,
    #[serde(default)]
    indicator: Option<Indicator>,
    #[serde(default)]
    indicator_ref: Option<String>,
    time_window: Vec<TimeWindow>,
    budgeting_method: String,
    objectives: Vec<Objective>,
    #[serde(default)]
    alert_policies: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Document {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

fn source(field: &str, m: &MetricSource) -> Result<(), String> {
    match m.kind.as_str() {
        "ecosystem-perf" => Ok(()),
        "prometheus" | "Prometheus" => Err(format!(
            "{field}.metricSource.type: prometheus queries ({}) are kept in the file but cannot be evaluated until a Prometheus backend exists; use type: ecosystem-perf",
            m.spec.query.as_deref().unwrap_or("no query")
        )),
        other => Err(format!("{field}.metricSource.type: {other:?} is not supported (ecosystem-perf)")),
    }
}

fn window(windows: &[TimeWindow]) -> Result<WindowConfig, String> {
    let [w] = windows else {
        return Err("spec.timeWindow: exactly one time window".into());
    };
    match (&w.calendar, w.is_rolling.unwrap_or(w.calendar.is_none())) {
        (None, true) => {
            perf_core::duration::parse_duration(&w.duration)
                .map_err(|e| format!("spec.timeWindow[0].duration: {e}"))?;
            Ok(WindowConfig::Rolling(w.duration.clone()))
        }
        (Some(c), false) => {
            let calendar = match w.duration.as_str() {
                "1w" | "7d" | "1W" => CalendarUnit::Week,
                "1M" => CalendarUnit::Month,
                "1Q" | "3M" => CalendarUnit::Quarter,
                other => {
                    return Err(format!(
                    "spec.timeWindow[0].duration: {other:?} is not a calendar period (1w, 1M, 1Q)"
                ))
                }
            };
            Ok(WindowConfig::Calendar {
                calendar,
                time_zone: c.time_zone.clone(),
            })
        }
        _ => Err(
            "spec.timeWindow[0]: isRolling must be true without a calendar and false with one"
                .into(),
        ),
    }
}

/// Parses the OpenSLO `kind: SLO` documents of a YAML text (several documents may be
/// separated by `---`; documents of other kinds are skipped) into native entries.
pub fn parse(text: &str) -> Result<Vec<SloConfig>, String> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = serde_yaml_ng::Value::deserialize(doc)
            .map_err(|e| format!("document {}: {e}", i + 1))?;
        let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let api = value
            .get("apiVersion")
            .and_then(|k| k.as_str())
            .unwrap_or("");
        if super::openslo_composite::API_VERSIONS.contains(&api) && kind == "SLO" {
            out.push(
                super::openslo_composite::convert(value)
                    .map_err(|e| format!("document {}: {e}", i + 1))?,
            );
            continue;
        }
        if api != "openslo/v1" {
            return Err(format!(
                "document {}: apiVersion: {api:?} is not openslo/v1 (or openslo.com/v2alpha for a composite SLO)",
                i + 1
            ));
        }
        match kind {
            "SLO" => {}
            "SLI"
            | "Service"
            | "AlertPolicy"
            | "AlertCondition"
            | "AlertNotificationTarget"
            | "DataSource" => continue,
            other => {
                return Err(format!(
                    "document {}: kind: {other:?} is not an OpenSLO v1 kind",
                    i + 1
                ))
            }
        }
        let doc: Document = serde_path_to_error::deserialize(value)
            .map_err(|e| format!("document {}: {}: {}", i + 1, e.path(), e.inner()))?;
        out.push(convert(doc).map_err(|e| format!("document {}: {e}", i + 1))?);
    }
    Ok(out)
}

fn convert(doc: Document) -> Result<SloConfig, String> {
    let _ = (&doc.api_version, &doc.kind, &doc.spec.alert_policies);
    let indicator = match (doc.spec.indicator, doc.spec.indicator_ref) {
        (Some(i), None) => i,
        (None, Some(r)) => {
            return Err(format!(
                "spec.indicatorRef: {r:?}: put the SLI inline under spec.indicator"
            ))
        }
        _ => {
            return Err(
                "spec.indicator: required (exactly one of indicator or indicatorRef)".into(),
            )
        }
    };
    let [objective] = doc.spec.objectives.as_slice() else {
        return Err("spec.objectives: exactly one objective (write one SLO per objective)".into());
    };
    let target = match (objective.target, objective.target_percent) {
        (Some(t), None) => t,
        (None, Some(p)) => super::slo::fraction_of_percent(p),
        _ => return Err("spec.objectives[0].target: required (a fraction, e.g. 0.999)".into()),
    };
    if !(target > 0.0 && target < 1.0) {
        return Err(format!(
            "spec.objectives[0].target: {target} must be a fraction strictly between 0 and 1"
        ));
    }
    let (spec, sli, threshold_ms) = match (
        indicator.spec.ratio_metric,
        indicator.spec.threshold_metric,
    ) {
        (Some(r), None) => {
            source(
                "spec.indicator.spec.ratioMetric.good",
                &r.good.metric_source,
            )?;
            source(
                "spec.indicator.spec.ratioMetric.total",
                &r.total.metric_source,
            )?;
            let _ = r.counter;
            let good = &r.good.metric_source.spec;
            match good.good.as_deref() {
                Some("ok") | None => (r.total.metric_source.spec, "availability", None),
                Some("latency") => {
                    let t = good.threshold_ms.ok_or("spec.indicator.spec.ratioMetric.good.metricSource.spec.thresholdMs: required for good: latency")?;
                    (r.total.metric_source.spec, "latency", Some(t))
                }
                Some(other) => return Err(format!("spec.indicator.spec.ratioMetric.good.metricSource.spec.good: {other:?} is not ok or latency")),
            }
        }
        (None, Some(t)) => {
            source("spec.indicator.spec.thresholdMetric", &t.metric_source)?;
            let value = objective.value.ok_or("spec.objectives[0].value: the latency threshold in ms is required with a thresholdMetric")?;
            match objective.op.as_deref() {
                Some("lte") | Some("lt") => {}
                other => {
                    return Err(format!(
                        "spec.objectives[0].op: {other:?}: latency objectives use lte or lt"
                    ))
                }
            }
            (t.metric_source.spec, "latency", Some(value))
        }
        _ => {
            return Err("spec.indicator.spec: exactly one of ratioMetric or thresholdMetric".into())
        }
    };
    let (budgeting_method, time_slice, time_slice_target) = match doc.spec.budgeting_method.as_str()
    {
        "Occurrences" => (None, None, None),
        "Timeslices" => (
            Some("timeslices".to_string()),
            objective.time_slice_window.clone(),
            Some(
                objective
                    .time_slice_target
                    .ok_or("spec.objectives[0].timeSliceTarget: required for Timeslices")
                    .map(super::slo::percent_of_fraction)?,
            ),
        ),
        "RatioTimeslices" => (
            Some("ratio_timeslices".to_string()),
            objective.time_slice_window.clone(),
            None,
        ),
        other => {
            return Err(format!(
                "spec.budgetingMethod: {other:?} is not Occurrences, Timeslices or RatioTimeslices"
            ))
        }
    };
    let _ = (
        &objective.display_name,
        &indicator.metadata,
        &indicator.spec.description,
    );
    Ok(SloConfig {
        name: doc.metadata.name,
        description: doc.spec.description,
        service: doc.spec.service,
        operation: spec.operation,
        class: spec.class,
        node: spec.node,
        tenant: spec.tenant,
        version: spec.version,
        sli: sli.into(),
        threshold_ms,
        objective: super::slo::percent_of_fraction(target),
        window: Some(window(&doc.spec.time_window)?),
        budgeting_method,
        time_slice,
        time_slice_target,
        per_tenant: false,
        alerting: None,
        corrections: None,
        kind: None,
        members: None,
    })
}
