//! The policy stage: operation policies and the degradation ladder (the Qflow hook).
//!
//! The evaluation cycle refreshes, per service: the fastest burn rate of its SLOs, the share
//! of its recent requests over their class's p99 budget (per event, so a service mixing reads
//! and writes is judged against both budgets), the adaptive concurrency limit (median latency
//! of the last 30 s; in flight from the nodes' `inflight` samples, else by Little's law; its
//! load counts for the ladder once the limit is learned, `ConcurrencyLimit::learned`) and
//! the ladder. Every signal reads the shortest window that holds `minRequests` requests: the
//! last 10 s (burn rates: to the second; slow share and rate: the view's 10-s buckets, 10-20 s),
//! else 5 minutes (burn rates) or the last minute. A short window shows a step onset at its
//! full height within one `confirm`, so the ladder takes it in one move and sees it end as
//! soon as it ends. The burn rate is the window's one-sided 95 % Wilson lower bound over the
//! allowed bad share (`burn_rate_signal`), so a handful of failures is no fast burn; the
//! ladder's calm test reads the point estimates (`burn_rate_estimate`, `slow_ratio_estimate`).
//! Transitions go on the stream (`degradation`); alerts (`EcosystemPerfDegradation`) only
//! from `alertFrom` (L2) up, one per episode: updated on level changes, resolved once the
//! level has stayed under L2 for the dwell (`Ladder::alert_change`). `POST /v1/policy/evaluate`
//! only reads the refreshed context, so a decision costs a map lookup (p99 well under 1 ms).
//! `GET /v1/degradation` lists every service's level with its reason, signals and runbook line.

use super::decisions::Memory;
use super::error::ControlError;
use super::ladders::entry_of;
use crate::durable::Durable;
use crate::effects::stream::DegradationChange;
use crate::effects::{AlertKind, Effect, Notice, StreamEvent};
use perf_core::policy::{
    burn_rate_estimate, burn_rate_signal, slow_ratio_estimate, slow_ratio_signal, AlertChange,
    ConcurrencyLimit, Ladder, LadderSignals, ServiceContext,
};
use perf_core::view::Dim;
use std::collections::HashMap;

/// Window of the recent latency the concurrency limit reads.
const SHORT_WINDOW_MS: i64 = 30_000;
/// Window of the slow share and rate the ladder reads when the recent one is too thin.
const P99_WINDOW_MS: i64 = 60_000;
/// The recent window of the slow share and rate (from the 10-s bucket holding its start).
const RECENT_WINDOW_MS: i64 = 10_000;

/// The signals and concurrency inputs of one service at `now`.
struct Reading {
    burn_rate: Option<Burn>,
    slow_ratio: Option<f64>,
    slow_ratio_estimate: Option<f64>,
    short_rtt_ms: Option<f64>,
    inflight: f64,
    capacity_utilization: Option<f64>,
}

/// A service's burn-rate signal: the largest lower bound and the largest point estimate among
/// its SLOs.
#[derive(Debug, Clone, Copy)]
struct Burn {
    lower: f64,
    estimate: f64,
}

/// The fastest burn rate of each service's SLOs, from the SLO stage's last statuses: of the
/// last 10 s when they hold `min_requests` events, else of the last 5 minutes when those do.
fn burn_rates(m: &Memory, min_requests: u64) -> HashMap<String, Burn> {
    let mut out: HashMap<String, Burn> = HashMap::new();
    let decisions = m.decisions();
    // A journey (composite SLO) is no service's own: its members drive their services.
    for s in decisions
        .slos
        .iter()
        .flatten()
        .filter(|s| s.sli != "composite")
    {
        let (bad, events) = if s.fast.total >= min_requests.max(1) {
            (s.fast.bad(), s.fast.total)
        } else {
            let events = s.burn_rate_events.get("5m").copied().unwrap_or(0);
            let Some(rate) = s.burn_rates.get("5m").copied() else {
                continue;
            };
            // The bad events behind the rate.
            let bad = (rate * (1.0 - s.objective) * events as f64).round() as u64;
            (bad, events)
        };
        // The rate their lower bound allows: the ladder enters a level on a burn that is
        // significant, not on a handful of failures.
        let bad = bad.min(events);
        if let (Some(lower), Some(estimate)) = (
            burn_rate_signal(bad, events, s.objective, min_requests),
            burn_rate_estimate(bad, events, s.objective, min_requests),
        ) {
            let m = out
                .entry(s.service.clone())
                .or_insert(Burn { lower, estimate });
            m.lower = m.lower.max(lower);
            m.estimate = m.estimate.max(estimate);
        }
    }
    out
}

