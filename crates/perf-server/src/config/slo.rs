//! Native SLO entries (`slos:` in the configuration, and the body of `PUT /v1/slos/{name}`),
//! turned into the engine's `SloDef`. Objectives are written in percent (99.9) as people do
//! in SLO tools, and kept as fractions (0.999) everywhere else.

/// `p` percent as a fraction, without the float noise of the division (99.9 → 0.999, not
/// 0.9990000000000001): rounded to twelve decimals, far below any objective's precision.
pub(super) fn fraction_of_percent(p: f64) -> f64 {
    (p / 100.0 * 1e12).round() / 1e12
}

/// `f` as a percent, rounded for the same reason (the display helper does exactly this).
pub(super) use perf_core::numeric::percent_of as percent_of_fraction;

use perf_core::duration::{format_duration, parse_duration};
use perf_core::model::RequestClass;
use perf_core::slo::{
    default_tiers, AlertTier, Budgeting, CalendarUnit, CompositeDef, Member, Selector, Severity,
    Sli, SloDef, SloWindow,
};
use perf_core::Engine;
use perf_store::Store;
use serde::{Deserialize, Serialize};

/// The window: a duration (`28d`) or a calendar period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[derive(utoipa::ToSchema)]
pub enum WindowConfig {
    /// Rolling, e.g. `28d`.
    Rolling(String),
    /// `{calendar: month, timeZone: Europe/Berlin}`.
    Calendar {
        /// `week`, `month` or `quarter`.
        calendar: CalendarUnit,
        /// IANA time zone (default UTC).
        #[serde(rename = "timeZone", default)]
        time_zone: Option<String>,
    },
}

/// One alert tier as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct TierConfig {
    /// `page` or `ticket`.
    pub severity: Severity,
    /// Share of the period's budget, in percent (2 = 2 %).
    pub budget_percent: f64,
    /// Long window, e.g. `1h`.
    pub long_window: String,
    /// Short window, e.g. `5m`.
    pub short_window: String,
    /// Hold time before firing (default 0s).
    #[serde(default)]
    pub r#for: Option<String>,
}

/// `alerting:` of an SLO.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct AlertingConfig {
    /// Tiers (default: the SRE Workbook's four).
    pub tiers: Option<Vec<TierConfig>>,
    /// Minimum events in a tier's short window before it may alert (default 10).
    pub min_events: Option<u64>,
}

/// A native SLO entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct SloConfig {
    /// Unique name (in `PUT /v1/slos/{name}` it may be left out).
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// `composite` for a journey over member SLOs (`members`); left out for an SLO over
    /// events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The member SLOs of a composite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MemberConfig>>,
    /// Service (for a composite, the journey's service label; default: its name).
    #[serde(default)]
    pub service: String,
    /// Only this operation.
    #[serde(default)]
    pub operation: Option<String>,
    /// Only this class (`read`, `write`, `complex_write`).
    #[serde(default)]
    pub class: Option<RequestClass>,
    /// Only this node.
    #[serde(default)]
    pub node: Option<String>,
    /// Only this tenant.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Only this version.
    #[serde(default)]
    pub version: Option<String>,
    /// `availability` or `latency` (not for a composite).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sli: String,
    /// Latency threshold (latency SLIs).
    #[serde(default)]
    pub threshold_ms: Option<f64>,
    /// Objective in percent, e.g. 99.9.
    pub objective: f64,
    /// Window (default 28d).
    #[serde(default)]
    pub window: Option<WindowConfig>,
    /// `occurrences` (default), `timeslices`, `ratio_timeslices`.
    #[serde(default)]
    pub budgeting_method: Option<String>,
    /// Slice length for timeslices (default 1m).
    #[serde(default)]
    pub time_slice: Option<String>,
    /// Good ratio a slice needs, in percent (timeslices; default = the objective).
    #[serde(default)]
    pub time_slice_target: Option<f64>,
    /// One instance per tenant.
    #[serde(default)]
    pub per_tenant: bool,
    /// Alerting.
    #[serde(default)]
    pub alerting: Option<AlertingConfig>,
    /// Budget corrections (maintenance windows, business hours); in the configuration file
    /// only: over the API they are declared with `POST /v1/slos/{name}/corrections`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrections: Option<Vec<super::slo_correction::CorrectionConfig>>,
}

