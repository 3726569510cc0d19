//! Moving the state of some services between engines, for a cluster whose replicas own
//! partitions of the services (`hash(service) mod P`): the owner of a partition snapshots
//! [`Engine::extract`] of its services; a replica taking a partition over loads that
//! snapshot with [`Engine::absorb`], and a replica giving one up calls
//! [`Engine::forget_services`].
//!
//! Everything an engine holds belongs to one service (the first dimension of every view is
//! `service`; caller summaries, resource samples and SLO counters are per service), so the
//! state of a set of services moves whole and exactly: absorbing the extracts of disjoint
//! service sets gives the engine that saw all their events (tested against that engine).
//! The exception is a view's overflow series, which mixes the services that overflowed; it
//! travels with the partition of the service name [`crate::view::OVERFLOW_VALUE`].
//! Interned ids differ between engines, so series keys and stage ids are translated.

use super::{Engine, MAX_STAGE_NAMES};
use crate::error::CoreError;
use crate::interner::Interner;
use crate::resources::Resources;
use crate::view::{Series, View, OVERFLOW_VALUE};
use ahash::AHashMap;

impl Engine {
    /// The state of the services `keep` names, as an engine of its own (same configuration
    /// and clock; the definitions of every SLO, with counts only for the kept services).
    pub fn extract(&self, keep: impl Fn(&str) -> bool) -> Engine {
        let mut out = Engine {
            config: self.config.clone(),
            interner: Interner::default(),
            views: self.config.views.iter().cloned().map(View::new).collect(),
            callers: AHashMap::new(),
            resources: Resources::default(),
            stages: Interner::default(),
            watermark: self.watermark,
            last_advance: self.last_advance,
            slos: self.slos.extract(&keep),
            counters: Default::default(),
            sweep: Default::default(),
            series_per_tenant: self.series_per_tenant,
            caches: Default::default(),
            generation: super::next_generation(),
        };
        out.take_from(self, &keep);
        out
    }

    /// Forgets everything about the services `drop` names (SLO definitions stay, with empty
    /// counts).
    pub fn forget_services(&mut self, drop: impl Fn(&str) -> bool) {
        self.touch();
        let interner = &self.interner;
        for view in &mut self.views {
            view.retain_series(|s| !drop(interner.name(s.key[0])));
        }
        self.callers.retain(|id, _| !drop(interner.name(*id)));
        self.resources.retain_services(|s| !drop(s));
        self.caches.lock().retain_services(|s| !drop(s));
        self.slos.reset_services(&drop);
    }

    /// Takes in the state of `other`'s services that `take` names. Meant for services this
    /// engine does not hold: their series are merged bucket by bucket when it does, but their
    /// caller summaries, resource samples and SLO counts are replaced. The clock moves to the
    /// later of the two. Refuses an engine with other views or resolutions.
    pub fn absorb(&mut self, other: &Engine, take: impl Fn(&str) -> bool) -> Result<(), CoreError> {
        if other.config.views != self.config.views
            || other.config.resolutions != self.config.resolutions
        {
            return Err(CoreError::InvalidQuery(
                "the engine to absorb has other views or resolutions".into(),
            ));
        }
        self.touch();
        self.take_from(other, &take);
        self.slos.absorb(&other.slos, &take);
        if other.watermark > self.watermark {
            self.advance(other.watermark);
        }
        Ok(())
    }

