//! Engine configuration: resolutions of the rolling buckets, aggregation views, bounds, and
//! the latency budgets that define a "slow" request. `EngineConfig::default()` is the one
//! place the defaults live; `validate` refuses inconsistent settings with a reason.

use crate::duration::serde_label;
use crate::error::CoreError;
use crate::model::RequestClass;
pub use crate::rollup::Resolution;
use crate::view::Dim;
pub use crate::view::ViewDef;
use serde::{Deserialize, Serialize};

/// Bounded top-K caller summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeavyHitterConfig {
    /// Callers tracked per service, bucket and measure.
    pub k: usize,
    /// Bucket width.
    #[serde(with = "serde_label")]
    pub bucket: i64,
    /// How long buckets are kept.
    #[serde(with = "serde_label")]
    pub keep: i64,
}

/// Latency above which a request of a class counts as slow (the p99 budgets).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SlowThresholds {
    /// Reads.
    pub read_ms: f64,
    /// Writes.
    pub write_ms: f64,
    /// Complex writes.
    pub complex_write_ms: f64,
}

impl SlowThresholds {
    /// The threshold of a class.
    pub fn of(&self, class: RequestClass) -> f64 {
        match class {
            RequestClass::Read => self.read_ms,
            RequestClass::Write => self.write_ms,
            RequestClass::ComplexWrite => self.complex_write_ms,
        }
    }
}

/// Everything the engine needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EngineConfig {
    /// Finest first; each width divides the next; each keep is longer than the previous.
    pub resolutions: Vec<Resolution>,
    /// Aggregation views.
    pub views: Vec<ViewDef>,
    /// Series per view before new keys go to the view's overflow series.
    pub max_series_per_view: usize,
    /// Caller summaries.
    pub heavy_hitters: HeavyHitterConfig,
    /// Slow-request thresholds.
    pub slow: SlowThresholds,
    /// Events further in the future than this are refused.
    #[serde(with = "serde_label")]
    pub max_future: i64,
}

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

impl Default for EngineConfig {
    fn default() -> Self {
        use Dim::*;
        let view = |name: &str, dims: &[Dim]| ViewDef {
            name: name.into(),
            dims: dims.to_vec(),
        };
        EngineConfig {
            // Each level is kept as long as its finest reader looks: the dashboard's 15-minute
            // sparklines (10 s), a young service's forecast over 4 hours of minutes and the
            // go-live steady window (1 m), the 24-hour charts and a day-old service's forecast
            // (10 m), SLO back-fill and the hourly forecast over 35 days (1 h). A 10-minute
            // bucket costs about what an hourly one does (the same bins, smaller counts): the
            // 10-minute level kept 3 days and minutes kept 6 hours held the demo at ~71 MiB
            // after 7 simulated days, against 59.6 MiB now (issue 19; BENCHMARKS.md, "Memory
            // accounted, and over days").
            resolutions: vec![
                Resolution {
                    width: 10 * SECOND,
                    keep: 15 * MINUTE,
                },
                Resolution {
                    width: MINUTE,
                    keep: 4 * HOUR,
                },
                Resolution {
                    width: 10 * MINUTE,
                    keep: DAY,
                },
                Resolution {
                    width: HOUR,
                    keep: 35 * DAY,
                },
            ],
            views: vec![
                view("service_operation", &[Service, Operation]),
                view("service_node", &[Service, Node]),
                view("service_tenant", &[Service, Tenant]),
                view("service_version", &[Service, Version]),
                view("service_operation_version", &[Service, Operation, Version]),
                // The go-live gates: latency per request class, hit rate per cache space.
                view("service_class", &[Service, Class]),
                view("service_cache_space", &[Service, CacheSpace]),
            ],
            max_series_per_view: 10_000,
            heavy_hitters: HeavyHitterConfig {
                k: 64,
                bucket: 5 * MINUTE,
                keep: HOUR,
            },
            slow: SlowThresholds {
                read_ms: 200.0,
                write_ms: 300.0,
                complex_write_ms: 300.0,
            },
            max_future: 5 * MINUTE,
        }
    }
}

impl EngineConfig {
    /// The oldest data kept: the keep of the coarsest resolution.
    pub fn retention(&self) -> i64 {
        self.resolutions.last().map(|r| r.keep).unwrap_or(0)
    }

    /// Checks every rule; the message names the setting.
    pub fn validate(&self) -> Result<(), CoreError> {
        let bad = |m: String| Err(CoreError::InvalidConfig(m));
        if self.resolutions.is_empty() {
            return bad("retention.resolutions: at least one resolution is needed".into());
        }
        for (i, pair) in self.resolutions.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            if b.width % a.width != 0 || b.width <= a.width {
                return bad(format!("retention.resolutions[{}].width must be a larger multiple of the previous width", i + 1));
            }
            if b.keep <= a.keep {
                return bad(format!(
                    "retention.resolutions[{}].keep must be longer than the previous keep",
                    i + 1
                ));
            }
        }
        if self.views.is_empty() {
            return bad("views: at least one view is needed".into());
        }
        let mut names = std::collections::HashSet::new();
        for v in &self.views {
            if !names.insert(v.name.as_str()) {
                return bad(format!("views: the name {:?} is used twice", v.name));
            }
            if v.dims.first() != Some(&Dim::Service) {
                return bad(format!(
                    "views.{}: the first dimension must be service",
                    v.name
                ));
            }
            if v.dims.len() > crate::view::MAX_DIMS {
                return bad(format!(
                    "views.{}: at most {} dimensions",
                    v.name,
                    crate::view::MAX_DIMS
                ));
            }
            let distinct: std::collections::HashSet<_> = v.dims.iter().collect();
            if distinct.len() != v.dims.len() {
                return bad(format!("views.{}: a dimension is repeated", v.name));
            }
        }
        if self.max_series_per_view == 0 {
            return bad("limits.maxSeriesPerView must be at least 1".into());
        }
        if self.heavy_hitters.k == 0 || self.heavy_hitters.keep < self.heavy_hitters.bucket {
            return bad("heavyHitters: k must be >= 1 and keep >= bucket".into());
        }
        Ok(())
    }
}
