//! A streaming, causal anomaly detector for one series: O(1) work and a fixed few KB of state
//! per series, whatever its length.
//!
//! **Prediction.** Four predictors run side by side: the last value (follows level shifts and
//! trends at once), an exponentially weighted level, a daily profile and a weekly profile
//! (exponentially weighted value per phase bin of the day — 96 bins — and of the week — 168
//! hourly bins; phases come from the timestamps, so gaps do not shift them). Each predictor's
//! mean absolute error is tracked; the point is judged against the predictor that has been
//! the most accurate lately, so a series uses its daily or weekly seasonality exactly when the
//! data support it (period detection by competition, O(1) per point).
//!
//! **Surprise.** The residual over a robust running scale (the winsorised mean absolute
//! residual) gives a raw surprise per point. As in Numenta's anomaly likelihood, a short
//! average of the surprise is compared with its long-run distribution (mean and variance,
//! exponentially weighted over ~1,000 points); the Gaussian tail probability `q` of the short
//! average becomes the score `anomaly_score = log(q) / log(1e−10)` clipped to [0, 1]: 0.5
//! means "as unlikely as 1 in 100,000 under the recent behaviour", 1 means 1 in 10^10. A
//! spike raises the short average at once; a level shift raises it at the step (the last-value
//! predictor then absorbs it); a variance increase or broken seasonality raises it for as long
//! as the running scale and the profiles take to adapt.
//!
//! A medium average of the surprise (~20 points) is judged the same way, so a sustained
//! moderate change that never stands out point by point still does; the smaller of the two
//! tail probabilities makes the score.
//!
//! **Novelty.** Two things decide whether a surprising moment is news:
//! - [`EventMemory`]: the shape of the last 12 points around a
//!   surprising moment is compared with the shapes of earlier ones; a match (seen before: the
//!   nightly backup spike, a batch job's burst) scales the score down by how close it is. A
//!   spike shaped like nothing before keeps its score.
//! - [`Records`]: a value beyond the series' whole range, 2 % of the
//!   range past a record that stood for two days, is given at least score 0.6 (tail 1e−6)
//!   even when no single step is surprising (a slow climb to a level never seen).
//!
//! **Percentile.** The score's tail probability is computed under a Gaussian approximation,
//! so on heavy-tailed or count data it overstates rarity: the same 0.5 is once a week on
//! one series and once a day on another. Each point therefore also gets its `percentile`:
//! the share of the series' own recent points (exponentially decayed over ~5,000 points,
//! [`ScoreRank`]) that scored lower. It means the same on every shape: 0.5 is the series'
//! median moment, 0.9 its top 10 %, 0.99 its top 1 %, 0.999 its top 0.1 % (once in ~3.5
//! days of 5-minute points). Tested: on Gaussian, lognormal, Poisson, overdispersed and
//! irregularly sampled series without anomalies, 0.5–2 % of the points reach 0.99.
//!
//! **Decision.** A point is flagged when its score reaches the sensitivity threshold (0.5 by
//! default) and, for the boolean `is_anomaly`, it also needs evidence that stands on its own:
//! a recent point at least 6 typical residuals off, or a climb that goes on setting records
//! (the first record of a run alone is only a score), and a percentile of at least 0.999,
//! so a series whose scores run high by its shape alerts only on its own rarest moments. The
//! score is what a benchmark's threshold sweep reads; the boolean is what raises alerts.
//!
//! **Rarity.** The percentile cannot tell 1 in 10,000 from 1 in 2,000 (it remembers ~5,000
//! points), and on heavy-tailed or count series a point 6 residuals off comes every few days.
//! So an alert also needs the moment to be rare on the series' own tail, extrapolated
//! ([`SurpriseTail`]: a power law fitted to the series' surprises past 3 typical residuals):
//! the recent largest surprise, or the short average of a burst, at a level the series
//! reaches less than once in `1 / alertTail` points (~14,000) — or a climb out of the range
//! when no climb alerted in the last 10,000 points (a random walk leaves its range now and
//! then; that is not news each time). A flag that lacks only rarity may still alert within
//! its 45 rest points if the evidence grows (a burst shows its size over several points);
//! that late alert carries the flag's score and percentile. The tails do not learn from
//! alerts and from those waits, and a close repeat of a remembered event teaches them only
//! its discounted surprise (`tailRepeat`), so a series' nightly spikes do not make it deaf
//! to a new burst. Measured on 15 synthetic shapes × 60 seeded draws: every shape without
//! anomalies alerts under once per 10,000 points on average (BENCHMARKS.md).
//!
//! **Debouncing.** After a point is flagged, scores are held at zero for 45 points, so one
//! incident is one alert.
//!
//! **Parameters.** Every constant above is a field of [`Tuning`]; the product runs
//! `Tuning::default()` on every series. Calibration stages are candidates of the tuning
//! protocol (`scripts/nab_loco.py`), off by default because the measurements in BENCHMARKS.md
//! do not (yet) pay for them: a normal-score transform of the point surprises, for
//! the score (`surpriseWindow`) or only for an alert's evidence (`alertSurpriseWindow`), in
//! [`super::calibration`]; and raising the tails of a series that has had more small tails
//! than nominal (`exceedancePrior`, `exceedanceTail`), which trades the NAB subset for heavy
//! tailed shapes (figures in BENCHMARKS.md).
//!
//! State: 264 profile bins (f32 + a seen flag), ~50 scalars, 32 remembered shapes of 12 f32
//! and a ring of 12 values, the percentile's 40 bins, two tails of four f32, and the
//! parameters: 4,088 bytes (`Detector::STATE_BYTES`, ≤ 4 KB checked in tests; a surprise
//! calibrator, when on, adds 300 bytes on the heap).

