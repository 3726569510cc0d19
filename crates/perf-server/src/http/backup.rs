//! `POST /v1/admin/backup` (admin scope): a consistent backup of the data directory, taken
//! while the server runs and ingests, streamed to the client (`ecosystem-perf backup --to
//! FILE`). The file is written in the data directory, opened, unlinked, and streamed from the
//! open handle, so nothing is left behind if the client goes away. Its header (log position,
//! snapshot time, digest) is also in the `x-backup-header` response header.

use crate::http::error::AppError;
use crate::http::schemas::ErrorBody;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::AsyncReadExt;

static BACKUPS: AtomicU64 = AtomicU64::new(0);
const CHUNK: usize = 1 << 16;

/// `POST /v1/admin/backup`.
#[utoipa::path(
    post,
    path = "/v1/admin/backup",
    tag = "operations",
    summary = "Back up the state",
    responses((status = 200, description = "A consistent copy of the state (SQLite database), streamed", body = String, content_type = "application/octet-stream"), (status = 503, description = "Not possible now", body = ErrorBody))
)]
pub async fn post(State(state): State<Arc<AppState>>) -> Result<Response, AppError> {
    if !state.durable.config.store.url.is_empty() {
        return Err(AppError::Conflict(
            "this server's store is PostgreSQL (store.url): a backup file holds a SQLite store; back the database up with its own tools (pg_dump, or continuous archiving)".into(),
        ));
    }
    let n = BACKUPS.fetch_add(1, Ordering::Relaxed);
    let path = std::path::Path::new(&state.durable.config.server.data_dir)
        .join(format!("backup-http-{}-{n}.backup", std::process::id()));
    let (header, file) = {
        let inner = path.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let path = inner;
            let header = state.durable.backup(&path)?;
            let file = std::fs::File::open(&path)?;
            std::fs::remove_file(&path)?;
            Ok((header, file))
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| {
            let _ = std::fs::remove_file(&path);
            AppError::Internal(e)
        })?
    };
    let file = tokio::fs::File::from_std(file);
    let stream = futures_util::stream::unfold(file, |mut f| async move {
        let mut buf = vec![0u8; CHUNK];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(k) => {
                buf.truncate(k);
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    let meta = serde_json::to_string(&header).map_err(|e| AppError::Internal(e.into()))?;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"ecosystem-perf.backup\"",
        )
        .header("x-backup-header", meta)
        .body(Body::from_stream(stream))
        .map_err(|e| AppError::Internal(e.into()))
}
