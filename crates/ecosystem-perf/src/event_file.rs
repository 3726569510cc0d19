//! Reading NDJSON event files for the offline commands (`gate`, `baseline freeze --events`):
//! plain or `.gz`, validated with the server's rules in batches, the first invalid line
//! reported as `file:line: field: message` (bad input, exit 2). Timestamps are not bounded
//! against the wall clock: CI files replay the past.

use crate::exit::BadInput;
use perf_core::model::{decode_events, BodyFormat, IngestError, TimeBounds};
use perf_core::Event;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

const BATCH_LINES: usize = 20_000;

/// Calls `f` with each batch of valid events; returns the number of events.
pub fn for_each_batch(path: &Path, mut f: impl FnMut(&[Event])) -> anyhow::Result<u64> {
    let file =
        std::fs::File::open(path).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let bounds = TimeBounds {
        now_ms: 0,
        max_age_ms: i64::MAX / 4,
        max_future_ms: i64::MAX / 4,
    };
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut batch = String::new();
    let mut first_line = 1usize;
    let mut lines_in_batch = 0usize;
    let mut total = 0u64;
    let mut flush = |batch: &mut String, first_line: usize| -> anyhow::Result<()> {
        if batch.trim().is_empty() {
            batch.clear();
            return Ok(());
        }
        let (events, answer) =
            match decode_events(batch.as_bytes(), BodyFormat::Ndjson, &bounds, usize::MAX) {
                Ok(x) => x,
                Err(IngestError::Empty) => {
                    batch.clear();
                    return Ok(());
                }
                Err(e) => return Err(BadInput(format!("{}: {e}", path.display())).into()),
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
        batch.clear();
        Ok(())
    };
    loop {
        let before = batch.len();
        let read = reader
            .read_line(&mut batch)
            .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
        if read == 0 {
            break;
        }
        if !batch.ends_with('\n') {
            batch.push('\n');
        }
        debug_assert!(batch.len() > before);
        lines_in_batch += 1;
        if lines_in_batch == BATCH_LINES {
            flush(&mut batch, first_line)?;
            first_line += lines_in_batch;
            lines_in_batch = 0;
        }
    }
    flush(&mut batch, first_line)?;
    Ok(total)
}
