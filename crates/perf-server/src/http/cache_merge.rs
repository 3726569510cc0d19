//! `GET /v1/cache` and `/v1/cache/{space}` merged over the owners of a leases cluster: each
//! space belongs to one service and so to one owner, whose answer carries its report as is;
//! what depends on every space — the order (lookups, largest first), each space's share of
//! the lookups and the hot set — is judged again over the union, as
//! `perf_core::cache::overview` judges it on one engine.

use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The owners' `/v1/cache` answers as one.
pub fn merge_cache<'a>(answers: impl Iterator<Item = &'a Value>) -> Value {
    let mut head = json!({"window": "24h"});
    let mut spaces: Vec<Value> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut unsampled = 0u64;
    for a in answers {
        for k in ["window", "target", "hotShare"] {
            head[k] = a[k].clone();
        }
        unsampled += a["unsampledAccesses"].as_u64().unwrap_or(0);
        for s in a["spaces"].as_array().into_iter().flatten() {
            let key = (
                s["service"].as_str().unwrap_or_default().to_string(),
                s["space"].as_str().unwrap_or_default().to_string(),
            );
            // A space is its owner's; a replica that held it before a takeover answers it
            // no more, but should two, the first kept is as good as the other.
            if seen.insert(key) {
                spaces.push(s.clone());
            }
        }
    }
    let lookups = |s: &Value| s["lookups"].as_u64().unwrap_or(0);
    let name = |s: &Value, k: &str| s[k].as_str().unwrap_or_default().to_string();
    spaces.sort_by(|a, b| {
        lookups(b).cmp(&lookups(a)).then_with(|| {
            (name(a, "service"), name(a, "space")).cmp(&(name(b, "service"), name(b, "space")))
        })
    });
    let total: u64 = spaces.iter().map(lookups).sum();
    let hot_share = head["hotShare"].as_f64().unwrap_or(0.8);
    let mut carried = 0u64;
    let mut hot_spaces = Vec::new();
    for s in &mut spaces {
        let n = lookups(s);
        let hot = n > 0 && (carried as f64) < hot_share * total as f64;
        if hot {
            hot_spaces.push(s["space"].clone());
        }
        carried += n;
        s["hot"] = json!(hot);
        s["lookupShare"] = json!(if total > 0 {
            n as f64 / total as f64
        } else {
            0.0
        });
    }
    head["hotSpaces"] = json!(hot_spaces);
    head["unsampledAccesses"] = json!(unsampled);
    head["spaces"] = json!(spaces);
    head
}

/// The report of `space` in a merged answer (the first service's, by the merged order, when
/// several services name a space alike).
pub fn pick_space(merged: &Value, space: &str) -> Option<Value> {
    let spaces = merged["spaces"].as_array()?;
    let mut named: Vec<&Value> = spaces.iter().filter(|s| s["space"] == space).collect();
    named.sort_by_key(|s| s["service"].as_str().unwrap_or_default().to_string());
    named.first().map(|s| (*s).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(service: &str, space: &str, lookups: u64) -> Value {
        json!({"service": service, "space": space, "lookups": lookups, "hot": false, "lookupShare": 1.0})
    }

    #[test]
    fn the_hot_set_and_shares_are_judged_over_every_owner() {
        let a = json!({"window": "24h", "target": 0.85, "hotShare": 0.8, "unsampledAccesses": 2,
                       "hotSpaces": ["a1"], "spaces": [space("sa", "a1", 500), space("sa", "a2", 100)]});
        let b = json!({"window": "24h", "target": 0.85, "hotShare": 0.8, "unsampledAccesses": 3,
                       "hotSpaces": ["b1"], "spaces": [space("sb", "b1", 400)]});
        let m = merge_cache([&a, &b].into_iter());
        let names: Vec<&str> = m["spaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["space"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a1", "b1", "a2"]);
        // 500 of 1,000 carries less than 80 %: b1 joins; then 900 ≥ 800, a2 stays out.
        assert_eq!(m["hotSpaces"], json!(["a1", "b1"]));
        assert_eq!(m["spaces"][2]["hot"], false);
        assert_eq!(m["spaces"][1]["lookupShare"], 0.4);
        assert_eq!(m["unsampledAccesses"], 5);
        assert_eq!(m["target"], 0.85);
        assert_eq!(pick_space(&m, "b1").unwrap()["service"], "sb");
        assert!(pick_space(&m, "nope").is_none());
    }

    #[test]
    fn nothing_to_merge_is_an_empty_list() {
        let m = merge_cache(std::iter::empty());
        assert_eq!(m["spaces"], json!([]));
        assert_eq!(m["hotSpaces"], json!([]));
    }
}
