//! The demo's hourly incident script, shared by the demo and the long-run memory test: in
//! every hour, qnet-2 slows six-fold (minutes 2–5), tenant dao-gamma surges on qflow
//! (12–18), qwallet fails a quarter of its requests (33–39, after the anomaly detectors'
//! 30-minute warm-up so the first burst is judged whole) and caller-scraper floods qindex with
//! slow, costly requests (44–52). Each is one [`Repeating`] incident, so the script runs for
//! as long as the generator does.

use crate::{AbusiveCaller, ErrorBurst, Generator, NodeSlowdown, Repeating, TenantSurge};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// Adds the hourly script to `generator`.
pub fn add_hourly_incidents(generator: &mut Generator) {
    generator.add_incident(Box::new(Repeating::every(
        HOUR,
        NodeSlowdown {
            service: "qnet".into(),
            node: "qnet-2".into(),
            from_ms: 2 * MINUTE,
            to_ms: 5 * MINUTE,
            factor: 6.0,
        },
    )));
    generator.add_incident(Box::new(Repeating::every(
        HOUR,
        TenantSurge {
            tenant: "dao-gamma".into(),
            service: "qflow".into(),
            from_ms: 12 * MINUTE,
            to_ms: 18 * MINUTE,
            extra_share: 0.4,
            slowdown: 1.8,
        },
    )));
    generator.add_incident(Box::new(Repeating::every(
        HOUR,
        ErrorBurst {
            service: "qwallet".into(),
            from_ms: 33 * MINUTE,
            to_ms: 39 * MINUTE,
            error_rate: 0.25,
        },
    )));
    generator.add_incident(Box::new(Repeating::every(
        HOUR,
        AbusiveCaller {
            caller: "caller-scraper".into(),
            service: "qindex".into(),
            from_ms: 44 * MINUTE,
            to_ms: 52 * MINUTE,
            share: 0.02,
            slowdown: 8.0,
            cost_factor: 20.0,
        },
    )));
}
