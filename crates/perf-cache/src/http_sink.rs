//! [`HttpSink`]: posts batches of lookups to a server's `POST /v1/events` as a JSON array,
//! with a bearer token when given. A batch counts as sent when the server answers 200; the
//! events it refused (named in its answer) are counted, not sent again — they would be
//! refused again. Any other answer is an error: the batch is kept and sent again.

use crate::event::CacheEvent;
use crate::reporter::{Batch, Sink};
use std::time::Duration;

/// The HTTP sink.
pub struct HttpSink {
    client: reqwest::blocking::Client,
    url: String,
    token: Option<String>,
}

impl HttpSink {
    /// A sink posting to `base` (`http://host:port`), with `token` as a bearer token.
    pub fn new(base: &str, token: Option<&str>) -> Self {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client without TLS settings builds");
        HttpSink {
            client,
            url: format!("{}/v1/events", base.trim_end_matches('/')),
            token: token.map(str::to_string),
        }
    }
}

impl Sink for HttpSink {
    fn send(&mut self, batch: &Batch) -> Result<usize, String> {
        let events = CacheEvent::of_batch(batch);
        let mut req = self.client.post(&self.url).json(&events);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp.text().unwrap_or_default();
        if !status.is_success() {
            return Err(format!("{} answered {status}: {body}", self.url));
        }
        let answer: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{}: {e}", self.url))?;
        let rejected = answer["rejected"].as_u64().ok_or_else(|| {
            format!(
                "{} answered without a count of rejected events: {body}",
                self.url
            )
        })?;
        Ok(rejected as usize)
    }
}