use super::calibration::{ScoreRank, SurpriseCalibrator};
use super::novelty::EventMemory;
use super::records::{News, Records};
use super::surprise_tail::SurpriseTail;
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;
const DAY_BINS: usize = 96;
const WEEK_BINS: usize = 168;
/// Predictors: last value, level, daily profile, weekly profile.
const PREDICTORS: usize = 4;
/// A climb out of the range is rare when no other climb alerted within this many points.
const RECORD_RARITY: u64 = 10_000;
/// Per-phase exponentially weighted values.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Profile {
    /// f32: a profile is a smoothed level, 7 significant digits are plenty, and the state
    /// stays under 4 KB.
    values: Vec<f32>,
    seen: Vec<bool>,
    span_ms: i64,
}

impl Profile {
    fn new(bins: usize, span_ms: i64) -> Self {
        Profile {
            values: vec![0.0; bins],
            seen: vec![false; bins],
            span_ms,
        }
    }

    fn bin(&self, ts_ms: i64) -> usize {
        let phase = ts_ms.rem_euclid(self.span_ms) as f64 / self.span_ms as f64;
        ((phase * self.values.len() as f64) as usize).min(self.values.len() - 1)
    }

    fn predict(&self, ts_ms: i64) -> Option<f64> {
        let b = self.bin(ts_ms);
        self.seen[b].then_some(f64::from(self.values[b]))
    }

    fn update(&mut self, ts_ms: i64, x: f64, alpha: f64) {
        let b = self.bin(ts_ms);
        if self.seen[b] {
            let v = f64::from(self.values[b]);
            self.values[b] = (v + alpha * (x - v)) as f32;
        } else {
            self.values[b] = x as f32;
            self.seen[b] = true;
        }
    }
}

/// Settings (one configuration for every series).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct DetectorConfig {
    /// Score at and above which a point is an anomaly.
    pub threshold: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig { threshold: 0.5 }
    }
}

