//! Memory of the shapes of past surprising events, so that an event the series has already
//! shown is not reported again.
//!
//! Operators (and NAB's labellers) call "anomalous" what a series has not done before: a
//! nightly backup spike is news the first night, not the thirtieth. The residual detector
//! alone flags every repetition, because each one is far from the prediction. Here, each time
//! the detector finds a point surprising, the shape of the last [`WIDTH`] points around it —
//! each point's distance from the window's median in units of the series' typical residual,
//! compressed so that ordinary noise reads as 0 and large deviations compare by ratio — is
//! compared with the shapes of earlier surprising moments. A close match means "seen before":
//! the detector lowers the score instead of raising an alert, and the memory keeps the
//! shape as recently seen. Only surprising moments are compared and stored, so the cost is
//! nothing on ordinary points and `CAPACITY × WIDTH` comparisons on the rare others.
//!
//! State: `CAPACITY × WIDTH` f32 signatures, their last use, and a ring of the last `WIDTH`
//! values: about 1.9 KB.

use serde::{Deserialize, Serialize};

/// Points in a shape (the surprising point and the ones before it).
pub const WIDTH: usize = 12;
/// Shapes remembered; the least recently seen one is forgotten first.
pub const CAPACITY: usize = 32;
/// Deviations up to this many typical residuals count as noise in a shape.
const NOISE: f64 = 4.0;
/// Two shapes match when no point differs by more than this on the compressed scale
/// (`ln(1 + excess)`: 0.7 is about a factor of two in the excess over noise).
const MATCH: f64 = 0.7;
/// A shape needs a point at least this far (compressed: `ln 3`, a point 6 typical residuals
/// off, the detector's bar for an alert).
const DISTINCT: f64 = 1.0986;

/// The compressed deviation of one point.
fn compress(z: f64) -> f32 {
    let excess = (z.abs() - NOISE).max(0.0);
    (z.signum() * (1.0 + excess).ln()) as f32
}

/// A shape with a point clearly beyond noise (a sustained moderate change has none: it is
/// judged on its own, never matched).
fn distinct(shape: &[f32]) -> bool {
    shape.iter().any(|v| v.abs() as f64 >= DISTINCT)
}

/// Shapes of past surprising moments, plus the recent values to build the current one from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventMemory {
    recent: Vec<f64>,
    head: usize,
    /// Remembered shapes, `WIDTH` values each, one after the other.
    shapes: Vec<f32>,
    last_seen: Vec<u64>,
}

impl Default for EventMemory {
    fn default() -> Self {
        EventMemory {
            recent: vec![f64::NAN; WIDTH],
            head: 0,
            shapes: Vec::new(),
            last_seen: Vec::new(),
        }
    }
}

impl EventMemory {
    /// Bytes of state at full memory: the ring of recent values, the shapes and their last
    /// use (heap), and the struct itself.
    pub const STATE_BYTES: usize =
        WIDTH * 8 + CAPACITY * (WIDTH * 4 + 8) + std::mem::size_of::<EventMemory>();

    /// Heap bytes now: the ring of recent values and the shapes remembered so far.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::vec;
        vec(&self.recent) + vec(&self.shapes) + vec(&self.last_seen)
    }

    /// Records a value (call for every point, after judging it).
    pub fn push(&mut self, x: f64) {
        self.recent[self.head] = x;
        self.head = (self.head + 1) % WIDTH;
    }

    /// The shape of the newest point `x` and the `WIDTH − 1` before it: each point's
    /// distance from the window's median in units of `scale`.
    pub fn shape(&self, x: f64, scale: f64) -> Vec<f32> {
        let mut window = Vec::with_capacity(WIDTH);
        window.push(x);
        for back in 1..WIDTH {
            let v = self.recent[(self.head + WIDTH - back) % WIDTH];
            window.push(if v.is_nan() { x } else { v });
        }
        let mut sorted = window.clone();
        sorted.sort_by(f64::total_cmp);
        let median = 0.5 * (sorted[(WIDTH - 1) / 2] + sorted[WIDTH / 2]);
        window
            .iter()
            .map(|v| compress((v - median) / scale))
            .collect()
    }

    /// How new `shape` is: the smallest largest-pointwise difference to a remembered shape
    /// divided by the match distance (below 1: seen before), or `None` with no memory yet.
    pub fn novelty(&self, shape: &[f32]) -> Option<f64> {
        if !distinct(shape) {
            return None;
        }
        self.nearest(shape).map(|(_, d)| d / MATCH)
    }

    fn nearest(&self, shape: &[f32]) -> Option<(usize, f64)> {
        self.shapes
            .chunks_exact(WIDTH)
            .enumerate()
            .map(|(k, s)| {
                let d = s
                    .iter()
                    .zip(shape)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                (k, d as f64)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Remembers `shape` seen at point `n`: refreshes the matching shape, or stores it in
    /// place of the least recently seen one.
    pub fn learn(&mut self, shape: Vec<f32>, n: u64) {
        if !distinct(&shape) {
            return;
        }
        match self.nearest(&shape) {
            Some((k, d)) if d < MATCH => {
                let stored = &mut self.shapes[k * WIDTH..(k + 1) * WIDTH];
                for (a, b) in stored.iter_mut().zip(&shape) {
                    *a += 0.5 * (b - *a);
                }
                self.last_seen[k] = n;
            }
            _ if self.last_seen.len() < CAPACITY => {
                self.shapes.extend_from_slice(&shape);
                self.last_seen.push(n);
            }
            _ => {
                let oldest = (0..self.last_seen.len())
                    .min_by_key(|&k| self.last_seen[k])
                    .unwrap_or(0);
                self.shapes[oldest * WIDTH..(oldest + 1) * WIDTH].copy_from_slice(&shape);
                self.last_seen[oldest] = n;
            }
        }
    }
}
