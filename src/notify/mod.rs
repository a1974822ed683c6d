//! The in-app inbox: won, not won, payment due soon, payment confirmed, raffle cancelled, …
//! Other domains add notifications inside their own transactions; people read and mark them.

pub mod routes;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;
use utoipa::ToSchema;
use uuid::Uuid;

/// What can go wrong with the inbox: only the database, for now.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("notifications: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Notification {
    pub id: Uuid,
    /// `won`, `not_won`, `payment_due_soon`, `payment_confirmed`, `raffle_cancelled`,
    /// `order_expired`, `refunded`, `unit_clone_suspected`.
    pub kind: String,
    /// Korean, for display.
    pub title: String,
    pub body: String,
    #[schema(value_type = Object)]
    pub data: sqlx::types::Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// The channel a new notification is announced on (`{"u": user id, "id": notification id}`), so
/// that every replica can push it to the person's open chat sockets.
pub const NOTIFY_CHANNEL: &str = "truffle_notifications";

/// Adds a notification to the person's inbox; once the caller's transaction commits, it is also
/// pushed live to their open sockets on every replica.
pub async fn push(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    kind: &str,
    title: &str,
    body: &str,
    data: serde_json::Value,
) -> Result<(), Error> {
    sqlx::query(
        "WITH n AS (
            INSERT INTO notifications (id, user_id, kind, title, body, data)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, user_id
         )
         SELECT pg_notify('truffle_notifications', json_build_object('u', user_id, 'id', id)::text)
         FROM n",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(kind)
    .bind(title)
    .bind(body)
    .bind(sqlx::types::Json(data))
    .execute(db)
    .await?;
    Ok(())
}

/// One of the person's notifications.
pub async fn find(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<Notification>, Error> {
    Ok(sqlx::query_as(
        "SELECT id, kind, title, body, data, created_at, read_at FROM notifications
         WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(db)
    .await?)
}

pub async fn list(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    unread_only: bool,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Notification>, Error> {
    Ok(sqlx::query_as(
        "SELECT id, kind, title, body, data, created_at, read_at FROM notifications
         WHERE user_id = $1 AND (NOT $2 OR read_at IS NULL) AND ($3::uuid IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
    )
    .bind(user_id)
    .bind(unread_only)
    .bind(cursor)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Marks the given notifications read (all of the user's when `ids` is None); only the user's own.
pub async fn mark_read(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    ids: Option<&[Uuid]>,
) -> Result<u64, Error> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = now()
         WHERE user_id = $1 AND read_at IS NULL AND ($2::uuid[] IS NULL OR id = ANY($2))",
    )
    .bind(user_id)
    .bind(ids)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
