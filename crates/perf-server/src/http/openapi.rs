//! The API contract: every route is registered here, through `utoipa-axum`, together with
//! its OpenAPI 3.1 description (the `#[utoipa::path]` on each handler, the schemas derived
//! from the very types the handlers serialise), so a route cannot exist without being in
//! the document. `GET /v1/openapi.json` serves the document; `GET /api` renders it with the
//! vendored RapiDoc (MIT, `dashboard/vendor/`, loaded from `/assets/`, no CDN, fonts off).
//! Each operation's `security` names the scope [`auth::required_scope`] demands, so the
//! document and the authorisation cannot disagree either.

use crate::http::schemas::{ErrorBody, ErrorDetail};
use crate::http::{
    alerts, anomalies, auth, backup, baselines, cache, capacity, cluster, dashboard, drills, gates,
    golive, health, ingest, memory, policy, query, regressions, reports, risk, rollouts, routing,
    slo_corrections, slo_preview, slos, stream, tenants,
};
use crate::AppState;
use axum::http::{header, Method};
use axum::response::{Html, IntoResponse, Response};
use std::sync::{Arc, OnceLock};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, PathItem, RefOr, Schema};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The document's fixed part: title, description, tags, the error envelope and the bearer
/// scheme; the paths come from [`routes`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ecosystem-perf",
        description = "Performance control plane: ingest of request events and node resources, \
            rolling aggregates and queries, SLOs and error budgets, gates and canaries, routing \
            weights, operation policies, the degradation ladder, risk, capacity and cost, \
            DAO subnets, go-live. Errors answer `{\"error\": {\"code\", \"message\"}}`. With \
            tokens configured, every operation but the open ones needs a bearer token with \
            the scope named in its `security` (an `admin` token passes everywhere)."
    ),
    tags(
        (name = "ingest", description = "Events and resource samples in"),
        (name = "reports", description = "Overview, profiles, callers, ad-hoc and range queries"),
        (name = "slos", description = "SLOs, error budgets and alerts"),
        (name = "deploy", description = "Baselines, gates, canary rollouts, regressions"),
        (name = "control", description = "Routing weights, policies, the degradation ladder"),
        (name = "risk", description = "Callers' risk and anomalies"),
        (name = "capacity", description = "Forecasts, scaling plans, cost, caches"),
        (name = "tenants", description = "DAO subnets"),
        (name = "golive", description = "The go/no-go report and drills"),
        (name = "operations", description = "Health, metrics, backup, cluster, memory, stream"),
        (name = "ui", description = "The dashboard and these docs")
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Scopes)
)]
struct ApiDoc;

/// Every route of the server with its description. `app` adds the middleware and fallbacks.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(dashboard::page))
        .routes(routes!(dashboard::asset))
        .routes(routes!(docs_page))
        .routes(routes!(openapi_json))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(ingest::post_events))
        .routes(routes!(ingest::post_resources))
        .routes(routes!(reports::get_overview))
        .routes(routes!(memory::get_memory))
        .routes(routes!(reports::get_profile))
        .routes(routes!(reports::get_callers))
        .routes(routes!(query::get_query))
        .routes(routes!(query::get_range))
        .routes(routes!(slos::list))
        .routes(routes!(slo_preview::post))
        .routes(routes!(slos::get_one, slos::put, slos::delete))
        .routes(routes!(slo_corrections::list, slo_corrections::post))
        .routes(routes!(slo_corrections::delete))
        .routes(routes!(alerts::alerts))
        .routes(routes!(baselines::list, baselines::post))
        .routes(routes!(baselines::get_one, baselines::delete))
        .routes(routes!(gates::post))
        .routes(routes!(rollouts::list, rollouts::post))
        .routes(routes!(rollouts::get_one))
        .routes(routes!(rollouts::evaluate))
        .routes(routes!(regressions::get))
        .routes(routes!(anomalies::list))
        .routes(routes!(capacity::get_cost))
        .routes(routes!(cache::list))
        .routes(routes!(cache::get_one))
        .routes(routes!(golive::get))
        .routes(routes!(golive::post_freeze))
        .routes(routes!(golive::get_frozen))
        .routes(routes!(backup::post))
        .routes(routes!(cluster::get))
        .routes(routes!(drills::list, drills::post))
        .routes(routes!(drills::get_one))
        .routes(routes!(drills::stop))
        .routes(routes!(routing::get_weights))
        .routes(routes!(policy::post_evaluate))
        .routes(routes!(policy::get_degradation))
        .routes(routes!(risk::get_signals))
        .routes(routes!(risk::get_entity))
        .routes(routes!(capacity::get))
        .routes(routes!(capacity::get_plan))
        .routes(routes!(capacity::get_hpa))
        .routes(routes!(tenants::list))
        .routes(routes!(tenants::get_one))
        .routes(routes!(stream::stream))
}

