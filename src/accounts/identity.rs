//! The identity-verification flow (product description §2, `docs/PRODUCT.md`): send a code, confirm it, then use the
//! verified person once, for sign-up or a password reset.
//!
//! Failure always sends the person back to the start: a wrong code may be retried until the
//! attempts run out; an expired or exhausted verification is over and a new one must be sent.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Accounts;
use super::person;
use super::store::{self, NewVerification, VerifiedFields, VerifiedPerson};
use crate::http::{ApiError, ErrorCode};
use crate::providers::identity::{Carrier, IdentityError, SendRequest, birth_from_identity_number};
use crate::ratelimit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Signup,
    PasswordReset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Signup => "signup",
            Purpose::PasswordReset => "password_reset",
        }
    }
}

/// `POST /v1/identity-verifications`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartVerification {
    pub purpose: Purpose,
    /// Legal name, as the carrier knows it.
    #[schema(example = "김민수", min_length = 1, max_length = 50)]
    pub name: String,
    /// Korean mobile number (010, 011, 016 to 019), with or without dashes.
    #[schema(
        example = "010-1234-5678",
        pattern = r"^01[016789]-?[0-9]{3,4}-?[0-9]{4}$"
    )]
    pub phone: String,
    /// The first seven digits of the resident registration number: a birth date (YYMMDD) and
    /// the digit that gives century and gender. (29 February is valid in leap years only, which
    /// the pattern leaves out.)
    #[schema(
        example = "9501012",
        pattern = r"^[0-9]{2}((0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])(29|30)|(0[13578]|1[02])31)[0-9]$"
    )]
    pub identity_number: String,
    pub carrier: Carrier,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerificationStatus {
    #[schema(example = "idv_0192f5a4c3d27e0b9a3c1d2e3f405162")]
    pub id: String,
    pub purpose: Purpose,
    /// `sent`, `verified`, `failed` or `consumed`.
    #[schema(example = "sent")]
    pub status: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Sends a code. Rate-limited per phone number and per client address.
pub async fn start(
    accounts: &Accounts,
    ip: IpAddr,
    req: StartVerification,
) -> Result<VerificationStatus, ApiError> {
    let name = person::clean_text(&req.name, 1, 50)
        .ok_or_else(|| ApiError::validation("name", "must be 1 to 50 characters."))?;
    let phone = person::normalize_mobile(&req.phone)
        .ok_or_else(|| ApiError::validation("phone", "must be a Korean mobile number."))?;
    let (birth_date, gender) =
        birth_from_identity_number(req.identity_number.trim()).ok_or_else(|| {
            ApiError::validation(
                "identity_number",
                "must be the first 7 digits of a resident registration number.",
            )
        })?;

    let phone_key =
        hex::encode(&person::keyed_hash(accounts.person_secret(), "rl-phone", &phone)[..16]);
    for (key, limit) in [
        (
            format!("idv:phone:{phone_key}"),
            accounts.identity.send_limit_per_phone,
        ),
        (
            format!("idv:ip:{}", ratelimit::address_key(ip)),
            accounts.identity.send_limit_per_ip,
        ),
    ] {
        if let Err(retry_after) = ratelimit::hit(&accounts.db, &key, limit).await? {
            return Err(ApiError::rate_limited(retry_after));
        }
    }

    let id = format!("idv_{}", uuid::Uuid::now_v7().simple());
    let expires_at = store::insert_verification(
        &accounts.db,
        NewVerification {
            id: &id,
            purpose: req.purpose.as_str(),
            provider: accounts.verifier.name(),
            code_ttl: accounts.identity.code_ttl,
            phone: &phone,
            birth_date: Some(birth_date),
            gender: Some(gender.as_str()),
        },
    )
    .await?;

    let send = SendRequest {
        name,
        phone,
        identity_number: req.identity_number.trim().to_owned(),
        carrier: req.carrier,
        ip,
    };
    if let Err(e) = accounts.verifier.send(&id, &send).await {
        store::fail_verification(&accounts.db, &id, "rejected").await?;
        return Err(match e {
            IdentityError::Rejected(why) => ApiError::with_source(
                ErrorCode::VerificationFailed,
                anyhow::anyhow!("send rejected: {why}"),
            ),
            IdentityError::InvalidRequest(why) => ApiError::with_message(
                ErrorCode::ValidationFailed,
                format!("The provider refused the request: {}", truncate(&why)),
            ),
            other => ApiError::with_source(ErrorCode::UpstreamError, other),
        });
    }
    Ok(VerificationStatus {
        id,
        purpose: req.purpose,
        status: "sent".into(),
        expires_at: Some(expires_at),
    })
}

fn truncate(s: &str) -> String {
    let mut t: String = s.chars().take(200).collect();
    if !t.ends_with('.') {
        t.push('.');
    }
    t
}

/// Confirms the code the person typed.
pub async fn confirm(
    accounts: &Accounts,
    id: &str,
    code: &str,
) -> Result<VerificationStatus, ApiError> {
    let code = code.trim();
    if !(4..=10).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(
            "code",
            "must be the digits from the SMS.",
        ));
    }
    let db = &accounts.db;
    let max = accounts.identity.max_attempts;
    let Some(attempts) = store::count_attempt(db, id, max).await? else {
        return Err(closed_verification_error(accounts, id).await?);
    };

    match accounts.verifier.confirm(id, code).await {
        Ok(identity) => {
            // The phone the provider confirmed, else the one we sent the code to.
            let phone_national = match identity.phone.as_deref().and_then(person::normalize_mobile)
            {
                Some(p) => Some(p),
                None => store::sent_phone(db, id).await?,
            };
            let key_hash = person::person_key_hash(
                accounts.person_secret(),
                identity.ci.as_deref(),
                phone_national.as_deref().map(person::to_e164).as_deref(),
            )
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("verified identity without CI or phone"))
            })?;
            store::mark_verified(
                db,
                id,
                VerifiedFields {
                    person_key_hash: &key_hash,
                    name: &identity.name,
                    phone: phone_national.as_deref(),
                    birth_date: identity.birth_date,
                    gender: identity.gender.map(|g| g.as_str()),
                },
            )
            .await?;
            status(accounts, id).await
        }
        Err(IdentityError::Rejected(why)) => {
            if attempts as u32 >= max {
                store::fail_verification(db, id, "too_many_attempts").await?;
                return Err(ErrorCode::VerificationAttemptsExceeded.into());
            }
            tracing::debug!(
                verification_id = id,
                why,
                "identity provider rejected the code"
            );
            let left = max - attempts as u32;
            Err(ApiError::with_message(
                ErrorCode::VerificationCodeInvalid,
                format!(
                    "The verification code is wrong; {left} attempt{} left.",
                    if left == 1 { "" } else { "s" }
                ),
            ))
        }
        Err(IdentityError::NotFound) => {
            store::fail_verification(db, id, "rejected").await?;
            Err(ErrorCode::VerificationFailed.into())
        }
        Err(e) => {
            store::refund_attempt(db, id).await?;
            Err(ApiError::with_source(ErrorCode::UpstreamError, e))
        }
    }
}

