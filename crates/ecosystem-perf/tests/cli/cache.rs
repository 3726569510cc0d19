//! `cache list` and `cache show` against a server: a space whose keys cycle through more
//! entries than its configured cache holds is told the size it needs and its short TTL.

use crate::common::*;
use crate::*;

#[test]
fn cache_list_and_show_read_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cache.yaml");
    std::fs::write(
        &config,
        "version: 1\ncache:\n  spaces:\n    - {space: \"qindex:search\", size: 500, ttl: 30s}\n",
    )
    .unwrap();
    let server = Server::start(
        dir.path(),
        &["--clock", "event", "--config", config.to_str().unwrap()],
    );
    // 3,000 keys, each key back every ~3,000 requests (one request per 20 ms: 60 s later),
    // plus 20 hot keys in between: a 500-entry LRU keeps only the hot ones; a 30 s TTL
    // drops every cycling key before it returns.
    let t0: i64 = 1_764_028_800_000;
    let mut events = String::new();
    for i in 0..30_000i64 {
        let key = if i % 4 == 0 {
            i % 20
        } else {
            1_000 + (i % 3_000)
        };
        let ts = t0 + i * 20;
        events.push_str(&format!(
            "{{\"ts\": {ts}, \"service\": \"qindex\", \"operation\": \"search\", \"latencyMs\": 4, \"cache\": \"{}\", \"cacheSpace\": \"qindex:search\", \"cacheKey\": \"q{key}\"}}\n",
            if i % 4 == 0 { "hit" } else { "miss" }
        ));
    }
    server.ingest_ndjson(dir.path(), "cache.ndjson", events);

    let out = server.cli(&["cache", "show", "qindex:search"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = text(&out);
    assert_golden("cache_show_search.txt", &table);
    assert!(
        table.contains("entries (now 500) would reach 85 %") && table.contains("raise it to 1m"),
        "{table}"
    );
    let out = server.cli(&["cache", "list"]);
    let list = text(&out);
    assert!(
        list.contains("hot set") && list.contains("qindex:search"),
        "{list}"
    );
    let v = json(&server.cli(&["cache", "show", "qindex:search", "--format", "json"]));
    assert_eq!(v["currentSize"], 500);
    let out = server.cli(&["cache", "show", "nosuch"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}
