//! The server's own metrics, exposed on `/metrics` in the Prometheus text format. Counters
//! are atomics updated on the hot path; the exposition is a pure function writing into a
//! `fmt::Write`. Labels are bounded: rejection reasons are the event fields, routes are
//! route templates (never raw paths), views come from the configuration.

use perf_core::Engine;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds (seconds) of the request-duration histogram.
const DURATION_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters about the server itself.
#[derive(Default)]
pub struct Metrics {
    /// Events accepted.
    pub events_accepted: AtomicU64,
    /// Resource samples accepted.
    pub resources_accepted: AtomicU64,
    rejected: Mutex<BTreeMap<String, u64>>,
    durations: Mutex<BTreeMap<(String, String), Histogram>>,
    /// WebSocket clients dropped for being too slow.
    pub stream_dropped: AtomicU64,
    /// Snapshots written.
    pub snapshots: AtomicU64,
    /// The longest single hold of the engine lock during the last snapshot, µs.
    pub snapshot_longest_hold_us: AtomicU64,
    /// Size of the last snapshot written, or of the one restored at start before any is
    /// written (it also sets how many slices the next one is cut into).
    pub snapshot_bytes: AtomicU64,
    /// Backups written.
    pub backups: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicU64,
    /// WebSocket subscribers now.
    pub stream_clients: AtomicU64,
    /// Connections refused over `maxConnections`.
    pub connections_refused: AtomicU64,
    /// Requests refused over `maxConcurrentRequests` (503).
    pub requests_shed: AtomicU64,
    /// Requests refused by a token's rate limit (429).
    pub requests_rate_limited: AtomicU64,
    /// Requests that ran past `requestTimeout` (503).
    pub requests_timed_out: AtomicU64,
    /// Batches the ingest log refused, by cause (`disk_full`, `log_failed`, `io`).
    write_failures: [AtomicU64; 3],
}

/// Labels of `ecosystem_perf_events_rejected_total`: the event and resource fields, and the
/// reasons that are not a field.
const REJECT_REASONS: [&str; 26] = [
    "ts",
    "service",
    "operation",
    "node",
    "class",
    "tenant",
    "entity",
    "caller",
    "version",
    "latencyMs",
    "ok",
    "status",
    "cache",
    "cacheSpace",
    "cost",
    "stages",
    "cpu",
    "memory",
    "inflight",
    "capacityRps",
    "replicas",
    "body",
    "body_too_large",
    "unlisted",
    "element",
    "other_field",
];

/// Causes of a refused write, in the order of `Metrics::write_failures`.
const WRITE_FAILURE_CAUSES: [&str; 3] = ["disk_full", "log_failed", "io"];

impl Metrics {
    /// Counts rejected elements by reason (the field at fault, or `body`). Reasons come from
    /// a fixed vocabulary: a field name the client invented counts as `other_field`, so no
    /// request can add a label (issue 14: unique unknown keys used to grow `/metrics`
    /// without bound).
    pub fn reject(&self, reason: &str, n: u64) {
        let reason = match reason {
            "" => "element",
            r if REJECT_REASONS.contains(&r) => r,
            _ => "other_field",
        };
        let mut map = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(reason.to_string()).or_default() += n;
    }

