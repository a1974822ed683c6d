//! The accounts domain's SQL: users, identity verifications, sessions, refresh tokens and seller
//! applications. Functions take any executor so that callers compose them in transactions.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgExecutor};
use uuid::Uuid;

use super::identity::Purpose;
use super::states::{ApplicationStatus, UserStatus, VerificationFailure, VerificationState};
use super::types::{DeliveryAddress, Role};

fn interval_secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

// ---------------------------------------------------------------------------------------------
// Identity verifications

#[derive(Debug, sqlx::FromRow)]
pub struct VerificationRow {
    pub id: String,
    pub purpose: Purpose,
    pub status: VerificationState,
    pub failure: Option<VerificationFailure>,
    pub attempts: i32,
    pub expired: bool,
    pub verified_at: Option<DateTime<Utc>>,
}

pub struct NewVerification<'a> {
    pub id: &'a str,
    pub purpose: Purpose,
    pub provider: &'a str,
    pub code_ttl: Duration,
    pub phone: &'a str,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<&'a str>,
}

pub async fn insert_verification(
    db: impl PgExecutor<'_>,
    v: NewVerification<'_>,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "INSERT INTO identity_verifications (id, purpose, provider, status, expires_at, phone, birth_date, gender)
         VALUES ($1, $2, $3, 'sent', now() + make_interval(secs => $4), $5, $6, $7)
         RETURNING expires_at",
    )
    .bind(v.id)
    .bind(v.purpose)
    .bind(v.provider)
    .bind(interval_secs(v.code_ttl))
    .bind(v.phone)
    .bind(v.birth_date)
    .bind(v.gender)
    .fetch_one(db)
    .await
}

pub async fn get_verification(
    db: impl PgExecutor<'_>,
    id: &str,
) -> sqlx::Result<Option<VerificationRow>> {
    sqlx::query_as(
        "SELECT id, purpose, status, failure, attempts, expires_at <= now() AS expired, verified_at
         FROM identity_verifications WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn sent_phone(db: impl PgExecutor<'_>, id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT phone FROM identity_verifications WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

/// Counts one confirm attempt if the verification is still open; returns the new count.
pub async fn count_attempt(
    db: impl PgExecutor<'_>,
    id: &str,
    max_attempts: u32,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar(
        "UPDATE identity_verifications SET attempts = attempts + 1
         WHERE id = $1 AND status = 'sent' AND expires_at > now() AND attempts < $2
         RETURNING attempts",
    )
    .bind(id)
    .bind(max_attempts as i32)
    .fetch_optional(db)
    .await
}

/// Gives back an attempt that the provider never judged (it was unreachable).
pub async fn refund_attempt(db: impl PgExecutor<'_>, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE identity_verifications SET attempts = greatest(attempts - 1, 0) WHERE id = $1 AND status = 'sent'")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn fail_verification(
    db: impl PgExecutor<'_>,
    id: &str,
    failure: VerificationFailure,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE identity_verifications
         SET status = 'failed', failure = $2, verified_name = NULL, phone = NULL, birth_date = NULL,
             gender = NULL, person_key_hash = NULL
         WHERE id = $1 AND status = ANY($3)",
    )
    .bind(id)
    .bind(failure)
    .bind(VerificationState::sources(VerificationState::Failed))
    .execute(db)
    .await?;
    Ok(())
}

pub struct VerifiedFields<'a> {
    pub person_key_hash: &'a [u8],
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<&'a str>,
}

pub async fn mark_verified(
    db: impl PgExecutor<'_>,
    id: &str,
    f: VerifiedFields<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE identity_verifications
         SET status = 'verified', verified_at = now(), person_key_hash = $2, verified_name = $3,
             phone = coalesce($4, phone), birth_date = coalesce($5, birth_date),
             gender = coalesce($6, gender)
         WHERE id = $1 AND status = ANY($7)",
    )
    .bind(id)
    .bind(f.person_key_hash)
    .bind(f.name)
    .bind(f.phone)
    .bind(f.birth_date)
    .bind(f.gender)
    .bind(VerificationState::sources(VerificationState::Verified))
    .execute(db)
    .await?;
    Ok(())
}

