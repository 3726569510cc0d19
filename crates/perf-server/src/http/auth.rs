//! Bearer-token authentication with scopes. Without configured tokens every request passes
//! (the server then refuses to listen beyond loopback, see `lib.rs`, and `browser.rs` guards
//! against other web pages). `/healthz`, `/readyz`, the dashboard page and its `/assets/` are
//! open.
//!
//! What each scope allows, by method and path ([`required_scope`]):
//! - `ingest`: `POST /v1/events`, `POST /v1/resources`;
//! - `read`: every `GET`, and the two evaluations that change nothing
//!   (`POST /v1/gates/evaluate`, `POST /v1/policy/evaluate`) — a read never mutates;
//! - `admin`: everything else (SLO definitions, baselines, rollouts and their evaluation),
//!   and every other scope.
//!
//! A **tenant token** (`tenant: dao-x`) is confined to its tenant: it may send events (those
//! without a tenant get its tenant; naming another is refused), read `GET /v1/tenants` (its
//! own entry only) and `GET /v1/tenants/{its id}/evaluation`; nothing else.
//!
//! Tokens are compared by SHA-256 digest in constant time (`subtle`), so the configuration
//! may hold only the digest (`sha256:`, printed by `ecosystem-perf token hash`), and neither
//! the token nor which configured token nearly matched leaks through response times.
//! Browsers cannot set headers on WebSockets, so `/v1/stream` also takes `?token=`.

use crate::config::tokens::{digest, parse_digest};
use crate::config::Scope;
use crate::http::error::AppError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;

use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Who sent a request, as the handlers see it (a request extension).
#[derive(Debug, Clone, Default)]
pub struct Principal {
    /// The tenant a tenant token is confined to.
    pub tenant: Option<String>,
    /// The name of the token presented (`None` when the server runs without tokens).
    pub token: Option<String>,
}

/// The scope a request needs, or `None` for the open endpoints.
pub fn required_scope(method: &Method, path: &str) -> Option<Scope> {
    match (method, path) {
        (
            &Method::GET | &Method::HEAD,
            "/healthz" | "/readyz" | "/" | "/api" | "/v1/openapi.json",
        ) => None,
        (&Method::GET | &Method::HEAD, p) if p.starts_with("/assets/") => None,
        (&Method::POST, "/v1/events" | "/v1/resources") => Some(Scope::Ingest),
        (&Method::GET | &Method::HEAD, _) => Some(Scope::Read),
        (&Method::POST, "/v1/gates/evaluate" | "/v1/policy/evaluate" | "/v1/slos/preview") => {
            Some(Scope::Read)
        }
        _ => Some(Scope::Admin),
    }
}

/// Whether a tenant token for `tenant` may make this request.
fn tenant_may(tenant: &str, method: &Method, path: &str) -> bool {
    match (method, path) {
        (&Method::POST, "/v1/events") => true,
        (&Method::GET | &Method::HEAD, "/v1/tenants") => true,
        (&Method::GET | &Method::HEAD, p) => p
            .strip_prefix("/v1/tenants/")
            .and_then(|rest| rest.strip_suffix("/evaluation"))
            .is_some_and(|id| percent_decoded(id) == tenant),
        _ => false,
    }
}

/// A path segment with `%XX` escapes decoded (tenant ids may hold any character).
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn presented_token(req: &Request) -> Option<String> {
    if let Some(v) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = v.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    if req.uri().path() == "/v1/stream" {
        return req
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")))
            .map(percent_decoded);
    }
    None
}

/// One configured token, ready to compare.
struct KnownToken {
    digest: [u8; 32],
    name: String,
    scopes: Vec<Scope>,
    tenant: Option<String>,
    limiter: Option<governor::DefaultDirectRateLimiter>,
}

/// The tokens of one router, with their rate limiters.
pub struct Auth {
    state: Arc<AppState>,
    tokens: Vec<KnownToken>,
}

impl Auth {
    /// Digests and limiters from the configuration (validated: every token has a secret).
    pub fn new(state: Arc<AppState>) -> Arc<Auth> {
        let tokens = state
            .durable
            .config
            .auth
            .tokens
            .iter()
            .map(|t| KnownToken {
                digest: match (&t.sha256, &t.token) {
                    (Some(hex), _) => parse_digest(hex).unwrap_or_default(),
                    (None, Some(plain)) => digest(plain),
                    // Refused by `Config::validate`; a digest nobody can present.
                    (None, None) => digest(&format!("\0unset\0{}", t.name)),
                },
                name: t.name.clone(),
                scopes: t.scopes.clone(),
                tenant: t.tenant.clone(),
                limiter: t.rate_limit.map(|r| {
                    let quota = governor::Quota::per_second(
                        std::num::NonZeroU32::new(r.per_second)
                            .unwrap_or(std::num::NonZeroU32::MIN),
                    )
                    .allow_burst(
                        std::num::NonZeroU32::new(r.burst).unwrap_or(std::num::NonZeroU32::MIN),
                    );
                    governor::RateLimiter::direct(quota)
                }),
            })
            .collect();
        Arc::new(Auth { state, tokens })
    }
}

