//! The anchoring outbox's SQL, and what domains may ask of it: enqueue a hash, ask for a
//! revocation, and read where a hash stands.

use std::collections::HashMap;
use std::time::Duration;

use alloy::primitives::B256;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::status::{BatchStatus, RevocationStatus};

/// Where a hash stands on its way to the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnchorState {
    /// Waiting for a batch, or in a batch not yet mined.
    Pending,
    /// Its batch root is in a block, not yet confirmed.
    Anchored,
    /// Enough blocks on top of the anchoring block.
    Confirmed,
}

#[derive(Debug, Clone)]
pub struct AnchorInfo {
    pub state: AnchorState,
    pub leaf: Option<B256>,
    pub proof: Vec<B256>,
    pub root: Option<B256>,
    pub tx_hash: Option<B256>,
    pub block_number: Option<u64>,
    pub block_time: Option<DateTime<Utc>>,
    /// Blocks from the anchoring block to the newest block the worker has seen, both counted.
    pub confirmations: Option<u64>,
    /// The revocation, once asked for: its state and transaction.
    pub revocation: Option<(AnchorState, Option<B256>)>,
}

/// A hash's anchoring as a proof publishes it: every position known.
#[derive(Debug, Clone)]
pub struct Published {
    pub leaf: B256,
    pub proof: Vec<B256>,
    pub root: B256,
    pub tx_hash: B256,
    pub block_number: u64,
    pub block_time: DateTime<Utc>,
}

impl AnchorInfo {
    /// The anchoring once it can be published: in a block whose time is recorded too, so that a
    /// proof never has a hole in it; `None` before.
    pub fn published(self) -> Option<Published> {
        if self.state == AnchorState::Pending {
            return None;
        }
        Some(Published {
            leaf: self.leaf?,
            root: self.root?,
            tx_hash: self.tx_hash?,
            block_number: self.block_number?,
            block_time: self.block_time?,
            proof: self.proof,
        })
    }
}

fn b256(bytes: &[u8]) -> Option<B256> {
    <[u8; 32]>::try_from(bytes).ok().map(B256::from)
}

pub fn split_proof(bytes: &[u8]) -> Vec<B256> {
    bytes.chunks_exact(32).filter_map(b256).collect()
}

/// Records the newest block seen, for confirmation counts.
pub async fn record_head(db: impl PgExecutor<'_>, block: u64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO chain_head (only_row, block_number) VALUES (true, $1)
         ON CONFLICT (only_row) DO UPDATE SET block_number = $1, seen_at = now()
         WHERE chain_head.block_number <> $1",
    )
    .bind(block as i64)
    .execute(db)
    .await?;
    Ok(())
}

/// Puts a hash in the outbox (idempotent). Call it in the transaction that creates the record.
pub async fn enqueue(db: impl PgExecutor<'_>, hash: B256) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO anchor_items (hash) VALUES ($1) ON CONFLICT (hash) DO NOTHING")
        .bind(hash.as_slice())
        .execute(db)
        .await?;
    Ok(())
}