/// One member of a composite SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct MemberConfig {
    /// The member SLO's name.
    pub slo: String,
    /// Weight among the weighted members (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// A step every journey takes: its failure fails the journey (default false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub key: bool,
}

fn dur(field: &str, s: &str) -> Result<i64, String> {
    parse_duration(s).map_err(|e| format!("{field}: {e}"))
}

impl SloConfig {
    /// Whether the entry is a composite SLO (a journey over member SLOs).
    pub fn is_composite(&self) -> bool {
        self.kind.as_deref() == Some("composite")
    }

    /// The engine's journey for a `kind: composite` entry; the error names the field.
    pub fn to_composite(&self, from_config: bool) -> Result<CompositeDef, String> {
        if !self.is_composite() {
            return Err("kind: not a composite SLO".into());
        }
        let own = [
            ("sli", !self.sli.is_empty()),
            ("operation", self.operation.is_some()),
            ("class", self.class.is_some()),
            ("node", self.node.is_some()),
            ("tenant", self.tenant.is_some()),
            ("version", self.version.is_some()),
            ("thresholdMs", self.threshold_ms.is_some()),
            ("budgetingMethod", self.budgeting_method.is_some()),
            ("timeSlice", self.time_slice.is_some()),
            ("timeSliceTarget", self.time_slice_target.is_some()),
            ("perTenant", self.per_tenant),
            ("corrections", self.corrections.is_some()),
        ];
        if let Some((field, _)) = own.iter().find(|(_, set)| *set) {
            return Err(format!(
                "{field}: a composite SLO counts no events of its own; its members do"
            ));
        }
        let members = self
            .members
            .as_deref()
            .ok_or("members: a composite SLO needs its member SLOs")?
            .iter()
            .map(|m| Member {
                slo: m.slo.clone(),
                weight: m.weight.unwrap_or(1.0),
                key: m.key,
            })
            .collect();
        let journey = SloConfig {
            kind: None,
            members: None,
            sli: "availability".into(),
            service: if self.service.is_empty() {
                self.name.clone()
            } else {
                self.service.clone()
            },
            ..self.clone()
        };
        let c = CompositeDef {
            def: journey.to_def(from_config)?,
            members,
        };
        c.validate()?;
        Ok(c)
    }

    /// The entry that describes a journey.
    pub fn from_composite(c: &CompositeDef) -> SloConfig {
        SloConfig {
            kind: Some("composite".into()),
            members: Some(
                c.members
                    .iter()
                    .map(|m| MemberConfig {
                        slo: m.slo.clone(),
                        weight: (!m.key).then_some(m.weight),
                        key: m.key,
                    })
                    .collect(),
            ),
            sli: String::new(),
            budgeting_method: None,
            time_slice: None,
            time_slice_target: None,
            ..SloConfig::from_def(&c.def)
        }
    }

