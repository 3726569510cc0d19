//! The degradation ladder of one service: L0 normal, L1 shed batch, L2 cache fallback for
//! cacheable reads, L3 defer non-critical writes, L4 essential only.
//!
//! **Up in one move.** Each evaluation finds the highest level any of whose thresholds a
//! signal meets (the burn rate; the share of requests over their class's p99 budget in units
//! of 1 %, so 1 means p99 at its budget; load — each read from the last 10 s when they hold
//! enough requests, see the policy stage). Once the signals have asked for a higher level than
//! the current one for `confirm` (20 s), the ladder goes to the highest level they asked for
//! in that time: a step onset, which a window shows at part of its height until it has
//! filled, is taken in one move instead of level by level, a signal wavering at a threshold
//! is taken at its top, and a single evaluation's blip moves nothing.
//! **Escalating takes the band.** From L0 a level is entered at its thresholds; a ladder
//! already degraded climbs further only when a signal reaches the next level's thresholds
//! ÷ `recoverFactor` (1.25 × by default) — the band that holds a level on the way down, now
//! on the way up. A signal hovering at a threshold is read every evaluation, so its lower
//! bound crosses the threshold now and then during a long incident; without the band, the
//! demo's qflow surge (slow share measured about 2.3 %, L2 at 2 %) went L0 → L1 and L1 → L2 a
//! minute later in one of six hours.
//! **Down in one move, after a dwell.** A level is left only when every signal has stayed
//! under `recoverFactor` (0.8) of that level's thresholds for `dwell` (15 s), and at least
//! `dwell` after the level was entered; the ladder then goes to the highest level the signals
//! reached at `recoverFactor` in the calm's evaluations from `confirm` after it began (the
//! climb's mirror: by then the windows no longer hold what made the level), so a level comes
//! down to L0 in one move when the incident is over, and no lower than the load still asks.
//! The climb reads the signals' one-sided 95 % lower bounds (a level is entered on evidence),
//! the calm test their point estimates (a level is left when the measured burn or slow share
//! itself is under the band, not merely no longer provably above the threshold): a service
//! whose slow share hovers at a threshold stays at the level instead of leaving it whenever
//! its lower bound dips. Where a descent lands is judged on evidence again (the lower bounds
//! at the band), so one noisy 10-s estimate does not stop it a level short. So the ladder never changes level more often than once per dwell on
//! the way down, and a signal hovering at a threshold does not flap it (the 20 % band). Missing signals (no SLO, no capacity) do not count
//! either way. **Flapping waits longer.** The dwell doubles with every climb begun within
//! `flapWindow` (1 h) before, up to `maxDwellFactor` (16) times: a ladder pushed up again and
//! again by a signal that comes and goes stays up instead of stepping down and back every few
//! minutes.

use super::config::LadderConfig;
use serde::Serialize;

/// The level names, L0–L4.
pub const LEVEL_NAMES: [&str; 5] = [
    "normal",
    "shed_batch",
    "cache_fallback",
    "defer_writes",
    "essential_only",
];

/// The signals of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LadderSignals {
    /// Fastest 5-minute burn rate among the service's SLOs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burn_rate: Option<f64>,
    /// Share of requests over their class's p99 budget / 1 % (1 = p99 at its budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_ratio: Option<f64>,
    /// Load against capacity or the concurrency limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
    /// The burn rate's point estimate, against which calm is judged (`burn_rate` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burn_rate_estimate: Option<f64>,
    /// The slow ratio's point estimate, against which calm is judged (`slow_ratio` when
    /// absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_ratio_estimate: Option<f64>,
}

/// The slow-ratio signal of a window: the one-sided 95 % Wilson lower bound of the share of
/// `slow` among `requests`, in units of the 1 % a p99 allows; `None` (no evidence either way)
/// below `min_requests` requests. One slow request of one is not "100 % slow".
pub fn slow_ratio_signal(slow: u64, requests: u64, min_requests: u64) -> Option<f64> {
    (requests > 0 && requests >= min_requests)
        .then(|| crate::compare::proportion::wilson(slow, requests, 1.645).0 / 0.01)
}

