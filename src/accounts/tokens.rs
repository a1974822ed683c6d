//! Access tokens (short-lived HS256 JWTs naming their key and their session) and refresh tokens
//! (random, stored hashed, rotated on every use).

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use rand::RngCore as _;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::AuthConfig;

const AUDIENCE: &str = "truffle-api";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The session id: revoking the session ends every token that names it.
    pub sid: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

/// The keys that sign and check access tokens. Only HS256 is accepted, whatever a token's header
/// says, and only with a key whose id the token names.
pub struct TokenKeys {
    active_kid: String,
    signing: EncodingKey,
    checking: HashMap<String, DecodingKey>,
    issuer: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl TokenKeys {
    pub fn new(config: &AuthConfig) -> Self {
        let checking = config
            .jwt_keys
            .iter()
            .map(|k| {
                (
                    k.kid.clone(),
                    DecodingKey::from_secret(k.secret.expose_secret()),
                )
            })
            .collect();
        let active = config
            .jwt_keys
            .iter()
            .find(|k| k.kid == config.active_kid)
            .expect("config validation checked that the active key exists");
        TokenKeys {
            active_kid: config.active_kid.clone(),
            signing: EncodingKey::from_secret(active.secret.expose_secret()),
            checking,
            issuer: config.issuer.clone(),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
        }
    }

    pub fn issue_access(&self, user_id: Uuid, session_id: Uuid) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            sid: session_id,
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.active_kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.signing)?)
    }

    pub fn check_access(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Invalid);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.checking.get(kid))
            .ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

/// A fresh refresh token: 32 random bytes, URL-safe base64. Only its hash is stored.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn refresh_token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{JwtKey, RateLimit};
    use secrecy::SecretBox;

    fn config(keys: &[(&str, u8)], active: &str) -> AuthConfig {
        let limit = RateLimit {
            max: 1,
            window: Duration::from_secs(1),
        };
        AuthConfig {
            jwt_keys: keys
                .iter()
                .map(|(kid, b)| JwtKey {
                    kid: (*kid).into(),
                    secret: SecretBox::new(Box::new(vec![*b; 32])),
                })
                .collect(),
            active_kid: active.into(),
            issuer: "truffle".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
            login_limit_per_account: limit,
            login_limit_per_ip: limit,
            guards: crate::config::AuthGuards::defaults(),
        }
    }

    #[test]
    fn tokens_round_trip_and_survive_key_rotation() {
        let old = TokenKeys::new(&config(&[("k1", 1)], "k1"));
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let token = old.issue_access(user, session).unwrap();
        let claims = old.check_access(&token).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, session));

        // A new key signs; the old one still checks the tokens it signed.
        let rotated = TokenKeys::new(&config(&[("k1", 1), ("k2", 2)], "k2"));
        assert!(rotated.check_access(&token).is_ok());
        let new_token = rotated.issue_access(user, session).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&new_token)
                .unwrap()
                .kid
                .as_deref(),
            Some("k2")
        );
        // Once k1 is retired its tokens stop working.
        let retired = TokenKeys::new(&config(&[("k2", 2)], "k2"));
        assert_eq!(
            retired.check_access(&token).unwrap_err(),
            TokenError::Invalid
        );
        assert!(retired.check_access(&new_token).is_ok());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_refresh_token();
        assert_ne!(a, new_refresh_token());
        assert_eq!(refresh_token_hash(&a).len(), 32);
        assert_ne!(refresh_token_hash(&a), a.as_bytes());
    }
}