/// Asks for a hash to be revoked on chain (idempotent).
pub async fn request_revocation(db: impl PgExecutor<'_>, hash: B256) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO chain_revocations (hash, status) VALUES ($1, 'pending') ON CONFLICT (hash) DO NOTHING")
        .bind(hash.as_slice())
        .execute(db)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct InfoRow {
    hash: Vec<u8>,
    leaf: Option<Vec<u8>>,
    proof: Option<Vec<u8>>,
    root: Option<Vec<u8>>,
    status: Option<BatchStatus>,
    tx_hash: Option<Vec<u8>>,
    block_number: Option<i64>,
    block_time: Option<DateTime<Utc>>,
    revocation_status: Option<RevocationStatus>,
    revocation_tx: Option<Vec<u8>>,
    head: Option<i64>,
}

/// Not yet in a batch is pending.
fn state_of(status: Option<BatchStatus>) -> AnchorState {
    match status {
        Some(s) => s.anchor_state(),
        None => AnchorState::Pending,
    }
}

/// Where each of these hashes stands. Hashes never enqueued are left out.
pub async fn status_of(
    db: impl PgExecutor<'_>,
    hashes: &[B256],
) -> sqlx::Result<HashMap<B256, AnchorInfo>> {
    let keys: Vec<&[u8]> = hashes.iter().map(|h| h.as_slice()).collect();
    let rows: Vec<InfoRow> = sqlx::query_as(
        "SELECT i.hash, i.leaf, i.proof, b.root, b.status, b.tx_hash, b.block_number, b.block_time,
                r.status AS revocation_status, r.tx_hash AS revocation_tx, h.block_number AS head
         FROM anchor_items i
         LEFT JOIN anchor_batches b ON b.id = i.batch_id
         LEFT JOIN chain_revocations r ON r.hash = i.hash
         LEFT JOIN chain_head h ON true
         WHERE i.hash = ANY($1)",
    )
    .bind(keys)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let hash = b256(&r.hash)?;
            let state = state_of(r.status);
            let anchored = state != AnchorState::Pending;
            Some((
                hash,
                AnchorInfo {
                    state,
                    leaf: r.leaf.as_deref().and_then(b256),
                    proof: r.proof.as_deref().map(split_proof).unwrap_or_default(),
                    root: r.root.as_deref().and_then(b256),
                    tx_hash: r.tx_hash.as_deref().and_then(b256).filter(|_| anchored),
                    block_number: r.block_number.map(|n| n as u64).filter(|_| anchored),
                    block_time: r.block_time.filter(|_| anchored),
                    confirmations: match (r.block_number, r.head) {
                        (Some(block), Some(head)) if anchored => {
                            Some((head - block + 1).max(1) as u64)
                        }
                        _ => None,
                    },
                    revocation: r
                        .revocation_status
                        .map(|s| (s.anchor_state(), r.revocation_tx.as_deref().and_then(b256))),
                },
            ))
        })
        .collect())
}

/// Hashes not yet anchored for good: waiting for a batch, or in a batch not yet confirmed.
/// Both parts read partial indexes of what is open, so the count stays cheap.
pub async fn backlog(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM anchor_items WHERE batch_id IS NULL)
              + (SELECT coalesce(sum(leaf_count), 0) FROM anchor_batches WHERE status <> 'confirmed')",
    )
    .fetch_one(db)
    .await
}

// ---------------------------------------------------------------------------------------------
// The worker's side.

/// Up to `max` waiting hashes, oldest first, locked for batching, if a batch is due: `max` are
/// waiting, the oldest has waited `interval`, or `force`.
pub async fn take_due(
    conn: &mut sqlx::PgConnection,
    max: usize,
    interval: Duration,
    force: bool,
) -> sqlx::Result<Vec<B256>> {
    let rows: Vec<(Vec<u8>, bool)> = sqlx::query_as(
        "SELECT hash, enqueued_at <= now() - make_interval(secs => $2) AS old
         FROM anchor_items WHERE batch_id IS NULL
         ORDER BY enqueued_at, hash LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(max as i64)
    .bind(interval.as_secs_f64())
    .fetch_all(&mut *conn)
    .await?;
    let due = force || rows.len() >= max || rows.first().is_some_and(|(_, old)| *old);
    if !due {
        return Ok(Vec::new());
    }
    Ok(rows.iter().filter_map(|(h, _)| b256(h)).collect())
}

/// Records a built batch and every member's leaf and proof, in the caller's transaction.
pub async fn insert_batch(
    conn: &mut sqlx::PgConnection,
    root: B256,
    members: &[(B256, B256, Vec<B256>)],
) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO anchor_batches (root, leaf_count, status) VALUES ($1, $2, 'built') RETURNING id",
    )
    .bind(root.as_slice())
    .bind(members.len() as i32)
    .fetch_one(&mut *conn)
    .await?;
    let hashes: Vec<Vec<u8>> = members.iter().map(|(h, _, _)| h.to_vec()).collect();
    let leaves: Vec<Vec<u8>> = members.iter().map(|(_, l, _)| l.to_vec()).collect();
    let proofs: Vec<Vec<u8>> = members
        .iter()
        .map(|(_, _, p)| p.iter().flat_map(|h| h.0).collect())
        .collect();
    sqlx::query(
        "UPDATE anchor_items i SET batch_id = $1, leaf = u.leaf, proof = u.proof
         FROM unnest($2::bytea[], $3::bytea[], $4::bytea[]) AS u(hash, leaf, proof)
         WHERE i.hash = u.hash",
    )
    .bind(id)
    .bind(hashes)
    .bind(leaves)
    .bind(proofs)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