fn read(d: &Durable, burn_rate: Option<Burn>, service: &str, now: i64) -> Reading {
    let min_requests = d.config.policy.ladder.min_requests;
    let engine = d.engine();
    let view = engine.views()[0].def.name.clone();
    let filter = [(Dim::Service, service)];
    // The recent window (the 10-s bucket holding now − 10 s and after) when it holds
    // `minRequests` requests, else the last minute.
    let recent_from = (now - RECENT_WINDOW_MS).div_euclid(RECENT_WINDOW_MS) * RECENT_WINDOW_MS;
    let (minute, rate_window) = match engine.query(&view, &filter, recent_from, now + 1).ok() {
        Some(s) if s.requests >= min_requests.max(1) => (Some(s), (now + 1 - recent_from)),
        _ => (
            engine
                .query(&view, &filter, now - P99_WINDOW_MS, now + 1)
                .ok(),
            P99_WINDOW_MS,
        ),
    };
    // Requests over their class's p99 budget (the engine counts them per event), in units of
    // the 1 % a p99 allows: the one-sided 95 % lower bound of the share, so that a few slow
    // requests among few are not read as a 100 % slow service; below `minRequests`, no signal.
    let slow_ratio = minute
        .as_ref()
        .and_then(|s| slow_ratio_signal(s.slow, s.requests, min_requests));
    let slow_ratio_estimate = minute
        .as_ref()
        .and_then(|s| slow_ratio_estimate(s.slow, s.requests, min_requests));
    let recent = engine
        .query(&view, &filter, now - SHORT_WINDOW_MS, now + 1)
        .ok();
    let short_rtt_ms = recent.as_ref().and_then(|s| s.latency.quantile(0.5));
    let nodes: Vec<_> = engine.resources().of_service(service).collect();
    let declared: Vec<u64> = nodes.iter().filter_map(|(_, r)| r.last.inflight).collect();
    let inflight = if !declared.is_empty() {
        declared.iter().sum::<u64>() as f64
    } else {
        // Little's law: arrival rate × mean time in the system.
        recent.as_ref().map_or(0.0, |s| {
            let rate = s.requests as f64 * 1000.0 / SHORT_WINDOW_MS as f64;
            let mean_s = if s.latency.count() > 0 {
                s.latency.sum() / s.latency.count() as f64 / 1000.0
            } else {
                0.0
            };
            rate * mean_s
        })
    };
    let capacity: f64 = nodes.iter().filter_map(|(_, r)| r.last.capacity_rps).sum();
    let capacity_utilization = (capacity > 0.0).then(|| {
        minute
            .as_ref()
            .map_or(0.0, |s| s.requests as f64 * 1000.0 / rate_window as f64)
            / capacity
    });
    Reading {
        burn_rate,
        slow_ratio,
        slow_ratio_estimate,
        short_rtt_ms,
        inflight,
        capacity_utilization,
    }
}

/// Refreshes every service's context and ladder (the evaluation cycle).
pub fn evaluate(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let services = d.engine().services();
    let config = &d.config.policy;
    let burn = burn_rates(m, config.ladder.min_requests);
    let mut effects = Vec::new();
    for svc in services {
        let r = read(d, burn.get(&svc).copied(), &svc, now);
        let mut decisions = m.decisions();
        let ps = &mut decisions.policy;
        let limit = ps.limits.entry(svc.clone()).or_insert_with(|| {
            ConcurrencyLimit::new((r.inflight * 2.0).max(config.min_concurrency))
        });
        if let Some(rtt) = r.short_rtt_ms {
            limit.update(
                rtt,
                r.inflight,
                d.config.server.evaluation_interval as f64,
                config,
            );
        }
        let limit = *limit;
        let load = limit.load();
        // The limit's load is evidence once the limit is learned; declared capacity at once.
        let limit_load = limit.learned().then_some(load);
        let utilization = match (r.capacity_utilization, limit_load) {
            (Some(u), Some(l)) => Some(u.max(l)),
            (u, l) => u.or(l),
        };
        let signals = LadderSignals {
            burn_rate: r.burn_rate.map(|b| b.lower),
            slow_ratio: r.slow_ratio,
            utilization,
            burn_rate_estimate: r.burn_rate.map(|b| b.estimate),
            slow_ratio_estimate: r.slow_ratio_estimate,
        };
        let ladder = ps
            .ladders
            .entry(svc.clone())
            .or_insert_with(|| Ladder::new(now));
        let transition = ladder.update(signals, now, &config.ladder);
        let alert = ladder.alert_change(now, &config.ladder);
        let level = ladder.level;
        let ladder_view = ladder.clone();
        ps.contexts.insert(
            svc.clone(),
            ServiceContext {
                level,
                load,
                concurrency_limit: limit.limit,
                burn_rate: r.burn_rate.map_or(0.0, |b| b.lower),
                slow_ratio: r.slow_ratio.unwrap_or(0.0),
            },
        );
        // Every transition goes on the stream; alerts only from `alertFrom` (L2) up, one
        // alert per episode (updated while it lasts, resolved after the dwell under L2).
        let notice = (alert != AlertChange::Nothing).then(|| {
            let firing = alert != AlertChange::Resolve;
            decisions.firing.set(AlertKind::Degradation, &svc, firing);
            let summary = match &transition {
                Some(t) => format!("{svc}: degradation L{} → L{} ({})", t.from, t.to, t.reason),
                None => format!(
                    "{svc}: degradation L{level}, under L{} for {} s",
                    config.ladder.alert_from,
                    ladder_view.dwell_ms.max(config.ladder.dwell) / 1000
                ),
            };
            (firing, summary)
        });
        drop(decisions);
        let entry = (transition.is_some() || notice.is_some())
            .then(|| entry_of(d, &svc, &ladder_view, Some(&limit)));
        if let (Some(t), Some(entry)) = (&transition, &entry) {
            effects.push(Effect::Stream(StreamEvent::Degradation(
                DegradationChange {
                    service: svc.clone(),
                    from: t.from,
                    to: t.to,
                    reason: t.reason.clone(),
                    level: entry.clone(),
                },
            )));
        }
        if let (Some((firing, summary)), Some(entry)) = (notice, &entry) {
            effects.push(Effect::Alert(Notice {
                kind: AlertKind::Degradation,
                subject: svc.clone(),
                labels: vec![
                    ("service", svc.clone()),
                    (
                        "severity",
                        if level >= 3 { "page" } else { "ticket" }.into(),
                    ),
                ],
                summary,
                description: entry
                    .runbook
                    .clone()
                    .unwrap_or_else(|| "back to normal operation".into()),
                firing,
                since_ms: now,
                path: "/v1/degradation".into(),
            }));
        }
    }
    Ok(effects)
}
