//! This process's open chat sockets, and its one LISTEN connection that fans every replica's new
//! messages and notifications out to them.
//!
//! A message's NOTIFY carries the row when it fits in Postgres's 8000-byte payload, else only its
//! id and participants, and the listener reads the row. Each socket has a bounded queue: the hub
//! never waits for a socket, and a socket whose queue is full is told to close (close code 4008);
//! its client resumes after the last id it saw. After the listener reconnects, every socket is
//! told to catch up from the database, so nothing sent while it was away is lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, mpsc, watch};
use uuid::Uuid;

use super::Message;
use super::store::{self, CHAT_CHANNEL};
use crate::config::ChatConfig;
use crate::notify::{self, NOTIFY_CHANNEL, Notification};

/// What the hub hands a socket.
#[derive(Debug, Clone)]
pub enum Event {
    Message(Arc<Message>),
    Notification(Arc<Notification>),
    /// The listener was away: read what was stored meanwhile from the database.
    Resync,
}

/// Why the hub asked a socket to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kick {
    None = 0,
    /// Its queue filled up: the client does not read fast enough.
    Slow = 1,
    /// The server is shutting down.
    Shutdown = 2,
}

/// The hub's signal to one socket.
#[derive(Debug, Default)]
pub struct KickSignal {
    notify: Notify,
    reason: AtomicU8,
}

impl KickSignal {
    fn kick(&self, why: Kick) {
        self.reason.store(why as u8, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// Resolves once the hub asks the socket to close; says why.
    pub async fn kicked(&self) -> Kick {
        loop {
            let why = self.reason();
            if why != Kick::None {
                return why;
            }
            self.notify.notified().await;
        }
    }

    pub fn reason(&self) -> Kick {
        match self.reason.load(Ordering::SeqCst) {
            1 => Kick::Slow,
            2 => Kick::Shutdown,
            _ => Kick::None,
        }
    }
}

struct Slot {
    conn: u64,
    tx: mpsc::Sender<Event>,
    kick: Arc<KickSignal>,
}

/// Counters, for tests, the benchmark and logs.
#[derive(Debug, Default)]
pub struct HubStats {
    pub delivered: AtomicU64,
    pub kicked_slow: AtomicU64,
    pub listener_connects: AtomicU64,
}

pub struct Hub {
    db: PgPool,
    sockets: Mutex<HashMap<Uuid, Vec<Slot>>>,
    next_conn: AtomicU64,
    started: AtomicBool,
    listening: watch::Sender<bool>,
    queue: usize,
    max_per_user: usize,
    pub stats: HubStats,
}

/// A socket's place in the hub; leaving it (drop) frees the slot.
pub struct Registration {
    pub conn: u64,
    pub user: Uuid,
    pub events: mpsc::Receiver<Event>,
    pub kick: Arc<KickSignal>,
    hub: Arc<Hub>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.user, self.conn);
    }
}

/// The refusal when a person already holds the most sockets allowed.
#[derive(Debug)]
pub struct TooManyConnections;

