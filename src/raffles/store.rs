//! The raffles domain's SQL: raffles, entries, and the draw's results.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::{EntryOutcome, RaffleStage};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RaffleRow {
    pub id: Uuid,
    pub product_id: Uuid,
    pub product_content_hash: Vec<u8>,
    pub seller_id: Uuid,
    pub price_krw: i64,
    pub winners: i32,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub payment_window_secs: i32,
    pub stage: RaffleStage,
    pub seed_sealed: Vec<u8>,
    pub seed_hash: Vec<u8>,
    pub seed: Option<Vec<u8>>,
    pub commit_tx: Option<Vec<u8>>,
    pub commit_sent_at: Option<DateTime<Utc>>,
    pub ticket_root: Option<Vec<u8>>,
    pub ticket_count: Option<i32>,
    pub close_tx: Option<Vec<u8>>,
    pub close_block: Option<i64>,
    pub close_sent_at: Option<DateTime<Utc>>,
    pub reveal_tx: Option<Vec<u8>>,
    pub reveal_sent_at: Option<DateTime<Utc>>,
    pub block_hash: Option<Vec<u8>>,
    pub randomness: Option<Vec<u8>>,
    pub void_tx: Option<Vec<u8>>,
    pub cancel_tx: Option<Vec<u8>>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub drawn_at: Option<DateTime<Utc>>,
    /// Live (not withdrawn) entries.
    pub entry_count: i64,
}

const RAFFLE_SELECT: &str = "SELECT r.*, (SELECT count(*) FROM entries e
        WHERE e.raffle_id = r.id AND e.withdrawn_at IS NULL) AS entry_count
    FROM raffles r";

pub struct NewRaffle<'a> {
    pub id: Uuid,
    pub product_id: Uuid,
    pub product_content_hash: &'a [u8],
    pub seller_id: Uuid,
    pub price_krw: i64,
    pub winners: i32,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub payment_window_secs: i32,
    pub seed_sealed: &'a [u8],
    pub seed_hash: &'a [u8],
}

pub async fn insert_raffle(db: impl PgExecutor<'_>, r: NewRaffle<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO raffles (id, product_id, product_content_hash, seller_id, price_krw, winners, opens_at,
                              closes_at, payment_window_secs, stage, seed_sealed, seed_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'committing', $10, $11)",
    )
    .bind(r.id)
    .bind(r.product_id)
    .bind(r.product_content_hash)
    .bind(r.seller_id)
    .bind(r.price_krw)
    .bind(r.winners)
    .bind(r.opens_at)
    .bind(r.closes_at)
    .bind(r.payment_window_secs)
    .bind(r.seed_sealed)
    .bind(r.seed_hash)
    .execute(db)
    .await?;
    Ok(())
}

/// Winners promised by the product's raffles that still count (not cancelled, void or empty).
pub async fn winners_committed(db: impl PgExecutor<'_>, product_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT coalesce(sum(winners), 0)::bigint FROM raffles
         WHERE product_id = $1 AND stage NOT IN ('cancelled', 'void', 'empty')",
    )
    .bind(product_id)
    .fetch_one(db)
    .await
}

/// Serialises raffle creation per product, so the edition-size check cannot race.
pub async fn lock_product_raffles(db: impl PgExecutor<'_>, product_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))")
        .bind(product_id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<RaffleRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RAFFLE_SELECT} WHERE r.id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Locks the raffle row: entries take it shared, closing takes it exclusive, so no entry slips
/// in while the ticket list is being frozen.
///
/// Entries and withdrawals need no entry count, and counting on every entry would make each
/// entry slower the fuller the raffle: this leaves `entry_count` at 0.
pub async fn lock_shared(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<RaffleRow>> {
    sqlx::query_as(
        "SELECT r.*, 0::bigint AS entry_count FROM raffles r WHERE r.id = $1 FOR SHARE OF r",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn lock(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<RaffleRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RAFFLE_SELECT} WHERE r.id = $1 FOR UPDATE OF r"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn list(
    db: impl PgExecutor<'_>,
    product_id: Option<Uuid>,
    cursor: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<RaffleRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RAFFLE_SELECT}
         WHERE ($1::uuid IS NULL OR r.product_id = $1) AND ($2::uuid IS NULL OR r.id < $2)
         ORDER BY r.id DESC LIMIT $3"
    )))
    .bind(product_id)
    .bind(cursor)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Each of these products' newest raffle.
pub async fn latest_for_products(
    db: impl PgExecutor<'_>,
    product_ids: &[Uuid],
) -> sqlx::Result<Vec<RaffleRow>> {
    // The newest raffle per product first, then its entry count: counting the entries of every
    // past raffle of a popular product would cost more than the whole answer.
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RAFFLE_SELECT} WHERE r.id IN (SELECT DISTINCT ON (product_id) id FROM raffles
                                        WHERE product_id = ANY($1) ORDER BY product_id, id DESC)"
    )))
    .bind(product_ids)
    .fetch_all(db)
    .await
}

