//! Leadership among the replicas of a stream follows the lease on the replica's own clock:
//! a leader whose lease ran out without a renewal (a paused process: GC, SIGSTOP, a stalled
//! VM) stops writing alerts and webhooks at once, before its renewal loop wakes, and leads
//! again once it renews. An embedded server always leads. Against a real NATS server.

use perf_server::config::Config;
use perf_server::durable::{Durable, ManualClock};
use std::sync::Arc;

fn config(dir: &std::path::Path) -> Config {
    let mut c = Config::default();
    c.server.data_dir = dir.display().to_string();
    c.cluster.lease_ttl = 10_000;
    c
}

#[test]
fn a_leader_whose_lease_ran_out_stops_leading_until_it_renews() {
    let nats = perf_store::testing::Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.cluster.nats.url = nats.url();
    c.cluster.nats.partitions = 2;
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let d = Durable::open_with_clock(c, clock.clone()).unwrap();
    assert!(!d.is_leader(), "no lease yet");
    assert!(d.hold_leadership());
    assert!(d.is_leader());
    clock.advance(9_000);
    assert!(d.is_leader(), "within the lease");
    clock.advance(1_001);
    assert!(
        !d.is_leader(),
        "the lease ran out while the renewal loop was not running"
    );
    assert!(d.hold_leadership(), "nobody took it meanwhile: renewed");
    assert!(d.is_leader());
    d.release_leadership();
    assert!(!d.is_leader());
}

#[test]
fn an_embedded_server_always_leads() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let d = Durable::open_with_clock(config(dir.path()), clock.clone()).unwrap();
    assert!(d.is_leader());
    clock.advance(365 * 86_400_000);
    assert!(d.is_leader() && d.hold_leadership());
}
