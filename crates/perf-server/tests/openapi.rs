//! The OpenAPI contract against the live server: every documented operation is called on a
//! real server holding the shared ecosystem fixture (plus a baseline, a rollout, a drill, a
//! frozen go-live set, an SLO made over the API and cache traffic), and every answer is
//! validated against the schema the document gives for its status and media type (JSON
//! Schema 2020-12, the dialect of OpenAPI 3.1). The table of calls must name every
//! operation of the document, so a new route without a call here fails; routes are
//! registered only through the document's router (`http/openapi.rs`), so a route cannot be
//! missing from the document. The document itself is pinned in `docs/openapi.json`
//! (`UPDATE_GOLDEN=1` rewrites it: review the diff, every change is an API change).

mod common;

use common::ecosystem::{ecosystem, evaluated};
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

fn document() -> Value {
    serde_json::to_value(perf_server::http::openapi::document()).unwrap()
}

/// Every `METHOD path` of the document.
fn operations(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    out
}

/// The schema of the answer `status` with media type `media` to `METHOD path`, made
/// self-contained (the document's components beside it, for its `$ref`s).
fn answer_schema(doc: &Value, op: &str, status: u16, media: &str) -> Option<Value> {
    let (method, path) = op.split_once(' ').unwrap();
    let response = &doc["paths"][path][method.to_lowercase()]["responses"][status.to_string()];
    assert!(
        !response.is_null(),
        "{op} answered {status}, which the document does not list"
    );
    let content = response.get("content")?;
    let schema = content
        .get(media)
        .unwrap_or_else(|| panic!("{op} {status} answered {media}, the document lists {content}"));
    let mut schema = schema["schema"].clone();
    let mut components = doc["components"].clone();
    let mut composed = BTreeSet::new();
    all_of_members(doc, &mut composed);
    close(&mut schema, false);
    let schemas = components["schemas"].as_object_mut().unwrap();
    for s in schemas.values_mut() {
        close(s, false);
    }
    // A component flattened into another is referenced from the `allOf` as an open copy,
    // and stays closed where it is an answer of its own.
    for name in &composed {
        let mut open = doc["components"]["schemas"][name].clone();
        close(&mut open, true);
        schemas.insert(format!("{name}__member"), open);
    }
    if let Value::Object(o) = &mut schema {
        o.insert("components".into(), components);
    }
    Some(schema)
}

/// The components referenced as members of an `allOf`.
fn all_of_members(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for m in o
                .get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(r) = m["$ref"].as_str() {
                    out.insert(r.trim_start_matches("#/components/schemas/").to_string());
                }
            }
            o.values().for_each(|c| all_of_members(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| all_of_members(c, out)),
        _ => {}
    }
}

/// Makes the validation strict: an object schema that lists its properties and says
/// nothing of others refuses undocumented fields (`unevaluatedProperties: false`, which
/// sees through `allOf`), so an answer field missing from the document fails. Members of
/// an `allOf` stay open: their container closes the whole.
fn close(schema: &mut Value, member: bool) {
    let Value::Object(o) = schema else {
        if let Value::Array(a) = schema {
            a.iter_mut().for_each(|c| close(c, false));
        }
        return;
    };
    let lists_fields = o.contains_key("properties") || o.contains_key("allOf");
    if lists_fields && !member && !o.contains_key("additionalProperties") {
        o.insert("unevaluatedProperties".into(), Value::Bool(false));
    }
    for (k, child) in o.iter_mut() {
        if k == "allOf" {
            for m in child.as_array_mut().unwrap() {
                if let Some(r) = m["$ref"].as_str() {
                    m["$ref"] = Value::String(format!("{r}__member"));
                }
                close(m, true);
            }
        } else if k != "components" {
            close(child, false);
        }
    }
}

