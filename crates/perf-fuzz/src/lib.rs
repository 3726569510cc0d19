//! Every decoder of untrusted bytes in ecosystem-perf, as a function that takes any bytes and
//! must neither panic nor break the decoder's own accounting. The same functions run under
//! libFuzzer (`fuzz/`, `cargo fuzz run NAME --sanitizer none`, stable toolchain) and, over
//! the committed corpus in `fuzz/corpus/NAME/`, as an ordinary test (`tests/corpus.rs`), so
//! every input the fuzzer once found interesting keeps being checked in CI.
//!
//! Decoders covered: event bodies as JSON and NDJSON, gzip bodies (decompression bound and
//! decoding), resource samples, the anomaly CLI's CSV series, the YAML configuration, SLO
//! documents (native, OpenSLO v1, Sloth), baseline files, and ingest-log segments.

use perf_core::model::{decode_events, decode_resources, BodyFormat, TimeBounds};

/// A fuzz target: any bytes in, a panic only on a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory and fuzz binary.
pub const TARGETS: [(&str, Target); 9] = [
    ("events_json", events_json),
    ("events_ndjson", events_ndjson),
    ("events_gzip", events_gzip),
    ("resources", resources),
    ("csv_series", csv_series),
    ("config_yaml", config_yaml),
    ("slo_documents", slo_documents),
    ("baseline_json", baseline_json),
    ("log_segment", log_segment),
];

const MAX_ELEMENTS: usize = 10_000;

fn bounds() -> TimeBounds {
    TimeBounds {
        now_ms: 1_767_225_600_000,
        max_age_ms: 35 * 86_400_000,
        max_future_ms: 300_000,
    }
}

fn events(data: &[u8], format: BodyFormat) {
    if let Ok((events, answer)) = decode_events(data, format, &bounds(), MAX_ELEMENTS) {
        assert_eq!(events.len(), answer.accepted);
        assert!(answer.errors.len() <= answer.rejected);
        for e in &events {
            assert!(e.latency_ms.is_finite() && e.latency_ms >= 0.0);
            assert!(!e.service.is_empty() && !e.service.chars().any(char::is_control));
        }
    }
}

/// `POST /v1/events` with `content-type: application/json`.
pub fn events_json(data: &[u8]) {
    events(data, BodyFormat::Json);
}

/// `POST /v1/events` with `content-type: application/x-ndjson`.
pub fn events_ndjson(data: &[u8]) {
    events(data, BodyFormat::Ndjson);
}

/// `POST /v1/events` with `content-encoding: gzip`: the bound holds, then the body decodes.
pub fn events_gzip(data: &[u8]) {
    const LIMIT: usize = 1 << 20;
    if let Ok(raw) = perf_server::gunzip(data, LIMIT) {
        assert!(raw.len() <= LIMIT);
        events(&raw, BodyFormat::Ndjson);
    }
}

/// `POST /v1/resources`.
pub fn resources(data: &[u8]) {
    if let Ok((samples, answer)) = decode_resources(data, BodyFormat::Json, &bounds(), MAX_ELEMENTS)
    {
        assert_eq!(samples.len(), answer.accepted);
    }
}

/// `ecosystem-perf anomaly detect --input FILE` (timestamp,value rows).
pub fn csv_series(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(parsed) = perf_core::anomaly::series::parse(text) {
            assert!(parsed.out_of_order <= parsed.rows.len());
        }
    }
}

/// `--config FILE` and `config check FILE`.
pub fn config_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(config) = perf_server::Config::from_yaml(text) {
            let _ = config.validate().map(|()| config.engine_config());
        }
    }
}

/// `PUT /v1/slos/{name}` and `sloFiles:`: OpenSLO v1 and Sloth documents, and a native
/// definition turned into the engine's.
pub fn slo_documents(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(slos) = perf_server::config::import_slos(text) {
            for s in slos {
                let _ = s.to_def(false);
            }
        }
    }
}

/// `gate --baseline FILE` and `POST /v1/baselines` imports.
pub fn baseline_json(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = perf_core::compare::baseline::Baseline::from_json(text);
    }
}

/// An ingest-log segment as read at start: records are consecutive from the first sequence
/// number, and the valid prefix covers exactly the records.
pub fn log_segment(data: &[u8]) {
    let (records, valid, _) = perf_store::log::inspect_segment(data, 1);
    assert!(valid as usize <= data.len());
    let bytes: usize = records.iter().map(|(_, len)| len + 16).sum();
    assert_eq!(bytes as u64, valid);
}
