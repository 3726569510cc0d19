//! Keyed hashing of caller identities at ingest (`privacy.hashCallers`): every event's
//! `entity` is replaced by `h:` + the first 16 bytes of HMAC-SHA256(`privacy.key`, entity) in
//! hex, before the event reaches the ingest log, the aggregates or any answer — so a caller's
//! identity never exists in clear in storage or on the API, yet the same caller keeps the same
//! id (risk signals, top callers) and whoever holds the key can check a suspect's id.
//!
//! Cache keys are never kept in clear in any mode: decoding keeps only their XXH3-64 hash.
//! A hash of a guessable key (a user id, a URL) can be confirmed by hashing the guess, so
//! with `hashCallers` on the hash is replaced too, by the first 8 bytes of
//! HMAC-SHA256(`privacy.key`, hash): the same key still samples and counts as one key.

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

/// The keyed form of a cache key's hash.
pub fn keyed_cache_key(key: &[u8], hash: u64) -> u64 {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&hash.to_le_bytes());
    let digest = mac.finalize().into_bytes();
    u64::from_le_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes"),
    )
}

/// Replaces the callers of `events` by their pseudonyms and their cache key hashes by
/// keyed ones.
pub fn hash_callers(key: &[u8], events: &mut [Event]) {
    for e in events {
        if let Some(entity) = e.entity.as_mut() {
            *entity = pseudonym(key, entity);
        }
        if let Some(k) = e.cache_key.as_mut() {
            *k = keyed_cache_key(key, *k);
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

    #[test]
    fn cache_keys_are_rehashed_with_the_key() {
        let plain = perf_core::model::cache_key_hash("user:42");
        let mut e = Event::new(0, "s", "op", 1.0);
        e.cache_key = Some(plain);
        let mut events = vec![e.clone(), e];
        hash_callers(b"0123456789abcdef", &mut events);
        let keyed = events[0].cache_key.unwrap();
        assert_ne!(keyed, plain);
        assert_eq!(events[1].cache_key, Some(keyed));
        assert_ne!(keyed_cache_key(b"another key 1234", plain), keyed);
    }
}