/// The detector's parameters. The product runs [`Tuning::default`] on every series (one
/// configuration for all); the type is public so the tuning protocol
/// (`examples/anomaly_tune.rs`, `scripts/nab_loco.py`) can score others.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Tuning {
    /// Points before any score is given (the running statistics are meaningless before).
    pub warmup: u64,
    /// Floor of the long-run standard deviation of the surprise.
    pub min_spread: f64,
    /// Weight of a new point in the short average of the surprise (a few points).
    pub short_alpha: f64,
    /// Weight of a new point in the medium average (~20 points).
    pub medium_alpha: f64,
    /// Floor of the long-run standard deviation of the medium average.
    pub min_medium_spread: f64,
    /// An alert needs a recent point this many typical residuals off (≈ 4.8 σ for Gaussian
    /// noise).
    pub min_alert_surprise: f64,
    /// How fast the recent largest surprise fades (per point).
    pub peak_decay: f64,
    /// Tail probability given to a record that counts (score 0.6).
    pub record_tail: f64,
    /// Scores from which a moment's shape is compared with earlier ones and remembered.
    pub learn_level: f64,
    /// Points after an alert during which scores are held at zero.
    pub refractory_points: u32,
    /// Points of the series' own history its point surprises are made Gaussian-shaped on
    /// ([`super::calibration::SurpriseCalibrator`]); 0 leaves them as they are.
    pub surprise_window: f64,
    /// The same normal-score transform, used only for the evidence an alert needs (a point
    /// `minAlertSurprise` typical residuals off), not for the score; 0 leaves it raw.
    pub alert_surprise_window: f64,
    /// Pseudo-points of a prior at the nominal rate for the rate of this series' own points
    /// with a tail under `exceedance_tail`; when the series has had more of them than
    /// nominal, its tails are raised by the ratio (0: off).
    pub exceedance_prior: f64,
    /// The tail level whose frequency `exceedance_prior` watches.
    pub exceedance_tail: f64,
    /// Points of the series' own history a score's percentile is measured on.
    pub rank_window: f64,
    /// An alert also needs the point's percentile among the series' own recent scores to
    /// reach this (0: no such condition).
    pub alert_percentile: f64,
    /// An alert also needs its recent largest surprise to be this rare on the series' own
    /// extrapolated tail ([`super::surprise_tail::SurpriseTail`]: the share of its points
    /// expected that far off); 0: no such condition.
    pub alert_tail: f64,
    /// A surprising moment whose shape matches a remembered one this closely (its novelty,
    /// the distance over the match distance, below this) is a repeat of a known event and
    /// teaches the tails only its discounted surprise (0: every moment teaches in full).
    pub tail_repeat: f64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            warmup: 30,
            min_spread: 0.25,
            short_alpha: 0.4,
            medium_alpha: 0.05,
            min_medium_spread: 0.05,
            min_alert_surprise: 6.0,
            peak_decay: 0.9,
            record_tail: 1e-6,
            learn_level: 0.3,
            refractory_points: 45,
            surprise_window: 0.0,
            alert_surprise_window: 0.0,
            exceedance_prior: 0.0,
            exceedance_tail: 1e-4,
            rank_window: 5_000.0,
            alert_percentile: 0.999,
            alert_tail: 7e-5,
            tail_repeat: 0.3,
        }
    }
}

/// One scored point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// In [0, 1]; see the module doc.
    pub score: f64,
    /// The share of this series' recent points (~`rankWindow`) that scored lower: 0.99 is
    /// "higher than 99 % of them" on every shape. 0 while warming up.
    pub percentile: f64,
    /// An alert: `score >= threshold` with the evidence and rarity of the module doc's
    /// "Decision" and "Rarity" (a late alert carries its flag's score and percentile).
    pub is_anomaly: bool,
    /// What the point was compared with.
    pub expected: f64,
}

/// The detector of one series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detector {
    config: DetectorConfig,
    tuning: Tuning,
    n: u64,
    last_ts: Option<i64>,
    prev: f64,
    level: f64,
    magnitude: f64,
    daily: Profile,
    weekly: Profile,
    err: [f64; PREDICTORS],
    scale: f64,
    long_mean: f64,
    long_var: f64,
    short: f64,
    medium: f64,
    med_mean: f64,
    med_var: f64,
    refractory_left: u32,
    peak: f64,
    events: EventMemory,
    records: Records,
    /// Boxed: off by default, so they cost a pointer each.
    surprises: Option<Box<SurpriseCalibrator>>,
    alert_surprises: Option<Box<SurpriseCalibrator>>,
    rank: ScoreRank,
    /// The series' own tail of the alert's evidence, extrapolated.
    #[serde(default)]
    tail: SurpriseTail,
    /// The same for the short average of the surprise (a burst of several points).
    #[serde(default)]
    short_tail: SurpriseTail,
    /// The point of the latest alert during a climb out of the range (0: none).
    #[serde(default)]
    record_alert: u64,
    /// Points left in which a flag that lacked only rarity can still become an alert, and
    /// that flag's score and percentile.
    #[serde(default)]
    pending: u32,
    #[serde(default)]
    pending_flag: [f32; 2],
    /// Points left, after an alert, that the tails do not learn from.
    #[serde(default)]
    unlearnt: u32,
    /// Points seen after warm-up, and those with a tail under `exceedance_tail`.
    exceed_n: f64,
    exceed_k: f64,
}

