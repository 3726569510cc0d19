//! History for an SLO from the first minute: a new (or redefined) SLO's counters are filled
//! from what the views already hold, so it answers over up to the views' retention (35 days
//! by default) instead of starting at zero. Grafana offers this only in its cloud, Pyrra
//! asked Prometheus for it in vain (recording-rule back-fill).
//!
//! **Exactness.** The views count every event once, in buckets of their resolutions (1 m for
//! the last 4 h, 10 m for a day, 1 h behind by default). Events older than the counter's
//! minute tier are summed per hour, which is exactly the hour tier's granularity; younger ones
//! per minute, each view bucket at its start (a 10-minute bucket of hours 4–7 lands in the
//! minute it starts). Availability counts are exact: good = requests − errors. A latency
//! SLI's good events (ok and at most the threshold) come from the latency sketch: events in the
//! sketch's bin holding the threshold may lie on either side of it, and the sketch does not
//! say which of its events failed, so the estimate (fast events × the ok share) carries a
//! bound, `latencyBound`: the most good events it can be off by. Timeslice budgets need
//! per-slice tallies the hour tier keeps only from minute data, so they are filled from the
//! minute tier's span only (the last 7 hours).

use super::correction::{cover, excluded_by, Correction, Cover};
use super::counter::{minute_horizon, Counts};
use super::definition::{Budgeting, Sli, SloDef};
use crate::stats::Stats;
use crate::view::Dim;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// What a back-fill read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Backfilled {
    /// The oldest history read, unix ms (RFC 3339 in answers).
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: i64,
    /// When it was filled.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: i64,
    /// Events counted (all tenants).
    pub events: u64,
    /// For a latency SLI: the most good events the estimate can be off by (0 for
    /// availability, exact).
    pub latency_bound: u64,
    /// Events of the busiest whole hour of the history (what the alert tiers' short windows
    /// can hold at most, scaled to their length).
    pub peak_hour_events: u64,
    /// The view read.
    pub view: String,
    /// Events of the history each budget correction left out, by correction id (absent
    /// without corrections).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub excluded_events: BTreeMap<String, u64>,
}

/// Per-bucket counts of one instance, oldest first.
pub type Buckets = Vec<(i64, Counts)>;

/// The history read for an SLO: the all-tenants instance, per tenant, and the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// Over all matching events.
    pub all: Buckets,
    /// Per tenant (perTenant SLOs), at most the set's tenant limit.
    pub tenants: BTreeMap<String, Buckets>,
    /// The summary.
    pub summary: Backfilled,
}

/// The view able to answer for `def`: the one with the fewest dimensions holding every
/// dimension its selector filters on (and the tenant for a perTenant SLO).
fn view_for(views: &[(String, Vec<Dim>)], def: &SloDef) -> Option<(String, Vec<Dim>)> {
    let s = &def.selector;
    let mut needed = vec![Dim::Service];
    for (set, dim) in [
        (s.operation.is_some(), Dim::Operation),
        (s.class.is_some(), Dim::Class),
        (s.node.is_some(), Dim::Node),
        (s.tenant.is_some() || def.per_tenant, Dim::Tenant),
        (s.version.is_some(), Dim::Version),
    ] {
        if set {
            needed.push(dim);
        }
    }
    views
        .iter()
        .filter(|(_, dims)| needed.iter().all(|d| dims.contains(d)))
        .min_by_key(|(_, dims)| dims.len())
        .cloned()
}

/// Good events of `stats` under `sli`, and the most the count can be off by.
fn good_of(sli: &Sli, stats: &Stats) -> (u64, u64) {
    let ok = stats.requests - stats.errors;
    match sli {
        Sli::Availability => (ok, 0),
        Sli::Latency { threshold_ms } => {
            let t = *threshold_ms;
            let fast = stats.latency.count_at_most(t).min(stats.requests);
            // Events of the threshold's bin: the sketch cannot tell their side.
            let band = stats.latency.count_in_bin_of(t).min(fast);
            if stats.requests == 0 {
                return (0, 0);
            }
            // Failed fast events lie between these; the estimate assumes failures are as
            // fast as the rest.
            let slow = stats.requests - fast;
            let failed_fast_most = stats.errors.min(fast);
            let failed_fast_least = stats.errors.saturating_sub(slow);
            let failed_fast =
                (stats.errors as f64 * fast as f64 / stats.requests as f64).round() as u64;
            let good = fast - failed_fast.clamp(failed_fast_least, failed_fast_most);
            (good, band + (failed_fast_most - failed_fast_least))
        }
    }
}

