//! `POST /v1/events` and `POST /v1/resources`: body limits, gzip, JSON or NDJSON framing,
//! partial acceptance, and a 200 only once the accepted elements are durable.

use crate::durable::{LogBatch, ShuttingDown, WriteRefused};
use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::schemas::{ErrorBody, EventIn, ResourceIn};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use perf_core::model::{decode_events, decode_resources, BodyFormat, IngestAnswer, IngestError};
use std::io::Read;
use std::sync::Arc;

/// `POST /v1/events`.
#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "ingest",
    summary = "Ingest request events",
    request_body(content((Vec<EventIn> = "application/json"), (Vec<EventIn> = "application/x-ndjson")), description = "A JSON array of events, or NDJSON (`application/x-ndjson`), optionally gzip-encoded; an `Idempotency-Key` header makes a retry safe"),
    responses((status = 200, description = "Accepted events are durable (fsynced) before this answer; rejected ones are listed by field", body = IngestAnswer), (status = 400, description = "Every event rejected (the answer lists why) or an unreadable body", body = IngestAnswer), (status = 413, description = "Body over server.limits.maxBodyBytes", body = ErrorBody), (status = 415, description = "Not JSON or NDJSON", body = ErrorBody), (status = 429, description = "Over the ingest rate limit; see Retry-After", body = ErrorBody), (status = 503, description = "The disk refuses writes or the server is shutting down; retry later", body = ErrorBody))
)]
pub async fn post_events(
    State(state): State<Arc<AppState>>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let tenant = principal.and_then(|Extension(p)| p.tenant);
    ingest(state, headers, body, Kind::Events(tenant)).await
}

/// `POST /v1/resources`.
#[utoipa::path(
    post,
    path = "/v1/resources",
    tag = "ingest",
    summary = "Ingest resource samples",
    request_body(content((Vec<ResourceIn> = "application/json"), (Vec<ResourceIn> = "application/x-ndjson")), description = "A JSON array of resource samples, or NDJSON"),
    responses((status = 200, description = "Accepted samples are durable before this answer", body = IngestAnswer), (status = 400, description = "Every sample rejected, or an unreadable body", body = IngestAnswer), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Not JSON or NDJSON", body = ErrorBody))
)]
pub async fn post_resources(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    ingest(state, headers, body, Kind::Resources).await
}

#[derive(Clone)]
enum Kind {
    /// Events, confined to a tenant when a tenant token sent them.
    Events(Option<String>),
    Resources,
}

