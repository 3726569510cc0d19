//! `backup`, `restore` and `selfcheck`: ecosystem-perf's own state, kept safe.
//!
//! - `backup --to FILE` asks the running server for a consistent backup
//!   (`POST /v1/admin/backup`, admin scope: a fresh snapshot and SQLite's online copy, taken
//!   while it ingests) and checks the file it wrote whole before saying so.
//! - `restore --from FILE --data-dir DIR` checks the file (magic, format, length, SHA-256),
//!   writes it into a new or empty directory and opens it as the server would (integrity
//!   check, the snapshot decodes); `serve --data-dir DIR` then starts on it.
//! - `selfcheck --from FILE` proves a backup restores: into a temporary directory, a server
//!   started on it in this process, a fixed set of answers compared with the live server's —
//!   per view the query of the hour before the backup's snapshot, the baselines, the rollouts,
//!   the SLO names — and the restore time and the data's age reported.

use crate::args::ServerArgs;
use crate::client::ApiClient;
use crate::exit::{BadInput, FAILURE, OK};
use clap::Args;
use perf_server::config::Config;
use perf_server::AppState;
use std::path::PathBuf;
use std::time::Instant;

/// `backup` arguments.
#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Where to write the backup.
    #[arg(long)]
    pub to: PathBuf,
}

/// `restore` arguments.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    pub from: PathBuf,
    /// A new or empty data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
}

/// `selfcheck` arguments.
#[derive(Debug, Args)]
pub struct SelfcheckArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The backup to check (e.g. the newest file of `backup.dir`).
    #[arg(long)]
    pub from: PathBuf,
    /// The configuration the live server runs (its SLOs and views); default: the built-in.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs `backup`.
pub fn backup(args: &BackupArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let (bytes, _) = ApiClient::new(&args.server)?.post_to_file("/v1/admin/backup", &args.to)?;
    let check = tempfile::tempdir()?;
    let header = perf_server::durable::backup::extract(&args.to, &check.path().join("perf.db"))
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.to.display()))?;
    eprintln!(
        "backup written to {} ({bytes} bytes, checked): log position {}, snapshot at {}, {:.1} s",
        args.to.display(),
        header.snapshot_seq,
        perf_core::time::format_rfc3339(header.snapshot_taken_at_ms),
        started.elapsed().as_secs_f64()
    );
    Ok(OK)
}

/// Runs `restore`.
pub fn restore(args: &RestoreArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let header = perf_server::durable::backup::restore(&args.from, &args.data_dir)
        .map_err(|e| BadInput(format!("{}: {e:#}", args.from.display())))?;
    eprintln!(
        "restored into {} in {:.1} s: log position {}, snapshot at {}; start it with `ecosystem-perf serve --data-dir {}`",
        args.data_dir.display(),
        started.elapsed().as_secs_f64(),
        header.snapshot_seq,
        perf_core::time::format_rfc3339(header.snapshot_taken_at_ms),
        args.data_dir.display()
    );
    Ok(OK)
}

/// One compared answer.
#[derive(Debug, serde::Serialize)]
struct Check {
    answer: String,
    identical: bool,
    detail: String,
}