/// The person a completed verification proved.
#[derive(Debug, sqlx::FromRow)]
pub struct VerifiedPerson {
    pub person_key_hash: Vec<u8>,
    pub verified_name: String,
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<String>,
}

/// A verification as sign-up and reset look at it before any hashing: where it stands, whether
/// it was confirmed within `window`, and the person it proved (while it is verified).
#[derive(Debug, sqlx::FromRow)]
pub struct UsableRow {
    pub purpose: Purpose,
    pub status: VerificationState,
    pub fresh: bool,
    pub person_key_hash: Option<Vec<u8>>,
}

/// Reads a verification without using it up.
pub async fn peek_verification(
    db: impl PgExecutor<'_>,
    id: &str,
    window: Duration,
) -> sqlx::Result<Option<UsableRow>> {
    sqlx::query_as(
        "SELECT purpose, status,
                coalesce(verified_at + make_interval(secs => $2) > now(), false) AS fresh,
                person_key_hash
         FROM identity_verifications WHERE id = $1",
    )
    .bind(id)
    .bind(interval_secs(window))
    .fetch_optional(db)
    .await
}

/// Uses up a verified verification of `purpose` completed within `window`, erasing what it
/// held; `None` when there is no such usable verification.
pub async fn consume_verification(
    db: impl PgExecutor<'_>,
    id: &str,
    purpose: Purpose,
    window: Duration,
) -> sqlx::Result<Option<VerifiedPerson>> {
    sqlx::query_as(
        "WITH old AS (
             SELECT id, person_key_hash, verified_name, phone, birth_date, gender
             FROM identity_verifications
             WHERE id = $1 AND status = ANY($4) AND purpose = $2
               AND verified_at + make_interval(secs => $3) > now()
             FOR UPDATE
         )
         UPDATE identity_verifications iv
         SET status = 'consumed', person_key_hash = NULL, verified_name = NULL, phone = NULL,
             birth_date = NULL, gender = NULL
         FROM old WHERE iv.id = old.id
         RETURNING old.person_key_hash, old.verified_name, old.phone, old.birth_date, old.gender",
    )
    .bind(id)
    .bind(purpose)
    .bind(interval_secs(window))
    .bind(VerificationState::sources(VerificationState::Consumed))
    .fetch_optional(db)
    .await
}

// ---------------------------------------------------------------------------------------------
// Users

#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: Option<String>,
    pub verified_name: Option<String>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<String>,
    pub role: Role,
    pub identity_verified: bool,
    pub delivery_address: Option<Json<DeliveryAddress>>,
    pub marketing_consent: bool,
    pub marketing_consent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str =
    "id, email, verified_name, name, nickname, phone, birth_date, gender, role,
    person_key_hash IS NOT NULL AS identity_verified, delivery_address, marketing_consent,
    marketing_consent_at, created_at";

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub person_key_hash: Option<&'a [u8]>,
    pub verified_name: Option<&'a str>,
    pub nickname: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<&'a str>,
    pub role: Role,
    pub marketing_consent: bool,
}

pub async fn insert_user(db: impl PgExecutor<'_>, u: NewUser<'_>) -> sqlx::Result<UserRow> {
    sqlx::query_as(AssertSqlSafe(format!(
        "INSERT INTO users (id, email, password_hash, person_key_hash, verified_name, name, nickname,
                            phone, birth_date, gender, role, marketing_consent, marketing_consent_at)
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $11 THEN now() END)
         RETURNING {USER_COLUMNS}"
    )))
    .bind(u.id)
    .bind(u.email)
    .bind(u.password_hash)
    .bind(u.person_key_hash)
    .bind(u.verified_name)
    .bind(u.nickname)
    .bind(u.phone)
    .bind(u.birth_date)
    .bind(u.gender)
    .bind(u.role)
    .bind(u.marketing_consent)
    .fetch_one(db)
    .await
}

pub async fn find_user(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND status = 'active'"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct LoginRow {
    pub id: Uuid,
    pub password_hash: Option<String>,
}

