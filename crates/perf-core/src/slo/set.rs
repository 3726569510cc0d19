//! Every SLO of the engine with its counters and alert states. Events reach only the SLOs of
//! their service (an index by service), so 1,000 SLOs cost one map lookup per event for
//! services without SLOs. `perTenant` SLOs keep one instance per tenant seen (bounded; the
//! overflow is counted), besides the instance over all tenants.

use super::alert::{TierState, Transition};
use super::composite::CompositeDef;
use super::correction::{excluded_by, Correction};
use super::counter::SloCounter;
use super::definition::{Budgeting, SloDef};
use super::status::{evaluate, SloStatus};
use crate::model::Event;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const DAY: i64 = 86_400_000;

/// One counted instance (all tenants, or one tenant).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SloInstance {
    /// Exact counts.
    pub counter: SloCounter,
    /// Alert state per tier.
    pub tiers: Vec<TierState>,
}

/// An SLO and its instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloEntry {
    /// Definition.
    pub def: SloDef,
    /// Over all matching events.
    pub all: SloInstance,
    /// Per tenant (perTenant SLOs).
    pub tenants: BTreeMap<String, SloInstance>,
    /// Events of tenants beyond the limit (counted in `all` only).
    pub tenant_overflow: u64,
    /// Budget corrections in force: events they exclude are not counted. Not part of the
    /// engine's postcard bytes (the snapshot carries them after the engine, see
    /// [`SloSet::corrections`]), so that snapshots written before them still read.
    #[serde(skip)]
    pub corrections: Vec<Correction>,
    /// Live events each correction left out since the counters were last rebuilt (those of
    /// the history are in the back-fill summary).
    #[serde(skip)]
    pub excluded_live: Vec<u64>,
}

/// One evaluated instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Its status.
    pub status: SloStatus,
    /// Alert state changes of this evaluation.
    pub transitions: Vec<Transition>,
}

/// A journey (composite SLO) and its alert states.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeEntry {
    /// Definition.
    pub def: CompositeDef,
    /// Alert state per tier.
    pub tiers: Vec<TierState>,
}

/// All SLOs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SloSet {
    entries: Vec<SloEntry>,
    max_tenants: usize,
    #[serde(skip)]
    by_service: AHashMap<String, Vec<usize>>,
    /// Journeys over the SLOs above. They count nothing of their own (their members'
    /// counters are read), so their definitions are not in the snapshot but loaded at every
    /// start; their alert states ride after the engine ([`SloSet::composite_tiers`]).
    #[serde(skip)]
    composites: Vec<CompositeEntry>,
    /// Alert states of journeys restored before their definitions were loaded.
    #[serde(skip)]
    restored_tiers: Vec<(String, Vec<TierState>)>,
}

fn keep_ms(def: &SloDef) -> i64 {
    let longest_tier = def.tiers.iter().map(|t| t.long_ms).max().unwrap_or(0);
    def.period_ms().max(7 * DAY).max(longest_tier)
        + 2 * DAY
        + if matches!(def.window, super::SloWindow::Calendar { .. }) {
            2 * DAY
        } else {
            0
        }
}

fn slice_of(def: &SloDef) -> (i64, f64) {
    match def.budgeting {
        Budgeting::Timeslices {
            slice_ms,
            threshold,
        } => (slice_ms, threshold),
        Budgeting::RatioTimeslices { slice_ms } => (slice_ms, 1.0),
        Budgeting::Occurrences => (60_000, 1.0),
    }
}

/// Whether two definitions count the same events the same way (counters can be kept).
fn same_counting(a: &SloDef, b: &SloDef) -> bool {
    a.selector == b.selector
        && a.sli == b.sli
        && a.budgeting == b.budgeting
        && a.per_tenant == b.per_tenant
}

