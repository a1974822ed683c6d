//! Sign-up, login, token refresh, logout and password reset: the rules behind `/v1/auth/*`.
//! Everything that can refuse cheaply is checked before argon2, so that an anonymous request
//! never buys a hash it is not entitled to.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::identity::{self, Purpose};
use super::{Accounts, Error, Profile, Role, TokenPair};
use super::{password, person, store, tokens};
use crate::config::RateLimit;
use crate::http::Refuse as _;
use crate::http::error::unique_violation;
use crate::ratelimit;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// A confirmed verification started with purpose `signup`.
    pub identity_verification_id: String,
    /// At most 64 characters before the `@`; the domain has a dot.
    #[schema(
        example = "minsu@example.com",
        max_length = 254,
        pattern = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
    )]
    pub email: String,
    #[schema(schema_with = password::policy_schema, example = "덩크로우-좋아요-2026")]
    pub password: String,
    /// 2 to 20 characters once trimmed.
    #[schema(example = "스니커헤드", min_length = 2, max_length = 20)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub marketing_consent: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthResponse {
    pub user: Profile,
    pub tokens: TokenPair,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "buyer@demo.truffle.kr")]
    pub email: String,
    #[schema(example = "truffle-demo-buyer")]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// A confirmed verification started with purpose `password_reset`.
    pub identity_verification_id: String,
    #[schema(schema_with = password::policy_schema)]
    pub new_password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PasswordResetResponse {
    /// The account's email, masked, so the person knows which account it was.
    #[schema(example = "m***u@example.com")]
    pub email_hint: String,
}

/// A nickname as it is kept: 2 to 20 characters once trimmed.
pub(crate) fn check_nickname(nickname: &str) -> Result<String, Error> {
    person::clean_text(nickname, 2, 20)
        .ok_or_else(|| Error::invalid("nickname", "must be 2 to 20 characters."))
}

/// A new password against the policy (`field` names it in the refusal).
pub(crate) fn check_password(
    field: &str,
    password: &str,
    email: Option<&str>,
) -> Result<(), Error> {
    password::check_policy(password, email).map_err(|why| Error::invalid(field, &format!("{why}.")))
}

/// Counts a hit on `key`; [`Error::RateLimited`] past `limit`.
async fn limit(accounts: &Accounts, key: &str, limit: RateLimit) -> Result<(), Error> {
    ratelimit::hit(&accounts.db, key, limit)
        .await?
        .map_err(Error::RateLimited)
}

/// Creates an account from a confirmed `signup` verification and opens its first session.
pub async fn signup(
    accounts: &Accounts,
    ip: IpAddr,
    req: SignupRequest,
) -> Result<AuthResponse, Error> {
    let email = person::normalize_email(&req.email)
        .ok_or_else(|| Error::invalid("email", "not a valid email address."))?;
    check_password("password", &req.password, Some(&email))?;
    let nickname = req.nickname.as_deref().map(check_nickname).transpose()?;

    // Everything that can refuse cheaply comes before argon2.
    let verification = req.identity_verification_id.trim();
    let guards = &accounts.auth.guards;
    let by_address = format!("signup:ip:{}", ratelimit::address_key(ip));
    limit(accounts, &by_address, guards.signup_limit_per_ip).await?;
    let person_key = identity::check_usable(accounts, verification, Purpose::Signup).await?;
    let by_verification = format!("idv-use:{verification}");
    limit(accounts, &by_verification, guards.verification_use_limit).await?;
    if store::email_exists(&accounts.db, &email).await? {
        return Err(Error::EmailTaken);
    }
    may_join(accounts, &mut *accounts.db.acquire().await?, &person_key).await?;
    let hash = password::hash_on(&accounts.cpu, req.password).await?;

    let mut tx = accounts.db.begin().await?;
    let person = identity::consume(accounts, &mut tx, verification, Purpose::Signup).await?;
    // Again, inside the transaction that uses the verification up.
    may_join(accounts, &mut tx, &person.person_key_hash).await?;
    let user = store::insert_user(
        &mut *tx,
        store::NewUser {
            id: Uuid::now_v7(),
            email: &email,
            password_hash: &hash,
            person_key_hash: Some(&person.person_key_hash),
            verified_name: Some(&person.verified_name),
            nickname: nickname.as_deref(),
            phone: person.phone.as_deref(),
            birth_date: person.birth_date,
            gender: person.gender.as_deref(),
            role: Role::Buyer,
            marketing_consent: req.marketing_consent,
        },
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        Some("users_email_key") => Error::EmailTaken,
        Some("users_person_key_hash_key") => Error::PersonAlreadyRegistered,
        _ => Error::from(e),
    })?;
    let tokens = accounts.open_session(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(AuthResponse {
        user: user.into(),
        tokens,
    })
}

/// Whether the person may open an account: none yet, and none withdrawn within the cool-down.
async fn may_join(
    accounts: &Accounts,
    conn: &mut sqlx::PgConnection,
    person_key: &[u8],
) -> Result<(), Error> {
    if store::find_by_person(&mut *conn, person_key)
        .await?
        .is_some()
    {
        return Err(Error::PersonAlreadyRegistered);
    }
    if store::withdrawn_within(&mut *conn, person_key, accounts.identity.rejoin_cooldown).await? {
        return Err(Error::RejoinCooldown);
    }
    Ok(())
}

/// The rate-limit keys of an account's logins: a keyed hash of the email (so that the table
/// holds no emails), alone and with the client's address prefix.
struct LoginKeys {
    account: String,
    /// The start of every per-address key of the account.
    pairs: String,
}

