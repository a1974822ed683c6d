//! The orders domain's SQL.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

use super::{OrderStatus, RefundKind, RefundStatus};
use crate::accounts::DeliveryAddress;
use crate::raffles::store::RaffleRow;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: Uuid,
    pub raffle_id: Uuid,
    pub entry_id: Uuid,
    pub buyer_id: Uuid,
    pub seller_id: Uuid,
    pub product_id: Uuid,
    pub amount_krw: i64,
    pub status: OrderStatus,
    pub pay_by: DateTime<Utc>,
    pub payment_provider: Option<String>,
    pub payment_key: Option<String>,
    pub delivery_address: Option<Json<DeliveryAddress>>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub paying_key: Option<String>,
    pub paying_until: Option<DateTime<Utc>>,
    pub refunded_amount_krw: i64,
    pub attention: Option<String>,
    /// Past its deadline with no confirm in flight (the expiry pass has not run yet).
    pub overdue: bool,
    /// The database's clock when the row was read: the deadline rule's `now`.
    pub now: DateTime<Utc>,
}

impl OrderRow {
    pub fn deadline(&self) -> super::deadline::Deadline<'_> {
        super::deadline::Deadline {
            status: self.status,
            pay_by: self.pay_by,
            paying_key: self.paying_key.as_deref(),
            paying_until: self.paying_until,
        }
    }
}

const SELECT: &str =
    "SELECT o.id, o.raffle_id, o.entry_id, o.buyer_id, o.seller_id, o.product_id, o.amount_krw,
        o.status, o.pay_by, o.payment_provider, o.payment_key, o.delivery_address, o.carrier,
        o.tracking_number, o.created_at, o.paid_at, o.shipped_at, o.received_at, o.closed_at,
        o.paying_key, o.paying_until, o.refunded_amount_krw, o.attention,
        (o.status = 'awaiting_payment' AND o.pay_by <= now()
            AND (o.paying_until IS NULL OR o.paying_until <= now())) AS overdue,
        now() AS now
    FROM orders o";

/// What an order copies from its raffle.
#[derive(Debug, Clone, Copy)]
pub struct OrderTerms {
    pub raffle_id: Uuid,
    pub seller_id: Uuid,
    pub product_id: Uuid,
    pub amount_krw: i64,
    pub payment_window_secs: i32,
}

impl OrderTerms {
    /// The terms of a raffle's orders: its price, payment window, seller and product.
    pub fn of(raffle: &RaffleRow) -> OrderTerms {
        OrderTerms {
            raffle_id: raffle.id,
            seller_id: raffle.seller_id,
            product_id: raffle.product_id,
            amount_krw: raffle.price_krw,
            payment_window_secs: raffle.payment_window_secs,
        }
    }
}

/// An order per winning entry (none twice for one entry).
pub async fn create(
    db: impl PgExecutor<'_>,
    terms: OrderTerms,
    winners: &[(Uuid, Uuid)],
) -> sqlx::Result<Vec<(Uuid, Uuid)>> {
    let ids: Vec<Uuid> = winners.iter().map(|_| Uuid::now_v7()).collect();
    let entries: Vec<Uuid> = winners.iter().map(|(e, _)| *e).collect();
    let buyers: Vec<Uuid> = winners.iter().map(|(_, b)| *b).collect();
    sqlx::query_as(
        "INSERT INTO orders (id, raffle_id, entry_id, buyer_id, seller_id, product_id, amount_krw, status, pay_by)
         SELECT u.id, $4, u.entry, u.buyer, $5, $6, $7, 'awaiting_payment', now() + make_interval(secs => $8)
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS u(id, entry, buyer)
         ON CONFLICT (entry_id) DO NOTHING
         RETURNING id, buyer_id",
    )
    .bind(ids)
    .bind(entries)
    .bind(buyers)
    .bind(terms.raffle_id)
    .bind(terms.seller_id)
    .bind(terms.product_id)
    .bind(terms.amount_krw)
    .bind(f64::from(terms.payment_window_secs))
    .fetch_all(db)
    .await
}

pub async fn awaiting_in_raffle(db: impl PgExecutor<'_>, raffle_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM orders WHERE raffle_id = $1 AND status = 'awaiting_payment'",
    )
    .bind(raffle_id)
    .fetch_one(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE o.id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn lock(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE o.id = $1 FOR UPDATE OF o"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn by_payment_key(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE o.payment_key = $1"
    )))
    .bind(key)
    .fetch_optional(db)
    .await
}

