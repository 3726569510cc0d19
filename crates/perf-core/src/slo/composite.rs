//! Composite SLOs: a user journey made of member SLOs (OpenSLO #41; a `compositeWeight` in
//! OpenSLO's v2alpha draft), evaluated on the members' exact counts.
//!
//! Over any window, member `i` has the error ratio `r_i = bad_i / total_i` (members without
//! events in the window are left out: no evidence either way). The journey's error ratio is
//!
//! `R = 1 − (1 − R_w) × Π_key (1 − r_k)`, with `R_w = Σ w_i r_i / Σ w_i` over the weighted
//! members,
//!
//! so weighted members mix (a step three in four journeys take weighs 3 against 1), and key
//! members are steps every journey passes through: any of them failing fails the journey,
//! however well the rest does. Without key members `R = R_w`; with only key members
//! `R = 1 − Π (1 − r_k)`. From `R` the journey gets everything an SLO has: compliance
//! `1 − R` over its window, an error budget (`R / (1 − objective)` consumed), burn rates per
//! window (`R / (1 − objective)`), and the same multi-window alert tiers, judged on the
//! members' events in the short window against `minEvents`.

use super::alert::{Alert, TierReading, TierState, Transition};
use super::counter::{Counts, SloCounter};
use super::definition::SloDef;
use super::status::{
    exhaustion, verdict, window_label, ErrorBudget, SloStatus, BURN_LABELS, BURN_WINDOWS,
};
use super::window::{last, slo_window};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

const HOUR: i64 = 3_600_000;
const WEEK: i64 = 7 * 24 * HOUR;

/// One member of a journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The member SLO's name.
    pub slo: String,
    /// Weight among the weighted members (> 0; ignored for a key member).
    pub weight: f64,
    /// A step every journey takes: its failure fails the journey.
    pub key: bool,
}

/// A composite SLO: the journey's own objective, window and tiers (in `def`, whose selector
/// names the journey's service label and whose SLI and budgeting are unused), and members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompositeDef {
    /// Name, objective, window, tiers, `minEvents`, description.
    pub def: SloDef,
    /// The member SLOs.
    pub members: Vec<Member>,
}

impl CompositeDef {
    /// Checks the journey's rules and its members' shape (not that the members exist).
    pub fn validate(&self) -> Result<(), String> {
        self.def.validate()?;
        if self.members.is_empty() || self.members.len() > 30 {
            return Err("members: 1 to 30 member SLOs".into());
        }
        for (i, m) in self.members.iter().enumerate() {
            if m.slo == self.def.name {
                return Err(format!("members[{i}]: a journey cannot be its own member"));
            }
            if !(m.weight.is_finite() && m.weight > 0.0) {
                return Err(format!("members[{i}].weight: a number > 0"));
            }
            if self.members[..i].iter().any(|o| o.slo == m.slo) {
                return Err(format!("members[{i}]: {:?} is listed twice", m.slo));
            }
        }
        Ok(())
    }
}

/// The journey's error ratio from its members' counts over one window (`None`: no member
/// has an event in it).
pub fn error_ratio(members: &[Member], counts: &[Counts]) -> Option<f64> {
    let (mut weighted, mut weights, mut key_pass, mut seen) = (0.0, 0.0, 1.0, false);
    for (m, c) in members.iter().zip(counts) {
        if c.total == 0 {
            continue;
        }
        seen = true;
        let r = c.bad() as f64 / c.total as f64;
        if m.key {
            key_pass *= 1.0 - r;
        } else {
            weighted += m.weight * r;
            weights += m.weight;
        }
    }
    if !seen {
        return None;
    }
    let mix = if weights > 0.0 {
        weighted / weights
    } else {
        0.0
    };
    Some(1.0 - (1.0 - mix) * key_pass)
}

