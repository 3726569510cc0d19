//! `store.url: postgres://…`: the real binary keeps its definitions, baselines, alert
//! history and snapshots in a real PostgreSQL server (started by the test) instead of the
//! SQLite file, and finds them there after a restart; a bad URL is a clear error.

use crate::common::*;
use crate::*;
use perf_store::testing::Postgres;

const SLO: &str = r#"{"name": "qnet-availability", "service": "qnet", "sli": "availability", "objective": 99.0, "window": "28d"}"#;

#[test]
fn a_server_on_postgres_keeps_its_state_there_across_a_restart() {
    let pg = Postgres::start();
    let url = pg.new_database("perf");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pg.yaml");
    std::fs::write(&config, format!("version: 1\nstore:\n  url: {url}\n")).unwrap();
    let data = dir.path().join("data");
    let args = ["--clock", "event", "--config", config.to_str().unwrap()];

    let server = Server::start(&data, &args);
    ingest_fixture(&server);
    let client = reqwest::blocking::Client::new();
    let put = client
        .put(format!("{}/v1/slos/qnet-availability", server.url))
        .header("content-type", "application/json")
        .body(SLO)
        .send()
        .unwrap();
    assert!(put.status().is_success(), "{}", put.text().unwrap());
    server.cli_ok(&[
        "baseline",
        "freeze",
        "--service",
        "qnet",
        "--window",
        "30d",
        "--id",
        "qnet-before",
    ]);
    let before = total_requests(&server.url);
    assert_eq!(before, 600);
    assert_eq!(server.terminate(), Some(0));

    // Everything went to PostgreSQL; the data directory holds only the ingest log.
    assert!(
        !data.join("perf.db").exists(),
        "no SQLite file next to a PostgreSQL store"
    );
    pg.psql(
        "perf",
        "DO $$ BEGIN
           IF (SELECT count(*) FROM slos WHERE name = 'qnet-availability') <> 1 THEN RAISE 'no SLO row'; END IF;
           IF (SELECT count(*) FROM documents WHERE kind = 'baseline' AND id = 'qnet-before') <> 1 THEN RAISE 'no baseline row'; END IF;
           IF (SELECT count(*) FROM snapshot) <> 1 THEN RAISE 'no snapshot row'; END IF;
         END $$",
    );

    let server = Server::start(&data, &args);
    assert_eq!(
        total_requests(&server.url),
        before,
        "the aggregates come back from the PostgreSQL snapshot"
    );
    let slos = json(&server.cli_ok(&["slo", "list", "--format", "json"]));
    assert!(
        slos.to_string().contains("qnet-availability"),
        "the SLO made over the API is back: {slos:#}"
    );
    let baselines = json(&server.cli_ok(&["baseline", "list", "--format", "json"]));
    assert!(
        baselines.to_string().contains("qnet-before"),
        "{baselines:#}"
    );
    // A backup file holds a SQLite store: refused, saying what to use instead.
    let out = server.cli(&[
        "backup",
        "--to",
        dir.path().join("x.backup").to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pg_dump"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_store_url_is_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.yaml");
    std::fs::write(&config, "version: 1\nstore:\n  url: mysql://db/perf\n").unwrap();
    let err = start_fails(&dir.path().join("data"), config.to_str().unwrap());
    assert!(err.contains("store.url"), "{err}");
    std::fs::write(
        &config,
        "version: 1\nstore:\n  url: postgres://db/perf\nbackup:\n  dir: /backups\n",
    )
    .unwrap();
    let err = start_fails(&dir.path().join("data"), config.to_str().unwrap());
    assert!(
        err.contains("backup.dir") && err.contains("pg_dump"),
        "{err}"
    );

    // Nobody listens there: the message names the store, without its password.
    std::fs::write(
        &config,
        "version: 1\nstore:\n  url: postgres://perf:s3cret@127.0.0.1:1/perf\n",
    )
    .unwrap();
    let err = start_fails(&dir.path().join("data"), config.to_str().unwrap());
    assert!(
        err.contains("opening the store at postgres://perf:***@127.0.0.1:1/perf"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}
