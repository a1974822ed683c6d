//! Public answers kept in memory for a moment: serialized once, served to everyone who asks
//! within their time, and revalidated by ETag.
//!
//! What a drop's crowd refreshes (a raffle, the product it shows) is the same for every caller,
//! so one replica reads it from the database at most once per key and per time-to-live, however
//! many ask. When a snapshot runs out, one request reads the new one while the others are still
//! served the old one for at most one more time-to-live (so what a caller sees is at most twice
//! the time-to-live old), unless the snapshot has a hard end (a raffle's opening or closing),
//! past which it is never served; otherwise, they wait for that read. Errors (a missing id, the
//! database away) are never kept.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One serialized answer and its validator.
#[derive(Clone)]
pub struct Snapshot {
    body: Bytes,
    etag: HeaderValue,
    until: Instant,
    /// While a new one is being read, this one may still be served until then.
    stale_until: Instant,
    cache_control: HeaderValue,
}

impl Snapshot {
    /// A JSON answer that is good for `ttl`.
    pub fn json(value: &impl serde::Serialize, ttl: Duration) -> Snapshot {
        let body = serde_json::to_vec(value).expect("API types serialize");
        let etag = format!(
            "\"{}\"",
            alloy::primitives::hex::encode(&Sha256::digest(&body)[..16])
        );
        let until = Instant::now() + ttl;
        Snapshot {
            body: body.into(),
            etag: HeaderValue::from_str(&etag).expect("hex is a valid header"),
            until,
            stale_until: until + ttl,
            // Clients and a CDN may keep it as long as this replica does, then revalidate.
            cache_control: HeaderValue::from_str(&format!("public, max-age={}", ttl.as_secs()))
                .expect("ASCII"),
        }
    }

    /// Never served past its time-to-live, not even while the next one is read (what it says
    /// stops being true at that instant).
    pub fn with_hard_end(mut self) -> Snapshot {
        self.stale_until = self.until;
        self
    }

    pub fn etag(&self) -> &HeaderValue {
        &self.etag
    }

    /// `304` when the request's `If-None-Match` names this ETag (or `*`), else `200` with the
    /// body; both with `ETag` and `Cache-Control`.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::CACHE_CONTROL, self.cache_control.clone());
        let matches = request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t.as_bytes() == self.etag.as_bytes());
        if matches {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        (StatusCode::OK, headers, self.body.clone()).into_response()
    }
}

struct Slot {
    current: Mutex<Option<Snapshot>>,
    /// Held by the one request reading a new snapshot.
    reading: tokio::sync::Mutex<()>,
}

/// Snapshots by key, each kept at most `ttl` (`PUBLIC_SNAPSHOT_TTL`; zero keeps none), at most
/// `max` keys (past it, the expired ones go, then all).
pub struct Snapshots<K> {
    slots: Mutex<HashMap<K, Arc<Slot>>>,
    ttl: Duration,
    max: usize,
}

impl<K: Hash + Eq + Clone> Snapshots<K> {
    pub fn new(ttl: Duration, max: usize) -> Snapshots<K> {
        Snapshots {
            slots: Mutex::new(HashMap::new()),
            ttl,
            max: max.max(1),
        }
    }

