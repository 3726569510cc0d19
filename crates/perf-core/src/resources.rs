//! What nodes report they have left: the latest sample per (service, node) and per-minute
//! averages for the last hour, bounded in the number of nodes tracked.

use crate::model::ResourceSample;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

const MINUTE: i64 = 60_000;
const MINUTES_KEPT: usize = 60;

/// One minute of samples of one node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceMinute {
    /// Minute start, unix ms.
    pub start: i64,
    /// Sum and count of CPU samples.
    pub cpu: (f64, u32),
    /// Sum and count of memory samples.
    pub memory: (f64, u32),
    /// Largest in-flight count.
    pub inflight_max: u64,
}

impl ResourceMinute {
    /// Mean CPU utilisation.
    pub fn cpu_mean(&self) -> Option<f64> {
        (self.cpu.1 > 0).then(|| self.cpu.0 / self.cpu.1 as f64)
    }
    /// Mean memory utilisation.
    pub fn memory_mean(&self) -> Option<f64> {
        (self.memory.1 > 0).then(|| self.memory.0 / self.memory.1 as f64)
    }
}

/// Samples of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeResources {
    /// The newest sample (by timestamp).
    pub last: ResourceSample,
    /// Per-minute aggregates, oldest first.
    pub minutes: VecDeque<ResourceMinute>,
}

/// Most cache spaces whose reported size is kept.
pub const MAX_CACHE_SPACES: usize = 1_024;

/// Resource samples of every node.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Resources {
    nodes: BTreeMap<(String, String), NodeResources>,
    /// The newest reported size of each cache space (time, entries), from any node's
    /// `cacheSizes`; at most [`MAX_CACHE_SPACES`]. Not in snapshots: clients report every
    /// few seconds, and the log's tail replays what came after the snapshot.
    #[serde(skip)]
    cache_sizes: BTreeMap<String, (i64, u64)>,
    /// Samples refused because the node limit was reached.
    pub overflow_samples: u64,
}

impl Resources {
    /// Heap bytes: the node table, names and each node's per-minute aggregates.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{btree_map, deque, string};
        btree_map(&self.nodes)
            + self
                .nodes
                .iter()
                .map(|((s, n), r)| {
                    string(s)
                        + string(n)
                        + string(&r.last.service)
                        + string(&r.last.node)
                        + deque(&r.minutes)
                })
                .sum::<usize>()
            + btree_map(&self.cache_sizes)
            + self.cache_sizes.keys().map(|s| string(s)).sum::<usize>()
    }

    /// The newest size reported for `space` (entries), if any.
    pub fn cache_size(&self, space: &str) -> Option<u64> {
        self.cache_sizes.get(space).map(|(_, n)| *n)
    }

    /// Every reported cache size by space (entries).
    pub fn cache_sizes(&self) -> BTreeMap<String, u64> {
        self.cache_sizes
            .iter()
            .map(|(s, (_, n))| (s.clone(), *n))
            .collect()
    }

    /// Records one sample (and the cache sizes it reports); samples of nodes beyond
    /// `max_nodes` are counted, not tracked, their cache sizes included.
    pub fn record(&mut self, s: &ResourceSample, max_nodes: usize) {
        let key = (s.service.clone(), s.node.clone());
        if !self.nodes.contains_key(&key) && self.nodes.len() >= max_nodes {
            self.overflow_samples += 1;
            return;
        }
        for (space, entries) in &s.cache_sizes {
            let room = self.cache_sizes.len() < MAX_CACHE_SPACES;
            match self.cache_sizes.get_mut(space) {
                Some(known) if s.ts_ms >= known.0 => *known = (s.ts_ms, *entries),
                Some(_) => {}
                None if room => {
                    self.cache_sizes.insert(space.clone(), (s.ts_ms, *entries));
                }
                None => {}
            }
        }
        let node = self.nodes.entry(key).or_insert_with(|| NodeResources {
            last: ResourceSample {
                cache_sizes: Vec::new(),
                ..s.clone()
            },
            minutes: VecDeque::new(),
        });
        if s.ts_ms >= node.last.ts_ms {
            node.last = s.clone();
            node.last.cache_sizes = Vec::new();
        }
        let start = s.ts_ms.div_euclid(MINUTE) * MINUTE;
        let pos = match node.minutes.binary_search_by_key(&start, |m| m.start) {
            Ok(p) => p,
            Err(p) => {
                node.minutes.insert(
                    p,
                    ResourceMinute {
                        start,
                        ..Default::default()
                    },
                );
                p
            }
        };
        let m = &mut node.minutes[pos];
        if let Some(c) = s.cpu {
            m.cpu = (m.cpu.0 + c, m.cpu.1 + 1);
        }
        if let Some(x) = s.memory {
            m.memory = (m.memory.0 + x, m.memory.1 + 1);
        }
        m.inflight_max = m.inflight_max.max(s.inflight.unwrap_or(0));
        while node.minutes.len() > MINUTES_KEPT {
            node.minutes.pop_front();
        }
    }

    /// Nodes of one service.
    pub fn of_service<'a>(
        &'a self,
        service: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a NodeResources)> {
        self.nodes
            .range((service.to_string(), String::new())..)
            .take_while(move |((s, _), _)| s == service)
            .map(|((_, n), r)| (n.as_str(), r))
    }

    /// Keeps only the nodes of services for which `keep` is true.
    pub fn retain_services(&mut self, keep: impl Fn(&str) -> bool) {
        self.nodes.retain(|(service, _), _| keep(service));
    }

    /// Every node with its service, in order.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &str, &NodeResources)> {
        self.nodes
            .iter()
            .map(|((s, n), r)| (s.as_str(), n.as_str(), r))
    }

    /// Sets the samples of one node (replacing what it held).
    pub fn put_node(&mut self, service: &str, node: &str, samples: NodeResources) {
        self.nodes
            .insert((service.to_string(), node.to_string()), samples);
    }

    /// Number of nodes tracked.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when no node is tracked.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
