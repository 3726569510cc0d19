//! Reading NDJSON event files for the offline commands (`gate`, `baseline freeze --events`):
//! plain or `.gz`, validated with the server's rules in batches, the first invalid line
//! reported as `file:line: field: message` (bad input, exit 2). Timestamps are not bounded
//! against the wall clock: CI files replay the past.

use crate::exit::BadInput;
use perf_core::model::{decode_events, BodyFormat, IngestError, TimeBounds};
use perf_core::Event;
use std::io::Read;
use std::path::Path;

/// Bytes read at a time; each chunk is cut after its last newline and decoded in place.
const CHUNK_BYTES: usize = 4 << 20;

/// Calls `f` with each batch of valid events; returns the number of events.
pub fn for_each_batch(path: &Path, mut f: impl FnMut(&[Event])) -> anyhow::Result<u64> {
    let file =
        std::fs::File::open(path).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    let mut reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let bounds = TimeBounds {
        now_ms: 0,
        max_age_ms: i64::MAX / 4,
        max_future_ms: i64::MAX / 4,
    };
    let mut total = 0u64;
    let mut first_line = 1usize;
    let mut decode = |chunk: &[u8], first_line: usize| -> anyhow::Result<()> {
        let (events, answer) = match decode_events(chunk, BodyFormat::Ndjson, &bounds, usize::MAX) {
            Ok(x) => x,
            Err(IngestError::Empty) => return Ok(()),
            Err(e) => return Err(BadInput(format!("{}:{first_line}…: {e}", path.display())).into()),
        };
        if let Some(err) = answer.errors.first() {
            return Err(BadInput(format!(
                "{}:{}: {}: {}",
                path.display(),
                first_line + err.index,
                err.field,
                err.message
            ))
            .into());
        }
        total += events.len() as u64;
        f(&events);
        Ok(())
    };
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
            match buf[..filled].iter().rposition(|&b| b == b'\n') {
                Some(p) => p + 1,
                None => continue,
            }
        };
        if end > 0 {
            let chunk = &buf[..end];
            decode(chunk, first_line)?;
            first_line += chunk.iter().filter(|&&b| b == b'\n').count();
            buf.copy_within(end..filled, 0);
            filled -= end;
        }
        if n == 0 {
            break;
        }
    }
    Ok(total)
}