/// Evaluates a journey at `now` over its members' counters (in member order; a member SLO
/// that no longer exists reads as no events), applying its alert state machines.
pub fn evaluate(
    c: &CompositeDef,
    counters: &[Option<&SloCounter>],
    tiers: &mut Vec<TierState>,
    now: i64,
) -> (SloStatus, Vec<Transition>) {
    let def = &c.def;
    let (from, to) = slo_window(&def.window, now);
    let mut lengths: Vec<i64> = BURN_WINDOWS.to_vec();
    for w in [WEEK]
        .into_iter()
        .chain(def.tiers.iter().flat_map(|t| [t.long_ms, t.short_ms]))
    {
        if !lengths.contains(&w) && lengths.len() < 31 {
            lengths.push(w);
        }
    }
    let mut froms: Vec<i64> = lengths.iter().map(|w| last(now, *w).0).collect();
    froms.push(from);
    // Per member, the counts of every window (the last is the SLO window).
    let per_member: Vec<Vec<Counts>> = counters
        .iter()
        .map(|counter| {
            let mut out = vec![Counts::default(); froms.len()];
            if let Some(counter) = counter {
                counter.counts_since(&froms, to, &mut out);
            }
            out
        })
        .collect();
    let window = |i: usize| -> (Option<f64>, u64, u64) {
        let counts: Vec<Counts> = per_member.iter().map(|m| m[i]).collect();
        let total = counts.iter().map(|c| c.total).sum();
        let good = counts.iter().map(|c| c.good).sum();
        (error_ratio(&c.members, &counts), total, good)
    };
    let budget_share = 1.0 - def.objective;
    let burn = |i: usize| window(i).0.unwrap_or(0.0) / budget_share;
    let index = |w: i64| lengths.iter().position(|x| *x == w).unwrap_or(0);
    let (ratio, total, good) = window(froms.len() - 1);
    let compliance = ratio.map(|r| 1.0 - r);
    let spent = ratio.unwrap_or(0.0) * total as f64;
    let budget_total = budget_share * total as f64;
    let consumed = ratio.map_or(0.0, |r| r / budget_share);
    let mut burn_rates = BTreeMap::new();
    let mut burn_rate_events = BTreeMap::new();
    for (k, label) in BURN_LABELS.iter().enumerate() {
        burn_rates.insert(Cow::Borrowed(*label), burn(k));
        burn_rate_events.insert(Cow::Borrowed(*label), window(k).1);
    }
    let period = def.period_ms();
    let weekly_budget_burn = burn(index(WEEK)) * WEEK as f64 / period as f64;
    let burn_1h = burn(index(HOUR));
    let remaining = 1.0 - consumed;
    let time_to_exhaustion = exhaustion(remaining, period, burn_1h);
    tiers.resize(def.tiers.len(), TierState::default());
    let mut transitions = Vec::new();
    for (tier, state) in def.tiers.iter().zip(tiers.iter_mut()) {
        let reading = TierReading {
            burn_long: burn(index(tier.long_ms)),
            burn_short: burn(index(tier.short_ms)),
            short_events: window(index(tier.short_ms)).1,
        };
        if let Some(t) = state.evaluate(tier, tier.factor(period), reading, def.min_events, now) {
            transitions.push(t);
        }
    }
    let alerts: Vec<Alert> = tiers.iter().filter_map(|t| t.alert().cloned()).collect();
    let status = verdict(compliance, consumed, &alerts);
    let status = SloStatus {
        name: def.name.clone(),
        service: def.selector.service.clone(),
        tenant: None,
        sli: Cow::Borrowed("composite"),
        threshold_ms: None,
        objective: def.objective,
        window: window_label(&def.window),
        window_start_ms: from,
        budgeting_method: Cow::Borrowed("occurrences"),
        compliance,
        total,
        good,
        error_budget: ErrorBudget {
            total: budget_total,
            spent,
            consumed,
            remaining,
        },
        burn_rates,
        burn_rate_events,
        fast: Counts::default(),
        period_ms: period,
        weekly_budget_burn,
        time_to_exhaustion,
        status: Cow::Borrowed(status),
        alerts,
    };
    (status, transitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(slo: &str, weight: f64, key: bool) -> Member {
        Member {
            slo: slo.into(),
            weight,
            key,
        }
    }

    fn c(good: u64, total: u64) -> Counts {
        Counts { good, total }
    }

    /// A journey over three SLOs fed by an engine: its compliance, budget, every burn rate
    /// and its events equal the formula over a brute-force count of the members' events;
    /// a burst on the key member pages the journey.
    #[test]
    fn a_journeys_budget_is_the_formula_over_a_brute_force_count() {
        use crate::model::Event;
        use crate::slo::{default_tiers, Budgeting, Selector, Sli, SloWindow};
        use crate::{Engine, EngineConfig};
        const T0: i64 = 1_767_225_600_000;
        const MINUTE: i64 = 60_000;
        let slo = |name: &str, service: &str| SloDef {
            name: name.into(),
            description: None,
            selector: Selector {
                service: service.into(),
                ..Default::default()
            },
            sli: Sli::Availability,
            objective: 0.99,
            window: SloWindow::Rolling {
                length_ms: 7 * 24 * HOUR,
            },
            budgeting: Budgeting::Occurrences,
            per_tenant: false,
            tiers: default_tiers(),
            min_events: 10,
            from_config: false,
        };
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        for (name, service) in [("auth", "qauth"), ("feed", "qnet"), ("pay", "qwallet")] {
            engine.slos_mut().upsert(slo(name, service)).unwrap();
        }
        let journey = CompositeDef {
            def: SloDef {
                objective: 0.98,
                ..slo("checkout", "checkout")
            },
            members: vec![
                member("feed", 3.0, false),
                member("pay", 1.0, false),
                member("auth", 1.0, true),
            ],
        };
        engine.slos_mut().upsert_composite(journey.clone()).unwrap();
        // Three hours; qauth fails hard in the last 10 minutes.
        let mut all = Vec::new();
        for m in 0..180i64 {
            let batch: Vec<Event> = (0..30i64)
                .map(|i| {
                    let service = ["qauth", "qnet", "qwallet"][(i % 3) as usize];
                    let mut e = Event::new(T0 + m * MINUTE + i * 2_000, service, "op", 10.0);
                    e.ok = match service {
                        "qauth" => m < 170 || i % 2 == 0,
                        "qnet" => (m * 30 + i) % 97 != 0,
                        _ => (m * 30 + i) % 23 != 0,
                    };
                    e
                })
                .collect();
            engine.ingest(&batch, T0 + (m + 1) * MINUTE - 1);
            all.extend(batch);
        }
        let now = T0 + 180 * MINUTE - 1;
        engine.slos_mut().advance(now);
        let statuses: Vec<SloStatus> = engine
            .slos_mut()
            .evaluate(now)
            .into_iter()
            .map(|e| e.status)
            .collect();
        let got = statuses.iter().find(|s| s.name == "checkout").unwrap();
        let brute = |from: i64| -> (Option<f64>, u64) {
            let counts: Vec<Counts> = ["qnet", "qwallet", "qauth"]
                .iter()
                .map(|svc| {
                    let mine = all
                        .iter()
                        .filter(|e| e.service == *svc && e.ts_ms >= from && e.ts_ms <= now);
                    let (good, total) = mine.fold((0, 0), |(g, t), e| (g + u64::from(e.ok), t + 1));
                    Counts { good, total }
                })
                .collect();
            (
                error_ratio(&journey.members, &counts),
                counts.iter().map(|c| c.total).sum(),
            )
        };
        let (ratio, events) = brute(0);
        let ratio = ratio.unwrap();
        assert_eq!(got.total, events);
        assert!((got.compliance.unwrap() - (1.0 - ratio)).abs() < 1e-12);
        assert!((got.error_budget.consumed - ratio / 0.02).abs() < 1e-9);
        for (label, minutes) in [("5m", 5), ("30m", 30), ("1h", 60), ("2h", 120)] {
            let (r, n) = brute(now + 1 - minutes * MINUTE);
            assert_eq!(got.burn_rate_events[label], n, "{label}");
            assert!(
                (got.burn_rates[label] - r.unwrap() / 0.02).abs() < 1e-9,
                "{label}: {} vs {}",
                got.burn_rates[label],
                r.unwrap() / 0.02
            );
        }
        // qauth at 50 % errors for 10 minutes: the key member fails half the journeys.
        assert!(got.burn_rates["5m"] > 20.0, "{got:?}");
        assert!(
            got.alerts
                .iter()
                .any(|a| a.state == super::super::alert::AlertState::Firing),
            "{got:?}"
        );
        // Members must exist and not be journeys; a journey cannot shadow an SLO.
        let mut bad = journey.clone();
        bad.members[0].slo = "nosuch".into();
        let e = engine.slos_mut().upsert_composite(bad).unwrap_err();
        assert!(e.contains("no SLO named \"nosuch\""), "{e}");
        let mut nested = journey.clone();
        nested.def.name = "outer".into();
        nested.members[0].slo = "checkout".into();
        let e = engine.slos_mut().upsert_composite(nested).unwrap_err();
        assert!(e.contains("is a journey"), "{e}");
        assert_eq!(engine.slos().journeys_of("pay"), ["checkout"]);
    }

    #[test]
    fn weights_mix_and_key_members_fail_the_journey() {
        let weighted = [member("a", 3.0, false), member("b", 1.0, false)];
        // 1 % and 5 % errors, weighted 3:1: 2 %.
        let r = error_ratio(&weighted, &[c(990, 1000), c(95, 100)]).unwrap();
        assert!((r - 0.02).abs() < 1e-12, "{r}");
        // A key member at 10 % errors on top: 1 − 0.98 × 0.9.
        let with_key = [
            weighted[0].clone(),
            weighted[1].clone(),
            member("k", 1.0, true),
        ];
        let r = error_ratio(&with_key, &[c(990, 1000), c(95, 100), c(90, 100)]).unwrap();
        assert!((r - (1.0 - 0.98 * 0.9)).abs() < 1e-12, "{r}");
        // A member without events is no evidence; none at all is no data.
        let r = error_ratio(&with_key, &[c(990, 1000), c(0, 0), c(0, 0)]).unwrap();
        assert!((r - 0.01).abs() < 1e-12, "{r}");
        assert_eq!(error_ratio(&with_key, &[c(0, 0); 3]), None);
        // A failing key member fails the journey whatever the rest does.
        let r = error_ratio(&with_key, &[c(1000, 1000), c(100, 100), c(0, 100)]).unwrap();
        assert_eq!(r, 1.0);
    }
}
