//! Decoding an ingest body (JSON array, a single JSON object, or NDJSON) into validated
//! events with partial acceptance: every valid element is kept, every invalid one is listed
//! (up to 100) with its index, field and reason.

use super::event::Event;
use super::resource::ResourceSample;
use super::validate::in_place::parse_event_in_place;
use super::validate::{
    rule_of, validate_event, validate_event_ref, validate_resource, EventRef, FieldError, RawEvent,
    RawResource, TimeBounds,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use thiserror::Error;

/// At most this many element errors are listed in an answer.
pub const MAX_LISTED_ERRORS: usize = 100;

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// A JSON array of objects, or one object.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// The answer to an ingest request (docs/ARCHITECTURE.md §5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestAnswer {
    /// Elements kept.
    pub accepted: usize,
    /// Elements refused.
    pub rejected: usize,
    /// The first refusals, with reasons.
    pub errors: Vec<FieldError>,
}

impl IngestAnswer {
    fn reject(&mut self, e: FieldError) {
        self.rejected += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(e);
        }
    }
}

/// A body that cannot be taken at all.
#[derive(Debug, Error, PartialEq)]
pub enum IngestError {
    /// Not JSON, or not an array/object.
    #[error("malformed JSON body: {0}")]
    Malformed(String),
    /// No element in the body.
    #[error("the body holds no events: send a JSON array, one object, or NDJSON lines")]
    Empty,
    /// More elements than one batch may hold.
    #[error("the batch holds {count} elements; at most {limit} are allowed per request")]
    TooManyElements {
        /// Elements sent.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
}

/// Decodes and validates events.
pub fn decode_events(
    body: &[u8],
    format: BodyFormat,
    bounds: &TimeBounds,
    max_elements: usize,
) -> Result<(Vec<Event>, IngestAnswer), IngestError> {
    decode_with(body, format, max_elements, |i, raw: &str| {
        validate_event(i, parse_event(i, raw)?, bounds)
    })
}

/// Decodes and validates events, handing each valid one to `f` while its text still borrows
/// from `body` (no per-event allocation on the common path); invalid ones are in the answer.
pub fn for_each_event<'a>(
    body: &'a [u8],
    format: BodyFormat,
    bounds: &TimeBounds,
    max_elements: usize,
    mut f: impl FnMut(EventRef<'a>),
) -> Result<IngestAnswer, IngestError> {
    let (_, answer) = decode_with(body, format, max_elements, |i, raw: &'a str| {
        f(validate_event_ref(i, parse_event(i, raw)?, bounds)?);
        Ok(())
    })?;
    Ok(answer)
}

/// Decodes and validates resource samples.
pub fn decode_resources(
    body: &[u8],
    format: BodyFormat,
    bounds: &TimeBounds,
    max_elements: usize,
) -> Result<(Vec<ResourceSample>, IngestAnswer), IngestError> {
    decode_with(body, format, max_elements, |i, raw: &str| {
        let raw: RawResource = parse_element(i, raw)?;
        validate_resource(i, raw, bounds)
    })
}

fn decode_with<'a, T>(
    body: &'a [u8],
    format: BodyFormat,
    max_elements: usize,
    mut one: impl FnMut(usize, &'a str) -> Result<T, FieldError>,
) -> Result<(Vec<T>, IngestAnswer), IngestError> {
    let text =
        std::str::from_utf8(body).map_err(|e| IngestError::Malformed(format!("not UTF-8: {e}")))?;
    let mut answer = IngestAnswer::default();
    let mut kept = Vec::new();
    match format {
        BodyFormat::Json => {
            let elements = split_json(text)?;
            check_count(elements.len(), max_elements)?;
            kept.reserve(elements.len());
            for (i, raw) in elements.iter().enumerate() {
                match one(i, raw.get()) {
                    Ok(v) => kept.push(v),
                    Err(e) => answer.reject(e),
                }
            }
        }
        BodyFormat::Ndjson => {
            let lines: Vec<(usize, &str)> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .collect();
            if lines.is_empty() {
                return Err(IngestError::Empty);
            }
            check_count(lines.len(), max_elements)?;
            kept.reserve(lines.len());
            for (i, line) in lines {
                // One pass on the fast path: the line is parsed straight into its element;
                // a syntax error there is a malformed line, a type error names its field.
                match one(i, line) {
                    Ok(v) => kept.push(v),
                    Err(e) => answer.reject(e),
                }
            }
        }
    }
    answer.accepted = kept.len();
    Ok((kept, answer))
}

fn check_count(count: usize, limit: usize) -> Result<(), IngestError> {
    if count == 0 {
        return Err(IngestError::Empty);
    }
    if count > limit {
        return Err(IngestError::TooManyElements { count, limit });
    }
    Ok(())
}

/// A JSON body is an array of elements or a single object.
fn split_json(text: &str) -> Result<Vec<&RawValue>, IngestError> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(IngestError::Empty);
    }
    if trimmed.starts_with('{') {
        let one: &RawValue =
            serde_json::from_str(text).map_err(|e| IngestError::Malformed(clean(&e)))?;
        return Ok(vec![one]);
    }
    if !trimmed.starts_with('[') {
        return Err(IngestError::Malformed(
            "expected a JSON array of events or one event object".into(),
        ));
    }
    serde_json::from_str(text).map_err(|e| IngestError::Malformed(clean(&e)))
}

/// Parses one event: in place on the fast path; whatever that path refuses is parsed again by
/// `parse_element`, whose answer (success or the error naming the field) is the one kept.
fn parse_event(index: usize, raw: &str) -> Result<RawEvent<'_>, FieldError> {
    let mut event = RawEvent::default();
    if parse_event_in_place(raw, &mut event) {
        return Ok(event);
    }
    parse_element(index, raw)
}

/// Parses one element into its raw struct, naming the field on a type error.
fn parse_element<'a, T: serde::Deserialize<'a>>(
    index: usize,
    raw: &'a str,
) -> Result<T, FieldError> {
    if !raw.trim_start().starts_with('{') {
        return Err(FieldError::new(
            index,
            "",
            "each element must be a JSON object",
        ));
    }
    // The fast path parses without path tracking; only a failure is parsed again to name
    // the field.
    if let Ok(v) = serde_json::from_str(raw) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e
            .path()
            .iter()
            .next()
            .map(|s| s.to_string())
            .unwrap_or_default();
        let field = field.trim_start_matches('.').to_string();
        let detail = clean(e.inner());
        if field.is_empty() || field == "?" {
            FieldError::new(index, "", format!("malformed JSON element: {detail}"))
        } else {
            FieldError::new(index, &field, format!("{} ({detail})", rule_of(&field)))
        }
    })
}

/// A serde_json message without its " at line X column Y" suffix.
fn clean(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(pos) => s[..pos].to_string(),
        None => s,
    }
}
