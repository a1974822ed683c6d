//! The KakaoTalk domain's SQL: link codes and linked Kakao users.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// Deletes every expired code (a new code is rare, so this costs little).
pub async fn delete_expired_codes(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM kakao_link_codes WHERE expires_at <= now()")
        .execute(db)
        .await?;
    Ok(())
}

/// The user's one code, replacing any older one; `replace_link` records that the account's
/// owner agreed to replace an existing link. `expires_at` comes back.
pub async fn put_code(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    code_hash: &[u8],
    ttl_ms: i64,
    replace_link: bool,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "INSERT INTO kakao_link_codes (user_id, code_hash, expires_at, replace_link)
         VALUES ($1, $2, now() + make_interval(secs => $3 / 1000.0), $4)
         ON CONFLICT (user_id) DO UPDATE
           SET code_hash = EXCLUDED.code_hash, expires_at = EXCLUDED.expires_at, created_at = now(),
               replace_link = EXCLUDED.replace_link
         RETURNING expires_at",
    )
    .bind(user_id)
    .bind(code_hash)
    .bind(ttl_ms as f64)
    .bind(replace_link)
    .fetch_one(db)
    .await
}

/// A code that was used.
#[derive(Debug, sqlx::FromRow)]
pub struct TakenCode {
    pub user_id: Uuid,
    pub replace_link: bool,
}

/// Uses a code: deletes it and returns its user, if it exists and has not expired.
pub async fn take_code(
    db: impl PgExecutor<'_>,
    code_hash: &[u8],
) -> sqlx::Result<Option<TakenCode>> {
    sqlx::query_as(
        "DELETE FROM kakao_link_codes WHERE code_hash = $1 AND expires_at > now()
         RETURNING user_id, replace_link",
    )
    .bind(code_hash)
    .fetch_optional(db)
    .await
}

/// The Kakao user an account is linked to, locked for the caller's transaction.
pub async fn lock_link_of_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT bot_user_key FROM kakao_links WHERE user_id = $1 FOR UPDATE")
        .bind(user_id)
        .fetch_optional(db)
        .await
}

/// Links a Kakao user that is linked to nothing to an account, replacing the account's own
/// link if it has one (the caller checked that its owner agreed).
pub async fn link(
    db: &mut sqlx::PgConnection,
    bot_user_key: &str,
    user_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM kakao_links WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *db)
        .await?;
    sqlx::query("INSERT INTO kakao_links (bot_user_key, user_id) VALUES ($1, $2)")
        .bind(bot_user_key)
        .bind(user_id)
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// The account a Kakao user is linked to.
pub async fn linked_user(
    db: impl PgExecutor<'_>,
    bot_user_key: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT user_id FROM kakao_links WHERE bot_user_key = $1")
        .bind(bot_user_key)
        .fetch_optional(db)
        .await
}

/// When the account was linked, if it is.
pub async fn link_of_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT linked_at FROM kakao_links WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await
}

/// Unlinks a Kakao user; whether it was linked.
pub async fn unlink_kakao_user(db: impl PgExecutor<'_>, bot_user_key: &str) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM kakao_links WHERE bot_user_key = $1")
            .bind(bot_user_key)
            .execute(db)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Deletes an account's link and code; whether it was linked.
pub async fn forget(db: &mut sqlx::PgConnection, user_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query("DELETE FROM kakao_link_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *db)
        .await?;
    Ok(sqlx::query("DELETE FROM kakao_links WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *db)
        .await?
        .rows_affected()
        > 0)
}
