//! `tenant list` and `tenant show ID`.

use crate::args::{Format, ServerArgs};
use crate::client::{encode_component, ApiClient};
use crate::exit::OK;
use clap::Subcommand;
use perf_core::tenant::TenantEvaluation;

/// `tenant` subcommands.
#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Every tenant seen in the last hour.
    #[command(after_help = "Example: ecosystem-perf tenant list")]
    List {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One tenant's evaluation.
    #[command(after_help = "Example: ecosystem-perf tenant show dao-alpha --format json")]
    Show {
        /// Tenant id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Runs a `tenant` subcommand.
pub fn run(action: TenantAction) -> anyhow::Result<i32> {
    match action {
        TenantAction::List { server, format } => {
            let v: serde_json::Value = ApiClient::new(&server)?.get("/v1/tenants")?;
            let list: Vec<TenantEvaluation> = serde_json::from_value(v["tenants"].clone())?;
            let costs: Vec<serde_json::Value> = v["tenants"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t["cost"].clone())
                .collect();
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => println!("{}", crate::tables::tenants(&list, &costs)),
            }
        }
        TenantAction::Show { id, server, format } => {
            let v: serde_json::Value = ApiClient::new(&server)?
                .get(&format!("/v1/tenants/{}/evaluation", encode_component(&id)))?;
            let e: TenantEvaluation = serde_json::from_value(v.clone())?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => println!("{}", crate::tables::tenant_detail(&e, &v["cost"])),
            }
        }
    }
    Ok(OK)
}
