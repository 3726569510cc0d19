//! Incidents and their causes, from hand-made anomalies and traffic.

use super::*;
use crate::anomaly::excess_cause::{Excess, ValueCounts};

/// Traffic known only by its shares (no error counts).
struct Shares<F>(F);

impl<F: Fn(&str, &str, &str) -> f64> Traffic for Shares<F> {
    fn share(&self, service: &str, dimension: &str, value: &str) -> f64 {
        (self.0)(service, dimension, value)
    }
    fn counts_by_value(&self, _: &str, _: Excess, _: i64, _: i64) -> Vec<ValueCounts> {
        Vec::new()
    }
}

fn shares(f: impl Fn(&str, &str, &str) -> f64) -> Shares<impl Fn(&str, &str, &str) -> f64> {
    Shares(f)
}

fn anomaly(
    view: &str,
    key: &[(&str, &str)],
    metric: &str,
    at: i64,
    value: f64,
    expected: f64,
) -> SeriesAnomaly {
    SeriesAnomaly {
        view: view.into(),
        key: key
            .iter()
            .map(|(d, v)| (d.to_string(), v.to_string()))
            .collect(),
        metric: metric.into(),
        at,
        value,
        expected,
        score: 0.9,
        percentile: 0.999,
    }
}

#[test]
fn a_slow_node_is_the_shared_dimension_of_its_incident() {
    let mut inc = Incidents::new(300_000);
    let found = vec![
        anomaly(
            "service_node",
            &[("service", "qnet"), ("node", "qnet-2")],
            "p99",
            0,
            900.0,
            100.0,
        ),
        anomaly(
            "service_node",
            &[("service", "qnet"), ("node", "qnet-2")],
            "p95",
            60_000,
            500.0,
            80.0,
        ),
        anomaly(
            "service_operation",
            &[("service", "qnet"), ("operation", "GET /feed")],
            "p99",
            60_000,
            300.0,
            100.0,
        ),
        anomaly(
            "service_tenant",
            &[("service", "qnet"), ("tenant", "dao-alpha")],
            "p99",
            60_000,
            300.0,
            100.0,
        ),
    ];
    let changes = inc.add(&found, 120_000, &shares(|_, _, _| 1.0 / 3.0));
    assert_eq!(changes.opened.len(), 1);
    let i = inc.all().next().unwrap().clone();
    assert_eq!((i.anomalies, i.series), (4, 3));
    assert!(
        i.probable_cause.contains("node qnet-2"),
        "{}",
        i.probable_cause
    );
    // Quiet for longer than the gap: closed.
    let changes = inc.add(
        &[],
        60_000 + 300_000 + 120_000,
        &shares(|_, _, _| 1.0 / 3.0),
    );
    assert_eq!(changes.closed, vec![i.id]);
}

