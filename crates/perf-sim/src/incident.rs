//! Pluggable incidents: each may rewrite the events generated during its span.

use perf_core::Event;

/// Something that happens to the ecosystem between two moments.
pub trait Incident: Send + Sync {
    /// Short name for logs and the demo screen.
    fn name(&self) -> &str;
    /// Whether the incident is active `t_ms` after the simulation start.
    fn active(&self, t_ms: i64) -> bool;
    /// Rewrites an event generated while active; `u` is a uniform draw in [0, 1).
    fn apply(&self, event: &mut Event, u: f64);
    /// Extra requests while active, `t_ms` after the simulation start: `(service, tenant,
    /// share)` adds `share` × the normal total rate as requests on that service, of that
    /// tenant (or of tenants drawn as usual when `None`).
    fn surge(&self, _t_ms: i64) -> Option<(&str, Option<&str>, f64)> {
        None
    }
    /// The caller of the extra requests (`None`: callers drawn as usual).
    fn surge_caller(&self) -> Option<&str> {
        None
    }
}

/// One node of a service becomes `factor` times slower.
#[derive(Debug, Clone)]
pub struct NodeSlowdown {
    /// Service.
    pub service: String,
    /// Node.
    pub node: String,
    /// Start, ms after simulation start.
    pub from_ms: i64,
    /// End, ms after simulation start.
    pub to_ms: i64,
    /// Latency multiplier.
    pub factor: f64,
}

impl Incident for NodeSlowdown {
    fn name(&self) -> &str {
        "node slowdown"
    }
    fn active(&self, t: i64) -> bool {
        (self.from_ms..self.to_ms).contains(&t)
    }
    fn apply(&self, e: &mut Event, _u: f64) {
        if e.service == self.service && e.node == self.node {
            e.latency_ms *= self.factor;
            for s in &mut e.stages {
                s.1 *= self.factor;
            }
        }
    }
}

/// A service fails a share of its requests.
#[derive(Debug, Clone)]
pub struct ErrorBurst {
    /// Service.
    pub service: String,
    /// Start, ms after simulation start.
    pub from_ms: i64,
    /// End, ms after simulation start.
    pub to_ms: i64,
    /// Failure probability during the burst.
    pub error_rate: f64,
}

impl Incident for ErrorBurst {
    fn name(&self) -> &str {
        "error burst"
    }
    fn active(&self, t: i64) -> bool {
        (self.from_ms..self.to_ms).contains(&t)
    }
    fn apply(&self, e: &mut Event, u: f64) {
        if e.service == self.service && u < self.error_rate {
            e.ok = false;
        }
    }
}

/// A tenant surges on one service: it adds requests there, and the other tenants of that
/// service get slower.
#[derive(Debug, Clone)]
pub struct TenantSurge {
    /// Tenant.
    pub tenant: String,
    /// Service it floods.
    pub service: String,
    /// Start, ms after simulation start.
    pub from_ms: i64,
    /// End, ms after simulation start.
    pub to_ms: i64,
    /// Extra requests as a share of the ecosystem's normal total rate.
    pub extra_share: f64,
    /// Latency multiplier for the other tenants of the service.
    pub slowdown: f64,
}

impl Incident for TenantSurge {
    fn name(&self) -> &str {
        "tenant surge"
    }
    fn active(&self, t: i64) -> bool {
        (self.from_ms..self.to_ms).contains(&t)
    }
    fn surge(&self, _t_ms: i64) -> Option<(&str, Option<&str>, f64)> {
        Some((&self.service, Some(&self.tenant), self.extra_share))
    }
    fn apply(&self, e: &mut Event, _u: f64) {
        if e.service == self.service && e.tenant.as_deref() != Some(self.tenant.as_str()) {
            e.latency_ms *= self.slowdown;
            for s in &mut e.stages {
                s.1 *= self.slowdown;
            }
        }
    }
}

