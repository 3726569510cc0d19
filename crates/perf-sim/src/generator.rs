//! The event generator: Poisson arrivals at a rate with a daily shape, spread over services,
//! operations, nodes, tenants and callers by their shares, with seeded randomness.
//!
//! Latency grows with load as in a queue: each request's latency is multiplied by
//! `1 + 0.3 · u / (1 − u)`, `u` the service's utilisation (its rate over its nodes' capacity,
//! capped at 0.95) — 1.08× at 20 %, 1.7× at 70 %, 3.7× at 90 %.

use crate::cache_model::CacheSim;
use crate::ecosystem::Ecosystem;
use crate::incident::Incident;
use perf_core::model::CacheOutcome;
use perf_core::{Event, ResourceSample};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal, Pareto, Poisson};

const DAY_MS: f64 = 86_400_000.0;
/// Share of requests that get a heavy-tail multiplier.
const TAIL_SHARE: f64 = 0.005;
/// Weight of the queueing term in the latency multiplier.
const QUEUEING: f64 = 0.3;
/// Highest utilisation the latency model takes.
const MAX_UTILISATION: f64 = 0.95;

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    let mut v: Vec<f64> = weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect();
    if let Some(last) = v.last().copied() {
        v.iter_mut().for_each(|x| *x /= last);
    }
    v
}

fn pick(cum: &[f64], u: f64) -> usize {
    cum.partition_point(|&c| c < u)
        .min(cum.len().saturating_sub(1))
}

/// An extra request's service, tenant and caller (`None`: drawn as usual), or `None` for a
/// normal one.
type Forced = Option<(usize, Option<String>, Option<String>)>;

/// A seeded generator of events and resource samples.
pub struct Generator {
    eco: Ecosystem,
    rng: StdRng,
    start_ms: i64,
    elapsed_ms: i64,
    incidents: Vec<Box<dyn Incident>>,
    services: Vec<f64>,
    operations: Vec<Vec<f64>>,
    tenants: Vec<f64>,
    callers: Vec<f64>,
    node_load: Vec<Vec<u64>>,
    utilisation: Vec<f64>,
    tail: Pareto<f64>,
    normal: Normal<f64>,
    /// The simulated caches of operations that have one, by service and operation.
    caches: Vec<Vec<Option<CacheSim>>>,
}

impl Generator {
    /// Heap bytes of its state that grows with what it simulates: the simulated caches
    /// (the ecosystem's description and the weights are a few kilobytes).
    pub fn heap_bytes(&self) -> usize {
        self.caches
            .iter()
            .flatten()
            .flatten()
            .map(CacheSim::heap_bytes)
            .sum()
    }

    /// A generator starting at `start_ms` (unix ms).
    pub fn new(eco: Ecosystem, seed: u64, start_ms: i64) -> Self {
        let services = cumulative(eco.services.iter().map(|s| s.share));
        let operations = eco
            .services
            .iter()
            .map(|s| cumulative(s.operations.iter().map(|o| o.share)))
            .collect();
        let tenants = cumulative(eco.tenants.iter().map(|t| t.1));
        let callers = cumulative((1..=eco.callers).map(|r| 1.0 / (r as f64).powf(1.1)));
        let node_load = eco
            .services
            .iter()
            .map(|s| vec![0; s.nodes.len()])
            .collect();
        let utilisation = vec![0.0; eco.services.len()];
        let caches = eco
            .services
            .iter()
            .enumerate()
            .map(|(si, s)| {
                s.operations
                    .iter()
                    .enumerate()
                    .map(|(oi, o)| {
                        o.cache_model
                            .clone()
                            .map(|spec| CacheSim::new(spec, seed ^ ((si as u64) << 32 | oi as u64)))
                    })
                    .collect()
            })
            .collect();
        Generator {
            eco,
            rng: StdRng::seed_from_u64(seed),
            start_ms,
            elapsed_ms: 0,
            incidents: Vec::new(),
            services,
            operations,
            tenants,
            callers,
            node_load,
            utilisation,
            tail: Pareto::new(1.0, 1.6).expect("valid Pareto"),
            normal: Normal::new(0.0, 1.0).expect("valid normal"),
            caches,
        }
    }

