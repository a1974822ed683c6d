//! Custodial signing keys: a secp256k1 key the platform holds for a seller who has no wallet,
//! generated with k256 and kept encrypted at rest (AES-256-GCM under the master key, bound to the
//! seller's id so a ciphertext cannot be moved to another seller).

use alloy::signers::local::PrivateKeySigner;
use rand::RngCore as _;
use uuid::Uuid;

use crate::sealing;

/// A fresh key for `seller`, and its sealed form.
pub fn generate(master: &[u8], seller: Uuid) -> anyhow::Result<(PrivateKeySigner, Vec<u8>)> {
    // 32 bytes from the OS-seeded generator; k256 refuses the (astronomically rare) non-scalars.
    let signing_key = loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        if let Ok(key) = k256::ecdsa::SigningKey::from_bytes(&bytes.into()) {
            break key;
        }
    };
    let signer = PrivateKeySigner::from_signing_key(signing_key);
    let sealed = sealing::seal(master, seller.as_bytes(), signer.to_bytes().as_slice())?;
    Ok((signer, sealed))
}

/// Opens a key sealed by [`generate`] for the same seller under the same master key.
pub fn open(master: &[u8], seller: Uuid, sealed: &[u8]) -> anyhow::Result<PrivateKeySigner> {
    let secret = sealing::open(master, seller.as_bytes(), sealed)?;
    let bytes: [u8; 32] = secret.as_slice().try_into()?;
    Ok(PrivateKeySigner::from_bytes(&bytes.into())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_open_only_for_their_seller_and_master_key() {
        let master = [3u8; 32];
        let seller = Uuid::now_v7();
        let (signer, sealed) = generate(&master, seller).unwrap();
        assert!(
            !sealed
                .windows(32)
                .any(|w| w == signer.to_bytes().as_slice()),
            "stored in the clear"
        );
        assert_eq!(
            open(&master, seller, &sealed).unwrap().address(),
            signer.address()
        );
        assert!(open(&[4u8; 32], seller, &sealed).is_err());
        assert!(open(&master, Uuid::now_v7(), &sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(open(&master, seller, &tampered).is_err());
    }
}
