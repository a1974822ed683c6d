//! Fixed-window rate limits kept in PostgreSQL, so that every replica shares the same counts.

use std::time::Duration;

use sqlx::PgPool;

use crate::config::RateLimit;

/// Counts one hit against `key`. `Err(retry_after)` once the window's limit is passed.
pub async fn hit(
    db: &PgPool,
    key: &str,
    limit: RateLimit,
) -> Result<Result<(), Duration>, sqlx::Error> {
    let window_ms = i64::try_from(limit.window.as_millis()).unwrap_or(i64::MAX);
    let (hits, remaining_ms): (i32, f64) = sqlx::query_as(
        r#"
        INSERT INTO rate_limits AS r (key, window_start, hits)
        VALUES ($1, now(), 1)
        ON CONFLICT (key) DO UPDATE SET
            hits = CASE WHEN r.window_start + make_interval(secs => $2 / 1000.0) <= now()
                        THEN 1 ELSE r.hits + 1 END,
            window_start = CASE WHEN r.window_start + make_interval(secs => $2 / 1000.0) <= now()
                                THEN now() ELSE r.window_start END
        RETURNING hits,
                  (EXTRACT(EPOCH FROM (window_start + make_interval(secs => $2 / 1000.0) - now())) * 1000)::float8
        "#,
    )
    .bind(key)
    .bind(window_ms as f64)
    .fetch_one(db)
    .await?;
    if hits as u32 > limit.max {
        Ok(Err(Duration::from_millis(remaining_ms.max(1000.0) as u64)))
    } else {
        Ok(Ok(()))
    }
}

/// Forgets the hits on `key` (a successful login clears the account's failed attempts).
pub async fn reset(db: &PgPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM rate_limits WHERE key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}