#[derive(Debug, sqlx::FromRow)]
pub struct OpenBatch {
    pub id: i64,
    pub root: Vec<u8>,
    pub status: BatchStatus,
    pub tx_hash: Option<Vec<u8>>,
    pub block_number: Option<i64>,
    pub sent_seconds_ago: Option<f64>,
}

pub async fn open_batches(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<OpenBatch>> {
    sqlx::query_as(
        "SELECT id, root, status, tx_hash, block_number,
                EXTRACT(EPOCH FROM now() - sent_at)::float8 AS sent_seconds_ago
         FROM anchor_batches WHERE status <> 'confirmed' ORDER BY id",
    )
    .fetch_all(db)
    .await
}

pub async fn batch_sent(db: impl PgExecutor<'_>, id: i64, tx: B256) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE anchor_batches SET status = 'sent', tx_hash = $2, sent_at = now()
         WHERE id = $1 AND status = ANY($3)",
    )
    .bind(id)
    .bind(tx.as_slice())
    .bind(BatchStatus::sources(BatchStatus::Sent))
    .execute(db)
    .await?;
    Ok(())
}

/// The batch's root is in block `block`, made at `block_time`: both are recorded together, so
/// that nothing ever shows an anchoring block without its time.
pub async fn batch_mined(
    db: impl PgExecutor<'_>,
    id: i64,
    tx: B256,
    block: u64,
    block_time: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE anchor_batches SET status = 'mined', tx_hash = $2, block_number = $3, block_time = $4
         WHERE id = $1 AND status = ANY($5)",
    )
    .bind(id)
    .bind(tx.as_slice())
    .bind(block as i64)
    .bind(block_time)
    .bind(BatchStatus::sources(BatchStatus::Mined))
    .execute(db)
    .await?;
    Ok(())
}

pub async fn batch_confirmed(
    db: impl PgExecutor<'_>,
    id: i64,
    block_time: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE anchor_batches SET status = 'confirmed', block_time = $2, confirmed_at = now()
         WHERE id = $1 AND status = ANY($3)",
    )
    .bind(id)
    .bind(block_time)
    .bind(BatchStatus::sources(BatchStatus::Confirmed))
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct OpenRevocation {
    pub hash: Vec<u8>,
    pub status: RevocationStatus,
    pub block_number: Option<i64>,
    pub sent_seconds_ago: Option<f64>,
}

pub async fn open_revocations(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<OpenRevocation>> {
    sqlx::query_as(
        "SELECT hash, status, block_number, EXTRACT(EPOCH FROM now() - sent_at)::float8 AS sent_seconds_ago
         FROM chain_revocations WHERE status <> 'confirmed' ORDER BY requested_at",
    )
    .fetch_all(db)
    .await
}

/// Moves a revocation to `status`, if it may become it.
pub async fn revocation_update(
    db: impl PgExecutor<'_>,
    hash: &[u8],
    status: RevocationStatus,
    tx: Option<B256>,
    block: Option<u64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE chain_revocations SET status = $2, tx_hash = coalesce($3, tx_hash),
             block_number = coalesce($4, block_number),
             sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END,
             confirmed_at = CASE WHEN $2 = 'confirmed' THEN now() ELSE confirmed_at END
         WHERE hash = $1 AND status = ANY($5)",
    )
    .bind(hash)
    .bind(status.as_str())
    .bind(tx.map(|t| t.to_vec()))
    .bind(block.map(|b| b as i64))
    .bind(RevocationStatus::sources(status))
    .execute(db)
    .await?;
    Ok(())
}
