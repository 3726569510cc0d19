//! Client-side load balancers, as the field builds them.
//!
//! - [`RoundRobin`]: every node in turn.
//! - [`LeastPending`]: power of two choices — two distinct random nodes, the one with fewer
//!   requests in flight from this client.
//! - [`PeakEwma`]: power of two choices on Finagle's / tower's Peak-EWMA cost,
//!   `cost = rtt × (pending + 1)`, where `rtt` jumps to any higher sample at once and
//!   otherwise decays towards new samples with a 10 s time constant. A node that fails fast
//!   looks fast to it (linkerd2 #11669).
//! - [`Weighted`]: ecosystem-perf's — the two candidates are drawn with probability
//!   proportional to the node's routing weight, and the one with the lower Peak-EWMA cost
//!   divided by its weight wins. Weights come from the real scoring and balancer code (see
//!   `routing_sim`), so a node failing fast loses both its share of candidacies and its cost
//!   advantage.

use rand::rngs::StdRng;
use rand::Rng;

/// Decay time constant of Peak-EWMA, µs.
const DECAY_US: f64 = 10_000_000.0;

/// A balancer over `n` nodes.
pub trait Router {
    /// Name for the tables.
    fn name(&self) -> &'static str;
    /// The node for a new request at `now_us`.
    fn pick(&mut self, now_us: u64, rng: &mut StdRng) -> usize;
    /// A request to `node` finished after `rtt_us`.
    fn done(&mut self, node: usize, now_us: u64, rtt_us: u64, ok: bool);
    /// New routing weights (only the weighted router uses them).
    fn set_weights(&mut self, _weights: &[f64]) {}
}

/// Two distinct uniform random nodes.
fn two(n: usize, rng: &mut StdRng) -> (usize, usize) {
    let a = rng.random_range(0..n);
    let mut b = rng.random_range(0..n - 1);
    if b >= a {
        b += 1;
    }
    (a, b)
}

/// Round robin.
pub struct RoundRobin {
    n: usize,
    next: usize,
}

impl RoundRobin {
    /// Over `n` nodes.
    pub fn new(n: usize) -> Self {
        RoundRobin { n, next: 0 }
    }
}

impl Router for RoundRobin {
    fn name(&self) -> &'static str {
        "round robin"
    }
    fn pick(&mut self, _now: u64, _rng: &mut StdRng) -> usize {
        let k = self.next;
        self.next = (self.next + 1) % self.n;
        k
    }
    fn done(&mut self, _node: usize, _now: u64, _rtt: u64, _ok: bool) {}
}

/// P2C on least pending.
pub struct LeastPending {
    pending: Vec<u32>,
}

impl LeastPending {
    /// Over `n` nodes.
    pub fn new(n: usize) -> Self {
        LeastPending {
            pending: vec![0; n],
        }
    }
}

impl Router for LeastPending {
    fn name(&self) -> &'static str {
        "P2C least pending"
    }
    fn pick(&mut self, _now: u64, rng: &mut StdRng) -> usize {
        let (a, b) = two(self.pending.len(), rng);
        let k = if self.pending[b] < self.pending[a] {
            b
        } else {
            a
        };
        self.pending[k] += 1;
        k
    }
    fn done(&mut self, node: usize, _now: u64, _rtt: u64, _ok: bool) {
        self.pending[node] = self.pending[node].saturating_sub(1);
    }
}

/// Peak-EWMA state of one node.
#[derive(Debug, Clone, Copy)]
struct Ewma {
    rtt_us: f64,
    stamp_us: u64,
    pending: u32,
}

impl Ewma {
    fn cost(&self, now_us: u64) -> f64 {
        // Decay towards zero while no sample arrives, as tower does between observations.
        let age = now_us.saturating_sub(self.stamp_us) as f64;
        let rtt = self.rtt_us * (-age / DECAY_US).exp();
        rtt.max(1.0) * f64::from(self.pending + 1)
    }

    fn observe(&mut self, now_us: u64, rtt_us: u64) {
        let rtt = rtt_us as f64;
        if rtt > self.rtt_us {
            self.rtt_us = rtt;
        } else {
            let w = (-(now_us.saturating_sub(self.stamp_us) as f64) / DECAY_US).exp();
            self.rtt_us = self.rtt_us * w + rtt * (1.0 - w);
        }
        self.stamp_us = now_us;
    }
}

/// P2C on Peak-EWMA.
pub struct PeakEwma {
    nodes: Vec<Ewma>,
}

impl PeakEwma {
    /// Over `n` nodes, each starting at `initial_rtt_us`.
    pub fn new(n: usize, initial_rtt_us: f64) -> Self {
        PeakEwma {
            nodes: vec![
                Ewma {
                    rtt_us: initial_rtt_us,
                    stamp_us: 0,
                    pending: 0,
                };
                n
            ],
        }
    }
}

impl Router for PeakEwma {
    fn name(&self) -> &'static str {
        "P2C + Peak-EWMA"
    }
    fn pick(&mut self, now: u64, rng: &mut StdRng) -> usize {
        let (a, b) = two(self.nodes.len(), rng);
        let k = if self.nodes[b].cost(now) < self.nodes[a].cost(now) {
            b
        } else {
            a
        };
        self.nodes[k].pending += 1;
        k
    }
    fn done(&mut self, node: usize, now: u64, rtt: u64, _ok: bool) {
        let e = &mut self.nodes[node];
        e.pending = e.pending.saturating_sub(1);
        e.observe(now, rtt);
    }
}

/// Weighted P2C on Peak-EWMA cost / weight (ecosystem-perf).
pub struct Weighted {
    ewma: PeakEwma,
    weights: Vec<f64>,
    cumulative: Vec<f64>,
}

impl Weighted {
    /// Over `n` nodes at neutral weight.
    pub fn new(n: usize, initial_rtt_us: f64) -> Self {
        let mut w = Weighted {
            ewma: PeakEwma::new(n, initial_rtt_us),
            weights: Vec::new(),
            cumulative: Vec::new(),
        };
        w.set_weights(&vec![1.0; n]);
        w
    }

    fn draw(&self, rng: &mut StdRng, except: Option<usize>) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0)
            - except.map_or(0.0, |e| self.weights[e]);
        let mut u = rng.random::<f64>() * total;
        for (i, w) in self.weights.iter().enumerate() {
            if Some(i) == except {
                continue;
            }
            if u < *w {
                return i;
            }
            u -= w;
        }
        (0..self.weights.len())
            .rev()
            .find(|i| Some(*i) != except)
            .unwrap_or(0)
    }
}

impl Router for Weighted {
    fn name(&self) -> &'static str {
        "ecosystem-perf"
    }
    fn pick(&mut self, now: u64, rng: &mut StdRng) -> usize {
        let a = self.draw(rng, None);
        let b = self.draw(rng, Some(a));
        let cost = |k: usize| self.ewma.nodes[k].cost(now) / self.weights[k];
        let k = if cost(b) < cost(a) { b } else { a };
        self.ewma.nodes[k].pending += 1;
        k
    }
    fn done(&mut self, node: usize, now: u64, rtt: u64, ok: bool) {
        self.ewma.done(node, now, rtt, ok);
    }
    fn set_weights(&mut self, weights: &[f64]) {
        self.weights = weights.iter().map(|w| w.max(1e-3)).collect();
        let mut acc = 0.0;
        self.cumulative = self
            .weights
            .iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
    }
}