    /// The longest a snapshot is kept; what `load` should give [`Snapshot::json`] at most.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn slot(&self, key: &K) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slots.get(key) {
            return s.clone();
        }
        if slots.len() >= self.max {
            let now = Instant::now();
            slots.retain(|_, s| {
                s.current
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                    .is_some_and(|c| c.until > now)
            });
            if slots.len() >= self.max {
                slots.clear();
            }
        }
        let slot = Arc::new(Slot {
            current: Mutex::new(None),
            reading: tokio::sync::Mutex::new(()),
        });
        slots.insert(key.clone(), slot.clone());
        slot
    }

    /// The snapshot of `key`: the kept one while it is good, else one read by `load`.
    pub async fn get<E, F, Fut>(&self, key: K, load: F) -> Result<Snapshot, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Snapshot, E>>,
    {
        if self.ttl.is_zero() {
            return load().await;
        }
        let slot = self.slot(&key);
        let kept = slot
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let now = Instant::now();
        if let Some(s) = &kept
            && s.until > now
        {
            return Ok(s.clone());
        }
        // Someone is reading a new one: the old one will do meanwhile.
        let reading = match (slot.reading.try_lock(), kept) {
            (Ok(guard), _) => guard,
            (Err(_), Some(old)) if old.stale_until > now => return Ok(old),
            (Err(_), Some(_)) => slot.reading.lock().await,
            (Err(_), None) => slot.reading.lock().await,
        };
        // Read by whoever held the lock before us?
        if let Some(s) = slot
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|s| s.until > Instant::now())
        {
            return Ok(s.clone());
        }
        let fresh = load().await;
        if let Ok(s) = &fresh {
            *slot.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(s.clone());
        } else {
            // A gone key leaves no stale answer behind.
            *slot.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        drop(reading);
        fresh
    }

    /// Forgets `key` on this replica (its next request reads it again).
    pub fn forget(&self, key: &K) {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn one_read_per_time_to_live_and_none_kept_on_error() {
        let cache: Snapshots<u32> = Snapshots::new(Duration::from_secs(60), 10);
        let reads = AtomicUsize::new(0);
        let load = |v: u32| {
            reads.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, ()>(Snapshot::json(&v, Duration::from_secs(60))) }
        };
        let a = cache.get(1, || load(10)).await.unwrap();
        let b = cache.get(1, || load(11)).await.unwrap();
        assert_eq!(a.body, b.body);
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        let err = cache.get(2, || async { Err::<Snapshot, _>("gone") }).await;
        assert!(err.is_err());
        cache.get(2, || load(20)).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        cache.forget(&1);
        let c = cache.get(1, || load(12)).await.unwrap();
        assert_eq!(&c.body[..], b"12");
    }

    #[tokio::test]
    async fn an_expired_snapshot_is_read_again() {
        let cache: Snapshots<u32> = Snapshots::new(Duration::from_secs(60), 10);
        cache
            .get(1, || async {
                Ok::<_, ()>(Snapshot::json(&1, Duration::ZERO))
            })
            .await
            .unwrap();
        let again = cache
            .get(1, || async {
                Ok::<_, ()>(Snapshot::json(&2, Duration::from_secs(5)))
            })
            .await
            .unwrap();
        assert_eq!(&again.body[..], b"2");
    }

    #[tokio::test]
    async fn the_last_snapshot_is_served_while_the_next_is_read_unless_it_ended_hard() {
        let ttl = Duration::from_millis(50);
        for hard in [false, true] {
            let cache: Snapshots<u32> = Snapshots::new(ttl, 10);
            cache
                .get(1, || async {
                    let s = Snapshot::json(&1, ttl);
                    Ok::<_, ()>(if hard { s.with_hard_end() } else { s })
                })
                .await
                .unwrap();
            tokio::time::sleep(ttl + Duration::from_millis(10)).await;
            // Someone else is reading the next one.
            let slot = cache.slot(&1);
            let reading = slot.reading.lock().await;
            let got = tokio::time::timeout(
                Duration::from_millis(30),
                cache.get(1, || async { Ok::<_, ()>(Snapshot::json(&2, ttl)) }),
            )
            .await;
            match (hard, got) {
                (false, Ok(Ok(s))) => assert_eq!(&s.body[..], b"1"),
                (true, Err(_waited)) => {}
                (hard, other) => panic!("hard end {hard}: {:?}", other.map(|r| r.is_ok())),
            }
            drop(reading);
        }
    }

    #[test]
    fn if_none_match_answers_304() {
        let s = Snapshot::json(&serde_json::json!({"a": 1}), Duration::from_secs(1));
        let mut h = HeaderMap::new();
        assert_eq!(s.respond(&h).status(), StatusCode::OK);
        h.insert(header::IF_NONE_MATCH, s.etag().clone());
        let r = s.respond(&h);
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=1");
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert_eq!(s.respond(&h).status(), StatusCode::OK);
    }
}
