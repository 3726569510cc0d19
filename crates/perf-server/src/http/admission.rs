//! Admission of requests: at most `server.limits.maxConcurrentRequests` at once (more are
//! answered 503 with `Retry-After` at once rather than queued, so a burst cannot pile up
//! memory and latency), each answered within `requestTimeout` (past it, 503; work already
//! handed to a blocking thread finishes on its own but its answer is dropped). Health,
//! readiness and metrics are exempt, so an overloaded server still says so.
//!
//! A semaphore's `try_acquire` rather than tower's `ConcurrencyLimit` + `LoadShed`: those
//! answer through an error type that needs a `HandleError` layer and gives no JSON envelope;
//! the whole policy is the ten lines below.

use crate::http::error::AppError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The admission state of one router.
pub struct Admission {
    state: Arc<AppState>,
    slots: Semaphore,
    timeout: Duration,
}

impl Admission {
    /// From the server's limits.
    pub fn new(state: Arc<AppState>) -> Arc<Admission> {
        let l = &state.durable.config.server.limits;
        Arc::new(Admission {
            slots: Semaphore::new(l.max_concurrent_requests),
            timeout: Duration::from_millis(l.request_timeout as u64),
            state: state.clone(),
        })
    }
}

fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The middleware.
pub async fn admit(
    State(admission): State<Arc<Admission>>,
    req: Request,
    next: Next,
) -> Result<Response, AppError> {
    if exempt(req.uri().path()) {
        return Ok(next.run(req).await);
    }
    let metrics = &admission.state.durable.metrics;
    let Ok(_slot) = admission.slots.try_acquire() else {
        metrics.requests_shed.fetch_add(1, Ordering::Relaxed);
        return Err(AppError::RetryLater {
            message: "the server is handling as many requests as it may (server.limits.maxConcurrentRequests); retry in a second".into(),
            retry_after_s: 1,
        });
    };
    match tokio::time::timeout(admission.timeout, next.run(req)).await {
        Ok(response) => Ok(response),
        Err(_) => {
            metrics.requests_timed_out.fetch_add(1, Ordering::Relaxed);
            Err(AppError::RetryLater {
                message: format!(
                    "the request took longer than {} ms (server.limits.requestTimeout); narrow it (a shorter window, fewer series) or retry later",
                    admission.timeout.as_millis()
                ),
                retry_after_s: 5,
            })
        }
    }
}