    /// The engine definition; the error names the field.
    pub fn to_def(&self, from_config: bool) -> Result<SloDef, String> {
        match self.kind.as_deref() {
            None => {}
            Some("composite") => {
                return Err(
                    "kind: a composite SLO is a journey over its members, not an SLO over events"
                        .into(),
                )
            }
            Some(other) => {
                return Err(format!(
                    "kind: {other:?} is not composite (leave it out for an SLO over events)"
                ))
            }
        }
        if self.members.is_some() {
            return Err("members: only a composite SLO (kind: composite) has members".into());
        }
        let sli = match (self.sli.as_str(), self.threshold_ms) {
            ("", _) => return Err("sli: required (availability or latency)".into()),
            ("availability", None) => Sli::Availability,
            ("availability", Some(_)) => {
                return Err("thresholdMs: only latency SLIs take a threshold".into())
            }
            ("latency", Some(t)) => Sli::Latency { threshold_ms: t },
            ("latency", None) => {
                return Err("thresholdMs: a latency SLI needs a threshold in ms".into())
            }
            (other, _) => return Err(format!("sli: {other:?} is not availability or latency")),
        };
        if !(1.0..100.0).contains(&self.objective) {
            return Err(format!(
                "objective: {} is not a percentage from 1 to below 100 (write 99.9 for 99.9 %)",
                self.objective
            ));
        }
        let window = match &self.window {
            None => SloWindow::Rolling {
                length_ms: 28 * 86_400_000,
            },
            Some(WindowConfig::Rolling(s)) => SloWindow::Rolling {
                length_ms: dur("window", s)?,
            },
            Some(WindowConfig::Calendar {
                calendar,
                time_zone,
            }) => {
                let tz = match time_zone {
                    None => chrono_tz::UTC,
                    Some(z) => z
                        .parse()
                        .map_err(|_| format!("window.timeZone: {z:?} is not an IANA time zone"))?,
                };
                SloWindow::Calendar {
                    unit: *calendar,
                    tz,
                }
            }
        };
        let slice_ms = dur("timeSlice", self.time_slice.as_deref().unwrap_or("1m"))?;
        let budgeting = match self.budgeting_method.as_deref().unwrap_or("occurrences") {
            "occurrences" => Budgeting::Occurrences,
            "timeslices" => Budgeting::Timeslices {
                slice_ms,
                threshold: fraction_of_percent(self.time_slice_target.unwrap_or(self.objective)),
            },
            "ratio_timeslices" => Budgeting::RatioTimeslices { slice_ms },
            other => {
                return Err(format!(
                    "budgetingMethod: {other:?} is not occurrences, timeslices or ratio_timeslices"
                ))
            }
        };
        let alerting = self.alerting.clone().unwrap_or_default();
        let tiers = match &alerting.tiers {
            None => default_tiers(),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    Ok(AlertTier {
                        severity: t.severity,
                        budget_fraction: fraction_of_percent(t.budget_percent),
                        long_ms: dur(&format!("alerting.tiers[{i}].longWindow"), &t.long_window)?,
                        short_ms: dur(
                            &format!("alerting.tiers[{i}].shortWindow"),
                            &t.short_window,
                        )?,
                        for_ms: match &t.r#for {
                            Some(f) => dur(&format!("alerting.tiers[{i}].for"), f)?,
                            None => 0,
                        },
                    })
                })
                .collect::<Result<_, String>>()?,
        };
        let mut def = SloDef {
            name: self.name.clone(),
            description: self.description.clone(),
            selector: Selector {
                service: self.service.clone(),
                operation: self.operation.clone(),
                class: self.class,
                node: self.node.clone(),
                tenant: self.tenant.clone(),
                version: self.version.clone(),
            },
            sli,
            objective: fraction_of_percent(self.objective),
            window,
            budgeting,
            per_tenant: self.per_tenant,
            tiers,
            min_events: alerting.min_events.unwrap_or(10),
            from_config,
        };
        if alerting.tiers.is_none() {
            // Only the default tiers that can fire at this objective (a low one never
            // reaches the page tiers' burn rates); a configured tier that cannot is refused.
            let firing: Vec<bool> = def.tiers.iter().map(|t| def.can_fire(t)).collect();
            let mut keep = firing.into_iter();
            def.tiers.retain(|_| keep.next().unwrap_or(false));
        }
        def.validate()?;
        Ok(def)
    }

    /// The entry that describes a definition (for `GET` answers and the store).
    pub fn from_def(def: &SloDef) -> SloConfig {
        let (budgeting_method, time_slice, time_slice_target) = match def.budgeting {
            Budgeting::Occurrences => (None, None, None),
            Budgeting::Timeslices {
                slice_ms,
                threshold,
            } => (
                Some("timeslices".into()),
                Some(format_duration(slice_ms)),
                Some(percent_of_fraction(threshold)),
            ),
            Budgeting::RatioTimeslices { slice_ms } => (
                Some("ratio_timeslices".into()),
                Some(format_duration(slice_ms)),
                None,
            ),
        };
        SloConfig {
            name: def.name.clone(),
            description: def.description.clone(),
            kind: None,
            members: None,
            service: def.selector.service.clone(),
            operation: def.selector.operation.clone(),
            class: def.selector.class,
            node: def.selector.node.clone(),
            tenant: def.selector.tenant.clone(),
            version: def.selector.version.clone(),
            sli: def.sli.name().into(),
            threshold_ms: match def.sli {
                Sli::Latency { threshold_ms } => Some(threshold_ms),
                Sli::Availability => None,
            },
            objective: (def.objective * 1e6).round() / 1e4,
            window: Some(match def.window {
                SloWindow::Rolling { length_ms } => {
                    WindowConfig::Rolling(format_duration(length_ms))
                }
                SloWindow::Calendar { unit, tz } => WindowConfig::Calendar {
                    calendar: unit,
                    time_zone: Some(tz.name().into()),
                },
            }),
            budgeting_method,
            time_slice,
            time_slice_target,
            per_tenant: def.per_tenant,
            alerting: Some(AlertingConfig {
                tiers: Some(
                    def.tiers
                        .iter()
                        .map(|t| TierConfig {
                            severity: t.severity,
                            budget_percent: percent_of_fraction(t.budget_fraction),
                            long_window: format_duration(t.long_ms),
                            short_window: format_duration(t.short_ms),
                            r#for: (t.for_ms > 0).then(|| format_duration(t.for_ms)),
                        })
                        .collect(),
                ),
                min_events: Some(def.min_events),
            }),
            corrections: None,
        }
    }

    /// The corrections of a configuration-file entry, declared at `now`.
    pub fn config_corrections(&self, now: i64) -> Result<Vec<perf_core::slo::Correction>, String> {
        self.corrections
            .iter()
            .flatten()
            .map(|c| {
                c.to_correction(true, None, now)
                    .map_err(|e| format!("corrections[{}]: {e}", c.id))
            })
            .collect()
    }
}