/// The document, built once.
pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| finished(routes().split_for_parts().1))
}

/// The document as served (pretty JSON), built once.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        document()
            .to_pretty_json()
            .expect("the document serialises")
    })
}

/// Sets each operation's `security` to the scope [`auth::required_scope`] asks of it, and
/// adds the bearer scheme.
struct Scopes;

impl utoipa::Modify for Scopes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The `security` of an operation: none for the open ones, else the bearer token with the
/// scope the request needs.
fn security_of(method: &Method, path: &str) -> Vec<SecurityRequirement> {
    match auth::required_scope(method, path) {
        None => vec![SecurityRequirement::default()],
        Some(scope) => vec![SecurityRequirement::new(
            "bearer",
            [auth::scope_name(scope)],
        )],
    }
}

/// Applies [`security_of`] to every operation of `item` at `path` (paths with `{param}`
/// are checked with a sample value, as the auth layer sees a concrete path).
fn secure(path: &str, item: &mut PathItem) {
    let concrete = path.replace('{', "x").replace('}', "");
    let ops = [
        (Method::GET, item.get.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
    ];
    for (method, op) in ops {
        if let Some(op) = op {
            op.security = Some(security_of(&method, &concrete));
        }
    }
}

/// The document as served: every operation's security filled in, and flattened structs
/// opened (see `open_flattened`).
pub fn finished(mut doc: Document) -> Document {
    for (path, item) in doc.paths.paths.iter_mut() {
        secure(path, item);
    }
    open_flattened(doc)
}

/// A struct flattened into another (`#[serde(flatten)]`) becomes a member of an `allOf`; if
/// it refuses unknown fields (`additionalProperties: false`, from `deny_unknown_fields`,
/// right for it as a request body) no answer could match the composition, since each member
/// sees the other members' fields as unknown. Such members are opened.
fn open_flattened(mut doc: Document) -> Document {
    let value = serde_json::to_value(&doc).expect("the document serialises");
    let mut flattened = Vec::new();
    collect_all_of_refs(&value, &mut flattened);
    if let Some(components) = doc.components.as_mut() {
        for name in flattened {
            if let Some(RefOr::T(Schema::Object(schema))) = components.schemas.get_mut(&name) {
                schema.additional_properties = None;
            }
        }
    }
    doc
}

/// The component names referenced directly from an `allOf`.
fn collect_all_of_refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            if let Some(members) = o.get("allOf").and_then(|a| a.as_array()) {
                for m in members {
                    if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                        if let Some(name) = r.strip_prefix("#/components/schemas/") {
                            out.push(name.to_string());
                        }
                    }
                }
            }
            o.values().for_each(|c| collect_all_of_refs(c, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|c| collect_all_of_refs(c, out)),
        _ => {}
    }
}

/// `GET /v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "ui",
    summary = "The OpenAPI document",
    responses((status = 200, description = "This document, OpenAPI 3.1", content_type = "application/json", body = Object))
)]
pub async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
        .into_response()
}

/// `GET /api`: the document rendered for people (RapiDoc).
#[utoipa::path(
    get,
    path = "/api",
    tag = "ui",
    summary = "This API reference, rendered",
    responses((status = 200, description = "The API reference page", content_type = "text/html", body = String))
)]
pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("dashboard/api.html"))
}