    /// Copies the series, caller summaries and resource samples of `other`'s services that
    /// `take` names, translating interned ids.
    fn take_from(&mut self, other: &Engine, take: &impl Fn(&str) -> bool) {
        let stage_map: Vec<u32> = (0..other.stages.len() as u32)
            .map(|id| {
                let name = other.stages.name(id);
                match self.stages.get(name) {
                    Some(mine) => mine,
                    None if self.stages.len() < MAX_STAGE_NAMES => self.stages.intern(name),
                    None => self.stages.intern("other"),
                }
            })
            .collect();
        let identity = stage_map.iter().enumerate().all(|(i, &m)| i as u32 == m);
        for (mine, theirs) in self.views.iter_mut().zip(&other.views) {
            let dims = theirs.def.dims.len();
            for s in theirs.series() {
                if !take(other.name(s.key[0])) {
                    continue;
                }
                let mut key = s.key;
                for k in key.iter_mut().take(dims) {
                    *k = self.interner.intern(other.interner.name(*k));
                }
                let mut rollup = s.rollup.clone();
                if !identity {
                    for stats in rollup.buckets_mut() {
                        stats.remap_stages(&stage_map);
                    }
                }
                let overflow = self.interner.get(OVERFLOW_VALUE);
                mine.absorb_series(Series { key, rollup }, overflow);
            }
        }
        for (id, summaries) in &other.callers {
            let service = other.interner.name(*id);
            if take(service) {
                let mine = self.interner.intern(service);
                self.callers.insert(mine, summaries.clone());
            }
        }
        for (service, node, samples) in other.resources.nodes() {
            if take(service) {
                self.resources.put_node(service, node, samples.clone());
            }
        }
        let theirs = other.caches.lock();
        self.caches.lock().take_from(&theirs, take);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;
    use crate::heavy_hitters::Measure;
    use crate::model::Event;
    use crate::slo::{default_tiers, Budgeting, Selector, Sli, SloDef, SloWindow};
    use crate::stats::Stats;
    use proptest::prelude::*;

    const T0: i64 = 1_699_999_200_000;
    const M: i64 = 60_000;
    const SERVICES: [&str; 4] = ["alpha", "beta", "gamma", "delta"];
    const STAGES: [&str; 3] = ["db", "cache", "rpc"];

    fn slo(service: &str) -> SloDef {
        SloDef {
            name: format!("{service}-avail"),
            description: None,
            selector: Selector {
                service: service.into(),
                ..Default::default()
            },
            sli: Sli::Availability,
            objective: 0.99,
            window: SloWindow::Rolling {
                length_ms: 7 * 24 * 60 * M,
            },
            budgeting: Budgeting::Occurrences,
            per_tenant: true,
            tiers: default_tiers(),
            min_events: 10,
            from_config: false,
        }
    }

    fn engine() -> Engine {
        let mut e = Engine::new(EngineConfig::default()).unwrap();
        for s in SERVICES {
            e.slos_mut().upsert(slo(s)).unwrap();
        }
        e
    }

    /// Events of random services, operations, nodes, tenants, callers and stages (stage
    /// names in random order, so engines intern them differently), in batches with the
    /// engine time of each batch.
    fn arb_batches() -> impl Strategy<Value = Vec<(i64, Vec<Event>)>> {
        let event = (
            0usize..4,
            0u8..3,
            0u8..3,
            0.1f64..3_000.0,
            prop::bool::weighted(0.9),
            0usize..3,
            0u8..4,
        )
            .prop_map(|(svc, op, node, latency, ok, stage, caller)| {
                let mut e = Event::new(0, SERVICES[svc], &format!("op{op}"), latency);
                e.node = format!("n{node}");
                e.ok = ok;
                e.tenant = Some(format!("dao-{node}"));
                e.entity = Some(format!("caller-{caller}"));
                e.cost = Some(latency / 1000.0);
                e.stages = vec![(STAGES[stage].into(), latency / 2.0)];
                e
            });
        prop::collection::vec((0i64..90, prop::collection::vec(event, 1..40)), 1..30).prop_map(
            |mut batches| {
                batches.sort_by_key(|b| b.0);
                batches
                    .into_iter()
                    .map(|(minute, mut events)| {
                        let now = T0 + minute * M;
                        for (i, e) in events.iter_mut().enumerate() {
                            e.ts_ms = now - (i as i64 % 5) * 1_000;
                        }
                        (now, events)
                    })
                    .collect()
            },
        )
    }

    fn feed(e: &mut Engine, batches: &[(i64, Vec<Event>)], keep: impl Fn(&str) -> bool) {
        for (now, events) in batches {
            let part: Vec<Event> = events
                .iter()
                .filter(|e| keep(&e.service))
                .cloned()
                .collect();
            e.ingest(&part, *now);
        }
    }

    /// What an engine answers, with stage names instead of ids: per view and 10-minute
    /// window the stats of every series, the top callers and resource nodes per service, the
    /// SLO counts.
    fn answers(e: &Engine) -> Vec<String> {
        let mut out = Vec::new();
        for v in e.views() {
            for w in 0..12 {
                let (from, to) = (T0 + w * 10 * M, T0 + (w + 1) * 10 * M);
                let mut groups = e.group(&v.def.name, &[], from, to).unwrap();
                groups.sort_by(|a, b| a.0.cmp(&b.0));
                for (key, stats) in groups {
                    out.push(format!("{} {w} {key:?} {}", v.def.name, named(e, &stats)));
                }
            }
        }
        for s in SERVICES {
            let top = e.top_callers(s, Measure::Requests, T0 - M, T0 + 200 * M, 10);
            out.push(format!("{s} callers {top:?}"));
            let nodes: Vec<_> = e.resources().of_service(s).collect();
            out.push(format!("{s} nodes {nodes:?}"));
        }
        for entry in e.slos().entries() {
            out.push(format!("{:?}", entry));
        }
        out
    }

    fn named(e: &Engine, stats: &Stats) -> String {
        let mut s = stats.clone();
        let mut stages: Vec<_> = s
            .stages
            .drain(..)
            .map(|st| (e.stage_name(st.stage).to_string(), st.total_ms, st.slow_ms))
            .collect();
        stages.sort_by(|a, b| a.0.cmp(&b.0));
        format!("{s:?} {stages:?}")
    }

    fn in_a(service: &str) -> bool {
        service == "alpha" || service == "gamma"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Engines fed disjoint sets of services, extracted and absorbed into one, answer
        /// exactly what one engine fed every event answers; extracting from that engine gives
        /// what the engine fed one set answers; forgetting one set leaves the other.
        #[test]
        fn extracts_of_disjoint_services_absorb_into_the_whole(batches in arb_batches()) {
            let mut whole = engine();
            feed(&mut whole, &batches, |_| true);
            let mut a = engine();
            feed(&mut a, &batches, in_a);
            let mut b = engine();
            // Intern stages in another order than `a` does.
            b.stages.intern("rpc");
            feed(&mut b, &batches, |s| !in_a(s));

            let mut merged = engine();
            merged.absorb(&a.extract(in_a), in_a).unwrap();
            merged.absorb(&b.extract(|s| !in_a(s)), |s| !in_a(s)).unwrap();
            prop_assert_eq!(answers(&merged), answers(&whole));

            prop_assert_eq!(answers(&whole.extract(in_a)), answers(&a));
            let mut forgot = whole.clone();
            forgot.forget_services(|s| !in_a(s));
            prop_assert_eq!(answers(&forgot), answers(&a));
        }
    }

    #[test]
    fn an_engine_with_other_views_is_refused() {
        let mut e = engine();
        let mut config = EngineConfig::default();
        config.views.pop();
        let other = Engine::new(config).unwrap();
        assert!(e.absorb(&other, |_| true).is_err());
    }

    #[test]
    fn overflow_series_merge_with_their_counts() {
        let config = EngineConfig {
            max_series_per_view: 1,
            ..EngineConfig::default()
        };
        let mut a = Engine::new(config.clone()).unwrap();
        let mut b = Engine::new(config).unwrap();
        let ev = |svc: &str| Event::new(T0, svc, "op", 5.0);
        a.ingest(&[ev("alpha"), ev("beta"), ev("beta")], T0);
        b.ingest(&[ev("gamma"), ev("delta")], T0);
        a.absorb(&b, |_| true).unwrap();
        let first = a.first_view_name().unwrap();
        let overflow = a.overflow_stats(&first, T0 - M, T0 + M).unwrap().unwrap();
        // beta (2) overflowed in a, delta (1) in b.
        assert_eq!(overflow.requests, 3);
        assert_eq!(a.query(&first, &[], T0 - M, T0 + M).unwrap().requests, 5);
    }
}
