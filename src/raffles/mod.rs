//! Raffles (the "Raffle" in Truffle): a seller opens a raffle for an anchored product; verified
//! people enter once each; at the closing time the worker publishes the sorted ticket list, commits
//! its root on chain, reveals the seed committed at creation, and computes the order that anyone
//! can recompute (`truffle.draw/1`).

mod entries;
mod outcome;
mod published;
pub mod routes;
mod stage;
pub mod store;
pub mod worker;

pub use store::{ProductEntry, Upcoming, product_entries, upcoming};

use alloy::primitives::hex;
use std::sync::Arc;

use alloy::primitives::{Address, B256};
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::CurrentUser;
use crate::catalogue::Catalogue;
use crate::cpu::CpuPool;
use crate::http::Refuse as _;
use crate::http::snapshot::{Snapshot, Snapshots};
use crate::protocol::draw;
pub use outcome::EntryOutcome;
pub use stage::RaffleStage;
use store::RaffleRow;

/// The shortest raffle: from its opening (or from its creation, if it opens at once or opened in
/// the past) to its closing. The commitment must land on chain before the raffle takes entries,
/// and buyers told of the opening need the time to come and enter (`docs/RAFFLES.md`).
pub const MIN_RAFFLE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// The longest raffle, from opening to closing.
pub const MAX_RAFFLE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(90);
/// A winner has at least this long to pay: a draw can land at night, and the reminder goes out
/// six hours before the deadline.
pub const MIN_PAYMENT_WINDOW_HOURS: u32 = 24;
/// And at most this long: every alternate waits for the window before theirs.
pub const MAX_PAYMENT_WINDOW_HOURS: u32 = 24 * 7;
/// The payment window when the seller leaves it out.
pub const DEFAULT_PAYMENT_WINDOW_HOURS: u32 = 48;
/// The most entries of one raffle written in one transaction.
pub const ENTRY_BATCH_MAX: usize = 512;
/// How long after the draw a given-up order (expired, refunded, cancelled) still passes to the
/// next alternate: four maximum payment windows, so a few alternates in a row can each have a
/// full window, and nobody waits on a raffle for more than a month.
pub const ALTERNATES_PERIOD: chrono::TimeDelta = chrono::TimeDelta::days(28);

