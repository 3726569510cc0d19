//! How a [`LogBatch`] is written in the ingest log and on the JSON-free stream: postcard of
//! an enum whose variant number says the layout. Postcard is positional, so when the event
//! gained `cache_key` its records could no longer be read as the old ones were: records
//! written before (variant 0, events without the field) still decode — the field absent —
//! and new ones are written as variant 2. Resource samples that report cache sizes
//! (`cacheSizes`) are written as variant 3; those without, as before (variant 1), so a
//! binary that predates cache sizes still reads them. A log written by an older binary
//! replays into a newer one; the reverse is refused record by record (unknown variant), never
//! misread.

use super::snapshot_format::LogBatch;
use perf_core::model::{CacheOutcome, RequestClass};
use perf_core::{Event, ResourceSample};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An event as records held it before cache keys.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct EventV1 {
    pub ts_ms: i64,
    pub service: String,
    pub operation: String,
    pub node: String,
    pub class: RequestClass,
    pub tenant: Option<String>,
    pub entity: Option<String>,
    pub version: Option<String>,
    pub latency_ms: f64,
    pub ok: bool,
    pub cache: Option<CacheOutcome>,
    pub cache_space: Option<String>,
    pub cost: Option<f64>,
    pub stages: Vec<(String, f64)>,
}

impl From<EventV1> for Event {
    fn from(e: EventV1) -> Event {
        Event {
            ts_ms: e.ts_ms,
            service: e.service,
            operation: e.operation,
            node: e.node,
            class: e.class,
            tenant: e.tenant,
            entity: e.entity,
            version: e.version,
            latency_ms: e.latency_ms,
            ok: e.ok,
            cache: e.cache,
            cache_space: e.cache_space,
            cache_key: None,
            cost: e.cost,
            stages: e.stages,
        }
    }
}

/// A resource sample with its cache sizes (variant 3).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ResourceWire {
    pub ts_ms: i64,
    pub service: String,
    pub node: String,
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    pub inflight: Option<u64>,
    pub capacity_rps: Option<f64>,
    pub replicas: Option<u32>,
    pub cache_sizes: Vec<(String, u64)>,
}

impl From<ResourceWire> for ResourceSample {
    fn from(r: ResourceWire) -> ResourceSample {
        ResourceSample {
            ts_ms: r.ts_ms,
            service: r.service,
            node: r.node,
            cpu: r.cpu,
            memory: r.memory,
            inflight: r.inflight,
            capacity_rps: r.capacity_rps,
            replicas: r.replicas,
            cache_sizes: r.cache_sizes,
        }
    }
}

impl From<&ResourceSample> for ResourceWire {
    fn from(r: &ResourceSample) -> ResourceWire {
        ResourceWire {
            ts_ms: r.ts_ms,
            service: r.service.clone(),
            node: r.node.clone(),
            cpu: r.cpu,
            memory: r.memory,
            inflight: r.inflight,
            capacity_rps: r.capacity_rps,
            replicas: r.replicas,
            cache_sizes: r.cache_sizes.clone(),
        }
    }
}

/// Every layout a record may have, by variant number.
#[derive(Deserialize)]
#[serde(rename = "LogBatch")]
pub(super) enum Wire {
    /// 0: events before cache keys.
    EventsV1(Vec<EventV1>),
    /// 1: resource samples.
    Resources(Vec<ResourceSample>),
    /// 2: events.
    Events(Vec<Event>),
    /// 3: resource samples with cache sizes.
    ResourcesWithCaches(Vec<ResourceWire>),
}

impl Serialize for LogBatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LogBatch::Resources(r) if r.iter().all(|r| r.cache_sizes.is_empty()) => {
                s.serialize_newtype_variant("LogBatch", 1, "Resources", r)
            }
            LogBatch::Resources(r) => {
                let wire: Vec<ResourceWire> = r.iter().map(ResourceWire::from).collect();
                s.serialize_newtype_variant("LogBatch", 3, "ResourcesWithCaches", &wire)
            }
            LogBatch::Events(e) => s.serialize_newtype_variant("LogBatch", 2, "Events", e),
        }
    }
}

impl<'de> Deserialize<'de> for LogBatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Wire::deserialize(d)? {
            Wire::EventsV1(v) => LogBatch::Events(v.into_iter().map(Event::from).collect()),
            Wire::Resources(r) => LogBatch::Resources(r),
            Wire::Events(e) => LogBatch::Events(e),
            Wire::ResourcesWithCaches(r) => {
                LogBatch::Resources(r.into_iter().map(ResourceSample::from).collect())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout of the records older binaries wrote, to write one as they did.
    #[derive(Serialize)]
    enum OldLogBatch {
        Events(Vec<EventV1>),
        #[allow(dead_code)]
        Resources(Vec<ResourceSample>),
    }

    #[test]
    fn records_of_older_binaries_still_replay_and_new_ones_keep_the_key() {
        let old = OldLogBatch::Events(vec![EventV1 {
            ts_ms: 1_700_000_000_000,
            service: "qnet".into(),
            operation: "GET /feed".into(),
            node: "n1".into(),
            class: RequestClass::Read,
            tenant: Some("dao-a".into()),
            entity: None,
            version: None,
            latency_ms: 12.5,
            ok: true,
            cache: Some(CacheOutcome::Hit),
            cache_space: Some("feed".into()),
            cost: Some(0.1),
            stages: vec![("db".into(), 3.0)],
        }]);
        let bytes = postcard::to_stdvec(&old).unwrap();
        let LogBatch::Events(events) = postcard::from_bytes::<LogBatch>(&bytes).unwrap() else {
            panic!("events expected");
        };
        assert_eq!(events[0].cache_space.as_deref(), Some("feed"));
        assert_eq!(events[0].stages, vec![("db".to_string(), 3.0)]);
        assert_eq!(events[0].cache_key, None);

        let mut e = Event::new(1, "s", "op", 1.0);
        e.cache_key = Some(42);
        let bytes = postcard::to_stdvec(&LogBatch::Events(vec![e.clone()])).unwrap();
        let LogBatch::Events(back) = postcard::from_bytes::<LogBatch>(&bytes).unwrap() else {
            panic!("events expected");
        };
        assert_eq!(back, vec![e]);
        let r = ResourceSample {
            ts_ms: 5,
            service: "s".into(),
            node: "n".into(),
            cpu: Some(0.5),
            memory: None,
            inflight: None,
            capacity_rps: Some(100.0),
            replicas: None,
            cache_sizes: Vec::new(),
        };
        let bytes = postcard::to_stdvec(&LogBatch::Resources(vec![r.clone()])).unwrap();
        assert_eq!(
            bytes[0], 1,
            "without cache sizes: the layout older binaries read"
        );
        assert!(matches!(
            postcard::from_bytes::<LogBatch>(&bytes).unwrap(),
            LogBatch::Resources(v) if v == vec![r.clone()]
        ));
        let sized = ResourceSample {
            cache_sizes: vec![("qindex:search".into(), 10_000)],
            ..r
        };
        let bytes = postcard::to_stdvec(&LogBatch::Resources(vec![sized.clone()])).unwrap();
        assert_eq!(bytes[0], 3);
        assert!(matches!(
            postcard::from_bytes::<LogBatch>(&bytes).unwrap(),
            LogBatch::Resources(v) if v == vec![sized]
        ));
        // A layout this binary does not know is refused, not misread.
        assert!(postcard::from_bytes::<LogBatch>(&[7, 0]).is_err());
    }
}
