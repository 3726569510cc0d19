//! SLO numbers against brute-force counts: compliance, budget and every burn window over
//! generated streams, window edges, a calendar month boundary in a non-UTC zone; alert
//! timing on scripted bursts; properties of budgets and burn rates.

use super::*;
use crate::model::Event;
use chrono::TimeZone;
use proptest::prelude::*;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

fn ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

fn slo(name: &str, window: SloWindow, sli: Sli) -> SloDef {
    SloDef {
        name: name.into(),
        description: None,
        selector: Selector {
            service: "qnet".into(),
            ..Default::default()
        },
        sli,
        objective: 0.99,
        window,
        budgeting: Budgeting::Occurrences,
        per_tenant: false,
        tiers: default_tiers(),
        min_events: 10,
        from_config: false,
    }
}

/// The documented window rule, written independently: the window ends with the current
/// minute; a start older than the minute tier (7h, hour-aligned) is floored to the hour.
fn oracle_range(now: i64, from: i64) -> (i64, i64) {
    let to = now - now.rem_euclid(MINUTE) + MINUTE;
    let horizon = {
        let h = now - 7 * HOUR;
        h - h.rem_euclid(HOUR)
    };
    let from = if from >= horizon {
        from - from.rem_euclid(MINUTE)
    } else {
        from - from.rem_euclid(HOUR)
    };
    (from, to)
}

fn oracle_counts(events: &[Event], sli: &Sli, from: i64, to: i64) -> (u64, u64) {
    let inside: Vec<&Event> = events
        .iter()
        .filter(|e| e.ts_ms >= from && e.ts_ms < to)
        .collect();
    (
        inside.iter().filter(|e| sli.is_good(e)).count() as u64,
        inside.len() as u64,
    )
}

fn stream(seed: u64, from: i64, to: i64, per_minute: u64) -> Vec<Event> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        for _ in 0..per_minute {
            let ts = t + rng.random_range(0..MINUTE);
            let mut e = Event::new(ts, "qnet", "GET /feed", rng.random_range(1.0..400.0));
            e.ok = !rng.random_bool(0.012);
            out.push(e);
        }
        t += MINUTE;
    }
    // Events exactly on minute and hour edges.
    for k in 0..50 {
        out.push(Event::new(from + k * HOUR, "qnet", "GET /feed", 10.0));
        out.push(Event::new(to - k * MINUTE, "qnet", "GET /feed", 300.0));
    }
    out.retain(|e| e.ts_ms < to);
    out.sort_by_key(|e| e.ts_ms);
    out
}

fn run(defs: Vec<SloDef>, events: &[Event], now: i64) -> Vec<Evaluation> {
    let mut set = SloSet::new(100);
    for d in defs {
        set.upsert(d).unwrap();
    }
    for chunk in events.chunks(500) {
        let t = chunk.last().unwrap().ts_ms;
        for e in chunk {
            set.record(e, t);
        }
        set.advance(t);
    }
    set.advance(now);
    set.evaluate(now)
}

