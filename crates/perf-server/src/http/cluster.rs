//! `GET /v1/cluster`: how this replica stores and ingests — embedded (local log) or on the
//! cluster's NATS JetStream stream, with the stream's state: connected, the last sequence
//! applied here, the stream's end and the lag between them, the partitions applied here.
//! `/metrics` carries the same lag (`ecosystem_perf_stream_lag_records`).

use crate::http::error::AppError;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;

/// `GET /v1/cluster`.
#[utoipa::path(
    get,
    path = "/v1/cluster",
    tag = "operations",
    summary = "Cluster status",
    responses((status = 200, description = "This replica, its leases and the stream", body = crate::durable::ClusterStatus))
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
) -> Result<Json<crate::durable::ClusterStatus>, AppError> {
    let status = tokio::task::spawn_blocking(move || state.durable.cluster_status())
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(status))
}

/// The stream's gauges for `/metrics` (nothing in embedded mode).
pub fn render_metrics(out: &mut String, status: &crate::durable::ClusterStatus) {
    use std::fmt::Write;
    let Some(s) = &status.stream else {
        return;
    };
    let _ = writeln!(
        out,
        "# HELP ecosystem_perf_stream_connected 1 while connected to a NATS server.\n# TYPE ecosystem_perf_stream_connected gauge\necosystem_perf_stream_connected {}",
        u8::from(s.connected)
    );
    let _ = writeln!(
        out,
        "# HELP ecosystem_perf_stream_applied_sequence The last ingest-stream sequence applied to this replica's aggregates.\n# TYPE ecosystem_perf_stream_applied_sequence gauge\necosystem_perf_stream_applied_sequence {}",
        s.applied_sequence
    );
    if let Some(lag) = s.lag_records {
        let _ = writeln!(
            out,
            "# HELP ecosystem_perf_stream_lag_records Records in the ingest stream not applied here yet.\n# TYPE ecosystem_perf_stream_lag_records gauge\necosystem_perf_stream_lag_records {lag}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP ecosystem_perf_stream_owned_partitions Partitions this replica applies.\n# TYPE ecosystem_perf_stream_owned_partitions gauge\necosystem_perf_stream_owned_partitions {}",
        s.owned_partitions.len()
    );
}