/// Raffles the draw worker has something to do for.
pub async fn working(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<RaffleRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RAFFLE_SELECT} WHERE r.stage IN ('committing', 'committed', 'closing', 'closed') ORDER BY r.closes_at"
    )))
    .fetch_all(db)
    .await
}

/// Sets stage and any of the chain fields given (others keep their values).
#[derive(Debug, Default)]
pub struct StageChange<'a> {
    pub commit_tx: Option<&'a [u8]>,
    pub commit_sent: bool,
    pub ticket_root: Option<&'a [u8]>,
    pub ticket_count: Option<i32>,
    pub close_tx: Option<&'a [u8]>,
    pub close_block: Option<i64>,
    pub close_sent: bool,
    pub reveal_tx: Option<&'a [u8]>,
    pub reveal_sent: bool,
    pub seed: Option<&'a [u8]>,
    pub block_hash: Option<&'a [u8]>,
    pub randomness: Option<&'a [u8]>,
    pub void_tx: Option<&'a [u8]>,
    pub cancel_reason: Option<&'a str>,
    pub drawn: bool,
}

/// Moves a raffle to `stage`, only from a stage that may become it ([`RaffleStage::may_become`]):
/// a worker pass that read the row before an admin or a revocation cancelled it cannot bring it
/// back.
pub async fn set_stage(
    db: impl PgExecutor<'_>,
    id: Uuid,
    stage: RaffleStage,
    c: StageChange<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE raffles SET stage = $2, updated_at = now(),
             commit_tx = coalesce($3, commit_tx),
             commit_sent_at = CASE WHEN $4 THEN now() ELSE commit_sent_at END,
             ticket_root = coalesce($5, ticket_root),
             ticket_count = coalesce($6, ticket_count),
             close_tx = coalesce($7, close_tx),
             close_block = coalesce($8, close_block),
             close_sent_at = CASE WHEN $9 THEN now() ELSE close_sent_at END,
             reveal_tx = coalesce($10, reveal_tx),
             reveal_sent_at = CASE WHEN $11 THEN now() ELSE reveal_sent_at END,
             seed = coalesce($12, seed),
             block_hash = coalesce($13, block_hash),
             randomness = coalesce($14, randomness),
             void_tx = coalesce($15, void_tx),
             cancel_reason = coalesce($16, cancel_reason),
             drawn_at = CASE WHEN $17 THEN now() ELSE drawn_at END
         WHERE id = $1 AND stage = ANY($18)",
    )
    .bind(id)
    .bind(stage)
    .bind(c.commit_tx)
    .bind(c.commit_sent)
    .bind(c.ticket_root)
    .bind(c.ticket_count)
    .bind(c.close_tx)
    .bind(c.close_block)
    .bind(c.close_sent)
    .bind(c.reveal_tx)
    .bind(c.reveal_sent)
    .bind(c.seed)
    .bind(c.block_hash)
    .bind(c.randomness)
    .bind(c.void_tx)
    .bind(c.cancel_reason)
    .bind(c.drawn)
    .bind(RaffleStage::sources(stage))
    .execute(db)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Entries

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub id: Uuid,
    pub raffle_id: Uuid,
    pub user_id: Uuid,
    pub ticket: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub position: Option<i32>,
    pub outcome: Option<EntryOutcome>,
}

/// Inserts a lot of entries in one statement; a person with a live entry already is skipped
/// (`entries_one_per_person`) and missing from what comes back.
pub async fn insert_entries(
    db: impl PgExecutor<'_>,
    raffle_id: Uuid,
    ids: &[Uuid],
    user_ids: &[Uuid],
    tickets: &[Vec<u8>],
) -> sqlx::Result<Vec<EntryRow>> {
    sqlx::query_as(
        "INSERT INTO entries (id, raffle_id, user_id, ticket)
         SELECT t.id, $1, t.user_id, t.ticket
         FROM unnest($2::uuid[], $3::uuid[], $4::bytea[]) AS t(id, user_id, ticket)
         ON CONFLICT (raffle_id, user_id) WHERE withdrawn_at IS NULL DO NOTHING
         RETURNING id, raffle_id, user_id, ticket, created_at, withdrawn_at, position, outcome",
    )
    .bind(raffle_id)
    .bind(ids)
    .bind(user_ids)
    .bind(tickets)
    .fetch_all(db)
    .await
}

pub async fn withdraw_entry(
    db: impl PgExecutor<'_>,
    raffle_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE entries SET withdrawn_at = now() WHERE raffle_id = $1 AND user_id = $2 AND withdrawn_at IS NULL",
    )
    .bind(raffle_id)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Withdraws a user's entries in raffles that have not closed yet (account deletion).
