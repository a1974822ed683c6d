//! The one table recommendations own: product pages a logged-in buyer opened. Purchases, raffle
//! entries and demographics are read through their own domains' stores.

use chrono::NaiveDate;
use sqlx::PgExecutor;
use uuid::Uuid;

/// Records that `user` opened `product`'s page on `day` (once per day).
pub async fn record_view(
    db: impl PgExecutor<'_>,
    user: Uuid,
    product: Uuid,
    day: NaiveDate,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO product_views (user_id, product_id, viewed_on) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(product)
    .bind(day)
    .execute(db)
    .await?;
    Ok(())
}

/// (user, product) of every view since `since`, or one user's, once per pair.
pub async fn views(
    db: impl PgExecutor<'_>,
    user: Option<Uuid>,
    since: NaiveDate,
) -> sqlx::Result<Vec<(Uuid, Uuid)>> {
    // Two statements, not `$1 IS NULL OR …`: a cached generic plan could not use the index.
    match user {
        Some(user) => {
            sqlx::query_as(
                "SELECT DISTINCT user_id, product_id FROM product_views
                 WHERE user_id = $1 AND viewed_on >= $2",
            )
            .bind(user)
            .bind(since)
            .fetch_all(db)
            .await
        }
        None => {
            sqlx::query_as(
                "SELECT DISTINCT user_id, product_id FROM product_views WHERE viewed_on >= $1",
            )
            .bind(since)
            .fetch_all(db)
            .await
        }
    }
}

/// Deletes views older than `before`.
pub async fn purge_views(db: impl PgExecutor<'_>, before: NaiveDate) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM product_views WHERE viewed_on < $1")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// Deletes every view of a user (their account is being deleted).
pub async fn forget(db: impl PgExecutor<'_>, user: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM product_views WHERE user_id = $1")
        .bind(user)
        .execute(db)
        .await?;
    Ok(())
}
