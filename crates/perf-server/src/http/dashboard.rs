//! The dashboard: a page set compiled into the binary (no build step, no CDN, nothing fetched
//! at run time): `GET /` is the shell, `GET /assets/{file}` its script, style and the vendored
//! uPlot chart library (MIT, `dashboard/vendor/`), and RapiDoc (MIT), which renders the API
//! reference at `/api`. The screens (overview tiles with sparklines,
//! SLOs worst first and one SLO's budget and tiers, a service's latency, bottlenecks, routing
//! weights, ladder history and canaries, capacity and cost, risk and anomalies, go-live, DAO
//! subnets) live in `dashboard/app.js` and read the same API as everyone else, plus the
//! `/v1/stream` overview each second. A token can be passed as `/#token=…`: the page keeps it
//! for the tab and sends it as a bearer token. The page and assets are open (they hold no
//! data); every API call they make needs the token's scopes.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// The files under `/assets/`: name, media type, content.
const ASSETS: [(&str, &str, &str); 5] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("dashboard/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/app.css"),
    ),
    (
        "uplot.min.js",
        "text/javascript; charset=utf-8",
        include_str!("dashboard/vendor/uplot.min.js"),
    ),
    (
        "uplot.min.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/vendor/uplot.min.css"),
    ),
    (
        "rapidoc-min.js",
        "text/javascript; charset=utf-8",
        include_str!("dashboard/vendor/rapidoc-min.js"),
    ),
];

/// `GET /`.
#[utoipa::path(
    get,
    path = "/",
    tag = "ui",
    summary = "The dashboard",
    responses((status = 200, description = "The dashboard shell", body = String, content_type = "text/html"))
)]
pub async fn page() -> Html<&'static str> {
    Html(include_str!("dashboard/index.html"))
}

/// `GET /assets/{file}`.
#[utoipa::path(
    get,
    path = "/assets/{file}",
    tag = "ui",
    summary = "A dashboard asset",
    params(("file" = String, Path, description = "File name, e.g. `app.js`")),
    responses((status = 200, description = "A script, stylesheet or vendored library of the dashboard", body = String, content_type = "text/javascript"), (status = 404, description = "No such asset", body = String, content_type = "text/plain"))
)]
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, media_type, body)) => (
            [
                (header::CONTENT_TYPE, *media_type),
                // The files change with the binary: a browser may keep them for a short while.
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