pub async fn find_login(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Option<LoginRow>> {
    sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1 AND status = 'active'")
        .bind(email)
        .fetch_optional(db)
        .await
}

pub async fn password_hash(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 AND status = 'active'")
        .bind(id)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

pub async fn find_by_person(
    db: impl PgExecutor<'_>,
    person_key_hash: &[u8],
) -> sqlx::Result<Option<(Uuid, Option<String>)>> {
    sqlx::query_as("SELECT id, email FROM users WHERE person_key_hash = $1 AND status = 'active'")
        .bind(person_key_hash)
        .fetch_optional(db)
        .await
}

pub async fn withdrawn_within(
    db: impl PgExecutor<'_>,
    person_key_hash: &[u8],
    cooldown: Duration,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM withdrawn_persons
                        WHERE person_key_hash = $1 AND withdrawn_at + make_interval(secs => $2) > now())",
    )
    .bind(person_key_hash)
    .bind(interval_secs(cooldown))
    .fetch_one(db)
    .await
}

pub async fn set_password(db: impl PgExecutor<'_>, id: Uuid, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

/// A partial profile update: `None` leaves a field as it is; `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub nickname: Option<Option<String>>,
    pub delivery_address: Option<Option<DeliveryAddress>>,
    pub marketing_consent: Option<bool>,
}

pub async fn update_profile(
    db: impl PgExecutor<'_>,
    id: Uuid,
    c: ProfileChange,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE users SET
             name = CASE WHEN $2 THEN $3 ELSE name END,
             nickname = CASE WHEN $4 THEN $5 ELSE nickname END,
             delivery_address = CASE WHEN $6 THEN $7 ELSE delivery_address END,
             marketing_consent = coalesce($8, marketing_consent),
             marketing_consent_at = CASE WHEN $8 IS NOT NULL AND $8 IS DISTINCT FROM marketing_consent
                                         THEN now() ELSE marketing_consent_at END,
             updated_at = now()
         WHERE id = $1 AND status = 'active'
         RETURNING {USER_COLUMNS}"
    )))
    .bind(id)
    .bind(c.name.is_some())
    .bind(c.name)
    .bind(c.nickname.is_some())
    .bind(c.nickname.flatten())
    .bind(c.delivery_address.is_some())
    .bind(c.delivery_address.flatten().map(Json))
    .bind(c.marketing_consent)
    .fetch_optional(db)
    .await
}

