//! Extractors whose rejections are the API's JSON error envelope: axum's own answer
//! `text/plain`, which clients parsing `{"error": …}` cannot read.

use crate::error::AppError;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// `Query<T>`, with a 400 `{"error": {"code": "bad_request", …}}` for a bad query string.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| AppError::BadRequest(format!("bad query string: {}", e.body_text())))
    }
}
