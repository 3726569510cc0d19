//! The data services send (docs/ARCHITECTURE.md §5): events (one per request) and resource samples (what a
//! node has left), their validation, and the ingest answer.

mod decode;
mod event;
mod resource;
mod validate;
#[cfg(test)]
use validate::has_control;

pub use decode::{
    decode_events, decode_resources, for_each_event, BodyFormat, IngestAnswer, IngestError,
};
pub use event::{cache_key_hash, CacheOutcome, Event, RequestClass};
pub use resource::ResourceSample;
pub use validate::{EventRef, FieldError, TimeBounds};

#[cfg(test)]
mod tests;