/// The middleware.
pub async fn require_token(
    State(auth): State<Arc<Auth>>,
    mut req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let Some(scope) = required_scope(req.method(), req.uri().path()) else {
        return Ok(next.run(req).await);
    };
    if auth.tokens.is_empty() {
        req.extensions_mut().insert(Principal::default());
        return Ok(next.run(req).await);
    }
    let presented = presented_token(&req)
        .ok_or_else(|| AppError::Unauthorized("send Authorization: Bearer <token>".into()))?;
    let presented = digest(&presented);
    // Every configured token is compared, whichever matches: no early exit to time.
    let mut found = None;
    for t in &auth.tokens {
        if bool::from(t.digest.ct_eq(&presented)) {
            found = Some(t);
        }
    }
    let token = found.ok_or_else(|| AppError::Unauthorized("unknown token".into()))?;
    if !token.scopes.contains(&scope) && !token.scopes.contains(&Scope::Admin) {
        return Err(AppError::Forbidden(format!(
            "token {:?} lacks the {} scope this request needs",
            token.name,
            scope_name(scope)
        )));
    }
    if let Some(tenant) = &token.tenant {
        if !tenant_may(tenant, req.method(), req.uri().path()) {
            return Err(AppError::Forbidden(format!(
                "token {:?} is confined to tenant {tenant:?}: it may send events and read /v1/tenants and /v1/tenants/{{its id}}/evaluation only",
                token.name
            )));
        }
    }
    if let Some(limiter) = &token.limiter {
        if let Err(not_until) = limiter.check() {
            auth.state
                .durable
                .metrics
                .requests_rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            return Err(AppError::TooManyRequests {
                message: format!(
                    "token {:?} is over its rate limit (auth.tokens[].rateLimit)",
                    token.name
                ),
                retry_after_s: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
    }
    req.extensions_mut().insert(Principal {
        tenant: token.tenant.clone(),
        token: Some(token.name.clone()),
    });
    Ok(next.run(req).await)
}

/// The scope's name as tokens and the OpenAPI document spell it.
pub fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Ingest => "ingest",
        Scope::Read => "read",
        Scope::Admin => "admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_never_need_more_than_read_and_mutations_need_admin() {
        let get = |p| required_scope(&Method::GET, p);
        assert_eq!(get("/v1/slos"), Some(Scope::Read));
        assert_eq!(get("/healthz"), None);
        assert_eq!(
            get("/assets/app.js"),
            None,
            "the dashboard's files hold no data"
        );
        assert_eq!(
            required_scope(&Method::POST, "/assets/app.js"),
            Some(Scope::Admin)
        );
        assert_eq!(
            required_scope(&Method::POST, "/v1/events"),
            Some(Scope::Ingest)
        );
        for (m, p) in [
            (Method::PUT, "/v1/slos/x"),
            (Method::DELETE, "/v1/slos/x"),
            (Method::POST, "/v1/baselines"),
            (Method::DELETE, "/v1/baselines/b"),
            (Method::POST, "/v1/rollouts"),
            (Method::POST, "/v1/rollouts/r/evaluate"),
            (Method::POST, "/v1/anything-new"),
        ] {
            assert_eq!(required_scope(&m, p), Some(Scope::Admin), "{m} {p}");
        }
        assert_eq!(
            required_scope(&Method::POST, "/v1/gates/evaluate"),
            Some(Scope::Read)
        );
    }

    #[test]
    fn a_tenant_token_reaches_only_its_tenant() {
        assert!(tenant_may("dao-a", &Method::POST, "/v1/events"));
        assert!(!tenant_may("dao-a", &Method::POST, "/v1/resources"));
        assert!(tenant_may(
            "dao a",
            &Method::GET,
            "/v1/tenants/dao%20a/evaluation"
        ));
        assert!(!tenant_may(
            "dao-a",
            &Method::GET,
            "/v1/tenants/dao-b/evaluation"
        ));
        assert!(!tenant_may("dao-a", &Method::GET, "/v1/overview"));
    }
}
