//! Validation of one event or resource sample: every rule of docs/ARCHITECTURE.md §5, each failure named
//! by field and reason. Parsing is lenient about unknown fields and strict about types.

use super::event::{CacheOutcome, Event, RequestClass};
use super::resource::ResourceSample;
use crate::duration::format_duration;
use crate::time::{format_rfc3339, integer_timestamp_ms, parse_timestamp};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

pub(crate) mod in_place;

/// Why one element of a batch was rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Position of the element in the batch (0-based).
    pub index: usize,
    /// The field at fault (camelCase, as sent), or `""` for the element as a whole.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(index: usize, field: &str, message: impl Into<String>) -> Self {
        FieldError {
            index,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// The accepted time range of event timestamps, relative to the engine's "now".
#[derive(Debug, Clone, Copy)]
pub struct TimeBounds {
    /// The engine's now, unix ms (also the time of events without `ts`).
    pub now_ms: i64,
    /// Oldest accepted age (the retention).
    pub max_age_ms: i64,
    /// Furthest accepted future (5 minutes by default).
    pub max_future_ms: i64,
}

/// A timestamp as sent: text or a number.
#[derive(Debug)]
pub(crate) enum RawTs<'a> {
    Number(i64),
    Text(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for RawTs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = RawTs<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an RFC 3339 string or integer unix milliseconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(RawTs::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(RawTs::Number)
                    .map_err(|_| E::custom("timestamp out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                if v.is_finite() && v.fract() == 0.0 && v.abs() < 9e15 {
                    Ok(RawTs::Number(v as i64))
                } else {
                    Err(E::custom("timestamp must be an integer"))
                }
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(RawTs::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawTs::Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// An optional string field that borrows from the body when it holds no escapes. Serde's own
/// `Option<Cow<str>>` always allocates (its borrowing applies only to a bare `Cow` field), which
/// cost the offline gate a `malloc` and `free` per string field per event.
fn borrowed_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_string())))
        }
    }
    d.deserialize_option(Text)
}

/// An event as sent, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawEvent<'a> {
    #[serde(borrow, default)]
    ts: Option<RawTs<'a>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    service: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    operation: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    node: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    class: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    tenant: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    entity: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    version: Option<Cow<'a, str>>,
    #[serde(default)]
    latency_ms: Option<f64>,
    #[serde(default)]
    ok: Option<bool>,
    #[serde(default)]
    status: Option<i64>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    cache: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    cache_space: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    cache_key: Option<Cow<'a, str>>,
    #[serde(default)]
    cost: Option<f64>,
    #[serde(borrow, default)]
    stages: Option<BTreeMap<Cow<'a, str>, f64>>,
}

/// A resource sample as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawResource<'a> {
    #[serde(borrow, default)]
    ts: Option<RawTs<'a>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    service: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_text")]
    node: Option<Cow<'a, str>>,
    #[serde(default)]
    cpu: Option<f64>,
    #[serde(default)]
    memory: Option<f64>,
    #[serde(default)]
    inflight: Option<u64>,
    #[serde(default)]
    capacity_rps: Option<f64>,
    #[serde(default)]
    replicas: Option<u32>,
    #[serde(borrow, default)]
    cache_sizes: Option<BTreeMap<Cow<'a, str>, f64>>,
}

/// Most cache spaces one resource sample may report.
pub const MAX_CACHE_SIZES: usize = 64;

/// The rule of a field, used in every message about it.
pub(crate) fn rule_of(field: &str) -> &'static str {
    match field {
        "ts" => "must be an RFC 3339 string or integer unix milliseconds",
        "service" => "required string of 1-128 characters",
        "operation" => "required string of 1-256 characters",
        "class" => "must be one of read, write, complex_write",
        "latencyMs" | "cost" => "must be a finite number >= 0",
        "ok" => "must be true or false",
        "status" => "must be an HTTP status code 100-599",
        "cache" => "must be one of hit, miss",
        "cacheKey" => "must be a string of 1-1024 bytes (kept only as a hash)",
        "stages" => "must be an object of stage name to finite milliseconds >= 0 (at most 32)",
        "cpu" | "memory" => "must be a utilisation between 0 and 1",
        "inflight" | "replicas" => "must be a non-negative integer",
        "capacityRps" => "must be a finite number > 0",
        "cacheSizes" => "must be an object of cache space (1-256 characters) to entries (an integer >= 0), at most 64 spaces",
        _ => "must be a string of 1-256 characters, none of them a control character",
    }
}

fn text<'a>(
    index: usize,
    field: &str,
    value: Option<Cow<'a, str>>,
    max: usize,
) -> Result<Option<Cow<'a, str>>, FieldError> {
    match value {
        None => Ok(None),
        // Control characters would reach terminals (escape sequences) and logs verbatim.
        Some(v)
            if v.is_empty() || (v.len() > max && v.chars().count() > max) || has_control(&v) =>
        {
            Err(FieldError::new(index, field, rule_of(field)))
        }
        Some(v) => Ok(Some(v)),
    }
}