    /// Sizes the nodes of `service` so that it runs at `utilisation` at the current request
    /// rate (a service provisioned for today's traffic, before it grows).
    pub fn provision(&mut self, service: &str, utilisation: f64) {
        let rate = self.rate_at(self.now_ms());
        if let Some(svc) = self.eco.services.iter_mut().find(|s| s.name == service) {
            svc.node_capacity_rps =
                rate * svc.share / svc.nodes.len() as f64 / utilisation.max(0.01);
        }
    }

    /// Adds an incident.
    pub fn add_incident(&mut self, incident: Box<dyn Incident>) {
        self.incidents.push(incident);
    }

    /// Current simulated time, unix ms.
    pub fn now_ms(&self) -> i64 {
        self.start_ms + self.elapsed_ms
    }

    /// Mean request rate at a simulated time: the daily shape, lowest at 04:00 UTC.
    pub fn rate_at(&self, ts_ms: i64) -> f64 {
        let phase = (ts_ms as f64 % DAY_MS) / DAY_MS;
        let shape = 1.0 + 0.45 * (2.0 * std::f64::consts::PI * (phase - 10.0 / 24.0)).sin();
        self.eco.mean_rps * shape
    }

    /// The events of the next `dt_ms` of simulated time, in time order; advances the clock.
    pub fn next_events(&mut self, dt_ms: i64) -> Vec<Event> {
        let from = self.now_ms();
        let rate = self.rate_at(from);
        let mut plan: Vec<(i64, Forced)> = Vec::new();
        let normal = self.poisson(rate * dt_ms as f64 / 1000.0);
        for _ in 0..normal {
            plan.push((from + self.rng.random_range(0..dt_ms.max(1)), None));
        }
        let surges: Vec<(usize, Option<String>, Option<String>, f64)> = self
            .incidents
            .iter()
            .filter(|i| i.active(self.elapsed_ms))
            .filter_map(|i| i.surge(self.elapsed_ms).map(|s| (s, i.surge_caller())))
            .filter_map(|((svc, tenant, share), caller)| {
                self.eco
                    .services
                    .iter()
                    .position(|s| s.name == svc)
                    .map(|si| {
                        (
                            si,
                            tenant.map(str::to_string),
                            caller.map(str::to_string),
                            share,
                        )
                    })
            })
            .collect();
        for (si, svc) in self.eco.services.iter().enumerate() {
            let extra: f64 = surges.iter().filter(|s| s.0 == si).map(|s| s.3).sum();
            let capacity = svc.node_capacity_rps * svc.nodes.len() as f64;
            self.utilisation[si] = if capacity > 0.0 {
                (rate * (svc.share + extra) / capacity).min(MAX_UTILISATION)
            } else {
                0.0
            };
        }
        for (si, tenant, caller, share) in surges {
            let extra = self.poisson(rate * share * dt_ms as f64 / 1000.0);
            for _ in 0..extra {
                plan.push((
                    from + self.rng.random_range(0..dt_ms.max(1)),
                    Some((si, tenant.clone(), caller.clone())),
                ));
            }
        }
        plan.sort_by_key(|p| p.0);
        let events = plan
            .into_iter()
            .map(|(ts, forced)| self.event_at(ts, forced))
            .collect();
        self.elapsed_ms += dt_ms;
        events
    }

    fn poisson(&mut self, expected: f64) -> usize {
        if expected <= 0.0 {
            return 0;
        }
        Poisson::new(expected)
            .map(|p| p.sample(&mut self.rng) as usize)
            .unwrap_or(0)
    }

