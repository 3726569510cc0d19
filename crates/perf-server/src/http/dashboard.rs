//! The live dashboard at `/`: one static page (no build step, no external assets) that
//! subscribes to `/v1/stream` and renders the per-second overview. A token can be passed in
//! the URL fragment (`/#token=…`) when the server requires one.

use axum::response::Html;

/// `GET /`.
pub async fn page() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}
