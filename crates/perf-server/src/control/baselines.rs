//! Baselines: frozen from live aggregates over a window, or imported from a baseline file,
//! and kept in the store; what the gate, rollouts and regressions compare against.

use super::deploy::window_ms;
use super::ControlError;
use crate::durable::Durable;
use perf_core::compare::baseline::Selector;
use perf_core::compare::Baseline;
use perf_store::Document;
use serde::Deserialize;

/// Store kind of baselines.
pub const DOC_KIND: &str = "baseline";

/// What `POST /v1/baselines` takes (unless the body is a baseline file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct FreezeRequest {
    service: String,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    version: Option<String>,
    /// Window ending now (default 1h); or `from` and `to`.
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

/// Every stored baseline, oldest first.
pub fn all(d: &Durable) -> Result<Vec<Baseline>, ControlError> {
    let docs = d.store().list_documents(DOC_KIND)?;
    Ok(docs
        .iter()
        .filter_map(|d| Baseline::from_json(d).ok())
        .collect())
}

/// One stored baseline.
pub fn get(d: &Durable, id: &str) -> Result<Baseline, ControlError> {
    let doc = d
        .store()
        .get_document(DOC_KIND, id)?
        .ok_or_else(|| ControlError::NotFound(format!("no baseline {id:?}")))?;
    Baseline::from_json(&doc).map_err(|e| ControlError::Internal(e.to_string()))
}

/// The most recent baseline of a service.
pub fn latest_of(d: &Durable, service: &str) -> Result<Option<Baseline>, ControlError> {
    Ok(all(d)?
        .into_iter()
        .filter(|b| b.service == service)
        .max_by_key(|b| b.created_at))
}

/// Stores a new baseline; a taken id is a conflict.
pub fn save(d: &Durable, b: &Baseline) -> Result<(), ControlError> {
    let exists = d.store().get_document(DOC_KIND, &b.id)?.is_some();
    if exists {
        return Err(ControlError::Conflict(format!(
            "a baseline {:?} exists; delete it first or choose another id",
            b.id
        )));
    }
    let body = serde_json::to_string(b).map_err(|e| ControlError::Internal(e.to_string()))?;
    d.store().put_document(&Document {
        kind: DOC_KIND.into(),
        id: b.id.clone(),
        service: b.service.clone(),
        body,
        at_ms: b.created_at,
    })?;
    Ok(())
}

/// Checks a baseline id.
pub fn valid_id(id: &str) -> Result<(), ControlError> {
    if id.is_empty()
        || id.len() > 200
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        return Err(ControlError::Invalid(format!(
            "id: {id:?} must be 1–200 characters of letters, digits, - _ . :"
        )));
    }
    Ok(())
}

/// Freezes the live requests of a selector over a window (or `from`–`to`) as a baseline.
pub fn freeze(d: &Durable, req: &FreezeRequest, now: i64) -> Result<Baseline, ControlError> {
    freeze_from(&d.engine(), req, now)
}

/// [`freeze`] from the given aggregates (every partition's, for a go-live freeze in a
/// cluster whose partitions are owned by leases).
pub fn freeze_from(
    engine: &perf_core::Engine,
    req: &FreezeRequest,
    now: i64,
) -> Result<Baseline, ControlError> {
    let (from, to) = match (&req.from, &req.to, &req.window) {
        (Some(f), Some(t), None) => {
            let p = |field: &str, v: &str| {
                perf_core::time::parse_timestamp(v)
                    .map_err(|e| ControlError::Invalid(format!("{field}: {e}")))
            };
            (p("from", f)?, p("to", t)?)
        }
        (None, None, w) => {
            let w = window_ms("window", w.as_deref().unwrap_or("1h"))?;
            (now - w, now + 1)
        }
        _ => {
            return Err(ControlError::Invalid(
                "give either window, or both from and to".into(),
            ))
        }
    };
    if from >= to {
        return Err(ControlError::Invalid("from must be before to".into()));
    }
    let selector = Selector {
        service: Some(req.service.clone()),
        operation: req.operation.clone(),
        version: req.version.clone(),
    };
    let ops = perf_core::compare::baseline::samples_from_engine(engine, &selector, from, to)
        .map_err(|e| ControlError::Invalid(e.to_string()))?;
    let id = req.id.clone().unwrap_or_else(|| {
        format!(
            "{}-{}-{}",
            req.service,
            req.version.as_deref().unwrap_or("all"),
            perf_core::time::compact_utc(now)
        )
    });
    Ok(Baseline::new(
        id,
        &selector,
        req.service.clone(),
        (from, to),
        now,
        ops,
    ))
}

/// Checks and stores a new baseline (frozen or imported).
pub fn add(d: &Durable, baseline: &Baseline) -> Result<(), ControlError> {
    valid_id(&baseline.id)?;
    if baseline.requests == 0 {
        return Err(ControlError::Invalid(format!(
            "no requests of {}{}{} in the window: a baseline needs data",
            baseline.service,
            baseline
                .version
                .as_deref()
                .map(|v| format!(" version {v}"))
                .unwrap_or_default(),
            baseline
                .operation
                .as_deref()
                .map(|o| format!(" operation {o}"))
                .unwrap_or_default(),
        )));
    }
    save(d, baseline)
}
