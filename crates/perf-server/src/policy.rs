//! Operation policies and the degradation ladder on the server (the Qflow hook).
//!
//! The evaluation cycle refreshes, per service: the fastest 5-minute burn rate of its SLOs,
//! the share of the last minute's requests over their class's p99 budget (per event, so a
//! service mixing reads and writes is judged against both budgets), the adaptive concurrency limit (median latency
//! of the last 30 s; in flight from the nodes' `inflight` samples, else by Little's law) and
//! the ladder. Transitions go on the stream (`degradation`) and out as alerts
//! (`EcosystemPerfDegradation`, firing while a service is above L0). `POST /v1/policy/evaluate`
//! only reads the refreshed context, so a decision costs a map lookup (p99 well under 1 ms).
//! `GET /v1/degradation` lists every service's level with its reason, signals and runbook line.

use crate::error::AppError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use perf_core::policy::{
    decide, slow_ratio_signal, ConcurrencyLimit, Decision, Ladder, LadderSignals, PolicyRequest,
    ServiceContext,
};
use perf_core::view::Dim;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Window of the recent latency the concurrency limit reads.
const SHORT_WINDOW_MS: i64 = 30_000;
/// Window of the p99 the ladder reads.
const P99_WINDOW_MS: i64 = 60_000;

/// Per-service policy state.
#[derive(Debug, Default)]
pub struct PolicyState {
    ladders: HashMap<String, Ladder>,
    limits: HashMap<String, ConcurrencyLimit>,
    contexts: HashMap<String, ServiceContext>,
}

impl PolicyState {
    /// The context of a service, when it has been evaluated.
    pub fn context(&self, service: &str) -> Option<ServiceContext> {
        self.contexts.get(service).copied()
    }

    /// Every evaluated service with its level and concurrency limit, in name order.
    pub fn levels(&self) -> Vec<(String, u8, Option<f64>)> {
        let mut v: Vec<(String, u8, Option<f64>)> = self
            .ladders
            .iter()
            .map(|(s, l)| (s.clone(), l.level, self.limits.get(s).map(|c| c.limit)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The degradation level of a service (0 when never evaluated).
    pub fn level(&self, service: &str) -> u8 {
        self.ladders.get(service).map_or(0, |l| l.level)
    }
}

/// The signals and concurrency inputs of one service at `now`.
struct Reading {
    burn_rate: Option<f64>,
    slow_ratio: Option<f64>,
    short_rtt_ms: Option<f64>,
    inflight: f64,
    capacity_utilization: Option<f64>,
}

fn read(state: &AppState, service: &str, now: i64) -> Reading {
    let min_requests = state.config.policy.ladder.min_requests;
    let burn_rate = crate::slos::statuses(state).ok().and_then(|statuses| {
        statuses
            .iter()
            .filter(|s| s.service == service)
            .filter(|s| s.burn_rate_events.get("5m").copied().unwrap_or(0) >= min_requests)
            .filter_map(|s| s.burn_rates.get("5m").copied())
            .fold(None, |m: Option<f64>, b| Some(m.map_or(b, |m| m.max(b))))
    });
    let engine = state.engine();
    let view = engine.views()[0].def.name.clone();
    let filter = [(Dim::Service, service)];
    let minute = engine
        .query(&view, &filter, now - P99_WINDOW_MS, now + 1)
        .ok();
    // Requests over their class's p99 budget (the engine counts them per event), in units of
    // the 1 % a p99 allows: the one-sided 95 % lower bound of the share, so that a few slow
    // requests among few are not read as a 100 % slow service; below `minRequests`, no signal.
    let slow_ratio = minute
        .as_ref()
        .and_then(|s| slow_ratio_signal(s.slow, s.requests, min_requests));
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
            .map_or(0.0, |s| s.requests as f64 * 1000.0 / P99_WINDOW_MS as f64)
            / capacity
    });
    Reading {
        burn_rate,
        slow_ratio,
        short_rtt_ms,
        inflight,
        capacity_utilization,
    }
}

/// Refreshes every service's context and ladder (the evaluation cycle).
pub fn evaluate(state: &AppState) -> anyhow::Result<()> {
    let now = state.now();
    let services = state.engine().services();
    let config = &state.config.policy;
    for svc in services {
        let r = read(state, &svc, now);
        let mut ps = state.policy.lock().unwrap_or_else(|p| p.into_inner());
        let limit = ps.limits.entry(svc.clone()).or_insert_with(|| {
            ConcurrencyLimit::new((r.inflight * 2.0).max(config.min_concurrency))
        });
        if let Some(rtt) = r.short_rtt_ms {
            limit.update(
                rtt,
                r.inflight,
                state.config.server.evaluation_interval as f64,
                config,
            );
        }
        let limit = *limit;
        let load = limit.load();
        let utilization = match r.capacity_utilization {
            Some(u) => Some(u.max(load)),
            None => (limit.long_rtt_ms > 0.0).then_some(load),
        };
        let signals = LadderSignals {
            burn_rate: r.burn_rate,
            slow_ratio: r.slow_ratio,
            utilization,
        };
        let ladder = ps
            .ladders
            .entry(svc.clone())
            .or_insert_with(|| Ladder::new(now));
        let transition = ladder.update(signals, now, &config.ladder);
        let level = ladder.level;
        let ladder_view = ladder.clone();
        ps.contexts.insert(
            svc.clone(),
            ServiceContext {
                level,
                load,
                concurrency_limit: limit.limit,
                burn_rate: r.burn_rate.unwrap_or(0.0),
                slow_ratio: r.slow_ratio.unwrap_or(0.0),
            },
        );
        if let Some(t) = transition {
            let entry = entry_of(state, &svc, &ladder_view, Some(&limit));
            crate::stream::publish(
                state,
                "degradation",
                now,
                &serde_json::json!({
                    "service": svc, "from": t.from, "to": t.to, "reason": t.reason, "level": entry,
                }),
            );
            let notice = crate::webhooks::Notice {
                alertname: "EcosystemPerfDegradation",
                labels: vec![
                    ("service", svc.clone()),
                    ("severity", if t.to >= 3 { "page" } else { "ticket" }.into()),
                ],
                summary: format!("{svc}: degradation L{} → L{} ({})", t.from, t.to, t.reason),
                description: entry
                    .runbook
                    .clone()
                    .unwrap_or_else(|| "back to normal operation".into()),
                firing: t.to > 0,
                since_ms: now,
                path: "/v1/degradation".into(),
            };
            crate::webhooks::raise(state, "degradation", &svc, &notice, now)?;
        }
    }
    Ok(())
}

/// One service's entry of `GET /v1/degradation`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelEntry {
    /// Service.
    pub service: String,
    /// 0–4.
    pub level: u8,
    /// `normal`, `shed_batch`, `cache_fallback`, `defer_writes`, `essential_only`.
    pub name: &'static str,
    /// When the level was entered.
    pub since: String,
    /// Why.
    pub reason: String,
    /// The last signals.
    pub signals: LadderSignals,
    /// The runbook line of the level (none at L0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    /// The adaptive concurrency limit and the in-flight work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<ConcurrencyLimit>,
}