    fn event_at(&mut self, ts: i64, forced: Forced) -> Event {
        let si = match &forced {
            Some((si, _, _)) => *si,
            None => pick(&self.services, self.rng.random()),
        };
        let oi = pick(&self.operations[si], self.rng.random());
        let svc = &self.eco.services[si];
        let op = &svc.operations[oi];
        let ni = self.rng.random_range(0..svc.nodes.len());
        self.node_load[si][ni] += 1;
        let z: f64 = self.normal.sample(&mut self.rng);
        let u = self.utilisation[si];
        let mut latency = op.median_ms * (op.sigma * z).exp() * (1.0 + QUEUEING * u / (1.0 - u));
        if self.rng.random_bool(TAIL_SHARE) {
            latency *= self.tail.sample(&mut self.rng).min(50.0);
        }
        let mut e = Event::new(ts, &svc.name, &op.name, latency);
        e.node = svc.nodes[ni].clone();
        e.class = op.class;
        e.version = Some(svc.version.clone());
        let tenant = self.eco.tenants[pick(&self.tenants, self.rng.random())]
            .0
            .clone();
        let (forced_tenant, forced_caller) = forced.map_or((None, None), |f| (f.1, f.2));
        e.tenant = Some(forced_tenant.unwrap_or(tenant));
        let caller = format!("caller-{}", pick(&self.callers, self.rng.random()));
        e.entity = Some(forced_caller.unwrap_or(caller));
        e.ok = !self.rng.random_bool(op.error_rate);
        if let Some(hit) = op.cache_hit_rate {
            // Drawn even when a simulated cache decides, so the stream of every other draw
            // is the same with or without one.
            let drawn = self.rng.random_bool(hit);
            let is_hit = match self.caches[si][oi].as_mut() {
                Some(sim) => {
                    let (key, hit) = sim.access(ts);
                    e.cache_space = Some(sim.spec().space.clone());
                    e.cache_key = Some(perf_core::model::cache_key_hash(&key));
                    hit
                }
                None => drawn,
            };
            e.cache = Some(if is_hit {
                CacheOutcome::Hit
            } else {
                CacheOutcome::Miss
            });
            if is_hit {
                e.latency_ms *= 0.4;
            }
        }
        e.cost = Some(op.cost);
        e.stages = op
            .stages
            .iter()
            .map(|(name, share)| (name.to_string(), e.latency_ms * share))
            .collect();
        let elapsed = ts - self.start_ms;
        for inc in &self.incidents {
            if inc.active(elapsed) {
                let u = self.rng.random();
                inc.apply(&mut e, u);
            }
        }
        e
    }

