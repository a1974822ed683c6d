//! The draw worker: commits each raffle on chain, closes it at its closing time (publishing the
//! sorted ticket list and anchoring its root), reveals the seed after the next block, and stores
//! the order. One replica runs it at a time (a PostgreSQL advisory lock).
//!
//! Every step asks the chain where the raffle stands before sending anything, so a crash or an
//! unreachable RPC at any step resumes where it stopped and never sends a step twice.

use alloy::primitives::{B256, FixedBytes};
use alloy::sol_types::SolEvent;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use uuid::Uuid;

use super::store::{self, RaffleRow, StageChange};
use super::{EntryOutcome, RaffleStage, Raffles};
use crate::chain::{ChainClient, TruffleRegistry};
use crate::protocol::draw;

/// The advisory-lock key of the draw worker ("TRUFDRAW").
const LOCK_KEY: i64 = 0x5452_5546_4452_4157;
/// A sent step with nothing on chain after this long is sent again.
const RESEND_AFTER: chrono::Duration = chrono::Duration::seconds(120);

/// On-chain raffle states (`TruffleRegistry.RaffleState`).
mod on_chain {
    pub const NONE: u8 = 0;
    pub const COMMITTED: u8 = 1;
    pub const CLOSED: u8 = 2;
    pub const REVEALED: u8 = 3;
    pub const VOID: u8 = 4;
    pub const EMPTY: u8 = 5;
    pub const CANCELLED: u8 = 6;
}

#[derive(Clone)]
pub struct DrawWorker {
    pub raffles: Raffles,
    pub chain: ChainClient,
    /// What follows a draw for its winners (their orders), offered by the domain above.
    pub after_draw: Arc<dyn AfterDraw>,
}

/// What follows a draw, inside the draw's transaction. Raffles end at the drawn list; the
/// orders domain owns what winners do next and offers this step, wired in `app.rs`, so that
/// raffles never call up into orders.
#[async_trait]
pub trait AfterDraw: Send + Sync {
    /// `winners` are (entry, person) in draw order; `revoked` is whether the product was revoked
    /// while the raffle was closing on chain (too late to cancel there).
    async fn drawn(
        &self,
        tx: &mut sqlx::PgConnection,
        raffle: &RaffleRow,
        winners: &[(Uuid, Uuid)],
        revoked: bool,
    ) -> anyhow::Result<()>;
}

/// What one pass did, for tests and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrawPass {
    pub committed: usize,
    pub closed: usize,
    pub drawn: usize,
    pub voided: usize,
    pub sent: usize,
}

pub fn raffle_key(id: Uuid) -> FixedBytes<16> {
    FixedBytes::from(*id.as_bytes())
}

fn stale(sent: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    sent.is_none_or(|at| chrono::Utc::now() - at > RESEND_AFTER)
}

