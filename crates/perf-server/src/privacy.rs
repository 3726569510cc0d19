//! Keyed hashing of caller identities at ingest (`privacy.hashCallers`): every event's
//! `entity` is replaced by `h:` + the first 16 bytes of HMAC-SHA256(`privacy.key`, entity) in
//! hex, before the event reaches the ingest log, the aggregates or any answer — so a caller's
//! identity never exists in clear in storage or on the API, yet the same caller keeps the same
//! id (risk signals, top callers) and whoever holds the key can check a suspect's id.

use hmac::{Hmac, Mac};
use perf_core::Event;
use sha2::Sha256;

/// The pseudonym of one caller.
pub fn pseudonym(key: &[u8], entity: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(entity.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(34);
    out.push_str("h:");
    for b in &digest[..16] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Replaces the callers of `events` by their pseudonyms.
pub fn hash_callers(key: &[u8], events: &mut [Event]) {
    for e in events {
        if let Some(entity) = e.entity.as_mut() {
            *entity = pseudonym(key, entity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2_and_stable_pseudonyms() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let p = pseudonym(b"Jefe", "what do ya want for nothing?");
        assert_eq!(p, "h:5bdcc146bf60754e6a042426089575c7");
        assert_eq!(pseudonym(b"k1", "alice"), pseudonym(b"k1", "alice"));
        assert_ne!(pseudonym(b"k1", "alice"), pseudonym(b"k2", "alice"));
    }
}
