//! `token hash`: turns a secret read from standard input into the `auth.tokens` entry that
//! holds only its SHA-256 (the server compares digests), so configuration files and their
//! backups never carry the secret. The secret is read from standard input, not a flag, so
//! it stays out of shell history and process lists.

use crate::exit::{BadInput, OK};
use clap::Subcommand;
use std::io::Read;

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Read a token from standard input and print its `auth.tokens` entry with only the
    /// SHA-256 of the token, so the configuration never holds the secret.
    #[command(
        after_help = "Example: printf %s \"$PERF_TOKEN\" | ecosystem-perf token hash --name ci --scopes ingest,read\n\nScopes: ingest (send events), read (every GET and the gate/policy evaluations), admin (SLOs, baselines, rollouts; implies the others). --tenant confines the token to one tenant (DAO)."
    )]
    Hash {
        /// Who holds the token (shown in errors and logs).
        #[arg(long, default_value = "token")]
        name: String,
        /// Scopes, comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = ["ingest", "read", "admin"], default_value = "read")]
        scopes: Vec<String>,
        /// Confine the token to this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Runs a `token` subcommand.
pub fn run(action: TokenAction) -> anyhow::Result<i32> {
    match action {
        TokenAction::Hash {
            name,
            scopes,
            tenant,
        } => {
            let mut secret = String::new();
            std::io::stdin()
                .read_to_string(&mut secret)
                .map_err(|e| BadInput(format!("reading the token from standard input: {e}")))?;
            let secret = secret.trim_end_matches(['\n', '\r']);
            if secret.len() < 16 {
                return Err(BadInput(format!(
                    "the token on standard input has {} characters; use at least 16 (e.g. openssl rand -hex 24)",
                    secret.len()
                ))
                .into());
            }
            if tenant.is_some() && scopes.iter().any(|s| s == "admin") {
                return Err(BadInput("a tenant token cannot have the admin scope".into()).into());
            }
            let digest =
                perf_server::config::tokens::hex(&perf_server::config::tokens::digest(secret));
            let tenant = tenant
                .map(|t| format!(", tenant: {}", yaml_string(&t)))
                .unwrap_or_default();
            println!(
                "- {{name: {}, sha256: {digest}, scopes: [{}]{tenant}}}",
                yaml_string(&name),
                scopes.join(", ")
            );
            Ok(OK)
        }
    }
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}
