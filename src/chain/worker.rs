//! The anchoring worker: closes batches, anchors their roots, waits for confirmations, and sends
//! revocations. One replica runs it at a time (a PostgreSQL advisory lock).
//!
//! Every step is written so that a crash between any two statements loses nothing and anchors no
//! root twice: a batch is built in one transaction; before sending, the chain is asked whether the
//! root is already anchored, and the Anchored event (not our memory of a transaction) says where.

use std::time::Duration;

use alloy::primitives::B256;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::PgPool;
use tokio::sync::watch;

use super::client::ChainClient;
use super::outbox;
use super::status::{BatchStatus, RevocationStatus};
use crate::protocol::merkle::{self, MerkleTree};

/// The advisory-lock key of the anchoring worker ("TRUFANCH").
const LOCK_KEY: i64 = 0x5452_5546_414e_4348;

/// A sent transaction with no Anchored event after this long is sent again.
const RESEND_AFTER: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct AnchorWorker {
    pub db: PgPool,
    pub chain: ChainClient,
    pub confirmations: u64,
    pub batch_interval: Duration,
    pub batch_max: usize,
    /// The app's CPU pool: Merkle trees are built on it, never refused.
    pub cpu: crate::cpu::CpuPool,
}

/// What one pass did, for tests and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub batches_built: usize,
    pub roots_sent: usize,
    pub batches_confirmed: usize,
    pub revocations_sent: usize,
    pub revocations_confirmed: usize,
}

