//! An aggregation view: a grouping of dimensions (e.g. service × operation) with one rolling
//! series per key. Series are bounded: once a view holds `max_series` keys, events of new
//! keys go into the view's single overflow series (key values `__overflow__`), so totals stay
//! right, and the overflow is counted.

use crate::interner::Interner;
use crate::rollup::Rollup;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};

/// An aggregation view: the dimensions it groups by (the first is always `service`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewDef {
    /// Name used in queries and metrics, e.g. `service_operation`.
    pub name: String,
    /// Grouping dimensions.
    pub dims: Vec<Dim>,
}

/// Most dimensions one view may group by.
pub const MAX_DIMS: usize = 4;
/// The value of the dimensions a view does not use.
const UNUSED: u32 = u32::MAX;
/// How many series a view admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesLimits {
    /// Series per view.
    pub per_view: usize,
    /// Series per tenant, in views with a tenant dimension.
    pub per_tenant: usize,
}

/// The key value of overflow series.
pub const OVERFLOW_VALUE: &str = "__overflow__";

/// A series key: interned values of the view's dimensions.
pub type Key = [u32; MAX_DIMS];

/// A dimension an event can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Dim {
    /// Service name.
    Service,
    /// Operation.
    Operation,
    /// Node.
    Node,
    /// Tenant (events without one are not in the view).
    Tenant,
    /// Version (events without one are not in the view).
    Version,
    /// Request class.
    Class,
    /// Cache key space (events without one are not in the view).
    CacheSpace,
}

/// Number of [`Dim`] variants.
pub const DIM_COUNT: usize = 7;

impl Dim {
    /// Position in per-event value arrays.
    pub fn slot(self) -> usize {
        self as usize
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Service => "service",
            Dim::Operation => "operation",
            Dim::Node => "node",
            Dim::Tenant => "tenant",
            Dim::Version => "version",
            Dim::Class => "class",
            Dim::CacheSpace => "cache_space",
        }
    }
}

/// The dimension values of one event: text and, when interned, id.
pub struct DimValues<'a> {
    /// Text per dimension slot (`None`: the event has no such value).
    pub text: [Option<&'a str>; DIM_COUNT],
    /// Id per dimension slot, when interned.
    pub ids: [Option<u32>; DIM_COUNT],
}

/// One series of a view.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Series {
    /// Interned key values (unused dims are `u32::MAX`).
    pub key: Key,
    /// Its buckets.
    pub rollup: Rollup,
}

/// A view and its series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct View {
    /// Definition.
    pub def: ViewDef,
    series: Vec<Series>,
    overflow: Option<usize>,
    /// Events that went to the overflow series.
    pub overflow_events: u64,
    #[serde(skip)]
    index: AHashMap<Key, usize>,
    #[serde(skip)]
    by_service: AHashMap<u32, Vec<usize>>,
    /// Regular series per tenant id, in views with a tenant dimension.
    #[serde(skip)]
    by_tenant: AHashMap<u32, usize>,
}

impl View {
    /// Heap bytes of the view's bookkeeping: its series list, key index and per-service and
    /// per-tenant lookups (the buckets are counted by level, see [`View::level_heap_bytes`]).
    pub fn index_heap_bytes(&self) -> usize {
        use crate::memory::{hash_map, vec};
        vec(&self.series)
            + self
                .series
                .iter()
                .map(|s| s.rollup.levels_heap_bytes())
                .sum::<usize>()
            + hash_map(&self.index)
            + hash_map(&self.by_service)
            + self.by_service.values().map(vec).sum::<usize>()
            + hash_map(&self.by_tenant)
    }

    /// Heap bytes of every series' buckets at resolution level `level`.
    pub fn level_heap_bytes(&self, level: usize) -> usize {
        self.series
            .iter()
            .map(|s| s.rollup.level_heap_bytes(level))
            .sum()
    }

    /// An empty view.
    pub fn new(def: ViewDef) -> Self {
        View {
            def,
            series: Vec::new(),
            overflow: None,
            overflow_events: 0,
            index: AHashMap::new(),
            by_service: AHashMap::new(),
            by_tenant: AHashMap::new(),
        }
    }

    /// True when the view has a tenant dimension and a series of tenant `id` (O(1): the
    /// per-tenant series count kept for the tenant limit).
    pub fn has_tenant(&self, id: u32) -> bool {
        self.tenant_pos().is_some() && self.by_tenant.get(&id).is_some_and(|n| *n > 0)
    }

    fn tenant_pos(&self) -> Option<usize> {
        self.def.dims.iter().position(|d| *d == Dim::Tenant)
    }

    /// Drops the series whose every bucket has aged out (retention passed with no new
    /// event), the overflow series included, so that a view flooded once (or churning
    /// through versions) admits new keys again. Returns how many were dropped.
    pub fn drop_empty_series(&mut self) -> usize {
        if self.series.iter().all(|s| !s.rollup.is_empty()) {
            return 0;
        }
        let before = self.series.len();
        let overflow_key = self.overflow.map(|i| self.series[i].key);
        self.series.retain(|s| !s.rollup.is_empty());
        self.overflow = overflow_key.and_then(|k| self.series.iter().position(|s| s.key == k));
        self.rebuild_indexes();
        before - self.series.len()
    }

