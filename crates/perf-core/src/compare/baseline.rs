//! A frozen baseline: what one service (optionally one operation and one version) did over a
//! window, per operation, in the form a comparison needs ([`OperationSample`]). Built from
//! the engine's views (online) or from event files (CI); written to and read from a JSON
//! file so a pipeline can keep the baseline of its last release as an artifact.

use super::sample::OperationSample;
use crate::engine::Engine;
use crate::error::CoreError;
use crate::model::{Event, EventRef};
use crate::view::Dim;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Value of `kind` in a baseline file, so that a file is recognised whatever its name.
pub const KIND: &str = "ecosystem-perf/baseline";

/// A frozen baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Baseline {
    /// Always [`KIND`].
    pub kind: String,
    /// Identifier (unique in a store).
    pub id: String,
    /// Service.
    pub service: String,
    /// Only this operation, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Only this version, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Window start.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: i64,
    /// Window end.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: i64,
    /// When it was frozen.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: i64,
    /// Requests in it.
    pub requests: u64,
    /// Per operation.
    pub operations: BTreeMap<String, OperationSample>,
}

/// Which events a baseline or candidate takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    /// Service (required to build a baseline).
    pub service: Option<String>,
    /// Operation.
    pub operation: Option<String>,
    /// Version.
    pub version: Option<String>,
}

impl Selector {
    fn takes(&self, service: &str, operation: &str, version: Option<&str>) -> bool {
        self.service.as_deref().is_none_or(|s| s == service)
            && self.operation.as_deref().is_none_or(|o| o == operation)
            && self.version.as_deref().is_none_or(|v| Some(v) == version)
    }
}

/// Events grouped by service, then operation.
pub type ByService = BTreeMap<String, BTreeMap<String, OperationSample>>;

/// Adds events matching `selector` into `into` (service → operation → sample).
pub fn collect_events<'a>(
    events: impl IntoIterator<Item = &'a Event>,
    selector: &Selector,
    into: &mut ByService,
) {
    for e in events {
        if selector.takes(&e.service, &e.operation, e.version.as_deref()) {
            sample_of(into, &e.service, &e.operation).record(e);
        }
    }
}

/// Adds one borrowed event if it matches `selector` (the offline readers' path: no event is
/// built).
pub fn collect_event_ref(e: &EventRef<'_>, selector: &Selector, into: &mut ByService) {
    if selector.takes(&e.service, &e.operation, e.version.as_deref()) {
        sample_of(into, &e.service, &e.operation).record_parts(e.latency_ms, e.ok, e.cache, e.cost);
    }
}

/// The sample of a service and operation, created on first use (looked up before inserting:
/// no key allocation per event on the hot path).
fn sample_of<'m>(
    into: &'m mut ByService,
    service: &str,
    operation: &str,
) -> &'m mut OperationSample {
    if !into.contains_key(service) {
        into.insert(service.to_string(), BTreeMap::new());
    }
    let ops = into.get_mut(service).expect("inserted above");
    if !ops.contains_key(operation) {
        ops.insert(operation.to_string(), OperationSample::keeping_values());
    }
    ops.get_mut(operation).expect("inserted above")
}

impl Baseline {
    /// A baseline of the given operations.
    pub fn new(
        id: String,
        selector: &Selector,
        service: String,
        window: (i64, i64),
        created_at: i64,
        operations: BTreeMap<String, OperationSample>,
    ) -> Self {
        Baseline {
            kind: KIND.to_string(),
            id,
            service,
            operation: selector.operation.clone(),
            version: selector.version.clone(),
            from: window.0,
            to: window.1,
            created_at,
            requests: operations.values().map(|s| s.requests).sum(),
            operations,
        }
    }

    /// Parses a baseline file, refusing anything that is not one.
    pub fn from_json(text: &str) -> Result<Self, CoreError> {
        let b: Baseline = serde_json::from_str(text)
            .map_err(|e| CoreError::InvalidQuery(format!("not a baseline file: {e}")))?;
        if b.kind != KIND {
            return Err(CoreError::InvalidQuery(format!(
                "not a baseline file: kind is {:?}, expected {KIND:?}",
                b.kind
            )));
        }
        Ok(b)
    }
}

/// Per-operation samples of a service from the engine's views over `[from, to)`: the
/// smallest view that has the operation (and the version, when one is asked for).
pub fn samples_from_engine(
    engine: &Engine,
    selector: &Selector,
    from: i64,
    to: i64,
) -> Result<BTreeMap<String, OperationSample>, CoreError> {
    let service = selector
        .service
        .as_deref()
        .ok_or_else(|| CoreError::InvalidQuery("a service is required".into()))?;
    let need_version = selector.version.is_some();
    let view = engine
        .views()
        .iter()
        .filter(|v| v.def.dims.contains(&Dim::Operation))
        .filter(|v| !need_version || v.def.dims.contains(&Dim::Version))
        .min_by_key(|v| v.def.dims.len())
        .ok_or_else(|| {
            CoreError::InvalidQuery(if need_version {
                "no view groups by operation and version; add one like service_operation_version"
                    .into()
            } else {
                "no view groups by operation; add one like service_operation".into()
            })
        })?;
    let op_pos = view
        .def
        .dims
        .iter()
        .position(|d| *d == Dim::Operation)
        .unwrap_or(1);
    let mut filter: Vec<(Dim, &str)> = vec![(Dim::Service, service)];
    if let Some(o) = selector.operation.as_deref() {
        filter.push((Dim::Operation, o));
    }
    if let Some(v) = selector.version.as_deref() {
        filter.push((Dim::Version, v));
    }
    let mut merged: BTreeMap<String, crate::stats::Stats> = BTreeMap::new();
    for (key, stats) in engine.group(&view.def.name, &filter, from, to)? {
        merged.entry(key[op_pos].clone()).or_default().merge(&stats);
    }
    Ok(merged
        .into_iter()
        .map(|(op, s)| (op, OperationSample::from_stats(&s)))
        .collect())
}