#[test]
fn concurrent_anomalies_of_two_services_are_two_incidents() {
    // qnet's node slows down in the minute another service's traffic moves back to its
    // old version: one incident each, each with its own cause.
    let mut found = vec![
        anomaly(
            "service_version",
            &[("service", "qerberos"), ("version", "v3.1.1")],
            "throughput",
            0,
            25.0,
            3.5,
        ),
        anomaly(
            "service_operation_version",
            &[
                ("service", "qerberos"),
                ("operation", "POST /assess"),
                ("version", "v3.1.1"),
            ],
            "throughput",
            0,
            16.0,
            2.0,
        ),
        anomaly(
            "service_operation_version",
            &[
                ("service", "qerberos"),
                ("operation", "GET /entities/{id}"),
                ("version", "v3.1.1"),
            ],
            "throughput",
            0,
            8.0,
            1.0,
        ),
        anomaly(
            "service_node",
            &[("service", "qnet"), ("node", "qnet-2")],
            "p95",
            120_000,
            400.0,
            100.0,
        ),
    ];
    for tenant in ["dao-alpha", "dao-beta"] {
        found.push(anomaly(
            "service_tenant",
            &[("service", "qnet"), ("tenant", tenant)],
            "p99",
            120_000,
            500.0,
            130.0,
        ));
    }
    let mut inc = Incidents::new(300_000);
    let changes = inc.add(
        &found,
        180_000,
        &shares(|_, dim, _| match dim {
            "version" => 0.3,
            "node" => 1.0 / 3.0,
            _ => 0.25,
        }),
    );
    assert_eq!(changes.opened.len(), 2);
    let causes: Vec<(String, String)> = inc
        .all()
        .map(|i| {
            let services: Vec<&String> = i.services.iter().collect();
            assert_eq!(services.len(), 1, "{services:?}");
            (services[0].clone(), i.probable_cause.clone())
        })
        .collect();
    assert_eq!(causes[0].0, "qerberos");
    assert!(causes[0].1.contains("version v3.1.1"), "{causes:?}");
    assert_eq!(causes[1].0, "qnet");
    assert!(causes[1].1.contains("node qnet-2"), "{causes:?}");
    // A later anomaly of qnet joins qnet's incident.
    inc.add(
        &[anomaly(
            "service_node",
            &[("service", "qnet"), ("node", "qnet-2")],
            "p99",
            180_000,
            900.0,
            150.0,
        )],
        240_000,
        &shares(|_, _, _| 1.0 / 3.0),
    );
    assert_eq!(inc.all().count(), 2);
    assert_eq!(inc.all().nth(1).unwrap().anomalies, 4);
}

/// Traffic with counts: node n2 has nearly all the slow requests of the incident.
struct SlowNode;

impl Traffic for SlowNode {
    fn share(&self, _: &str, _: &str, _: &str) -> f64 {
        1.0 / 3.0
    }
    fn counts_by_value(&self, _: &str, of: Excess, _: i64, _: i64) -> Vec<ValueCounts> {
        if of == Excess::Requests {
            // No request counts: not a surge.
            return Vec::new();
        }
        assert_eq!(of, Excess::SlowRequests);
        let row = |dim: &str, value: &str, requests, events| ValueCounts {
            dimension: dim.into(),
            value: value.into(),
            requests,
            events,
            baseline_requests: requests * 10,
            baseline_events: requests / 2,
        };
        vec![
            row("node", "n1", 600, 31),
            row("node", "n2", 600, 590),
            row("node", "n3", 600, 29),
            row("operation", "GET /a", 1_200, 430),
            row("operation", "POST /b", 600, 220),
        ]
    }
}

#[test]
fn slow_requests_counted_per_value_name_the_node_its_own_series_no_longer_flags() {
    // The node's own series has seen this slowdown before and stays quiet; the
    // operations' series flag it. The counts still put the slow requests on n2.
    let found: Vec<SeriesAnomaly> = ["GET /a", "POST /b"]
        .iter()
        .flat_map(|op| {
            ["p95", "p99"].map(|metric| {
                anomaly(
                    "service_operation",
                    &[("service", "qsvc"), ("operation", op)],
                    metric,
                    0,
                    400.0,
                    60.0,
                )
            })
        })
        .collect();
    let mut inc = Incidents::new(300_000);
    inc.add(&found, 60_000, &SlowNode);
    let i = inc.all().next().unwrap();
    assert_eq!(
        i.probable_cause,
        "node n2 carries 100 % of the excess slow requests with 33 % of the requests"
    );
    let excess = i.excess.as_ref().unwrap();
    assert_eq!(excess.of, "slow_requests");
    assert_eq!(excess.contributions[0].value, "n2");
}

/// Traffic with counts: tenant gamma tripled its requests, the others as usual.
struct GammaSurge;

