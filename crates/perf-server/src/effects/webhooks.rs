//! Alert notifications to webhook receivers in the Alertmanager webhook format (version 4),
//! so anything that takes Alertmanager's webhooks takes ours. Each firing or resolved
//! transition is written to the store's outbox for every receiver before anything is sent;
//! a delivery task POSTs what is due, marks it delivered on a 2xx, and otherwise retries
//! with exponential backoff (`alerting.retryInitial` doubling up to `retryMax`). Nothing
//! queued is lost across restarts; each notification is sent until one attempt succeeds.

use super::alerts::{AlertKind, Notice};
use crate::durable::Durable;
use perf_core::slo::{AlertState, SloStatus, Transition};
use perf_core::time::format_rfc3339;
use perf_store::StoreError;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A stable fingerprint of an alert's labels (FNV-1a 64 over the sorted pairs).
fn fingerprint(labels: &BTreeMap<&str, String>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        for b in k.bytes().chain([0]).chain(v.bytes()).chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The Alertmanager-format body for one SLO alert transition.
pub fn alertmanager_payload(
    receiver: &str,
    external_url: &str,
    status: &SloStatus,
    t: &Transition,
    now_ms: i64,
) -> serde_json::Value {
    let a = &t.alert;
    let mut labels: BTreeMap<&str, String> = BTreeMap::new();
    labels.insert("alertname", AlertKind::Slo.alertname().into());
    labels.insert("slo", status.name.clone());
    labels.insert("service", status.service.clone());
    labels.insert("sli", status.sli.to_string());
    labels.insert(
        "severity",
        if a.severity == perf_core::slo::Severity::Page {
            "page".into()
        } else {
            "ticket".into()
        },
    );
    labels.insert("long_window", a.long_window.to_string());
    labels.insert("short_window", a.short_window.to_string());
    if let Some(t) = &status.tenant {
        labels.insert("tenant", t.clone());
    }
    let firing = a.state == AlertState::Firing;
    let summary = format!(
        "{} SLO {}: {} — it burns its error budget at {:.1}× over {} and {:.1}× over {} (threshold {:.1}×)",
        status.service,
        status.name,
        meaning(status),
        a.burn_rate_long,
        a.long_window,
        a.burn_rate_short,
        a.short_window,
        a.factor
    );
    let description = format!(
        "objective {} % over {}; budget {:.1} % consumed, {:.1} % left; {} events in the {} window",
        perf_core::numeric::percent_of(status.objective),
        status.window,
        status.error_budget.consumed * 100.0,
        status.error_budget.remaining * 100.0,
        a.short_window_events,
        a.short_window
    );
    let starts_at = if firing {
        a.since_ms
    } else {
        t.alert.since_ms.min(now_ms)
    };
    let alert = serde_json::json!({
        "status": if firing { "firing" } else { "resolved" },
        "labels": labels,
        "annotations": {"summary": summary, "description": description},
        "startsAt": format_rfc3339(starts_at),
        "endsAt": if firing { "0001-01-01T00:00:00Z".to_string() } else { format_rfc3339(now_ms) },
        "generatorURL": format!("{}/v1/slos/{}", external_url.trim_end_matches('/'), status.name),
        "fingerprint": fingerprint(&labels),
    });
    serde_json::json!({
        "version": "4",
        "groupKey": format!("{{}}:{{slo=\"{}\"}}", status.name),
        "truncatedAlerts": 0,
        "status": if firing { "firing" } else { "resolved" },
        "receiver": receiver,
        "groupLabels": {"slo": status.name},
        "commonLabels": labels,
        "commonAnnotations": {"summary": summary},
        "externalURL": external_url,
        "alerts": [alert],
    })
}

/// What an SLO alert means, in one line: when the budget runs out at the last hour's rate.
pub fn meaning(status: &SloStatus) -> String {
    match status.time_to_exhaustion.as_deref() {
        _ if status.error_budget.remaining <= 0.0 => {
            format!("the {} error budget is spent", status.window)
        }
        Some(left) => format!(
            "at this rate the {} error budget is gone in {}",
            status.window, left
        ),
        None => format!(
            "{:.0} % of the {} error budget is left and it is not burning now",
            status.error_budget.remaining * 100.0,
            status.window
        ),
    }
}

fn external_url(durable: &Durable) -> String {
    durable
        .config
        .alerting
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", durable.config.server.listen))
}

/// The Alertmanager-format body of a [`Notice`].
pub fn notice_payload(
    receiver: &str,
    external_url: &str,
    n: &Notice,
    now_ms: i64,
) -> serde_json::Value {
    let alertname = n.kind.alertname();
    let mut labels: BTreeMap<&str, String> = BTreeMap::new();
    labels.insert("alertname", alertname.to_string());
    for (k, v) in &n.labels {
        labels.insert(k, v.clone());
    }
    let status = if n.firing { "firing" } else { "resolved" };
    let alert = serde_json::json!({
        "status": status,
        "labels": labels,
        "annotations": {"summary": n.summary, "description": n.description},
        "startsAt": format_rfc3339(n.since_ms.min(now_ms)),
        "endsAt": if n.firing { "0001-01-01T00:00:00Z".to_string() } else { format_rfc3339(now_ms) },
        "generatorURL": format!("{}{}", external_url.trim_end_matches('/'), n.path),
        "fingerprint": fingerprint(&labels),
    });
    serde_json::json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{alertname}\"}}"),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"alertname": alertname},
        "commonLabels": labels,
        "commonAnnotations": {"summary": n.summary},
        "externalURL": external_url,
        "alerts": [alert],
    })
}

