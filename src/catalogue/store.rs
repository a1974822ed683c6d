//! The catalogue's SQL: sellers' signing keys, products and their record versions.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Debug, sqlx::FromRow)]
pub struct SellerKey {
    pub signing_mode: String,
    pub address: String,
    pub encrypted_key: Option<Vec<u8>>,
}

pub async fn seller_key(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<Option<SellerKey>> {
    sqlx::query_as("SELECT signing_mode, address, encrypted_key FROM sellers WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await
}

/// Stores a seller's key unless one exists (two first products at once keep the first key).
pub async fn insert_seller_key(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    mode: &str,
    address: &str,
    encrypted_key: Option<&[u8]>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sellers (user_id, signing_mode, address, encrypted_key) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(mode)
    .bind(address)
    .bind(encrypted_key)
    .execute(db)
    .await?;
    Ok(())
}

/// Switches a seller to signing with their own wallet (the custodial key, if any, is kept so
/// that switching back keeps the same address).
pub async fn set_signing(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    mode: &str,
    address: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sellers (user_id, signing_mode, address) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET signing_mode = $2, address = $3, updated_at = now()",
    )
    .bind(user_id)
    .bind(mode)
    .bind(address)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    pub id: Uuid,
    pub seller_id: Uuid,
    pub current_version: i32,
    pub listed: bool,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The current record.
    pub content_hash: Vec<u8>,
    pub canonical: Vec<u8>,
    pub signature: Option<Vec<u8>>,
    pub tags: Vec<String>,
}

const PRODUCT_SELECT: &str = "SELECT p.id, p.seller_id, p.current_version, p.listed, p.revoked_at, p.revoke_reason,
        p.tags, p.created_at, p.updated_at, r.content_hash, r.canonical, r.signature
    FROM products p JOIN product_records r ON r.product_id = p.id AND r.version = p.current_version";

#[derive(Clone, Copy)]
pub struct NewProduct<'a> {
    pub id: Uuid,
    pub seller_id: Uuid,
    pub name: &'a str,
    pub brand: &'a str,
    pub category: &'a str,
    pub edition_size: u32,
    pub retail_price_krw: u64,
    pub tags: &'a [String],
}

pub async fn insert_product(db: impl PgExecutor<'_>, p: NewProduct<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO products (id, seller_id, current_version, name, brand, category, edition_size, retail_price_krw, tags)
         VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8)",
    )
    .bind(p.id)
    .bind(p.seller_id)
    .bind(p.name)
    .bind(p.brand)
    .bind(p.category)
    .bind(p.edition_size as i32)
    .bind(p.retail_price_krw as i64)
    .bind(p.tags)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_tags(db: impl PgExecutor<'_>, id: Uuid, tags: &[String]) -> sqlx::Result<()> {
    sqlx::query("UPDATE products SET tags = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(tags)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn set_current_version(
    db: impl PgExecutor<'_>,
    p: NewProduct<'_>,
    version: u32,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE products SET current_version = $2, name = $3, brand = $4, category = $5, edition_size = $6,
             retail_price_krw = $7, tags = $8, updated_at = now()
         WHERE id = $1",
    )
    .bind(p.id)
    .bind(version as i32)
    .bind(p.name)
    .bind(p.brand)
    .bind(p.category)
    .bind(p.edition_size as i32)
    .bind(p.retail_price_krw as i64)
    .bind(p.tags)
    .execute(db)
    .await?;
    Ok(())
}

pub struct NewRecord<'a> {
    pub product_id: Uuid,
    pub version: u32,
    pub content_hash: &'a [u8],
    pub canonical: &'a [u8],
    pub seller_address: &'a str,
    pub signature: Option<&'a [u8]>,
}

pub async fn insert_record(db: impl PgExecutor<'_>, r: NewRecord<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO product_records (product_id, version, content_hash, canonical, seller_address, signature)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(r.product_id)
    .bind(r.version as i32)
    .bind(r.content_hash)
    .bind(r.canonical)
    .bind(r.seller_address)
    .bind(r.signature)
    .execute(db)
    .await?;
    Ok(())
}

/// Sets a wallet signature on a record that has none yet; false if it already had one.
pub async fn set_signature(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    version: u32,
    signature: &[u8],
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE product_records SET signature = $3 WHERE product_id = $1 AND version = $2 AND signature IS NULL",
    )
    .bind(product_id)
    .bind(version as i32)
    .bind(signature)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find_product(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<ProductRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PRODUCT_SELECT} WHERE p.id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// These products (listed or not), in no particular order; unknown ids are left out.
pub async fn find_products(db: impl PgExecutor<'_>, ids: &[Uuid]) -> sqlx::Result<Vec<ProductRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PRODUCT_SELECT} WHERE p.id = ANY($1)"
    )))
    .bind(ids)
    .fetch_all(db)
    .await
}

/// A seller's first listed products, oldest first.
pub async fn oldest_listed_ids(
    db: impl PgExecutor<'_>,
    seller: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM products WHERE seller_id = $1 AND listed ORDER BY id LIMIT $2",
    )
    .bind(seller)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Every listed product's id, for a full reindex.
pub async fn listed_ids(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar("SELECT id FROM products WHERE listed ORDER BY id")
        .fetch_all(db)
        .await
}

pub async fn lock_product(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<ProductRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PRODUCT_SELECT} WHERE p.id = $1 FOR UPDATE OF p"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