impl SloSet {
    /// Heap bytes of every SLO's counters and tier states, per tenant too, and the index.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{btree_map, hash_map, string, vec};
        let instance = |i: &SloInstance| i.counter.heap_bytes() + vec(&i.tiers);
        vec(&self.entries)
            + self
                .entries
                .iter()
                .map(|e| {
                    instance(&e.all)
                        + vec(&e.corrections)
                        + vec(&e.excluded_live)
                        + btree_map(&e.tenants)
                        + e.tenants
                            .iter()
                            .map(|(t, i)| string(t) + instance(i))
                            .sum::<usize>()
                })
                .sum::<usize>()
            + vec(&self.composites)
            + self
                .composites
                .iter()
                .map(|c| vec(&c.def.members) + vec(&c.tiers) + vec(&c.def.def.tiers))
                .sum::<usize>()
            + hash_map(&self.by_service)
            + self
                .by_service
                .iter()
                .map(|(s, v)| string(s) + vec(v))
                .sum::<usize>()
    }

    /// An empty set keeping at most `max_tenants` tenant instances per SLO.
    pub fn new(max_tenants: usize) -> Self {
        SloSet {
            entries: Vec::new(),
            max_tenants,
            by_service: AHashMap::new(),
            composites: Vec::new(),
            restored_tiers: Vec::new(),
        }
    }

    /// Rebuilds the service index (after a snapshot is loaded or the set changed).
    pub fn rebuild_index(&mut self) {
        self.by_service.clear();
        for (i, e) in self.entries.iter().enumerate() {
            self.by_service
                .entry(e.def.selector.service.clone())
                .or_default()
                .push(i);
        }
    }

    /// Adds or replaces an SLO; counts are kept when it still counts the same events the
    /// same way. Returns whether counts were kept.
    pub fn upsert(&mut self, def: SloDef) -> Result<bool, String> {
        def.validate()?;
        let kept = match self.entries.iter_mut().find(|e| e.def.name == def.name) {
            Some(entry) => {
                let keep = same_counting(&entry.def, &def);
                if !keep {
                    entry.all = SloInstance::default();
                    entry.tenants.clear();
                    entry.tenant_overflow = 0;
                    entry.excluded_live.fill(0);
                }
                entry.def = def;
                keep
            }
            None => {
                self.entries.push(SloEntry {
                    def,
                    all: SloInstance::default(),
                    tenants: BTreeMap::new(),
                    tenant_overflow: 0,
                    corrections: Vec::new(),
                    excluded_live: Vec::new(),
                });
                false
            }
        };
        self.rebuild_index();
        Ok(kept)
    }

    /// The most tenant instances an SLO keeps.
    pub fn max_tenants(&self) -> usize {
        self.max_tenants
    }

    /// How long SLO `name` keeps its hours, and the most tenant instances it may hold.
    pub fn retention_of(&self, name: &str) -> Option<(i64, usize)> {
        let entry = self.get(name)?;
        Some((keep_ms(&entry.def), self.max_tenants))
    }

    /// Adds history to SLO `name`'s counters (a back-fill, `super::backfill`): per-bucket
    /// counts of the all-tenants instance and of each tenant's, at `now`. Meant for an SLO
    /// whose counters were just created or reset, so that no event is counted twice.
    pub fn fill(
        &mut self,
        name: &str,
        all: Vec<(i64, super::Counts)>,
        tenants: BTreeMap<String, Vec<(i64, super::Counts)>>,
        now: i64,
    ) {
        let Some(entry) = self.entries.iter_mut().find(|e| e.def.name == name) else {
            return;
        };
        let keep = keep_ms(&entry.def);
        for (start, c) in all {
            entry.all.counter.add_bucket(start, c, now, keep);
        }
        for (tenant, buckets) in tenants {
            let inst = entry.tenants.entry(tenant).or_default();
            for (start, c) in buckets {
                inst.counter.add_bucket(start, c, now, keep);
            }
        }
    }

    /// Puts budget corrections in force for SLO `name`. When they differ from those in
    /// force, its counts are forgotten (alert states kept) so that the caller refills them
    /// from the history with the new exclusions (`Engine::backfill_slo`); returns whether
    /// they differed. Ids must be unique.
    pub fn set_corrections(
        &mut self,
        name: &str,
        corrections: Vec<Correction>,
    ) -> Result<bool, String> {
        for (i, c) in corrections.iter().enumerate() {
            c.validate()
                .map_err(|e| format!("corrections[{}]: {e}", c.id))?;
            if corrections[..i].iter().any(|o| o.id == c.id) {
                return Err(format!("corrections: the id {:?} is used twice", c.id));
            }
        }
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.def.name == name)
            .ok_or_else(|| format!("no SLO named {name:?}"))?;
        if entry.corrections == corrections {
            return Ok(false);
        }
        entry.excluded_live = vec![0; corrections.len()];
        entry.corrections = corrections;
        entry.all.counter = SloCounter::default();
        for inst in entry.tenants.values_mut() {
            inst.counter = SloCounter::default();
        }
        entry.tenant_overflow = 0;
        Ok(true)
    }

    /// Every SLO's corrections in force, for the snapshot (SLOs without any left out).
    pub fn corrections(&self) -> Vec<(String, Vec<Correction>)> {
        self.entries
            .iter()
            .filter(|e| !e.corrections.is_empty())
            .map(|e| (e.def.name.clone(), e.corrections.clone()))
            .collect()
    }

    /// Puts back the corrections a snapshot's counters were counted with (no reset).
    pub fn restore_corrections(&mut self, saved: Vec<(String, Vec<Correction>)>) {
        for (name, corrections) in saved {
            if let Some(entry) = self.entries.iter_mut().find(|e| e.def.name == name) {
                entry.excluded_live = vec![0; corrections.len()];
                entry.corrections = corrections;
            }
        }
    }

    /// Adds or replaces a journey: its members must be SLOs of this set (not journeys), and
    /// its window no longer than any member keeps counts for. Alert states are kept when
    /// the definition is unchanged.
    pub fn upsert_composite(&mut self, def: CompositeDef) -> Result<(), String> {
        def.validate()?;
        if self.get(&def.def.name).is_some() {
            return Err(format!("name: {:?} is an SLO, not a journey", def.def.name));
        }
        for (i, m) in def.members.iter().enumerate() {
            let entry = self.get(&m.slo).ok_or_else(|| {
                if self.composite(&m.slo).is_some() {
                    format!("members[{i}]: {:?} is a journey; members are SLOs", m.slo)
                } else {
                    format!("members[{i}]: no SLO named {:?}", m.slo)
                }
            })?;
            let keeps = keep_ms(&entry.def) - 2 * DAY;
            if def.def.period_ms() > keeps {
                return Err(format!(
                    "window: {:?} keeps {} of counts, shorter than the journey's window",
                    m.slo,
                    crate::duration::format_duration(keeps)
                ));
            }
        }
        match self
            .composites
            .iter_mut()
            .find(|c| c.def.def.name == def.def.name)
        {
            Some(c) if c.def == def => {}
            Some(c) => {
                c.def = def;
                c.tiers.clear();
            }
            None => {
                // Alert states kept by a snapshot, if their tiers still line up.
                let tiers = self
                    .restored_tiers
                    .iter()
                    .position(|(n, _)| *n == def.def.name)
                    .map(|p| self.restored_tiers.swap_remove(p).1)
                    .filter(|t| t.len() == def.def.tiers.len())
                    .unwrap_or_default();
                self.composites.push(CompositeEntry { def, tiers })
            }
        }
        Ok(())
    }

    /// Every journey's alert states, for the snapshot.
    pub fn composite_tiers(&self) -> Vec<(String, Vec<TierState>)> {
        self.composites
            .iter()
            .map(|c| (c.def.def.name.clone(), c.tiers.clone()))
            .collect()
    }

    /// Puts back journeys' alert states from a snapshot: now for journeys already loaded,
    /// else when their definitions are ([`SloSet::upsert_composite`]).
    pub fn restore_composite_tiers(&mut self, saved: Vec<(String, Vec<TierState>)>) {
        for (name, tiers) in saved {
            match self.composites.iter_mut().find(|c| c.def.def.name == name) {
                Some(c) if c.def.def.tiers.len() == tiers.len() => c.tiers = tiers,
                Some(_) => {}
                None => self.restored_tiers.push((name, tiers)),
            }
        }
    }

    /// Removes a journey.
    pub fn remove_composite(&mut self, name: &str) -> Option<CompositeDef> {
        let pos = self
            .composites
            .iter()
            .position(|c| c.def.def.name == name)?;
        Some(self.composites.remove(pos).def)
    }

    /// A journey by name.
    pub fn composite(&self, name: &str) -> Option<&CompositeEntry> {
        self.composites.iter().find(|c| c.def.def.name == name)
    }

    /// Every journey.
    pub fn composites(&self) -> &[CompositeEntry] {
        &self.composites
    }

    /// The journeys SLO `name` is a member of.
    pub fn journeys_of(&self, name: &str) -> Vec<String> {
        self.composites
            .iter()
            .filter(|c| c.def.members.iter().any(|m| m.slo == name))
            .map(|c| c.def.def.name.clone())
            .collect()
    }

    /// Removes an SLO.
    pub fn remove(&mut self, name: &str) -> Option<SloDef> {
        let pos = self.entries.iter().position(|e| e.def.name == name)?;
        let entry = self.entries.remove(pos);
        self.rebuild_index();
        Some(entry.def)
    }

    /// An SLO by name.
    pub fn get(&self, name: &str) -> Option<&SloEntry> {
        self.entries.iter().find(|e| e.def.name == name)
    }

    /// All SLOs.
    pub fn entries(&self) -> &[SloEntry] {
        &self.entries
    }

    /// Forgets the counts and alert states of the SLOs whose service `drop` names (their
    /// definitions stay).
    pub fn reset_services(&mut self, drop: impl Fn(&str) -> bool) {
        for entry in &mut self.entries {
            if drop(&entry.def.selector.service) {
                entry.all = SloInstance::default();
                entry.tenants.clear();
                entry.tenant_overflow = 0;
                entry.excluded_live.fill(0);
            }
        }
    }

    /// The entries whose service `keep` names, counts included (definitions of the others
    /// with empty counts), as a set of its own.
    pub fn extract(&self, keep: impl Fn(&str) -> bool) -> SloSet {
        let mut out = SloSet::new(self.max_tenants);
        out.composites = self.composites.clone();
        out.entries = self
            .entries
            .iter()
            .map(|e| {
                if keep(&e.def.selector.service) {
                    e.clone()
                } else {
                    SloEntry {
                        def: e.def.clone(),
                        all: SloInstance::default(),
                        tenants: BTreeMap::new(),
                        tenant_overflow: 0,
                        corrections: e.corrections.clone(),
                        excluded_live: vec![0; e.corrections.len()],
                    }
                }
            })
            .collect();
        out.rebuild_index();
        out
    }

    /// Takes the counts and alert states of `other`'s SLOs whose service `take` names: an SLO
    /// defined here that counts the same way gets them; one not defined here is added with
    /// them (its definition reached the other engine first).
    pub fn absorb(&mut self, other: &SloSet, take: impl Fn(&str) -> bool) {
        for theirs in &other.entries {
            if !take(&theirs.def.selector.service) {
                continue;
            }
            match self
                .entries
                .iter_mut()
                .find(|e| e.def.name == theirs.def.name)
            {
                Some(mine) if same_counting(&mine.def, &theirs.def) => {
                    mine.all = theirs.all.clone();
                    mine.tenants = theirs.tenants.clone();
                    mine.tenant_overflow = theirs.tenant_overflow;
                }
                Some(_) => {}
                None => self.entries.push(theirs.clone()),
            }
        }
        self.rebuild_index();
    }

    /// Counts one event in every SLO of its service that selects it.
    #[inline]
    pub fn record(&mut self, e: &Event, now: i64) {
        if self.by_service.is_empty() {
            return;
        }
        let Some(ids) = self.by_service.get(&e.service) else {
            return;
        };
        for &i in ids {
            let entry = &mut self.entries[i];
            if !entry.def.selector.matches(e) {
                continue;
            }
            if !entry.corrections.is_empty() {
                if let Some(k) = excluded_by(&entry.corrections, e.ts_ms) {
                    entry.excluded_live[k] += 1;
                    continue;
                }
            }
            let good = entry.def.sli.is_good(e);
            let keep = keep_ms(&entry.def);
            entry.all.counter.record(e.ts_ms, good, now, keep);
            if entry.def.per_tenant {
                if let Some(t) = &e.tenant {
                    let full = entry.tenants.len() >= self.max_tenants;
                    match entry.tenants.get_mut(t) {
                        Some(inst) => inst.counter.record(e.ts_ms, good, now, keep),
                        None if full => entry.tenant_overflow += 1,
                        None => entry
                            .tenants
                            .entry(t.clone())
                            .or_default()
                            .counter
                            .record(e.ts_ms, good, now, keep),
                    }
                }
            }
        }
    }

    /// Ages every counter.
    pub fn advance(&mut self, now: i64) {
        for entry in &mut self.entries {
            let keep = keep_ms(&entry.def);
            let (slice, threshold) = slice_of(&entry.def);
            entry.all.counter.advance(now, keep, slice, threshold);
            for inst in entry.tenants.values_mut() {
                inst.counter.advance(now, keep, slice, threshold);
            }
        }
    }

    /// Evaluates every instance at `now` (statuses and alert transitions).
    pub fn evaluate(&mut self, now: i64) -> Vec<Evaluation> {
        let mut out = Vec::new();
        for entry in &mut self.entries {
            let (status, transitions) = evaluate(
                &entry.def,
                None,
                &entry.all.counter,
                &mut entry.all.tiers,
                now,
            );
            out.push(Evaluation {
                status,
                transitions,
            });
            for (tenant, inst) in entry.tenants.iter_mut() {
                let (status, transitions) = evaluate(
                    &entry.def,
                    Some(tenant),
                    &inst.counter,
                    &mut inst.tiers,
                    now,
                );
                out.push(Evaluation {
                    status,
                    transitions,
                });
            }
        }
        let entries = &self.entries;
        for c in &mut self.composites {
            let counters: Vec<Option<&SloCounter>> = c
                .def
                .members
                .iter()
                .map(|m| {
                    entries
                        .iter()
                        .find(|e| e.def.name == m.slo)
                        .map(|e| &e.all.counter)
                })
                .collect();
            let (status, transitions) =
                super::composite::evaluate(&c.def, &counters, &mut c.tiers, now);
            out.push(Evaluation {
                status,
                transitions,
            });
        }
        out
    }
}
