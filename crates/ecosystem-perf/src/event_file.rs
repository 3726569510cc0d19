//! Reading NDJSON event files for the offline commands (`gate`, `baseline freeze --events`):
//! plain or `.gz`, validated with the server's rules in batches, the first invalid line
//! reported as `file:line: field: message` (bad input, exit 2). Timestamps are not bounded
//! against the wall clock: CI files replay the past.

use crate::exit::BadInput;
use perf_core::model::{
    decode_events, for_each_event, BodyFormat, EventRef, IngestAnswer, IngestError, TimeBounds,
};
use perf_core::Event;
use std::io::Read;
use std::path::Path;

/// Bytes read at a time; each chunk is cut after its last newline and decoded in place.
const CHUNK_BYTES: usize = 4 << 20;

/// Calls `f` with each batch of valid events; returns the number of events.
pub fn for_each_batch(path: &Path, mut f: impl FnMut(&[Event])) -> anyhow::Result<u64> {
    let bounds = wide_bounds();
    for_each_chunk(path, |chunk, first_line| {
        let (events, answer) = match decode_events(chunk, BodyFormat::Ndjson, &bounds, usize::MAX) {
            Ok(x) => x,
            Err(IngestError::Empty) => return Ok(0),
            Err(e) => return Err(malformed(path, first_line, e)),
        };
        reject(path, first_line, &answer)?;
        f(&events);
        Ok(events.len() as u64)
    })
}

/// Calls `f` with every valid event, borrowed from the read buffer (no event is built: the
/// offline gate's path); returns the number of events.
pub fn for_each_ref(path: &Path, mut f: impl FnMut(&EventRef<'_>)) -> anyhow::Result<u64> {
    let bounds = wide_bounds();
    for_each_chunk(path, |chunk, first_line| {
        let mut n = 0u64;
        let answer = match for_each_event(chunk, BodyFormat::Ndjson, &bounds, usize::MAX, |e| {
            n += 1;
            f(&e);
        }) {
            Ok(a) => a,
            Err(IngestError::Empty) => return Ok(0),
            Err(e) => return Err(malformed(path, first_line, e)),
        };
        reject(path, first_line, &answer)?;
        Ok(n)
    })
}

fn wide_bounds() -> TimeBounds {
    TimeBounds {
        now_ms: 0,
        max_age_ms: i64::MAX / 4,
        max_future_ms: i64::MAX / 4,
    }
}

fn malformed(path: &Path, first_line: usize, e: IngestError) -> anyhow::Error {
    BadInput(format!("{}:{first_line}…: {e}", path.display())).into()
}

/// The first rejection of a chunk as `file:line: field: message`.
fn reject(path: &Path, first_line: usize, answer: &IngestAnswer) -> anyhow::Result<()> {
    match answer.errors.first() {
        Some(err) => Err(BadInput(format!(
            "{}:{}: {}: {}",
            path.display(),
            first_line + err.index,
            err.field,
            err.message
        ))
        .into()),
        None => Ok(()),
    }
}

/// Reads the file in chunks cut after their last newline and hands each with the number of
/// its first line to `decode`, which returns how many events it took. A failed event is
/// bad input (the whole file is refused: a CI gate never runs on part of its data).
fn for_each_chunk(
    path: &Path,
    mut decode: impl FnMut(&[u8], usize) -> anyhow::Result<u64>,
) -> anyhow::Result<u64> {
    let file =
        std::fs::File::open(path).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    let mut reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut total = 0u64;
    let mut first_line = 1usize;
    // `buf[..filled]` holds unread bytes; complete lines are decoded, the tail carried over.
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut filled = 0usize;
    loop {
        if filled == buf.len() {
            // A single line longer than the buffer: grow.
            buf.resize(buf.len() * 2, 0);
        }
        let n = reader
            .read(&mut buf[filled..])
            .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
        filled += n;
        let end = if n == 0 {
            filled
        } else {
            match memchr::memrchr(b'\n', &buf[..filled]) {
                Some(p) => p + 1,
                None => continue,
            }
        };
        if end > 0 {
            let chunk = &buf[..end];
            total += decode(chunk, first_line)?;
            first_line += memchr::memchr_iter(b'\n', chunk).count();
            buf.copy_within(end..filled, 0);
            filled -= end;
        }
        if n == 0 {
            break;
        }
    }
    Ok(total)
}
