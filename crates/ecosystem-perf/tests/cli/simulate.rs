//! `simulate`: the scenario tables.

use crate::common::*;
use crate::*;

#[test]
fn simulate_prints_the_scenario_tables() {
    let out = std::process::Command::new(bin())
        .args([
            "simulate", "overload", "--seeds", "1", "--format", "markdown",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = text(&out);
    assert!(
        md.starts_with("| strategy | goodput % of capacity |"),
        "{md}"
    );
    assert!(
        md.contains("| ecosystem-perf | ") && md.contains("| CoDel"),
        "{md}"
    );
    let out = std::process::Command::new(bin())
        .args(["simulate", "routing", "--seeds", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(bin())
        .args(["simulate", "chaos"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