#[derive(Debug, Default)]
pub struct ListFilter<'a> {
    pub brand: Option<&'a str>,
    pub category: Option<&'a str>,
    pub seller_id: Option<Uuid>,
    /// Include delisted products (a seller's own list).
    pub include_delisted: bool,
    pub cursor: Option<Uuid>,
    pub limit: i64,
}

/// Newest first (ids are UUIDv7), after the cursor.
pub async fn list_products(
    db: impl PgExecutor<'_>,
    f: ListFilter<'_>,
) -> sqlx::Result<Vec<ProductRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PRODUCT_SELECT}
         WHERE ($1 OR p.listed)
           AND ($2::text IS NULL OR p.brand = $2)
           AND ($3::text IS NULL OR p.category = $3)
           AND ($4::uuid IS NULL OR p.seller_id = $4)
           AND ($5::uuid IS NULL OR p.id < $5)
         ORDER BY p.id DESC LIMIT $6"
    )))
    .bind(f.include_delisted)
    .bind(f.brand)
    .bind(f.category)
    .bind(f.seller_id)
    .bind(f.cursor)
    .bind(f.limit)
    .fetch_all(db)
    .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct RecordRow {
    pub version: i32,
    pub content_hash: Vec<u8>,
    pub canonical: Vec<u8>,
    pub seller_address: String,
    pub signature: Option<Vec<u8>>,
}

pub async fn record(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    version: u32,
) -> sqlx::Result<Option<RecordRow>> {
    sqlx::query_as(
        "SELECT version, content_hash, canonical, seller_address, signature FROM product_records
         WHERE product_id = $1 AND version = $2",
    )
    .bind(product_id)
    .bind(version as i32)
    .fetch_optional(db)
    .await
}

pub async fn signed_hashes(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
) -> sqlx::Result<Vec<Vec<u8>>> {
    sqlx::query_scalar(
        "SELECT content_hash FROM product_records WHERE product_id = $1 AND signature IS NOT NULL ORDER BY version",
    )
    .bind(product_id)
    .fetch_all(db)
    .await
}

pub async fn delist(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE products SET listed = false, delisted_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Delists every listed product of a seller (their account is being deleted); how many.
pub async fn delist_all_of_seller(db: impl PgExecutor<'_>, seller: Uuid) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE products SET listed = false, delisted_at = now(), updated_at = now()
         WHERE seller_id = $1 AND listed",
    )
    .bind(seller)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

pub async fn mark_revoked(db: impl PgExecutor<'_>, id: Uuid, reason: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE products SET revoked_at = now(), revoke_reason = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(reason)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn count_for_seller(db: impl PgExecutor<'_>, seller: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM products WHERE seller_id = $1")
        .bind(seller)
        .fetch_one(db)
        .await
}

/// What recommendations know of a product: who sells it and its brand, category and price.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductFacts {
    pub id: Uuid,
    pub seller_id: Uuid,
    pub name: String,
    pub brand: String,
    pub category: String,
    pub retail_price_krw: i64,
}

/// Every product's facts (listed or not: past purchases still say what a buyer likes), or
/// these products'.
pub async fn facts(
    db: impl PgExecutor<'_>,
    ids: Option<&[Uuid]>,
) -> sqlx::Result<Vec<ProductFacts>> {
    // Two statements, not `$1 IS NULL OR …`: a cached generic plan could not use the index.
    const SELECT: &str =
        "SELECT id, seller_id, name, brand, category, retail_price_krw FROM products";
    match ids {
        Some(ids) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE id = ANY($1) ORDER BY id"
            )))
            .bind(ids)
            .fetch_all(db)
            .await
        }
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} ORDER BY id")))
                .fetch_all(db)
                .await
        }
    }
}

// Product views: the product pages a signed-in buyer opened, a row per day. The catalogue
// records them; the recommender reads them (and purges what it no longer reads).

/// Records that `user` opened `product`'s page on `day` (once per day), unless it is their own.
pub async fn record_view(
    db: impl PgExecutor<'_>,
    user: Uuid,
    product: Uuid,
    day: NaiveDate,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO product_views (user_id, product_id, viewed_on)
         SELECT $1, p.id, $3 FROM products p WHERE p.id = $2 AND p.seller_id <> $1
         ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(product)
    .bind(day)
    .execute(db)
    .await?;
    Ok(())
}

/// (user, product) of every view since `since`, or one user's, once per pair.
pub async fn views(
    db: impl PgExecutor<'_>,
    user: Option<Uuid>,
    since: NaiveDate,
) -> sqlx::Result<Vec<(Uuid, Uuid)>> {
    // Two statements, not `$1 IS NULL OR …`: a cached generic plan could not use the index.
    match user {
        Some(user) => {
            sqlx::query_as(
                "SELECT DISTINCT user_id, product_id FROM product_views
                 WHERE user_id = $1 AND viewed_on >= $2",
            )
            .bind(user)
            .bind(since)
            .fetch_all(db)
            .await
        }
        None => {
            sqlx::query_as(
                "SELECT DISTINCT user_id, product_id FROM product_views WHERE viewed_on >= $1",
            )
            .bind(since)
            .fetch_all(db)
            .await
        }
    }
}

/// Deletes views older than `before`.
pub async fn purge_views(db: impl PgExecutor<'_>, before: NaiveDate) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM product_views WHERE viewed_on < $1")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// Deletes every view of a user (their account is being deleted).
pub async fn forget_views(db: impl PgExecutor<'_>, user: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM product_views WHERE user_id = $1")
        .bind(user)
        .execute(db)
        .await?;
    Ok(())
}