/// Locks an active account for its deletion (`FOR UPDATE`); false when it is not active.
pub async fn lock_for_deletion(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    Ok(sqlx::query_scalar::<_, i32>(
        "SELECT 1 FROM users WHERE id = $1 AND status = 'active' FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .is_some())
}

/// Holds an active account as it is until the caller's transaction ends (`FOR KEY SHARE`: profile
/// updates go on, a deletion waits); false when it is not active.
pub async fn hold_active(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    Ok(sqlx::query_scalar::<_, i32>(
        "SELECT 1 FROM users WHERE id = $1 AND status = 'active' FOR KEY SHARE",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .is_some())
}

/// Erases a person from their account. The row stays, empty, so that records the law keeps
/// (orders, payments) still point at an id. Returns the person key hash it held.
pub async fn anonymise_user(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> sqlx::Result<Option<Option<Vec<u8>>>> {
    sqlx::query_scalar(
        "WITH old AS (SELECT id, person_key_hash FROM users WHERE id = $1 AND status = 'active' FOR UPDATE)
         UPDATE users u SET
             email = NULL, password_hash = NULL, person_key_hash = NULL, verified_name = NULL,
             name = NULL, nickname = NULL, phone = NULL, birth_date = NULL, gender = NULL,
             delivery_address = NULL, marketing_consent = false, marketing_consent_at = NULL,
             status = 'deleted', deleted_at = now(), updated_at = now()
         FROM old WHERE u.id = old.id
         RETURNING old.person_key_hash",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn record_withdrawal(
    db: impl PgExecutor<'_>,
    person_key_hash: &[u8],
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO withdrawn_persons (person_key_hash, withdrawn_at) VALUES ($1, now())
         ON CONFLICT (person_key_hash) DO UPDATE SET withdrawn_at = now()",
    )
    .bind(person_key_hash)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_role(db: impl PgExecutor<'_>, id: Uuid, role: Role) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET role = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(role)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn email_exists(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
        .bind(email)
        .fetch_one(db)
        .await
}

// ---------------------------------------------------------------------------------------------
// Sessions and refresh tokens

/// Opens a session that lasts `ttl` without a refresh and never past `max_lifetime`; returns
/// when it ends unless refreshed.
pub async fn insert_session(
    db: impl PgExecutor<'_>,
    id: Uuid,
    user_id: Uuid,
    ttl: Duration,
    max_lifetime: Duration,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "INSERT INTO sessions (id, user_id, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => least($3, $4)))
         RETURNING expires_at",
    )
    .bind(id)
    .bind(user_id)
    .bind(interval_secs(ttl))
    .bind(interval_secs(max_lifetime))
    .fetch_one(db)
    .await
}

pub async fn insert_refresh_token(
    db: impl PgExecutor<'_>,
    hash: &[u8],
    session_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
        .bind(hash)
        .bind(session_id)
        .execute(db)
        .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct RefreshRow {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub already_used: bool,
    pub session_live: bool,
    /// The session is older than its absolute lifetime.
    pub past_lifetime: bool,
}

/// Locks a refresh token and tells whether it and its session may still be used.
pub async fn lock_refresh_token(
    db: impl PgExecutor<'_>,
    hash: &[u8],
    max_lifetime: Duration,
) -> sqlx::Result<Option<RefreshRow>> {
    sqlx::query_as(
        "SELECT rt.session_id, s.user_id, rt.used_at IS NOT NULL AS already_used,
                (s.revoked_at IS NULL AND s.expires_at > now() AND u.status = 'active') AS session_live,
                s.created_at + make_interval(secs => $2) <= now() AS past_lifetime
         FROM refresh_tokens rt
         JOIN sessions s ON s.id = rt.session_id
         JOIN users u ON u.id = s.user_id
         WHERE rt.token_hash = $1
         FOR UPDATE OF rt",
    )
    .bind(hash)
    .bind(interval_secs(max_lifetime))
    .fetch_optional(db)
    .await
}

pub async fn mark_refresh_token_used(db: impl PgExecutor<'_>, hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1")
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Extends a session by `ttl`, never past `max_lifetime` after it was opened; returns when it
/// ends now.
pub async fn extend_session(
    db: impl PgExecutor<'_>,
    id: Uuid,
    ttl: Duration,
    max_lifetime: Duration,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "UPDATE sessions SET last_refreshed_at = now(),
             expires_at = least(now() + make_interval(secs => $2),
                                created_at + make_interval(secs => $3))
         WHERE id = $1
         RETURNING expires_at",
    )
    .bind(id)
    .bind(interval_secs(ttl))
    .bind(interval_secs(max_lifetime))
    .fetch_one(db)
    .await
}

pub async fn revoke_session(db: impl PgExecutor<'_>, id: Uuid, reason: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(())
}

/// Revokes every live session of a user but `keep`.
pub async fn revoke_sessions(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $3
         WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)",
    )
    .bind(user_id)
    .bind(keep)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Principal {
    pub role: Role,
    pub identity_verified: bool,
    /// Opened longer ago than the sessions' absolute lifetime.
    pub past_lifetime: bool,
    /// Until when the session lives unless refreshed.
    pub expires_at: DateTime<Utc>,
    /// When the absolute lifetime ends, refreshed or not.
    pub lifetime_ends: DateTime<Utc>,
}

/// The caller behind a live session, or `None` when the session was revoked or ran out.
/// A session past its absolute lifetime comes back with `past_lifetime` (refused all the same,
/// with its own code).
pub async fn session_principal(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    user_id: Uuid,
    max_lifetime: Duration,
) -> sqlx::Result<Option<Principal>> {
    sqlx::query_as(
        "SELECT u.role, u.person_key_hash IS NOT NULL AS identity_verified,
                s.created_at + make_interval(secs => $3) <= now() AS past_lifetime,
                s.expires_at, s.created_at + make_interval(secs => $3) AS lifetime_ends
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL
           AND (s.expires_at > now() OR s.created_at + make_interval(secs => $3) <= now())
           AND u.status = 'active'",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(interval_secs(max_lifetime))
    .fetch_optional(db)
    .await
}

// ---------------------------------------------------------------------------------------------
// Seller applications

#[derive(Debug, sqlx::FromRow)]
pub struct ApplicationRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub business_name: String,
    pub business_registration_number: String,
    pub status: ApplicationStatus,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const APPLICATION_COLUMNS: &str =
    "id, user_id, business_name, business_registration_number, status,
    decision_reason, decided_at, created_at";

pub async fn insert_application(
    db: impl PgExecutor<'_>,
    id: Uuid,
    user_id: Uuid,
    business_name: &str,
    registration_number: &str,
) -> sqlx::Result<ApplicationRow> {
    sqlx::query_as(AssertSqlSafe(format!(
        "INSERT INTO seller_applications (id, user_id, business_name, business_registration_number)
         VALUES ($1, $2, $3, $4) RETURNING {APPLICATION_COLUMNS}"
    )))
    .bind(id)
    .bind(user_id)
    .bind(business_name)
    .bind(registration_number)
    .fetch_one(db)
    .await
}

pub async fn latest_application(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> sqlx::Result<Option<ApplicationRow>> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {APPLICATION_COLUMNS} FROM seller_applications WHERE user_id = $1
         ORDER BY created_at DESC, id DESC LIMIT 1"
    )))
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// Applications oldest first (ids are UUIDv7, so id order is time order), after `cursor`.
pub async fn list_applications(
    db: impl PgExecutor<'_>,
    status: Option<ApplicationStatus>,
    cursor: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<ApplicationRow>> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {APPLICATION_COLUMNS} FROM seller_applications
         WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR id > $2)
         ORDER BY id LIMIT $3"
    )))
    .bind(status)
    .bind(cursor)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn lock_application(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> sqlx::Result<Option<ApplicationRow>> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {APPLICATION_COLUMNS} FROM seller_applications WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Records an admin's decision; `None` when the application may no longer become `status`.
pub async fn decide_application(
    db: impl PgExecutor<'_>,
    id: Uuid,
    status: ApplicationStatus,
    admin: Uuid,
    reason: Option<&str>,
) -> sqlx::Result<Option<ApplicationRow>> {
    sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE seller_applications SET status = $2, decided_by = $3, decision_reason = $4, decided_at = now()
         WHERE id = $1 AND status = ANY($5) RETURNING {APPLICATION_COLUMNS}"
    )))
    .bind(id)
    .bind(status)
    .bind(admin)
    .bind(reason)
    .bind(ApplicationStatus::sources(status))
    .fetch_optional(db)
    .await
}

