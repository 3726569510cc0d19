//! Guards against other web pages, for a server a browser can reach.
//!
//! Without tokens the server listens on loopback only, and anything running in the user's
//! browser can still talk to it: a page on another site can POST a `text/plain` body without
//! a CORS preflight (CSRF on ingest, baselines, rollouts), open a WebSocket to the stream, or
//! point its own domain at 127.0.0.1 (DNS rebinding) and read the answers. So, in no-token
//! mode:
//! - a request whose `Host` is not a loopback name (`localhost`, `127.x.x.x`, `[::1]`) is
//!   refused (DNS rebinding: the page's `Host` is its own domain);
//! - a request with an `Origin` other than the server's own (scheme-less `host:port` equal
//!   to `Host`) is refused — this covers cross-site POSTs and WebSocket handshakes.
//!
//! In every mode, a body sent with `POST`/`PUT` must say what it is: JSON
//! (`application/json`), NDJSON (`application/x-ndjson` and its aliases) or, for SLO
//! definitions, YAML; anything else (a form, `text/plain`) gets 415. Browsers cannot send
//! those types cross-origin without a preflight, which this server never grants.

use crate::http::error::AppError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

/// Media types a request body may have.
const JSON_TYPES: [&str; 6] = [
    "application/json",
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonlines",
    "application/x-jsonlines",
    "application/openslo+yaml",
];
/// YAML is accepted for SLO definitions only.
const YAML_TYPES: [&str; 3] = ["application/yaml", "application/x-yaml", "text/yaml"];

/// The middleware.
pub async fn guard(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Result<Response, AppError> {
    if state.durable.config.auth.tokens.is_empty() {
        check_host_and_origin(req.headers())?;
    }
    if matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        check_content_type(req.headers(), req.uri().path())?;
    }
    Ok(next.run(req).await)
}

/// The host part of a `host[:port]` authority.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

fn is_loopback_name(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn check_host_and_origin(headers: &HeaderMap) -> Result<(), AppError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(host) = host {
        if !is_loopback_name(host_of(host)) {
            return Err(AppError::Forbidden(format!(
                "Host {host:?} is not a loopback name; without auth.tokens this server answers only requests addressed to localhost, 127.0.0.1 or [::1]"
            )));
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let authority = origin
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    if host.is_some_and(|h| h.eq_ignore_ascii_case(authority)) {
        return Ok(());
    }
    Err(AppError::Forbidden(format!(
        "cross-origin request from {origin:?} refused; without auth.tokens only pages served by this server may call it"
    )))
}

fn check_content_type(headers: &HeaderMap, path: &str) -> Result<(), AppError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        let empty = headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
            || (!headers.contains_key(header::CONTENT_LENGTH)
                && !headers.contains_key(header::TRANSFER_ENCODING));
        return if empty {
            Ok(())
        } else {
            Err(unsupported("no Content-Type"))
        };
    };
    let media = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let yaml_ok = path.starts_with("/v1/slos/");
    if JSON_TYPES.contains(&media.as_str()) || (yaml_ok && YAML_TYPES.contains(&media.as_str())) {
        Ok(())
    } else {
        Err(unsupported(&format!("Content-Type {media:?}")))
    }
}

fn unsupported(what: &str) -> AppError {
    AppError::UnsupportedMediaType(format!(
        "{what}: send the body as application/json (or application/x-ndjson for events; application/yaml for SLO definitions)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn loopback_hosts_and_same_origin_pass() {
        for host in [
            "localhost:9470",
            "127.0.0.1:9470",
            "[::1]:9470",
            "127.8.9.10",
        ] {
            assert!(
                check_host_and_origin(&headers(&[(header::HOST, host)])).is_ok(),
                "{host}"
            );
        }
        let same = headers(&[
            (header::HOST, "127.0.0.1:9470"),
            (header::ORIGIN, "http://127.0.0.1:9470"),
        ]);
        assert!(check_host_and_origin(&same).is_ok());
    }

    #[test]
    fn rebinding_and_cross_origin_are_refused() {
        let rebound = headers(&[(header::HOST, "evil.example:9470")]);
        assert!(check_host_and_origin(&rebound).is_err());
        let cross = headers(&[
            (header::HOST, "127.0.0.1:9470"),
            (header::ORIGIN, "https://evil.example"),
        ]);
        assert!(check_host_and_origin(&cross).is_err());
        let null = headers(&[(header::HOST, "127.0.0.1:9470"), (header::ORIGIN, "null")]);
        assert!(check_host_and_origin(&null).is_err());
    }

    #[test]
    fn bodies_must_say_they_are_json() {
        let ok = headers(&[(header::CONTENT_TYPE, "application/json; charset=utf-8")]);
        assert!(check_content_type(&ok, "/v1/events").is_ok());
        let text = headers(&[(header::CONTENT_TYPE, "text/plain")]);
        assert!(check_content_type(&text, "/v1/events").is_err());
        let form = headers(&[(header::CONTENT_TYPE, "application/x-www-form-urlencoded")]);
        assert!(check_content_type(&form, "/v1/baselines").is_err());
        let yaml = headers(&[(header::CONTENT_TYPE, "application/yaml")]);
        assert!(check_content_type(&yaml, "/v1/slos/x").is_ok());
        assert!(check_content_type(&yaml, "/v1/events").is_err());
        let untyped = headers(&[(header::CONTENT_LENGTH, "12")]);
        assert!(check_content_type(&untyped, "/v1/events").is_err());
        let empty = headers(&[(header::CONTENT_LENGTH, "0")]);
        assert!(check_content_type(&empty, "/v1/rollouts/r/evaluate").is_ok());
    }
}