fn entry_of(
    state: &AppState,
    service: &str,
    l: &Ladder,
    limit: Option<&ConcurrencyLimit>,
) -> LevelEntry {
    LevelEntry {
        service: service.to_string(),
        level: l.level,
        name: l.name(),
        since: perf_core::time::format_rfc3339(l.since),
        reason: l.reason.clone(),
        signals: l.signals,
        runbook: (l.level > 0).then(|| {
            state.config.policy.ladder.levels[l.level as usize - 1]
                .runbook
                .clone()
        }),
        concurrency: limit.copied(),
    }
}

/// `GET /v1/degradation`.
pub async fn get_degradation(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let ps = state.policy.lock().unwrap_or_else(|p| p.into_inner());
    let mut entries: Vec<LevelEntry> = ps
        .ladders
        .iter()
        .map(|(svc, l)| entry_of(&state, svc, l, ps.limits.get(svc)))
        .collect();
    entries.sort_by(|a, b| a.service.cmp(&b.service));
    Json(serde_json::json!({ "services": entries }))
}

/// Whether a tenant is under a throttling or isolation recommendation.
fn tenant_throttled(state: &AppState, tenant: Option<&str>) -> bool {
    use perf_core::tenant::Isolation;
    let Some(t) = tenant else { return false };
    let states = state
        .tenant_states
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    states
        .get(t)
        .is_some_and(|s| s.current() >= Isolation::TrafficThrottling)
}

/// `POST /v1/policy/evaluate`.
pub async fn post_evaluate(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Decision>, AppError> {
    let req: PolicyRequest = crate::deploy::parse_json(&body)?;
    if req.service.is_empty() || req.operation.is_empty() {
        return Err(AppError::BadRequest(
            "service and operation must not be empty".into(),
        ));
    }
    let ctx = state
        .policy
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .context(&req.service);
    let throttled = tenant_throttled(&state, req.tenant.as_deref());
    let mut d = decide(&req, &ctx.unwrap_or_default(), throttled);
    if ctx.is_none() && d.decision == "proceed" {
        d.reason = "no_data";
    }
    Ok(Json(d))
}
