//! Starting the real binary as a server on a free port with its own data directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ecosystem-perf"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    pub child: Child,
    pub url: String,
    pub port: u16,
}

impl Server {
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        Self::start_on(data_dir, port, extra)
    }

    pub fn start_on(data_dir: &Path, port: u16, extra: &[&str]) -> Server {
        let mut child = Command::new(bin())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if reqwest::blocking::get(format!("{url}/readyz"))
                .is_ok_and(|r| r.status().is_success())
            {
                return Server { child, url, port };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("server did not become ready on {url}");
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .args(args)
            .args(["--server", &self.url])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    /// `cli`, asserting it exits 0 (its standard error shown otherwise).
    pub fn cli_ok(&self, args: &[&str]) -> Output {
        let out = self.cli(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Writes `events` (NDJSON) to `dir/name` and ingests it through the CLI.
    pub fn ingest_ndjson(&self, dir: &Path, name: &str, events: String) {
        let file = dir.join(name);
        std::fs::write(&file, events).unwrap();
        self.cli_ok(&["ingest", file.to_str().unwrap()]);
    }

    /// Plays 75 minutes of `service` on nodes n1–n3 (60 requests a minute each, 25–35 ms),
    /// node n2 eight times slower in minutes 62–65, five minutes at a time, each chunk
    /// followed by `anomaly incidents` (which evaluates the minutes that completed).
    pub fn play_slow_node(&self, dir: &Path, service: &str) {
        let t0: i64 = 1_767_225_600_000;
        let mut events = String::new();
        let mut state: u64 = 42;
        for minute in 0..75i64 {
            for node in ["n1", "n2", "n3"] {
                for i in 0..60i64 {
                    // xorshift: a deterministic jitter.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let mut latency = 25.0 + (state % 1_000) as f64 / 100.0;
                    if node == "n2" && (62..66).contains(&minute) {
                        latency *= 8.0;
                    }
                    events.push_str(&format!(
                        "{{\"ts\": {}, \"service\": \"{service}\", \"operation\": \"GET /x\", \"node\": \"{node}\", \"latencyMs\": {latency}}}\n",
                        t0 + minute * 60_000 + i * 1_000
                    ));
                }
            }
            if minute % 5 == 4 {
                let name = format!("{service}-{minute}.ndjson");
                self.ingest_ndjson(dir, &name, std::mem::take(&mut events));
                self.cli_ok(&["anomaly", "incidents", "--window", "3h"]);
            }
        }
    }

    /// SIGTERM and wait; returns the exit status code.
    pub fn terminate(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status.code()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn total_requests(url: &str) -> u64 {
    let v: serde_json::Value = reqwest::blocking::get(format!("{url}/v1/overview?window=35d"))
        .unwrap()
        .json()
        .unwrap();
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["requests"].as_u64().unwrap())
        .sum()
}

/// Compares with a golden file; `UPDATE_GOLDEN=1` rewrites it.
pub fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

/// `text` with every RFC 3339 timestamp (`2025-11-24T16:00:01.999Z`) replaced by `<time>`
/// padded to its width (tables keep their shape): for golden tables whose times depend on
/// when an evaluation cycle ran.
pub fn mask_timestamps(text: &str) -> String {
    let bytes = text.as_bytes();
    let is_stamp_start = |i: usize| {
        bytes.len() >= i + 20
            && bytes[i..i + 4].iter().all(u8::is_ascii_digit)
            && bytes[i + 4] == b'-'
            && bytes[i + 7] == b'-'
            && bytes[i + 10] == b'T'
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if is_stamp_start(i) {
            if let Some(z) = text[i..].find('Z') {
                out.push_str(&format!("{:<width$}", "<time>", width = z + 1));
                i += z + 1;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Runs `serve` on `data` with `config`, expecting it to refuse to start; its standard error.
pub fn start_fails(data: &Path, config: &str) -> String {
    let out = Command::new(bin())
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(data)
        .args(["--config", config])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "the server started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}