/// Puts the configured SLOs and the stored ones into the engine; drops configured SLOs that
/// left the file. Counts are kept for SLOs that still count the same events; a new SLO, or
/// one whose counting changed, is filled from the views' history at `now` and its summary
/// kept in the store ([`record_backfill`]).
pub fn load_definitions(
    engine: &mut Engine,
    configured: &[SloConfig],
    store: &dyn Store,
    now: i64,
) -> anyhow::Result<()> {
    let mut wanted: Vec<SloDef> = Vec::new();
    let mut journeys: Vec<CompositeDef> = Vec::new();
    let mut corrections: std::collections::BTreeMap<String, Vec<perf_core::slo::Correction>> =
        Default::default();
    for c in configured {
        if c.is_composite() {
            journeys.push(
                c.to_composite(true)
                    .map_err(|e| anyhow::anyhow!("slo {}: {e}", c.name))?,
            );
            continue;
        }
        wanted.push(
            c.to_def(true)
                .map_err(|e| anyhow::anyhow!("slo {}: {e}", c.name))?,
        );
        // A configured correction keeps the time it was first seen, so that a restart does
        // not count as a change.
        let mut declared = c
            .config_corrections(now)
            .map_err(|e| anyhow::anyhow!("slo {}: {e}", c.name))?;
        if let Some(entry) = engine.slos().get(&c.name) {
            for d in &mut declared {
                if let Some(old) = entry
                    .corrections
                    .iter()
                    .find(|o| o.from_config && o.id == d.id && o.exclusion == d.exclusion)
                {
                    d.created_ms = old.created_ms;
                }
            }
        }
        corrections.insert(c.name.clone(), declared);
    }
    for (name, json) in store.list_slos()? {
        let c: SloConfig =
            serde_json::from_str(&json).map_err(|e| anyhow::anyhow!("stored slo {name}: {e}"))?;
        if configured.iter().any(|x| x.name == name) {
            tracing::warn!(slo = %name, "an SLO of the configuration file replaces the one stored over the API");
            continue;
        }
        if c.is_composite() {
            journeys.push(
                c.to_composite(false)
                    .map_err(|e| anyhow::anyhow!("stored slo {name}: {e}"))?,
            );
            continue;
        }
        wanted.push(
            c.to_def(false)
                .map_err(|e| anyhow::anyhow!("stored slo {name}: {e}"))?,
        );
    }
    let stale: Vec<String> = engine
        .slos()
        .entries()
        .iter()
        .map(|e| e.def.name.clone())
        .filter(|n| !wanted.iter().any(|w| &w.name == n))
        .collect();
    let stale_journeys: Vec<String> = engine
        .slos()
        .composites()
        .iter()
        .map(|c| c.def.def.name.clone())
        .filter(|n| !journeys.iter().any(|j| &j.def.name == n))
        .collect();
    for name in stale_journeys {
        engine.slos_mut().remove_composite(&name);
    }
    for name in stale {
        engine.slos_mut().remove(&name);
    }
    for def in wanted {
        let (name, service) = (def.name.clone(), def.selector.service.clone());
        let checked = def.clone();
        let kept = engine
            .slos_mut()
            .upsert(def)
            .map_err(|e| anyhow::anyhow!(e))?;
        let mut declared = corrections.remove(&name).unwrap_or_default();
        declared.extend(super::slo_correction::stored_corrections(store, &name)?);
        let corrected = engine
            .slos_mut()
            .set_corrections(&name, declared)
            .map_err(|e| anyhow::anyhow!("slo {name}: {e}"))?;
        if !kept || corrected {
            let filled = engine.backfill_slo(&name, now);
            // Judged on the history just read, and only for an SLO filled now: a start
            // does not re-read the history of every SLO it keeps.
            for why in filled
                .iter()
                .flat_map(|h| crate::control::slo_traffic::silent_tiers_of(&checked, h, now))
            {
                tracing::warn!(slo = %name, "{why}");
            }
            record_backfill(store, &name, &service, filled.as_ref(), now)?;
        }
    }
    // Journeys last: their members are in the set by now.
    for j in journeys {
        let name = j.def.name.clone();
        engine
            .slos_mut()
            .upsert_composite(j)
            .map_err(|e| anyhow::anyhow!("slo {name}: {e}"))?;
    }
    Ok(())
}

