//! Live sessions cached in memory, so that an authenticated request needs no database round
//! trip, and invalidated on every replica at once.
//!
//! Triggers on `sessions` and `users` (migration `session_changes`) send a NOTIFY on
//! `truffle_sessions` whenever a session changes (revoked, refreshed, deleted) or an account's
//! role, status or verified identity changes; Postgres delivers it when the writing transaction
//! commits. Each replica's listener drops what the notice names. The cache is used only while
//! the listener is connected: a replica that cannot hear revocations asks the database every
//! time, and empties its cache whenever its listener (re)connects, since it may have missed
//! notices meanwhile.
//!
//! A lookup that read the database while a notice arrived does not store what it read (it may
//! predate the change): a generation counter, moved by every notice under the same lock as the
//! map, tells. Entries also age out after [`MAX_AGE`], and a session's own expiry and lifetime
//! are checked on every hit, so a cached entry never outlives what the database would answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use uuid::Uuid;

use super::store::Principal;

/// The NOTIFY channel of the triggers.
pub const SESSIONS_CHANNEL: &str = "truffle_sessions";
/// The longest a cached entry is used, notices or not.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// The most sessions one replica keeps (about 100 bytes each); past it, lookups go to the
/// database until entries age out.
pub const MAX_ENTRIES: usize = 500_000;

struct Cached {
    user_id: Uuid,
    principal: Principal,
    at: Instant,
}

#[derive(Default)]
struct Map {
    sessions: HashMap<Uuid, Cached>,
    /// Moved by every notice; a lookup stores its answer only if it did not move meanwhile.
    generation: u64,
}

/// Hits, misses and notices, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct SessionStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub notices: AtomicU64,
    pub listener_connects: AtomicU64,
}

#[derive(Default)]
pub struct SessionCache {
    map: Mutex<Map>,
    /// The listener is connected: notices arrive, so the cache may be used.
    listening: AtomicBool,
    started: AtomicBool,
    pub stats: SessionStats,
}

/// What a hit says about a session.
pub enum Hit {
    Live(Principal),
    /// The session ran out since it was cached (refused, as the database would).
    Expired,
    PastLifetime,
}

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached answer for a session of `user_id`, if the cache may be used and holds one.
    pub fn get(&self, session_id: Uuid, user_id: Uuid) -> Option<Hit> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let map = self.lock();
        let found = map
            .sessions
            .get(&session_id)
            .filter(|c| c.user_id == user_id && c.at.elapsed() < MAX_AGE);
        let Some(c) = found else {
            self.stats.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.stats.hits.fetch_add(1, Ordering::Relaxed);
        let now = Utc::now();
        Some(if c.principal.lifetime_ends <= now {
            Hit::PastLifetime
        } else if c.principal.expires_at <= now {
            Hit::Expired
        } else {
            Hit::Live(c.principal.clone())
        })
    }

    /// The generation to pass to [`SessionCache::put`] after reading the database.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Stores a live session read from the database, unless a notice arrived since `generation`.
    pub fn put(&self, generation: u64, session_id: Uuid, user_id: Uuid, principal: Principal) {
        if principal.past_lifetime || !self.listening.load(Ordering::Acquire) {
            return;
        }
        let mut map = self.lock();
        if map.generation != generation || map.sessions.len() >= MAX_ENTRIES {
            return;
        }
        map.sessions.insert(
            session_id,
            Cached {
                user_id,
                principal,
                at: Instant::now(),
            },
        );
    }

    /// Applies one notice of the triggers (`s:<session>` or `u:<user>`).
    pub fn notice(&self, payload: &str) {
        self.stats.notices.fetch_add(1, Ordering::Relaxed);
        let (kind, id) = payload.split_once(':').unwrap_or_default();
        match (kind, id.parse::<Uuid>()) {
            ("s", Ok(id)) => self.forget_session(id),
            ("u", Ok(id)) => self.forget_user(id),
            // Not ours to read: forget everything rather than guess.
            _ => {
                let mut map = self.lock();
                map.generation += 1;
                map.sessions.clear();
            }
        }
    }

    /// Drops one session at once, on this replica: a change this replica committed is seen by
    /// its next request, without waiting for the notice (which the others wait for).
    pub fn forget_session(&self, session_id: Uuid) {
        let mut map = self.lock();
        map.generation += 1;
        map.sessions.remove(&session_id);
    }

    /// Drops every session of an account at once, on this replica.
    pub fn forget_user(&self, user_id: Uuid) {
        let mut map = self.lock();
        map.generation += 1;
        map.sessions.retain(|_, c| c.user_id != user_id);
    }

    fn set_listening(&self, on: bool) {
        let mut map = self.lock();
        map.generation += 1;
        map.sessions.clear();
        self.listening.store(on, Ordering::Release);
    }

    /// Whether the cache is in use (its listener is connected).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// Starts the listener once, on the caller's runtime (the first authenticated request).
    pub fn ensure_listening(self: &std::sync::Arc<Self>, db: &PgPool) {
        if !self.started.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().listen(db.clone()));
        }
    }

    async fn listen(self: std::sync::Arc<Self>, db: PgPool) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut listener = match connect(&db).await {
                Ok(l) => l,
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "session listener cannot connect; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            self.stats.listener_connects.fetch_add(1, Ordering::Relaxed);
            self.set_listening(true);
            let closed = loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => self.notice(n.payload()),
                    Ok(None) => {
                        tracing::warn!("session listener lost its connection; reconnecting");
                        break false;
                    }
                    Err(sqlx::Error::PoolClosed) => break true,
                    Err(e) => {
                        tracing::warn!(error = %e, "session listener failed; reconnecting");
                        break false;
                    }
                }
            };
            self.set_listening(false);
            if closed {
                return;
            }
        }
    }
}

