//! Group commit for entries: the entries of one raffle that arrive together share one
//! transaction and one multi-row `INSERT`.
//!
//! Each raffle with entries coming in has a lane, a task of this process with a queue. The lane
//! takes what is queued (up to `max` requests), writes it in one transaction, answers each
//! request on its own, and takes the next lot. Nothing waits for a timer: when entries trickle
//! in, each goes alone and at once; when thousands arrive, the ones that came in while a batch
//! was being written go together in the next. The window is the time of one transaction.
//!
//! The rules are the database's, as with one entry per transaction: the raffle row is locked
//! shared (closing locks it exclusively, so nothing lands after the list is frozen), its state is
//! read at the transaction's own `now()`, and the unique index `entries_one_per_person` decides
//! who already entered, across replicas too. A lane left idle ends; nothing queued is dropped.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::store::{self, EntryRow};
use super::{Error, RaffleState, public_state};
use crate::protocol::draw;

/// A lane with nothing to do for this long ends (the next entry starts a new one).
const LANE_IDLE: Duration = Duration::from_secs(10);
/// Requests waiting in one lane before a new one waits for room.
const LANE_QUEUE: usize = 8192;

struct Pending {
    user_id: Uuid,
    reply: oneshot::Sender<Result<EntryRow, Error>>,
}

/// Lots written and entries they carried, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct EntryStats {
    pub batches: AtomicU64,
    pub requests: AtomicU64,
}

pub(crate) struct EntryQueue {
    db: PgPool,
    max: usize,
    lanes: Mutex<HashMap<Uuid, mpsc::Sender<Pending>>>,
    pub stats: EntryStats,
}

impl EntryQueue {
    pub fn new(db: PgPool, max: usize) -> Arc<EntryQueue> {
        Arc::new(EntryQueue {
            db,
            max: max.max(1),
            lanes: Mutex::new(HashMap::new()),
            stats: EntryStats::default(),
        })
    }

    /// Enters `user_id` in `raffle_id` with whatever else is queued for it; the answer is this
    /// request's own.
    pub async fn enter(
        self: &Arc<Self>,
        raffle_id: Uuid,
        user_id: Uuid,
    ) -> Result<EntryRow, Error> {
        let (reply, answer) = oneshot::channel();
        let mut pending = Pending { user_id, reply };
        loop {
            let lane = self.lane(raffle_id);
            match lane.send(pending).await {
                Ok(()) => break,
                // The lane ended between the lookup and the send: start another.
                Err(mpsc::error::SendError(back)) => {
                    self.forget_lane(raffle_id, &lane);
                    pending = back;
                }
            }
        }
        answer
            .await
            .unwrap_or_else(|_| Err(Error::Corrupt("the entry lane ended".into())))
    }

    fn lane(self: &Arc<Self>, raffle_id: Uuid) -> mpsc::Sender<Pending> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = lanes.get(&raffle_id) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(LANE_QUEUE);
        lanes.insert(raffle_id, tx.clone());
        tokio::spawn(self.clone().run_lane(raffle_id, tx.clone(), rx));
        tx
    }

    fn forget_lane(&self, raffle_id: Uuid, lane: &mpsc::Sender<Pending>) {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if lanes.get(&raffle_id).is_some_and(|l| l.same_channel(lane)) {
            lanes.remove(&raffle_id);
        }
    }

    async fn run_lane(
        self: Arc<Self>,
        raffle_id: Uuid,
        me: mpsc::Sender<Pending>,
        mut rx: mpsc::Receiver<Pending>,
    ) {
        loop {
            let first = match tokio::time::timeout(LANE_IDLE, rx.recv()).await {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(_idle) => {
                    // Out of the map first, so that new requests start a new lane; then close
                    // and write what slipped in meanwhile.
                    self.forget_lane(raffle_id, &me);
                    drop(me);
                    rx.close();
                    let mut rest = Vec::new();
                    while let Some(p) = rx.recv().await {
                        rest.push(p);
                    }
                    while !rest.is_empty() {
                        let lot = rest.drain(..rest.len().min(self.max)).collect();
                        self.write(raffle_id, lot).await;
                    }
                    return;
                }
            };
            let mut batch = vec![first];
            while batch.len() < self.max {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            self.write(raffle_id, batch).await;
        }
    }

    /// Writes one lot and answers each of its requests.
    async fn write(&self, raffle_id: Uuid, batch: Vec<Pending>) {
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .requests
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let users: Vec<Uuid> = batch.iter().map(|p| p.user_id).collect();
        match insert_lot(&self.db, raffle_id, &users).await {
            Ok(answers) => {
                for (p, a) in batch.into_iter().zip(answers) {
                    let _ = p.reply.send(a);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, %raffle_id, entries = batch.len(), "entry batch failed");
                for p in batch {
                    let _ = p.reply.send(Err(Error::Db(copy_db_error(&e))));
                }
            }
        }
    }
}

/// One transaction for a lot: the raffle locked shared, its state at the transaction's time,
/// one multi-row `INSERT … ON CONFLICT DO NOTHING`. Answers come back in the lot's order.
async fn insert_lot(
    db: &PgPool,
    raffle_id: Uuid,
    users: &[Uuid],
) -> sqlx::Result<Vec<Result<EntryRow, Error>>> {
    let mut tx = db.begin().await?;
    let Some(row) = store::lock_shared(&mut *tx, raffle_id).await? else {
        return Ok(users.iter().map(|_| Err(Error::NotFound)).collect());
    };
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    match public_state(&row, now) {
        RaffleState::Open => {}
        state => {
            let refuse = || match state {
                RaffleState::Scheduled => Error::NotOpenYet,
                _ => Error::Closed,
            };
            return Ok(users.iter().map(|_| Err(refuse())).collect());
        }
    }
    // Who goes into the INSERT: not the seller, and each person once (a second request of the
    // same person in one lot is a second entry).
    let mut seen = HashSet::with_capacity(users.len());
    let mut ids = Vec::with_capacity(users.len());
    let mut entrants = Vec::with_capacity(users.len());
    let mut tickets = Vec::with_capacity(users.len());
    let mut answers: Vec<Option<Result<EntryRow, Error>>> = Vec::with_capacity(users.len());
    for &user in users {
        if user == row.seller_id {
            answers.push(Some(Err(Error::OwnRaffle)));
        } else if !seen.insert(user) {
            answers.push(Some(Err(Error::AlreadyEntered)));
        } else {
            let id = Uuid::now_v7();
            tickets.push(draw::ticket(raffle_id, id).to_vec());
            ids.push(id);
            entrants.push(user);
            answers.push(None);
        }
    }
    let mut written: HashMap<Uuid, EntryRow> = if entrants.is_empty() {
        HashMap::new()
    } else {
        store::insert_entries(&mut *tx, raffle_id, &ids, &entrants, &tickets)
            .await?
            .into_iter()
            .map(|e| (e.user_id, e))
            .collect()
    };
    tx.commit().await?;
    Ok(users
        .iter()
        .zip(answers)
        .map(|(&user, a)| a.unwrap_or_else(|| written.remove(&user).ok_or(Error::AlreadyEntered)))
        .collect())
}

/// The same failure for every request of a failed lot (a `sqlx::Error` cannot be cloned): what
/// the boundary tells apart (the pool's time-out, its closing) is kept, the rest is described.
fn copy_db_error(e: &sqlx::Error) -> sqlx::Error {
    match e {
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        sqlx::Error::Io(io) => sqlx::Error::Io(std::io::Error::new(io.kind(), io.to_string())),
        other => sqlx::Error::Protocol(other.to_string()),
    }
}
