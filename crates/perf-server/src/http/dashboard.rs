//! The live dashboard at `/`: one static page (no build step, no external assets) that
//! subscribes to `/v1/stream` and renders the per-second overview, and polls the go-live
//! report (`/v1/golive`, every 15 s: verdict, the five gates, the evidence of those that do
//! not pass) and the anomaly incidents. A token can be passed in the URL fragment
//! (`/#token=…`) when the server requires one.

use axum::response::Html;

/// `GET /`.
pub async fn page() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}