/// A canary deployment: while active, a share of a service's requests (the weight a
/// rollout controller sets, in percent) runs a new version; a regressed canary makes a share
/// of its own requests slower (a slow mode that leaves the median alone).
#[derive(Debug, Clone)]
pub struct Canary {
    /// Service.
    pub service: String,
    /// The canary's version.
    pub version: String,
    /// Start, ms after simulation start.
    pub from_ms: i64,
    /// End, ms after simulation start.
    pub to_ms: i64,
    /// Canary traffic in percent, set by the controller while the simulation runs.
    pub weight: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// Share of canary requests that are slow (0 for a clean canary).
    pub slow_share: f64,
    /// Latency multiplier of those.
    pub slow_factor: f64,
}

impl Incident for Canary {
    fn name(&self) -> &str {
        "canary"
    }
    fn active(&self, t: i64) -> bool {
        (self.from_ms..self.to_ms).contains(&t)
    }
    fn apply(&self, e: &mut Event, u: f64) {
        if e.service != self.service {
            return;
        }
        let weight = f64::from(self.weight.load(std::sync::atomic::Ordering::Relaxed)) / 100.0;
        if u >= weight {
            return;
        }
        e.version = Some(self.version.clone());
        // A second, practically independent uniform from the same draw.
        let v = (u * 7919.0).fract();
        if v < self.slow_share {
            e.latency_ms *= self.slow_factor;
            for s in &mut e.stages {
                s.1 *= self.slow_factor;
            }
        }
    }
}

/// Organic traffic growth of one service: from `from_ms` its request rate doubles every
/// `doubling_ms`, up to `max_factor` times its normal rate, and stays there.
#[derive(Debug, Clone)]
pub struct TrafficGrowth {
    /// Service.
    pub service: String,
    /// Share of all requests the service normally gets (the growth adds to it).
    pub share: f64,
    /// Start, ms after simulation start.
    pub from_ms: i64,
    /// Time for the rate to double.
    pub doubling_ms: i64,
    /// Largest multiple of the normal rate.
    pub max_factor: f64,
}

impl TrafficGrowth {
    /// The multiple of the normal rate `t_ms` after the simulation start.
    pub fn factor(&self, t_ms: i64) -> f64 {
        let doublings = (t_ms - self.from_ms).max(0) as f64 / self.doubling_ms.max(1) as f64;
        2f64.powf(doublings).min(self.max_factor)
    }
}

impl Incident for TrafficGrowth {
    fn name(&self) -> &str {
        "traffic growth"
    }
    fn active(&self, t: i64) -> bool {
        t >= self.from_ms
    }
    fn surge(&self, t_ms: i64) -> Option<(&str, Option<&str>, f64)> {
        Some((&self.service, None, self.share * (self.factor(t_ms) - 1.0)))
    }
    fn apply(&self, _e: &mut Event, _u: f64) {}
}

/// One caller (a scraper, a runaway job) adds slow, costly requests to a service: `share` of
/// the ecosystem's normal rate, each `slowdown` times slower and `cost_factor` times costlier
/// than usual, between `from_ms` and `to_ms`.
#[derive(Debug, Clone)]
pub struct AbusiveCaller {
    /// The caller (entity).
    pub caller: String,
    /// Service.
    pub service: String,
    /// Start, ms after simulation start.
    pub from_ms: i64,
    /// End, ms after simulation start.
    pub to_ms: i64,
    /// Extra requests as a share of the normal total rate.
    pub share: f64,
    /// Latency multiplier of its requests.
    pub slowdown: f64,
    /// Cost multiplier of its requests.
    pub cost_factor: f64,
}

impl Incident for AbusiveCaller {
    fn name(&self) -> &str {
        "abusive caller"
    }
    fn active(&self, t: i64) -> bool {
        (self.from_ms..self.to_ms).contains(&t)
    }
    fn surge(&self, _t_ms: i64) -> Option<(&str, Option<&str>, f64)> {
        Some((&self.service, None, self.share))
    }
    fn surge_caller(&self) -> Option<&str> {
        Some(&self.caller)
    }
    fn apply(&self, e: &mut Event, _u: f64) {
        if e.entity.as_deref() == Some(self.caller.as_str()) {
            e.latency_ms *= self.slowdown;
            for s in &mut e.stages {
                s.1 *= self.slowdown;
            }
            e.cost = e.cost.map(|c| c * self.cost_factor);
        }
    }
}