    /// Counts a batch the ingest log refused (`cause` one of `disk_full`, `log_failed`, `io`).
    pub fn write_failed(&self, cause: &str) {
        let i = WRITE_FAILURE_CAUSES
            .iter()
            .position(|c| *c == cause)
            .unwrap_or(WRITE_FAILURE_CAUSES.len() - 1);
        self.write_failures[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Records a request's duration under its route template.
    pub fn observe(&self, method: &str, route: &str, seconds: f64) {
        let mut map = self.durations.lock().unwrap_or_else(|p| p.into_inner());
        let h = map
            .entry((method.to_string(), route.to_string()))
            .or_default();
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Writes the exposition.
    pub fn render(
        &self,
        out: &mut impl Write,
        engine: &Engine,
        log_bytes: u64,
    ) -> std::fmt::Result {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            out,
            "ecosystem_perf_events_accepted_total",
            "Events accepted and made durable.",
            load(&self.events_accepted),
        )?;
        counter(
            out,
            "ecosystem_perf_resources_accepted_total",
            "Resource samples accepted.",
            load(&self.resources_accepted),
        )?;
        writeln!(
            out,
            "# HELP ecosystem_perf_events_rejected_total Elements rejected, by the field at fault."
        )?;
        writeln!(out, "# TYPE ecosystem_perf_events_rejected_total counter")?;
        for (reason, n) in self
            .rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            writeln!(
                out,
                "ecosystem_perf_events_rejected_total{{reason=\"{}\"}} {n}",
                escape(reason)
            )?;
        }
        writeln!(
            out,
            "# HELP ecosystem_perf_series Series per aggregation view."
        )?;
        writeln!(out, "# TYPE ecosystem_perf_series gauge")?;
        for v in engine.views() {
            writeln!(
                out,
                "ecosystem_perf_series{{view=\"{}\"}} {}",
                escape(&v.def.name),
                v.series_count()
            )?;
        }
        writeln!(out, "# HELP ecosystem_perf_series_overflow_events_total Events of new keys beyond the series limit, counted in the view's __overflow__ series.")?;
        writeln!(
            out,
            "# TYPE ecosystem_perf_series_overflow_events_total counter"
        )?;
        for v in engine.views() {
            writeln!(
                out,
                "ecosystem_perf_series_overflow_events_total{{view=\"{}\"}} {}",
                escape(&v.def.name),
                v.overflow_events
            )?;
        }
        writeln!(out, "# HELP ecosystem_perf_slo_tenant_overflow_events_total Events of tenants beyond the per-SLO tenant limit (counted in the SLO's all-tenant instance only).")?;
        writeln!(
            out,
            "# TYPE ecosystem_perf_slo_tenant_overflow_events_total counter"
        )?;
        for e in engine.slos().entries().iter().filter(|e| e.def.per_tenant) {
            writeln!(
                out,
                "ecosystem_perf_slo_tenant_overflow_events_total{{slo=\"{}\"}} {}",
                escape(&e.def.name),
                e.tenant_overflow
            )?;
        }
        counter(
            out,
            "ecosystem_perf_resource_overflow_samples_total",
            "Resource samples of nodes beyond the node limit.",
            engine.resources().overflow_samples,
        )?;
        counter(
            out,
            "ecosystem_perf_events_expired_total",
            "Requests dropped from the coarsest resolution for age.",
            engine.counters.expired,
        )?;
        gauge(
            out,
            "ecosystem_perf_log_bytes",
            "Bytes in ingest log segments.",
            log_bytes as f64,
        )?;
        gauge(
            out,
            "ecosystem_perf_series_heap_bytes",
            "Approximate heap bytes of all series.",
            engine.heap_bytes() as f64,
        )?;
        counter(
            out,
            "ecosystem_perf_stream_clients_dropped_total",
            "WebSocket clients dropped as too slow.",
            load(&self.stream_dropped),
        )?;
        counter(
            out,
            "ecosystem_perf_snapshots_total",
            "Snapshots of the aggregates written.",
            load(&self.snapshots),
        )?;
        gauge(
            out,
            "ecosystem_perf_snapshot_longest_hold_seconds",
            "The longest time ingest waited on the engine during the last snapshot (one slice's copy).",
            load(&self.snapshot_longest_hold_us) as f64 / 1e6,
        )?;
        gauge(
            out,
            "ecosystem_perf_snapshot_bytes",
            "Size of the last snapshot of the aggregates written (or restored at start).",
            load(&self.snapshot_bytes) as f64,
        )?;
        counter(
            out,
            "ecosystem_perf_backups_total",
            "Backups of the data directory written (POST /v1/admin/backup and scheduled).",
            load(&self.backups),
        )?;
        gauge(
            out,
            "ecosystem_perf_connections_open",
            "Client connections open.",
            load(&self.connections_open) as f64,
        )?;
        gauge(
            out,
            "ecosystem_perf_stream_clients",
            "WebSocket subscribers of /v1/stream.",
            load(&self.stream_clients) as f64,
        )?;
        for (name, help, v) in [
            (
                "ecosystem_perf_connections_refused_total",
                "Connections refused over server.limits.maxConnections.",
                &self.connections_refused,
            ),
            (
                "ecosystem_perf_requests_shed_total",
                "Requests answered 503 over server.limits.maxConcurrentRequests.",
                &self.requests_shed,
            ),
            (
                "ecosystem_perf_requests_rate_limited_total",
                "Requests answered 429 by a token's rate limit.",
                &self.requests_rate_limited,
            ),
            (
                "ecosystem_perf_requests_timed_out_total",
                "Requests answered 503 past server.limits.requestTimeout.",
                &self.requests_timed_out,
            ),
        ] {
            counter(out, name, help, load(v))?;
        }
        writeln!(out, "# HELP ecosystem_perf_ingest_write_failures_total Batches the ingest log refused (answered 503, nothing applied), by cause.")?;
        writeln!(
            out,
            "# TYPE ecosystem_perf_ingest_write_failures_total counter"
        )?;
        for (cause, n) in WRITE_FAILURE_CAUSES.iter().zip(&self.write_failures) {
            writeln!(
                out,
                "ecosystem_perf_ingest_write_failures_total{{cause=\"{cause}\"}} {}",
                load(n)
            )?;
        }
        writeln!(out, "# HELP ecosystem_perf_http_request_duration_seconds HTTP request duration by route template.")?;
        writeln!(
            out,
            "# TYPE ecosystem_perf_http_request_duration_seconds histogram"
        )?;
        for ((method, route), h) in self
            .durations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (bound, n) in DURATION_BUCKETS.iter().zip(h.buckets) {
                writeln!(out, "ecosystem_perf_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}")?;
            }
            writeln!(
                out,
                "ecosystem_perf_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            )?;
            writeln!(
                out,
                "ecosystem_perf_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            )?;
            writeln!(
                out,
                "ecosystem_perf_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            )?;
        }
        Ok(())
    }
}

fn counter(out: &mut impl Write, name: &str, help: &str, v: u64) -> std::fmt::Result {
    writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
    )
}

fn gauge(out: &mut impl Write, name: &str, help: &str, v: f64) -> std::fmt::Result {
    writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}")
}

/// A Prometheus label value escaped.
pub(crate) fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
