//! Autoscaling plans from the capacity report: replicas needed for the forecast, a
//! Kubernetes `autoscaling/v2` HorizontalPodAutoscaler built with the `k8s-openapi` types
//! (so what we write is what the API server reads), and an hourly pre-scaling schedule.
//!
//! - Per-replica capacity = service capacity / current replicas (nodes reporting, or the
//!   largest `replicas` a node sample declared).
//! - Target utilisation: `1 − headroomBudget` (70 % with the 30 % budget), lowered to the
//!   utilisation at which the report's latency fit says p99 reaches its budget when that is
//!   lower (never under 10 %; when p99 is over budget whatever the load, replicas cannot
//!   help and the explanation says so).
//! - Replicas for a demand `d`: `ceil(d / (perReplica × target))`, so the replicas run at most
//!   at the target utilisation.
//! - HPA: `minReplicas` covers the trough of the point forecast, `maxReplicas` 1.5 × the
//!   replicas for the peak of the 95 % upper bound; target CPU utilisation = the target.
//!   Behaviour: scale up at once (stabilisation 0 s; the larger of +100 % or +4 pods per 15 s —
//!   Kubernetes' defaults), scale down after a 5-minute stabilisation window by at most 10 %
//!   per minute (gentler than the default, so a dip between two peaks does not shed capacity
//!   that the forecast says is needed again soon).
//! - Schedule: per forecast step (hours; minutes for a young service), the replicas for that
//!   step's upper bound, never below the current replicas: a forecast alone never scales in
//!   (the reactive HPA does that).

use k8s_openapi::api::autoscaling::v2 as hpa;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use perf_core::forecast::capacity::CapacityReport;
use serde::Serialize;

/// Scale-up policy period, seconds.
pub const SCALE_UP_PERIOD_S: i32 = 15;
/// Scale-up: at most +100 % per period…
pub const SCALE_UP_PERCENT: i32 = 100;
/// …or +4 pods, whichever is more.
pub const SCALE_UP_PODS: i32 = 4;
/// Scale-down stabilisation window, seconds.
pub const SCALE_DOWN_STABILISATION_S: i32 = 300;
/// Scale-down: at most −10 % …
pub const SCALE_DOWN_PERCENT: i32 = 10;
/// … per minute.
pub const SCALE_DOWN_PERIOD_S: i32 = 60;

/// One hour of the pre-scaling schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct ScheduledHour {
    /// Hour start, RFC 3339.
    pub at: String,
    /// Upper bound of the demand forecast, rps.
    pub upper_rps: f64,
    /// Replicas to have.
    pub replicas: u32,
}

/// A scaling plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct ScalingPlan {
    /// Service.
    pub service: String,
    /// Replicas now.
    pub current_replicas: u32,
    /// Capacity of one replica, rps.
    pub per_replica_rps: f64,
    /// Replicas for the peak of the upper bound.
    pub needed_replicas: u32,
    /// HPA minimum.
    pub min_replicas: u32,
    /// HPA maximum.
    pub max_replicas: u32,
    /// HPA target CPU utilisation, percent.
    pub target_cpu_utilization: i32,
    /// What sets the target: `headroom` (the budget) or `latency` (the p99 budget).
    pub limited_by: &'static str,
    /// Scale out now (the peak needs more than the current replicas).
    pub scale_out: bool,
    /// Hourly schedule for the forecast horizon.
    pub schedule: Vec<ScheduledHour>,
    /// One sentence.
    pub explanation: String,
}

/// Lowest target utilisation a latency fit may impose.
const MIN_TARGET: f64 = 0.1;

/// Replicas that serve `demand` rps at most at `target` utilisation of `per_replica` each.
pub fn replicas_for(demand: f64, per_replica: f64, target: f64) -> u32 {
    if per_replica <= 0.0 || demand <= 0.0 {
        return 1;
    }
    let usable = per_replica * target.max(0.01);
    ((demand / usable) - 1e-9).ceil().max(1.0) as u32
}

/// The target utilisation and what sets it: `1 − budget`, or the latency fit's limit when
/// lower (a limit of 0 — p99 over budget at any load — does not move it: replicas cannot
/// help).
pub fn target_utilization(report: &CapacityReport) -> (f64, &'static str) {
    let headroom_target = 1.0 - report.headroom_budget;
    match &report.latency {
        Some(l) if l.max_utilization > 0.0 && l.max_utilization < headroom_target => {
            (l.max_utilization.max(MIN_TARGET), "latency")
        }
        _ => (headroom_target, "headroom"),
    }
}