/// Stats per series of a view matching a filter, buckets starting in `[from, to)`: what
/// `Engine::group` answers (passed in, so this module does not depend on the engine).
pub type Group<'a> =
    dyn Fn(&str, &[(Dim, &str)], i64, i64) -> Option<Vec<(Vec<String>, Stats)>> + 'a;

/// Reads `def`'s history at `now` from `views` (name and dimensions) through `group`, up to
/// `keep_ms` back (and at most `max_tenants` tenant instances), leaving out what
/// `corrections` exclude (a step they cover in part is read minute by minute, each bucket
/// judged by its start); `None` when no view holds the dimensions it filters on.
pub fn history(
    views: &[(String, Vec<Dim>)],
    group: &Group<'_>,
    def: &SloDef,
    corrections: &[Correction],
    now: i64,
    keep_ms: i64,
    max_tenants: usize,
) -> Option<History> {
    let (view, dims) = view_for(views, def)?;
    let s = &def.selector;
    let class = s.class.map(|c| c.as_str());
    let mut filter: Vec<(Dim, &str)> = vec![(Dim::Service, s.service.as_str())];
    for (value, dim) in [
        (s.operation.as_deref(), Dim::Operation),
        (class, Dim::Class),
        (s.node.as_deref(), Dim::Node),
        (s.tenant.as_deref(), Dim::Tenant),
        (s.version.as_deref(), Dim::Version),
    ] {
        if let Some(v) = value {
            filter.push((dim, v));
        }
    }
    let tenant_pos = dims.iter().position(|d| *d == Dim::Tenant);
    let horizon = minute_horizon(now);
    let oldest = match def.budgeting {
        Budgeting::Occurrences => (now - keep_ms).div_euclid(HOUR) * HOUR,
        _ => horizon,
    };
    // Hours behind the minute tier, then minutes up to now.
    let mut steps: Vec<(i64, i64)> = (0..)
        .map(|h| oldest + h * HOUR)
        .take_while(|t| *t < horizon)
        .map(|t| (t, HOUR))
        .collect();
    steps.extend(
        (0..)
            .map(|m| horizon.max(oldest) + m * MINUTE)
            .take_while(|t| *t <= now)
            .map(|t| (t, MINUTE)),
    );
    if !corrections.is_empty() {
        steps = steps
            .into_iter()
            .flat_map(
                |(start, width)| match cover(corrections, start, start + width) {
                    Cover::Part => (0..width / MINUTE)
                        .map(|m| (start + m * MINUTE, MINUTE))
                        .collect(),
                    _ => vec![(start, width)],
                },
            )
            .collect();
    }
    let mut excluded_events: BTreeMap<String, u64> = BTreeMap::new();
    let (mut all, mut tenants) = (Buckets::new(), BTreeMap::<String, Buckets>::new());
    let (mut events, mut bound, mut first) = (0u64, 0u64, None);
    let mut per_hour: BTreeMap<i64, u64> = BTreeMap::new();
    for (start, width) in steps {
        let groups = group(&view, &filter, start, start + width)?;
        if let Some(k) = excluded_by(corrections, start) {
            let n: u64 = groups.iter().map(|(_, s)| s.requests).sum();
            *excluded_events
                .entry(corrections[k].id.clone())
                .or_default() += n;
            continue;
        }
        let mut merged = Stats::default();
        let mut per_tenant: BTreeMap<&str, Stats> = BTreeMap::new();
        for (key, stats) in &groups {
            merged.merge(stats);
            if let (true, Some(p)) = (def.per_tenant, tenant_pos) {
                per_tenant.entry(key[p].as_str()).or_default().merge(stats);
            }
        }
        for (t, stats) in per_tenant {
            if !tenants.contains_key(t) && tenants.len() >= max_tenants {
                continue;
            }
            let (good, _) = good_of(&def.sli, &stats);
            tenants.entry(t.to_string()).or_default().push((
                start,
                Counts {
                    good,
                    total: stats.requests,
                },
            ));
        }
        if merged.requests == 0 {
            continue;
        }
        first.get_or_insert(start);
        let (good, off) = good_of(&def.sli, &merged);
        events += merged.requests;
        *per_hour.entry(start.div_euclid(HOUR)).or_default() += merged.requests;
        bound += off;
        all.push((
            start,
            Counts {
                good,
                total: merged.requests,
            },
        ));
    }
    Some(History {
        all,
        tenants,
        summary: Backfilled {
            from: first.unwrap_or(now),
            at: now,
            events,
            latency_bound: bound,
            peak_hour_events: per_hour.values().copied().max().unwrap_or(0),
            view,
            excluded_events,
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::model::Event;
    use crate::slo::{default_tiers, Budgeting, Selector, Sli, SloDef, SloStatus, SloWindow};
    use crate::{Engine, EngineConfig};

    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const T0: i64 = 1_767_225_600_000;

    fn slo(sli: Sli, per_tenant: bool) -> SloDef {
        SloDef {
            name: "wallet".into(),
            description: None,
            selector: Selector {
                service: "qwallet".into(),
                ..Default::default()
            },
            sli,
            objective: 0.99,
            window: SloWindow::Rolling {
                length_ms: 28 * 24 * HOUR,
            },
            budgeting: Budgeting::Occurrences,
            per_tenant,
            tiers: default_tiers(),
            min_events: 10,
            from_config: false,
        }
    }

    /// Four days of traffic, a batch per 10 minutes: errors and latencies vary with time
    /// (a slow, failing day two), two tenants, and a service the SLO does not select.
    fn batches() -> Vec<(i64, Vec<Event>)> {
        (0..4 * 24 * 6)
            .map(|k| {
                let t = T0 + k * 10 * MINUTE;
                let bad_day = (144..288).contains(&k);
                let batch = (0..40)
                    .map(|i| {
                        let service = if i % 10 == 9 { "qnet" } else { "qwallet" };
                        let latency = 20.0
                            + ((k * 7 + i * 13) % 300) as f64 * if bad_day { 2.0 } else { 1.0 };
                        let mut e = Event::new(t + i * 15_000, service, "POST /transfer", latency);
                        e.ok = (k + i) % if bad_day { 9 } else { 97 } != 0;
                        e.tenant = Some(if i % 3 == 0 { "dao-a" } else { "dao-b" }.into());
                        e
                    })
                    .collect();
                (t + 10 * MINUTE - 1, batch)
            })
            .collect()
    }

    fn play(engine: &mut Engine, batches: &[(i64, Vec<Event>)]) {
        for (now, batch) in batches {
            engine.ingest(batch, *now);
        }
    }

    /// Statuses of the all-tenants instance and each tenant's, at `now`.
    fn statuses(engine: &mut Engine, now: i64) -> Vec<SloStatus> {
        engine.slos_mut().advance(now);
        engine
            .slos_mut()
            .evaluate(now)
            .into_iter()
            .map(|e| e.status)
            .collect()
    }

    /// The SLO made after the traffic and back-filled answers as the SLO that counted
    /// every event as it came: availability exactly (good, total, every burn rate's events),
    /// per tenant too.
    #[test]
    fn a_backfilled_availability_slo_counts_exactly_what_a_live_one_counted() {
        let data = batches();
        let now = data.last().unwrap().0;
        let mut live = Engine::new(EngineConfig::default()).unwrap();
        live.slos_mut()
            .upsert(slo(Sli::Availability, true))
            .unwrap();
        play(&mut live, &data);
        let mut late = Engine::new(EngineConfig::default()).unwrap();
        play(&mut late, &data);
        late.slos_mut()
            .upsert(slo(Sli::Availability, true))
            .unwrap();
        let summary = late.backfill_slo("wallet", now).unwrap();
        let (a, b) = (statuses(&mut live, now), statuses(&mut late, now));
        assert_eq!(a.len(), 3, "all tenants and two tenants");
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (x.tenant.as_deref(), x.good, x.total),
                (y.tenant.as_deref(), y.good, y.total)
            );
            assert_eq!(x.burn_rate_events, y.burn_rate_events, "{:?}", x.tenant);
            assert_eq!(x.burn_rates, y.burn_rates, "{:?}", x.tenant);
        }
        assert_eq!(summary.events, a[0].total);
        assert_eq!(summary.latency_bound, 0);
        assert_eq!(summary.from, T0);
        assert_eq!(summary.view, "service_tenant");
    }

    /// A latency SLI is filled from the sketches: off by no more than the bound it states,
    /// and the bound is small against the events.
    #[test]
    fn a_backfilled_latency_slo_is_within_its_stated_bound() {
        let data = batches();
        let now = data.last().unwrap().0;
        let sli = Sli::Latency {
            threshold_ms: 250.0,
        };
        let mut live = Engine::new(EngineConfig::default()).unwrap();
        live.slos_mut().upsert(slo(sli, false)).unwrap();
        play(&mut live, &data);
        let mut late = Engine::new(EngineConfig::default()).unwrap();
        play(&mut late, &data);
        late.slos_mut().upsert(slo(sli, false)).unwrap();
        let summary = late.backfill_slo("wallet", now).unwrap();
        let (a, b) = (statuses(&mut live, now), statuses(&mut late, now));
        assert_eq!(a[0].total, b[0].total);
        let off = a[0].good.abs_diff(b[0].good);
        assert!(
            off <= summary.latency_bound,
            "off by {off}, bound {}",
            summary.latency_bound
        );
        assert!(summary.latency_bound > 0);
        assert!(
            (summary.latency_bound as f64) < 0.05 * a[0].total as f64,
            "{summary:?}"
        );
    }

    /// An SLO on a dimension no view has cannot be filled; nothing is counted twice when
    /// events keep arriving after the back-fill.
    #[test]
    fn no_view_no_backfill_and_later_events_count_once() {
        let data = batches();
        let (before, after) = data.split_at(data.len() - 6);
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        play(&mut engine, before);
        let mut by_node_and_tenant = slo(Sli::Availability, true);
        by_node_and_tenant.name = "odd".into();
        by_node_and_tenant.selector.node = Some("default".into());
        engine.slos_mut().upsert(by_node_and_tenant).unwrap();
        assert!(engine
            .backfill_slo("odd", before.last().unwrap().0)
            .is_none());
        engine
            .slos_mut()
            .upsert(slo(Sli::Availability, false))
            .unwrap();
        engine
            .backfill_slo("wallet", before.last().unwrap().0)
            .unwrap();
        play(&mut engine, after);
        let mut live = Engine::new(EngineConfig::default()).unwrap();
        live.slos_mut()
            .upsert(slo(Sli::Availability, false))
            .unwrap();
        play(&mut live, &data);
        let now = data.last().unwrap().0;
        let a = statuses(&mut live, now);
        let b = statuses(&mut engine, now);
        let wallet = b.iter().find(|s| s.name == "wallet").unwrap();
        assert_eq!((a[0].good, a[0].total), (wallet.good, wallet.total));
    }

    /// Budget corrections (issue 23): maintenance windows declared after the fact exclude
    /// exactly their events from the history (one on day two, behind the views' minutes,
    /// one in the last hours) and, for one that reaches past the declaration, from what comes
    /// after; a brute-force count over the events agrees, and so do the excluded counts.
    #[test]
    fn maintenance_windows_exclude_exactly_their_events_past_and_future() {
        use crate::slo::{Correction, Exclusion};
        let data = batches();
        let (before, after) = data.split_at(data.len() - 18);
        let declared = before.last().unwrap().0;
        let next = declared + 1; // the next batch's first event
        let window = |id: &str, from: i64, to: i64| Correction {
            id: id.into(),
            exclusion: Exclusion::Maintenance {
                from_ms: from,
                to_ms: to,
            },
            reason: "upgrade".into(),
            author: "ops".into(),
            token: None,
            created_ms: declared,
            from_config: false,
        };
        let windows = vec![
            window("day-two", T0 + 30 * HOUR, T0 + 31 * HOUR),
            // Edges off the 10-minute boundaries, within the minute level's 4 hours.
            window(
                "recent",
                next - 3 * HOUR + 3 * MINUTE,
                next - 2 * HOUR - 7 * MINUTE,
            ),
            window("spanning", next - HOUR, next + HOUR),
        ];
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        play(&mut engine, before);
        engine
            .slos_mut()
            .upsert(slo(Sli::Availability, false))
            .unwrap();
        assert!(engine
            .slos_mut()
            .set_corrections("wallet", windows.clone())
            .unwrap());
        let summary = engine.backfill_slo("wallet", declared).unwrap();
        play(&mut engine, after);
        let now = data.last().unwrap().0;
        let got = statuses(&mut engine, now);

        let (mut good, mut total) = (0u64, 0u64);
        let mut excluded = [0u64; 3];
        for e in data
            .iter()
            .flat_map(|(_, b)| b)
            .filter(|e| e.service == "qwallet")
        {
            match windows.iter().position(|w| w.exclusion.excludes(e.ts_ms)) {
                Some(k) => excluded[k] += 1,
                None => {
                    total += 1;
                    good += u64::from(e.ok);
                }
            }
        }
        assert!(excluded.iter().all(|n| *n > 0), "{excluded:?}");
        assert_eq!((got[0].good, got[0].total), (good, total));
        let entry = engine.slos().get("wallet").unwrap();
        for (k, w) in windows.iter().enumerate() {
            let past = summary.excluded_events.get(&w.id).copied().unwrap_or(0);
            assert_eq!(past + entry.excluded_live[k], excluded[k], "{}", w.id);
        }
        assert!(
            entry.excluded_live[2] > 0,
            "the spanning window excluded live events"
        );
        // Withdrawn, every event counts again.
        assert!(engine.slos_mut().set_corrections("wallet", vec![]).unwrap());
        engine.backfill_slo("wallet", now).unwrap();
        let again = statuses(&mut engine, now);
        assert_eq!(again[0].total, total + excluded.iter().sum::<u64>());
    }
}
