//! Incidents: anomalies of many series that happen together are one incident, described by
//! the dimension values they share and a probable cause.
//!
//! An anomaly joins the open incident *of its service* whose last anomaly is at most `gap`
//! earlier; otherwise it opens a new one; an incident closes when `gap` passes without a new
//! anomaly. Grouping by service as well as by time keeps unrelated things that happen
//! together apart: a node slowing down in one service while another service's rollout
//! shifts its traffic between versions are two incidents with a cause each, not one with a
//! muddled cause. (A cause that spans services — one tenant flooding several — shows as one
//! incident per service, each naming it, and each lists the others as `related`: concurrent
//! within the gap, cause naming the same dimension value. Anomalies of views without a
//! service dimension group among themselves.) The probable cause of each incident comes
//! from [`super::cause`].

pub use super::cause::Traffic;
pub use super::excess_cause::Contribution;
pub use super::incident::{CauseValue, ExcessShares, Incident, SeriesAnomaly, Shared};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

/// Incidents kept (oldest dropped first).
const MAX_INCIDENTS: usize = 200;
/// Incidents, newest last.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Incidents {
    gap_ms: i64,
    next_id: u64,
    list: VecDeque<Incident>,
}

/// Incidents that opened or closed during an update.
#[derive(Debug, Default)]
pub struct Changes {
    /// Newly opened.
    pub opened: Vec<u64>,
    /// Newly closed.
    pub closed: Vec<u64>,
}

impl Incidents {
    /// Heap bytes of the kept incidents.
    pub fn heap_bytes(&self) -> usize {
        crate::memory::deque(&self.list) + self.list.iter().map(Incident::heap_bytes).sum::<usize>()
    }

    /// No incidents; anomalies at most `gap_ms` apart join one.
    pub fn new(gap_ms: i64) -> Self {
        Incidents {
            gap_ms,
            next_id: 1,
            list: VecDeque::new(),
        }
    }

    /// All kept, oldest first.
    pub fn all(&self) -> impl Iterator<Item = &Incident> {
        self.list.iter()
    }

    /// One by id.
    pub fn get(&self, id: u64) -> Option<&Incident> {
        self.list.iter().find(|i| i.id == id)
    }

    /// Links incidents of different services that overlap in time (within the gap) and
    /// whose causes name the same dimension value.
    fn relate(&mut self) {
        let keys: Vec<(u64, i64, i64, Option<CauseValue>, String)> = self
            .list
            .iter()
            .map(|i| {
                let service = i.service().to_string();
                (i.id, i.start, i.end, i.cause_value.clone(), service)
            })
            .collect();
        for inc in self.list.iter_mut() {
            let Some(value) = &inc.cause_value else {
                inc.related.clear();
                continue;
            };
            inc.related = keys
                .iter()
                .filter(|(id, start, end, other, service)| {
                    *id != inc.id
                        && service != inc.service()
                        && other.as_ref() == Some(value)
                        && *start <= inc.end + self.gap_ms
                        && inc.start <= *end + self.gap_ms
                })
                .map(|k| k.0)
                .collect();
        }
    }

    /// Forgets closed incidents that ended before `t` (the oldest first; the list is in
    /// the order incidents opened, so it stops at the first one still kept).
    pub fn forget_ended_before(&mut self, t: i64) {
        while self.list.front().is_some_and(|i| !i.open && i.end < t) {
            self.list.pop_front();
        }
    }

    /// Adds anomalies (in time order), each to the open incident of its service when that
    /// one's last anomaly is at most the gap earlier, and closes incidents quiet for longer
    /// than the gap. `traffic` answers the cause analysis's questions.
    pub fn add(&mut self, found: &[SeriesAnomaly], now: i64, traffic: &dyn Traffic) -> Changes {
        let mut changes = Changes::default();
        let mut touched = BTreeSet::new();
        for a in found {
            let gap = self.gap_ms;
            let open = self
                .list
                .iter_mut()
                .rev()
                .find(|i| i.open && a.at - i.end <= gap && i.service() == a.service());
            let id = match open {
                Some(inc) => {
                    inc.add(a);
                    inc.id
                }
                None => {
                    let mut inc = Incident::new(self.next_id, a);
                    self.next_id += 1;
                    inc.add(a);
                    changes.opened.push(inc.id);
                    let id = inc.id;
                    self.list.push_back(inc);
                    if self.list.len() > MAX_INCIDENTS {
                        self.list.pop_front();
                    }
                    id
                }
            };
            touched.insert(id);
        }
        for inc in self.list.iter_mut() {
            if touched.contains(&inc.id) {
                inc.analyse(traffic);
            }
        }
        if !touched.is_empty() {
            self.relate();
        }
        for inc in self.list.iter_mut() {
            if inc.open && now - inc.end > self.gap_ms + 60_000 {
                inc.open = false;
                changes.closed.push(inc.id);
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests;
