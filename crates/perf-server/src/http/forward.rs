//! Reads from any replica when partitions are owned by leases (`cluster.ownership:
//! leases`): a replica's aggregates hold its own partitions' services only, so
//!
//! - a request about one service (a `{service}` in the path, `?service=`, the `service` of
//!   a gate, policy or new rollout body, the service of an SLO or a rollout named in the
//!   path) is forwarded to the owner
//!   of that service's partition and its answer returned as is (header
//!   `x-ecosystem-perf-replica` names who answered);
//! - `GET /v1/overview`, `GET /v1/slos` and the risk reads ask every owner and merge: each
//!   service's row comes from its owner (rows are per service, so the merge is exact; a
//!   caller's risk is merged over services as one engine merges it); partitions whose
//!   owner is unknown or did not answer are listed in `missingPartitions`.
//!
//! A forwarded request carries `x-ecosystem-perf-forwarded` and is answered where it lands,
//! never forwarded again. Authentication runs before this layer on the first replica and
//! again on the owner (the `Authorization` header travels with the request). Everything
//! else is answered by the replica asked (go-live on every partition's aggregates,
//! `control::golive`), but the tenant reads, which go to the leader: it evaluates tenants on
//! every partition (`control::tenants`). Open alerts and anomalies are merged too; an anomaly
//! incident spanning services of two owners shows as two incidents. The cache spaces are
//! merged with their hot set judged again over every owner's (`cache_merge`).

use crate::http::error::AppError;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Query, RawPathParams, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Marks a request one replica forwarded to another.
pub const FORWARDED: &str = "x-ecosystem-perf-forwarded";
/// Names the replica that answered a forwarded or merged request.
pub const SERVED_BY: &str = "x-ecosystem-perf-replica";
/// Request headers that travel with a forwarded request.
const KEPT_HEADERS: [&str; 4] = ["authorization", "content-type", "accept", "idempotency-key"];

/// Where a request is answered.
enum Target {
    Here,
    Owner(String),
    Overview,
    Slos,
    /// `GET /v1/risk/signals?minLevel=`.
    Risks(String),
    /// `GET /v1/risk/entities/{id}`.
    RiskOf(String),
    /// Evaluated by the leader on every partition (tenants).
    Leader,
    /// `GET /v1/alerts`.
    Alerts,
    /// `GET /v1/anomalies` without `?service=`.
    Anomalies,
    /// `GET /v1/cache` (`None`) or `/v1/cache/{space}` without `?service=`.
    Cache(Option<String>),
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new)
}

