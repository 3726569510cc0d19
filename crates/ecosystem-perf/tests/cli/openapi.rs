//! `ecosystem-perf openapi`, the real binary: offline, it prints the document the server
//! serves (pinned in `docs/openapi.json`), or writes it with `--out`; a path it cannot
//! write is a clear error naming the path, and a failing exit code.

use crate::common::*;
use std::process::Command;

fn pinned() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn prints_the_pinned_document_offline() {
    let out = Command::new(bin()).arg("openapi").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), pinned());
}

#[test]
fn writes_it_to_a_file_and_refuses_a_path_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    let out = Command::new(bin())
        .args(["openapi", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pinned());
    let bad = dir.path().join("no/such/dir/openapi.json");
    let out = Command::new(bin())
        .args(["openapi", "--out"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no/such/dir/openapi.json"), "{err}");
    assert!(!bad.exists());
}
