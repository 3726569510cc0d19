//! Timestamps: unix milliseconds (`i64`) inside; RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC), unix
//! seconds or unix milliseconds outside. Integers below 10^11 are taken as seconds (that is
//! the year 5138 in seconds, and March 1973 in milliseconds), the rest as milliseconds.

use crate::error::CoreError;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Integer timestamps smaller than this are seconds; larger ones milliseconds.
const SECONDS_LIMIT: i64 = 100_000_000_000;

/// Parses a timestamp text into unix milliseconds.
pub fn parse_timestamp(text: &str) -> Result<i64, CoreError> {
    let s = text.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Ok(integer_timestamp_ms(n));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.timestamp_millis());
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(dt.and_utc().timestamp_millis());
        }
    }
    Err(CoreError::InvalidTimestamp(text.to_string()))
}

/// Reads an integer timestamp as seconds or milliseconds (see the module doc).
pub fn integer_timestamp_ms(n: i64) -> i64 {
    if n.abs() < SECONDS_LIMIT {
        n.saturating_mul(1000)
    } else {
        n
    }
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-29T21:55:00.000Z`.
pub fn format_rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// A compact UTC time for generated ids, e.g. `20261129T215500` (seconds resolution).
pub fn compact_utc(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.format("%Y%m%dT%H%M%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// Serde for unix-millisecond fields written as RFC 3339 (and read in any documented
/// timestamp format).
pub mod serde_rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes RFC 3339.
    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rfc3339(*ms))
    }

    /// Reads any documented timestamp format.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_timestamp(&text).map_err(serde::de::Error::custom)
    }
}

/// [`serde_rfc3339`] for an optional field (`null` when absent).
pub mod serde_rfc3339_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes RFC 3339 or null.
    pub fn serialize<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_str(&super::format_rfc3339(*ms)),
            None => s.serialize_none(),
        }
    }

    /// Reads any documented timestamp format, or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => super::parse_timestamp(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_documented_format() {
        let want = 1_700_000_000_000;
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z").unwrap(), want);
        assert_eq!(parse_timestamp("2023-11-14T23:13:20+01:00").unwrap(), want);
        assert_eq!(parse_timestamp("2023-11-14 22:13:20").unwrap(), want);
        assert_eq!(parse_timestamp("1700000000").unwrap(), want);
        assert_eq!(parse_timestamp("1700000000000").unwrap(), want);
        assert!(parse_timestamp("yesterday").is_err());
        assert_eq!(format_rfc3339(want), "2023-11-14T22:13:20.000Z");
    }
}