/// Runs `selfcheck`.
pub fn selfcheck(args: &SelfcheckArgs) -> anyhow::Result<i32> {
    let mut config = match &args.config {
        Some(p) => Config::load(p).map_err(|e| BadInput(format!("{}: {e}", p.display())))?,
        None => Config::default(),
    };
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let started = Instant::now();
    let header = perf_server::durable::backup::restore(&args.from, &data)
        .map_err(|e| BadInput(format!("{}: {e:#}", args.from.display())))?;
    config.server.data_dir = data.display().to_string();
    config.server.listen = "127.0.0.1:0".into();
    config.auth.tokens.clear();
    config.detach();
    let state = AppState::open(config)?;
    let restore_s = started.elapsed().as_secs_f64();
    let views: Vec<String> = state
        .durable
        .engine()
        .views()
        .iter()
        .map(|v| v.def.name.clone())
        .collect();

    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(perf_server::run(state, listener, async move {
        let _ = stopped.await;
    }));
    let restored = ApiClient::new(&ServerArgs {
        server: url,
        token: None,
    })?;
    let live = ApiClient::new(&args.server)?;

    // The hour before the snapshot, on whole minutes: every event of it was acknowledged
    // before the backup, so both sides must count it alike.
    let to = header.snapshot_taken_at_ms.div_euclid(60_000) * 60_000;
    let from = to - 3_600_000;
    let rfc = perf_core::time::format_rfc3339;
    let mut answers: Vec<String> = views
        .iter()
        .map(|v| format!("/v1/query?view={v}&from={}&to={}", rfc(from), rfc(to)))
        .collect();
    answers.extend(["/v1/baselines".to_string(), "/v1/rollouts".to_string()]);
    let mut checks = Vec::new();
    for path in &answers {
        let a: anyhow::Result<serde_json::Value> = live.get(path);
        let b: anyhow::Result<serde_json::Value> = restored.get(path);
        checks.push(compare(path, a, b));
    }
    let names = |c: &ApiClient| -> anyhow::Result<serde_json::Value> {
        let v: serde_json::Value = c.get("/v1/slos")?;
        let mut names: Vec<String> = v["slos"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        Ok(serde_json::json!(names))
    };
    checks.push(compare(
        "SLO names (/v1/slos)",
        names(&live),
        names(&restored),
    ));
    let _ = stop.send(());
    let _ = runtime.block_on(server);

    let age_s = (perf_server::durable::system_now() - header.snapshot_taken_at_ms) as f64 / 1000.0;
    let mut t = crate::tables::new_table(&["answer", "identical", "detail"]);
    for c in &checks {
        t.add_row(vec![
            c.answer.clone(),
            if c.identical { "yes" } else { "NO" }.to_string(),
            c.detail.clone(),
        ]);
    }
    println!("{t}");
    println!(
        "restore {restore_s:.2} s · backup log position {} · snapshot at {} (data age {age_s:.0} s at the wall clock) · {} of {} answers identical",
        header.snapshot_seq,
        rfc(header.snapshot_taken_at_ms),
        checks.iter().filter(|c| c.identical).count(),
        checks.len()
    );
    Ok(if checks.iter().all(|c| c.identical) {
        OK
    } else {
        FAILURE
    })
}

fn compare(
    answer: &str,
    live: anyhow::Result<serde_json::Value>,
    restored: anyhow::Result<serde_json::Value>,
) -> Check {
    let (identical, detail) = match (live, restored) {
        (Ok(a), Ok(b)) if a == b => (true, format!("{} bytes of JSON", a.to_string().len())),
        (Ok(a), Ok(b)) => (false, first_difference(&a, &b, "")),
        (Err(e), _) => (false, format!("the live server: {e:#}")),
        (_, Err(e)) => (false, format!("the restored copy: {e:#}")),
    };
    Check {
        answer: answer.to_string(),
        identical,
        detail,
    }
}

/// Where two JSON values first differ, as a path.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: &str) -> String {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if w == v => {}
                    Some(w) => return first_difference(v, w, &format!("{at}.{k}")),
                    None => return format!("{at}.{k}: only live"),
                }
            }
            match y.keys().find(|k| !x.contains_key(*k)) {
                Some(k) => format!("{at}.{k}: only restored"),
                None => format!("{at}: differs"),
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find(|(_, (v, w))| v != w)
            .map_or(format!("{at}: differs"), |(i, (v, w))| {
                first_difference(v, w, &format!("{at}[{i}]"))
            }),
        (Value::Array(x), Value::Array(y)) => {
            format!("{at}: {} items live, {} restored", x.len(), y.len())
        }
        _ => format!("{at}: live {a}, restored {b}"),
    }
}
