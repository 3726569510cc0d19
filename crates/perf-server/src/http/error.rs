//! One error type for every handler, mapped to a status in one table, answered as
//! `{"error": {"code": "…", "message": "…"}}`. Client errors are not logged; internal errors
//! log their cause and answer a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed or invalid.
    #[error("{0}")]
    BadRequest(String),
    /// No or a wrong bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// The token lacks the scope.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing by that name.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. a read-only SLO).
    #[error("{0}")]
    Conflict(String),
    /// The body is over the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The body is not of a type this endpoint reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The token is over its rate limit (429 with `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        /// What happened.
        message: String,
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// The client did not send the request in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// No such method on this path.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The server is shutting down or cannot take writes now.
    #[error("{0}")]
    Unavailable(String),
    /// Cannot take this now; a retry after `retry_after_s` seconds may succeed (503 with
    /// `Retry-After`).
    #[error("{message}")]
    RetryLater {
        /// What happened.
        message: String,
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// Anything else.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            AppError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            AppError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            AppError::RetryLater { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let AppError::Internal(cause) = &self {
            tracing::error!(error = ?cause, "request failed");
        }
        let body = json!({"error": {"code": code, "message": self.to_string()}});
        let mut response = (status, Json(body)).into_response();
        if let AppError::RetryLater { retry_after_s, .. }
        | AppError::TooManyRequests { retry_after_s, .. } = &self
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, (*retry_after_s).into());
        }
        response
    }
}

impl From<crate::control::ControlError> for AppError {
    fn from(e: crate::control::ControlError) -> Self {
        use crate::control::ControlError;
        match e {
            ControlError::NotFound(m) => AppError::NotFound(m),
            ControlError::Invalid(m) => AppError::BadRequest(m),
            ControlError::Conflict(m) => AppError::Conflict(m),
            ControlError::Store(e) => AppError::Internal(e.into()),
            ControlError::Internal(m) => AppError::Internal(anyhow::anyhow!(m)),
        }
    }
}
