//! Human durations as the API and config write them: `500ms`, `10s`, `5m`, `1h`, `28d`, `2w`,
//! and combinations like `1h30m`. Parsed to milliseconds; formatted back to the shortest
//! label (`300000` → `5m`).

use crate::error::CoreError;

const UNITS: [(&str, i64); 6] = [
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a duration label into milliseconds (> 0).
pub fn parse_duration(text: &str) -> Result<i64, CoreError> {
    let bad = || CoreError::InvalidDuration(text.to_string());
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let factor = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, f)| *f)
            .ok_or_else(bad)?;
        total = number
            .checked_mul(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        rest = &rest[unit_len..];
    }
    if total <= 0 {
        return Err(bad());
    }
    Ok(total)
}

/// Formats milliseconds as a compact label (`90000` → `1m30s`).
pub fn format_duration(ms: i64) -> String {
    if ms <= 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, factor) in UNITS.iter().skip(1) {
        if rest >= *factor {
            out.push_str(&format!("{}{unit}", rest / factor));
            rest %= factor;
        }
    }
    out
}

/// Serde adapter: a duration field written as a label.
pub mod serde_label {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes milliseconds as a label.
    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*ms))
    }

    /// Reads a label into milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde adapter: an optional duration field written as a label (absent or `null`: none).
pub mod serde_label_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes milliseconds as a label, or `null`.
    pub fn serialize<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_str(&super::format_duration(*ms)),
            None => s.serialize_none(),
        }
    }

    /// Reads a label into milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| super::parse_duration(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_duration("5m").unwrap(), 300_000);
        assert_eq!(parse_duration("28d").unwrap(), 28 * 86_400_000);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("250ms").unwrap(), 250);
        assert_eq!(format_duration(300_000), "5m");
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(28 * 86_400_000), "28d");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "5",
            "m",
            "5x",
            "-5m",
            "0s",
            "5 m",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }
}
