//! `token hash` end to end: its output pasted into `auth.tokens` gives a server that knows
//! the token by digest only, and the scopes hold through the CLI (issue 14, item 3).

mod common;

use common::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn token_hash(secret: &str, args: &[&str]) -> std::process::Output {
    let mut child = Command::new(bin())
        .args(["token", "hash"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(secret.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_hashed_read_token_reads_and_cannot_start_a_rollout() {
    let read_secret = "viewer-secret-0123456789";
    let admin_secret = "admin-secret-0123456789";
    let read = token_hash(&format!("{read_secret}\n"), &["--name", "viewer"]);
    assert_eq!(read.status.code(), Some(0));
    let read_entry = String::from_utf8(read.stdout).unwrap();
    assert!(!read_entry.contains(read_secret));
    assert!(read_entry.contains("sha256: "), "{read_entry}");
    let admin = token_hash(admin_secret, &["--name", "ops", "--scopes", "admin"]);
    let admin_entry = String::from_utf8(admin.stdout).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("perf.yaml");
    std::fs::write(
        &config,
        format!("version: 1\nauth:\n  tokens:\n  {read_entry}  {admin_entry}"),
    )
    .unwrap();
    let check = Command::new(bin())
        .args(["config", "check"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let server = Server::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let start = [
        "rollout",
        "start",
        "--service",
        "qnet",
        "--baseline-version",
        "v1",
        "--canary-version",
        "v2",
    ];
    let with = |token: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--token", token]);
        server.cli(&all)
    };
    assert_eq!(with(read_secret, &["status"]).status.code(), Some(0));
    let refused = with(read_secret, &start);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("lacks the admin scope"), "{stderr}");
    let listed = with(read_secret, &["rollout", "list", "--format", "json"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("qnet"));
    assert_eq!(with(admin_secret, &start).status.code(), Some(0));
}

#[test]
fn token_hash_refuses_short_secrets_and_admin_tenant_tokens() {
    assert_eq!(token_hash("short", &[]).status.code(), Some(2));
    let out = token_hash(
        "a-long-enough-secret-123",
        &["--scopes", "admin", "--tenant", "dao-a"],
    );
    assert_eq!(out.status.code(), Some(2));
}
