//! An adaptive concurrency limit per service, after Netflix's Gradient2 (concurrency-limits):
//! the limit follows the ratio of a long-run latency to the recent latency.
//!
//! Per update (each evaluation cycle, with the recent median latency `short`, the service's
//! in-flight requests and the time since the last update):
//! - `long` is the no-load latency: it falls to any lower `short` at once and rises towards a
//!   higher one with a 10-minute time constant. Gradient2 averages `long` over its long
//!   window, which drifts upwards under sustained overload (the limiter holds latency at 1.5×
//!   `long`, so `long` keeps rising and the queue with it); a floor that only creeps up, as
//!   TCP Vegas' minimum RTT, does not, and still learns a lasting change within minutes.
//! - `gradient = clamp(1.5 · long / short, 0.5, 1)`: the limit shrinks when latency rises
//!   above its long-run level by more than the 1.5 tolerance, halving at worst.
//! - `new = limit · gradient + queue` (`queue` = √limit unless configured), smoothed as
//!   `limit = 0.8 · limit + 0.2 · new`, within [minConcurrency, maxConcurrency].
//! - While fewer than half the limit are in flight the limit does not grow (an idle service
//!   says nothing about how much it could take).
//!
//! `load = inflight / limit` is what the ladder and the policies read: over 1, requests
//! queue inside the service. In-flight work comes from the nodes' `inflight` samples, or by
//! Little's law (rate × mean latency) when they send none.
//!
//! **A young limit is a guess.** The limit starts at twice what is in flight when the service
//! is first seen and only grows while the service uses half of it, so for its first minutes
//! it says how much the service was seen doing, not how much it can take: the first surge of
//! a fresh server reads as overload (the demo's first tenant surge on qflow read as load
//! 1.21, level L4, where every later one read under 0.8). The limit is [`learned`] after
//! [`WARMUP_MS`] of updates — three time constants of the no-load latency's rise, by when
//! that latency has settled to within 5 % of a lasting change — and the ladder reads its load
//! only from then on (capacity the nodes declare counts from their first sample).
//!
//! [`learned`]: ConcurrencyLimit::learned

use super::config::PolicyConfig;
use serde::Serialize;

/// Time constant with which the no-load latency rises, ms.
const LONG_RISE_MS: f64 = 600_000.0;
/// Time a limit is updated before its load is evidence ([`ConcurrencyLimit::learned`]): three
/// time constants of the no-load latency's rise.
pub const WARMUP_MS: f64 = 3.0 * LONG_RISE_MS;
const TOLERANCE: f64 = 1.5;
const SMOOTHING: f64 = 0.2;

/// The limit of one service.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConcurrencyLimit {
    /// Current limit (requests in flight).
    pub limit: f64,
    /// Long-run latency, ms.
    pub long_rtt_ms: f64,
    /// Last recent latency, ms.
    pub short_rtt_ms: f64,
    /// Last in-flight estimate.
    pub inflight: f64,
    /// Time covered by the updates so far, ms (a limit is learned after [`WARMUP_MS`]).
    pub watched_ms: f64,
}

impl ConcurrencyLimit {
    /// A limit starting at `initial`.
    pub fn new(initial: f64) -> Self {
        ConcurrencyLimit {
            limit: initial,
            long_rtt_ms: 0.0,
            short_rtt_ms: 0.0,
            inflight: 0.0,
            watched_ms: 0.0,
        }
    }

    /// Whether the limit has been updated for [`WARMUP_MS`]: before, its load is the
    /// initial guess's, no evidence of overload.
    pub fn learned(&self) -> bool {
        self.watched_ms >= WARMUP_MS
    }

    /// `inflight / limit`.
    pub fn load(&self) -> f64 {
        if self.limit > 0.0 {
            self.inflight / self.limit
        } else {
            0.0
        }
    }

    /// One update with the recent median latency, the in-flight requests and the time since
    /// the previous update.
    pub fn update(&mut self, short_rtt_ms: f64, inflight: f64, dt_ms: f64, config: &PolicyConfig) {
        if !(short_rtt_ms.is_finite() && short_rtt_ms > 0.0) {
            return;
        }
        self.short_rtt_ms = short_rtt_ms;
        self.inflight = inflight.max(0.0);
        self.watched_ms += dt_ms.max(0.0);
        if self.long_rtt_ms <= 0.0 || short_rtt_ms < self.long_rtt_ms {
            self.long_rtt_ms = short_rtt_ms;
        } else {
            let w = 1.0 - (-dt_ms.max(0.0) / LONG_RISE_MS).exp();
            self.long_rtt_ms += w * (short_rtt_ms - self.long_rtt_ms);
        }
        let gradient = (TOLERANCE * self.long_rtt_ms / short_rtt_ms).clamp(0.5, 1.0);
        let queue = if config.queue_size > 0.0 {
            config.queue_size
        } else {
            self.limit.sqrt()
        };
        let proposed = self.limit * gradient + queue;
        if proposed > self.limit && self.inflight < self.limit / 2.0 {
            return; // application-limited: no evidence it could take more
        }
        let smoothed = (1.0 - SMOOTHING) * self.limit + SMOOTHING * proposed;
        self.limit = smoothed.clamp(config.min_concurrency, config.max_concurrency);
    }
}
