//! The series CSV of the offline commands (docs/ARCHITECTURE.md §5): a `timestamp,value` header, then one
//! row per observation; timestamps as `YYYY-MM-DD HH:MM:SS`, RFC 3339, or unix seconds or
//! milliseconds, strictly increasing. Every problem is refused with its line: no header, a
//! missing or non-numeric or non-finite value, an unreadable timestamp, an empty file.
//! Timestamps are expected to increase; real exports break that around clock changes (NAB's
//! machine_temperature steps back an hour, three files repeat timestamps), so a timestamp
//! equal to or before the previous one is not an error: the row is scored in file order as
//! the next observation, with the detector's clock held at the latest time seen, and the
//! number of such rows is reported ([`Parsed::out_of_order`]). Gaps in time are accepted —
//! the detectors read phases from the timestamps. The timestamp text is kept so output rows can
//! repeat it exactly as read.

use crate::error::CoreError;

/// One row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The timestamp as written.
    pub ts_text: String,
    /// The value as written.
    pub value_text: String,
    /// Unix milliseconds.
    pub ts_ms: i64,
    /// The value.
    pub value: f64,
}

fn bad(line: usize, message: String) -> CoreError {
    CoreError::InvalidQuery(format!("line {line}: {message}"))
}

/// A parsed series.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// Rows in file order.
    pub rows: Vec<Row>,
    /// Rows whose timestamp was not after the previous row's.
    pub out_of_order: usize,
}

/// Parses a whole series CSV.
pub fn parse(text: &str) -> Result<Parsed, CoreError> {
    let mut lines = text.lines().enumerate();
    let header = loop {
        match lines.next() {
            None => {
                return Err(CoreError::InvalidQuery(
                    "the file is empty: expected a header `timestamp,value` and rows".into(),
                ))
            }
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((i, l)) => break (i + 1, l),
        }
    };
    let cols: Vec<String> = header
        .1
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let (Some(ti), Some(vi)) = (
        cols.iter().position(|c| c == "timestamp"),
        cols.iter().position(|c| c == "value"),
    ) else {
        return Err(bad(
            header.0,
            format!(
                "the header must name the columns timestamp and value, got {:?}",
                header.1
            ),
        ));
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut out_of_order = 0;
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(ts), Some(v)) = (fields.get(ti), fields.get(vi)) else {
            return Err(bad(
                line_no,
                format!("expected {} columns, got {}", cols.len(), fields.len()),
            ));
        };
        let (ts, v) = (ts.trim(), v.trim());
        let ts_ms = crate::time::parse_timestamp(ts).map_err(|e| bad(line_no, e.to_string()))?;
        let value: f64 = v
            .parse()
            .map_err(|_| bad(line_no, format!("value {v:?} is not a number")))?;
        if !value.is_finite() {
            return Err(bad(line_no, format!("value {v:?} is not finite")));
        }
        if rows.last().is_some_and(|prev| ts_ms <= prev.ts_ms) {
            out_of_order += 1;
        }
        rows.push(Row {
            ts_text: ts.to_string(),
            value_text: v.to_string(),
            ts_ms,
            value,
        });
    }
    if rows.is_empty() {
        return Err(CoreError::InvalidQuery(
            "the file has a header but no rows".into(),
        ));
    }
    Ok(Parsed { rows, out_of_order })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_problem_is_refused_with_its_line() {
        let ok =
            parse("timestamp,value\n2024-01-01 00:00:00,1.5\n2024-01-01 00:05:00,2\n").unwrap();
        assert_eq!((ok.rows.len(), ok.out_of_order), (2, 0));
        assert_eq!(ok.rows[1].ts_text, "2024-01-01 00:05:00");
        let err = |t: &str| parse(t).unwrap_err().to_string();
        assert!(err("").contains("empty"));
        assert!(err("timestamp,value\n").contains("no rows"));
        assert!(err("2024-01-01 00:00:00,1\n").contains("line 1"));
        assert!(err("timestamp,value\n2024-01-01 00:00:00,abc\n").contains("line 2"));
        assert!(err("timestamp,value\n2024-01-01 00:00:00,NaN\n").contains("not finite"));
        // Repeated or earlier timestamps are kept in file order and counted.
        let p = parse("timestamp,value\n2024-01-01 00:05:00,1\n2024-01-01 00:05:00,2\n2024-01-01 00:00:00,3\n").unwrap();
        assert_eq!((p.rows.len(), p.out_of_order), (3, 2));
        assert!(err("timestamp,value\nyesterday,1\n").contains("line 2"));
        // Gaps are fine; unix seconds too.
        assert_eq!(
            parse("timestamp,value\n1700000000,1\n1700090000,2\n")
                .unwrap()
                .rows
                .len(),
            2
        );
    }
}
