//! Alert notifications to webhook receivers in the Alertmanager webhook format (version 4),
//! so anything that takes Alertmanager's webhooks takes ours. An SLO's tiers are one
//! incident per instance ([`Incident`]): receivers hear when it opens, escalates,
//! de-escalates and resolves, under one fingerprint. Each notification is written to the
//! store's outbox for every receiver before anything is sent;
//! a delivery task POSTs what is due, marks it delivered on a 2xx, and otherwise retries
//! with exponential backoff (`alerting.retryInitial` doubling up to `retryMax`). Nothing
//! queued is lost across restarts; each notification is sent until one attempt succeeds.

use super::alerts::{AlertKind, Notice};
use crate::durable::Durable;
use perf_core::slo::{Alert, AlertState, Severity, SloStatus, Transition};
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

/// How much a tier wakes people: a page more than a ticket.
fn rank(s: Severity) -> u8 {
    match s {
        Severity::Page => 2,
        Severity::Ticket => 1,
    }
}

/// Where an SLO instance's incident stands: the tiers of an SLO are one problem, told to
/// receivers as one alert (issue 23) that opens with the first tier firing, escalates and
/// de-escalates with the highest one firing, and resolves with the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incident {
    /// No tier fires.
    Resolved,
    /// The highest tier firing.
    Firing(Severity),
}

/// The incident of `status` after transition `t` (a tier that changed in this evaluation),
/// and the tier that describes it: the highest firing (ties: the first listed), or `t`'s
/// own when none fires.
pub fn incident_now(status: &SloStatus, t: &Transition) -> (Incident, Alert) {
    let mut top: Option<&Alert> = None;
    for a in status
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
    {
        if top.is_none_or(|b| rank(a.severity) > rank(b.severity)) {
            top = Some(a);
        }
    }
    match top {
        Some(a) => (Incident::Firing(a.severity), a.clone()),
        None => (Incident::Resolved, t.alert.clone()),
    }
}

/// The labels of an SLO instance's incident (alert name, SLO, service, SLI, tenant) and its
/// fingerprint, stable while it escalates and de-escalates.
pub fn incident_identity(status: &SloStatus) -> (BTreeMap<&'static str, String>, String) {
    let mut labels: BTreeMap<&'static str, String> = BTreeMap::new();
    labels.insert("alertname", AlertKind::Slo.alertname().into());
    labels.insert("slo", status.name.clone());
    labels.insert("service", status.service.clone());
    labels.insert("sli", status.sli.to_string());
    if let Some(t) = &status.tenant {
        labels.insert("tenant", t.clone());
    }
    let incident = fingerprint(&labels);
    (labels, incident)
}

/// An SLO instance's incident as it stands now (`None` when no tier fires): its
/// fingerprint, the highest tier firing, since when the first of them fires, and which.
pub fn open_incident(status: &SloStatus) -> Option<serde_json::Value> {
    let firing: Vec<&Alert> = status
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .collect();
    let top = firing.iter().max_by_key(|a| rank(a.severity))?;
    let since = firing
        .iter()
        .map(|a| a.since_ms)
        .min()
        .unwrap_or(top.since_ms);
    Some(serde_json::json!({
        "fingerprint": incident_identity(status).1,
        "slo": status.name,
        "service": status.service,
        "tenant": status.tenant,
        "severity": top.severity,
        "since": format_rfc3339(since),
        "tiers": firing.iter().map(|a| format!("{}/{}", a.long_window, a.short_window)).collect::<Vec<_>>(),
        "summary": meaning(status),
    }))
}