/// Whether `body` matches the documented schema; the mismatches if not.
fn validate(doc: &Value, op: &str, status: u16, media: &str, body: &[u8]) -> Result<(), String> {
    let Some(schema) = answer_schema(doc, op, status, media) else {
        return Ok(());
    };
    if media != "application/json" {
        return Ok(());
    }
    let instance: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{op} {status}: not JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{op}: the schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(5)
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{op} {status}: the answer does not match its schema:\n{}\nanswer: {}",
        errors.join("\n"),
        serde_json::to_string(&instance)
            .unwrap()
            .chars()
            .take(600)
            .collect::<String>()
    ))
}

/// One call: the operation it exercises, the concrete request and the status expected.
struct Call {
    op: &'static str,
    method: &'static str,
    path: String,
    body: Option<(&'static str, String)>,
    status: u16,
}

fn call(op: &'static str, path: &str, status: u16) -> Call {
    Call {
        op,
        method: op.split_once(' ').unwrap().0,
        path: path.into(),
        body: None,
        status,
    }
}

fn with_body(op: &'static str, path: &str, media: &'static str, body: Value, status: u16) -> Call {
    Call {
        body: Some((media, body.to_string())),
        ..call(op, path, status)
    }
}

/// The calls, in an order where each finds what it needs (a rollout before its evaluation,
/// deletions last).
fn calls() -> Vec<Call> {
    let (_, resources) = ecosystem();
    let cache_events: Vec<String> = (0..400)
        .map(|i| {
            json!({"ts": common::ecosystem::T0 + 19 * common::ecosystem::MINUTE + i * 100,
                   "service": "qnet", "operation": "GET /feed", "node": "n0", "latencyMs": 3,
                   "cache": if i % 4 == 0 { "miss" } else { "hit" }, "cacheSpace": "feed",
                   "cacheKey": format!("k{}", i % 37)})
            .to_string()
        })
        .collect();
    vec![
        call("GET /", "/", 200),
        call("GET /assets/{file}", "/assets/app.js", 200),
        call("GET /assets/{file}", "/assets/nosuch.js", 404),
        call("GET /api", "/api", 200),
        call("GET /v1/openapi.json", "/v1/openapi.json", 200),
        call("GET /healthz", "/healthz", 200),
        call("GET /readyz", "/readyz", 200),
        call("GET /metrics", "/metrics", 200),
        Call {
            body: Some(("application/x-ndjson", cache_events.join("\n"))),
            ..call("POST /v1/events", "/v1/events", 200)
        },
        with_body(
            "POST /v1/events",
            "/v1/events",
            "application/json",
            json!([{"service": "qnet", "operation": "x", "latencyMs": -1}]),
            400,
        ),
        with_body(
            "POST /v1/resources",
            "/v1/resources",
            "application/json",
            serde_json::from_str(&resources).unwrap(),
            200,
        ),
        call("GET /v1/overview", "/v1/overview?window=20m", 200),
        call("GET /v1/overview", "/v1/overview?window=soon", 400),
        call("GET /v1/memory", "/v1/memory", 200),
        call(
            "GET /v1/services/{service}/profile",
            "/v1/services/qnet/profile?window=20m",
            200,
        ),
        call(
            "GET /v1/services/{service}/profile",
            "/v1/services/nosuch/profile",
            404,
        ),
        call(
            "GET /v1/services/{service}/callers",
            "/v1/services/qnet/callers?by=errors",
            200,
        ),
        call(
            "GET /v1/query",
            "/v1/query?view=service_node&service=qnet&window=20m&rollup=true&quantiles=0.5,0.99",
            200,
        ),
        call(
            "GET /v1/query/range",
            "/v1/query/range?view=service_node&service=qnet&window=20m&rollup=true&step=1m",
            200,
        ),
        call("GET /v1/slos", "/v1/slos", 200),
        call("GET /v1/slos/{name}", "/v1/slos/feed-availability", 200),
        call("GET /v1/slos/{name}", "/v1/slos/nosuch", 404),
        with_body(
            "PUT /v1/slos/{name}",
            "/v1/slos/feed-latency",
            "application/json",
            json!({"service": "qnet", "sli": "latency", "thresholdMs": 100, "objective": 99}),
            201,
        ),
        with_body(
            "PUT /v1/slos/{name}",
            "/v1/slos/feed-latency",
            "application/json",
            json!({"service": "qnet", "sli": "latency", "thresholdMs": 120, "objective": 99}),
            200,
        ),
        with_body(
            "POST /v1/slos/preview",
            "/v1/slos/preview",
            "application/json",
            json!({"service": "qnet", "sli": "availability", "objective": 99.5, "perTenant": true}),
            200,
        ),
        with_body(
            "POST /v1/slos/{name}/corrections",
            "/v1/slos/feed-latency/corrections",
            "application/json",
            json!({"id": "upgrade", "kind": "maintenance", "from": "2020-01-01T00:00:00Z",
                   "to": "2020-01-01T01:00:00Z", "reason": "database upgrade", "author": "ana"}),
            201,
        ),
        with_body(
            "POST /v1/slos/{name}/corrections",
            "/v1/slos/feed-latency/corrections",
            "application/json",
            json!({"id": "upgrade", "kind": "maintenance", "from": "2020-01-01T00:00:00Z",
                   "to": "2020-01-01T01:00:00Z", "reason": "again", "author": "ana"}),
            409,
        ),
        with_body(
            "PUT /v1/slos/{name}",
            "/v1/slos/journey",
            "application/json",
            json!({"kind": "composite", "objective": 99, "members": [{"slo": "feed-availability", "weight": 2}, {"slo": "feed-latency", "key": true}]}),
            201,
        ),
        call("GET /v1/slos/{name}", "/v1/slos/journey", 200),
        call("DELETE /v1/slos/{name}", "/v1/slos/journey", 204),
        call(
            "GET /v1/slos/{name}/corrections",
            "/v1/slos/feed-latency/corrections",
            200,
        ),
        call(
            "DELETE /v1/slos/{name}/corrections/{id}",
            "/v1/slos/feed-latency/corrections/upgrade",
            204,
        ),
        call("GET /v1/alerts", "/v1/alerts", 200),
        with_body(
            "POST /v1/baselines",
            "/v1/baselines",
            "application/json",
            json!({"service": "qnet", "version": "v1", "window": "20m", "id": "qnet-v1"}),
            201,
        ),
        call("GET /v1/baselines", "/v1/baselines", 200),
        call("GET /v1/baselines/{id}", "/v1/baselines/qnet-v1", 200),
        with_body(
            "POST /v1/gates/evaluate",
            "/v1/gates/evaluate",
            "application/json",
            json!({"service": "qnet", "candidateVersion": "v2", "baselineVersion": "v1", "window": "20m"}),
            200,
        ),
        with_body(
            "POST /v1/rollouts",
            "/v1/rollouts",
            "application/json",
            json!({"id": "qnet-v2", "service": "qnet", "baselineVersion": "v1", "canaryVersion": "v2"}),
            201,
        ),
        call("GET /v1/rollouts", "/v1/rollouts", 200),
        call("GET /v1/rollouts/{id}", "/v1/rollouts/qnet-v2", 200),
        call(
            "POST /v1/rollouts/{id}/evaluate",
            "/v1/rollouts/qnet-v2/evaluate",
            200,
        ),
        call("GET /v1/regressions", "/v1/regressions?days=3", 200),
        call("GET /v1/anomalies", "/v1/anomalies?window=1h", 200),
        call("GET /v1/cost", "/v1/cost", 200),
        call("GET /v1/cache", "/v1/cache", 200),
        call("GET /v1/cache/{space}", "/v1/cache/feed", 200),
        call("GET /v1/golive", "/v1/golive", 200),
        with_body(
            "POST /v1/golive/freeze",
            "/v1/golive/freeze",
            "application/json",
            json!({}),
            201,
        ),
        call("GET /v1/golive/frozen", "/v1/golive/frozen", 200),
        call("POST /v1/admin/backup", "/v1/admin/backup", 200),
        call("GET /v1/cluster", "/v1/cluster", 200),
        with_body(
            "POST /v1/drills",
            "/v1/drills",
            "application/json",
            json!({"service": "qnet", "kind": "restore", "id": "d1"}),
            201,
        ),
        call("GET /v1/drills", "/v1/drills", 200),
        call("GET /v1/drills/{id}", "/v1/drills/d1", 200),
        call("POST /v1/drills/{id}/stop", "/v1/drills/d1/stop", 200),
        call("GET /v1/routing/weights", "/v1/routing/weights", 200),
        call(
            "GET /v1/routing/weights",
            "/v1/routing/weights?service=qnet",
            200,
        ),
        call(
            "GET /v1/routing/weights",
            "/v1/routing/weights?service=qnet&format=envoy",
            200,
        ),
        call(
            "GET /v1/routing/weights",
            "/v1/routing/weights?service=qnet&format=nginx",
            200,
        ),
        call(
            "GET /v1/routing/weights",
            "/v1/routing/weights?format=nginx",
            400,
        ),
        with_body(
            "POST /v1/policy/evaluate",
            "/v1/policy/evaluate",
            "application/json",
            json!({"service": "qnet", "operation": "GET /feed", "tenant": "dao-a", "priority": "batch", "cacheable": true}),
            200,
        ),
        call("GET /v1/degradation", "/v1/degradation", 200),
        call("GET /v1/risk/signals", "/v1/risk/signals?minLevel=low", 200),
        call(
            "GET /v1/risk/entities/{id}",
            "/v1/risk/entities/caller-3",
            200,
        ),
        call("GET /v1/capacity/{service}", "/v1/capacity/qnet", 200),
        call(
            "GET /v1/capacity/{service}/plan",
            "/v1/capacity/qnet/plan",
            200,
        ),
        call(
            "GET /v1/capacity/{service}/hpa",
            "/v1/capacity/qnet/hpa",
            200,
        ),
        call(
            "GET /v1/capacity/{service}/hpa",
            "/v1/capacity/qnet/hpa?format=json",
            200,
        ),
        call("GET /v1/tenants", "/v1/tenants", 200),
        call(
            "GET /v1/tenants/{id}/evaluation",
            "/v1/tenants/dao-a/evaluation",
            200,
        ),
        // Error answers of other statuses: the same envelope.
        call("DELETE /v1/slos/{name}", "/v1/slos/feed-availability", 409),
        with_body(
            "PUT /v1/slos/{name}",
            "/v1/slos/feed-availability",
            "application/json",
            json!({"service": "qnet", "sli": "availability", "objective": 99}),
            409,
        ),
        with_body(
            "POST /v1/events",
            "/v1/events",
            "text/plain",
            json!({"service": "qnet"}),
            415,
        ),
        with_body(
            "POST /v1/slos/preview",
            "/v1/slos/preview",
            "text/plain",
            json!({"service": "qnet"}),
            415,
        ),
        call("DELETE /v1/slos/{name}", "/v1/slos/feed-latency", 204),
        call("DELETE /v1/baselines/{id}", "/v1/baselines/qnet-v1", 204),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_its_schema_says_on_a_live_server() {
    let doc = document();
    let t = evaluated().await;
    let server = serve_real(&t.state).await;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();

    let calls = calls();
    let mut called: BTreeSet<String> = calls.iter().map(|c| c.op.to_string()).collect();
    called.insert("GET /v1/stream".into()); // a WebSocket: checked below
    let documented = operations(&doc);
    let untested: Vec<&String> = documented.difference(&called).collect();
    assert!(
        untested.is_empty(),
        "documented operations with no call here: {untested:?}"
    );
    let unknown: Vec<&String> = called.difference(&documented).collect();
    assert!(
        unknown.is_empty(),
        "calls of operations the document lacks: {unknown:?}"
    );

    let mut failures = Vec::new();
    for c in calls {
        let mut req = client.request(c.method.parse().unwrap(), format!("{base}{}", c.path));
        if let Some((media, body)) = &c.body {
            req = req.header("content-type", *media).body(body.clone());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let media = resp
            .headers()
            .get("content-type")
            .map(|v| {
                v.to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        let body = resp.bytes().await.unwrap();
        if status != c.status {
            failures.push(format!(
                "{} {}: {status}, not {}: {}",
                c.method,
                c.path,
                c.status,
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(500)
                    .collect::<String>()
            ));
            continue;
        }
        if let Err(e) = validate(&doc, c.op, status, &media, &body) {
            failures.push(e);
            continue;
        }
        // Strictness, on every object answer (compositions too): a field the document
        // does not list fails.
        let free_form = ["GET /v1/openapi.json", "GET /v1/capacity/{service}/hpa"];
        if media == "application/json" && !free_form.contains(&c.op) {
            if let Ok(Value::Object(mut o)) = serde_json::from_slice::<Value>(&body) {
                o.insert("undocumentedField".into(), Value::Bool(true));
                let extra = Value::Object(o).to_string();
                if validate(&doc, c.op, status, &media, extra.as_bytes()).is_ok() {
                    failures.push(format!(
                        "{} {}: an undocumented field passes",
                        c.method, c.path
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // The stream is a WebSocket: the upgrade is the documented 101.
    let url = format!("ws://{}/v1/stream", server.addr);
    let (_, handshake) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(handshake.status().as_u16(), 101);
    assert!(doc["paths"]["/v1/stream"]["get"]["responses"]["101"].is_object());
    server.stop().await;
}

#[test]
fn each_operation_names_the_scope_the_auth_layer_asks() {
    let doc = document();
    let scope = |method: &str, path: &str| doc["paths"][path][method]["security"][0].clone();
    assert_eq!(scope("get", "/healthz"), json!({}));
    assert_eq!(scope("get", "/v1/openapi.json"), json!({}));
    assert_eq!(scope("post", "/v1/events"), json!({"bearer": ["ingest"]}));
    assert_eq!(scope("get", "/v1/slos/{name}"), json!({"bearer": ["read"]}));
    assert_eq!(
        scope("post", "/v1/policy/evaluate"),
        json!({"bearer": ["read"]})
    );
    assert_eq!(
        scope("put", "/v1/slos/{name}"),
        json!({"bearer": ["admin"]})
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for op in operations(&doc) {
        let (method, path) = op.split_once(' ').unwrap();
        assert!(
            doc["paths"][path][method.to_lowercase()]["security"].is_array(),
            "{op} has no security"
        );
    }
}

#[test]
fn the_document_is_openapi_3_1_and_pinned() {
    let doc = document();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let actual = format!("{}\n", perf_server::http::openapi::document_json());
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing; run with UPDATE_GOLDEN=1", path.display()));
    assert!(
        actual == expected,
        "the OpenAPI document changed (an API change): UPDATE_GOLDEN=1 rewrites {}; review the diff",
        path.display()
    );
}

#[test]
fn no_route_is_registered_beside_the_document() {
    // `app()` takes its routes from `openapi::routes()` only; a `.route(` there would add
    // an endpoint the document does not describe.
    let src = include_str!("../src/http/mod.rs");
    let app_fn = &src[src.find("pub fn app(").unwrap()..];
    let app_fn = &app_fn[..app_fn.find("\n}\n").unwrap()];
    assert!(
        !app_fn.contains(".route("),
        "a route registered beside the document"
    );
    assert!(
        !app_fn.contains(".nest("),
        "routes nested beside the document"
    );
}

#[test]
fn the_validation_refuses_undocumented_fields_and_wrong_types() {
    let doc = document();
    let ok = |op: &str, body: Value| {
        validate(
            &doc,
            op,
            200,
            "application/json",
            body.to_string().as_bytes(),
        )
    };
    assert!(ok("GET /healthz", json!({"status": "ok"})).is_ok());
    assert!(ok("GET /healthz", json!({"status": "ok", "extra": 1})).is_err());
    assert!(ok("GET /healthz", json!({"status": 1})).is_err());
    assert!(ok("GET /healthz", json!({})).is_err());
}
