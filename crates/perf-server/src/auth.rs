//! Bearer-token authentication with scopes. Without configured tokens every request passes
//! (the server then refuses to listen beyond loopback, see `lib.rs`). `/healthz`, `/readyz`
//! and the dashboard page are open; ingest needs `ingest`, everything else `read`. Browsers
//! cannot set headers on WebSockets, so `/v1/stream` also takes `?token=`.

use crate::config::Scope;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

fn required_scope(method: &Method, path: &str) -> Option<Scope> {
    match path {
        "/healthz" | "/readyz" | "/" => None,
        "/v1/events" | "/v1/resources" if method == Method::POST => Some(Scope::Ingest),
        _ => Some(Scope::Read),
    }
}

/// Equal-time comparison, so a token cannot be guessed byte by byte from response times.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn presented_token(req: &Request) -> Option<String> {
    if let Some(v) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v.strip_prefix("Bearer ").map(|t| t.trim().to_string());
    }
    if req.uri().path() == "/v1/stream" {
        return req
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")))
            .map(str::to_string);
    }
    None
}

/// The middleware.
pub async fn require_token(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let tokens = &state.config.auth.tokens;
    let Some(scope) = required_scope(req.method(), req.uri().path()) else {
        return Ok(next.run(req).await);
    };
    if tokens.is_empty() {
        return Ok(next.run(req).await);
    }
    let presented = presented_token(&req)
        .ok_or_else(|| AppError::Unauthorized("send Authorization: Bearer <token>".into()))?;
    let token = tokens
        .iter()
        .find(|t| same(t.token.as_bytes(), presented.as_bytes()))
        .ok_or_else(|| AppError::Unauthorized("unknown token".into()))?;
    if !token.scopes.contains(&scope) && !token.scopes.contains(&Scope::Admin) {
        return Err(AppError::Forbidden(
            format!("token {:?} lacks the {scope:?} scope", token.name).to_lowercase(),
        ));
    }
    Ok(next.run(req).await)
}
