//! "The last 5 minutes" as bucket bounds: the window ends at the end of the finest bucket
//! holding `now` and spans `length` rounded to whole finest buckets, so rates divide by the
//! time the window really covers (`now − from`), not by the nominal length.

/// A query window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First bucket start included (unix ms).
    pub from: i64,
    /// End (exclusive).
    pub to: i64,
    /// Milliseconds of data the window covers up to now (for rates).
    pub covered_ms: i64,
}

impl Window {
    /// The window of nominal `length` ending at `now`, on buckets `width` wide.
    pub fn last(now: i64, length: i64, width: i64) -> Window {
        let to = now
            .div_euclid(width)
            .saturating_mul(width)
            .saturating_add(width);
        let span = length.max(width).div_euclid(width).saturating_mul(width);
        let from = to.saturating_sub(span);
        Window {
            from,
            to,
            covered_ms: now.saturating_sub(from).saturating_add(1).max(1),
        }
    }

    /// Events per second for `count` events in this window.
    pub fn rate(&self, count: u64) -> f64 {
        count as f64 * 1000.0 / self.covered_ms as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_whole_buckets_up_to_now() {
        let w = Window::last(1_000_005_000, 60_000, 10_000);
        assert_eq!(w.to, 1_000_010_000);
        assert_eq!(w.from, 1_000_010_000 - 60_000);
        assert_eq!(w.covered_ms, 55_001);
    }
}
