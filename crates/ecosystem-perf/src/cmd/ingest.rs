//! `ingest FILE…`: streams NDJSON files to the server in batches with a progress bar,
//! retrying while the server is unreachable, and prints what was accepted and rejected.
//! Rejections are reported with the file and line they came from. Files ending in `.gz` are
//! decompressed on the fly.

use crate::args::{Format, ServerArgs};
use crate::client::ApiClient;
use crate::exit::{BadInput, OK, PARTIAL};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::PathBuf;

/// Arguments of `ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// NDJSON files (one event per line).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Events per request.
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Default, serde::Serialize)]
struct Summary {
    accepted: u64,
    rejected: u64,
    errors: Vec<serde_json::Value>,
}

/// Runs `ingest`.
pub fn run(
    files: &[PathBuf],
    server: &ServerArgs,
    batch: usize,
    format: Format,
) -> anyhow::Result<i32> {
    if batch == 0 {
        return Err(BadInput("--batch must be at least 1".into()).into());
    }
    let client = ApiClient::new(server)?;
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut summary = Summary::default();
    for file in files {
        let f =
            std::fs::File::open(file).map_err(|e| BadInput(format!("{}: {e}", file.display())))?;
        // Progress counts bytes of the file as stored (compressed or not).
        let counted = bar.wrap_read(f);
        let reader: Box<dyn std::io::Read> = if file.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(counted))
        } else {
            Box::new(counted)
        };
        let mut lines = Vec::with_capacity(batch);
        let mut first_line = 1usize;
        let mut line_no = 0usize;
        for line in BufReader::new(reader).lines() {
            let line = line.map_err(|e| BadInput(format!("{}: {e}", file.display())))?;
            line_no += 1;
            lines.push(line);
            if lines.len() == batch {
                send(&client, file, first_line, &lines, &mut summary)?;
                lines.clear();
                first_line = line_no + 1;
                bar.set_message(format!("{} accepted", summary.accepted));
            }
        }
        if lines.iter().any(|l| !l.trim().is_empty()) {
            send(&client, file, first_line, &lines, &mut summary)?;
        }
    }
    bar.finish_and_clear();
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        Format::Table => {
            println!(
                "accepted {} · rejected {}",
                summary.accepted, summary.rejected
            );
            for e in summary.errors.iter().take(20) {
                println!(
                    "  {}:{} {}: {}",
                    e["file"].as_str().unwrap_or(""),
                    e["line"],
                    e["field"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(if summary.rejected > 0 { PARTIAL } else { OK })
}

fn send(
    client: &ApiClient,
    file: &std::path::Path,
    first_line: usize,
    lines: &[String],
    summary: &mut Summary,
) -> anyhow::Result<()> {
    if lines.iter().all(|l| l.trim().is_empty()) {
        return Ok(());
    }
    let body = lines.join("\n").into_bytes();
    let (_, answer) = client
        .post_ndjson("/v1/events", body)
        .with_context(|| format!("sending {}", file.display()))?;
    summary.accepted += answer["accepted"].as_u64().unwrap_or(0);
    summary.rejected += answer["rejected"].as_u64().unwrap_or(0);
    for e in answer["errors"].as_array().into_iter().flatten() {
        if summary.errors.len() < 100 {
            let index = e["index"].as_u64().unwrap_or(0) as usize;
            summary.errors.push(serde_json::json!({
                "file": file.display().to_string(),
                "line": first_line + index,
                "field": e["field"],
                "message": e["message"],
            }));
        }
    }
    Ok(())
}