/// Account deletion: the account's pending and approved applications are closed, which frees
/// their business registration number (the row stays as the record of the decision).
pub async fn close_applications(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE seller_applications SET status = 'closed'
         WHERE user_id = $1 AND status = ANY($2)",
    )
    .bind(user_id)
    .bind(ApplicationStatus::sources(ApplicationStatus::Closed))
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A person's verified birth date and gender (either may be unknown: admins made by the CLI).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Demographic {
    pub user_id: Uuid,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<String>,
}

/// Every active person's demographics, or one person's (recommendations read them from here).
pub async fn demographics(
    db: impl PgExecutor<'_>,
    user: Option<Uuid>,
) -> sqlx::Result<Vec<Demographic>> {
    // Two statements, not `$1 IS NULL OR …`: a cached generic plan could not use the index.
    const SELECT: &str =
        "SELECT id AS user_id, birth_date, gender FROM users WHERE status = 'active'";
    match user {
        Some(user) => {
            sqlx::query_as(AssertSqlSafe(format!("{SELECT} AND id = $1")))
                .bind(user)
                .fetch_all(db)
                .await
        }
        None => sqlx::query_as(SELECT).fetch_all(db).await,
    }
}

// ---------------------------------------------------------------------------------------------
// What other people see of a person (chat)

#[derive(Debug, sqlx::FromRow)]
pub struct PublicNameRow {
    pub id: Uuid,
    pub nickname: Option<String>,
    pub verified_name: Option<String>,
    pub status: UserStatus,
}

pub async fn public_names(
    db: impl PgExecutor<'_>,
    ids: &[Uuid],
) -> sqlx::Result<Vec<PublicNameRow>> {
    sqlx::query_as("SELECT id, nickname, verified_name, status FROM users WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(db)
        .await
}
