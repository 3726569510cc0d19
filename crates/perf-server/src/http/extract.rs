//! Extractors whose rejections are the API's JSON error envelope: axum's own answer
//! `text/plain`, which clients parsing `{"error": …}` cannot read; and [`parse_json`] for
//! bodies, which names the path of a bad field.

use crate::http::error::AppError;
use axum::extract::{FromRequestParts, Path, Query};
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

/// `Path<T>`, with a 400 in the error envelope for a path segment that does not decode
/// (bad percent-encoding, not UTF-8).
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| ApiPath(p))
            .map_err(|e| AppError::BadRequest(format!("bad path: {}", e.body_text())))
    }
}

/// Parses a body that is JSON (by its content type) or else YAML, naming the path of a bad
/// field.
pub fn parse_json_or_yaml<T: DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<T, AppError> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let text = std::str::from_utf8(body)
        .map_err(|_| AppError::BadRequest("the body is not UTF-8".into()))?;
    if ct.contains("json") {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| AppError::BadRequest(format!("{}: {}", e.path(), e.inner())))
    } else {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| AppError::BadRequest(format!("{}: {}", e.path(), e.inner())))
    }
}

/// Parses a JSON body, naming the path of a bad field.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest(
            "the body is empty; send a JSON object".into(),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            AppError::BadRequest(e.inner().to_string())
        } else {
            AppError::BadRequest(format!("{path}: {}", e.inner()))
        }
    })
}