impl Detector {
    /// Approximate bytes of state per series.
    pub const STATE_BYTES: usize =
        (DAY_BINS + WEEK_BINS) * 5 + std::mem::size_of::<Detector>() + EventMemory::STATE_BYTES
            - std::mem::size_of::<EventMemory>()
            + ScoreRank::HEAP_BYTES;

    /// Heap bytes now (at most [`Detector::STATE_BYTES`] less the struct): the daily and
    /// weekly profiles, the shapes remembered so far, the score rank and any calibrators.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::vec;
        let profile = |p: &Profile| vec(&p.values) + vec(&p.seen);
        let calibrator = std::mem::size_of::<SurpriseCalibrator>() + ScoreRank::HEAP_BYTES;
        profile(&self.daily)
            + profile(&self.weekly)
            + self.events.heap_bytes()
            + ScoreRank::HEAP_BYTES
            + (usize::from(self.surprises.is_some()) + usize::from(self.alert_surprises.is_some()))
                * calibrator
    }

    /// A detector with no history, with the product's parameters.
    pub fn new(config: DetectorConfig) -> Self {
        Detector::with_tuning(config, Tuning::default())
    }

    /// A detector with no history and other parameters (the tuning protocol).
    pub fn with_tuning(config: DetectorConfig, tuning: Tuning) -> Self {
        Detector {
            config,
            tuning,
            n: 0,
            last_ts: None,
            prev: 0.0,
            level: 0.0,
            magnitude: 0.0,
            daily: Profile::new(DAY_BINS, DAY_MS),
            weekly: Profile::new(WEEK_BINS, 7 * DAY_MS),
            err: [0.0; PREDICTORS],
            scale: 0.0,
            long_mean: 1.0,
            long_var: 1.0,
            short: 0.0,
            medium: 1.0,
            med_mean: 1.0,
            med_var: 0.1,
            refractory_left: 0,
            peak: 0.0,
            events: EventMemory::default(),
            records: Records::new(0.0, 0),
            surprises: (tuning.surprise_window > 0.0)
                .then(|| Box::new(SurpriseCalibrator::new(tuning.surprise_window))),
            alert_surprises: (tuning.alert_surprise_window > 0.0)
                .then(|| Box::new(SurpriseCalibrator::new(tuning.alert_surprise_window))),
            exceed_n: 0.0,
            exceed_k: 0.0,
            rank: ScoreRank::new(tuning.rank_window),
            tail: SurpriseTail::default(),
            short_tail: SurpriseTail::default(),
            record_alert: 0,
            pending: 0,
            pending_flag: [0.0; 2],
            unlearnt: 0,
        }
    }

    /// Points seen.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True before the first point.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn predictions(&self, ts: i64) -> [Option<f64>; PREDICTORS] {
        [
            Some(self.prev),
            Some(self.level),
            self.daily.predict(ts),
            self.weekly.predict(ts),
        ]
    }

    /// Scores a point and learns from it. A timestamp before the latest one seen is taken as
    /// that latest time (the detector's clock never goes back).
    pub fn update(&mut self, ts_ms: i64, x: f64) -> Scored {
        self.update_with_noise(ts_ms, x, 0.0)
    }

    /// [`Detector::update`] for a point known to carry sampling noise of about `noise`
    /// (a standard error, in the value's unit): residuals are measured in units of at
    /// least that. A rate of rare events is mostly zeros, so its learned scale is near zero
    /// and one event looks like a thousand typical residuals; with the sampling noise of
    /// the rate at that many trials as a floor, one error in thirty requests is three
    /// residuals and a burst of eleven is thirty.
    pub fn update_with_noise(&mut self, ts_ms: i64, x: f64, noise: f64) -> Scored {
        let ts_ms = self.last_ts.map_or(ts_ms, |last| ts_ms.max(last));
        let t = self.tuning;
        if self.n == 0 {
            self.prev = x;
            self.level = x;
            self.records = Records::new(x, ts_ms);
            self.magnitude = x.abs();
            self.daily.update(ts_ms, x, 1.0);
            self.weekly.update(ts_ms, x, 1.0);
            self.n = 1;
            self.last_ts = Some(ts_ms);
            return Scored {
                score: 0.0,
                percentile: 0.0,
                is_anomaly: false,
                expected: x,
            };
        }
        let preds = self.predictions(ts_ms);
        // The most accurate predictor so far (profiles only once they have seen this phase).
        let mut best = 0;
        for (k, p) in preds.iter().enumerate().skip(1) {
            if p.is_some() && self.err[k] < self.err[best] * 0.95 {
                best = k;
            }
        }
        let expected = preds[best].unwrap_or(self.prev);
        let residual = x - expected;
        let floor = 1e-3 * self.magnitude + 1e-9;
        let scale = self.scale.max(floor).max(noise);
        let raw_surprise = (residual.abs() / scale).min(1e3);
        let surprise = match &mut self.surprises {
            Some(c) => {
                let g = c.gaussianize(raw_surprise).min(1e3);
                if self.n >= t.warmup {
                    c.learn(raw_surprise);
                }
                g
            }
            None => raw_surprise,
        };
        // How far off this point is for the alert's evidence.
        let evidence = match &mut self.alert_surprises {
            Some(c) => {
                let g = c.gaussianize(raw_surprise).min(1e3);
                if self.n >= t.warmup {
                    c.learn(raw_surprise);
                }
                g
            }
            None => surprise,
        };

        // Short average against the long-run distribution of the surprise.
        self.short = if self.n <= 2 {
            surprise
        } else {
            self.short + t.short_alpha * (surprise - self.short)
        };
        let spread = self.long_var.sqrt().max(t.min_spread);
        let mut q = crate::compare::normal::sf((self.short - self.long_mean) / spread);
        // The medium average catches sustained, moderate surprise (variance increases,
        // broken seasonality) that never stands out point by point.
        self.medium += t.medium_alpha * (surprise.min(self.long_mean + 6.0 * spread) - self.medium);
        let medium_spread = self.med_var.sqrt().max(t.min_medium_spread);
        q = q.min(crate::compare::normal::sf(
            (self.medium - self.med_mean) / medium_spread,
        ));
        // A series that has been that surprising more often than nominal.
        if t.exceedance_prior > 0.0 && self.n >= t.warmup {
            let rate = (self.exceed_k + t.exceedance_prior * t.exceedance_tail)
                / (self.exceed_n + t.exceedance_prior);
            let raw = q;
            q = (q * (rate / t.exceedance_tail).max(1.0)).min(1.0);
            self.exceed_n += 1.0;
            self.exceed_k += f64::from(u8::from(raw < t.exceedance_tail));
        }
        // Somewhere the series has never been, after days within its range.
        let record = self.records.news(x, self.n, ts_ms);
        if record != News::None {
            q = q.min(t.record_tail);
        }
        let mut score = (q.max(1e-300).ln() / 1e-10f64.ln()).clamp(0.0, 1.0);
        if self.n < t.warmup {
            score = 0.0;
        }
        // A surprising moment shaped like an earlier one is not news.
        let mut seen_before = 1.0;
        if score >= t.learn_level {
            let shape = self.events.shape(x, scale);
            if let Some(novelty) = self.events.novelty(&shape) {
                score *= novelty.min(1.0);
                seen_before = novelty.min(1.0);
            }
            self.events.learn(shape, self.n);
        }
        if self.refractory_left > 0 {
            self.refractory_left -= 1;
            score = 0.0;
        }
        let mut percentile = if self.n < t.warmup {
            0.0
        } else {
            let p = self.rank.percentile(score);
            self.rank.learn(score);
            p
        };
        let flagged = score >= self.config.threshold;
        if flagged {
            self.refractory_left = t.refractory_points;
        }
        // The likelihood's Gaussian approximation overstates how rare a run of ordinary noise
        // is; an alert also needs a point that is itself far off (or a sustained change).
        self.peak = if flagged {
            evidence
        } else {
            self.peak.max(evidence) * t.peak_decay
        };
        let recent_peak = self.peak.max(evidence);
        // Rare on this series: far out on its extrapolated tail (a point, or a burst of
        // points), or a climb out of its range when no other climb alerted for a long time
        // (a series that keeps leaving its range, a random walk, is not news each time).
        let rare = t.alert_tail <= 0.0
            || self.tail.tail(recent_peak) <= t.alert_tail
            || self.short_tail.tail(self.short) <= t.alert_tail
            || (record == News::Continued
                && (self.record_alert == 0 || self.n - self.record_alert > RECORD_RARITY));
        let mut is_anomaly = false;
        // Points of a change that is being judged, or that alerted, do not teach the tails
        // what this series' noise looks like.
        let unlearnt = self.pending > 0 || self.unlearnt > 0;
        self.unlearnt = self.unlearnt.saturating_sub(1);
        if flagged {
            let candidate = percentile >= t.alert_percentile
                && (recent_peak >= t.min_alert_surprise || record == News::Continued);
            is_anomaly = candidate && rare;
            self.pending = if candidate && !rare {
                t.refractory_points
            } else {
                0
            };
            self.pending_flag = [score as f32, percentile as f32];
        } else if self.pending > 0 {
            self.pending -= 1;
            if rare {
                // The alert of the flag that opened the wait: reported with its score.
                is_anomaly = true;
                self.pending = 0;
                score = score.max(f64::from(self.pending_flag[0]));
                percentile = percentile.max(f64::from(self.pending_flag[1]));
            }
        }
        if is_anomaly && record == News::Continued {
            self.record_alert = self.n;
        }
        if is_anomaly {
            self.unlearnt = t.refractory_points;
        } else if !unlearnt && t.alert_tail > 0.0 {
            // (With no rarity condition, as in the live monitor, the tails are not read and
            // not fitted.) A close repeat of a remembered event is the series' known behaviour, not its
            // noise: it teaches the tails only as much as it scored.
            let weight = if seen_before < t.tail_repeat {
                seen_before
            } else {
                1.0
            };
            self.tail.learn(evidence * weight);
            self.short_tail.learn(self.short * weight);
        }

        // Learn.
        let a_err = if self.n < 200 { 0.05 } else { 0.01 };
        for (err, pred) in self.err.iter_mut().zip(preds) {
            let e = pred.map_or(err.max(scale) * 2.0, |p| (x - p).abs());
            // Winsorised so one outlier does not decide which predictor wins.
            let e = e.min(err.max(scale) * 5.0 + floor);
            *err = if self.n == 1 {
                e
            } else {
                *err + a_err * (e - *err)
            };
        }
        let clipped = residual.abs().min(5.0 * scale);
        self.scale = if self.n == 1 {
            residual.abs()
        } else {
            self.scale + a_err * (clipped - self.scale)
        };
        let a_long = if self.n < 200 { 0.02 } else { 0.002 };
        let s_clip = self.short.min(self.long_mean + 6.0 * spread);
        let d = s_clip - self.long_mean;
        self.long_mean += a_long * d;
        self.long_var = (1.0 - a_long) * (self.long_var + a_long * d * d);
        let dm = self.medium - self.med_mean;
        self.med_mean += a_long * dm;
        self.med_var = (1.0 - a_long) * (self.med_var + a_long * dm * dm);
        self.level += 0.1 * (x - self.level);
        self.magnitude += 0.01 * (x.abs() - self.magnitude);
        self.daily.update(ts_ms, x, 0.1);
        self.weekly.update(ts_ms, x, 0.2);
        self.prev = x;
        self.events.push(x);
        self.records.update(x, self.n, ts_ms);
        self.last_ts = Some(ts_ms);
        self.n += 1;
        Scored {
            score,
            percentile,
            is_anomaly,
            expected,
        }
    }
}