impl Hub {
    pub fn new(db: PgPool, config: &ChatConfig) -> Arc<Hub> {
        Arc::new(Hub {
            db,
            sockets: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            started: AtomicBool::new(false),
            listening: watch::channel(false).0,
            queue: config.send_queue,
            max_per_user: config.max_connections_per_user,
            stats: HubStats::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Vec<Slot>>> {
        // A panic while holding the map leaves it consistent (every change is one push/retain).
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a slot for one of `user`'s sockets, unless they hold the most already.
    pub fn register(self: &Arc<Self>, user: Uuid) -> Result<Registration, TooManyConnections> {
        let (tx, rx) = mpsc::channel(self.queue);
        let kick = Arc::new(KickSignal::default());
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        {
            let mut sockets = self.lock();
            let slots = sockets.entry(user).or_default();
            if slots.len() >= self.max_per_user {
                return Err(TooManyConnections);
            }
            slots.push(Slot {
                conn,
                tx,
                kick: kick.clone(),
            });
        }
        self.ensure_listening();
        Ok(Registration {
            conn,
            user,
            events: rx,
            kick,
            hub: self.clone(),
        })
    }

    fn unregister(&self, user: Uuid, conn: u64) {
        let mut sockets = self.lock();
        if let Some(slots) = sockets.get_mut(&user) {
            slots.retain(|s| s.conn != conn);
            if slots.is_empty() {
                sockets.remove(&user);
            }
        }
    }

    fn has_sockets(&self, users: &[Uuid]) -> bool {
        let sockets = self.lock();
        users.iter().any(|u| sockets.contains_key(u))
    }

    /// How many sockets `user` holds on this replica.
    pub fn connections_of(&self, user: Uuid) -> usize {
        self.lock().get(&user).map_or(0, Vec::len)
    }

    /// Every socket on this replica.
    pub fn connections(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// Waits (at most `limit`) until the listener is listening, so that a socket that reads its
    /// starting point afterwards misses nothing in between. False if it is not.
    pub async fn wait_listening(&self, limit: Duration) -> bool {
        let mut rx = self.listening.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|l| *l))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Asks every socket on this replica to close (server shutdown).
    pub fn close_all(&self) {
        for slots in self.lock().values() {
            for s in slots {
                s.kick.kick(Kick::Shutdown);
            }
        }
    }

    /// Hands `event` to each of `user`'s sockets without waiting; a full queue gets its socket
    /// closed instead.
    fn deliver(&self, user: Uuid, event: &Event) {
        let mut sockets = self.lock();
        let Some(slots) = sockets.get_mut(&user) else {
            return;
        };
        slots.retain(|s| match s.tx.try_send(event.clone()) {
            Ok(()) => {
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.stats.kicked_slow.fetch_add(1, Ordering::Relaxed);
                tracing::info!(user = %user, conn = s.conn, "chat socket too slow: closing it");
                s.kick.kick(Kick::Slow);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if slots.is_empty() {
            sockets.remove(&user);
        }
    }

    fn broadcast(&self, event: &Event) {
        for slots in self.lock().values() {
            for s in slots {
                // A socket whose queue is full will catch up anyway when it drains.
                let _ = s.tx.try_send(event.clone());
            }
        }
    }

    /// Starts the listener the first time a socket registers (CLI commands never need it).
    fn ensure_listening(self: &Arc<Self>) {
        if !self.started.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().listen());
        }
    }

    async fn listen(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut listener = match self.connect_listener().await {
                Ok(l) => l,
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "chat listener cannot connect; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            self.stats.listener_connects.fetch_add(1, Ordering::Relaxed);
            self.listening.send_replace(true);
            // Whatever was stored while nobody listened is read back by each socket.
            self.broadcast(&Event::Resync);
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => self.dispatch(n.channel(), n.payload()).await,
                    Ok(None) => {
                        tracing::warn!("chat listener lost its connection; reconnecting");
                        break;
                    }
                    Err(sqlx::Error::PoolClosed) => {
                        self.listening.send_replace(false);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "chat listener failed; reconnecting");
                        break;
                    }
                }
            }
            self.listening.send_replace(false);
        }
    }

    async fn connect_listener(&self) -> sqlx::Result<PgListener> {
        let mut listener = PgListener::connect_with(&self.db).await?;
        listener.listen_all([CHAT_CHANNEL, NOTIFY_CHANNEL]).await?;
        Ok(listener)
    }

    async fn dispatch(&self, channel: &str, payload: &str) {
        if channel == CHAT_CHANNEL {
            match self.message_of(payload).await {
                Ok(Some(m)) => {
                    let [a, b] = m.participants;
                    let event = Event::Message(Arc::new(m));
                    self.deliver(a, &event);
                    self.deliver(b, &event);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "chat notification not delivered"),
            }
        } else if channel == NOTIFY_CHANNEL {
            match self.notification_of(payload).await {
                Ok(Some((user, n))) => self.deliver(user, &Event::Notification(Arc::new(n))),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "live notification not delivered"),
            }
        }
    }

    async fn message_of(&self, payload: &str) -> anyhow::Result<Option<Message>> {
        #[derive(Deserialize)]
        struct Payload {
            id: i64,
            /// buyer and seller
            b: Uuid,
            l: Uuid,
            c: Option<Uuid>,
            s: Option<Uuid>,
            k: Option<String>,
            t: Option<chrono::DateTime<chrono::Utc>>,
            body: Option<String>,
        }
        let p: Payload = serde_json::from_str(payload)?;
        // Fan-out needs no database unless the row did not fit.
        if !self.has_sockets(&[p.b, p.l]) {
            return Ok(None);
        }
        if let (Some(c), Some(s), Some(t), Some(body)) = (p.c, p.s, p.t, p.body) {
            return Ok(Some(Message {
                id: p.id,
                conversation_id: c,
                sender_id: s,
                body,
                client_id: p.k,
                created_at: t,
                participants: [p.b, p.l],
            }));
        }
        Ok(store::message(&self.db, p.id).await?.map(Message::from))
    }

    async fn notification_of(&self, payload: &str) -> anyhow::Result<Option<(Uuid, Notification)>> {
        #[derive(Deserialize)]
        struct Payload {
            u: Uuid,
            id: Uuid,
        }
        let p: Payload = serde_json::from_str(payload)?;
        if !self.has_sockets(&[p.u]) {
            return Ok(None);
        }
        Ok(notify::find(&self.db, p.u, p.id).await?.map(|n| (p.u, n)))
    }
}