impl AnchorWorker {
    /// Runs until `shutdown` turns true. Errors (an unreachable RPC) are logged and retried.
    /// Runs until `shutdown` turns true, on whichever replica holds the lock.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let db = self.db.clone();
        crate::db::run_exclusive(db, LOCK_KEY, "anchoring", shutdown, || {
            let worker = self.clone();
            async move { worker.pass(false).await }
        })
        .await
    }

    /// One pass: close due batches, move every open batch and revocation one step on.
    /// `force` closes a batch of whatever is waiting (tests, benchmarks).
    pub async fn pass(&self, force: bool) -> anyhow::Result<Pass> {
        let mut pass = Pass::default();
        while self.close_batch(force).await? {
            pass.batches_built += 1;
        }
        let head = self.chain.block_number().await?;
        outbox::record_head(&self.db, head).await?;
        for batch in outbox::open_batches(&self.db).await? {
            let root = B256::try_from(batch.root.as_slice())?;
            match batch.status {
                BatchStatus::Built | BatchStatus::Sent => {
                    if let Some(landed) = self.chain.find_anchored(root).await? {
                        let time = self.block_time(landed.block_number).await?;
                        outbox::batch_mined(
                            &self.db,
                            batch.id,
                            landed.tx_hash,
                            landed.block_number,
                            time,
                        )
                        .await?;
                        if self
                            .confirm_batch(batch.id, landed.block_number, head)
                            .await?
                        {
                            pass.batches_confirmed += 1;
                        }
                    } else if batch.status == BatchStatus::Built
                        || batch
                            .sent_seconds_ago
                            .is_some_and(|s| s > RESEND_AFTER.as_secs_f64())
                    {
                        // Not on chain (checked just above), so sending cannot anchor it twice;
                        // and if two sends ever race, the contract refuses the second.
                        let tx = self.chain.send_anchor(root).await?;
                        outbox::batch_sent(&self.db, batch.id, tx).await?;
                        pass.roots_sent += 1;
                    }
                }
                BatchStatus::Mined => {
                    let block = batch.block_number.unwrap_or_default() as u64;
                    if self.confirm_batch(batch.id, block, head).await? {
                        pass.batches_confirmed += 1;
                    }
                }
                // Open batches and revocations are never confirmed.
                BatchStatus::Confirmed => {}
            }
        }
        for rev in outbox::open_revocations(&self.db).await? {
            let hash = B256::try_from(rev.hash.as_slice())?;
            match rev.status {
                RevocationStatus::Pending | RevocationStatus::Sent => {
                    if let Some(landed) = self.chain.find_revoked(hash).await? {
                        outbox::revocation_update(
                            &self.db,
                            &rev.hash,
                            RevocationStatus::Mined,
                            Some(landed.tx_hash),
                            Some(landed.block_number),
                        )
                        .await?;
                        if head + 1 >= landed.block_number + self.confirmations {
                            outbox::revocation_update(
                                &self.db,
                                &rev.hash,
                                RevocationStatus::Confirmed,
                                None,
                                None,
                            )
                            .await?;
                            pass.revocations_confirmed += 1;
                        }
                    } else if rev.status == RevocationStatus::Pending
                        || rev
                            .sent_seconds_ago
                            .is_some_and(|s| s > RESEND_AFTER.as_secs_f64())
                    {
                        let tx = self.chain.send_revoke(hash).await?;
                        outbox::revocation_update(
                            &self.db,
                            &rev.hash,
                            RevocationStatus::Sent,
                            Some(tx),
                            None,
                        )
                        .await?;
                        pass.revocations_sent += 1;
                    }
                }
                RevocationStatus::Mined => {
                    let block = rev.block_number.unwrap_or_default() as u64;
                    if head + 1 >= block + self.confirmations {
                        outbox::revocation_update(
                            &self.db,
                            &rev.hash,
                            RevocationStatus::Confirmed,
                            None,
                            None,
                        )
                        .await?;
                        pass.revocations_confirmed += 1;
                    }
                }
                RevocationStatus::Confirmed => {}
            }
        }
        Ok(pass)
    }

    /// With `confirmations` = N, the anchoring block plus N − 1 blocks on top confirm it.
    async fn confirm_batch(&self, id: i64, block: u64, head: u64) -> anyhow::Result<bool> {
        if head + 1 < block + self.confirmations {
            return Ok(false);
        }
        let time = self.block_time(block).await?;
        outbox::batch_confirmed(&self.db, id, time).await?;
        Ok(true)
    }

    /// The time of block `block`, as the chain gives it.
    async fn block_time(&self, block: u64) -> anyhow::Result<DateTime<Utc>> {
        let time = self.chain.block_time(block).await?;
        Utc.timestamp_opt(time as i64, 0)
            .single()
            .ok_or_else(|| anyhow::anyhow!("block {block} has a bad timestamp"))
    }

    /// Builds one batch if one is due; true when it did. (One step of [`Self::pass`], public so
    /// that tests can stop between steps as a crash would.)
    pub async fn close_batch(&self, force: bool) -> anyhow::Result<bool> {
        let mut tx = self.db.begin().await?;
        let hashes = outbox::take_due(&mut tx, self.batch_max, self.batch_interval, force).await?;
        if hashes.is_empty() {
            return Ok(false);
        }
        let members = self.cpu.run_worker(move || build_members(&hashes)).await;
        let Some((root, members)) = members else {
            return Ok(false);
        };
        outbox::insert_batch(&mut tx, root, &members).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// One member of a batch: its content hash, its leaf and its proof.
pub type Member = (B256, B256, Vec<B256>);

/// The tree over these content hashes: its root and each hash's (hash, leaf, proof).
pub fn build_members(hashes: &[B256]) -> Option<(B256, Vec<Member>)> {
    let raw: Vec<[u8; 32]> = hashes.iter().map(|h| h.0).collect();
    let tree = MerkleTree::from_content_hashes(&raw)?;
    let members = hashes
        .iter()
        .map(|h| {
            let leaf = merkle::leaf(&h.0);
            let proof = tree
                .proof(&leaf)
                .unwrap_or_default()
                .into_iter()
                .map(B256::from)
                .collect();
            (*h, B256::from(leaf), proof)
        })
        .collect();
    Some((B256::from(tree.root()), members))
}
