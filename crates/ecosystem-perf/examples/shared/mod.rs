//! What the load examples (`loadgen`, `soak`) share: `--flag value` arguments and the
//! NDJSON batch they send (5 services × 20 operations × 12 nodes, 4 tenants, 5,000 callers,
//! 10 fields per event, 0.5 % errors, 90 % cache hits; `--services N` spreads it over N
//! services instead, for a cluster whose partitions are services; `--cache space` adds a
//! `cacheSpace` per service and `--cache key` also a `cacheKey` out of 100,000, to measure
//! what cache key sampling costs at ingest; `--cache pad` the same bytes under a field the
//! server skips, to tell the cost of the bytes from the cost of the sampling).

/// The value after `name` on the command line, or `default`.
pub fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.into())
}

/// One NDJSON batch of `batch` events; `seed` varies which keys it holds.
pub fn body(batch: usize, seed: usize) -> String {
    let named = ["qnet", "qflow", "qerberos", "qwallet", "qindex"];
    let count: usize = arg("--services", "5").parse().expect("--services");
    let services: Vec<String> = if count == 5 {
        named.iter().map(|s| s.to_string()).collect()
    } else {
        (0..count.max(1)).map(|i| format!("svc-{i}")).collect()
    };
    let cache = arg("--cache", "none");
    assert!(
        ["none", "space", "key", "pad"].contains(&cache.as_str()),
        "--cache none|space|key|pad"
    );
    (0..batch)
        .map(|i| {
            let k = i * 7919 + seed * 104_729;
            let service = &services[k % services.len()];
            let extra = match cache.as_str() {
                "space" => format!(",\"cacheSpace\":\"{service}:main\""),
                "key" => format!(
                    ",\"cacheSpace\":\"{service}:main\",\"cacheKey\":\"item-{}\"",
                    k.wrapping_mul(2_654_435_761) % 100_000
                ),
                // The same bytes under a field the server skips: what the key's bytes cost.
                "pad" => format!(
                    ",\"cacheSpace\":\"{service}:main\",\"cacheKez\":\"item-{}\"",
                    k.wrapping_mul(2_654_435_761) % 100_000
                ),
                _ => String::new(),
            };
            format!(
                "{{\"service\":\"{}\",\"operation\":\"op{}\",\"node\":\"node-{}\",\"tenant\":\"dao-{}\",\"entity\":\"caller-{}\",\"version\":\"v1\",\"latencyMs\":{}.{},\"ok\":{},\"cache\":\"{}\",\"cost\":0.0002{extra}}}",
                service, k % 20, k % 12, k % 4, k % 5000, 5 + k % 300, k % 10,
                !k.is_multiple_of(200), if k.is_multiple_of(10) { "miss" } else { "hit" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