#[test]
fn compliance_budget_and_every_burn_window_match_brute_force() {
    let now = ms("2026-03-03T12:34:56Z");
    let events = stream(7, now - 9 * DAY, now + 1, 6);
    let latency = Sli::Latency {
        threshold_ms: 300.0,
    };
    let defs = vec![
        slo(
            "avail-7d",
            SloWindow::Rolling { length_ms: 7 * DAY },
            Sli::Availability,
        ),
        slo(
            "lat-3d",
            SloWindow::Rolling {
                length_ms: 72 * HOUR,
            },
            latency,
        ),
        slo(
            "month-ny",
            SloWindow::Calendar {
                unit: CalendarUnit::Month,
                tz: chrono_tz::America::New_York,
            },
            Sli::Availability,
        ),
        slo(
            "week-berlin",
            SloWindow::Calendar {
                unit: CalendarUnit::Week,
                tz: chrono_tz::Europe::Berlin,
            },
            latency,
        ),
    ];
    let results = run(defs.clone(), &events, now);
    for (def, r) in defs.iter().zip(&results) {
        let s = &r.status;
        let nominal_from = match def.window {
            SloWindow::Rolling { length_ms } => now - now.rem_euclid(MINUTE) + MINUTE - length_ms,
            SloWindow::Calendar {
                unit: CalendarUnit::Month,
                tz,
            } => tz
                .with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
                .unwrap()
                .timestamp_millis(),
            SloWindow::Calendar {
                unit: CalendarUnit::Week,
                tz,
            } => tz
                .with_ymd_and_hms(2026, 3, 2, 0, 0, 0)
                .unwrap()
                .timestamp_millis(),
            _ => unreachable!(),
        };
        let (from, to) = oracle_range(now, nominal_from);
        assert_eq!(s.window_start_ms, from, "{}", def.name);
        let (good, total) = oracle_counts(&events, &def.sli, from, to);
        assert_eq!((s.good, s.total), (good, total), "{}", def.name);
        let bad = (total - good) as f64;
        let allowed = 0.01 * total as f64;
        assert!((s.compliance.unwrap() - good as f64 / total as f64).abs() < 1e-12);
        assert!(
            (s.error_budget.total - allowed).abs() < 1e-9,
            "{}",
            def.name
        );
        assert!(
            (s.error_budget.consumed - bad / allowed).abs() < 1e-9,
            "{}",
            def.name
        );
        assert!((s.error_budget.remaining - (1.0 - bad / allowed)).abs() < 1e-9);
        for w in BURN_WINDOWS {
            let (f, t) = oracle_range(now, now - now.rem_euclid(MINUTE) + MINUTE - w);
            let (g, n) = oracle_counts(&events, &def.sli, f, t);
            let want = if n == 0 {
                0.0
            } else {
                ((n - g) as f64 / n as f64) / (1.0 - 0.99)
            };
            let label = crate::duration::format_duration(w);
            assert!(
                (s.burn_rates[label.as_str()] - want).abs() < 1e-9,
                "{} {label}: {} vs {want}",
                def.name,
                s.burn_rates[label.as_str()]
            );
            assert_eq!(s.burn_rate_events[label.as_str()], n);
        }
    }
    // The month window starts at midnight New York time, 05:00 UTC.
    assert_eq!(
        results[2].status.window_start_ms,
        ms("2026-03-01T05:00:00Z")
    );
}

#[test]
fn a_scripted_burst_fires_each_tier_when_its_rule_first_holds_and_resolves_after() {
    let start = ms("2026-05-01T00:00:00Z");
    // 100 events per minute, all good, except a one-hour burst of 40 % errors.
    let burst = (start + 8 * HOUR, start + 9 * HOUR);
    let mut events = Vec::new();
    for m in 0..(11 * 60) {
        for k in 0..100 {
            let ts = start + m * MINUTE + k * 600;
            let mut e = Event::new(ts, "qnet", "op", 5.0);
            e.ok = !(ts >= burst.0 && ts < burst.1 && k % 5 < 2);
            events.push(e);
        }
    }
    let def = slo(
        "burst",
        SloWindow::Rolling {
            length_ms: 30 * DAY,
        },
        Sli::Availability,
    );
    let mut set = SloSet::new(10);
    set.upsert(def.clone()).unwrap();
    let mut fired_at = vec![None; def.tiers.len()];
    let mut resolved_at = vec![None; def.tiers.len()];
    let mut expected_fire = vec![None; def.tiers.len()];
    let mut idx = 0;
    for m in 1..(11 * 60) {
        let now = start + m * MINUTE - 1;
        while idx < events.len() && events[idx].ts_ms <= now {
            set.record(&events[idx], now);
            idx += 1;
        }
        set.advance(now);
        let eval = set.evaluate(now).remove(0);
        for t in &eval.transitions {
            let tier = def
                .tiers
                .iter()
                .position(|x| crate::duration::format_duration(x.long_ms) == t.alert.long_window)
                .unwrap();
            match t.alert.state {
                AlertState::Firing => fired_at[tier] = fired_at[tier].or(Some(m)),
                AlertState::Resolved => resolved_at[tier] = resolved_at[tier].or(Some(m)),
                AlertState::Pending => {}
            }
        }
        for (i, tier) in def.tiers.iter().enumerate() {
            let factor = tier.factor(def.period_ms());
            let burn = |w: i64| {
                let (f, t) = oracle_range(now, now - now.rem_euclid(MINUTE) + MINUTE - w);
                let (g, n) = oracle_counts(&events[..idx], &def.sli, f, t);
                if n == 0 {
                    0.0
                } else {
                    ((n - g) as f64 / n as f64) / (1.0 - 0.99)
                }
            };
            if expected_fire[i].is_none()
                && burn(tier.long_ms) >= factor
                && burn(tier.short_ms) >= factor
            {
                expected_fire[i] = Some(m);
            }
        }
    }
    assert_eq!(
        fired_at, expected_fire,
        "each tier fires at the first evaluation where its rule holds"
    );
    assert!(
        fired_at[0].is_some() && fired_at[1].is_some(),
        "both page tiers fire on a 40 % burst"
    );
    assert!(
        resolved_at[0].is_some() && resolved_at[0] > fired_at[0],
        "the 1h/5m page resolves after the burst"
    );
}

