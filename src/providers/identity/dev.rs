//! The `dev` identity provider: no SMS is sent; the code is written to the log instead.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine as _;
use rand::Rng as _;
use sha2::{Digest, Sha256};

use super::{
    IdentityError, IdentityVerifier, SendRequest, VerifiedIdentity, birth_from_identity_number,
};

#[derive(Default)]
pub struct DevIdentityVerifier {
    pending: Mutex<HashMap<String, (String, SendRequest)>>,
}

impl DevIdentityVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// The code sent for `id`, for tests that play the person reading their SMS.
    pub fn code_for(&self, id: &str) -> Option<String> {
        self.pending
            .lock()
            .expect("dev verifier lock")
            .get(id)
            .map(|(code, _)| code.clone())
    }
}

#[async_trait]
impl IdentityVerifier for DevIdentityVerifier {
    fn name(&self) -> &'static str {
        "dev"
    }

    async fn send(&self, id: &str, request: &SendRequest) -> Result<(), IdentityError> {
        if birth_from_identity_number(&request.identity_number).is_none() {
            return Err(IdentityError::Rejected(
                "the identity number is not a real birth date".into(),
            ));
        }
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
        // The dev provider's whole point: a newcomer reads the code here instead of on a phone.
        tracing::info!(verification_id = id, code = %code, "dev identity provider: verification code");
        self.pending
            .lock()
            .expect("dev verifier lock")
            .insert(id.to_owned(), (code, request.clone()));
        Ok(())
    }

    async fn confirm(&self, id: &str, code: &str) -> Result<VerifiedIdentity, IdentityError> {
        let mut pending = self.pending.lock().expect("dev verifier lock");
        let Some((expected, request)) = pending.get(id) else {
            return Err(IdentityError::NotFound);
        };
        if expected != code {
            return Err(IdentityError::Rejected("code mismatch".into()));
        }
        let (birth_date, gender) = birth_from_identity_number(&request.identity_number)
            .ok_or_else(|| IdentityError::Rejected("bad identity number".into()))?;
        // A stand-in CI: stable for one name and identity number, like the real one is per person.
        let ci = base64::engine::general_purpose::STANDARD.encode(
            Sha256::new()
                .chain_update(b"truffle-dev-ci\0")
                .chain_update(request.name.as_bytes())
                .chain_update(b"\0")
                .chain_update(request.identity_number.as_bytes())
                .finalize(),
        );
        let identity = VerifiedIdentity {
            name: request.name.clone(),
            phone: Some(request.phone.clone()),
            birth_date: Some(birth_date),
            gender: Some(gender),
            ci: Some(ci),
        };
        pending.remove(id);
        Ok(identity)
    }
}