/// What can go wrong in the raffles domain. The HTTP boundary (`routes.rs`) gives each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of a new raffle is not acceptable.
    #[error(transparent)]
    Invalid(#[from] crate::http::Invalid),
    #[error("no such raffle")]
    NotFound,
    /// Someone other than the product's seller tried to raffle it.
    #[error("only the product's seller may raffle it")]
    NotSeller,
    /// The product is delisted or revoked: it takes no new raffle.
    #[error("the product is delisted or revoked")]
    ProductRevoked,
    /// The product's current record is not in a block yet.
    #[error("the product's record is not anchored on chain yet")]
    ProductNotAnchored,
    /// The new raffle's winners and those already promised exceed the edition.
    #[error("the edition has {edition_size} pieces and raffles already promise {promised}")]
    EditionExhausted { edition_size: u32, promised: i64 },
    /// Entering takes a verified identity.
    #[error("the entrant has not verified their identity")]
    IdentityUnverified,
    /// A seller tried to enter their own raffle.
    #[error("sellers cannot enter their own raffles")]
    OwnRaffle,
    /// An entry before the raffle opened.
    #[error("the raffle is not open yet")]
    NotOpenYet,
    /// An entry after the raffle closed (or once it ended otherwise).
    #[error("the raffle is closed")]
    Closed,
    /// A withdrawal while the raffle is not open.
    #[error("entries can be withdrawn only while the raffle is open")]
    WithdrawalClosed,
    /// A second entry of the same person.
    #[error("already entered this raffle")]
    AlreadyEntered,
    /// A withdrawal by someone with no live entry.
    #[error("no entry in this raffle")]
    NotEntered,
    /// A cancellation of a raffle that has closed or ended.
    #[error("only a raffle that has not closed can be cancelled")]
    NotCancellable,
    /// The ticket list is asked for before the raffle closed.
    #[error("the ticket list is published when the raffle closes")]
    TicketsNotPublished,
    /// The raffle's seed could not be sealed.
    #[error("sealing the raffle's seed: {0:#}")]
    Seed(anyhow::Error),
    /// A stored value the code cannot read.
    #[error("corrupt raffle data: {0}")]
    Corrupt(String),
    /// The CPU pool is full (`503 overloaded`).
    #[error(transparent)]
    Overloaded(#[from] crate::cpu::Overloaded),
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::Error),
    #[error(transparent)]
    Notify(#[from] crate::notify::Error),
    /// The accounts domain refused or failed.
    #[error(transparent)]
    Accounts(#[from] crate::accounts::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

#[derive(Clone)]
pub struct Raffles(Arc<RafflesInner>);

pub struct RafflesInner {
    pub db: PgPool,
    pub chain_id: u64,
    pub registry: Option<Address>,
    catalogue: Catalogue,
    master_key: SecretBox<Vec<u8>>,
    /// The app's CPU pool: ticket trees and draws run on it.
    pub cpu: CpuPool,
    /// Closed raffles' published ticket lists, built once.
    tickets: published::TicketCache,
    /// Entries in flight, written together per raffle.
    entries: Arc<entries::EntryQueue>,
    /// Public raffle answers, kept for at most `PUBLIC_SNAPSHOT_TTL`: the entry count and
    /// anything else in one lag by at most twice that, except the state, which a snapshot never
    /// outlives (one taken before the opening or the closing ends at that instant).
    snapshots: Snapshots<Uuid>,
}

impl std::ops::Deref for Raffles {
    type Target = RafflesInner;
    fn deref(&self) -> &RafflesInner {
        &self.0
    }
}

/// A raffle's state as buyers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RaffleState {
    /// Not open yet (before its opening time, or its commitment is not on chain yet).
    Scheduled,
    /// Taking entries.
    Open,
    /// Entries are fixed; the draw is under way.
    Closed,
    /// Winners and alternates are known.
    Drawn,
    /// Every winning order is paid or given up.
    Settled,
    /// Cancelled by an admin before closing.
    Cancelled,
    /// The seed was not revealed within 256 blocks of closing: no draw, visibly on chain.
    Void,
    /// Closed with no entries (on chain: state Empty): nothing to draw, and final. The seed is
    /// published in the draw record so that anyone can check it against the commitment.
    Empty,
}

/// The state from the stored stage and the database's clock.
pub fn public_state(row: &RaffleRow, now: DateTime<Utc>) -> RaffleState {
    state_at(row.stage, row.opens_at, row.closes_at, now)
}

/// The public state of a raffle with this stored stage and schedule at `now`.
pub fn state_at(
    stage: RaffleStage,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> RaffleState {
    match stage {
        RaffleStage::Drawn => RaffleState::Drawn,
        RaffleStage::Settled => RaffleState::Settled,
        RaffleStage::Cancelled => RaffleState::Cancelled,
        RaffleStage::Void => RaffleState::Void,
        RaffleStage::Empty => RaffleState::Empty,
        RaffleStage::Committed if now >= opens_at && now < closes_at => RaffleState::Open,
        RaffleStage::Committed | RaffleStage::Committing if now < closes_at => {
            RaffleState::Scheduled
        }
        RaffleStage::Committed
        | RaffleStage::Committing
        | RaffleStage::Closing
        | RaffleStage::Closed => RaffleState::Closed,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RaffleChain {
    /// sha256 of the secret seed, committed on chain before anyone could enter.
    pub seed_hash: String,
    pub commit_tx: Option<String>,
    pub close_tx: Option<String>,
    pub close_block: Option<u64>,
    pub reveal_tx: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Raffle {
    pub id: Uuid,
    pub product_id: Uuid,
    /// The product record version raffled (its content hash is in the commitment).
    pub product_content_hash: String,
    pub seller_id: Uuid,
    pub price_krw: i64,
    pub winners: u32,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// How long a winner has to pay, in seconds.
    pub payment_window_secs: u32,
    pub state: RaffleState,
    /// Live entries.
    pub entry_count: u64,
    /// The published ticket count, once closed.
    pub ticket_count: Option<u32>,
    pub chain: RaffleChain,
    pub drawn_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Raffle {
    pub fn from_row(row: RaffleRow, now: DateTime<Utc>) -> Raffle {
        Raffle {
            state: public_state(&row, now),
            id: row.id,
            product_id: row.product_id,
            product_content_hash: hex::encode_prefixed(&row.product_content_hash),
            seller_id: row.seller_id,
            price_krw: row.price_krw,
            winners: row.winners as u32,
            opens_at: row.opens_at,
            closes_at: row.closes_at,
            payment_window_secs: row.payment_window_secs as u32,
            entry_count: row.entry_count as u64,
            ticket_count: row.ticket_count.map(|c| c as u32),
            chain: RaffleChain {
                seed_hash: hex::encode_prefixed(&row.seed_hash),
                commit_tx: row.commit_tx.as_deref().map(hex::encode_prefixed),
                close_tx: row.close_tx.as_deref().map(hex::encode_prefixed),
                close_block: row.close_block.map(|b| b as u64),
                reveal_tx: row.reveal_tx.as_deref().map(hex::encode_prefixed),
            },
            drawn_at: row.drawn_at,
            cancel_reason: row.cancel_reason,
            created_at: row.created_at,
        }
    }
}

/// A product's newest raffle, with the stored stage its state at other times follows from
/// ([`state_at`]).
#[derive(Debug, Clone)]
pub struct LatestRaffle {
    pub raffle: Raffle,
    pub stage: RaffleStage,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRaffle {
    pub product_id: Uuid,
    /// Price in won; the product's retail price when left out.
    #[schema(maximum = 1000000000000_u64)]
    pub price_krw: Option<u64>,
    /// At least 1; all raffles of a product together promise at most its edition size.
    #[schema(minimum = 1)]
    pub winners: u32,
    /// When entries open. May be now or in the past: the raffle then opens as soon as its
    /// commitment is on chain.
    pub opens_at: DateTime<Utc>,
    /// When entries close: at least 5 minutes after `opens_at`, or after now when `opens_at` has
    /// passed, and at most 90 days after `opens_at`.
    pub closes_at: DateTime<Utc>,
    /// Hours a winner has to pay, 24 to 168; 48 when left out.
    #[schema(minimum = 24, maximum = 168)]
    pub payment_window_hours: Option<u32>,
}

/// An entry as its entrant sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    pub id: Uuid,
    pub raffle_id: Uuid,
    /// sha256("truffle.entry/1" ‖ raffle id ‖ entry id): find it in the published list.
    pub ticket: String,
    pub created_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// After the draw: `won`, `alternate` (in order, moves up if a winner does not pay) or `lost`.
    pub outcome: Option<EntryOutcome>,
    /// After the draw: the ticket's place in the draw order (0 is first).
    pub position: Option<u32>,
}

impl From<store::EntryRow> for Entry {
    fn from(e: store::EntryRow) -> Self {
        Entry {
            id: e.id,
            raffle_id: e.raffle_id,
            ticket: hex::encode_prefixed(&e.ticket),
            created_at: e.created_at,
            withdrawn_at: e.withdrawn_at,
            outcome: e.outcome,
            position: e.position.map(|p| p as u32),
        }
    }
}

impl Raffles {
    pub fn new(
        db: PgPool,
        chain_id: u64,
        registry: Option<Address>,
        catalogue: Catalogue,
        master_key: SecretBox<Vec<u8>>,
        cpu: CpuPool,
        snapshot_ttl: std::time::Duration,
    ) -> Self {
        Raffles(Arc::new(RafflesInner {
            db: db.clone(),
            chain_id,
            registry,
            catalogue,
            master_key,
            cpu,
            tickets: Default::default(),
            entries: entries::EntryQueue::new(db.clone(), ENTRY_BATCH_MAX),
            snapshots: Snapshots::new(snapshot_ttl, 100_000),
        }))
    }

    pub(crate) fn master(&self) -> &[u8] {
        self.master_key.expose_secret()
    }

    async fn db_now(&self) -> Result<DateTime<Utc>, Error> {
        Ok(sqlx::query_scalar("SELECT now()")
            .fetch_one(&self.db)
            .await?)
    }

    pub async fn create(&self, seller: &CurrentUser, req: NewRaffle) -> Result<Raffle, Error> {
        let product = self
            .catalogue
            .product(req.product_id)
            .await
            .map_err(|e| match e {
                crate::catalogue::Error::NotFound => {
                    Error::invalid("product_id", "no such product.")
                }
                e => Error::Catalogue(e),
            })?;
        if product.seller_id != seller.id {
            return Err(Error::NotSeller);
        }
        if !product.listed || product.revoked_at.is_some() {
            return Err(Error::ProductRevoked);
        }
        if !product.chain.status.is_anchored() {
            return Err(Error::ProductNotAnchored);
        }
        let now = self.db_now().await?;
        if req.winners == 0 {
            return Err(Error::invalid("winners", "must be at least 1."));
        }
        if req.closes_at <= req.opens_at {
            return Err(Error::invalid("closes_at", "must be after opens_at."));
        }
        if req.closes_at <= now {
            return Err(Error::invalid("closes_at", "must be in the future."));
        }
        // What is left of the window: a raffle that opened in the past takes entries only from now.
        if req.closes_at - req.opens_at.max(now) < MIN_RAFFLE_WINDOW {
            return Err(Error::invalid(
                "closes_at",
                "must be at least 5 minutes after opens_at, or after now if opens_at has passed.",
            ));
        }
        if req.closes_at - req.opens_at > MAX_RAFFLE_WINDOW {
            return Err(Error::invalid(
                "closes_at",
                "a raffle runs at most 90 days.",
            ));
        }
        let hours = req
            .payment_window_hours
            .unwrap_or(DEFAULT_PAYMENT_WINDOW_HOURS);
        if !(MIN_PAYMENT_WINDOW_HOURS..=MAX_PAYMENT_WINDOW_HOURS).contains(&hours) {
            return Err(Error::invalid("payment_window_hours", "must be 24 to 168."));
        }
        let price = req.price_krw.unwrap_or(product.record.retail_price_krw);
        if price > 1_000_000_000_000 {
            return Err(Error::invalid(
                "price_krw",
                "must be at most 1000000000000.",
            ));
        }

        let id = Uuid::now_v7();
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let sealed =
            crate::sealing::seal(self.master(), id.as_bytes(), &seed).map_err(Error::Seed)?;
        let seed_hash = draw::seed_hash(&seed);
        let content_hash: B256 = product
            .chain
            .content_hash
            .parse()
            .map_err(|_| Error::Corrupt("bad content hash".into()))?;

        let mut tx = self.db.begin().await?;
        // Account deletion refuses while a seller has raffles under way; this makes it see
        // (or prevent) a raffle created at the same moment.
        crate::accounts::hold_active(&mut tx, seller.id).await?;
        store::lock_product_raffles(&mut *tx, product.id).await?;
        // Read again under the product's lock: a revocation or a smaller edition committed since
        // the read above must win.
        let locked = crate::catalogue::lock_for_raffle(&mut tx, product.id)
            .await?
            .ok_or(Error::NotFound)?;
        if !locked.listed || locked.revoked {
            return Err(Error::ProductRevoked);
        }
        let edition_size = locked.edition_size;
        let committed = store::winners_committed(&mut *tx, product.id).await?;
        if committed + i64::from(req.winners) > i64::from(edition_size) {
            return Err(Error::EditionExhausted {
                edition_size,
                promised: committed,
            });
        }
        store::insert_raffle(
            &mut *tx,
            store::NewRaffle {
                id,
                product_id: product.id,
                product_content_hash: content_hash.as_slice(),
                seller_id: seller.id,
                price_krw: price as i64,
                winners: req.winners as i32,
                opens_at: req.opens_at,
                closes_at: req.closes_at,
                payment_window_secs: (hours * 3600) as i32,
                seed_sealed: &sealed,
                seed_hash: &seed_hash,
            },
        )
        .await?;
        tx.commit().await?;
        self.raffle(id).await
    }

    /// A raffle's public answer, from memory when this replica read it recently
    /// (`PUBLIC_SNAPSHOT_TTL`).
    pub async fn raffle_snapshot(&self, id: Uuid) -> Result<Snapshot, Error> {
        self.snapshots
            .get(id, || async {
                let row = store::find(&self.db, id).await?.ok_or(Error::NotFound)?;
                let now = self.db_now().await?;
                let raffle = Raffle::from_row(row, now);
                let ttl = self.snapshots.ttl();
                let boundary = [raffle.opens_at, raffle.closes_at]
                    .into_iter()
                    .filter_map(|at| (at - now).to_std().ok())
                    .min();
                Ok(match boundary {
                    // The state changes at that instant: the snapshot ends there, hard.
                    Some(b) if b <= ttl * 2 => Snapshot::json(&raffle, b.min(ttl)).with_hard_end(),
                    _ => Snapshot::json(&raffle, ttl),
                })
            })
            .await
    }

    pub async fn raffle(&self, id: Uuid) -> Result<Raffle, Error> {
        let row = store::find(&self.db, id).await?.ok_or(Error::NotFound)?;
        Ok(Raffle::from_row(row, self.db_now().await?))
    }

    /// Each of these products' newest raffle, as buyers see it.
    pub async fn latest_for_products(
        &self,
        product_ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, LatestRaffle>, Error> {
        let rows = store::latest_for_products(&self.db, product_ids).await?;
        let now = self.db_now().await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let stage = row.stage;
                (
                    row.product_id,
                    LatestRaffle {
                        raffle: Raffle::from_row(row, now),
                        stage,
                    },
                )
            })
            .collect())
    }

    pub async fn list(
        &self,
        product_id: Option<Uuid>,
        cursor: Option<Uuid>,
        limit: i64,
    ) -> Result<(Vec<Raffle>, Option<Uuid>), Error> {
        let rows = store::list(&self.db, product_id, cursor, limit + 1).await?;
        let (rows, next) = crate::db::page_of(rows, limit, |r| r.id);
        let now = self.db_now().await?;
        Ok((
            rows.into_iter().map(|r| Raffle::from_row(r, now)).collect(),
            next,
        ))
    }

    /// Raffles taking entries now, closing soonest first (at most `limit`).
    pub async fn open_closing_soonest(&self, limit: i64) -> Result<Vec<Raffle>, Error> {
        let rows = store::open_closing_soonest(&self.db, limit).await?;
        let now = self.db_now().await?;
        Ok(rows.into_iter().map(|r| Raffle::from_row(r, now)).collect())
    }

    /// One entry per person while the raffle is open; the entry's ticket comes back. Entries
    /// arriving together are written together (`entries.rs`), each answered on its own.
    pub async fn enter(&self, user: &CurrentUser, raffle_id: Uuid) -> Result<Entry, Error> {
        if !user.identity_verified {
            return Err(Error::IdentityUnverified);
        }
        Ok(self.entries.enter(raffle_id, user.id).await?.into())
    }

    /// Entry lots written and entries they carried since start.
    pub fn entry_stats(&self) -> (u64, u64) {
        let s = &self.entries.stats;
        (
            s.batches.load(std::sync::atomic::Ordering::Relaxed),
            s.requests.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Withdraws the caller's entry before closing.
    pub async fn withdraw(&self, user: &CurrentUser, raffle_id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let row = store::lock_shared(&mut *tx, raffle_id)
            .await?
            .ok_or(Error::NotFound)?;
        let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
            .fetch_one(&mut *tx)
            .await?;
        if public_state(&row, now) != RaffleState::Open {
            return Err(Error::WithdrawalClosed);
        }
        if !store::withdraw_entry(&mut *tx, raffle_id, user.id).await? {
            return Err(Error::NotEntered);
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn my_entries(
        &self,
        user: Uuid,
        cursor: Option<Uuid>,
        limit: i64,
    ) -> Result<(Vec<Entry>, Option<Uuid>), Error> {
        let rows = store::user_entries(&self.db, user, cursor, limit + 1).await?;
        let (rows, next) = crate::db::page_of(rows, limit, |r| r.id);
        Ok((rows.into_iter().map(Into::into).collect(), next))
    }

    /// Admin cancellation before closing. The commitment is cancelled on chain by the worker.
    pub async fn cancel(&self, raffle_id: Uuid, reason: &str) -> Result<Raffle, Error> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, raffle_id)
            .await?
            .ok_or(Error::NotFound)?;
        let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
            .fetch_one(&mut *tx)
            .await?;
        if !matches!(
            public_state(&row, now),
            RaffleState::Scheduled | RaffleState::Open
        ) {
            return Err(Error::NotCancellable);
        }
        end_cancelled(&mut tx, raffle_id, reason).await?;
        tx.commit().await?;
        self.raffle(raffle_id).await
    }
}

/// Marks the raffle cancelled and tells everyone who entered. The worker cancels the
/// commitment on chain (`cancelled_on_chain`).
async fn end_cancelled(
    tx: &mut sqlx::PgConnection,
    raffle_id: Uuid,
    reason: &str,
) -> Result<(), Error> {
    store::set_stage(
        &mut *tx,
        raffle_id,
        RaffleStage::Cancelled,
        store::StageChange {
            cancel_reason: Some(reason),
            ..Default::default()
        },
    )
    .await?;
    for user in store::live_entrants(&mut *tx, raffle_id).await? {
        crate::notify::push(
            &mut *tx,
            user,
            "raffle_cancelled",
            "래플이 취소되었습니다",
            reason,
            serde_json::json!({"raffle_id": raffle_id}),
        )
        .await?;
    }
    Ok(())
}

/// Revocation, in the revoking transaction: every raffle of the product that has not begun to
/// close (scheduled, open, or committed and past its closing time) is cancelled. One already
/// closing on chain cannot be cancelled there; it is drawn as promised and its winners' orders
/// are ended at once (the draw checks the product under its lock). Returns how many it cancelled.
pub async fn cancel_for_revoked_product(
    tx: &mut sqlx::PgConnection,
    product_id: Uuid,
    reason: &str,
) -> Result<usize, Error> {
    store::lock_product_raffles(&mut *tx, product_id).await?;
    let ids = store::cancellable_of_product(&mut *tx, product_id).await?;
    for id in &ids {
        end_cancelled(tx, *id, reason).await?;
    }
    Ok(ids.len())
}

/// The raffles' answer to the catalogue's edition-size check: the winners promised across a
/// product's raffles that still count (wired into the catalogue in `app.rs`).
pub struct WinnersPromised;

#[async_trait::async_trait]
impl crate::catalogue::EditionPromises for WinnersPromised {
    async fn pieces_promised(
        &self,
        tx: &mut sqlx::PgConnection,
        product: Uuid,
    ) -> sqlx::Result<i64> {
        store::winners_committed(&mut *tx, product).await
    }
}

/// Account deletion: how many of the seller's raffles are scheduled, open, or closed and not yet
/// drawn (their draw would give winners orders nobody ships).
pub async fn unfinished_of_seller(
    tx: &mut sqlx::PgConnection,
    seller_id: Uuid,
) -> Result<i64, Error> {
    Ok(store::unfinished_of_seller(&mut *tx, seller_id).await?)
}

/// Account deletion: withdraw the person's entries in raffles that have not closed.
pub async fn withdraw_open_entries(
    tx: &mut sqlx::PgConnection,
    user_id: Uuid,
) -> Result<u64, Error> {
    Ok(store::withdraw_open_entries(tx, user_id).await?)
}

/// Whether a given-up order still passes to an alternate: the raffle is drawn (or settled) and
/// its draw is at most [`ALTERNATES_PERIOD`] old. After that the edition stays unsold rather
/// than keep alternates waiting for ever.
pub fn alternates_may_move_up(row: &RaffleRow, now: DateTime<Utc>) -> bool {
    matches!(row.stage, RaffleStage::Drawn | RaffleStage::Settled)
        && row
            .drawn_at
            .is_some_and(|drawn| now - drawn <= ALTERNATES_PERIOD)
}

/// A winner did not pay in time, was refunded or cancelled: the first alternate without an
/// order moves up, while the raffle allows ([`alternates_may_move_up`]) and its product is not
/// revoked. Returns the
/// raffle and (entry, person), or None when the alternates have run out.
pub async fn promote_next_alternate(
    tx: &mut sqlx::PgConnection,
    raffle_id: Uuid,
) -> Result<Option<(RaffleRow, (Uuid, Uuid))>, Error> {
    let Some(row) = store::lock(&mut *tx, raffle_id).await? else {
        return Ok(None);
    };
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    if !alternates_may_move_up(&row, now) {
        return Ok(None);
    }
    match crate::catalogue::lock_for_raffle(tx, row.product_id).await? {
        Some(p) if !p.revoked => {}
        _ => return Ok(None),
    }
    let Some(next) = store::promote_next_alternate(&mut *tx, raffle_id).await? else {
        return Ok(None);
    };
    // A settled raffle has an order to wait for again.
    store::reopen_settled(&mut *tx, raffle_id).await?;
    Ok(Some((row, next)))
}

/// Every winning order is paid or given up.
pub async fn mark_settled(tx: &mut sqlx::PgConnection, raffle_id: Uuid) -> Result<(), Error> {
    store::mark_settled(&mut *tx, raffle_id).await?;
    Ok(())
}
