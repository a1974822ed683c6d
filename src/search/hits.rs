//! The products and raffles of search hits, kept in memory between the searches that show them,
//! and dropped by the change feed the index follows.
//!
//! A page of hits needs each product with its chain status and its newest raffle: four reads in
//! two domains. Popular products come back in search after search, so each replica keeps what it
//! read for `PUBLIC_SNAPSHOT_TTL`. The search feed names every product whose row, raffle (stage
//! or times) or anchoring batch changed, and the worker that applies it to the index drops those
//! products here too, so what the index knows and what a hit shows change together. What the
//! feed does not carry (a raffle's live entry count, a batch's confirmation count) lags by at
//! most the TTL. A raffle's state is recomputed at each search from its stage and times.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;

use crate::catalogue::Product;
use crate::raffles::{LatestRaffle, state_at};

#[derive(Clone)]
pub(crate) struct Hit {
    pub product: Product,
    pub raffle: Option<LatestRaffle>,
}

struct Kept {
    hit: Hit,
    at: Instant,
}

#[derive(Default)]
struct Map {
    hits: HashMap<Uuid, Kept>,
    /// Moved by every drop; a read stores its answers only if it did not move meanwhile.
    generation: u64,
}

/// At most this many products are kept (past it, the expired ones go, then all).
const MAX_KEPT: usize = 200_000;

pub(crate) struct HitCache {
    map: Mutex<Map>,
    ttl: Duration,
}

impl HitCache {
    pub fn new(ttl: Duration) -> HitCache {
        HitCache {
            map: Mutex::default(),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept hits among `ids`, with their raffles' state as of now, and the ids to read; with
    /// the generation to give [`HitCache::keep`].
    pub fn lookup(&self, ids: &[Uuid]) -> (HashMap<Uuid, Hit>, Vec<Uuid>, u64) {
        if self.ttl.is_zero() {
            return (HashMap::new(), ids.to_vec(), 0);
        }
        let map = self.lock();
        let now = Utc::now();
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for id in ids {
            match map.hits.get(id).filter(|k| k.at.elapsed() < self.ttl) {
                Some(k) => {
                    let mut hit = k.hit.clone();
                    if let Some(r) = &mut hit.raffle {
                        r.raffle.state =
                            state_at(r.stage, r.raffle.opens_at, r.raffle.closes_at, now);
                    }
                    found.insert(*id, hit);
                }
                None => missing.push(*id),
            }
        }
        (found, missing, map.generation)
    }

    /// Keeps hits read from the database, unless the feed dropped something since `generation`.
    pub fn keep(&self, generation: u64, hits: impl IntoIterator<Item = Hit>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut map = self.lock();
        if map.generation != generation {
            return;
        }
        if map.hits.len() >= MAX_KEPT {
            let ttl = self.ttl;
            map.hits.retain(|_, k| k.at.elapsed() < ttl);
            if map.hits.len() >= MAX_KEPT {
                map.hits.clear();
            }
        }
        let at = Instant::now();
        for hit in hits {
            map.hits.insert(hit.product.id, Kept { hit, at });
        }
    }

    /// Drops the products the feed named.
    pub fn forget(&self, ids: &[Uuid]) {
        let mut map = self.lock();
        map.generation += 1;
        for id in ids {
            map.hits.remove(id);
        }
    }
}