/// The store's kind for back-fill summaries, one per SLO.
pub const BACKFILL_KIND: &str = "slo_backfill";

/// Keeps (or, with `None`, forgets) SLO `name`'s back-fill summary.
pub fn record_backfill(
    store: &dyn Store,
    name: &str,
    service: &str,
    filled: Option<&perf_core::slo::Backfilled>,
    now: i64,
) -> anyhow::Result<()> {
    match filled {
        Some(b) => store.put_document(&perf_store::Document {
            kind: BACKFILL_KIND.into(),
            id: name.into(),
            service: service.into(),
            body: serde_json::to_string(b)?,
            at_ms: now,
        })?,
        None => {
            store.delete_document(BACKFILL_KIND, name)?;
        }
    }
    Ok(())
}

/// SLO `name`'s back-fill summary, if it was filled.
pub fn backfill_of(store: &dyn Store, name: &str) -> Option<perf_core::slo::Backfilled> {
    let body = store.get_document(BACKFILL_KIND, name).ok()??;
    serde_json::from_str(&body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<SloDef, String> {
        let c: SloConfig = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        c.to_def(true)
    }

    /// A tier whose burn-rate threshold is above what every request failing reaches can
    /// never fire: configured, it is refused with the figures; among the defaults, it is left
    /// out (a 90 % objective burns at most 10×: the 14.4× page tiers go, the 6×, 3× and 1×
    /// ones stay).
    #[test]
    fn tiers_that_can_never_fire_are_refused_or_left_out() {
        let page = "alerting: {tiers: [{severity: page, budgetPercent: 2, longWindow: 1h, shortWindow: 5m}]}";
        let e = parse(&format!(
            "name: a\nservice: s\nsli: availability\nobjective: 90\nwindow: 30d\n{page}\n"
        ))
        .unwrap_err();
        assert!(e.contains("alerting.tiers[0] can never fire"), "{e}");
        assert!(e.contains("14.4×") && e.contains("10.0×"), "{e}");
        assert!(parse(&format!(
            "name: a\nservice: s\nsli: availability\nobjective: 99\nwindow: 30d\n{page}\n"
        ))
        .is_ok());
        let low =
            parse("name: a\nservice: s\nsli: availability\nobjective: 90\nwindow: 30d\n").unwrap();
        let factors: Vec<f64> = low
            .tiers
            .iter()
            .map(|t| t.factor(low.period_ms()))
            .collect();
        assert!(factors.iter().all(|f| *f < 10.0), "{factors:?}");
        assert!(!factors.is_empty());
        let usual = parse("name: a\nservice: s\nsli: availability\nobjective: 99.9\nwindow: 30d\n")
            .unwrap();
        assert_eq!(usual.tiers, perf_core::slo::default_tiers());
    }

    #[test]
    fn objectives_carry_no_float_noise() {
        for (percent, fraction) in [
            (99.9, "0.999"),
            (99.95, "0.9995"),
            (99.0, "0.99"),
            (95.5, "0.955"),
        ] {
            let d = parse(&format!(
                "name: a\nservice: s\nsli: availability\nobjective: {percent}\n"
            ))
            .unwrap();
            assert_eq!(serde_json::to_string(&d.objective).unwrap(), fraction);
            assert_eq!(percent_of_fraction(d.objective), percent);
        }
        assert_eq!(
            format!("{}", 99.9 / 100.0),
            "0.9990000000000001",
            "the noise this avoids"
        );
    }

    #[test]
    fn native_entries_become_definitions_and_round_trip() {
        let d = parse("name: feed-latency\nservice: qnet\noperation: GET /feed\nsli: latency\nthresholdMs: 200\nobjective: 99.5\nwindow: {calendar: month, timeZone: Europe/Berlin}\n").unwrap();
        assert_eq!(d.objective, 0.995);
        assert_eq!(
            d.sli,
            Sli::Latency {
                threshold_ms: 200.0
            }
        );
        assert_eq!(
            d.window,
            SloWindow::Calendar {
                unit: CalendarUnit::Month,
                tz: chrono_tz::Europe::Berlin
            }
        );
        assert_eq!(d.tiers.len(), 4);
        let back = SloConfig::from_def(&d).to_def(true).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn mistakes_name_their_field() {
        for (yaml, field) in [
            ("name: a\nservice: s\nsli: latency\nobjective: 99\n", "thresholdMs"),
            ("name: a\nservice: s\nsli: speed\nobjective: 99\n", "sli"),
            ("name: a\nservice: s\nsli: availability\nobjective: 0.999\nwindow: 1d\n", "objective"),
            ("name: a\nservice: s\nsli: availability\nobjective: 100\n", "objective"),
            ("name: a\nservice: s\nsli: availability\nobjective: 99\nwindow: 4 weeks\n", "window"),
            ("name: a\nservice: s\nsli: availability\nobjective: 99\nwindow: {calendar: month, timeZone: Mars/Olympus}\n", "window.timeZone"),
            ("name: a\nservice: s\nsli: availability\nobjective: 99\nbudgetingMethod: vibes\n", "budgetingMethod"),
            ("name: a\nservice: s\nsli: availability\nobjective: 99\nbudgetingMethod: timeslices\ntimeSlice: 7m\n", "timeSlice"),
            ("name: a\nservice: s\nsli: availability\nobjective: 99\nalerting: {tiers: [{severity: page, budgetPercent: 2, longWindow: 5m, shortWindow: 1h}]}\n", "alerting.tiers[0]"),
        ] {
            let err = parse(yaml).unwrap_err();
            assert!(err.starts_with(field), "{yaml}: {err}");
        }
        assert!(
            parse("name: a\nservice: s\nsli: availability\nobjective: 99\ncolour: red\n")
                .unwrap_err()
                .contains("colour")
        );
    }
}