/// The Alertmanager-format body of an SLO instance's incident, described by tier `a` (firing
/// or resolved). Its fingerprint is the instance's (alert name, SLO, service, SLI, tenant),
/// the same while the incident escalates and de-escalates; `severity` is the current tier.
pub fn alertmanager_payload(
    receiver: &str,
    external_url: &str,
    status: &SloStatus,
    a: &Alert,
    firing: bool,
    now_ms: i64,
) -> serde_json::Value {
    let (mut labels, incident) = incident_identity(status);
    labels.insert(
        "severity",
        if a.severity == Severity::Page {
            "page".into()
        } else {
            "ticket".into()
        },
    );
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
        a.since_ms.min(now_ms)
    };
    let alert = serde_json::json!({
        "status": if firing { "firing" } else { "resolved" },
        "labels": labels,
        "annotations": {"summary": summary, "description": description,
                        "long_window": a.long_window, "short_window": a.short_window},
        "startsAt": format_rfc3339(starts_at),
        "endsAt": if firing { "0001-01-01T00:00:00Z".to_string() } else { format_rfc3339(now_ms) },
        "generatorURL": format!("{}/v1/slos/{}", external_url.trim_end_matches('/'), status.name),
        "fingerprint": incident,
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
    let related = related(durable, &n.labels_map(), n.kind.history_kind(), &n.subject)?;
    for w in &durable.config.alerting.webhooks {
        let mut body = notice_payload(&w.name, &url, n, now_ms);
        link(&mut body, &related);
        durable
            .store()
            .enqueue_webhook(&w.name, &body.to_string(), durable.wall_now())?;
    }
    Ok(())
}

/// The alerts firing now on the service of an alert (its `service` label), other than the
/// alert itself (`kind`/`subject` in the history): an SLO burn, a ladder step, an anomaly
/// incident and a rollback on one service are likely one problem. `None` without a service.
fn related(
    durable: &Durable,
    labels: &BTreeMap<&str, String>,
    kind: &str,
    subject: &str,
) -> Result<Option<(String, Vec<String>)>, StoreError> {
    let Some(service) = labels.get("service") else {
        return Ok(None);
    };
    let mut others = std::collections::BTreeSet::new();
    for (_, r) in durable.store().open_alerts()? {
        let p: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or_default();
        let of = p["service"]
            .as_str()
            .or_else(|| p["labels"]["service"].as_str());
        if of == Some(service.as_str()) && (r.kind.as_str(), r.subject.as_str()) != (kind, subject)
        {
            others.insert(format!("{}/{}", r.kind, r.subject));
        }
    }
    Ok(Some((service.clone(), others.into_iter().collect())))
}

/// Groups a notification by its service (`groupKey`, `groupLabels`: receivers that group by
/// them, as Alertmanager's integrations do, put one service's alerts together) and names
/// the related alerts firing beside it (`related` annotation).
fn link(body: &mut serde_json::Value, related: &Option<(String, Vec<String>)>) {
    let Some((service, others)) = related else {
        return;
    };
    body["groupKey"] = serde_json::json!(format!("{{}}:{{service=\"{service}\"}}"));
    body["groupLabels"] = serde_json::json!({ "service": service });
    if !others.is_empty() {
        let line = others.join(", ");
        body["alerts"][0]["annotations"]["related"] = serde_json::json!(line);
        body["commonAnnotations"]["related"] = serde_json::json!(line);
    }
}

/// Queues an SLO instance's incident, described by tier `a`, for every receiver.
pub fn enqueue_slo(
    durable: &Durable,
    status: &SloStatus,
    a: &Alert,
    firing: bool,
    now_ms: i64,
) -> Result<(), StoreError> {
    let url = external_url(durable);
    let subject = match &status.tenant {
        Some(tenant) => format!("{}/{tenant}", status.name),
        None => status.name.clone(),
    };
    let service = BTreeMap::from([("service", status.service.clone())]);
    let related = related(durable, &service, AlertKind::Slo.history_kind(), &subject)?;
    for w in &durable.config.alerting.webhooks {
        let mut body = alertmanager_payload(&w.name, &url, status, a, firing, now_ms);
        link(&mut body, &related);
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

    fn tier(severity: Severity, long: &str, state: AlertState) -> Alert {
        Alert {
            severity,
            state,
            long_window: long.to_string().into(),
            short_window: "5m".into(),
            factor: 14.4,
            burn_rate_long: 20.0,
            burn_rate_short: 20.0,
            short_window_events: 100,
            since_ms: 0,
            since: String::new(),
            reason: None,
        }
    }

    /// A status whose alerts are `alerts`, and the transition of `changed` into it.
    fn after(alerts: Vec<Alert>, changed: Alert) -> (SloStatus, Transition) {
        let status: SloStatus = serde_json::from_value(serde_json::json!({
            "name": "feed", "service": "qnet", "tenant": null, "sli": "availability",
            "thresholdMs": null, "objective": 0.999, "window": "30d", "windowStartMs": 0,
            "budgetingMethod": "occurrences", "compliance": 0.99, "total": 100, "good": 99,
            "errorBudget": {"consumed": 0.5, "remaining": 0.5, "spent": 1.0, "total": 2.0},
            "burnRates": {}, "burnRateEvents": {}, "weeklyBudgetBurn": 0.1,
            "timeToExhaustion": "2h", "status": "warning", "alerts": alerts,
        }))
        .unwrap();
        (
            status,
            Transition {
                alert: changed,
                from: None,
            },
        )
    }

    /// The tiers of one SLO are one incident: it opens with the first tier, escalates to a
    /// page, is not touched by a second page or a ticket firing or resolving under the page
    /// (also when two change in one evaluation), de-escalates when the page resolves, and
    /// resolves with the last tier; every payload of it has the same fingerprint.
    #[test]
    fn the_tiers_of_an_slo_make_one_incident() {
        use AlertState::{Firing, Resolved};
        use Severity::{Page, Ticket};
        // What the receivers are told, as `Effects::slo_transition` decides it.
        let mut told: Option<Incident> = None;
        let mut step = |alerts: Vec<Alert>, changed: Alert| {
            let (s, t) = after(alerts, changed);
            let (incident, a) = incident_now(&s, &t);
            let send = told != Some(incident);
            told = Some(incident);
            send.then(|| (incident, a.long_window.to_string()))
        };
        let ticket_on = tier(Ticket, "1d", Firing);
        let page_on = tier(Page, "1h", Firing);
        let page6 = tier(Page, "6h", Firing);
        assert_eq!(
            step(vec![ticket_on.clone()], ticket_on.clone()),
            Some((Incident::Firing(Ticket), "1d".into()))
        );
        // Two pages fire in one evaluation (two transitions, one final status): one escalation.
        let both = vec![ticket_on.clone(), page_on.clone(), page6.clone()];
        assert_eq!(
            step(both.clone(), page6.clone()),
            Some((Incident::Firing(Page), "1h".into()))
        );
        assert_eq!(step(both.clone(), page_on.clone()), None);
        // The ticket resolves under the pages: nothing.
        let resolved_ticket = tier(Ticket, "1d", Resolved);
        assert_eq!(
            step(
                vec![page_on.clone(), page6.clone(), resolved_ticket.clone()],
                resolved_ticket.clone()
            ),
            None
        );
        // The ticket fires again and the fast page resolves: still a page (the 6h one).
        assert_eq!(
            step(
                vec![tier(Page, "1h", Resolved), page6.clone(), ticket_on.clone()],
                tier(Page, "1h", Resolved)
            ),
            None
        );
        // The last page resolves, the ticket still fires: de-escalation.
        assert_eq!(
            step(
                vec![tier(Page, "6h", Resolved), ticket_on.clone()],
                tier(Page, "6h", Resolved)
            ),
            Some((Incident::Firing(Ticket), "1d".into()))
        );
        // The last tier resolves: the incident resolves.
        assert_eq!(
            step(vec![resolved_ticket.clone()], resolved_ticket.clone()),
            Some((Incident::Resolved, "1d".into()))
        );
        // One fingerprint through escalation and resolution.
        let (s, _) = after(vec![], ticket_on.clone());
        let print = |a: &Alert, firing| {
            alertmanager_payload("r", "http://x", &s, a, firing, 0)["alerts"][0]["fingerprint"]
                .clone()
        };
        assert_eq!(print(&ticket_on, true), print(&page_on, true));
        assert_eq!(
            print(&page_on, true),
            print(&tier(Page, "1h", Resolved), false)
        );
    }
}
