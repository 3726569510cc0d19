//! `config`, `serve` and help: the documented default, checks naming the key, refusal of a public address without tokens, exit codes and examples in help.

use crate::common::*;
use crate::*;
use std::process::Command;

#[test]
fn config_default_and_check() {
    let out = Command::new(bin())
        .args(["config", "default"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, &out.stdout).unwrap();
    let out = Command::new(bin())
        .args(["config", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "version: 1\nserver:\n  listn: 127.0.0.1:1\n").unwrap();
    let out = Command::new(bin())
        .args(["config", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server") && err.contains("listn"), "{err}");
    // An empty file, one without a version, and a limit past its bound are refused too, each
    // naming where; a key path is said once.
    for (text, says) in [
        ("", "the configuration is empty"),
        ("server:\n  listen: 127.0.0.1:1\n", "version: missing"),
        (
            "version: 1\nserver:\n  limits:\n    maxBodyBytes: 100000000000000\n",
            "server.limits.maxBodyBytes: 100000000000000 is more than",
        ),
        (
            "version: 1\nviews:\n  - {name: v, dims: [service, colour]}\n",
            "views[0].dims[1]: unknown variant",
        ),
    ] {
        std::fs::write(&bad, text).unwrap();
        let out = Command::new(bin())
            .args(["config", "check"])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{text:?}: {err}");
        assert!(!err.contains("views[0].dims[1]: views[0]"), "{err}");
    }
}

#[test]
fn serve_refuses_a_public_address_without_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth.tokens"));
}

/// Logs written to a file (or a pipe) carry no terminal colour codes.
#[test]
fn logs_to_a_file_are_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("perf.yaml");
    // A token in plain text makes the server log a warning as it starts.
    std::fs::write(
        &config,
        "version: 1\nauth:\n  tokens:\n    - {name: ops, token: plain-text-secret-0123, scopes: [admin]}\n",
    )
    .unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = free_port();
    let mut child = Command::new(bin())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut text = String::new();
    while std::time::Instant::now() < deadline && !text.contains("plain text") {
        std::thread::sleep(std::time::Duration::from_millis(50));
        text = std::fs::read_to_string(&log_path).unwrap();
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("plain text"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in a log file: {text:?}"
    );
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let out = Command::new(bin()).arg("--help").output().unwrap();
    assert!(text(&out).contains("Exit codes"));
    // One table for every command: the codes commands use beyond 0–2 are in it.
    for code in ["  3  partial or inconclusive", "  4  policy evaluate"] {
        assert!(text(&out).contains(code), "{code}: {}", text(&out));
    }
    for cmd in ["serve", "demo", "ingest", "status", "profile"] {
        let out = Command::new(bin()).args([cmd, "--help"]).output().unwrap();
        assert!(
            text(&out).contains("Example"),
            "{cmd} --help has no example"
        );
    }
}
