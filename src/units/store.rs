//! The units' SQL.

use sqlx::{PgExecutor, QueryBuilder};
use uuid::Uuid;

pub struct NewUnitSet<'a> {
    pub product_id: Uuid,
    pub content_hash: &'a [u8],
    pub canonical: &'a [u8],
    pub product_content_hash: &'a [u8],
    pub units_root: &'a [u8],
    pub edition_size: u32,
    pub gtin: Option<&'a str>,
    pub signature: &'a [u8],
}

/// Inserts an edition's unit set; `false` when the product has one already.
pub async fn insert_set(db: impl PgExecutor<'_>, set: NewUnitSet<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO unit_sets (product_id, content_hash, canonical, product_content_hash,
                                units_root, edition_size, gtin, signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (product_id) DO NOTHING",
    )
    .bind(set.product_id)
    .bind(set.content_hash)
    .bind(set.canonical)
    .bind(set.product_content_hash)
    .bind(set.units_root)
    .bind(set.edition_size as i32)
    .bind(set.gtin)
    .bind(set.signature)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct NewUnit {
    pub code: String,
    pub serial: u32,
    pub content_hash: Vec<u8>,
    pub proof: Vec<u8>,
}

/// Inserts units of one product, in statements of at most 5,000 rows.
pub async fn insert_units(
    conn: &mut sqlx::PgConnection,
    product_id: Uuid,
    units: &[NewUnit],
) -> sqlx::Result<()> {
    for chunk in units.chunks(5_000) {
        let mut q =
            QueryBuilder::new("INSERT INTO units (code, product_id, serial, content_hash, proof) ");
        q.push_values(chunk, |mut row, u| {
            row.push_bind(&u.code)
                .push_bind(product_id)
                .push_bind(u.serial as i32)
                .push_bind(&u.content_hash)
                .push_bind(&u.proof);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct SetRow {
    pub product_id: Uuid,
    pub content_hash: Vec<u8>,
    pub canonical: Vec<u8>,
    pub signature: Vec<u8>,
    pub gtin: Option<String>,
    pub edition_size: i32,
}

pub async fn find_set(db: impl PgExecutor<'_>, product_id: Uuid) -> sqlx::Result<Option<SetRow>> {
    sqlx::query_as(
        "SELECT product_id, content_hash, canonical, signature, gtin, edition_size
         FROM unit_sets WHERE product_id = $1",
    )
    .bind(product_id)
    .fetch_optional(db)
    .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct UnitRow {
    pub code: String,
    pub product_id: Uuid,
    pub serial: i32,
    pub proof: Vec<u8>,
}

pub async fn find_unit(db: impl PgExecutor<'_>, code: &str) -> sqlx::Result<Option<UnitRow>> {
    sqlx::query_as("SELECT code, product_id, serial, proof FROM units WHERE code = $1")
        .bind(code)
        .fetch_optional(db)
        .await
}

/// The codes of a product's units with serials in `from..=to`, by serial.
pub async fn codes(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    from: u32,
    to: u32,
) -> sqlx::Result<Vec<(i32, String)>> {
    sqlx::query_as(
        "SELECT serial, code FROM units WHERE product_id = $1 AND serial BETWEEN $2 AND $3
         ORDER BY serial",
    )
    .bind(product_id)
    .bind(from as i32)
    .bind(to as i32)
    .fetch_all(db)
    .await
}

/// Counts a scan of `code` from `prefix`; returns how many prefixes scanned it within `window`.
pub async fn record_scan(
    db: impl PgExecutor<'_>,
    code: &str,
    prefix: &str,
    window: std::time::Duration,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "WITH hit AS (
            INSERT INTO unit_scans (code, address_prefix) VALUES ($1, $2)
            ON CONFLICT (code, address_prefix)
            DO UPDATE SET last_seen = now(), scans = unit_scans.scans + 1
            RETURNING address_prefix
         )
         SELECT count(*) + 1 FROM unit_scans
         WHERE code = $1 AND address_prefix <> $2 AND last_seen > now() - make_interval(secs => $3)",
    )
    .bind(code)
    .bind(prefix)
    .bind(window.as_secs_f64())
    .fetch_one(db)
    .await
}

/// How many prefixes scanned `code` within `window`.
pub async fn places(
    db: impl PgExecutor<'_>,
    code: &str,
    window: std::time::Duration,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM unit_scans WHERE code = $1 AND last_seen > now() - make_interval(secs => $2)",
    )
    .bind(code)
    .bind(window.as_secs_f64())
    .fetch_one(db)
    .await
}

/// Flags `code` as scanned from too many places, unless it was flagged within `window`;
/// `Some(seller)` when this call flagged it (so the seller is told once a window).
pub async fn flag_clone(
    db: impl PgExecutor<'_>,
    code: &str,
    window: std::time::Duration,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "UPDATE units u SET clone_flagged_at = now()
         FROM products p
         WHERE u.code = $1 AND p.id = u.product_id
           AND (u.clone_flagged_at IS NULL OR u.clone_flagged_at < now() - make_interval(secs => $2))
         RETURNING p.seller_id",
    )
    .bind(code)
    .bind(window.as_secs_f64())
    .fetch_optional(db)
    .await
}

/// When `code` was last flagged as scanned from too many places.
pub async fn clone_flagged_at(
    db: impl PgExecutor<'_>,
    code: &str,
) -> sqlx::Result<Option<chrono::DateTime<chrono::Utc>>> {
    sqlx::query_scalar("SELECT clone_flagged_at FROM units WHERE code = $1")
        .bind(code)
        .fetch_one(db)
        .await
}

// ---- Owners, transfers, offers and reports ----

#[derive(Debug, sqlx::FromRow)]
pub struct OwnedRow {
    pub code: String,
    pub product_id: Uuid,
    pub serial: i32,
    pub content_hash: Vec<u8>,
    pub owner_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub report_kind: Option<String>,
    pub reported_at: Option<chrono::DateTime<chrono::Utc>>,
}

const OWNED: &str =
    "SELECT code, product_id, serial, content_hash, owner_id, order_id, report_kind, reported_at
     FROM units";

/// A unit by code, locked for a change of hands.
pub async fn lock_unit(db: impl PgExecutor<'_>, code: &str) -> sqlx::Result<Option<OwnedRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OWNED} WHERE code = $1 FOR UPDATE"
    )))
    .bind(code)
    .fetch_optional(db)
    .await
}

