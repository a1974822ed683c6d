//! The published ticket list of closed raffles, built once and kept: the list is frozen when the
//! raffle closes (its root is on chain), so its Merkle tree and its text never change. Anonymous
//! callers read them from here; they never make the service rescan or rehash a list per request.
//! At most one list is built at a time, and the few most recent are kept.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use super::{Error, Raffles, store};
use crate::protocol::merkle::MerkleTree;

/// How many raffles' lists are kept (100,000 tickets take about 13 MB with their tree).
const KEPT: usize = 8;

/// A closed raffle's ticket list, as published.
pub struct PublishedTickets {
    /// The Merkle tree over the sorted list; `None` for an empty list.
    pub tree: Option<MerkleTree>,
    /// The whole list as text, one 0x-hex ticket per line (`download=true`).
    pub text: axum::body::Bytes,
}

#[derive(Default)]
pub struct TicketCache {
    kept: Mutex<VecDeque<(Uuid, Arc<PublishedTickets>)>>,
    building: tokio::sync::Mutex<()>,
}

impl TicketCache {
    fn get(&self, id: Uuid) -> Option<Arc<PublishedTickets>> {
        let kept = self.kept.lock().expect("ticket cache poisoned");
        kept.iter().find(|(k, _)| *k == id).map(|(_, t)| t.clone())
    }

    fn put(&self, id: Uuid, tickets: Arc<PublishedTickets>) {
        let mut kept = self.kept.lock().expect("ticket cache poisoned");
        kept.retain(|(k, _)| *k != id);
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back((id, tickets));
    }
}

impl Raffles {
    /// The published list of a raffle whose tickets are frozen (the caller checked it closed).
    pub async fn published_tickets(&self, id: Uuid) -> Result<Arc<PublishedTickets>, Error> {
        if let Some(t) = self.tickets.get(id) {
            return Ok(t);
        }
        let _building = self.tickets.building.lock().await;
        if let Some(t) = self.tickets.get(id) {
            return Ok(t);
        }
        let all = store::tickets(&self.db, id).await?;
        let built = self
            .cpu
            .run(move || {
                let list: Vec<[u8; 32]> = all
                    .iter()
                    .filter_map(|t| t.as_slice().try_into().ok())
                    .collect();
                let mut text = String::with_capacity(list.len() * 67);
                for t in &list {
                    text.push_str(&alloy::primitives::hex::encode_prefixed(t));
                    text.push('\n');
                }
                PublishedTickets {
                    tree: crate::protocol::draw::ticket_tree(&list),
                    text: text.into(),
                }
            })
            .await?;
        let built = Arc::new(built);
        self.tickets.put(id, built.clone());
        Ok(built)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: u8) -> Arc<PublishedTickets> {
        Arc::new(PublishedTickets {
            tree: crate::protocol::draw::ticket_tree(&[[n; 32]]),
            text: axum::body::Bytes::new(),
        })
    }

    #[test]
    fn the_most_recent_lists_are_kept_and_the_oldest_dropped() {
        let cache = TicketCache::default();
        let ids: Vec<Uuid> = (0..=KEPT).map(|_| Uuid::new_v4()).collect();
        let first = list(0);
        cache.put(ids[0], first.clone());
        assert!(Arc::ptr_eq(&cache.get(ids[0]).unwrap(), &first));
        for (i, id) in ids.iter().enumerate().skip(1) {
            cache.put(*id, list(i as u8));
        }
        assert!(cache.get(ids[0]).is_none(), "the oldest is dropped");
        assert!(ids[1..].iter().all(|id| cache.get(*id).is_some()));
        // Putting a list again replaces it rather than keeping two.
        cache.put(ids[1], list(99));
        assert_eq!(cache.kept.lock().unwrap().len(), KEPT);
    }
}
