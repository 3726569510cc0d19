//! The ladders' memory: per service, the degradation ladder, the adaptive concurrency limit
//! and the policy context a decision reads; and the published entry of a level (what the
//! stream and `GET /v1/degradation` show).

use crate::durable::Durable;
use crate::effects::stream::LevelEntry;
use perf_core::policy::{ConcurrencyLimit, Ladder, ServiceContext};
use std::collections::HashMap;

/// Per-service policy state.
#[derive(Debug, Default)]
pub struct PolicyState {
    pub(super) ladders: HashMap<String, Ladder>,
    pub(super) limits: HashMap<String, ConcurrencyLimit>,
    pub(super) contexts: HashMap<String, ServiceContext>,
}

impl PolicyState {
    /// Heap bytes: ladders (with their reasons and recent changes), concurrency limits and contexts by service.
    pub fn heap_bytes(&self) -> usize {
        use perf_core::memory::{hash_map, string};
        hash_map(&self.ladders)
            + self
                .ladders
                .iter()
                .map(|(s, l)| {
                    string(s)
                        + string(&l.reason)
                        + perf_core::memory::deque(&l.history)
                        + l.history.iter().map(|t| string(&t.reason)).sum::<usize>()
                })
                .sum::<usize>()
            + hash_map(&self.limits)
            + self.limits.keys().map(|s| string(s)).sum::<usize>()
            + hash_map(&self.contexts)
            + self.contexts.keys().map(|s| string(s)).sum::<usize>()
    }

    /// The context of a service, when it has been evaluated.
    pub fn context(&self, service: &str) -> Option<ServiceContext> {
        self.contexts.get(service).copied()
    }

    /// Every evaluated service with its level and concurrency limit, in name order.
    pub fn levels(&self) -> Vec<(String, u8, Option<f64>)> {
        let mut v: Vec<(String, u8, Option<f64>)> = self
            .ladders
            .iter()
            .map(|(s, l)| (s.clone(), l.level, self.limits.get(s).map(|c| c.limit)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Every evaluated service's count of level changes, in name order.
    pub fn transitions(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .ladders
            .iter()
            .map(|(s, l)| (s.clone(), l.transitions))
            .collect();
        v.sort();
        v
    }

    /// The degradation level of a service (0 when never evaluated).
    pub fn level(&self, service: &str) -> u8 {
        self.ladders.get(service).map_or(0, |l| l.level)
    }

    /// Every evaluated service's published ladder entry with its recent changes, in name
    /// order.
    pub fn entries(&self, d: &Durable) -> Vec<LevelEntry> {
        let mut v: Vec<LevelEntry> = self
            .ladders
            .iter()
            .map(|(svc, l)| LevelEntry {
                history: l.history.iter().cloned().collect(),
                ..entry_of(d, svc, l, self.limits.get(svc))
            })
            .collect();
        v.sort_by(|a, b| a.service.cmp(&b.service));
        v
    }
}

/// The published entry of one service's ladder.
pub fn entry_of(
    d: &Durable,
    service: &str,
    l: &Ladder,
    limit: Option<&ConcurrencyLimit>,
) -> LevelEntry {
    LevelEntry {
        service: service.to_string(),
        level: l.level,
        name: l.name(),
        since: perf_core::time::format_rfc3339(l.since),
        reason: l.reason.clone(),
        signals: l.signals,
        runbook: (l.level > 0).then(|| {
            d.config.policy.ladder.levels[l.level as usize - 1]
                .runbook
                .clone()
        }),
        concurrency: limit.copied(),
        history: Vec::new(),
    }
}
