//! The answer of a gate, online (`POST /v1/gates/evaluate`) and offline (`gate --format
//! json`): docs/ARCHITECTURE.md §6's `{deployment, passed, recommendation, violations}` with what was
//! compared and every metric's numbers beside it.

use super::gate::GateOutcome;
use serde::{Deserialize, Serialize};

/// What one side of a comparison was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SideInfo {
    /// Where it came from: a baseline id, a file, or a version's live traffic.
    pub source: String,
    /// Version, when one was selected or all its events share one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Requests.
    pub requests: u64,
}

/// A gate report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateReport {
    /// The candidate deployment (its version, or the name it was given).
    pub deployment: String,
    /// Service.
    pub service: String,
    /// Baseline side.
    pub baseline: SideInfo,
    /// Candidate side.
    pub candidate: SideInfo,
    /// Verdicts.
    #[serde(flatten)]
    pub outcome: GateOutcome,
}
