//! A JSON value as words for a table cell: `{"errorRate": 0.312, "requests": 120}` reads
//! `error rate 0.312, requests 120`. Risk evidence is a free-form object per signal, and a
//! raw JSON blob in a terminal column is hard to read (issue 24).

use serde_json::Value;

/// `camelCase` as `camel case`.
fn key_words(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_uppercase() {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A number with at most four significant digits (integers whole).
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
        let text = format!("{v:.digits$}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The value in words.
pub fn words(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => n.as_f64().map(number).unwrap_or_else(|| n.to_string()),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(words).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::Object(_) => format!("{} ({})", key_words(k), words(v)),
                _ => format!("{} {}", key_words(k), words(v)),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evidence_reads_as_words() {
        let v = json!({"errorRate": 0.31234, "baselineErrorRate": 0.0101, "requests": 120,
                       "costPerRequest": 1234.5678, "window": {"fromMs": 5}, "tags": ["a", "b"],
                       "flagged": true, "none": null});
        assert_eq!(
            words(&v),
            "baseline error rate 0.0101, cost per request 1235, error rate 0.3123, flagged yes, none –, requests 120, tags a, b, window (from ms 5)"
        );
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(0.000012345), "0.00001234");
    }
}
