//! Token digests: what `auth.tokens[].sha256` holds and how a presented token is compared
//! (SHA-256, so the configuration need not hold the secret). Checked when the configuration
//! is read, used by the auth layer for every request.

use sha2::{Digest, Sha256};

/// The SHA-256 of a token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Parses 64 hex digits into a digest.
pub fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The digest as 64 lowercase hex digits.
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_round_trip_through_hex() {
        let d = digest("s3cret-token-0123456789");
        assert_eq!(parse_digest(&hex(&d)), Some(d));
        assert_eq!(parse_digest("xyz"), None);
        assert_eq!(
            hex(&digest("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
