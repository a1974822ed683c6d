//! The keyed hash the domains share. Each domain frames its own input (a kind and a value, a
//! length-prefixed list, a request body); hex goes through `alloy::primitives::hex`
//! (`encode_prefixed` for the `0x…` form the protocols use).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of `parts` written one after the other, under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_hashed_as_one_message() {
        // RFC 4231, test case 2.
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let whole = hmac_sha256(b"Jefe", &[b"what do ya want for nothing?"]);
        assert_eq!(hex::encode(&whole), expected);
        let split = hmac_sha256(b"Jefe", &[b"what do ya ", b"want for nothing?"]);
        assert_eq!(whole, split);
    }
}