fn login_keys(accounts: &Accounts, email: &str) -> LoginKeys {
    let who = hex::encode(&person::keyed_hash(accounts.person_secret(), "rl-login", email)[..16]);
    LoginKeys {
        account: format!("login:account:{who}"),
        pairs: format!("login:pair:{who}:"),
    }
}

/// Checks an email and password after the login limits, and opens a session.
pub async fn login(
    accounts: &Accounts,
    ip: IpAddr,
    req: LoginRequest,
) -> Result<AuthResponse, Error> {
    let email = req.email.trim().to_lowercase();
    if email.len() > 320 || req.password.len() > 1024 {
        return Err(Error::InvalidCredentials);
    }
    let address = ratelimit::address_key(ip);
    let keys = login_keys(accounts, &email);
    let pair = format!("{}{address}", keys.pairs);
    let auth = &accounts.auth;
    limit(
        accounts,
        &format!("login:ip:{address}"),
        auth.login_limit_per_ip,
    )
    .await?;
    limit(accounts, &pair, auth.guards.login_limit_per_account_address).await?;
    ratelimit::hit(&accounts.db, &keys.account, auth.login_limit_per_account)
        .await?
        .map_err(Error::AccountLocked)?;
    let found = store::find_login(&accounts.db, &email).await?;
    let ok = password::verify_on(
        &accounts.cpu,
        req.password,
        found.as_ref().and_then(|f| f.password_hash.clone()),
    )
    .await?;
    let Some(found) = found.filter(|_| ok) else {
        return Err(Error::InvalidCredentials);
    };
    ratelimit::reset(&accounts.db, &pair).await?;
    ratelimit::reset(&accounts.db, &keys.account).await?;

    let mut tx = accounts.db.begin().await?;
    let tokens = accounts.open_session(&mut tx, found.id).await?;
    let user = store::find_user(&mut *tx, found.id)
        .await?
        .ok_or(Error::InvalidCredentials)?;
    tx.commit().await?;
    Ok(AuthResponse {
        user: user.into(),
        tokens,
    })
}

/// Trades a refresh token, once, for a new pair; a second use ends the session.
pub async fn refresh(accounts: &Accounts, refresh_token: &str) -> Result<TokenPair, Error> {
    let hash = tokens::refresh_token_hash(refresh_token.trim());
    let mut tx = accounts.db.begin().await?;
    let max = accounts.auth.guards.session_max_lifetime;
    let row = store::lock_refresh_token(&mut *tx, &hash, max)
        .await?
        .ok_or(Error::InvalidRefreshToken)?;
    if row.already_used {
        store::revoke_session(&mut *tx, row.session_id, "refresh_token_reused").await?;
        tx.commit().await?;
        accounts.sessions.forget_session(row.session_id);
        tracing::warn!(session_id = %row.session_id, "refresh token reused; session revoked");
        return Err(Error::RefreshTokenReused);
    }
    if row.past_lifetime {
        return Err(Error::SessionExpired);
    }
    if !row.session_live {
        return Err(Error::SessionRevoked);
    }
    store::mark_refresh_token_used(&mut *tx, &hash).await?;
    let ends =
        store::extend_session(&mut *tx, row.session_id, accounts.keys.refresh_ttl, max).await?;
    let pair = accounts
        .token_pair(&mut *tx, row.user_id, row.session_id, ends)
        .await?;
    tx.commit().await?;
    Ok(pair)
}

/// Ends one session.
pub async fn logout(accounts: &Accounts, session_id: Uuid) -> Result<(), Error> {
    store::revoke_session(&accounts.db, session_id, "logout").await?;
    accounts.sessions.forget_session(session_id);
    Ok(())
}

/// Sets a new password for the person of a confirmed `password_reset` verification, ends every
/// session of the account and clears its login limits.
pub async fn password_reset(
    accounts: &Accounts,
    ip: IpAddr,
    req: PasswordResetRequest,
) -> Result<PasswordResetResponse, Error> {
    check_password("new_password", &req.new_password, None)?;
    let verification = req.identity_verification_id.trim();
    let guards = &accounts.auth.guards;
    let by_address = format!("password-reset:ip:{}", ratelimit::address_key(ip));
    limit(accounts, &by_address, guards.password_reset_limit_per_ip).await?;
    let person_key = identity::check_usable(accounts, verification, Purpose::PasswordReset).await?;
    let by_verification = format!("idv-use:{verification}");
    limit(accounts, &by_verification, guards.verification_use_limit).await?;
    if store::find_by_person(&accounts.db, &person_key)
        .await?
        .is_none()
    {
        return Err(Error::AccountNotFoundForPerson);
    }
    let hash = password::hash_on(&accounts.cpu, req.new_password).await?;

    let mut tx = accounts.db.begin().await?;
    let person = identity::consume(accounts, &mut tx, verification, Purpose::PasswordReset).await?;
    let (user_id, email) = store::find_by_person(&mut *tx, &person.person_key_hash)
        .await?
        .ok_or(Error::AccountNotFoundForPerson)?;
    store::set_password(&mut *tx, user_id, &hash).await?;
    store::revoke_sessions(&mut *tx, user_id, None, "password_reset").await?;
    if let Some(email) = &email {
        // Whoever was locking the account out, its owner is back in.
        let keys = login_keys(accounts, email);
        ratelimit::reset(&mut *tx, &keys.account).await?;
        ratelimit::reset_prefix(&mut *tx, &keys.pairs).await?;
    }
    tx.commit().await?;
    accounts.sessions.forget_user(user_id);
    Ok(PasswordResetResponse {
        email_hint: person::mask_email(email.as_deref().unwrap_or_default()),
    })
}