pub async fn of_buyer(
    db: impl PgExecutor<'_>,
    buyer: Uuid,
    cursor: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE o.buyer_id = $1 AND ($2::uuid IS NULL OR o.id < $2) ORDER BY o.id DESC LIMIT $3"
    )))
    .bind(buyer)
    .bind(cursor)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn mark_paid(
    db: impl PgExecutor<'_>,
    id: Uuid,
    provider: &str,
    payment_key: &str,
    address: Option<&DeliveryAddress>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE orders SET status = 'paid', payment_provider = $2, payment_key = $3, delivery_address = $4,
             paid_at = now(), updated_at = now(), paying_key = NULL, paying_until = NULL,
             attention = CASE WHEN $4 IS NULL THEN 'paid_without_address' ELSE attention END,
             attention_at = CASE WHEN $4 IS NULL THEN now() ELSE attention_at END
         WHERE id = $1",
    )
    .bind(id)
    .bind(provider)
    .bind(payment_key)
    .bind(address.map(Json))
    .execute(db)
    .await?;
    Ok(())
}

/// Moves the order from `from` to `to` (the caller checked `from.may_become(to)`); false when the
/// order was not in `from`.
pub async fn set_status(
    db: impl PgExecutor<'_>,
    id: Uuid,
    from: OrderStatus,
    to: OrderStatus,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET status = $2, updated_at = now(),
             received_at = CASE WHEN $2 = 'received' THEN now() ELSE received_at END,
             closed_at = CASE WHEN $2 IN ('expired', 'refunded', 'cancelled') THEN now() ELSE closed_at END,
             paying_key = CASE WHEN $2 = 'awaiting_payment' THEN paying_key END,
             paying_until = CASE WHEN $2 = 'awaiting_payment' THEN paying_until END
         WHERE id = $1 AND status = $3",
    )
    .bind(id)
    .bind(to)
    .bind(from)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn mark_shipped(
    db: impl PgExecutor<'_>,
    id: Uuid,
    carrier: &str,
    tracking: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE orders SET status = 'shipped', carrier = $2, tracking_number = $3, shipped_at = now(), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(carrier)
    .bind(tracking)
    .execute(db)
    .await?;
    Ok(())
}

/// Unpaid orders past their deadline with no confirm in flight, locked, for the expiry pass.
pub async fn overdue(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE o.status = 'awaiting_payment' AND o.pay_by <= now()
           AND (o.paying_until IS NULL OR o.paying_until <= now())
         FOR UPDATE OF o SKIP LOCKED"
    )))
    .fetch_all(db)
    .await
}

/// Unpaid orders due within `within`, not yet reminded.
pub async fn due_soon(db: impl PgExecutor<'_>, within_secs: f64) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE o.status = 'awaiting_payment' AND NOT o.due_notified
           AND o.pay_by > now() AND o.pay_by <= now() + make_interval(secs => $1)"
    )))
    .bind(within_secs)
    .fetch_all(db)
    .await
}

pub async fn set_due_notified(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE orders SET due_notified = true WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn unpaid_in_raffle(
    db: impl PgExecutor<'_>,
    raffle_id: Uuid,
) -> sqlx::Result<Vec<(Uuid, Uuid, i64)>> {
    sqlx::query_as(
        "SELECT id, buyer_id, amount_krw FROM orders WHERE raffle_id = $1 AND status = 'awaiting_payment' ORDER BY id",
    )
    .bind(raffle_id)
    .fetch_all(db)
    .await
}

/// A buyer's hold on a product: an order they must pay for, or paid and kept. Refunded,
/// expired and cancelled orders hold nothing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Holding {
    pub buyer_id: Uuid,
    pub product_id: Uuid,
    /// Paid (and maybe shipped or received), not just won.
    pub paid: bool,
}

/// Every buyer's holdings, or one buyer's (recommendations read purchases from here).
pub async fn holdings(db: impl PgExecutor<'_>, buyer: Option<Uuid>) -> sqlx::Result<Vec<Holding>> {
    // Two statements, not `$1 IS NULL OR …`: a cached generic plan could not use the index.
    const SELECT: &str =
        "SELECT buyer_id, product_id, status <> 'awaiting_payment' AS paid FROM orders
         WHERE status IN ('awaiting_payment', 'paid', 'shipped', 'received')";
    match buyer {
        Some(buyer) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} AND buyer_id = $1")))
                .bind(buyer)
                .fetch_all(db)
                .await
        }
        None => sqlx::query_as(SELECT).fetch_all(db).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Account deletion: what a seller still owes buyers (`accounts::delete_account` refuses while any).

/// A seller's orders under way: (awaiting payment, overdue ones included since expiring one hands
/// the piece to the next alternate; paid and not shipped).
pub async fn open_sales(db: impl PgExecutor<'_>, seller_id: Uuid) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'awaiting_payment'),
                count(*) FILTER (WHERE status = 'paid')
         FROM orders WHERE seller_id = $1 AND status IN ('awaiting_payment', 'paid')",
    )
    .bind(seller_id)
    .fetch_one(db)
    .await
}

