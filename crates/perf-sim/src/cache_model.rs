//! A simulated cache in front of a demo operation, so the hit or miss of a request is what a
//! real cache would answer for its key: keys drawn from a Zipf popularity over a working set
//! that drifts through the day (the hottest ids move on by `drift_per_hour` every hour), an
//! LRU of `size` entries whose entries expire `ttl_ms` after they were stored. The demo's
//! spaces then show the patterns the cache advice is for: one undersized, one whose TTL is
//! shorter than its keys' reuse times. Its own seeded randomness: the generator's stream is
//! the same with or without it.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Zipf};
use std::collections::{BTreeMap, HashMap};

/// What a simulated cache is.
#[derive(Debug, Clone)]
pub struct CacheSpec {
    /// The space name (`cacheSpace` of the events).
    pub space: String,
    /// Distinct keys of the working set.
    pub keys: u64,
    /// Zipf exponent of their popularity.
    pub alpha: f64,
    /// How far the working set's ids move each hour.
    pub drift_per_hour: u64,
    /// Entries the cache holds.
    pub size: usize,
    /// Time an entry lives, ms.
    pub ttl_ms: i64,
}

/// One simulated cache.
pub struct CacheSim {
    spec: CacheSpec,
    zipf: Zipf<f64>,
    rng: StdRng,
    /// Key → (recency tick, time stored).
    entries: HashMap<u64, (u64, i64)>,
    /// Recency tick → key (least recent first).
    order: BTreeMap<u64, u64>,
    tick: u64,
}

impl CacheSim {
    /// A cache as `spec` says, with its own seed.
    pub fn new(spec: CacheSpec, seed: u64) -> Self {
        let zipf = Zipf::new(spec.keys.max(1) as f64, spec.alpha).expect("valid Zipf");
        CacheSim {
            spec,
            zipf,
            rng: StdRng::seed_from_u64(seed),
            entries: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
        }
    }

    /// Heap bytes: its entry table and recency index.
    pub fn heap_bytes(&self) -> usize {
        perf_core::memory::hash_map(&self.entries) + perf_core::memory::btree_map(&self.order)
    }

    /// The spec.
    pub fn spec(&self) -> &CacheSpec {
        &self.spec
    }

    /// A request at `ts`: its key and whether the cache had it.
    pub fn access(&mut self, ts: i64) -> (String, bool) {
        let rank = self.zipf.sample(&mut self.rng) as u64;
        let shift = (ts.max(0) / 3_600_000) as u64 * self.spec.drift_per_hour;
        let id = rank + shift;
        self.tick += 1;
        // Expired entries leave from the least recent end, as a cache that reclaims them
        // would: the least recently used entry was stored no later than it was last used.
        while let Some((&tick, &oldest)) = self.order.first_key_value() {
            match self.entries.get(&oldest) {
                Some(&(_, stored)) if ts - stored >= self.spec.ttl_ms && oldest != id => {
                    self.order.remove(&tick);
                    self.entries.remove(&oldest);
                }
                _ => break,
            }
        }
        let hit = match self.entries.get(&id).copied() {
            Some((tick, stored)) if ts - stored < self.spec.ttl_ms => {
                self.order.remove(&tick);
                self.order.insert(self.tick, id);
                self.entries.insert(id, (self.tick, stored));
                true
            }
            found => {
                // A miss (absent or expired): fetched and stored now.
                if let Some((tick, _)) = found {
                    self.order.remove(&tick);
                }
                while self.entries.len() >= self.spec.size.max(1) && found.is_none() {
                    let Some((_, oldest)) = self.order.pop_first() else {
                        break;
                    };
                    self.entries.remove(&oldest);
                }
                self.order.insert(self.tick, id);
                self.entries.insert(id, (self.tick, ts));
                false
            }
        };
        (format!("{}:{id}", self.spec.space), hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(size: usize, ttl_ms: i64) -> CacheSpec {
        CacheSpec {
            space: "s".into(),
            keys: 1_000,
            alpha: 1.0,
            drift_per_hour: 0,
            size,
            ttl_ms,
        }
    }

    fn hit_rate(sim: &mut CacheSim, n: i64, every_ms: i64) -> f64 {
        let hits = (0..n).filter(|i| sim.access(i * every_ms).1).count();
        hits as f64 / n as f64
    }

    #[test]
    fn a_bigger_cache_and_a_longer_ttl_hit_more_and_size_is_kept() {
        let small = hit_rate(&mut CacheSim::new(spec(50, 3_600_000), 1), 50_000, 10);
        let big = hit_rate(&mut CacheSim::new(spec(500, 3_600_000), 1), 50_000, 10);
        assert!(big > small + 0.1, "{small} {big}");
        let short = hit_rate(&mut CacheSim::new(spec(500, 200), 1), 50_000, 10);
        assert!(big > short + 0.1, "{short} {big}");
        let mut sim = CacheSim::new(spec(50, 3_600_000), 2);
        hit_rate(&mut sim, 10_000, 10);
        assert!(sim.entries.len() <= 50 && sim.order.len() == sim.entries.len());
        // Expired entries do not pile up in a cache larger than its live keys.
        let mut sim = CacheSim::new(spec(100_000, 100), 3);
        hit_rate(&mut sim, 50_000, 10);
        assert!(sim.entries.len() <= 20, "{}", sim.entries.len());
        assert!(sim.access(0).0.starts_with("s:"));
    }
}

#[cfg(test)]
mod demo_tests {
    /// The demo's spaces over two simulated hours at the default rate: the undersized and the
    /// short-TTL spaces hit well under the go-live 85 %, the others above it.
    #[test]
    fn the_demo_spaces_hit_as_designed() {
        let eco = crate::demo_ecosystem(400.0);
        let mut g = crate::Generator::new(eco, 42, 1_764_028_800_000);
        let mut by_space: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        for _ in 0..720 {
            for e in g.next_events(10_000) {
                if let (Some(space), Some(c)) = (e.cache_space.clone(), e.cache) {
                    let entry = by_space.entry(space).or_default();
                    entry.1 += 1;
                    if c == perf_core::model::CacheOutcome::Hit {
                        entry.0 += 1;
                    }
                }
            }
        }
        let rate = |s: &str| {
            let (h, n) = by_space[s];
            h as f64 / n as f64
        };
        eprintln!(
            "{:?}",
            by_space
                .keys()
                .map(|k| format!("{k} {:.3}", rate(k)))
                .collect::<Vec<_>>()
        );
        assert!(rate("qindex:search") < 0.75, "{}", rate("qindex:search"));
        assert!(rate("qwallet:balance") < 0.8, "{}", rate("qwallet:balance"));
        for s in by_space
            .keys()
            .filter(|s| !["qindex:search", "qwallet:balance"].contains(&s.as_str()))
        {
            assert!(rate(s) > 0.85, "{s}: {}", rate(s));
        }
    }
}
