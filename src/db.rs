//! PostgreSQL: the pool and the migrations under `migrations/`.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// The migrations compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// `/ready`: can we reach the database right now?
pub async fn ping(pool: &PgPool) -> bool {
    tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}

/// Runs `pass` over and over on whichever replica holds the PostgreSQL advisory lock `key`, until
/// `stop` turns true: the single-runner loop of the anchoring and draw workers.
///
/// The lock lives as long as one connection, kept out of the pool so that dropping it (shutdown,
/// or a broken connection) closes it and frees the lock for another replica. A failing pass (an
/// unreachable RPC) is logged and retried with backoff up to 30 s.
pub async fn run_exclusive<T, F, Fut>(
    db: PgPool,
    key: i64,
    name: &'static str,
    stop: tokio::sync::watch::Receiver<bool>,
    mut pass: F,
) where
    T: std::fmt::Debug + Default + PartialEq,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let tick = Duration::from_millis(500);
    let mut backoff = tick;
    let mut lock: Option<sqlx::PgConnection> = None;
    let mut ticks = crate::periodic::Ticks::new(tick, stop);
    // The first pass comes at once; after each, the wait is the backoff.
    let mut go_on = ticks.next().await;
    while go_on {
        if lock.is_none() {
            lock = try_advisory_lock(&db, key).await;
            if lock.is_some() {
                tracing::info!(worker = name, "this replica runs the worker");
            }
        }
        if lock.is_some() {
            match pass().await {
                Ok(done) => {
                    if done != T::default() {
                        tracing::info!(worker = name, ?done, "worker pass");
                    }
                    backoff = tick;
                }
                Err(e) => {
                    tracing::warn!(
                        worker = name,
                        error = format!("{e:#}"),
                        "worker paused; will retry"
                    );
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    // The lock's connection may be what broke: take the lock again next time.
                    if let Some(conn) = lock.as_mut()
                        && sqlx::query("SELECT 1").execute(&mut *conn).await.is_err()
                    {
                        lock = None;
                    }
                }
            }
        }
        go_on = ticks.wait(backoff).await;
    }
}

async fn try_advisory_lock(db: &PgPool, key: i64) -> Option<sqlx::PgConnection> {
    let mut conn = db.acquire().await.ok()?.detach();
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut conn)
        .await
        .ok()?;
    got.then_some(conn)
}

/// A page of a keyset list: the store read `limit + 1` rows, and the extra one only says that
/// another page follows. Keeps the first `limit` rows and gives the next page's cursor (`key` of
/// the last row kept) when there is one.
pub fn page_of<T, C>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl FnOnce(&T) -> C,
) -> (Vec<T>, Option<C>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(key);
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::page_of;

    #[test]
    fn a_page_keeps_limit_rows_and_names_the_last_kept_when_more_follow() {
        assert_eq!(page_of(vec![1, 2, 3], 2, |r| *r), (vec![1, 2], Some(2)));
        assert_eq!(page_of(vec![1, 2], 2, |r| *r), (vec![1, 2], None));
        assert_eq!(page_of(Vec::<i32>::new(), 2, |r| *r), (vec![], None));
    }
}
