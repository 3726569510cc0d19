//! Budget corrections as written (`corrections:` of an SLO in the configuration file, and the
//! body of `POST /v1/slos/{name}/corrections`), turned into the engine's
//! [`perf_core::slo::Correction`]; those declared over the API are kept in the store
//! (documents of kind [`CORRECTION_KIND`]) and put back at every start.

use perf_core::slo::{Correction, Exclusion};
use perf_store::Store;
use serde::{Deserialize, Serialize};

/// The store's kind for corrections declared over the API (id `<slo>/<correction id>`).
pub const CORRECTION_KIND: &str = "slo_correction";

/// `maintenance` or `business_hours`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionKind {
    /// Events between `from` and `to` are left out.
    Maintenance,
    /// Events outside `days` × `start`–`end` (local time) are left out.
    BusinessHours,
}

/// One correction as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CorrectionConfig {
    /// Unique within the SLO.
    pub id: String,
    /// `maintenance` or `business_hours`.
    pub kind: CorrectionKind,
    /// Maintenance start, RFC 3339 on a whole minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Maintenance end, RFC 3339 on a whole minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Business days (`mon` … `sun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    /// Business hours' start, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Business hours' end, `HH:MM` (`24:00` ends the day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// IANA time zone of the business hours (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Why (recorded).
    pub reason: String,
    /// Who declares it (recorded; in the configuration file it may be left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn minute_of_day(field: &str, text: &str) -> Result<u16, String> {
    let bad = || format!("{field}: {text:?} is not HH:MM");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) || h * 60 + m > 1440 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn timestamp(field: &str, text: Option<&str>) -> Result<i64, String> {
    let text = text.ok_or_else(|| format!("{field}: a maintenance window needs it"))?;
    perf_core::time::parse_timestamp(text).map_err(|e| format!("{field}: {e}"))
}

impl CorrectionConfig {
    /// The engine's correction; `from_config` for the configuration file, `token` the API
    /// token it was declared with, `now` the declaration time. The error names the field.
    pub fn to_correction(
        &self,
        from_config: bool,
        token: Option<String>,
        now: i64,
    ) -> Result<Correction, String> {
        let only = |set: bool, field: &str, kind: &str| {
            if set {
                Err(format!("{field}: not a field of a {kind} correction"))
            } else {
                Ok(())
            }
        };
        let exclusion = match self.kind {
            CorrectionKind::Maintenance => {
                only(self.days.is_some(), "days", "maintenance")?;
                only(self.start.is_some(), "start", "maintenance")?;
                only(self.end.is_some(), "end", "maintenance")?;
                only(self.time_zone.is_some(), "timeZone", "maintenance")?;
                Exclusion::Maintenance {
                    from_ms: timestamp("from", self.from.as_deref())?,
                    to_ms: timestamp("to", self.to.as_deref())?,
                }
            }
            CorrectionKind::BusinessHours => {
                only(self.from.is_some(), "from", "business_hours")?;
                only(self.to.is_some(), "to", "business_hours")?;
                let mut days = 0u8;
                for d in self.days.as_deref().unwrap_or_default() {
                    let i = DAYS
                        .iter()
                        .position(|x| x.eq_ignore_ascii_case(d))
                        .ok_or_else(|| format!("days: {d:?} is not one of mon … sun"))?;
                    days |= 1 << i;
                }
                let tz = match &self.time_zone {
                    Some(z) => z
                        .parse::<chrono_tz::Tz>()
                        .map_err(|_| format!("timeZone: {z:?} is not an IANA time zone"))?,
                    None => chrono_tz::UTC,
                };
                Exclusion::BusinessHours {
                    days,
                    start_minute: minute_of_day(
                        "start",
                        self.start.as_deref().ok_or("start: required (HH:MM)")?,
                    )?,
                    end_minute: minute_of_day(
                        "end",
                        self.end.as_deref().ok_or("end: required (HH:MM)")?,
                    )?,
                    tz,
                }
            }
        };
        let author = match (&self.author, from_config) {
            (Some(a), _) => a.clone(),
            (None, true) => "configuration file".into(),
            (None, false) => {
                return Err("author: required (who declares the correction)".into());
            }
        };
        let c = Correction {
            id: self.id.clone(),
            exclusion,
            reason: self.reason.clone(),
            author,
            token,
            created_ms: now,
            from_config,
        };
        c.validate()?;
        Ok(c)
    }

    /// As written, from the engine's correction.
    pub fn from_correction(c: &Correction) -> Self {
        let mut out = CorrectionConfig {
            id: c.id.clone(),
            kind: CorrectionKind::Maintenance,
            from: None,
            to: None,
            days: None,
            start: None,
            end: None,
            time_zone: None,
            reason: c.reason.clone(),
            author: Some(c.author.clone()),
        };
        match c.exclusion {
            Exclusion::Maintenance { from_ms, to_ms } => {
                out.from = Some(perf_core::time::format_rfc3339(from_ms));
                out.to = Some(perf_core::time::format_rfc3339(to_ms));
            }
            Exclusion::BusinessHours {
                days,
                start_minute,
                end_minute,
                tz,
            } => {
                out.kind = CorrectionKind::BusinessHours;
                out.days = Some(
                    (0..7)
                        .filter(|i| days & (1 << i) != 0)
                        .map(|i| DAYS[i].to_string())
                        .collect(),
                );
                out.start = Some(hhmm(start_minute));
                out.end = Some(hhmm(end_minute));
                out.time_zone = Some(tz.name().to_string());
            }
        }
        out
    }
}