/// Whether `s` holds a control character (Unicode Cc: U+0000–U+001F, U+007F–U+009F), checked
/// on bytes: C0 and DEL are single bytes, C1 is 0xC2 followed by 0x80–0x9F in UTF-8. The same
/// answer as `s.chars().any(char::is_control)` (tested) at a fraction of the cost per event.
pub(crate) fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    // Printable ASCII, the common case, in one vectorised pass.
    if b.iter().all(|&c| (0x20..0x7f).contains(&c)) {
        return false;
    }
    b.iter().enumerate().any(|(i, &c)| {
        c < 0x20
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    })
}

fn owned(v: Option<Cow<'_, str>>) -> Option<String> {
    v.map(Cow::into_owned)
}

fn required<T>(index: usize, field: &str, value: Option<T>) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::new(index, field, format!("is missing: {}", rule_of(field))))
}

fn non_negative(index: usize, field: &str, v: Option<f64>) -> Result<Option<f64>, FieldError> {
    match v {
        Some(x) if !(x.is_finite() && x >= 0.0) => {
            Err(FieldError::new(index, field, rule_of(field)))
        }
        other => Ok(other),
    }
}

fn timestamp(index: usize, ts: Option<RawTs>, bounds: &TimeBounds) -> Result<i64, FieldError> {
    let ms = match ts {
        None => return Ok(bounds.now_ms),
        Some(RawTs::Number(n)) => integer_timestamp_ms(n),
        Some(RawTs::Text(t)) => {
            parse_timestamp(&t).map_err(|_| FieldError::new(index, "ts", rule_of("ts")))?
        }
    };
    if ms < bounds.now_ms - bounds.max_age_ms {
        return Err(FieldError::new(
            index,
            "ts",
            format!(
                "is older than the retention ({})",
                format_duration(bounds.max_age_ms)
            ),
        ));
    }
    if ms > bounds.now_ms + bounds.max_future_ms {
        return Err(FieldError::new(
            index,
            "ts",
            format!(
                "is in the future, after the latest accepted time {}",
                format_rfc3339(bounds.now_ms.saturating_add(bounds.max_future_ms))
            ),
        ));
    }
    Ok(ms)
}

/// A validated event whose text still borrows from the request body (no allocation when the
/// strings hold no escapes): what offline readers aggregate without building an [`Event`].
#[derive(Debug, Clone, PartialEq)]
pub struct EventRef<'a> {
    /// When the request finished, unix milliseconds.
    pub ts_ms: i64,
    /// Service name.
    pub service: Cow<'a, str>,
    /// Operation.
    pub operation: Cow<'a, str>,
    /// Node (`default` when absent).
    pub node: Cow<'a, str>,
    /// Latency budget class.
    pub class: RequestClass,
    /// Tenant.
    pub tenant: Option<Cow<'a, str>>,
    /// Caller identity.
    pub entity: Option<Cow<'a, str>>,
    /// Deployed version.
    pub version: Option<Cow<'a, str>>,
    /// Duration in milliseconds.
    pub latency_ms: f64,
    /// Outcome.
    pub ok: bool,
    /// Cache outcome.
    pub cache: Option<CacheOutcome>,
    /// Cache key space.
    pub cache_space: Option<Cow<'a, str>>,
    /// Cache key, hashed.
    pub cache_key: Option<u64>,
    /// Cost.
    pub cost: Option<f64>,
    /// Time per stage.
    pub stages: Vec<(Cow<'a, str>, f64)>,
}

impl EventRef<'_> {
    /// The owned event.
    pub fn into_owned(self) -> Event {
        Event {
            ts_ms: self.ts_ms,
            service: self.service.into_owned(),
            operation: self.operation.into_owned(),
            node: self.node.into_owned(),
            class: self.class,
            tenant: owned(self.tenant),
            entity: owned(self.entity),
            version: owned(self.version),
            latency_ms: self.latency_ms,
            ok: self.ok,
            cache: self.cache,
            cache_space: owned(self.cache_space),
            cache_key: self.cache_key,
            cost: self.cost,
            stages: self
                .stages
                .into_iter()
                .map(|(n, ms)| (n.into_owned(), ms))
                .collect(),
        }
    }
}

pub(crate) fn validate_event(
    index: usize,
    raw: RawEvent,
    bounds: &TimeBounds,
) -> Result<Event, FieldError> {
    validate_event_ref(index, raw, bounds).map(EventRef::into_owned)
}

