//! Fixed-window rate limits kept in PostgreSQL, so that every replica shares the same counts.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::{IpNet, Ipv6Net};
use sqlx::{PgExecutor, PgPool};

use crate::config::RateLimit;

/// The part of a client address that limits and de-duplication key on: an IPv4 address as it
/// is (an IPv4-mapped IPv6 address too), an IPv6 address by its /64 — one household or phone
/// keeps its /64 while its privacy addresses rotate, so one client cannot make itself new
/// budgets by changing the low 64 bits.
pub fn address_prefix(ip: IpAddr) -> IpNet {
    match ip {
        IpAddr::V4(v4) => IpNet::from(IpAddr::V4(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpNet::from(IpAddr::V4(v4)),
            None => IpNet::V6(Ipv6Net::new(v6, 64).expect("64 is a valid prefix").trunc()),
        },
    }
}

/// [`address_prefix`] as the text of a rate-limit key: `203.0.113.7/32`, `2001:db8:1:2::/64`.
pub fn address_key(ip: IpAddr) -> String {
    address_prefix(ip).to_string()
}

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
pub async fn reset(db: impl PgExecutor<'_>, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM rate_limits WHERE key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets every key that starts with `prefix` (a password reset clears an account's login
/// counters from every address).
pub async fn reset_prefix(db: impl PgExecutor<'_>, prefix: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM rate_limits WHERE starts_with(key, $1)")
        .bind(prefix)
        .execute(db)
        .await?;
    Ok(())
}

/// Gives back one hit on `key` (an attempt that turned out right does not count against a
/// failure budget).
pub async fn refund(db: impl PgExecutor<'_>, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE rate_limits SET hits = greatest(hits - 1, 0) WHERE key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes counters whose window began more than `older_than` ago: they no longer limit
/// anything unless a configured window is longer. Returns how many went.
pub async fn purge(db: impl PgExecutor<'_>, older_than: Duration) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM rate_limits WHERE window_start < now() - make_interval(secs => $1)",
    )
    .bind(older_than.as_secs_f64())
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_kept_whole_and_ipv6_is_taken_by_its_64() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7/32");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7/32");
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:aaaa:bbbb:cccc"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }
}