/// A correction as answered: as written, plus who and when, and what it left out.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CorrectionAnswer {
    /// As written.
    #[serde(flatten)]
    pub declared: CorrectionConfig,
    /// When it was declared (RFC 3339).
    pub created_at: String,
    /// The API token it was declared with, `null` for the configuration file or a server
    /// without tokens.
    pub token: Option<String>,
    /// Declared in the configuration file (read-only over the API).
    pub read_only: bool,
    /// Events it left out: those of the history when the counters were last rebuilt, and
    /// live ones since.
    pub excluded_events: u64,
}

/// SLO `name`'s corrections in force, as answered, with the events each left out
/// (`history`: the back-fill summary's per-correction counts).
pub fn answers(
    entry: &perf_core::slo::SloEntry,
    history: Option<&perf_core::slo::Backfilled>,
) -> Vec<CorrectionAnswer> {
    entry
        .corrections
        .iter()
        .enumerate()
        .map(|(i, c)| CorrectionAnswer {
            declared: CorrectionConfig::from_correction(c),
            created_at: perf_core::time::format_rfc3339(c.created_ms),
            token: c.token.clone(),
            read_only: c.from_config,
            excluded_events: entry.excluded_live.get(i).copied().unwrap_or(0)
                + history
                    .and_then(|h| h.excluded_events.get(&c.id))
                    .copied()
                    .unwrap_or(0),
        })
        .collect()
}

/// A correction declared over the API, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    slo: String,
    correction: Correction,
}

/// Keeps a correction declared over the API.
pub fn store_correction(
    store: &dyn Store,
    slo: &str,
    service: &str,
    c: &Correction,
) -> anyhow::Result<()> {
    store.put_document(&perf_store::Document {
        kind: CORRECTION_KIND.into(),
        id: format!("{slo}/{}", c.id),
        service: service.into(),
        body: serde_json::to_string(&Stored {
            slo: slo.into(),
            correction: c.clone(),
        })?,
        at_ms: c.created_ms,
    })?;
    Ok(())
}

/// Forgets a correction declared over the API; whether it was there.
pub fn forget_correction(store: &dyn Store, slo: &str, id: &str) -> anyhow::Result<bool> {
    Ok(store.delete_document(CORRECTION_KIND, &format!("{slo}/{id}"))?)
}

/// The corrections declared over the API for SLO `slo`, oldest first.
pub fn stored_corrections(store: &dyn Store, slo: &str) -> anyhow::Result<Vec<Correction>> {
    let mut out = Vec::new();
    for body in store.list_documents(CORRECTION_KIND)? {
        let s: Stored = serde_json::from_str(&body)
            .map_err(|e| anyhow::anyhow!("a stored SLO correction: {e}"))?;
        if s.slo == slo {
            out.push(s.correction);
        }
    }
    out.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Correction, String> {
        let c: CorrectionConfig = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        c.to_correction(false, None, 0)
    }

    #[test]
    fn both_kinds_read_and_write_back_as_written() {
        for yaml in [
            "id: db\nkind: maintenance\nfrom: 2026-12-06T02:00:00.000Z\nto: 2026-12-06T03:30:00.000Z\nreason: upgrade\nauthor: ana\n",
            "id: office\nkind: business_hours\ndays: [mon, tue, wed, thu, fri]\nstart: 09:00\nend: '17:30'\ntimeZone: Europe/Berlin\nreason: internal tool\nauthor: ana\n",
        ] {
            let c = parse(yaml).unwrap();
            let back = CorrectionConfig::from_correction(&c);
            let again: CorrectionConfig = serde_yaml_ng::from_str(yaml).unwrap();
            assert_eq!(back, again);
        }
    }

    #[test]
    fn mistakes_name_their_field() {
        let cases = [
            ("id: a\nkind: maintenance\nfrom: 2026-12-06T02:00:00Z\nreason: r\nauthor: a\n", "to:"),
            ("id: a\nkind: maintenance\nfrom: 2026-12-06T02:00:30Z\nto: 2026-12-06T03:00:00Z\nreason: r\nauthor: a\n", "from, to:"),
            ("id: a\nkind: maintenance\nfrom: 2026-12-06T02:00:00Z\nto: 2026-12-06T03:00:00Z\nreason: r\n", "author:"),
            ("id: a\nkind: maintenance\nfrom: 2026-12-06T02:00:00Z\nto: 2026-12-06T03:00:00Z\ndays: [mon]\nreason: r\nauthor: a\n", "days:"),
            ("id: a\nkind: business_hours\ndays: [mon, fun]\nstart: 09:00\nend: 17:00\nreason: r\nauthor: a\n", "days:"),
            ("id: a\nkind: business_hours\ndays: [mon]\nstart: 9h\nend: 17:00\nreason: r\nauthor: a\n", "start:"),
            ("id: a\nkind: business_hours\ndays: [mon]\nstart: 09:00\nend: 17:00\ntimeZone: Mars/Base\nreason: r\nauthor: a\n", "timeZone:"),
            ("id: a\nkind: business_hours\ndays: [mon]\nstart: '18:00'\nend: '17:00'\nreason: r\nauthor: a\n", "start, end:"),
        ];
        for (yaml, field) in cases {
            let e = parse(yaml).unwrap_err();
            assert!(e.starts_with(field), "{yaml}: {e}");
        }
        let e = serde_yaml_ng::from_str::<CorrectionConfig>(
            "id: a\nkind: maintenance\nreason: r\nfrm: x\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `frm`"), "{e}");
    }
}
