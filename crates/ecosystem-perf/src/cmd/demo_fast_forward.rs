//! `demo --fast-forward`: the progress of playing history unpaced — one line per simulated
//! day with the events applied, the process's resident memory, the memory the server
//! accounts for and what the allocator holds (the long-run memory figures in BENCHMARKS.md
//! come from these lines).

use perf_server::AppState;
use std::time::Instant;

const DAY: i64 = 86_400_000;

/// Progress of a fast-forward that started at simulated `start`.
pub struct Progress {
    start: i64,
    next_day: i64,
    began: Instant,
}

impl Progress {
    /// Progress from simulated `start`.
    pub fn new(start: i64) -> Progress {
        eprintln!(
            "fast-forward: playing from {} to now",
            perf_core::time::format_rfc3339(start)
        );
        Progress {
            start,
            next_day: 1,
            began: Instant::now(),
        }
    }

    /// Prints a line for each simulated day completed by `now`.
    pub fn observe(&mut self, state: &AppState, now: i64) {
        if now - self.start >= self.next_day * DAY {
            self.line(state, &format!("day {}", self.next_day));
            self.next_day += 1;
        }
    }

    /// Prints the last line and the largest components.
    pub fn finish(&mut self, state: &AppState, now: i64) {
        let hours = (now - self.start) as f64 / 3_600_000.0;
        self.line(
            state,
            &format!("caught up after {hours:.1} simulated hours"),
        );
        let mut parts = state.memory().components;
        parts.sort_by_key(|p| std::cmp::Reverse(p.bytes));
        let top: Vec<String> = parts
            .iter()
            .take(6)
            .map(|p| format!("{} {:.1} MiB", p.component, mib(p.bytes)))
            .collect();
        eprintln!("fast-forward: largest components: {}", top.join(", "));
    }

    fn line(&self, state: &AppState, what: &str) {
        let events = state.durable.engine().counters.events;
        let memory = state.memory();
        let heap = match crate::allocator::heap() {
            Some(h) => format!(
                " · allocated {:.1} MiB (in active pages {:.1}, allocator metadata {:.1}, allocator resident {:.1})",
                mib(h.allocated),
                mib(h.active),
                mib(h.metadata),
                mib(h.resident)
            ),
            None => String::new(),
        };
        eprintln!(
            "fast-forward: {what} · {events} events in {:.0} s · RSS {:.1} MiB · accounted {:.1} MiB{heap}",
            self.began.elapsed().as_secs_f64(),
            mib(memory.rss_bytes.unwrap_or(0)),
            mib(memory.total()),
        );
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