/// A unit by product and serial, locked for its first owner.
pub async fn lock_serial(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    serial: u32,
) -> sqlx::Result<Option<OwnedRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OWNED} WHERE product_id = $1 AND serial = $2 FOR UPDATE"
    )))
    .bind(product_id)
    .bind(serial as i32)
    .fetch_optional(db)
    .await
}

pub async fn owned(db: impl PgExecutor<'_>, code: &str) -> sqlx::Result<Option<OwnedRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{OWNED} WHERE code = $1")))
        .bind(code)
        .fetch_optional(db)
        .await
}

/// The unit shipped for an order, if the seller has said which.
pub async fn unit_of_order(
    db: impl PgExecutor<'_>,
    order_id: Uuid,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT code FROM units WHERE order_id = $1")
        .bind(order_id)
        .fetch_optional(db)
        .await
}

/// The units `owner` holds, newest first.
pub async fn of_owner(db: impl PgExecutor<'_>, owner: Uuid) -> sqlx::Result<Vec<OwnedRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OWNED} WHERE owner_id = $1 ORDER BY product_id, serial"
    )))
    .bind(owner)
    .fetch_all(db)
    .await
}

pub struct NewTransfer<'a> {
    pub code: &'a str,
    pub sequence: u32,
    pub transfer_hash: &'a [u8],
    pub canonical: &'a [u8],
    pub signer: &'a [u8],
    pub signature: &'a [u8],
    pub from_user: Option<Uuid>,
    pub to_user: Uuid,
    pub order_id: Option<Uuid>,
}