/// The slow share of a window in units of 1 %, as measured (the calm test's reading: a level
/// is left when the share itself, not only its lower bound, is under the band); `None` below
/// `min_requests` requests.
pub fn slow_ratio_estimate(slow: u64, requests: u64, min_requests: u64) -> Option<f64> {
    (requests > 0 && requests >= min_requests).then(|| slow as f64 / requests as f64 / 0.01)
}

/// The burn rate of a window as measured (the calm test's reading); `None` below
/// `min_requests` events.
pub fn burn_rate_estimate(bad: u64, events: u64, objective: f64, min_requests: u64) -> Option<f64> {
    let allowed = 1.0 - objective;
    (events > 0 && events >= min_requests && allowed > 0.0)
        .then(|| bad as f64 / events as f64 / allowed)
}

/// The burn-rate signal of a window: the one-sided 95 % Wilson lower bound of its bad share
/// over the share the objective allows (`bad` of `events`); `None` below `min_requests`
/// events. A few failures among few requests do not read as a fast burn.
pub fn burn_rate_signal(bad: u64, events: u64, objective: f64, min_requests: u64) -> Option<f64> {
    let allowed = 1.0 - objective;
    (events > 0 && events >= min_requests && allowed > 0.0)
        .then(|| crate::compare::proportion::wilson(bad, events, 1.645).0 / allowed)
}

/// What the ladder's alert does after an evaluation ([`Ladder::alert_change`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertChange {
    /// Nothing to send.
    Nothing,
    /// The level reached `alertFrom`: the alert fires.
    Fire,
    /// The level moved between alert levels (L2–L4) while the alert is open: the same alert,
    /// updated. A dip under `alertFrom` and back to the announced level within the dwell
    /// sends nothing.
    Update,
    /// The level has been under `alertFrom` for the dwell: the alert resolves.
    Resolve,
}

/// A change of level.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// Level before.
    pub from: u8,
    /// Level after.
    pub to: u8,
    /// Why, e.g. `burnRate 250.0 ≥ 100.0`.
    pub reason: String,
}

/// How many level changes a ladder remembers ([`Ladder::history`]).
pub const HISTORY: usize = 32;

/// A change of level with its time, as `GET /v1/degradation` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PastTransition {
    /// When (engine ms).
    #[serde(serialize_with = "crate::time::serde_rfc3339::serialize")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: i64,
    /// Level before.
    pub from: u8,
    /// Level after.
    pub to: u8,
    /// Why.
    pub reason: String,
}

/// One service's ladder.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ladder {
    /// Current level, 0–4.
    pub level: u8,
    /// When the current level was entered (engine ms).
    #[serde(serialize_with = "crate::time::serde_rfc3339::serialize")]
    pub since: i64,
    /// Since when every signal has been calm enough to step down.
    #[serde(skip)]
    calm_since: Option<i64>,
    /// The highest level the signals reached at `recoverFactor` in the calm's evaluations
    /// from `confirm` after it began (none yet: `None`).
    #[serde(skip)]
    calm_floor: Option<u8>,
    /// Since when the signals have asked for a higher level.
    #[serde(skip)]
    rising_since: Option<i64>,
    /// The highest level they asked for since then, with its reason.
    #[serde(skip)]
    rising_peak: (u8, String),
    /// When the ladder climbed, within `flapWindow` (each climb, from L0 or from a level it
    /// came down to).
    #[serde(skip)]
    ups: std::collections::VecDeque<i64>,
    /// The dwell in force: `dwell` doubled per recent entry (see [`Ladder::dwell`]).
    pub dwell_ms: i64,
    /// Whether the ladder's alert is open (a level at or above `alertFrom`).
    #[serde(skip)]
    alerting: bool,
    /// Since when the level has been under `alertFrom` while the alert is open.
    #[serde(skip)]
    below_since: Option<i64>,
    /// The level the open alert last announced.
    #[serde(skip)]
    announced: u8,
    /// Level changes since the ladder was made (`ecosystem_perf_degradation_transitions_total`).
    #[serde(skip)]
    pub transitions: u64,
    /// The last [`HISTORY`] level changes, oldest first.
    #[serde(skip)]
    pub history: std::collections::VecDeque<PastTransition>,
    /// The reason of the last transition.
    pub reason: String,
    /// The signals of the last evaluation.
    pub signals: LadderSignals,
}