impl DrawWorker {
    /// Runs until `shutdown` turns true, on whichever replica holds the lock.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let db = self.raffles.db.clone();
        crate::db::run_exclusive(db, LOCK_KEY, "draws", shutdown, || {
            let worker = self.clone();
            async move { worker.pass().await }
        })
        .await
    }

    /// One pass over every raffle that has a step to take.
    pub async fn pass(&self) -> anyhow::Result<DrawPass> {
        let mut pass = DrawPass::default();
        let db = &self.raffles.db;
        let now: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("SELECT now()").fetch_one(db).await?;
        for row in store::working(db).await? {
            match row.stage {
                RaffleStage::Committing => self.commit(&row, &mut pass).await?,
                RaffleStage::Committed if now >= row.closes_at => self.freeze(&row).await?,
                RaffleStage::Closing => self.close(&row, &mut pass).await?,
                RaffleStage::Closed => self.reveal(&row, &mut pass).await?,
                // Open until its closing time; the others are not in the working set.
                RaffleStage::Committed
                | RaffleStage::Drawn
                | RaffleStage::Settled
                | RaffleStage::Cancelled
                | RaffleStage::Void
                | RaffleStage::Empty => {}
            }
        }
        for row in store::cancelled_on_chain(db).await? {
            self.cancel(&row, &mut pass).await?;
        }
        // Empty raffles recorded before their seeds were published (older workers).
        for row in store::empty_without_seed(db).await? {
            self.publish_seed(&row, None).await?;
        }
        Ok(pass)
    }

    async fn commit(&self, row: &RaffleRow, pass: &mut DrawPass) -> anyhow::Result<()> {
        let key = raffle_key(row.id);
        let on_chain = self.chain.raffle(key).await?;
        if on_chain.state != on_chain::NONE {
            let landed = self
                .chain
                .find_raffle_event(TruffleRegistry::RaffleCommitted::SIGNATURE_HASH, key)
                .await?;
            let tx = landed.map(|l| l.tx_hash.to_vec());
            store::set_stage(
                &self.raffles.db,
                row.id,
                RaffleStage::Committed,
                StageChange {
                    commit_tx: tx.as_deref(),
                    ..Default::default()
                },
            )
            .await?;
            pass.committed += 1;
        } else if stale(row.commit_sent_at) {
            let tx = self
                .chain
                .send_commit_raffle(
                    key,
                    B256::try_from(row.product_content_hash.as_slice())?,
                    B256::try_from(row.seed_hash.as_slice())?,
                    row.closes_at.timestamp() as u64,
                    row.winners as u32,
                )
                .await?;
            store::set_stage(
                &self.raffles.db,
                row.id,
                RaffleStage::Committing,
                StageChange {
                    commit_tx: Some(tx.as_slice()),
                    commit_sent: true,
                    ..Default::default()
                },
            )
            .await?;
            pass.sent += 1;
        }
        Ok(())
    }

    /// Freezes the entries: with the raffle row locked exclusively (entries hold it shared), the
    /// sorted ticket list and its root are stored; from here on they never change.
    async fn freeze(&self, row: &RaffleRow) -> anyhow::Result<()> {
        let mut tx = self.raffles.db.begin().await?;
        let locked = store::lock(&mut *tx, row.id).await?;
        if locked.as_ref().map(|r| r.stage) != Some(RaffleStage::Committed) {
            return Ok(());
        }
        let tickets = store::tickets(&mut *tx, row.id).await?;
        let hashes: Vec<[u8; 32]> = tickets
            .iter()
            .filter_map(|t| t.as_slice().try_into().ok())
            .collect();
        let root = self
            .raffles
            .cpu
            .run_worker(move || draw::ticket_tree(&hashes).map(|t| t.root()))
            .await;
        let root = root.unwrap_or([0u8; 32]);
        store::set_stage(
            &mut *tx,
            row.id,
            RaffleStage::Closing,
            StageChange {
                ticket_root: Some(&root),
                ticket_count: Some(tickets.len() as i32),
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn close(&self, row: &RaffleRow, pass: &mut DrawPass) -> anyhow::Result<()> {
        let key = raffle_key(row.id);
        let on_chain = self.chain.raffle(key).await?;
        match on_chain.state {
            on_chain::EMPTY => {
                let landed = self
                    .chain
                    .find_raffle_event(TruffleRegistry::RaffleEmpty::SIGNATURE_HASH, key)
                    .await?;
                self.publish_seed(row, landed.map(|l| l.tx_hash.to_vec()).as_deref())
                    .await?;
                pass.closed += 1;
            }
            on_chain::CLOSED | on_chain::REVEALED | on_chain::VOID => {
                let landed = self
                    .chain
                    .find_raffle_event(TruffleRegistry::RaffleClosed::SIGNATURE_HASH, key)
                    .await?;
                let tx = landed.map(|l| l.tx_hash.to_vec());
                store::set_stage(
                    &self.raffles.db,
                    row.id,
                    RaffleStage::Closed,
                    StageChange {
                        close_tx: tx.as_deref(),
                        close_block: Some(on_chain.close_block as i64),
                        ..Default::default()
                    },
                )
                .await?;
                pass.closed += 1;
            }
            on_chain::COMMITTED if stale(row.close_sent_at) => {
                // The contract refuses to close before the closing time by the chain's clock.
                if self.chain.head_time().await? < row.closes_at.timestamp() as u64 {
                    return Ok(());
                }
                let root = B256::try_from(row.ticket_root.as_deref().unwrap_or(&[0u8; 32]))?;
                let tx = self
                    .chain
                    .send_close_raffle(key, root, row.ticket_count.unwrap_or_default() as u32)
                    .await?;
                store::set_stage(
                    &self.raffles.db,
                    row.id,
                    RaffleStage::Closing,
                    StageChange {
                        close_tx: Some(tx.as_slice()),
                        close_sent: true,
                        ..Default::default()
                    },
                )
                .await?;
                pass.sent += 1;
            }
            _ => {}
        }
        Ok(())
    }

    /// An empty raffle is final on chain (state Empty: no reveal, no draw, ever), so its seed can
    /// drive nothing any more. It is published off chain, in the draw record, so that anyone can
    /// check sha256(seed) against the seed hash the chain holds: the commitment was honest.
    async fn publish_seed(&self, row: &RaffleRow, close_tx: Option<&[u8]>) -> anyhow::Result<()> {
        let seed =
            crate::sealing::open(self.raffles.master(), row.id.as_bytes(), &row.seed_sealed)?;
        let seed: [u8; 32] = seed.as_slice().try_into()?;
        anyhow::ensure!(
            draw::seed_hash(&seed).as_slice() == row.seed_hash.as_slice(),
            "raffle {}: the sealed seed does not match its commitment",
            row.id
        );
        store::set_stage(
            &self.raffles.db,
            row.id,
            RaffleStage::Empty,
            StageChange {
                close_tx,
                seed: Some(&seed),
                ..Default::default()
            },
        )
        .await?;
        Ok(())
    }

    async fn reveal(&self, row: &RaffleRow, pass: &mut DrawPass) -> anyhow::Result<()> {
        let key = raffle_key(row.id);
        let on_chain = self.chain.raffle(key).await?;
        let close_block = on_chain.close_block;
        match on_chain.state {
            on_chain::REVEALED => {
                let block_hash = self.chain.block_hash(close_block + 1).await?;
                let seed = crate::sealing::open(
                    self.raffles.master(),
                    row.id.as_bytes(),
                    &row.seed_sealed,
                )?;
                let seed: [u8; 32] = seed.as_slice().try_into()?;
                let r = draw::randomness(&seed, &block_hash.0);
                anyhow::ensure!(
                    r == on_chain.randomness.0,
                    "the chain's randomness differs from ours"
                );
                let tickets = store::tickets(&self.raffles.db, row.id).await?;
                let hashes: Vec<[u8; 32]> = tickets
                    .iter()
                    .filter_map(|t| t.as_slice().try_into().ok())
                    .collect();
                let ordered = self
                    .raffles
                    .cpu
                    .run_worker(move || draw::ordered_tickets(&hashes, &r))
                    .await;
                let ordered: Vec<Vec<u8>> = ordered.into_iter().map(|t| t.to_vec()).collect();
                let landed = self
                    .chain
                    .find_raffle_event(TruffleRegistry::RaffleRevealed::SIGNATURE_HASH, key)
                    .await?;
                let mut tx = self.raffles.db.begin().await?;
                store::record_draw(&mut *tx, row.id, &ordered, row.winners as usize).await?;
                store::set_stage(
                    &mut *tx,
                    row.id,
                    RaffleStage::Drawn,
                    StageChange {
                        reveal_tx: landed.map(|l| l.tx_hash.to_vec()).as_deref(),
                        seed: Some(&seed),
                        block_hash: Some(block_hash.as_slice()),
                        randomness: Some(&r),
                        drawn: true,
                        ..Default::default()
                    },
                )
                .await?;
                // Winners get orders; everyone hears how it went.
                let outcomes = store::outcomes(&mut *tx, row.id).await?;
                let winners: Vec<(Uuid, Uuid)> = outcomes
                    .iter()
                    .filter_map(|(e, u, o)| match o {
                        EntryOutcome::Won => Some((*e, *u)),
                        EntryOutcome::Alternate | EntryOutcome::Lost => None,
                    })
                    .collect();
                // Revoked while it was closing on chain (too late to cancel there): drawn as
                // committed, and its orders ended at once. The product's lock orders this
                // against a revocation in flight.
                let revoked = crate::catalogue::lock_for_raffle(&mut tx, row.product_id)
                    .await?
                    .is_some_and(|p| p.revoked);
                self.after_draw
                    .drawn(&mut tx, row, &winners, revoked)
                    .await?;
                for (_, user, outcome) in &outcomes {
                    let body = match outcome {
                        EntryOutcome::Won => continue,
                        EntryOutcome::Alternate => {
                            "예비 당첨자입니다. 당첨자가 기한 안에 결제하지 않으면 순서대로 기회가 옵니다."
                        }
                        EntryOutcome::Lost => "아쉽지만 당첨되지 않았습니다.",
                    };
                    crate::notify::push(
                        &mut *tx,
                        *user,
                        "not_won",
                        "추첨 결과",
                        body,
                        serde_json::json!({"raffle_id": row.id}),
                    )
                    .await?;
                }
                tx.commit().await?;
                pass.drawn += 1;
            }
            on_chain::VOID => {
                store::set_stage(
                    &self.raffles.db,
                    row.id,
                    RaffleStage::Void,
                    StageChange::default(),
                )
                .await?;
                pass.voided += 1;
            }
            on_chain::CLOSED => {
                let head = self.chain.block_number().await?;
                if head > close_block + 256 {
                    // The window has passed (a long outage): void it, visibly.
                    let tx = self.chain.send_mark_void(key).await?;
                    store::set_stage(
                        &self.raffles.db,
                        row.id,
                        RaffleStage::Closed,
                        StageChange {
                            void_tx: Some(tx.as_slice()),
                            ..Default::default()
                        },
                    )
                    .await?;
                    pass.sent += 1;
                } else if head > close_block && stale(row.reveal_sent_at) {
                    // The reveal lands in block head + 1 ≥ close_block + 2, after blockhash(b + 1) exists.
                    let seed = crate::sealing::open(
                        self.raffles.master(),
                        row.id.as_bytes(),
                        &row.seed_sealed,
                    )?;
                    let seed = B256::try_from(seed.as_slice())?;
                    let tx = self.chain.send_reveal_seed(key, seed).await?;
                    store::set_stage(
                        &self.raffles.db,
                        row.id,
                        RaffleStage::Closed,
                        StageChange {
                            reveal_tx: Some(tx.as_slice()),
                            reveal_sent: true,
                            ..Default::default()
                        },
                    )
                    .await?;
                    pass.sent += 1;
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn cancel(&self, row: &RaffleRow, pass: &mut DrawPass) -> anyhow::Result<()> {
        let key = raffle_key(row.id);
        let state = self.chain.raffle(key).await?.state;
        if state == on_chain::COMMITTED {
            let tx = self.chain.send_cancel_raffle(key).await?;
            store::set_cancel_tx(&self.raffles.db, row.id, tx.as_slice()).await?;
            pass.sent += 1;
        } else if state == on_chain::NONE && row.commit_tx.is_some() && !stale(row.commit_sent_at) {
            // The commitment may still be on its way; cancel it once it lands or its send is stale.
        } else if state == on_chain::CANCELLED || state == on_chain::NONE {
            // Cancelled on chain already, or never committed: nothing to undo there.
            store::set_cancel_tx(&self.raffles.db, row.id, &[]).await?;
        }
        Ok(())
    }
}