/// Queues a notice for every receiver (the outbox is written before anything is sent).
pub fn enqueue_notice(durable: &Durable, n: &Notice, now_ms: i64) -> Result<(), StoreError> {
    let url = external_url(durable);
    for w in &durable.config.alerting.webhooks {
        let body = notice_payload(&w.name, &url, n, now_ms);
        durable
            .store()
            .enqueue_webhook(&w.name, &body.to_string(), durable.wall_now())?;
    }
    Ok(())
}

/// Queues one SLO alert transition (firing or resolved) for every receiver.
pub fn enqueue_slo(
    durable: &Durable,
    status: &SloStatus,
    t: &Transition,
    now_ms: i64,
) -> Result<(), StoreError> {
    if t.alert.state == AlertState::Pending {
        return Ok(());
    }
    let url = external_url(durable);
    for w in &durable.config.alerting.webhooks {
        let body = alertmanager_payload(&w.name, &url, status, t, now_ms);
        durable
            .store()
            .enqueue_webhook(&w.name, &body.to_string(), durable.wall_now())?;
    }
    Ok(())
}

/// Delivers due notifications until the process ends.
pub async fn deliver_forever(state: Arc<Durable>) {
    if state.config.alerting.webhooks.is_empty() {
        return;
    }
    let client = reqwest::Client::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        // In a cluster the leader delivers the shared outbox.
        if !state.is_leader() {
            continue;
        }
        if let Err(e) = deliver_due(&state, &client).await {
            tracing::warn!(error = %e, "webhook delivery round failed");
        }
    }
}

/// One delivery round over what is due now.
pub async fn deliver_due(state: &Arc<Durable>, client: &reqwest::Client) -> anyhow::Result<usize> {
    // Claimed, not just read: held back from other deliverers for as long as this round
    // can take (every item timing out), plus a margin.
    const BATCH: usize = 20;
    let longest = state
        .config
        .alerting
        .webhooks
        .iter()
        .map(|w| w.timeout.max(1))
        .max()
        .unwrap_or(10_000);
    let hold = longest * BATCH as i64 + 30_000;
    let s = state.clone();
    let due =
        tokio::task::spawn_blocking(move || s.store().claim_webhooks(s.wall_now(), BATCH, hold))
            .await??;
    let mut delivered = 0;
    for item in due {
        let Some(w) = state
            .config
            .alerting
            .webhooks
            .iter()
            .find(|w| w.name == item.receiver)
        else {
            // The receiver left the configuration: nothing can deliver it any more.
            let s = state.clone();
            tokio::task::spawn_blocking(move || s.store().webhook_delivered(item.id, s.wall_now()))
                .await??;
            continue;
        };
        let mut req = client
            .post(&w.url)
            .timeout(Duration::from_millis(w.timeout.max(1) as u64))
            .header("content-type", "application/json")
            .body(item.payload.clone());
        for (k, v) in &w.headers {
            req = req.header(k, v);
        }
        let outcome = match req.send().await {
            Ok(resp) if resp.status().is_success() => Ok(()),
            Ok(resp) => Err(format!("HTTP {}", resp.status())),
            Err(e) => Err(e.to_string()),
        };
        let s = state.clone();
        let now = state.wall_now();
        match outcome {
            Ok(()) => {
                delivered += 1;
                tokio::task::spawn_blocking(move || s.store().webhook_delivered(item.id, now))
                    .await??;
            }
            Err(error) => {
                let a = &state.config.alerting;
                let delay = a
                    .retry_initial
                    .saturating_mul(1i64 << item.attempts.clamp(0, 20))
                    .min(a.retry_max);
                tracing::debug!(receiver = %item.receiver, attempt = item.attempts + 1, %error, "webhook delivery failed");
                tokio::task::spawn_blocking(move || {
                    s.store().webhook_failed(item.id, now + delay, &error)
                })
                .await??;
            }
        }
    }
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_label_sensitive() {
        let mut a = BTreeMap::new();
        a.insert("slo", "x".to_string());
        let fa = fingerprint(&a);
        assert_eq!(fa, fingerprint(&a.clone()));
        a.insert("tenant", "dao-1".to_string());
        assert_ne!(fa, fingerprint(&a));
    }
}