pub(crate) fn validate_event_ref<'a>(
    index: usize,
    raw: RawEvent<'a>,
    bounds: &TimeBounds,
) -> Result<EventRef<'a>, FieldError> {
    let service = required(index, "service", text(index, "service", raw.service, 128)?)?;
    let operation = required(
        index,
        "operation",
        text(index, "operation", raw.operation, 256)?,
    )?;
    let latency_ms = non_negative(index, "latencyMs", raw.latency_ms)?;
    let latency_ms = latency_ms.ok_or_else(|| {
        FieldError::new(
            index,
            "latencyMs",
            format!("is missing: {}", rule_of("latencyMs")),
        )
    })?;
    let ts_ms = timestamp(index, raw.ts, bounds)?;
    let node = text(index, "node", raw.node, 256)?.unwrap_or(Cow::Borrowed("default"));
    let class = match raw.class {
        None => RequestClass::Read,
        Some(c) => RequestClass::parse(&c)
            .ok_or_else(|| FieldError::new(index, "class", rule_of("class")))?,
    };
    let ok = match (raw.ok, raw.status) {
        (_, Some(s)) if !(100..=599).contains(&s) => {
            return Err(FieldError::new(index, "status", rule_of("status")))
        }
        (Some(ok), _) => ok,
        (None, Some(s)) => s < 500,
        (None, None) => true,
    };
    let cache = match raw.cache.as_deref() {
        None => None,
        Some("hit") => Some(CacheOutcome::Hit),
        Some("miss") => Some(CacheOutcome::Miss),
        Some(_) => return Err(FieldError::new(index, "cache", rule_of("cache"))),
    };
    let cost = non_negative(index, "cost", raw.cost)?;
    let mut stages = Vec::new();
    if let Some(map) = raw.stages {
        if map.len() > 32 {
            return Err(FieldError::new(index, "stages", rule_of("stages")));
        }
        for (name, ms) in map {
            if name.is_empty()
                || name.len() > 64
                || name.chars().any(char::is_control)
                || !(ms.is_finite() && ms >= 0.0)
            {
                return Err(FieldError::new(index, "stages", rule_of("stages")));
            }
            stages.push((name, ms));
        }
    }
    Ok(EventRef {
        ts_ms,
        service,
        operation,
        node,
        class,
        tenant: text(index, "tenant", raw.tenant, 256)?,
        entity: text(index, "entity", raw.entity, 256)?,
        version: text(index, "version", raw.version, 256)?,
        latency_ms,
        ok,
        cache,
        cache_space: text(index, "cacheSpace", raw.cache_space, 256)?,
        cache_key: match raw.cache_key {
            None => None,
            Some(k) if k.is_empty() || k.len() > 1024 => {
                return Err(FieldError::new(index, "cacheKey", rule_of("cacheKey")))
            }
            Some(k) => Some(super::event::cache_key_hash(&k)),
        },
        cost,
        stages,
    })
}

pub(crate) fn validate_resource(
    index: usize,
    raw: RawResource,
    bounds: &TimeBounds,
) -> Result<ResourceSample, FieldError> {
    let service = required(index, "service", text(index, "service", raw.service, 128)?)?;
    let node = required(index, "node", text(index, "node", raw.node, 256)?)?;
    let ts_ms = timestamp(index, raw.ts, bounds)?;
    for (field, v) in [("cpu", raw.cpu), ("memory", raw.memory)] {
        if let Some(x) = v {
            if !(x.is_finite() && (0.0..=1.0).contains(&x)) {
                return Err(FieldError::new(index, field, rule_of(field)));
            }
        }
    }
    if let Some(c) = raw.capacity_rps {
        if !(c.is_finite() && c > 0.0) {
            return Err(FieldError::new(
                index,
                "capacityRps",
                rule_of("capacityRps"),
            ));
        }
    }
    let mut cache_sizes = Vec::new();
    if let Some(sizes) = raw.cache_sizes {
        let refuse = || FieldError::new(index, "cacheSizes", rule_of("cacheSizes"));
        if sizes.len() > MAX_CACHE_SIZES {
            return Err(refuse());
        }
        for (space, entries) in sizes {
            let space = text(index, "cacheSizes", Some(space), 256)
                .map_err(|_| refuse())?
                .ok_or_else(refuse)?;
            if !(entries.is_finite() && entries >= 0.0 && entries.fract() == 0.0 && entries < 1e15)
            {
                return Err(refuse());
            }
            cache_sizes.push((space.into_owned(), entries as u64));
        }
    }
    Ok(ResourceSample {
        ts_ms,
        service: service.into_owned(),
        node: node.into_owned(),
        cpu: raw.cpu,
        memory: raw.memory,
        inflight: raw.inflight,
        capacity_rps: raw.capacity_rps,
        replicas: raw.replicas,
        cache_sizes,
    })
}