/// The middleware (see the module doc).
pub async fn route(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if !state.durable.partitioned() || req.headers().contains_key(FORWARDED) {
        return next.run(req).await;
    }
    // Ingest and the replica's own health are answered here, without looking further (the
    // ingest path is the hot one: no blocking task per batch).
    let local = req.extensions().get::<MatchedPath>().is_some_and(|m| {
        matches!(
            m.as_str(),
            "/v1/events" | "/v1/resources" | "/healthz" | "/readyz" | "/metrics" | "/v1/cluster"
        )
    });
    if local {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let template = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let params: HashMap<String, String> = {
        use axum::extract::FromRequestParts;
        RawPathParams::from_request_parts(&mut parts, &())
            .await
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let query: HashMap<String, String> = Query::try_from_uri(&parts.uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    // Only the bodies that name a service are read here (bounded by the body limit).
    let body = if parts.method == Method::POST
        && matches!(
            template.as_str(),
            "/v1/gates/evaluate" | "/v1/policy/evaluate" | "/v1/rollouts"
        )
        || parts.method == Method::PUT && template == "/v1/slos/{name}"
    {
        match axum::body::to_bytes(body, state.durable.config.server.limits.max_body_bytes).await {
            Ok(b) => b,
            Err(e) => {
                return AppError::BadRequest(format!("reading the body: {e}")).into_response()
            }
        }
    } else {
        let req = Request::from_parts(parts, body);
        let target = target_off_thread(&state, template, params, query, None).await;
        return dispatch(state, target, req, next).await;
    };
    let body = Some((parts.headers.clone(), body));
    let target = target_off_thread(&state, template, params, query, body.clone()).await;
    let body = body.map(|b| b.1).unwrap_or_default();
    dispatch(
        state,
        target,
        Request::from_parts(parts, Body::from(body)),
        next,
    )
    .await
}

/// [`target`] on a blocking thread: it may lock the engine or read the store.
async fn target_off_thread(
    state: &Arc<AppState>,
    template: String,
    params: HashMap<String, String>,
    query: HashMap<String, String>,
    body: Option<(axum::http::HeaderMap, Bytes)>,
) -> Target {
    let s = state.clone();
    tokio::task::spawn_blocking(move || target(&s, &template, &params, &query, body.as_ref()))
        .await
        .unwrap_or(Target::Here)
}

fn target(
    state: &AppState,
    template: &str,
    params: &HashMap<String, String>,
    query: &HashMap<String, String>,
    body: Option<&(axum::http::HeaderMap, Bytes)>,
) -> Target {
    if let Some(service) = params.get("service") {
        return Target::Owner(service.clone());
    }
    if template == "/v1/slos/{name}" {
        // A new or changed SLO goes to the owner of its service, which counts it.
        if let Some(slo) = body.and_then(|(h, b)| crate::http::slos::parse_body(h, b).ok()) {
            return Target::Owner(slo.service);
        }
    }
    match template {
        "/v1/overview" => return Target::Overview,
        "/v1/tenants" | "/v1/tenants/{id}/evaluation" => return Target::Leader,
        "/v1/alerts" => return Target::Alerts,
        "/v1/anomalies" if !query.contains_key("service") => return Target::Anomalies,
        "/v1/cache" if query.is_empty() => return Target::Cache(None),
        "/v1/cache/{space}" if query.is_empty() => {
            return Target::Cache(params.get("space").cloned())
        }
        "/v1/risk/signals" => {
            let min = query
                .get("minLevel")
                .cloned()
                .unwrap_or_else(|| "moderate".into());
            // A bad level or parameter is refused here, by the handler.
            let known = ["low", "moderate", "high", "critical"].contains(&min.as_str());
            return if known && query.keys().all(|k| k == "minLevel") {
                Target::Risks(min)
            } else {
                Target::Here
            };
        }
        "/v1/risk/entities/{id}" => {
            return Target::RiskOf(params.get("id").cloned().unwrap_or_default())
        }
        "/v1/slos" => return Target::Slos,
        "/v1/rollouts/{id}" | "/v1/rollouts/{id}/evaluate" => {
            let id = params.get("id").cloned().unwrap_or_default();
            let service = crate::control::rollouts::load(&state.durable, &id)
                .ok()
                .map(|r| r.spec.service);
            return service.map_or(Target::Here, Target::Owner);
        }
        "/v1/slos/{name}" => {
            let name = params.get("name").cloned().unwrap_or_default();
            let known = state
                .durable
                .engine()
                .slos()
                .get(&name)
                .map(|e| e.def.selector.service.clone());
            // An SLO made over the API on another replica is in the store, not in this
            // replica's engine.
            let service = known.or_else(|| {
                let stored = state.durable.store().list_slos().ok()?;
                let (_, json) = stored.into_iter().find(|(n, _)| *n == name)?;
                let v: serde_json::Value = serde_json::from_str(&json).ok()?;
                v["service"].as_str().map(str::to_string)
            });
            return service.map_or(Target::Here, Target::Owner);
        }
        _ => {}
    }
    if let Some(service) = query.get("service") {
        return Target::Owner(service.clone());
    }
    if let Some(service) = body
        .and_then(|(_, b)| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(|v| v["service"].as_str().map(str::to_string))
    {
        return Target::Owner(service);
    }
    Target::Here
}

async fn dispatch(state: Arc<AppState>, target: Target, req: Request, next: Next) -> Response {
    match target {
        Target::Here => next.run(req).await,
        Target::Owner(service) if state.durable.owns_service(&service) => next.run(req).await,
        Target::Owner(service) => to_owner(&state, &service, req).await,
        Target::Leader if state.durable.is_leader() => next.run(req).await,
        Target::Leader => to_leader(&state, req).await,
        Target::Overview => merged(&state, req, None, |s, g| Ok(merge_overview(s, g))).await,
        Target::Slos => merged(&state, req, None, |s, g| Ok(merge_slos(s, g))).await,
        Target::Alerts => merged(&state, req, None, |s, g| Ok(merge_alerts(s, g))).await,
        Target::Anomalies => merged(&state, req, None, |_, g| Ok(merge_anomalies(g))).await,
        // A space's report is its owner's; its share and hotness are judged over every
        // owner's spaces, so a single space is picked from the merged list.
        Target::Cache(space) => {
            merged(&state, req, Some("/v1/cache"), move |_, g| {
                let all = crate::http::cache_merge::merge_cache(g.answers.values());
                match space {
                    None => Ok(all),
                    Some(name) => crate::http::cache_merge::pick_space(&all, &name)
                        .ok_or_else(|| {
                            AppError::NotFound(format!(
                                "no cache space {name:?} on any replica: no event with cacheSpace (or a cacheKey on an operation of that name) in the last 24 hours"
                            ))
                        }),
                }
            })
            .await
        }
        Target::Risks(min) => {
            merged(&state, req, Some(RISKS_OF_ALL), move |_, g| {
                let entities = merge_risks(g);
                let tracked = entities.len();
                let shown: Vec<serde_json::Value> = entities
                    .into_iter()
                    .filter(|e| {
                        crate::control::risk::rank(e["riskLevel"].as_str().unwrap_or_default())
                            >= crate::control::risk::rank(&min)
                    })
                    .collect();
                Ok(serde_json::json!({
                    "minLevel": min,
                    "trackedCallers": tracked,
                    "entities": shown,
                    "levels": {"low": "< 25", "moderate": "25–50", "high": "50–75", "critical": "≥ 75"},
                }))
            })
            .await
        }
        Target::RiskOf(id) => {
            merged(&state, req, Some(RISKS_OF_ALL), move |_, g| {
                merge_risks(g)
                    .into_iter()
                    .find(|e| e["entityId"] == id.as_str())
                    .ok_or_else(|| {
                        AppError::NotFound(format!(
                            "caller {id:?} is not among the tracked callers of the last hour (heavy hitters by requests, errors, cost or slow requests)"
                        ))
                    })
            })
            .await
        }
    }
}

/// The partition owners and replica URLs, read again when incomplete (off the async
/// threads: it may ask the store).
async fn complete_map(state: &Arc<AppState>) -> crate::durable::ClusterMap {
    let map = state.durable.cluster_map();
    let partitions = state.durable.config.cluster.nats.partitions;
    if (0..partitions).all(|p| map.owners.get(&p).is_some_and(|o| map.urls.contains_key(o))) {
        return map;
    }
    let d = state.durable.clone();
    tokio::task::spawn_blocking(move || d.cluster_map_complete())
        .await
        .unwrap_or(map)
}

/// The base URL of the replica owning `service`'s partition, with its id.
fn owner_of(
    state: &AppState,
    map: &crate::durable::ClusterMap,
    service: &str,
) -> Result<(String, String), AppError> {
    let p = state.durable.partition_of(service).unwrap_or(0);
    let unknown = || {
        AppError::RetryLater {
        message: format!(
            "partition {p} (service {service:?}) has no owner right now (it is changing hands); retry"
        ),
        retry_after_s: 1,
    }
    };
    let owner = map.owners.get(&p).ok_or_else(unknown)?;
    let url = map.urls.get(owner).ok_or_else(unknown)?;
    Ok((owner.clone(), url.clone()))
}

/// Sends `req` to `base` marked as forwarded.
async fn send(
    state: &AppState,
    base: &str,
    method: Method,
    path_and_query: &str,
    headers: &axum::http::HeaderMap,
    body: Bytes,
) -> Result<reqwest::Response, reqwest::Error> {
    let timeout = Duration::from_millis(state.durable.config.server.limits.request_timeout as u64);
    let mut rb = client()
        .request(method, format!("{base}{path_and_query}"))
        .timeout(timeout)
        .header(FORWARDED, &state.durable.replica_id);
    for name in KEPT_HEADERS {
        if let Some(v) = headers.get(name) {
            rb = rb.header(name, v);
        }
    }
    rb.body(body).send().await
}

async fn to_leader(state: &Arc<AppState>, req: Request) -> Response {
    let map = complete_map(state).await;
    let target = map
        .leader
        .as_ref()
        .and_then(|l| Some((l.clone(), map.urls.get(l)?.clone())));
    match target {
        Some((leader, base)) => relay(state, &leader, &base, "the leader", req).await,
        None => AppError::RetryLater {
            message: "no replica leads right now (the leader lease is changing hands); retry"
                .into(),
            retry_after_s: 1,
        }
        .into_response(),
    }
}

async fn to_owner(state: &Arc<AppState>, service: &str, req: Request) -> Response {
    let map = complete_map(state).await;
    let (owner, base) = match owner_of(state, &map, service) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    relay(
        state,
        &owner,
        &base,
        &format!("owning service {service:?}"),
        req,
    )
    .await
}

/// Sends `req` to replica `to` at `base` and answers what it answers.
async fn relay(state: &AppState, to: &str, base: &str, role: &str, req: Request) -> Response {
    let owner = to.to_string();
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, state.durable.config.server.limits.max_body_bytes)
        .await
    {
        Ok(b) => b,
        Err(e) => return AppError::BadRequest(format!("reading the body: {e}")).into_response(),
    };
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    match send(state, base, parts.method, &pq, &parts.headers, body).await {
        Ok(resp) => {
            let status = resp.status();
            let content_type = resp.headers().get("content-type").cloned();
            let retry_after = resp.headers().get("retry-after").cloned();
            let bytes = resp.bytes().await.unwrap_or_default();
            let mut out = Response::new(Body::from(bytes));
            *out.status_mut() = status;
            if let Some(ct) = content_type {
                out.headers_mut().insert("content-type", ct);
            }
            if let Some(ra) = retry_after {
                out.headers_mut().insert("retry-after", ra);
            }
            if let Ok(v) = HeaderValue::from_str(&owner) {
                out.headers_mut().insert(SERVED_BY, v);
            }
            out
        }
        Err(e) => AppError::RetryLater {
            message: format!("replica {owner} ({role}) did not answer ({e}); retry"),
            retry_after_s: 1,
        }
        .into_response(),
    }
}

/// What every owner answered (replica id → JSON), and the partitions left out.
struct Gathered {
    answers: BTreeMap<String, serde_json::Value>,
    owners: BTreeMap<u32, String>,
}

/// What every owner is asked for a merged risk read: every caller it tracks.
const RISKS_OF_ALL: &str = "/v1/risk/signals?minLevel=low";

/// Asks every owner for the same read (or for `ask`), then merges with `merge`.
async fn merged(
    state: &Arc<AppState>,
    req: Request,
    ask: Option<&str>,
    merge: impl FnOnce(&AppState, Gathered) -> Result<serde_json::Value, AppError>,
) -> Response {
    let map = complete_map(state).await;
    let partitions = state.durable.config.cluster.nats.partitions;
    let pq = match ask {
        Some(path) => path.to_string(),
        None => req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
    };
    let replicas: BTreeSet<&String> = map.owners.values().collect();
    let asks = replicas.iter().map(|id| {
        let (id, pq, headers, base) = (
            (*id).clone(),
            pq.clone(),
            req.headers().clone(),
            map.urls.get(*id).cloned(),
        );
        async move {
            let Some(base) = base else {
                tracing::warn!(replica = %id, "an owner has no advertised URL; its partitions are left out of a merged read");
                return (id, None);
            };
            let answer = match send(state, &base, Method::GET, &pq, &headers, Bytes::new()).await {
                Ok(r) if r.status() == StatusCode::OK => match r.json::<serde_json::Value>().await {
                    Ok(v) => Some(v),
                    Err(e) => {
                        tracing::warn!(replica = %id, error = %e, "an owner's answer to a merged read was not JSON");
                        None
                    }
                },
                Ok(r) => {
                    // An owner's own refusal (a bad window, a token without the scope) is
                    // the answer: pass it on rather than merging around it.
                    if r.status().is_client_error() {
                        return (
                            id,
                            Some(Err((r.status(), r.bytes().await.unwrap_or_default()))),
                        );
                    }
                    tracing::warn!(replica = %id, status = %r.status(), "an owner did not answer a merged read");
                    None
                }
                Err(e) => {
                    tracing::warn!(replica = %id, error = %e, "an owner did not answer a merged read");
                    None
                }
            };
            (id, answer.map(Ok))
        }
    });
    let mut answers = BTreeMap::new();
    let mut missing: BTreeSet<u32> = (0..partitions)
        .filter(|p| !map.owners.contains_key(p))
        .collect();
    for (id, answer) in futures_util::future::join_all(asks).await {
        match answer {
            Some(Ok(v)) => {
                answers.insert(id, v);
            }
            Some(Err((status, body))) => {
                let mut out = Response::new(Body::from(body));
                *out.status_mut() = status;
                out.headers_mut()
                    .insert("content-type", HeaderValue::from_static("application/json"));
                return out;
            }
            None => missing.extend(
                map.owners
                    .iter()
                    .filter(|(_, o)| **o == id)
                    .map(|(p, _)| *p),
            ),
        }
    }
    let mut value = match merge(
        state,
        Gathered {
            answers,
            owners: map.owners.clone(),
        },
    ) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    if !missing.is_empty() {
        value["missingPartitions"] = serde_json::json!(missing);
    }
    axum::Json(value).into_response()
}

/// Overviews: every owner's service rows (each service has one owner), series per view
/// summed.
fn merge_overview(_: &AppState, g: Gathered) -> serde_json::Value {
    let mut window = serde_json::Value::Null;
    let mut services: Vec<serde_json::Value> = Vec::new();
    let mut views: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for v in g.answers.into_values() {
        window = v["window"].clone();
        services.extend(v["services"].as_array().cloned().unwrap_or_default());
        for view in v["views"].as_array().cloned().unwrap_or_default() {
            let name = view["view"].as_str().unwrap_or_default().to_string();
            if !views.contains_key(&name) {
                order.push(name.clone());
            }
            let e = views.entry(name).or_default();
            e.0 += view["series"].as_u64().unwrap_or(0);
            e.1 += view["overflowEvents"].as_u64().unwrap_or(0);
        }
    }
    services.sort_by(|a, b| a["service"].as_str().cmp(&b["service"].as_str()));
    let views: Vec<serde_json::Value> = order
        .into_iter()
        .map(|name| {
            let (series, overflow) = views[&name];
            serde_json::json!({"view": name, "series": series, "overflowEvents": overflow})
        })
        .collect();
    serde_json::json!({"window": window, "services": services, "views": views})
}

/// SLO lists: each SLO as the owner of its service answers it (an SLO defined or deleted
/// over the API is known to its owner; the others may hold it without counts), in the order
/// the replicas list them.
fn merge_slos(state: &AppState, g: Gathered) -> serde_json::Value {
    let mut order: Vec<String> = Vec::new();
    let mut by_replica: BTreeMap<&String, BTreeMap<String, &serde_json::Value>> = BTreeMap::new();
    let mut any: BTreeMap<String, &serde_json::Value> = BTreeMap::new();
    for (id, answer) in &g.answers {
        let listed = by_replica.entry(id).or_default();
        for slo in answer["slos"].as_array().into_iter().flatten() {
            let name = slo["name"].as_str().unwrap_or_default().to_string();
            if !any.contains_key(&name) {
                order.push(name.clone());
                any.insert(name.clone(), slo);
            }
            listed.insert(name, slo);
        }
    }
    let slos: Vec<serde_json::Value> = order
        .iter()
        .filter_map(|name| {
            let service = any[name]["service"].as_str().unwrap_or_default();
            let owner = state
                .durable
                .partition_of(service)
                .and_then(|p| g.owners.get(&p));
            match owner.and_then(|o| by_replica.get(o)) {
                // The owner answered: its version, or nothing when it has no such SLO.
                Some(listed) => listed.get(name).map(|v| (*v).clone()),
                None => Some(any[name].clone()),
            }
        })
        .collect();
    serde_json::json!({"slos": slos})
}

/// Callers' risk from every owner, merged as one engine merges it over services
/// (`control::risk`): each caller's signals, correlations and evidence of all its services
/// in service order (signals then strongest first), its score the highest of them; callers
/// by score, then name. Each service has one owner, so nothing is counted twice.
fn merge_risks(g: Gathered) -> Vec<serde_json::Value> {
    use serde_json::Value;
    let service_of = |v: &Value| v["service"].as_str().unwrap_or_default().to_string();
    let mut by: BTreeMap<String, Value> = BTreeMap::new();
    for answer in g.answers.into_values() {
        for e in answer["entities"].as_array().cloned().unwrap_or_default() {
            let id = e["entityId"].as_str().unwrap_or_default().to_string();
            match by.get_mut(&id) {
                None => {
                    by.insert(id, e);
                }
                Some(m) => {
                    for key in ["signals", "correlations", "evidence"] {
                        let more = e[key].as_array().cloned().unwrap_or_default();
                        if let Some(list) = m[key].as_array_mut() {
                            list.extend(more);
                        }
                    }
                    if e["riskScore"].as_f64() > m["riskScore"].as_f64() {
                        m["riskScore"] = e["riskScore"].clone();
                        m["riskLevel"] = e["riskLevel"].clone();
                    }
                }
            }
        }
    }
    let mut out: Vec<Value> = by
        .into_values()
        .map(|mut e| {
            for key in ["signals", "correlations", "evidence"] {
                if let Some(list) = e[key].as_array_mut() {
                    list.sort_by_key(service_of);
                }
            }
            if let Some(list) = e["signals"].as_array_mut() {
                list.sort_by(|a, b| {
                    let (x, y) = (a["strength"].as_f64(), b["strength"].as_f64());
                    y.unwrap_or(0.0).total_cmp(&x.unwrap_or(0.0))
                });
            }
            e
        })
        .collect();
    out.sort_by(|a, b| {
        let (x, y) = (a["riskScore"].as_f64(), b["riskScore"].as_f64());
        y.unwrap_or(0.0)
            .total_cmp(&x.unwrap_or(0.0))
            .then_with(|| a["entityId"].as_str().cmp(&b["entityId"].as_str()))
    });
    out
}

/// Open alerts: each SLO's from the owner of its service; the history is the shared store's,
/// the same from every replica.
fn merge_alerts(state: &AppState, g: Gathered) -> serde_json::Value {
    let mut alerts = Vec::new();
    // The history (and the open alerts read from it) is the shared store's: every owner
    // answers the same; the first answer that has one is taken.
    let mut history = serde_json::Value::Array(Vec::new());
    let (mut open, mut next) = (
        serde_json::Value::Array(Vec::new()),
        serde_json::Value::Null,
    );
    for (id, answer) in &g.answers {
        if history.as_array().is_some_and(Vec::is_empty) {
            history = answer["history"].clone();
            next = answer["next"].clone();
        }
        if open.as_array().is_some_and(Vec::is_empty) {
            open = answer["open"].clone();
        }
        for a in answer["alerts"].as_array().into_iter().flatten() {
            let service = a["service"].as_str().unwrap_or_default();
            let owner = state
                .durable
                .partition_of(service)
                .and_then(|p| g.owners.get(&p));
            if owner == Some(id) {
                alerts.push(a.clone());
            }
        }
    }
    // In the definitions' order, as one server lists them (SLOs this replica does not know,
    // made over the API elsewhere, last).
    let order: Vec<String> = state
        .durable
        .engine()
        .slos()
        .entries()
        .iter()
        .map(|e| e.def.name.clone())
        .collect();
    alerts.sort_by_key(|a| {
        let name = a["slo"].as_str().unwrap_or_default().to_string();
        (
            order.iter().position(|n| *n == name).unwrap_or(usize::MAX),
            name,
        )
    });
    serde_json::json!({"alerts": alerts, "open": open, "history": history, "next": next})
}

/// Anomalies and incidents of every owner (each detects on its own services: an incident
/// that spans services of two owners is two incidents here), detectors summed.
fn merge_anomalies(g: Gathered) -> serde_json::Value {
    let (mut anomalies, mut incidents) = (Vec::new(), Vec::new());
    let (mut detectors, mut unmonitored) = (0u64, 0u64);
    for answer in g.answers.values() {
        anomalies.extend(answer["anomalies"].as_array().cloned().unwrap_or_default());
        incidents.extend(answer["incidents"].as_array().cloned().unwrap_or_default());
        detectors += answer["detectors"].as_u64().unwrap_or(0);
        unmonitored += answer["unmonitored"].as_u64().unwrap_or(0);
    }
    // RFC 3339 times in UTC with a fixed precision sort as text.
    let at = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    anomalies.sort_by_key(|a| at(a, "at"));
    incidents.sort_by_key(|i| at(i, "start"));
    serde_json::json!({
        "anomalies": anomalies,
        "incidents": incidents,
        "detectors": detectors,
        "unmonitored": unmonitored,
    })
}
