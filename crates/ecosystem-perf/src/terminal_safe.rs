//! Strings from a server are printed to a terminal: a name holding `ESC [2J` or `ESC ]52;…`
//! would clear the screen, retitle the window or write the clipboard. The server refuses
//! control characters in names it ingests, but an older data directory, another server or a
//! proxy may still send them, so every JSON answer the CLI reads passes through [`defang`]
//! first: each control character becomes its visible escape (`\u{1b}`), in tables and JSON
//! output alike.

use serde_json::Value;

/// Replaces every control character in every string (keys included) of `value`.
pub fn defang(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(safe) = visible(s) {
                *s = safe;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(defang),
        Value::Object(map) => {
            if map.keys().any(|k| visible(k).is_some()) {
                let entries: Vec<_> = std::mem::take(map).into_iter().collect();
                for (k, v) in entries {
                    map.insert(visible(&k).unwrap_or(k), v);
                }
            }
            map.values_mut().for_each(defang);
        }
        _ => {}
    }
}

/// `s` with its control characters escaped, or `None` when it has none.
fn visible(s: &str) -> Option<String> {
    s.chars().any(char::is_control).then(|| {
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_reach_no_terminal() {
        let mut v = serde_json::json!({"services": [{"service": "q\u{1b}[2Jnet", "rps": 1.5}], "k\u{7}": "x"});
        defang(&mut v);
        assert_eq!(v["services"][0]["service"], "q\\u{1b}[2Jnet");
        assert_eq!(v["k\\u{7}"], "x");
        assert_eq!(v["services"][0]["rps"], 1.5);
    }
}