pub async fn withdraw_open_entries(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE entries e SET withdrawn_at = now()
         FROM raffles r
         WHERE e.raffle_id = r.id AND e.user_id = $1 AND e.withdrawn_at IS NULL
           AND r.stage IN ('committing', 'committed') AND r.closes_at > now()",
    )
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

pub async fn user_entries(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    cursor: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<EntryRow>> {
    sqlx::query_as(
        "SELECT id, raffle_id, user_id, ticket, created_at, withdrawn_at, position, outcome FROM entries
         WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(user_id)
    .bind(cursor)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Every live ticket of a raffle, sorted ascending: the list that is published and anchored.
pub async fn tickets(db: impl PgExecutor<'_>, raffle_id: Uuid) -> sqlx::Result<Vec<Vec<u8>>> {
    sqlx::query_scalar(
        "SELECT ticket FROM entries WHERE raffle_id = $1 AND withdrawn_at IS NULL ORDER BY ticket",
    )
    .bind(raffle_id)
    .fetch_all(db)
    .await
}

pub async fn tickets_page(
    db: impl PgExecutor<'_>,
    raffle_id: Uuid,
    after: Option<&[u8]>,
    limit: i64,
) -> sqlx::Result<Vec<Vec<u8>>> {
    sqlx::query_scalar(
        "SELECT ticket FROM entries WHERE raffle_id = $1 AND withdrawn_at IS NULL AND ($2::bytea IS NULL OR ticket > $2)
         ORDER BY ticket LIMIT $3",
    )
    .bind(raffle_id)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Records every ticket's place in the draw order and its outcome.
pub async fn record_draw(
    db: impl PgExecutor<'_>,
    raffle_id: Uuid,
    ordered: &[Vec<u8>],
    winners: usize,
) -> sqlx::Result<()> {
    let positions: Vec<i32> = (0..ordered.len() as i32).collect();
    let (undrawn_may_win, may_win) = EntryOutcome::sources(EntryOutcome::Won);
    let (undrawn_may_wait, may_wait) = EntryOutcome::sources(EntryOutcome::Alternate);
    sqlx::query(
        "UPDATE entries e SET position = u.position,
             outcome = CASE WHEN u.position < $3 THEN $5 ELSE $6 END
         FROM unnest($2::bytea[], $4::int[]) AS u(ticket, position)
         WHERE e.raffle_id = $1 AND e.ticket = u.ticket AND e.withdrawn_at IS NULL
           AND CASE WHEN u.position < $3
                    THEN (e.outcome IS NULL AND $7) OR e.outcome = ANY($8)
                    ELSE (e.outcome IS NULL AND $9) OR e.outcome = ANY($10) END",
    )
    .bind(raffle_id)
    .bind(ordered)
    .bind(winners as i32)
    .bind(positions)
    .bind(EntryOutcome::Won.as_str())
    .bind(EntryOutcome::Alternate.as_str())
    .bind(undrawn_may_win)
    .bind(may_win)
    .bind(undrawn_may_wait)
    .bind(may_wait)
    .execute(db)
    .await?;
    Ok(())
}

/// The tickets in draw order (after the draw).
pub async fn ordered_tickets(
    db: impl PgExecutor<'_>,
    raffle_id: Uuid,
) -> sqlx::Result<Vec<Vec<u8>>> {
    sqlx::query_scalar(
        "SELECT ticket FROM entries WHERE raffle_id = $1 AND position IS NOT NULL ORDER BY position",
    )
    .bind(raffle_id)
    .fetch_all(db)
    .await
}

/// Cancelled raffles whose commitment may still need cancelling on chain.
pub async fn cancelled_on_chain(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<RaffleRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RAFFLE_SELECT} WHERE r.stage = 'cancelled' AND r.cancel_tx IS NULL"
    )))
    .fetch_all(db)
    .await
}

/// A seller's raffles that have not been drawn or ended: scheduled, open, or closed with the draw
/// under way.
pub async fn unfinished_of_seller(db: impl PgExecutor<'_>, seller_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM raffles
         WHERE seller_id = $1 AND stage IN ('committing', 'committed', 'closing', 'closed')",
    )
    .bind(seller_id)
    .fetch_one(db)
    .await
}

/// Empty raffles whose seed is not published yet.
pub async fn empty_without_seed(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<RaffleRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RAFFLE_SELECT} WHERE r.stage = 'empty' AND r.seed IS NULL"
    )))
    .fetch_all(db)
    .await
}