pub async fn status(accounts: &Accounts, id: &str) -> Result<VerificationStatus, ApiError> {
    let row = store::get_verification(&accounts.db, id)
        .await?
        .ok_or(ErrorCode::VerificationNotFound)?;
    let purpose = match row.purpose.as_str() {
        "signup" => Purpose::Signup,
        _ => Purpose::PasswordReset,
    };
    Ok(VerificationStatus {
        id: row.id,
        purpose,
        status: row.status,
        expires_at: None,
    })
}

/// Why a verification can no longer take a code; marks it failed if it just ran out.
async fn closed_verification_error(accounts: &Accounts, id: &str) -> Result<ApiError, ApiError> {
    let db = &accounts.db;
    let row = store::get_verification(db, id)
        .await?
        .ok_or(ErrorCode::VerificationNotFound)?;
    Ok(match (row.status.as_str(), row.failure.as_deref()) {
        ("verified", _) => ErrorCode::VerificationAlreadyConfirmed.into(),
        ("consumed", _) => ErrorCode::VerificationAlreadyUsed.into(),
        ("failed", Some("expired")) => ErrorCode::VerificationExpired.into(),
        ("failed", Some("too_many_attempts")) => ErrorCode::VerificationAttemptsExceeded.into(),
        ("failed", _) => ErrorCode::VerificationFailed.into(),
        _ if row.expired => {
            store::fail_verification(db, id, "expired").await?;
            ErrorCode::VerificationExpired.into()
        }
        _ => {
            store::fail_verification(db, id, "too_many_attempts").await?;
            ErrorCode::VerificationAttemptsExceeded.into()
        }
    })
}

/// Why a verification that exists cannot be used for `purpose` now, if it cannot.
fn unusable(status: &str, row_purpose: &str, fresh: bool, purpose: Purpose) -> Option<ApiError> {
    Some(match status {
        "sent" => ErrorCode::VerificationNotConfirmed.into(),
        "consumed" => ErrorCode::VerificationAlreadyUsed.into(),
        "failed" => ErrorCode::VerificationFailed.into(),
        _ if row_purpose != purpose.as_str() => ErrorCode::VerificationPurposeMismatch.into(),
        // Verified, right purpose, yet not usable: it was verified too long ago.
        _ if !fresh => ErrorCode::VerificationExpired.into(),
        _ => return None,
    })
}

/// Checks, without using it up, that a verification exists, is confirmed, unexpired, unused
/// and of `purpose`; returns the person key hash it proved. Sign-up and password reset call it
/// before any argon2, so a bad verification never buys CPU; [`consume`] checks again inside
/// the transaction that writes.
pub async fn check_usable(
    accounts: &Accounts,
    id: &str,
    purpose: Purpose,
) -> Result<Vec<u8>, ApiError> {
    let row = store::peek_verification(&accounts.db, id, accounts.identity.use_window)
        .await?
        .ok_or(ErrorCode::VerificationNotFound)?;
    if let Some(e) = unusable(&row.status, &row.purpose, row.fresh, purpose) {
        return Err(e);
    }
    row.person_key_hash.ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("a verified verification without a person"))
    })
}

/// Uses a completed verification once, inside the caller's transaction.
pub async fn consume(
    accounts: &Accounts,
    conn: &mut sqlx::PgConnection,
    id: &str,
    purpose: Purpose,
) -> Result<VerifiedPerson, ApiError> {
    if let Some(person) = store::consume_verification(
        &mut *conn,
        id,
        purpose.as_str(),
        accounts.identity.use_window,
    )
    .await?
    {
        return Ok(person);
    }
    let row = store::get_verification(&mut *conn, id)
        .await?
        .ok_or(ErrorCode::VerificationNotFound)?;
    // Verified and of the right purpose yet not consumable: it was verified too long ago.
    Err(unusable(&row.status, &row.purpose, false, purpose)
        .unwrap_or_else(|| ErrorCode::VerificationExpired.into()))
}
