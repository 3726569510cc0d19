//! `capacity show`, `plan` and `cost` against a server.

use crate::common::*;
use crate::*;

#[test]
fn capacity_show_plan_and_cost_read_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    // 40 minutes of a service growing 2 % per minute, 0.001 per request, on two nodes
    // declaring 4 rps each.
    let t0: i64 = 1_764_028_800_000;
    let mut events = String::new();
    for minute in 0..40i64 {
        let n = (60.0 * 1.02f64.powi(minute as i32)).round() as i64;
        for i in 0..n {
            let ts = t0 + minute * 60_000 + i * 60_000 / n;
            events.push_str(&format!(
                "{{\"ts\": {ts}, \"service\": \"grow\", \"operation\": \"GET /x\", \"latencyMs\": 12.5, \"cost\": 0.001}}\n"
            ));
        }
    }
    server.ingest_ndjson(dir.path(), "grow.ndjson", events);
    let end = t0 + 40 * 60_000 - 1_000;
    let resources = format!(
        "[{{\"ts\": {end}, \"service\": \"grow\", \"node\": \"a\", \"capacityRps\": 4.0}},
          {{\"ts\": {end}, \"service\": \"grow\", \"node\": \"b\", \"capacityRps\": 4.0}}]"
    );
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/resources", server.url))
        .header("content-type", "application/json")
        .body(resources)
        .send()
        .unwrap();
    assert!(r.status().is_success());

    let out = server.cli(&["capacity", "show", "grow", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["stepMinutes"], 1);
    assert_eq!(v["capacityRps"], 8.0);
    let out = server.cli(&["capacity", "show", "grow"]);
    let table = text(&out);
    assert_golden("capacity_show_grow.txt", &table);
    // The horizon reads the same in the sentence and in the table, as a duration; the
    // trend of a model of minutes is per hour; the table has a header.
    let horizon = perf_core::duration::format_duration(
        (v["horizonHours"].as_f64().unwrap() * 3_600_000.0).round() as i64,
    );
    assert!(
        table.contains("headroom now")
            && table.contains(&format!("1m / {horizon}"))
            && table.contains(&format!("in the next {horizon} "))
            && table.contains("trend per hour")
            && table.contains("measure"),
        "{table}"
    );

    let out = server.cli(&["capacity", "plan", "grow"]);
    assert_eq!(out.status.code(), Some(0));
    assert_golden("capacity_plan_grow.txt", &text(&out));
    assert!(
        text(&out).contains("target utilisation set by: headroom"),
        "{}",
        text(&out)
    );
    // The table lists where the replica count changes, not each step of the schedule.
    let plan = json(&server.cli(&["capacity", "plan", "grow", "--format", "json"]));
    let steps = plan["schedule"].as_array().unwrap();
    let changes = 1 + steps
        .windows(2)
        .filter(|w| w[0]["replicas"] != w[1]["replicas"])
        .count();
    let rows = text(&out)
        .lines()
        .filter(|l| l.contains('T') && l.contains('Z'))
        .count();
    assert_eq!(rows, changes, "{} steps: {}", steps.len(), text(&out));
    assert!(steps.len() > changes, "{}", steps.len());

    let out = server.cli(&["capacity", "cost", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let requests: f64 = (0..40).map(|m| (60.0 * 1.02f64.powi(m)).round()).sum();
    let mtd = v["services"][0]["monthToDate"].as_f64().unwrap();
    assert!(
        (mtd - requests * 0.001).abs() < 1e-6,
        "{mtd} vs {}",
        requests * 0.001
    );
    let out = server.cli(&["capacity", "cost"]);
    assert!(text(&out).contains("GET /x"), "{}", text(&out));

    let out = server.cli(&["capacity", "show", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
}
