//! Every validation rule of docs/ARCHITECTURE.md §5, each with the field it must name.

use super::*;
use proptest::prop_oneof;

const NOW: i64 = 1_700_000_000_000;

fn bounds() -> TimeBounds {
    TimeBounds {
        now_ms: NOW,
        max_age_ms: 86_400_000,
        max_future_ms: 300_000,
    }
}

fn one(json: &str) -> Result<Event, FieldError> {
    let body = format!("[{json}]");
    let (mut events, answer) =
        decode_events(body.as_bytes(), BodyFormat::Json, &bounds(), 100).unwrap();
    if let Some(e) = answer.errors.into_iter().next() {
        return Err(e);
    }
    Ok(events.remove(0))
}

fn field_of(json: &str) -> String {
    one(json).expect_err(json).field
}

#[test]
fn a_full_event_is_read_with_defaults() {
    let e = one(r#"{"service":"qnet","operation":"GET /feed","latencyMs":12.5}"#).unwrap();
    assert_eq!(e.ts_ms, NOW);
    assert_eq!(e.node, "default");
    assert_eq!(e.class, RequestClass::Read);
    assert!(e.ok);
    let e = one(r#"{"ts":"2023-11-14T22:13:00Z","service":"s","operation":"o","latencyMs":0,"status":503,
        "class":"complex_write","cache":"hit","cost":0.1,"stages":{"db":3},"tenant":"dao-1","extra":1}"#)
    .unwrap();
    assert_eq!(e.ts_ms, NOW - 20_000);
    assert!(!e.ok);
    assert_eq!(e.cache, Some(CacheOutcome::Hit));
    assert_eq!(e.stages, vec![("db".to_string(), 3.0)]);
    assert_eq!(e.tenant.as_deref(), Some("dao-1"));
}

#[test]
fn each_rule_names_its_field() {
    let cases = [
        (r#"{"operation":"o","latencyMs":1}"#, "service"),
        (r#"{"service":"","operation":"o","latencyMs":1}"#, "service"),
        (r#"{"service":"s","latencyMs":1}"#, "operation"),
        (r#"{"service":"s","operation":"o"}"#, "latencyMs"),
        (
            r#"{"service":"s","operation":"o","latencyMs":-1}"#,
            "latencyMs",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":"fast"}"#,
            "latencyMs",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":1,"class":"huge"}"#,
            "class",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":1,"cache":"maybe"}"#,
            "cache",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":1,"cost":-0.5}"#,
            "cost",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":1,"status":99}"#,
            "status",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":1,"ok":"yes"}"#,
            "ok",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":1,"ts":"noon"}"#,
            "ts",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":1,"ts":1000}"#,
            "ts",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":1,"ts":1700000900000}"#,
            "ts",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":1,"stages":{"db":-2}}"#,
            "stages",
        ),
        (
            r#"{"service":"s","operation":"o","latencyMs":1,"stages":[1]}"#,
            "stages",
        ),
        (r#"{"service":1,"operation":"o","latencyMs":1}"#, "service"),
    ];
    for (json, field) in cases {
        assert_eq!(field_of(json), field, "{json}");
    }
    let long = "x".repeat(129);
    assert_eq!(
        field_of(&format!(
            r#"{{"service":"{long}","operation":"o","latencyMs":1}}"#
        )),
        "service"
    );
}

#[test]
fn out_of_range_numbers_are_malformed_not_infinite() {
    let e = one(r#"{"service":"s","operation":"o","latencyMs":1e999}"#).unwrap_err();
    assert_eq!(e.field, "latencyMs");
}

#[test]
fn partial_acceptance_keeps_valid_elements() {
    let body = br#"[{"service":"s","operation":"o","latencyMs":1},{"service":"s"},3]"#;
    let (events, answer) = decode_events(body, BodyFormat::Json, &bounds(), 100).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((answer.accepted, answer.rejected), (1, 2));
    assert_eq!(answer.errors[0].index, 1);
    assert_eq!(answer.errors[1].index, 2);
}

#[test]
fn ndjson_lines_fail_alone() {
    let body = b"{\"service\":\"s\",\"operation\":\"o\",\"latencyMs\":1}\n{oops\n\n{\"service\":\"s\",\"operation\":\"o\",\"latencyMs\":2}\n";
    let (events, answer) = decode_events(body, BodyFormat::Ndjson, &bounds(), 100).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(answer.rejected, 1);
    assert_eq!(answer.errors[0].index, 1);
}

#[test]
fn whole_body_errors() {
    let b = bounds();
    assert!(matches!(
        decode_events(b"", BodyFormat::Json, &b, 10),
        Err(IngestError::Empty)
    ));
    assert!(matches!(
        decode_events(b"[]", BodyFormat::Json, &b, 10),
        Err(IngestError::Empty)
    ));
    assert!(matches!(
        decode_events(b"[{", BodyFormat::Json, &b, 10),
        Err(IngestError::Malformed(_))
    ));
    assert!(matches!(
        decode_events(b"42", BodyFormat::Json, &b, 10),
        Err(IngestError::Malformed(_))
    ));
    assert!(matches!(
        decode_events(b"[1,2,3]", BodyFormat::Json, &b, 2),
        Err(IngestError::TooManyElements { .. })
    ));
    assert!(matches!(
        decode_events(b"\n\n", BodyFormat::Ndjson, &b, 2),
        Err(IngestError::Empty)
    ));
}

#[test]
fn at_most_one_hundred_errors_are_listed() {
    let body = format!("[{}]", vec!["{}"; 250].join(","));
    let (_, answer) = decode_events(body.as_bytes(), BodyFormat::Json, &bounds(), 1000).unwrap();
    assert_eq!(answer.rejected, 250);
    assert_eq!(answer.errors.len(), 100);
}

#[test]
fn resource_rules() {
    let b = bounds();
    let ok = br#"[{"service":"s","node":"n","cpu":0.5,"memory":1,"inflight":3,"capacityRps":100}]"#;
    let (samples, _) = decode_resources(ok, BodyFormat::Json, &b, 10).unwrap();
    assert_eq!(samples[0].capacity_rps, Some(100.0));
    for (json, field) in [
        (r#"[{"service":"s"}]"#, "node"),
        (r#"[{"service":"s","node":"n","cpu":1.5}]"#, "cpu"),
        (r#"[{"service":"s","node":"n","inflight":-1}]"#, "inflight"),
        (
            r#"[{"service":"s","node":"n","capacityRps":0}]"#,
            "capacityRps",
        ),
    ] {
        let (_, answer) = decode_resources(json.as_bytes(), BodyFormat::Json, &b, 10).unwrap();
        assert_eq!(answer.errors[0].field, field, "{json}");
    }
}

/// String fields borrow from the body unless they hold escapes (no allocation per field on
/// the ingest and offline paths); escaped text is decoded, not borrowed verbatim.
#[test]
fn string_fields_borrow_unless_escaped() {
    use std::borrow::Cow;
    let body = br#"{"ts":1700000000000,"service":"qnet","operation":"GET /a\u0062","node":"n\"1","entity":"c-1","version":"v1","latencyMs":3}"#;
    let mut seen = Vec::new();
    for_each_event(body, BodyFormat::Ndjson, &bounds(), 10, |e| {
        seen.push((
            matches!(e.service, Cow::Borrowed(_)),
            matches!(e.entity, Some(Cow::Borrowed(_))),
            matches!(e.version, Some(Cow::Borrowed(_))),
            e.operation.to_string(),
            e.node.to_string(),
        ));
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![(true, true, true, "GET /ab".to_string(), "n\"1".to_string())]
    );
}

/// `null` in an optional string field is the field absent; a number there names the field.
#[test]
fn optional_text_null_is_absent_and_a_number_is_refused() {
    let e =
        one(r#"{"ts":1700000000000,"service":"a","operation":"b","latencyMs":1,"tenant":null}"#)
            .unwrap();
    assert_eq!(e.tenant, None);
    let err = one(r#"{"ts":1700000000000,"service":"a","operation":"b","latencyMs":1,"tenant":7}"#)
        .unwrap_err();
    assert_eq!(err.field, "tenant");
}

/// Every code point below U+0800 (all one- and two-byte encodings, where C0, DEL and C1
/// live), alone and between other text, gets the same answer as `char::is_control`.
#[test]
fn control_check_matches_char_is_control_on_every_short_code_point() {
    for c in (0u32..0x800).filter_map(char::from_u32) {
        for s in [c.to_string(), format!("a{c}b"), format!("é{c}")] {
            assert_eq!(has_control(&s), s.chars().any(char::is_control), "{:?}", s);
        }
    }
}

proptest::proptest! {
    /// The byte-level control check answers as `char::is_control` does, for any text.
    #[test]
    fn control_check_matches_char_is_control(s in "\\PC*|[\\x00-\\x{ff}]{0,12}") {
        proptest::prop_assert_eq!(has_control(&s), s.chars().any(char::is_control));
    }

    /// Any body, however broken, gives an answer or a whole-body error, never a panic, and
    /// every element is either accepted or rejected.
    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        for format in [BodyFormat::Json, BodyFormat::Ndjson] {
            match decode_events(&body, format, &bounds(), 1000) {
                Ok((events, answer)) => {
                    proptest::prop_assert_eq!(events.len(), answer.accepted);
                    proptest::prop_assert!(answer.accepted + answer.rejected >= 1);
                    proptest::prop_assert!(answer.errors.len() <= answer.rejected.min(super::decode::MAX_LISTED_ERRORS));
                    for e in &events {
                        proptest::prop_assert!(!e.service.is_empty() && e.latency_ms.is_finite() && e.latency_ms >= 0.0);
                    }
                }
                Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            }
            match decode_resources(&body, format, &bounds(), 1000) {
                Ok((samples, answer)) => {
                    proptest::prop_assert_eq!(samples.len(), answer.accepted);
                    proptest::prop_assert!(answer.errors.len() <= answer.rejected.min(super::decode::MAX_LISTED_ERRORS));
                }
                Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    /// Events with random field values: accepted + rejected = elements, and each accepted
    /// event satisfies every rule.
    #[test]
    fn random_events_are_sorted_into_accepted_and_rejected(
        rows in proptest::collection::vec(
            (proptest::option::of("[a-z]{0,3}"), proptest::option::of(-10.0f64..1e6), proptest::option::of(0i64..2_000_000_000_000),
             proptest::option::of(prop_oneof!["read", "write", "bulk"]), proptest::option::of(-1.0f64..2.0)),
            1..40)
    ) {
        let body: Vec<serde_json::Value> = rows.iter().map(|(svc, lat, ts, class, cost)| {
            let mut o = serde_json::Map::new();
            if let Some(s) = svc { o.insert("service".into(), s.clone().into()); }
            o.insert("operation".into(), "op".into());
            if let Some(l) = lat { o.insert("latencyMs".into(), (*l).into()); }
            if let Some(t) = ts { o.insert("ts".into(), (*t).into()); }
            if let Some(c) = class { o.insert("class".into(), c.to_string().into()); }
            if let Some(c) = cost { o.insert("cost".into(), (*c).into()); }
            serde_json::Value::Object(o)
        }).collect();
        let text = serde_json::to_string(&body).unwrap();
        let (events, answer) = decode_events(text.as_bytes(), BodyFormat::Json, &bounds(), 1000).unwrap();
        proptest::prop_assert_eq!(answer.accepted + answer.rejected, rows.len());
        for e in &events {
            proptest::prop_assert!(!e.service.is_empty() && e.latency_ms >= 0.0 && e.latency_ms.is_finite());
            proptest::prop_assert!(e.cost.is_none_or(|c| c >= 0.0));
            proptest::prop_assert!(e.ts_ms >= NOW - 86_400_000 && e.ts_ms <= NOW + 300_000);
        }
    }
}