/// The plan for a capacity report and the current replicas; `None` without a capacity.
pub fn plan(report: &CapacityReport, current_replicas: u32) -> Option<ScalingPlan> {
    let capacity = report.capacity_rps?;
    let current = current_replicas.max(1);
    let per_replica = capacity / f64::from(current);
    let (target, limited_by) = target_utilization(report);
    let need = |d: f64| replicas_for(d, per_replica, target);
    let needed = need(report.peak_upper_rps);
    let trough = report
        .forecast
        .iter()
        .map(|p| p.forecast)
        .fold(f64::INFINITY, f64::min);
    let min_replicas = need(if trough.is_finite() { trough } else { 0.0 });
    let max_replicas = ((f64::from(needed) * 1.5).ceil() as u32)
        .max(current)
        .max(min_replicas + 1);
    let schedule = report
        .forecast
        .iter()
        .map(|p| ScheduledHour {
            at: perf_core::time::format_rfc3339(p.ts_ms),
            upper_rps: p.upper,
            replicas: need(p.upper).max(current),
        })
        .collect();
    let scale_out = needed > current;
    let mut explanation = format!(
        "{} replicas of {:.1} rps each serve the forecast peak of {:.1} rps (95 % upper bound) at {:.0} % utilisation ({}); {} now{}",
        needed,
        per_replica,
        report.peak_upper_rps,
        target * 100.0,
        if limited_by == "latency" {
            "where p99 stays within its budget"
        } else {
            "the headroom budget"
        },
        current,
        if scale_out { ": scale out before the peak" } else { ": enough" }
    );
    if let Some(l) = report.latency.as_ref().filter(|l| l.max_utilization == 0.0) {
        explanation.push_str(&format!("; {}", l.explanation));
    }
    Some(ScalingPlan {
        service: report.service.clone(),
        current_replicas: current,
        per_replica_rps: per_replica,
        needed_replicas: needed,
        min_replicas,
        max_replicas,
        target_cpu_utilization: (target * 100.0).round() as i32,
        limited_by,
        scale_out,
        schedule,
        explanation,
    })
}