impl Traffic for GammaSurge {
    fn share(&self, _: &str, _: &str, _: &str) -> f64 {
        0.25
    }
    fn counts_by_value(&self, _: &str, of: Excess, _: i64, _: i64) -> Vec<ValueCounts> {
        // A one-minute incident (span 1/60): 100 requests an hour is ~1.7 a minute.
        let row = |value: &str, requests: u64, events: u64| ValueCounts {
            dimension: "tenant".into(),
            value: value.into(),
            requests,
            events,
            baseline_requests: 100,
            baseline_events: if of == Excess::Requests { 100 } else { 5 },
        };
        match of {
            Excess::Requests => vec![row("a", 2, 2), row("b", 2, 2), row("gamma", 12, 12)],
            _ => vec![row("a", 2, 2), row("b", 2, 2), row("gamma", 12, 1)],
        }
    }
}

#[test]
fn a_latency_incident_during_a_surge_is_the_surging_tenants() {
    // Only the other tenants' latencies are anomalous (the surge's throughput series has
    // seen it before); the service's requests grew 3.2× and gamma carries the growth:
    // gamma's excess 12 − 5/3 of that plus 2 × (2 − 5/3): 94 %.
    let found: Vec<SeriesAnomaly> = ["a", "b"]
        .iter()
        .map(|t| {
            anomaly(
                "service_tenant",
                &[("service", "qflow"), ("tenant", t)],
                "p99",
                0,
                300.0,
                100.0,
            )
        })
        .collect();
    let mut inc = Incidents::new(300_000);
    inc.add(&found, 60_000, &GammaSurge);
    let i = inc.all().next().unwrap();
    assert!(
        i.probable_cause
            == "tenant gamma carries 94 % of the surge with 33 % of the usual requests",
        "{}",
        i.probable_cause
    );
    assert_eq!(i.contributions[0].value, "gamma");
    assert_eq!(
        i.cause_value,
        Some(CauseValue {
            dimension: "tenant".into(),
            value: "gamma".into()
        })
    );
    assert!(i.related.is_empty());
    // The same tenant floods a second service a minute later: its own incident, related
    // to the first (and the first to it).
    let second: Vec<SeriesAnomaly> = found
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a.key[0].1 = "qindex".into();
            a.at = 60_000;
            a
        })
        .collect();
    inc.add(&second, 120_000, &GammaSurge);
    let all: Vec<&Incident> = inc.all().collect();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].related, vec![all[1].id]);
    assert_eq!(all[1].related, vec![all[0].id]);
}

/// Traffic with counts: a canary ended, its requests went back to v1; the total held.
struct VersionShift;

impl Traffic for VersionShift {
    fn share(&self, _: &str, _: &str, _: &str) -> f64 {
        0.5
    }
    fn counts_by_value(&self, _: &str, of: Excess, _: i64, _: i64) -> Vec<ValueCounts> {
        let row = |value: &str, requests: u64, baseline: u64| ValueCounts {
            dimension: "version".into(),
            value: value.into(),
            requests,
            events: requests,
            baseline_requests: baseline,
            baseline_events: baseline,
        };
        match of {
            // A one-minute incident: v1 usually 2 of 10 a minute, now all 10.
            Excess::Requests => vec![row("v1", 10, 120), row("v2", 0, 480)],
            _ => Vec::new(),
        }
    }
}

#[test]
fn requests_moving_between_versions_are_a_shift_not_a_surge() {
    let found = vec![anomaly(
        "service_version",
        &[("service", "qsvc"), ("version", "v1")],
        "throughput",
        0,
        10.0 / 60.0,
        2.0 / 60.0,
    )];
    let mut inc = Incidents::new(300_000);
    inc.add(&found, 60_000, &VersionShift);
    assert_eq!(
        inc.all().next().unwrap().probable_cause,
        "traffic shifted to version v1: 100 % of the extra requests, 20 % of the requests usually"
    );
}