    /// One resource sample per node for the load generated since the previous call, which
    /// covered `window_ms`.
    pub fn resources(&mut self, window_ms: i64) -> Vec<ResourceSample> {
        let ts = self.now_ms();
        let mut out = Vec::new();
        for (si, svc) in self.eco.services.iter().enumerate() {
            for (ni, node) in svc.nodes.iter().enumerate() {
                let rps = self.node_load[si][ni] as f64 * 1000.0 / window_ms.max(1) as f64;
                let util = (rps / svc.node_capacity_rps).min(1.0);
                let noise: f64 = self.rng.random_range(-0.03..0.03);
                out.push(ResourceSample {
                    ts_ms: ts,
                    service: svc.name.clone(),
                    node: node.clone(),
                    cpu: Some((0.05 + 0.85 * util + noise).clamp(0.0, 1.0)),
                    memory: Some((0.35 + 0.3 * util + noise).clamp(0.0, 1.0)),
                    inflight: Some((rps * 0.05).round() as u64),
                    capacity_rps: Some(svc.node_capacity_rps),
                    replicas: None,
                    // Each node reports the size of its service's caches, as a client of
                    // the instrumented cache would.
                    cache_sizes: svc
                        .operations
                        .iter()
                        .filter_map(|o| o.cache_model.as_ref())
                        .map(|c| (c.space.clone(), c.size as u64))
                        .collect(),
                });
                self.node_load[si][ni] = 0;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{demo_ecosystem, NodeSlowdown};

    #[test]
    fn same_seed_same_events() {
        let mk = |seed: u64| {
            let mut g = Generator::new(demo_ecosystem(200.0), seed, 1_700_000_000_000);
            g.add_incident(Box::new(NodeSlowdown {
                service: "qnet".into(),
                node: "qnet-1".into(),
                from_ms: 0,
                to_ms: 5_000,
                factor: 5.0,
            }));
            (0..10)
                .flat_map(|_| g.next_events(1_000))
                .collect::<Vec<_>>()
        };
        let first = mk(7);
        // Ten seconds at 200 requests/s: a run with nothing in it proves nothing.
        assert!(first.len() > 1_000, "{} events", first.len());
        assert_eq!(first, mk(7));
        assert_ne!(first, mk(8), "another seed, other events");
    }

    #[test]
    fn shares_and_incidents_show_in_the_data() {
        let mut g = Generator::new(demo_ecosystem(500.0), 1, 1_700_000_000_000);
        g.add_incident(Box::new(NodeSlowdown {
            service: "qnet".into(),
            node: "qnet-1".into(),
            from_ms: 0,
            to_ms: 60_000,
            factor: 10.0,
        }));
        let events: Vec<Event> = (0..60).flat_map(|_| g.next_events(1_000)).collect();
        let qnet =
            events.iter().filter(|e| e.service == "qnet").count() as f64 / events.len() as f64;
        assert!((qnet - 0.35).abs() < 0.03, "qnet share {qnet}");
        let mean = |node: &str| {
            let v: Vec<f64> = events
                .iter()
                .filter(|e| e.node == node)
                .map(|e| e.latency_ms)
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean("qnet-1") > 5.0 * mean("qnet-2"));
        assert!(events
            .iter()
            .all(|e| e.latency_ms.is_finite() && e.latency_ms >= 0.0));
        assert_eq!(g.resources(60_000).len(), 12);
    }

    #[test]
    fn a_tenant_surge_adds_its_requests_and_slows_the_others() {
        let mut g = Generator::new(demo_ecosystem(500.0), 3, 1_700_000_000_000);
        g.add_incident(Box::new(crate::TenantSurge {
            tenant: "dao-gamma".into(),
            service: "qflow".into(),
            from_ms: 60_000,
            to_ms: 120_000,
            extra_share: 0.5,
            slowdown: 2.0,
        }));
        let before: Vec<Event> = (0..60).flat_map(|_| g.next_events(1_000)).collect();
        let during: Vec<Event> = (0..60).flat_map(|_| g.next_events(1_000)).collect();
        let gamma_qflow = |v: &[Event]| {
            v.iter()
                .filter(|e| e.service == "qflow" && e.tenant.as_deref() == Some("dao-gamma"))
                .count() as f64
        };
        assert!(
            gamma_qflow(&during) > 4.0 * gamma_qflow(&before),
            "{} vs {}",
            gamma_qflow(&during),
            gamma_qflow(&before)
        );
        assert!(during.len() as f64 > 1.35 * before.len() as f64);
        assert!(
            during
                .iter()
                .all(|e| e.service != "qflow" || e.node.starts_with("qflow-")),
            "surge requests land on the service's own nodes"
        );
    }

    #[test]
    fn growth_multiplies_a_service_rate_and_load_slows_it_down() {
        let growth = crate::TrafficGrowth {
            service: "qindex".into(),
            share: 0.10,
            from_ms: 60_000,
            doubling_ms: 60_000,
            max_factor: 3.0,
        };
        assert_eq!(growth.factor(0), 1.0);
        assert_eq!(growth.factor(120_000), 2.0);
        assert_eq!(growth.factor(600_000), 3.0, "capped");
        // Caches by probability: a simulated cache warming up would make the first window
        // slower for a reason other than load.
        let mut eco = demo_ecosystem(2_000.0);
        for op in eco
            .services
            .iter_mut()
            .flat_map(|s| s.operations.iter_mut())
        {
            op.cache_model = None;
        }
        let mut g = Generator::new(eco, 5, 1_700_000_000_000);
        g.provision("qindex", 0.25);
        g.add_incident(Box::new(growth));
        let window = |g: &mut Generator| -> Vec<Event> {
            (0..30)
                .flat_map(|_| g.next_events(1_000))
                .filter(|e| e.service == "qindex")
                .collect()
        };
        let before = window(&mut g); // 0–30 s: normal
        let _ = (0..150).map(|_| g.next_events(1_000)).count();
        let after = window(&mut g); // 180–210 s: capped at 3×
        let ratio = after.len() as f64 / before.len() as f64;
        assert!((2.6..3.4).contains(&ratio), "{ratio}");
        // Utilisation 0.25 → 0.75: the queueing multiplier goes 1.1 → 1.9.
        let median = |v: &[Event]| {
            let mut l: Vec<f64> = v.iter().map(|e| e.latency_ms).collect();
            l.sort_by(f64::total_cmp);
            l[l.len() / 2]
        };
        let slower = median(&after) / median(&before);
        assert!((1.4..2.2).contains(&slower), "{slower}");
    }
}