/// The `autoscaling/v2` HorizontalPodAutoscaler of a plan, for the Deployment named after
/// the service.
pub fn hpa_manifest(plan: &ScalingPlan) -> hpa::HorizontalPodAutoscaler {
    let policy = |kind: &str, value: i32, period: i32| hpa::HPAScalingPolicy {
        type_: kind.to_string(),
        value,
        period_seconds: period,
    };
    hpa::HorizontalPodAutoscaler {
        metadata: ObjectMeta {
            name: Some(plan.service.clone()),
            labels: Some(
                [(
                    "app.kubernetes.io/managed-by".to_string(),
                    "ecosystem-perf".to_string(),
                )]
                .into_iter()
                .collect(),
            ),
            annotations: Some(
                [(
                    "ecosystem-perf/explanation".to_string(),
                    plan.explanation.clone(),
                )]
                .into_iter()
                .collect(),
            ),
            ..Default::default()
        },
        spec: Some(hpa::HorizontalPodAutoscalerSpec {
            scale_target_ref: hpa::CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: plan.service.clone(),
            },
            min_replicas: Some(plan.min_replicas as i32),
            max_replicas: plan.max_replicas as i32,
            metrics: Some(vec![hpa::MetricSpec {
                type_: "Resource".into(),
                resource: Some(hpa::ResourceMetricSource {
                    name: "cpu".into(),
                    target: hpa::MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(plan.target_cpu_utilization),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            behavior: Some(hpa::HorizontalPodAutoscalerBehavior {
                scale_up: Some(hpa::HPAScalingRules {
                    stabilization_window_seconds: Some(0),
                    select_policy: Some("Max".into()),
                    policies: Some(vec![
                        policy("Percent", SCALE_UP_PERCENT, SCALE_UP_PERIOD_S),
                        policy("Pods", SCALE_UP_PODS, SCALE_UP_PERIOD_S),
                    ]),
                    ..Default::default()
                }),
                scale_down: Some(hpa::HPAScalingRules {
                    stabilization_window_seconds: Some(SCALE_DOWN_STABILISATION_S),
                    select_policy: Some("Max".into()),
                    policies: Some(vec![policy(
                        "Percent",
                        SCALE_DOWN_PERCENT,
                        SCALE_DOWN_PERIOD_S,
                    )]),
                    ..Default::default()
                }),
            }),
        }),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_keep_the_headroom_budget_hand_computed() {
        // 100 rps per replica at 70 %: 70 usable; 650 rps → 9.3 → 10 replicas.
        assert_eq!(replicas_for(650.0, 100.0, 0.7), 10);
        // Exactly at the usable capacity: no extra replica.
        assert_eq!(replicas_for(700.0, 100.0, 0.7), 10);
        assert_eq!(replicas_for(700.1, 100.0, 0.7), 11);
        assert_eq!(replicas_for(0.0, 100.0, 0.7), 1);
        // A latency limit of 50 %: 650 rps need 13 replicas of 100.
        assert_eq!(replicas_for(650.0, 100.0, 0.5), 13);
        // Headroom of 12 replicas at 700 rps: 1 − 700 / 1,200 = 41.7 %.
        let headroom: f64 = 1.0 - 700.0 / (12.0 * 100.0);
        assert!((headroom - 0.4167).abs() < 1e-3);
    }

    fn report(latency_limit: Option<f64>) -> CapacityReport {
        let budget = 200.0;
        // Steps on p99 = 50 + 20 · u/(1−u) (± 1 ms) when a limit is wanted, else flat.
        let points: Vec<(f64, f64)> = (1..=16)
            .map(|i| {
                let u = i as f64 * 0.05;
                let wobble = if i % 2 == 0 { 1.0 } else { -1.0 };
                match latency_limit {
                    Some(_) => (u, 50.0 + 20.0 * u / (1.0 - u) + wobble),
                    None => (u, 60.0 + wobble),
                }
            })
            .collect();
        let latency = perf_core::forecast::capacity::latency_limit(&points, budget);
        CapacityReport {
            service: "svc".into(),
            current_rps: 300.0,
            peak_forecast_rps: 560.0,
            peak_upper_rps: 650.0,
            capacity_rps: Some(1000.0),
            capacity_source: perf_core::forecast::capacity::CapacitySource::CapacityRps,
            nodes: 10,
            headroom: Some(0.35),
            current_headroom: Some(0.7),
            headroom_budget: 0.3,
            status: "ok",
            hours_to_exhaustion: None,
            step_minutes: 60,
            horizon_hours: 48.0,
            period_steps: 24,
            trend_per_day: 0.0,
            history_steps: 840,
            latency,
            forecast: Vec::new(),
            explanation: String::new(),
        }
    }

    #[test]
    fn the_p99_budget_lowers_the_target_only_when_it_binds() {
        // p99 does not grow with load: the headroom budget sets 70 %; 650 rps → 10 replicas.
        let flat = report(None);
        assert_eq!(flat.latency.as_ref().unwrap().max_utilization, 1.0);
        let p = plan(&flat, 10).unwrap();
        assert_eq!((p.target_cpu_utilization, p.limited_by), (70, "headroom"));
        assert_eq!(p.needed_replicas, 10);
        assert!(!p.scale_out);
        // p99 = 50 + 20 u/(1−u) reaches 200 ms at u/(1−u) = 7.5, u = 88 %: not binding.
        let queueing = report(Some(0.88));
        let l = queueing.latency.as_ref().unwrap();
        assert!((l.max_utilization - 7.5 / 8.5).abs() < 0.01, "{l:?}");
        assert_eq!(plan(&queueing, 10).unwrap().limited_by, "headroom");
        // With an 80 ms budget: u/(1−u) = 1.5, u = 60 %: 650 rps need ceil(650 / 60) = 11.
        let mut tight = queueing.clone();
        tight.latency = perf_core::forecast::capacity::latency_limit(
            &(1..=16)
                .map(|i| {
                    let u = i as f64 * 0.05;
                    (
                        u,
                        50.0 + 20.0 * u / (1.0 - u) + if i % 2 == 0 { 1.0 } else { -1.0 },
                    )
                })
                .collect::<Vec<_>>(),
            80.0,
        );
        let p = plan(&tight, 10).unwrap();
        assert_eq!(p.limited_by, "latency");
        assert_eq!(p.target_cpu_utilization, 60);
        assert_eq!(p.needed_replicas, 11);
        assert!(p.scale_out, "{}", p.explanation);
        // p99 over budget at any load: replicas cannot help, the target stays at 70 %.
        let hopeless = perf_core::forecast::capacity::latency_limit(
            &[
                (0.1, 300.0),
                (0.2, 301.0),
                (0.3, 299.0),
                (0.4, 300.0),
                (0.5, 302.0),
                (0.6, 298.0),
                (0.7, 300.0),
                (0.8, 301.0),
            ],
            200.0,
        )
        .unwrap();
        assert_eq!(hopeless.max_utilization, 0.0);
        tight.latency = Some(hopeless);
        let p = plan(&tight, 10).unwrap();
        assert_eq!(p.limited_by, "headroom");
        assert!(
            p.explanation.contains("more replicas will not fix it"),
            "{}",
            p.explanation
        );
    }

    #[test]
    fn behaviour_constants_are_kubernetes_defaults_up_and_gentler_down() {
        assert_eq!(
            (SCALE_UP_PERIOD_S, SCALE_UP_PERCENT, SCALE_UP_PODS),
            (15, 100, 4)
        );
        assert_eq!(SCALE_DOWN_STABILISATION_S, 300);
        assert_eq!((SCALE_DOWN_PERCENT, SCALE_DOWN_PERIOD_S), (10, 60));
    }
}
