//! Exit codes, one table for every command (printed by `--help`, [`TABLE`]): 0 success,
//! 1 failure or a negative verdict, 2 bad input, 3 partial or inconclusive, 4 a policy
//! decision other than proceed.

/// The table `--help` prints; each command's own help says which of these it uses.
pub const TABLE: &str = "Exit codes (every command):
  0  success: done, or the verdict is go / proceed / pass
  1  failure: the server is unreachable or failed, or the verdict is negative (gate: block;
     golive: no-go; rollout evaluate: rollback; slo check: an SLO fails; drill show: failed
     or RTO missed; backup verify: a difference; cluster status: not following)
  2  bad input or usage: unreadable or malformed file (with its line), invalid configuration,
     bad flag value, or a request the server refuses as invalid (HTTP 400)
  3  partial or inconclusive: ingest rejected some events; gate or golive had too little data
     or needs a manual review; drill show: still recovering
  4  policy evaluate: a decision other than proceed (queue, cache fallback, reject)";

/// Success.
pub const OK: i32 = 0;
/// Server unreachable or failed.
pub const FAILURE: i32 = 1;
/// Bad input: unreadable file, invalid configuration, bad flag value.
pub const BAD_INPUT: i32 = 2;
/// Some events were rejected; a verdict is inconclusive.
pub const PARTIAL: i32 = 3;
/// `policy evaluate`: a decision other than proceed.
pub const NOT_PROCEED: i32 = 4;

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
