//! The search domain's SQL: its change feed (`search_feed`, filled by triggers).

use std::time::Duration;

use sqlx::PgExecutor;
use uuid::Uuid;

/// Every transaction with an id below this has ended (committed or rolled back), so the feed
/// rows below it are final.
pub async fn horizon(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        .fetch_one(db)
        .await
}

/// Products changed by transactions with ids in `from..to`.
pub async fn changed(db: impl PgExecutor<'_>, from: i64, to: i64) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar("SELECT DISTINCT product_id FROM search_feed WHERE xid >= $1 AND xid < $2")
        .bind(from)
        .bind(to)
        .fetch_all(db)
        .await
}

/// Forgets feed rows older than `retention`.
pub async fn prune(db: impl PgExecutor<'_>, retention: Duration) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM search_feed WHERE at < now() - make_interval(secs => $1)")
            .bind(retention.as_secs_f64())
            .execute(db)
            .await?
            .rows_affected(),
    )
}
