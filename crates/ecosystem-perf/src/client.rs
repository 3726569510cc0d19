//! A small blocking HTTP client for the online commands: base URL, bearer token, JSON
//! answers, the server's error JSON turned into a readable message, and retries with
//! exponential backoff for ingest when the server is unreachable or answers 503.

use crate::args::ServerArgs;
use anyhow::{bail, Context};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Retries after the first attempt.
const RETRIES: u32 = 5;

/// A client of one server.
pub struct ApiClient {
    http: Client,
    base: String,
    token: Option<String>,
}

impl ApiClient {
    /// A client for `args`.
    pub fn new(args: &ServerArgs) -> anyhow::Result<Self> {
        let http = Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(ApiClient {
            http,
            base: args.server.trim_end_matches('/').to_string(),
            token: args.token.clone(),
        })
    }

    fn auth(&self, req: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// `GET path` as JSON.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .auth(self.http.get(&url))
            .send()
            .with_context(|| format!("connecting to {}", self.base))?;
        read_json(check(resp)?, &url)
    }

    /// `GET path` as text.
    pub fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .auth(self.http.get(&url))
            .send()
            .with_context(|| format!("connecting to {}", self.base))?;
        check(resp)?
            .text()
            .with_context(|| format!("reading the answer of {url}"))
    }

    /// `POST path` without a body, the answer's bytes streamed into `out` (written to
    /// `out.partial` and renamed when complete). Returns the bytes written and the answer's
    /// headers. Long: a backup of a large directory takes a while.
    pub fn post_to_file(
        &self,
        path: &str,
        out: &std::path::Path,
    ) -> anyhow::Result<(u64, reqwest::header::HeaderMap)> {
        let url = format!("{}{path}", self.base);
        let http = Client::builder()
            .timeout(Duration::from_secs(3600))
            .build()?;
        let resp = self
            .auth(http.post(&url))
            .send()
            .with_context(|| format!("connecting to {}", self.base))?;
        let mut resp = check(resp)?;
        let headers = resp.headers().clone();
        let tmp = out.with_extension("partial");
        let written = (|| -> anyhow::Result<u64> {
            let mut f = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            let n = std::io::copy(&mut resp, &mut f)
                .with_context(|| format!("reading the answer of {url}"))?;
            f.sync_all()?;
            std::fs::rename(&tmp, out)?;
            Ok(n)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        Ok((written?, headers))
    }

    /// `POST path` with a JSON body; the JSON answer. A 400 or 409 is the user's input.
    pub fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .auth(self.http.post(&url))
            .json(body)
            .send()
            .with_context(|| format!("connecting to {}", self.base))?;
        let status = resp.status();
        if status == StatusCode::BAD_REQUEST || status == StatusCode::CONFLICT {
            let value: serde_json::Value = resp.json().unwrap_or(serde_json::Value::Null);
            return Err(crate::exit::BadInput(error_message(status, &value)).into());
        }
        read_json(check(resp)?, &url)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> anyhow::Result<()> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .auth(self.http.delete(&url))
            .send()
            .with_context(|| format!("connecting to {}", self.base))?;
        check(resp)?;
        Ok(())
    }

    /// `POST path` with an NDJSON body, retrying on connection errors and 503. Returns the
    /// status and the JSON answer (200 and 400 both carry an ingest answer).
    pub fn post_ndjson(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(StatusCode, serde_json::Value)> {
        let url = format!("{}{path}", self.base);
        let mut delay = Duration::from_millis(200);
        // One key for every attempt at this batch: a cluster stores a retried batch once
        // (an unacknowledged publish may still have been stored).
        let key = idempotency_key();
        for attempt in 0..=RETRIES {
            let req = self
                .auth(self.http.post(&url))
                .header("content-type", "application/x-ndjson")
                .header("idempotency-key", &key)
                .body(body.clone());
            match req.send() {
                Ok(resp)
                    if resp.status() == StatusCode::SERVICE_UNAVAILABLE && attempt < RETRIES => {}
                Ok(resp)
                    if resp.status() == StatusCode::OK
                        || resp.status() == StatusCode::BAD_REQUEST =>
                {
                    let status = resp.status();
                    let mut value: serde_json::Value =
                        resp.json().context("reading the ingest answer")?;
                    crate::terminal_safe::defang(&mut value);
                    if value.get("accepted").is_none() {
                        bail!("{}", error_message(status, &value));
                    }
                    return Ok((status, value));
                }
                Ok(resp) => {
                    check(resp)?;
                    bail!("unexpected answer");
                }
                Err(e) if (e.is_connect() || e.is_timeout()) && attempt < RETRIES => {
                    tracing::debug!(error = %e, attempt, "retrying");
                }
                Err(e) => return Err(e).with_context(|| format!("connecting to {}", self.base)),
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        bail!(
            "the server at {} kept answering 503 (unavailable)",
            self.base
        )
    }
}

fn error_message(status: StatusCode, value: &serde_json::Value) -> String {
    let mut value = value.clone();
    crate::terminal_safe::defang(&mut value);
    let msg = value
        .pointer("/error/message")
        .and_then(|m| m.as_str())
        .unwrap_or("no details");
    format!("server answered {status}: {msg}")
}

/// The JSON answer as `T`, its strings made safe for a terminal first.
fn read_json<T: DeserializeOwned>(resp: Response, url: &str) -> anyhow::Result<T> {
    let mut value: serde_json::Value = resp
        .json()
        .with_context(|| format!("reading the answer of {url}"))?;
    crate::terminal_safe::defang(&mut value);
    serde_json::from_value(value).with_context(|| format!("reading the answer of {url}"))
}

fn check(resp: Response) -> anyhow::Result<Response> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status();
    let value: serde_json::Value = resp.json().unwrap_or(serde_json::Value::Null);
    if status == StatusCode::BAD_REQUEST {
        // Built from the user's flags: their input is what is wrong (exit 2, as for POST).
        return Err(crate::exit::BadInput(error_message(status, &value)).into());
    }
    bail!("{}", error_message(status, &value))
}

/// A key no other batch of any process uses: pid, time and a counter.
fn idempotency_key() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("cli-{}-{nanos:x}-{n}", std::process::id())
}

/// Percent-encodes a path segment or query value (everything but unreserved characters).
pub fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