/// Records the cancelling transaction (empty when there was nothing to cancel on chain).
pub async fn set_cancel_tx(db: impl PgExecutor<'_>, id: Uuid, tx: &[u8]) -> sqlx::Result<()> {
    sqlx::query("UPDATE raffles SET cancel_tx = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(tx)
        .execute(db)
        .await?;
    Ok(())
}

/// Marks the next alternate (lowest position) as a winner; returns (entry, person).
pub async fn promote_next_alternate(
    db: impl PgExecutor<'_>,
    raffle_id: Uuid,
) -> sqlx::Result<Option<(Uuid, Uuid)>> {
    let (undrawn_may_win, may_win) = EntryOutcome::sources(EntryOutcome::Won);
    sqlx::query_as(
        "UPDATE entries SET outcome = $2
         WHERE id = (SELECT id FROM entries WHERE raffle_id = $1 AND outcome = $3
                     ORDER BY position LIMIT 1 FOR UPDATE SKIP LOCKED)
           AND ((outcome IS NULL AND $4) OR outcome = ANY($5))
         RETURNING id, user_id",
    )
    .bind(raffle_id)
    .bind(EntryOutcome::Won.as_str())
    .bind(EntryOutcome::Alternate.as_str())
    .bind(undrawn_may_win)
    .bind(may_win)
    .fetch_optional(db)
    .await
}

/// A settled raffle whose alternate moved up waits for that order again.
pub async fn reopen_settled(db: impl PgExecutor<'_>, raffle_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE raffles SET stage = 'drawn', updated_at = now() WHERE id = $1 AND stage = 'settled'")
        .bind(raffle_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A product's raffles that can still be cancelled: their commitment is being sent or is on
/// chain and the closing has not been sent (the registry cancels only committed raffles).
pub async fn cancellable_of_product(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM raffles WHERE product_id = $1 AND stage IN ('committing', 'committed')
         ORDER BY id FOR UPDATE",
    )
    .bind(product_id)
    .fetch_all(db)
    .await
}

pub async fn mark_settled(db: impl PgExecutor<'_>, raffle_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE raffles SET stage = 'settled', updated_at = now() WHERE id = $1 AND stage = 'drawn'")
        .bind(raffle_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Winners (entry, person) and everyone else (person, outcome) of a drawn raffle.
pub async fn outcomes(
    db: impl PgExecutor<'_>,
    raffle_id: Uuid,
) -> sqlx::Result<Vec<(Uuid, Uuid, EntryOutcome)>> {
    sqlx::query_as(
        "SELECT id, user_id, outcome FROM entries WHERE raffle_id = $1 AND withdrawn_at IS NULL AND outcome IS NOT NULL",
    )
    .bind(raffle_id)
    .fetch_all(db)
    .await
}

/// The people with a live entry in a raffle.
pub async fn live_entrants(db: impl PgExecutor<'_>, raffle_id: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar("SELECT user_id FROM entries WHERE raffle_id = $1 AND withdrawn_at IS NULL")
        .bind(raffle_id)
        .fetch_all(db)
        .await
}

/// A live (not withdrawn) entry and the product its raffle is for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductEntry {
    pub user_id: Uuid,
    pub raffle_id: Uuid,
    pub product_id: Uuid,
}

/// Every live entry, or one person's (recommendations read raffle entries from here).
pub async fn product_entries(
    db: impl PgExecutor<'_>,
    user: Option<Uuid>,
) -> sqlx::Result<Vec<ProductEntry>> {
    // Two statements, not `$1 IS NULL OR …`: a cached generic plan could not use the index.
    const SELECT: &str = "SELECT e.user_id, e.raffle_id, r.product_id FROM entries e
         JOIN raffles r ON r.id = e.raffle_id WHERE e.withdrawn_at IS NULL";
    match user {
        Some(user) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} AND e.user_id = $1")))
                .bind(user)
                .fetch_all(db)
                .await
        }
        None => sqlx::query_as(SELECT).fetch_all(db).await,
    }
}

/// A raffle a buyer can still act on: open, or scheduled to open.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Upcoming {
    pub raffle_id: Uuid,
    pub product_id: Uuid,
    pub seller_id: Uuid,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

/// Every raffle that is open or scheduled (committing or committed, not yet closed), the newest
/// per product.
pub async fn upcoming(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Upcoming>> {
    sqlx::query_as(
        "SELECT DISTINCT ON (product_id) id AS raffle_id, product_id, seller_id, opens_at, closes_at
         FROM raffles WHERE stage IN ('committing', 'committed') AND closes_at > now()
         ORDER BY product_id, id DESC",
    )
    .fetch_all(db)
    .await
}

/// Raffles taking entries now (committed on chain, opened, not closed), closing soonest first.
pub async fn open_closing_soonest(
    db: impl PgExecutor<'_>,
    limit: i64,
) -> sqlx::Result<Vec<RaffleRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RAFFLE_SELECT}
         WHERE r.stage = 'committed' AND r.opens_at <= now() AND r.closes_at > now()
         ORDER BY r.closes_at, r.id LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(db)
    .await
}