/// Records a change of hands and moves the unit to its new owner (and, for the first owner,
/// ties it to the order it was shipped for).
pub async fn insert_transfer(
    conn: &mut sqlx::PgConnection,
    t: NewTransfer<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO unit_transfers (code, sequence, transfer_hash, canonical, signer, signature,
                                     from_user, to_user)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(t.code)
    .bind(t.sequence as i32)
    .bind(t.transfer_hash)
    .bind(t.canonical)
    .bind(t.signer)
    .bind(t.signature)
    .bind(t.from_user)
    .bind(t.to_user)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE units SET owner_id = $2, order_id = COALESCE($3, order_id) WHERE code = $1",
    )
    .bind(t.code)
    .bind(t.to_user)
    .bind(t.order_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct TransferRow {
    pub sequence: i32,
    pub transfer_hash: Vec<u8>,
    pub canonical: Vec<u8>,
    pub signer: Vec<u8>,
    pub signature: Vec<u8>,
}

/// A unit's records, first first.
pub async fn transfers(db: impl PgExecutor<'_>, code: &str) -> sqlx::Result<Vec<TransferRow>> {
    sqlx::query_as(
        "SELECT sequence, transfer_hash, canonical, signer, signature FROM unit_transfers
         WHERE code = $1 ORDER BY sequence",
    )
    .bind(code)
    .fetch_all(db)
    .await
}

/// The last record of a unit's history.
pub async fn last_transfer(
    db: impl PgExecutor<'_>,
    code: &str,
) -> sqlx::Result<Option<TransferRow>> {
    sqlx::query_as(
        "SELECT sequence, transfer_hash, canonical, signer, signature FROM unit_transfers
         WHERE code = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(code)
    .fetch_optional(db)
    .await
}

/// An active account by its (normalised) email: its id and whether its identity is verified.
pub async fn account_by_email(
    db: impl PgExecutor<'_>,
    email: &str,
) -> sqlx::Result<Option<(Uuid, bool)>> {
    sqlx::query_as(
        "SELECT id, person_key_hash IS NOT NULL FROM users WHERE email = $1 AND status = 'active'",
    )
    .bind(email)
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferRow {
    pub id: Uuid,
    pub code: String,
    pub from_user: Uuid,
    pub to_user: Uuid,
    pub status: super::OfferStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

const OFFER: &str =
    "SELECT id, code, from_user, to_user, status, created_at, decided_at FROM unit_offers";

/// Opens an offer; `false` when the unit has an open one already.
pub async fn insert_offer(
    db: impl PgExecutor<'_>,
    id: Uuid,
    code: &str,
    from_user: Uuid,
    to_user: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO unit_offers (id, code, from_user, to_user) VALUES ($1, $2, $3, $4)
         ON CONFLICT (code) WHERE status = 'pending' DO NOTHING",
    )
    .bind(id)
    .bind(code)
    .bind(from_user)
    .bind(to_user)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn lock_offer(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<OfferRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OFFER} WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn find_offer(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<OfferRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{OFFER} WHERE id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Ends an open offer; `false` when it was not open.
pub async fn decide_offer(
    db: impl PgExecutor<'_>,
    id: Uuid,
    next: super::OfferStatus,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE unit_offers SET status = $2, decided_at = now()
         WHERE id = $1 AND status = ANY($3)",
    )
    .bind(id)
    .bind(next)
    .bind(super::OfferStatus::sources(next))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Offers made by or to `user`, newest first (at most 100).
pub async fn offers_of(db: impl PgExecutor<'_>, user: Uuid) -> sqlx::Result<Vec<OfferRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OFFER} WHERE from_user = $1 OR to_user = $1 ORDER BY created_at DESC LIMIT 100"
    )))
    .bind(user)
    .fetch_all(db)
    .await
}

/// The open offer of a unit, if any.
pub async fn pending_offer(db: impl PgExecutor<'_>, code: &str) -> sqlx::Result<Option<OfferRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OFFER} WHERE code = $1 AND status = 'pending'"
    )))
    .bind(code)
    .fetch_optional(db)
    .await
}

/// Cancels the open offers made by or to an account being erased.
pub async fn cancel_offers_of(db: impl PgExecutor<'_>, user: Uuid) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE unit_offers SET status = 'cancelled', decided_at = now()
         WHERE status = 'pending' AND (from_user = $1 OR to_user = $1)",
    )
    .bind(user)
    .execute(db)
    .await?
    .rows_affected())
}

/// Opens (`Some(kind)`) or closes (`None`) the owner's lost-or-stolen report of a unit.
pub async fn set_report(
    db: impl PgExecutor<'_>,
    code: &str,
    kind: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE units SET report_kind = $2, reported_at = CASE WHEN $2 IS NULL THEN NULL ELSE now() END
         WHERE code = $1",
    )
    .bind(code)
    .bind(kind)
    .execute(db)
    .await?;
    Ok(())
}

/// The owner of a unit, for telling them of a clone flag.
pub async fn owner_of(db: impl PgExecutor<'_>, code: &str) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT owner_id FROM units WHERE code = $1")
        .bind(code)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

/// How many records a unit's history has.
pub async fn transfers_count(db: impl PgExecutor<'_>, code: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM unit_transfers WHERE code = $1")
        .bind(code)
        .fetch_one(db)
        .await
}

/// Deletes scans last seen more than `window` ago.
pub async fn purge_scans(
    db: impl PgExecutor<'_>,
    window: std::time::Duration,
) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM unit_scans WHERE last_seen < now() - make_interval(secs => $1)")
            .bind(window.as_secs_f64())
            .execute(db)
            .await?
            .rows_affected(),
    )
}
