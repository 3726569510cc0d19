//! `ecosystem-perf openapi`: the API contract without a server, for client generators and
//! API-diff checks in CI. It prints the very document the server serves at
//! `GET /v1/openapi.json` (built from the same router, `perf_server::http::openapi`).

use clap::Args;
use std::io::Write;

/// Arguments of `openapi`.
#[derive(Debug, Args)]
pub struct OpenapiArgs {
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

/// Prints or writes the document.
pub fn run(args: &OpenapiArgs) -> anyhow::Result<i32> {
    let text = format!("{}\n", perf_server::http::openapi::document_json());
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(0)
}
