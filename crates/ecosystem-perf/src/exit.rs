//! Exit codes (documented in `--help`): 0 success, 1 failure, 2 bad input, 3 partial.

/// Success.
pub const OK: i32 = 0;
/// Server unreachable or failed.
pub const FAILURE: i32 = 1;
/// Bad input: unreadable file, invalid configuration, bad flag value.
pub const BAD_INPUT: i32 = 2;
/// Some events were rejected.
pub const PARTIAL: i32 = 3;

/// Marks an error as the user's input being wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// The exit code of an error.
pub fn code_of(e: &anyhow::Error) -> i32 {
    if e.chain().any(|c| c.is::<BadInput>()) {
        BAD_INPUT
    } else {
        FAILURE
    }
}
