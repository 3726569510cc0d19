//! `GET /v1/stream`: a WebSocket of the typed envelopes of [`crate::effects::stream`].
//! Publishers never wait for clients: a client that falls more than the buffer behind, or
//! whose socket does not take a message within 5 s, is dropped.

use crate::http::schemas::ErrorBody;
use crate::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// The upgrade handler.
/// Over `server.limits.maxStreamClients` subscribers, 503.
#[utoipa::path(
    get,
    path = "/v1/stream",
    tag = "operations",
    summary = "Live stream (WebSocket)",
    responses((status = 101, description = "WebSocket: the overview every second and every decision as it is made"), (status = 400, description = "Not a WebSocket upgrade", body = ErrorBody))
)]
pub async fn stream(
    State(state): State<Arc<AppState>>,
    ws: WebSocketUpgrade,
) -> Result<Response, crate::http::error::AppError> {
    let max = state.durable.config.server.limits.max_stream_clients as u64;
    let clients = &state.durable.metrics.stream_clients;
    if clients.fetch_add(1, Ordering::SeqCst) >= max {
        clients.fetch_sub(1, Ordering::SeqCst);
        return Err(crate::http::error::AppError::RetryLater {
            message: format!("the stream has its {max} subscribers (server.limits.maxStreamClients); retry later"),
            retry_after_s: 5,
        });
    }
    let guard = StreamClient(state.clone());
    Ok(ws.on_upgrade(move |socket| async move {
        serve_client(state, socket).await;
        drop(guard);
    }))
}

/// Counts a subscriber until dropped (also when the upgrade never completes).
struct StreamClient(Arc<AppState>);

impl Drop for StreamClient {
    fn drop(&mut self) {
        self.0
            .durable
            .metrics
            .stream_clients
            .fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve_client(state: Arc<AppState>, socket: WebSocket) {
    let (mut sink, mut incoming) = socket.split();
    let mut rx = state.effects.bus.subscribe();
    let buffer = state.durable.config.server.limits.stream_buffer as u64;
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(text) => {
                    if rx.len() as u64 > buffer {
                        drop_slow(&state, &mut sink).await;
                        return;
                    }
                    let send = sink.send(Message::Text(text.as_ref().into()));
                    match tokio::time::timeout(Duration::from_secs(5), send).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return,
                        Err(_) => {
                            state.durable.metrics.stream_dropped.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    drop_slow(&state, &mut sink).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            frame = incoming.next() => match frame {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn drop_slow(
    state: &AppState,
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
) {
    state
        .durable
        .metrics
        .stream_dropped
        .fetch_add(1, Ordering::Relaxed);
    let close = axum::extract::ws::CloseFrame {
        code: 1008,
        reason: "client too slow; reconnect".into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        sink.send(Message::Close(Some(close))),
    )
    .await;
}
