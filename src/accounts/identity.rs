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
use super::states::{VerificationFailure, VerificationState};
use super::store::{self, NewVerification, VerifiedFields, VerifiedPerson};
use crate::http::Refuse as _;
use crate::providers::identity::{Carrier, IdentityError, SendRequest, birth_from_identity_number};
use crate::ratelimit;
use crate::state::state_machine;

/// What can go wrong in an identity verification. The HTTP boundary
/// (`routes/identity.rs`) gives each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of the request is not acceptable.
    #[error(transparent)]
    Invalid(#[from] crate::http::Invalid),
    /// Too many codes sent to this phone or from this address: try again after the wait.
    #[error("too many verifications; wait {0:?}")]
    RateLimited(std::time::Duration),
    /// The provider would not send a code to this person.
    #[error("send rejected: {0}")]
    SendRejected(String),
    /// The provider found the request itself malformed (its reason, cut to 200 characters).
    #[error("the provider refused the request: {0}")]
    ProviderRefused(String),
    /// The provider failed or could not be reached.
    #[error("identity provider: {0}")]
    Provider(IdentityError),
    /// A wrong code, with this many attempts left.
    #[error("wrong code; {left} attempts left")]
    WrongCode { left: u32 },
    #[error("no such identity verification")]
    NotFound,
    /// Not confirmed with a code yet.
    #[error("the identity verification is not confirmed")]
    NotConfirmed,
    #[error("the identity verification is already confirmed")]
    AlreadyConfirmed,
    #[error("the identity verification was already used")]
    AlreadyUsed,
    /// The code's or the confirmed verification's time ran out.
    #[error("the identity verification expired")]
    Expired,
    #[error("too many wrong codes")]
    AttemptsExceeded,
    /// The provider rejected it or no longer knows it: start again.
    #[error("the identity verification failed")]
    Failed,
    /// Started for sign-up and used for a password reset, or the other way round.
    #[error("the identity verification is for another purpose")]
    PurposeMismatch,
    /// A stored row or the provider's answer lacks what a verified person must have.
    #[error("corrupt identity verification: {0}")]
    Corrupt(&'static str),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Signup,
    PasswordReset,
}

state_machine!(Purpose {
    Signup = "signup",
    PasswordReset = "password_reset",
});

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
    pub status: VerificationState,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Sends a code. Rate-limited per phone number and per client address.
pub async fn start(
    accounts: &Accounts,
    ip: IpAddr,
    req: StartVerification,
) -> Result<VerificationStatus, Error> {
    let name = person::clean_text(&req.name, 1, 50)
        .ok_or_else(|| Error::invalid("name", "must be 1 to 50 characters."))?;
    let phone = person::normalize_mobile(&req.phone)
        .ok_or_else(|| Error::invalid("phone", "must be a Korean mobile number."))?;
    let (birth_date, gender) =
        birth_from_identity_number(req.identity_number.trim()).ok_or_else(|| {
            Error::invalid(
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
            return Err(Error::RateLimited(retry_after));
        }
    }

    let id = format!("idv_{}", uuid::Uuid::now_v7().simple());
    let expires_at = store::insert_verification(
        &accounts.db,
        NewVerification {
            id: &id,
            purpose: req.purpose,
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
        store::fail_verification(&accounts.db, &id, VerificationFailure::Rejected).await?;
        return Err(match e {
            IdentityError::Rejected(why) => Error::SendRejected(why),
            IdentityError::InvalidRequest(why) => Error::ProviderRefused(truncate(&why)),
            other => Error::Provider(other),
        });
    }
    Ok(VerificationStatus {
        id,
        purpose: req.purpose,
        status: VerificationState::Sent,
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
) -> Result<VerificationStatus, Error> {
    let code = code.trim();
    if !(4..=10).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid("code", "must be the digits from the SMS."));
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
            .ok_or(Error::Corrupt("verified identity without CI or phone"))?;
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
                store::fail_verification(db, id, VerificationFailure::TooManyAttempts).await?;
                return Err(Error::AttemptsExceeded);
            }
            tracing::debug!(
                verification_id = id,
                why,
                "identity provider rejected the code"
            );
            let left = max - attempts as u32;
            Err(Error::WrongCode { left })
        }
        Err(IdentityError::NotFound) => {
            store::fail_verification(db, id, VerificationFailure::Rejected).await?;
            Err(Error::Failed)
        }
        Err(e) => {
            store::refund_attempt(db, id).await?;
            Err(Error::Provider(e))
        }
    }
}

pub async fn status(accounts: &Accounts, id: &str) -> Result<VerificationStatus, Error> {
    let row = store::get_verification(&accounts.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(VerificationStatus {
        id: row.id,
        purpose: row.purpose,
        status: row.status,
        expires_at: None,
    })
}

/// Why a verification can no longer take a code; marks it failed if it just ran out.
async fn closed_verification_error(accounts: &Accounts, id: &str) -> Result<Error, Error> {
    let db = &accounts.db;
    let row = store::get_verification(db, id)
        .await?
        .ok_or(Error::NotFound)?;
    use VerificationFailure as Why;
    use VerificationState::*;
    Ok(match (row.status, row.failure) {
        (Verified, _) => Error::AlreadyConfirmed,
        (Consumed, _) => Error::AlreadyUsed,
        (Failed, Some(Why::Expired)) => Error::Expired,
        (Failed, Some(Why::TooManyAttempts)) => Error::AttemptsExceeded,
        (Failed, Some(Why::Rejected) | None) => Error::Failed,
        // Still sent, yet it took no attempt: it ran out of time or of attempts just now.
        (Sent, _) if row.expired => {
            store::fail_verification(db, id, Why::Expired).await?;
            Error::Expired
        }
        (Sent, _) => {
            store::fail_verification(db, id, Why::TooManyAttempts).await?;
            Error::AttemptsExceeded
        }
    })
}

/// Why a verification that exists cannot be used for `purpose` now, if it cannot.
fn unusable(
    status: VerificationState,
    row_purpose: Purpose,
    fresh: bool,
    purpose: Purpose,
) -> Option<Error> {
    use VerificationState::*;
    Some(match status {
        Sent => Error::NotConfirmed,
        Consumed => Error::AlreadyUsed,
        Failed => Error::Failed,
        Verified if row_purpose != purpose => Error::PurposeMismatch,
        // Verified, right purpose, yet not usable: it was verified too long ago.
        Verified if !fresh => Error::Expired,
        Verified => return None,
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
) -> Result<Vec<u8>, Error> {
    let row = store::peek_verification(&accounts.db, id, accounts.identity.use_window)
        .await?
        .ok_or(Error::NotFound)?;
    if let Some(e) = unusable(row.status, row.purpose, row.fresh, purpose) {
        return Err(e);
    }
    row.person_key_hash
        .ok_or(Error::Corrupt("a verified verification without a person"))
}

/// Uses a completed verification once, inside the caller's transaction.
pub async fn consume(
    accounts: &Accounts,
    conn: &mut sqlx::PgConnection,
    id: &str,
    purpose: Purpose,
) -> Result<VerifiedPerson, Error> {
    if let Some(person) =
        store::consume_verification(&mut *conn, id, purpose, accounts.identity.use_window).await?
    {
        return Ok(person);
    }
    let row = store::get_verification(&mut *conn, id)
        .await?
        .ok_or(Error::NotFound)?;
    // Verified and of the right purpose yet not consumable: it was verified too long ago.
    Err(unusable(row.status, row.purpose, false, purpose).unwrap_or(Error::Expired))
}
