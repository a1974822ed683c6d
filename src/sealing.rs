//! Secrets kept at rest under the master key (AES-256-GCM, a random nonce per secret, and
//! associated data that binds each ciphertext to what it belongs to: a seller, a raffle).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore as _;

const NONCE_LEN: usize = 12;

fn cipher(master: &[u8]) -> anyhow::Result<Aes256Gcm> {
    Aes256Gcm::new_from_slice(master)
        .map_err(|_| anyhow::anyhow!("the master key must be 32 bytes"))
}

/// nonce ‖ ciphertext of `secret`, bound to `owner`.
pub fn seal(master: &[u8], owner: &[u8], secret: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher(master)?
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: secret,
                aad: owner,
            },
        )
        .map_err(|_| anyhow::anyhow!("sealing failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens what [`seal`] made for the same owner under the same master key.
pub fn open(master: &[u8], owner: &[u8], sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(sealed.len() > NONCE_LEN, "sealed secret too short");
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into()?;
    cipher(master)?
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: owner,
            },
        )
        .map_err(|_| anyhow::anyhow!("a sealed secret does not open under this master key"))
}
