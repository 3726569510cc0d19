//! One operation policy decision in process (the library call a service embeds; target
//! ≤ 1 µs median), and one routing evaluation of ten nodes (scores and balancer).

#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use perf_core::policy::{decide, PolicyRequest, Priority, ServiceContext};
use perf_core::routing::{score_nodes, Balancer, NodeInput, RoutingConfig};

fn bench(c: &mut Criterion) {
    let req = PolicyRequest {
        service: "qflow".into(),
        operation: "POST /flows".into(),
        tenant: Some("dao-7".into()),
        priority: Priority::Default,
        cacheable: true,
        class: None,
    };
    let contexts: Vec<ServiceContext> = (0..5u8)
        .map(|level| ServiceContext {
            level,
            load: 0.3 + f64::from(level) * 0.2,
            concurrency_limit: 64.0,
            burn_rate: 1.0,
            slow_ratio: 0.5,
        })
        .collect();
    let mut i = 0usize;
    c.bench_function("policy decide (one request)", |b| {
        b.iter(|| {
            i = (i + 1) % contexts.len();
            black_box(decide(black_box(&req), &contexts[i], false))
        })
    });

    let inputs: Vec<NodeInput> = (0..10)
        .map(|k| NodeInput {
            node: format!("node-{k}"),
            requests: 6000,
            errors: if k == 7 { 600 } else { 3 },
            recent_requests: 1000,
            recent_errors: if k == 7 { 100 } else { 0 },
            p95_ms: Some(if k == 3 { 400.0 } else { 40.0 }),
            p99_ms: Some(if k == 3 { 900.0 } else { 90.0 }),
            rps: 100.0,
            utilization: Some(0.5),
            capacity_rps: Some(250.0),
            anomalous: false,
            ..NodeInput::default()
        })
        .collect();
    let config = RoutingConfig::default();
    let mut balancer = Balancer::new();
    let mut now = 0i64;
    c.bench_function("routing weights (10 nodes: scores + balancer)", |b| {
        b.iter(|| {
            now += 1000;
            let scores = score_nodes(&inputs, &config, Some(200.0), 0.7);
            black_box(balancer.update("svc", &inputs, scores, now, &config))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