// ---------------------------------------------------------------------------------------------
// Confirms in flight (see `deadline`).

/// Claims the order for a confirm with `payment_key` until now + `hold_secs`.
pub async fn claim(
    db: impl PgExecutor<'_>,
    id: Uuid,
    payment_key: &str,
    hold_secs: f64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE orders SET paying_key = $2, paying_until = now() + make_interval(secs => $3), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(payment_key)
    .bind(hold_secs)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives a claim up (the confirm failed), if it is still this key's.
pub async fn release_claim(
    db: impl PgExecutor<'_>,
    id: Uuid,
    payment_key: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE orders SET paying_key = NULL, paying_until = NULL WHERE id = $1 AND paying_key = $2",
    )
    .bind(id)
    .bind(payment_key)
    .execute(db)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// What an admin must look at, and what the provider gave back.

pub async fn set_attention(db: impl PgExecutor<'_>, id: Uuid, reason: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE orders SET attention = $2, attention_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_refunded_amount(
    db: impl PgExecutor<'_>,
    id: Uuid,
    amount: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE orders SET refunded_amount_krw = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(amount)
        .execute(db)
        .await?;
    Ok(())
}

/// Orders an admin must look at, most recent first.
pub async fn needing_attention(
    db: impl PgExecutor<'_>,
    cursor: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE o.attention IS NOT NULL AND ($1::uuid IS NULL OR o.id < $1) ORDER BY o.id DESC LIMIT $2"
    )))
    .bind(cursor)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// A seller's sales with one of `statuses`, newest first.
pub async fn of_seller(
    db: impl PgExecutor<'_>,
    seller: Uuid,
    statuses: &[OrderStatus],
    cursor: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE o.seller_id = $1 AND o.status = ANY($2) AND ($3::uuid IS NULL OR o.id < $3)
         ORDER BY o.id DESC LIMIT $4"
    )))
    .bind(seller)
    .bind(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>())
    .bind(cursor)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// A product's orders still standing (awaiting payment, paid, refunding, shipped, received),
/// locked: what a revocation must end.
pub async fn standing_of_product(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE o.product_id = $1
           AND o.status IN ('awaiting_payment', 'paid', 'shipped', 'received')
         ORDER BY o.id FOR UPDATE OF o"
    )))
    .bind(product_id)
    .fetch_all(db)
    .await
}

// ---------------------------------------------------------------------------------------------
// Refunds asked of the provider (`refunds`).

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub payment_key: String,
    pub amount_krw: i64,
    pub reason: String,
    pub kind: RefundKind,
    pub status: RefundStatus,
}

/// Records a refund to ask for; a payment key already recorded keeps its first refund.
pub async fn insert_refund(
    db: impl PgExecutor<'_>,
    order_id: Uuid,
    payment_key: &str,
    amount: i64,
    reason: &str,
    kind: RefundKind,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar(
        "WITH new AS (
             INSERT INTO provider_refunds (id, order_id, payment_key, amount_krw, reason, kind)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (payment_key) DO NOTHING RETURNING id)
         SELECT id FROM new UNION ALL SELECT id FROM provider_refunds WHERE payment_key = $3 LIMIT 1",
    )
    .bind(Uuid::now_v7())
    .bind(order_id)
    .bind(payment_key)
    .bind(amount)
    .bind(reason)
    .bind(kind.as_str())
    .fetch_one(db)
    .await
}

/// The refund, locked, if it is still pending.
pub async fn lock_pending_refund(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(
        "SELECT id, order_id, payment_key, amount_krw, reason, kind, status FROM provider_refunds
         WHERE id = $1 AND status = 'pending' FOR UPDATE SKIP LOCKED",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn find_refund(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(
        "SELECT id, order_id, payment_key, amount_krw, reason, kind, status FROM provider_refunds WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Pending refunds due for a try.
pub async fn due_refunds(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM provider_refunds WHERE status = 'pending' AND next_try_at <= now()
         ORDER BY next_try_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Ends a refund: `done` or `failed` (the provider refused for good), if it may become it.
pub async fn finish_refund(
    db: impl PgExecutor<'_>,
    id: Uuid,
    status: RefundStatus,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE provider_refunds SET status = $2, last_error = $3, attempts = attempts + 1,
             done_at = now() WHERE id = $1 AND status = ANY($4)",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(error)
    .bind(RefundStatus::sources(status))
    .execute(db)
    .await?;
    Ok(())
}

/// The provider could not be reached: try again later, backing off up to ten minutes.
pub async fn retry_refund_later(
    db: impl PgExecutor<'_>,
    id: Uuid,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE provider_refunds SET attempts = attempts + 1, last_error = $2,
             next_try_at = now() + make_interval(secs => least(600, 5 * power(2, least(attempts, 8))))
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}