#[test]
fn a_tenant_carrying_the_surge_is_named_with_its_share() {
    let mut inc = Incidents::new(300_000);
    let found = vec![
        anomaly(
            "service_tenant",
            &[("service", "qflow"), ("tenant", "dao-gamma")],
            "throughput",
            0,
            90.0,
            10.0,
        ),
        anomaly(
            "service_tenant",
            &[("service", "qflow"), ("tenant", "dao-beta")],
            "throughput",
            0,
            25.0,
            15.0,
        ),
        anomaly(
            "service_tenant",
            &[("service", "qflow"), ("tenant", "dao-beta")],
            "p99",
            0,
            400.0,
            100.0,
        ),
    ];
    inc.add(&found, 60_000, &shares(|_, _, _| 0.25));
    let cause = inc.all().next().unwrap().probable_cause.clone();
    assert!(cause.contains("tenant dao-gamma carries 89 %"), "{cause}");
    // Far apart in time: two incidents.
    inc.add(
        &[anomaly(
            "service_tenant",
            &[("service", "qflow"), ("tenant", "dao-gamma")],
            "throughput",
            3_600_000,
            90.0,
            10.0,
        )],
        3_600_000,
        &shares(|_, _, _| 0.25),
    );
    assert_eq!(inc.all().count(), 2);
}

#[test]
fn without_a_shared_value_the_service_is_the_cause() {
    let mut inc = Incidents::new(300_000);
    let found: Vec<SeriesAnomaly> = (1..=3)
        .map(|n| {
            anomaly(
                "service_node",
                &[("service", "qwallet"), ("node", &format!("qwallet-{n}"))],
                "error_rate",
                0,
                0.25,
                0.001,
            )
        })
        .collect();
    inc.add(&found, 60_000, &shares(|_, _, _| 1.0 / 3.0));
    let i = inc.all().next().unwrap();
    assert_eq!(
        i.probable_cause,
        "3 of 3 anomalous series are in service qwallet"
    );
    // A service's only version is not a cause of its own.
    let mut inc = Incidents::new(300_000);
    let found = vec![
        anomaly(
            "service_version",
            &[("service", "qwallet"), ("version", "v1")],
            "error_rate",
            0,
            0.25,
            0.001,
        ),
        anomaly(
            "service_node",
            &[("service", "qwallet"), ("node", "a")],
            "error_rate",
            0,
            0.25,
            0.001,
        ),
        anomaly(
            "service_node",
            &[("service", "qwallet"), ("node", "b")],
            "error_rate",
            0,
            0.25,
            0.001,
        ),
    ];
    inc.add(
        &found,
        60_000,
        &shares(|_, dim, _| if dim == "version" { 1.0 } else { 0.5 }),
    );
    assert!(inc
        .all()
        .next()
        .unwrap()
        .probable_cause
        .contains("service qwallet"));
}

#[test]
fn the_value_with_the_highest_lift_is_the_cause() {
    // A slow node (one of three, a third of the traffic): its one series and the four
    // series of the version that carries nearly all traffic are all anomalous.
    let mut found = vec![anomaly(
        "service_node",
        &[("service", "qnet"), ("node", "qnet-2")],
        "p95",
        0,
        400.0,
        70.0,
    )];
    for op in ["GET /feed", "GET /peers", "POST /route", "GET /status"] {
        found.push(anomaly(
            "service_operation_version",
            &[
                ("service", "qnet"),
                ("operation", op),
                ("version", "v2.0.3"),
            ],
            "p95",
            0,
            300.0,
            100.0,
        ));
    }
    let cause = |version_share: f64| {
        let mut inc = Incidents::new(300_000);
        inc.add(
            &found,
            60_000,
            &shares(|_, dim, _| match dim {
                "version" => version_share,
                "node" => 1.0 / 3.0,
                _ => 0.25,
            }),
        );
        let cause = inc.all().next().unwrap().probable_cause.clone();
        cause
    };
    // Dominant version: not a cause of its own.
    assert!(cause(0.95).contains("node qnet-2"), "{}", cause(0.95));
    // Half the traffic (a canary at 50 %): lift 2 against the node's 3.
    assert!(cause(0.5).contains("node qnet-2"), "{}", cause(0.5));
    // A canary version with a tenth of the traffic, all four series: lift 10.
    assert!(cause(0.1).contains("version v2.0.3"), "{}", cause(0.1));
}
