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