impl Ladder {
    /// A ladder at L0.
    pub fn new(now_ms: i64) -> Self {
        Ladder {
            level: 0,
            since: now_ms,
            calm_since: None,
            calm_floor: None,
            rising_since: None,
            rising_peak: (0, String::new()),
            ups: std::collections::VecDeque::new(),
            dwell_ms: 0,
            alerting: false,
            below_since: None,
            announced: 0,
            transitions: 0,
            history: std::collections::VecDeque::new(),
            reason: "normal operation".into(),
            signals: LadderSignals::default(),
        }
    }

    /// The level's name.
    pub fn name(&self) -> &'static str {
        LEVEL_NAMES[self.level as usize]
    }

    /// The highest level the signals ask for at `factor` × the thresholds, with the reason:
    /// their lower bounds (to climb, and where to land coming down) or their point estimates
    /// (`estimates`: to stay).
    fn wanted(
        signals: &LadderSignals,
        config: &LadderConfig,
        factor: f64,
        estimates: bool,
    ) -> (u8, String) {
        let (burn, slow) = if estimates {
            (
                signals.burn_rate_estimate.or(signals.burn_rate),
                signals.slow_ratio_estimate.or(signals.slow_ratio),
            )
        } else {
            (signals.burn_rate, signals.slow_ratio)
        };
        let mut out = (0u8, String::new());
        for (i, t) in config.levels.iter().enumerate() {
            let checks = [
                ("burnRate", burn, t.burn_rate),
                ("slowRatio", slow, t.slow_ratio),
                ("utilization", signals.utilization, t.utilization),
            ];
            if let Some((name, v, th)) = checks
                .iter()
                .find_map(|(n, v, th)| v.filter(|v| *v >= th * factor).map(|v| (*n, v, *th)))
            {
                out = ((i + 1) as u8, format!("{name} {v:.2} ≥ {:.2}", th * factor));
            }
        }
        out
    }

    /// The alert after an evaluation: levels under
    /// `alertFrom` are not alerts; an open alert resolves only once the level has stayed
    /// under `alertFrom` for the dwell, so a level left and re-entered within it updates the
    /// alert instead of resolving it and firing it again.
    pub fn alert_change(&mut self, now_ms: i64, config: &LadderConfig) -> AlertChange {
        if self.level >= config.alert_from {
            self.below_since = None;
            let was = std::mem::replace(&mut self.announced, self.level);
            if !self.alerting {
                self.alerting = true;
                return AlertChange::Fire;
            }
            return if was != self.level {
                AlertChange::Update
            } else {
                AlertChange::Nothing
            };
        }
        if !self.alerting {
            return AlertChange::Nothing;
        }
        let below = *self.below_since.get_or_insert(now_ms);
        if now_ms - below >= self.dwell_ms.max(config.dwell) {
            self.alerting = false;
            self.below_since = None;
            return AlertChange::Resolve;
        }
        AlertChange::Nothing
    }

    /// The dwell at `now_ms`: `dwell` × 2^(episodes begun within `flapWindow` − 1), at most
    /// `maxDwellFactor` × `dwell`.
    pub fn dwell(&mut self, now_ms: i64, config: &LadderConfig) -> i64 {
        while self
            .ups
            .front()
            .is_some_and(|t| now_ms - t > config.flap_window)
        {
            self.ups.pop_front();
        }
        let doublings = self.ups.len().saturating_sub(1).min(30) as i32;
        let factor = 2f64.powi(doublings).min(config.max_dwell_factor);
        (config.dwell as f64 * factor) as i64
    }

    /// Applies one evaluation at `now_ms`; the transition, if any.
    pub fn update(
        &mut self,
        signals: LadderSignals,
        now_ms: i64,
        config: &LadderConfig,
    ) -> Option<Transition> {
        self.signals = signals;
        // From L0 a level is entered at its thresholds; a degraded ladder, already protecting
        // the service, escalates only on a signal past the band above them (÷ recoverFactor,
        // the band that holds a level on the way down): a share hovering at the next level's
        // threshold, whose lower bound crosses it in some of the incident's many evaluations,
        // does not add a move.
        let band = if self.level == 0 {
            1.0
        } else {
            1.0 / config.recover_factor
        };
        let (wanted, reason) = Self::wanted(&signals, config, band, false);
        if wanted > self.level {
            self.calm_since = None;
            // Up once the signals have asked for more for `confirm`, to the most they asked
            // for in that time: a step onset is taken in one move, not level by level as its
            // windows fill, and a signal wavering at a threshold is taken at its top.
            if self.rising_since.is_none() {
                self.rising_peak = (0, String::new());
            }
            let rising = *self.rising_since.get_or_insert(now_ms);
            if wanted >= self.rising_peak.0 {
                self.rising_peak = (wanted, reason);
            }
            if now_ms - rising < config.confirm {
                self.dwell_ms = self.dwell(now_ms, config);
                return None;
            }
            self.rising_since = None;
            self.ups.push_back(now_ms);
            self.dwell_ms = self.dwell(now_ms, config);
            let (to, reason) = std::mem::take(&mut self.rising_peak);
            return Some(self.change(to, reason, now_ms));
        }
        self.rising_since = None;
        let dwell = self.dwell(now_ms, config);
        self.dwell_ms = dwell;
        if self.level == 0 {
            return None;
        }
        // Calm: nothing reaches recoverFactor × the current level's thresholds.
        let (still, _) = Self::wanted(&signals, config, config.recover_factor, true);
        if still >= self.level {
            self.calm_since = None;
            return None;
        }
        if self.calm_since.is_none() {
            self.calm_floor = None;
        }
        let calm_since = *self.calm_since.get_or_insert(now_ms);
        // The first `confirm` of the calm is the windows' tail of what made the level (the
        // climb's mirror); after it, the highest level the signals still reach is the floor.
        if now_ms - calm_since >= config.confirm {
            // Where to land is judged like a climb, on evidence: the lower bounds at the band.
            let (floor, _) = Self::wanted(&signals, config, config.recover_factor, false);
            self.calm_floor = Some(self.calm_floor.unwrap_or(0).max(floor));
        }
        if now_ms - calm_since < dwell || now_ms - self.since < dwell {
            return None;
        }
        // Down in one move, to that floor: every level above it was calm for the dwell.
        let to = self.calm_floor?;
        self.calm_floor = None;
        let reason = format!(
            "calm for {} s: every signal under {:.0} % of L{}'s thresholds",
            (now_ms - calm_since) / 1000,
            config.recover_factor * 100.0,
            to + 1
        );
        self.calm_since = None;
        Some(self.change(to, reason, now_ms))
    }

    /// Moves to `to`, remembering the change.
    fn change(&mut self, to: u8, reason: String, now_ms: i64) -> Transition {
        let t = Transition {
            from: self.level,
            to,
            reason,
        };
        self.level = to;
        self.since = now_ms;
        self.transitions += 1;
        self.reason = t.reason.clone();
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(PastTransition {
            at: now_ms,
            from: t.from,
            to: t.to,
            reason: t.reason.clone(),
        });
        t
    }
}
