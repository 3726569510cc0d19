//! `cache list` and `cache show SPACE`: every cache space with its hit rates, hot set and
//! sizing, and one space in detail — its LRU miss-ratio curve, the size each hit ratio
//! needs against the configured one, its reuse times and TTL, and the recommendations.

use crate::args::{Format, ServerArgs};
use crate::client::{encode_component, ApiClient};
use crate::exit::OK;
use crate::units;
use clap::Subcommand;
use comfy_table::Cell;
use serde_json::Value;

/// `cache` subcommands.
#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Every cache space of the last 24 hours, largest first.
    #[command(after_help = "Example: ecosystem-perf cache list --service qindex")]
    List {
        /// Only this service's spaces.
        #[arg(long)]
        service: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One space: miss-ratio curve, size for 85/90/95 %, reuse times, TTL, advice.
    #[command(after_help = "Example: ecosystem-perf cache show qindex:search")]
    Show {
        /// The space (`cacheSpace` of the events, or the operation for keys without one).
        space: String,
        /// The service, when two services use the same space name.
        #[arg(long)]
        service: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

fn count(v: &Value) -> String {
    v.as_u64()
        .map_or_else(|| units::MISSING.to_string(), |n| n.to_string())
}

fn ms(v: &Value) -> String {
    v.as_f64().map_or_else(
        || units::MISSING.to_string(),
        |x| units::duration(x.round() as i64),
    )
}

/// The list as a table.
fn list_table(v: &Value) -> String {
    let mut t = crate::tables::new_table(&[
        "space",
        "service",
        "hot",
        "share",
        "hit 5m",
        "hit 1h",
        "hit 24h",
        "unique keys",
        "size for 85 %",
        "size now",
        "p95 reuse",
    ]);
    crate::tables::align_left(&mut t, &[1, 2]);
    for s in v["spaces"].as_array().into_iter().flatten() {
        t.add_row(vec![
            Cell::new(s["space"].as_str().unwrap_or_default()),
            Cell::new(s["service"].as_str().unwrap_or_default()),
            Cell::new(if s["hot"] == true { "hot" } else { "" }),
            Cell::new(units::percent_json(&s["lookupShare"], 0)),
            Cell::new(units::percent_json(&s["hitRates"]["5m"], 1)),
            Cell::new(units::percent_json(&s["hitRates"]["1h"], 1)),
            Cell::new(units::percent_json(&s["hitRates"]["24h"], 1)),
            Cell::new(count(&s["uniqueKeys"])),
            Cell::new(count(&s["sizeFor"]["0.85"])),
            Cell::new(count(&s["currentSize"])),
            Cell::new(ms(&s["ttl"]["p95Ms"])),
        ]);
    }
    let mut out = format!(
        "cache spaces over the last 24 hours; hot set (carrying {} of cacheable requests, judged by go-live at {}): {}\n{t}",
        units::percent_json(&v["hotShare"], 0),
        units::percent_json(&v["target"], 0),
        v["hotSpaces"]
            .as_array()
            .map(|a| a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "none".into())
    );
    for s in v["spaces"].as_array().into_iter().flatten() {
        for r in s["recommendations"].as_array().into_iter().flatten() {
            out.push_str(&format!("\n- {}", r.as_str().unwrap_or_default()));
        }
    }
    out
}

/// One space as text and tables.
fn show_table(s: &Value) -> String {
    let mut out = format!(
        "{} ({}): {} requests, {} lookups, hit rate {} (5m {}, 1h {}, 24h {})\n",
        s["space"].as_str().unwrap_or_default(),
        s["service"].as_str().unwrap_or_default(),
        count(&s["requests"]),
        count(&s["lookups"]),
        units::percent_json(&s["hitRate"], 1),
        units::percent_json(&s["hitRates"]["5m"], 1),
        units::percent_json(&s["hitRates"]["1h"], 1),
        units::percent_json(&s["hitRates"]["24h"], 1),
    );
    if s["mrc"].as_array().is_some_and(|m| !m.is_empty()) {
        out.push_str(&format!(
            "keys since {}: {} keyed accesses, ≈ {} unique keys ({} sampled, rate {}), first accesses {}\n",
            s["since"].as_str().unwrap_or("–"),
            count(&s["keyedAccesses"]),
            count(&s["uniqueKeys"]),
            count(&s["sampledKeys"]),
            units::percent_json(&s["samplingRate"], 1),
            units::percent_json(&s["coldMissRatio"], 1),
        ));
        let mut sizes = crate::tables::new_table(&["hit ratio", "LRU entries needed"]);
        for (k, n) in s["sizeFor"].as_object().into_iter().flatten() {
            let ratio = k.parse::<f64>().map_or(k.clone(), |x| units::percent(x, 0));
            sizes.add_row(vec![
                Cell::new(ratio),
                Cell::new(
                    n.as_u64()
                        .map_or("unreachable".to_string(), |n| n.to_string()),
                ),
            ]);
        }
        out.push_str(&format!(
            "{sizes}\nconfigured size {}{}\n",
            count(&s["currentSize"]),
            s["hitRatioAtCurrentSize"]
                .as_f64()
                .map_or(String::new(), |h| format!(
                    " (an LRU of it would hit {})",
                    units::percent(h, 1)
                ))
        ));
        let mut curve = crate::tables::new_table(&["size", "LRU miss ratio"]);
        for p in s["mrc"].as_array().into_iter().flatten() {
            curve.add_row(vec![
                Cell::new(count(&p["size"])),
                Cell::new(units::percent_json(&p["missRatio"], 1)),
            ]);
        }
        out.push_str(&format!(
            "miss-ratio curve (± {} estimated):\n{curve}\n",
            units::percent_json(&s["mrcError"], 1)
        ));
    }
    let policy = &s["policy"];
    if policy.is_object() {
        out.push_str(&format!(
            "LRU against W-TinyLFU at {} entries, replayed on {} sampled accesses: {} vs {}\n",
            count(&policy["size"]),
            count(&policy["sampledAccesses"]),
            units::percent_json(&policy["lru"], 1),
            units::percent_json(&policy["wTinyLfu"], 1),
        ));
    }
    let ttl = &s["ttl"];
    out.push_str(&format!(
        "reuse times: median {}, p95 {}; recommended TTL {}, configured {}{}\n",
        ms(&ttl["p50Ms"]),
        ms(&ttl["p95Ms"]),
        ms(&ttl["recommendedMs"]),
        ms(&ttl["currentMs"]),
        ttl["reusesBeyondCurrent"]
            .as_f64()
            .map_or(String::new(), |b| format!(
                " ({} of reuses come later)",
                units::percent(b, 1)
            ))
    ));
    for r in s["recommendations"].as_array().into_iter().flatten() {
        out.push_str(&format!("- {}\n", r.as_str().unwrap_or_default()));
    }
    out
}

/// Runs a `cache` subcommand.
pub fn run(action: CacheAction) -> anyhow::Result<i32> {
    match action {
        CacheAction::List {
            service,
            server,
            format,
        } => {
            let path = match &service {
                Some(s) => format!("/v1/cache?service={}", encode_component(s)),
                None => "/v1/cache".to_string(),
            };
            let v: Value = ApiClient::new(&server)?.get(&path)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => println!("{}", list_table(&v)),
            }
        }
        CacheAction::Show {
            space,
            service,
            server,
            format,
        } => {
            let mut path = format!("/v1/cache/{}", encode_component(&space));
            if let Some(s) = &service {
                path.push_str(&format!("?service={}", encode_component(s)));
            }
            let v: Value = ApiClient::new(&server)?.get(&path)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => print!("{}", show_table(&v)),
            }
        }
    }
    Ok(OK)
}