async fn ingest(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    kind: Kind,
) -> Result<Response, AppError> {
    if state.durable.is_shutting_down() {
        return Err(AppError::Unavailable(
            "the server is shutting down; retry against another replica or after restart".into(),
        ));
    }
    let limits = state.durable.config.server.limits.clone();
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            state.durable.metrics.reject("body_too_large", 1);
            AppError::TooLarge(format!(
                "the body is over the limit of {} bytes; send smaller batches",
                limits.max_body_bytes
            ))
        } else if body_timed_out(&e) {
            AppError::RequestTimeout(format!(
                "the body did not arrive within {} ms (server.limits.bodyTimeout); nothing was stored",
                limits.body_timeout
            ))
        } else {
            AppError::BadRequest(format!("could not read the body: {e}"))
        }
    })?;
    let format = body_format(&headers);
    let idempotency_key = idempotency_key(&headers)?;
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    // Each decompression may grow to maxDecompressedBytes: bound how many run at once.
    let decompressing = if gzip {
        Some(
            state
                .decompressions
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| AppError::Internal(e.into()))?,
        )
    } else {
        None
    };
    let worker = state.clone();
    let outcome =
        tokio::task::spawn_blocking(move || -> Result<(StatusCode, IngestAnswer), AppError> {
            let _decompressing = decompressing;
            let raw: std::borrow::Cow<[u8]> = if gzip {
                gunzip(&body, limits.max_decompressed_bytes)?.into()
            } else {
                body.as_ref().into()
            };
            let bounds = worker.durable.bounds();
            let (batch, answer) = match &kind {
                Kind::Events(tenant) => {
                    decode_events(&raw, format, &bounds, limits.max_batch_events).map(
                        |(mut v, a)| {
                            if let Some(tenant) = tenant {
                                confine_to_tenant(&mut v, tenant)?;
                            }
                            if worker.durable.config.privacy.hash_callers {
                                crate::privacy::hash_callers(
                                    worker.durable.config.privacy.key.as_bytes(),
                                    &mut v,
                                );
                            }
                            Ok::<_, AppError>((LogBatch::Events(v), a))
                        },
                    )
                }
                Kind::Resources => decode_resources(&raw, format, &bounds, limits.max_batch_events)
                    .map(|(v, a)| Ok::<_, AppError>((LogBatch::Resources(v), a))),
            }
            .map_err(|e| {
                worker.durable.metrics.reject("body", 1);
                match e {
                    IngestError::TooManyElements { .. } => AppError::TooLarge(e.to_string()),
                    _ => AppError::BadRequest(e.to_string()),
                }
            })??;
            for err in &answer.errors {
                worker.durable.metrics.reject(&err.field, 1);
            }
            if answer.rejected > answer.errors.len() {
                worker
                    .durable
                    .metrics
                    .reject("unlisted", (answer.rejected - answer.errors.len()) as u64);
            }
            if answer.accepted == 0 {
                return Ok((StatusCode::BAD_REQUEST, answer));
            }
            worker
                .durable
                .commit_once(batch, idempotency_key.as_deref())
                .map_err(|e| {
                    if e.is::<ShuttingDown>() {
                        AppError::Unavailable(e.to_string())
                    } else if let Some(refused) = e.downcast_ref::<WriteRefused>() {
                        AppError::RetryLater {
                            message: refused.to_string(),
                            retry_after_s: refused.retry_after_s,
                        }
                    } else {
                        AppError::Internal(e)
                    }
                })?;
            Ok((StatusCode::OK, answer))
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("ingest task failed: {e}")))??;
    Ok((outcome.0, Json(outcome.1)).into_response())
}

/// The `Idempotency-Key` header: with the cluster's stream, a batch sent again with the same
/// key (a retry) is stored once. Printable ASCII, at most 128 bytes.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_string()))
        }
        _ => Err(AppError::BadRequest(
            "Idempotency-Key must be 1 to 128 printable ASCII characters without spaces".into(),
        )),
    }
}

/// Gives events without a tenant the token's tenant; refuses the batch if one names another.
fn confine_to_tenant(events: &mut [perf_core::Event], tenant: &str) -> Result<(), AppError> {
    if let Some(other) = events
        .iter()
        .filter_map(|e| e.tenant.as_deref())
        .find(|t| *t != tenant)
    {
        return Err(AppError::Forbidden(format!(
            "this token sends for tenant {tenant:?} only; the batch names tenant {other:?} (nothing was stored)"
        )));
    }
    for e in events.iter_mut().filter(|e| e.tenant.is_none()) {
        e.tenant = Some(tenant.to_string());
    }
    Ok(())
}

/// True when reading the body failed on `server.limits.bodyTimeout`.
fn body_timed_out(e: &BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

fn body_format(headers: &HeaderMap) -> BodyFormat {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/x-ndjson"
        | "application/ndjson"
        | "application/jsonlines"
        | "application/x-jsonlines" => BodyFormat::Ndjson,
        _ => BodyFormat::Json,
    }
}

/// Decompresses a gzip body (several members allowed), refusing it past `limit` bytes.
pub fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            AppError::BadRequest(format!("the gzip body could not be decompressed: {e}"))
        })?;
    if out.len() > limit {
        return Err(AppError::TooLarge(format!(
            "the body decompresses to more than {limit} bytes; send smaller batches"
        )));
    }
    Ok(out)
}