#[test]
fn the_low_traffic_guard_holds_back_a_page_on_a_handful_of_events() {
    let now = ms("2026-05-01T12:00:00Z");
    let events: Vec<Event> = (0..4)
        .map(|i| {
            let mut e = Event::new(now - i * 1000, "qnet", "op", 1.0);
            e.ok = false;
            e
        })
        .collect();
    let r = run(
        vec![slo(
            "quiet",
            SloWindow::Rolling {
                length_ms: 30 * DAY,
            },
            Sli::Availability,
        )],
        &events,
        now,
    );
    let alerts = &r[0].status.alerts;
    assert!(!alerts.is_empty());
    assert!(
        alerts.iter().all(|a| a.state == AlertState::Pending),
        "{alerts:?}"
    );
    assert!(alerts[0].reason.as_deref().unwrap().contains("low traffic"));
}

#[test]
fn per_tenant_slos_get_an_instance_per_tenant() {
    let now = ms("2026-05-01T12:00:00Z");
    let events: Vec<Event> = (0..30)
        .map(|i| {
            let mut e = Event::new(now - i * 1000, "qnet", "op", 1.0);
            e.tenant = Some(format!("dao-{}", i % 3));
            e.ok = i % 3 != 0;
            e
        })
        .collect();
    let mut def = slo(
        "per-dao",
        SloWindow::Rolling { length_ms: 7 * DAY },
        Sli::Availability,
    );
    def.per_tenant = true;
    let r = run(vec![def], &events, now);
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].status.total, 30);
    let dao0 = r
        .iter()
        .find(|e| e.status.tenant.as_deref() == Some("dao-0"))
        .unwrap();
    assert_eq!((dao0.status.good, dao0.status.total), (0, 10));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Adding only bad events never lowers the budget consumed; burn rates are never negative.
    #[test]
    fn consumption_is_monotone_in_bad_events(good in 1u64..300, bad in 0u64..50, more_bad in 1u64..50) {
        let now = ms("2026-05-01T12:00:00Z");
        let mk = |bad: u64| -> Vec<Event> {
            (0..good + bad).map(|i| {
                let mut e = Event::new(now - (i as i64 % 3600) * 1000, "qnet", "op", 1.0);
                e.ok = i >= bad;
                e
            }).collect()
        };
        let def = slo("p", SloWindow::Rolling { length_ms: 7 * DAY }, Sli::Availability);
        let before = run(vec![def.clone()], &mk(bad), now).remove(0).status;
        let after = run(vec![def], &mk(bad + more_bad), now).remove(0).status;
        prop_assert!(after.error_budget.consumed >= before.error_budget.consumed);
        prop_assert!(after.burn_rates.values().chain(before.burn_rates.values()).all(|b| *b >= 0.0));
    }
}

#[test]
fn timeslices_count_slices_and_ratio_timeslices_average_them() {
    let now = ms("2026-05-01T12:00:00Z");
    // Two 5-minute slices with data: one perfect, one at 90 %.
    let mut events = Vec::new();
    for k in 0..10 {
        events.push(Event::new(now - 9 * HOUR + k * 1000, "qnet", "op", 1.0));
        let mut e = Event::new(now - 9 * HOUR + 5 * MINUTE + k * 1000, "qnet", "op", 1.0);
        e.ok = k != 0;
        events.push(e);
    }
    let mut ts = slo(
        "ts",
        SloWindow::Rolling { length_ms: 7 * DAY },
        Sli::Availability,
    );
    ts.budgeting = Budgeting::Timeslices {
        slice_ms: 5 * MINUTE,
        threshold: 0.95,
    };
    let mut rts = slo(
        "rts",
        SloWindow::Rolling { length_ms: 7 * DAY },
        Sli::Availability,
    );
    rts.budgeting = Budgeting::RatioTimeslices {
        slice_ms: 5 * MINUTE,
    };
    let r = run(vec![ts, rts], &events, now);
    assert_eq!(r[0].status.compliance, Some(0.5));
    assert!((r[0].status.error_budget.spent - 1.0).abs() < 1e-12);
    assert!((r[1].status.compliance.unwrap() - 0.95).abs() < 1e-12);
}