    /// Rebuilds lookup tables (after a snapshot is loaded).
    pub fn rebuild_indexes(&mut self) {
        self.index.clear();
        self.by_service.clear();
        self.by_tenant.clear();
        let tenant = self.tenant_pos();
        for (i, s) in self.series.iter().enumerate() {
            self.index.insert(s.key, i);
            if Some(i) != self.overflow {
                self.by_service.entry(s.key[0]).or_default().push(i);
                if let Some(t) = tenant {
                    *self.by_tenant.entry(s.key[t]).or_default() += 1;
                }
            }
        }
    }

    /// The series an event belongs to, created (or the overflow series) if new; `None` if the
    /// event lacks one of the view's dimensions. A new key goes to the overflow series when
    /// the view holds `limits.per_view` series, or, in a view with a tenant dimension, when
    /// its tenant holds `limits.per_tenant` of them.
    #[inline]
    pub fn series_for(
        &mut self,
        values: &mut DimValues,
        interner: &mut Interner,
        limits: SeriesLimits,
        levels: usize,
    ) -> Option<&mut Series> {
        let mut key = [UNUSED; MAX_DIMS];
        let mut known = true;
        for (k, dim) in key.iter_mut().zip(&self.def.dims) {
            values.text[dim.slot()]?;
            match values.ids[dim.slot()] {
                Some(id) => *k = id,
                None => known = false,
            }
        }
        if known {
            if let Some(&i) = self.index.get(&key) {
                return Some(&mut self.series[i]);
            }
        }
        let regular = self.series.len() - usize::from(self.overflow.is_some());
        let tenant_full = self.tenant_pos().is_some_and(|pos| {
            let tenant = values.ids[self.def.dims[pos].slot()];
            tenant
                .is_some_and(|t| self.by_tenant.get(&t).copied().unwrap_or(0) >= limits.per_tenant)
        });
        if regular >= limits.per_view || tenant_full {
            self.overflow_events += 1;
            let i = match self.overflow {
                Some(i) => i,
                None => {
                    let id = interner.intern(OVERFLOW_VALUE);
                    let mut key = [UNUSED; MAX_DIMS];
                    key[..self.def.dims.len()].fill(id);
                    self.series.push(Series {
                        key,
                        rollup: Rollup::new(levels),
                    });
                    let i = self.series.len() - 1;
                    self.index.insert(key, i);
                    self.overflow = Some(i);
                    i
                }
            };
            return Some(&mut self.series[i]);
        }
        for (k, dim) in key.iter_mut().zip(&self.def.dims) {
            let slot = dim.slot();
            let id = match values.ids[slot] {
                Some(id) => id,
                None => {
                    let id = interner.intern(values.text[slot].unwrap_or_default());
                    values.ids[slot] = Some(id);
                    id
                }
            };
            *k = id;
        }
        if let Some(&i) = self.index.get(&key) {
            return Some(&mut self.series[i]);
        }
        self.series.push(Series {
            key,
            rollup: Rollup::new(levels),
        });
        let i = self.series.len() - 1;
        self.index.insert(key, i);
        self.by_service.entry(key[0]).or_default().push(i);
        if let Some(t) = self.tenant_pos() {
            *self.by_tenant.entry(key[t]).or_default() += 1;
        }
        Some(&mut self.series[i])
    }

    /// Keeps only the series for which `keep(series)` is true (the overflow series too when
    /// it passes).
    pub fn retain_series(&mut self, mut keep: impl FnMut(&Series) -> bool) {
        let overflow_key = self.overflow.map(|i| self.series[i].key);
        self.series.retain(|s| keep(s));
        self.overflow = overflow_key.and_then(|k| self.series.iter().position(|s| s.key == k));
        self.rebuild_indexes();
    }

    /// Adds `series` (its key already in this view's interner): merged into the series of
    /// the same key when there is one, a new series otherwise (the overflow series when its
    /// key values are [`OVERFLOW_VALUE`], whose id is `overflow_id`). Limits are not applied:
    /// a series moved between engines was admitted once already.
    pub fn absorb_series(&mut self, series: Series, overflow_id: Option<u32>) {
        if let Some(&i) = self.index.get(&series.key) {
            self.series[i].rollup.merge(&series.rollup);
            return;
        }
        let is_overflow = overflow_id.is_some_and(|id| series.key[0] == id);
        self.series.push(series);
        let i = self.series.len() - 1;
        let key = self.series[i].key;
        self.index.insert(key, i);
        if is_overflow {
            self.overflow = Some(i);
            return;
        }
        self.by_service.entry(key[0]).or_default().push(i);
        if let Some(t) = self.tenant_pos() {
            *self.by_tenant.entry(key[t]).or_default() += 1;
        }
    }

    /// All series (including the overflow series).
    pub fn series(&self) -> &[Series] {
        &self.series
    }

    /// Mutable series, for advancing time.
    pub fn series_mut(&mut self) -> &mut [Series] {
        &mut self.series
    }

    /// The series of one service (by interned id).
    pub fn series_of_service(&self, service: u32) -> impl Iterator<Item = &Series> {
        self.by_service
            .get(&service)
            .into_iter()
            .flat_map(move |ix| ix.iter().map(move |&i| &self.series[i]))
    }

    /// The overflow series, if any event overflowed.
    pub fn overflow_series(&self) -> Option<&Series> {
        self.overflow.map(|i| &self.series[i])
    }

    /// Number of regular series.
    pub fn series_count(&self) -> usize {
        self.series.len() - usize::from(self.overflow.is_some())
    }
}