async fn connect(db: &PgPool) -> sqlx::Result<PgListener> {
    // `try_recv` answers `None` when the connection drops (rather than reconnecting silently,
    // as `recv` does): the cache must know it may have missed notices.
    let mut listener = PgListener::connect_with(db).await?;
    listener.listen(SESSIONS_CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;

    fn principal(expires_in: i64) -> Principal {
        Principal {
            role: Role::Buyer,
            identity_verified: true,
            past_lifetime: false,
            expires_at: Utc::now() + chrono::TimeDelta::seconds(expires_in),
            lifetime_ends: Utc::now() + chrono::TimeDelta::days(30),
        }
    }

    fn listening() -> SessionCache {
        let c = SessionCache::default();
        c.set_listening(true);
        c
    }

    #[test]
    fn nothing_is_used_without_a_listener() {
        let c = SessionCache::default();
        let (s, u) = (Uuid::now_v7(), Uuid::now_v7());
        c.put(c.generation(), s, u, principal(600));
        assert!(c.get(s, u).is_none());
    }

    #[test]
    fn a_notice_drops_the_session_or_every_session_of_the_account() {
        let c = listening();
        let u = Uuid::now_v7();
        let (s1, s2, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let w = Uuid::now_v7();
        for (s, user) in [(s1, u), (s2, u), (other, w)] {
            c.put(c.generation(), s, user, principal(600));
        }
        assert!(matches!(c.get(s1, u), Some(Hit::Live(_))));
        // A token naming another user never matches the cached session.
        assert!(c.get(s1, w).is_none());
        c.notice(&format!("s:{s1}"));
        assert!(c.get(s1, u).is_none());
        assert!(matches!(c.get(s2, u), Some(Hit::Live(_))));
        c.notice(&format!("u:{u}"));
        assert!(c.get(s2, u).is_none());
        assert!(matches!(c.get(other, w), Some(Hit::Live(_))));
        c.notice("garbage");
        assert!(c.get(other, w).is_none());
    }

    #[test]
    fn a_read_that_a_notice_overtook_is_not_stored() {
        let c = listening();
        let (s, u) = (Uuid::now_v7(), Uuid::now_v7());
        let before = c.generation();
        c.notice(&format!("s:{s}"));
        c.put(before, s, u, principal(600));
        assert!(c.get(s, u).is_none());
    }

    #[test]
    fn a_cached_session_still_runs_out_and_a_lost_listener_empties_the_cache() {
        let c = listening();
        let (s, u) = (Uuid::now_v7(), Uuid::now_v7());
        c.put(c.generation(), s, u, principal(-1));
        assert!(matches!(c.get(s, u), Some(Hit::Expired)));
        let mut past = principal(600);
        past.lifetime_ends = Utc::now() - chrono::TimeDelta::seconds(1);
        c.put(c.generation(), s, u, past);
        assert!(matches!(c.get(s, u), Some(Hit::PastLifetime)));
        c.put(c.generation(), s, u, principal(600));
        c.set_listening(false);
        c.set_listening(true);
        assert!(c.get(s, u).is_none());
    }
}
