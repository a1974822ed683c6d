//! Orders (product description §12, `docs/PRODUCT.md`): each raffle winner gets an order at the raffle's price with a
//! payment deadline; payment goes through a `PaymentProvider` (Toss Payments, or `dev`); a winner
//! who does not pay in time loses the order and the next alternate gets one; once paid the seller
//! ships to the winner's address and the buyer confirms receipt; a refund is possible until
//! shipping. Purchases are the buyer's history on MyPage.

pub mod deadline;
mod refund;
mod refunds;
pub mod routes;
pub mod status;
pub mod store;

pub use refund::{RefundKind, RefundStatus};
pub use status::OrderStatus;

pub use store::{Holding, holdings};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::{self, CurrentUser, DeliveryAddress, Role};
use crate::notify;
use crate::providers::payments::{Payment, PaymentError, PaymentProvider};
use crate::raffles::store::RaffleRow;
use crate::raffles::worker::AfterDraw;
use store::OrderRow;

/// Remind a winner this long before their payment deadline.
const DUE_SOON_SECS: f64 = 6.0 * 3600.0;

/// What can go wrong in the orders domain. The HTTP boundary (`routes.rs`) gives each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such order, or one the caller may not see (order ids reveal nothing).
    #[error("no such order")]
    NotFound,
    /// A payment for someone else's order.
    #[error("the order belongs to someone else")]
    NotYourOrder,
    /// The payment deadline has passed; the order went (or goes) to the next alternate.
    #[error("the payment deadline has passed")]
    OrderExpired,
    /// The payment was confirmed after the deadline had passed; it is being cancelled.
    #[error("the payment deadline passed before the payment was confirmed")]
    PaidTooLate,
    #[error("the order is already paid")]
    AlreadyPaid,
    /// The order was refunded or cancelled: nothing to pay.
    #[error("the order cannot be paid")]
    NotPayable,
    /// Another payment's confirm holds the order.
    #[error("another payment for the order is being confirmed")]
    PaymentInProgress,
    /// The payment's amount is not the order's.
    #[error("the order is {expected} won, not {offered}")]
    AmountMismatch { expected: i64, offered: i64 },
    /// The buyer has no delivery address to pay with.
    #[error("the buyer has no delivery address")]
    DeliveryAddressRequired,
    /// A paid order with no delivery address to ship to.
    #[error("the order has no delivery address")]
    NoAddressToShip,
    /// A shipment of an order that is not paid.
    #[error("only a paid order can be shipped")]
    NotShippable,
    /// A receipt of an order that is not shipped.
    #[error("only a shipped order can be received")]
    NotReceivable,
    /// A refund or cancellation of an order past that point.
    #[error("the order cannot be refunded")]
    NotRefundable,
    /// A webhook for a payment the provider does not know.
    #[error("the provider has no such payment")]
    UnknownPayment,
    /// The provider confirmed a payment that is not the order's (not done, another amount or
    /// order).
    #[error("the payment is {status} for {amount} won")]
    PaymentNotDone { status: String, amount: i64 },
    /// The payment provider refused, or could not be asked.
    #[error(transparent)]
    Payment(PaymentError),
    /// A move the order's state machine does not allow: a bug, refused rather than written.
    #[error("order {id} cannot go from {from} to {to}")]
    BadTransition {
        id: Uuid,
        from: &'static str,
        to: &'static str,
    },
    #[error(transparent)]
    Raffles(#[from] crate::raffles::Error),
    #[error(transparent)]
    Notify(#[from] crate::notify::Error),
    /// The accounts domain refused or failed.
    #[error(transparent)]
    Accounts(#[from] crate::accounts::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Error {}

#[derive(Clone)]
pub struct Orders(Arc<OrdersInner>);

pub struct OrdersInner {
    pub db: PgPool,
    pub payments: Arc<dyn PaymentProvider>,
}

impl std::ops::Deref for Orders {
    type Target = OrdersInner;
    fn deref(&self) -> &OrdersInner {
        &self.0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: Uuid,
    pub raffle_id: Uuid,
    pub product_id: Uuid,
    pub buyer_id: Uuid,
    pub seller_id: Uuid,
    pub amount_krw: i64,
    /// Where the order is in its life (`src/orders/status.rs` has the diagram).
    pub status: OrderStatus,
    pub pay_by: DateTime<Utc>,
    /// Where to ship: shown to the buyer, and to the seller once paid.
    pub delivery_address: Option<DeliveryAddress>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    /// What the payment provider has given back so far, in won.
    pub refunded_amount_krw: i64,
    /// Why an admin must look at the order (`partial_cancel`, `refund_failed`,
    /// `revoked_after_shipping`, `cancelled_after_shipping`, `paid_without_address`); null when
    /// nothing is wrong.
    pub attention: Option<String>,
}

impl From<OrderRow> for Order {
    fn from(o: OrderRow) -> Self {
        Order {
            id: o.id,
            raffle_id: o.raffle_id,
            product_id: o.product_id,
            buyer_id: o.buyer_id,
            seller_id: o.seller_id,
            amount_krw: o.amount_krw,
            status: if o.overdue {
                OrderStatus::Expired
            } else {
                o.status
            },
            pay_by: o.pay_by,
            delivery_address: o.delivery_address.map(|j| j.0),
            carrier: o.carrier,
            tracking_number: o.tracking_number,
            created_at: o.created_at,
            paid_at: o.paid_at,
            shipped_at: o.shipped_at,
            received_at: o.received_at,
            refunded_amount_krw: o.refunded_amount_krw,
            attention: o.attention,
        }
    }
}

impl Orders {
    pub fn new(db: PgPool, payments: Arc<dyn PaymentProvider>) -> Self {
        Orders(Arc::new(OrdersInner { db, payments }))
    }

    /// The order, if the caller is its buyer, its seller or an admin. Others get 404, so order
    /// ids reveal nothing.
    pub async fn visible(&self, user: &CurrentUser, id: Uuid) -> Result<Order, Error> {
        let row = store::find(&self.db, id).await?.ok_or(Error::NotFound)?;
        if row.buyer_id != user.id && row.seller_id != user.id && user.role != Role::Admin {
            return Err(Error::NotFound);
        }
        let seller_view = row.seller_id == user.id && row.buyer_id != user.id;
        let mut order = Order::from(row);
        if seller_view && order.paid_at.is_none() {
            order.delivery_address = None;
        }
        Ok(order)
    }

    /// Confirms the buyer's payment. The amount and the delivery address are checked before
    /// the provider is called; the confirm carries the order id in its idempotency key, so a
    /// retried or doubled request never charges twice; and the order is claimed for the call
    /// rather than locked across it (`deadline`).
    pub async fn pay(
        &self,
        user: &CurrentUser,
        id: Uuid,
        payment_key: &str,
        amount: i64,
    ) -> Result<Order, Error> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id).await?.ok_or(Error::NotFound)?;
        if row.buyer_id != user.id {
            return Err(Error::NotYourOrder);
        }
        let deadline = row.deadline();
        match row.status {
            OrderStatus::AwaitingPayment if deadline.may_start_paying(row.now) => {}
            OrderStatus::AwaitingPayment | OrderStatus::Expired => {
                return Err(Error::OrderExpired);
            }
            OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Received => {
                return Err(Error::AlreadyPaid);
            }
            OrderStatus::Refunding | OrderStatus::Refunded | OrderStatus::Cancelled => {
                return Err(Error::NotPayable);
            }
        }
        if deadline.claimed(row.now) && deadline.paying_key != Some(payment_key) {
            return Err(Error::PaymentInProgress);
        }
        if amount != row.amount_krw {
            return Err(Error::AmountMismatch {
                expected: row.amount_krw,
                offered: amount,
            });
        }
        if accounts::delivery_address(&mut *tx, row.buyer_id)
            .await?
            .is_none()
        {
            return Err(Error::DeliveryAddressRequired);
        }
        store::claim(
            &mut *tx,
            id,
            payment_key,
            deadline::CLAIM_HOLD.as_seconds_f64(),
        )
        .await?;
        tx.commit().await?;

        let confirmed = self
            .payments
            .confirm(
                payment_key,
                &id.to_string(),
                amount,
                &format!("confirm-{id}"),
            )
            .await;
        let payment = match confirmed {
            Ok(p) => p,
            Err(e) => {
                store::release_claim(&self.db, id, payment_key).await?;
                return Err(Error::Payment(e));
            }
        };
        if !payment.is_done()
            || payment.total_amount != row.amount_krw
            || payment.order_id != id.to_string()
        {
            store::release_claim(&self.db, id, payment_key).await?;
            return Err(Error::PaymentNotDone {
                status: payment.status,
                amount: payment.total_amount,
            });
        }
        match self
            .settle_payment(id, &payment.payment_key, payment.total_amount)
            .await?
        {
            Settled::Paid => Ok(store::find(&self.db, id)
                .await?
                .ok_or(Error::NotFound)?
                .into()),
            Settled::Late => Err(Error::PaidTooLate),
            // The webhook for this very payment got there first.
            Settled::Already => Ok(store::find(&self.db, id)
                .await?
                .ok_or(Error::NotFound)?
                .into()),
        }
    }

    /// A completed payment of `amount` for the order, however it was learned (our confirm or a
    /// re-queried webhook): it makes the order paid if the deadline rule allows; otherwise it is
    /// recorded and cancelled at the provider. The same payment learned twice changes nothing.
    async fn settle_payment(
        &self,
        id: Uuid,
        payment_key: &str,
        amount: i64,
    ) -> Result<Settled, Error> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id).await?.ok_or(Error::NotFound)?;
        if row.payment_key.as_deref() == Some(payment_key) {
            return Ok(Settled::Already);
        }
        if row.deadline().may_become_paid(payment_key, row.now) && amount == row.amount_krw {
            self.record_payment(&mut tx, &row, payment_key).await?;
            tx.commit().await?;
            return Ok(Settled::Paid);
        }
        tracing::warn!(order = %id, status = row.status.as_str(), "a payment that does not count for its order is cancelled");
        let refund = refunds::refund_late_payment(&mut tx, id, payment_key, amount).await?;
        store::release_claim(&mut *tx, id, payment_key).await?;
        tx.commit().await?;
        self.send_refund(refund).await?;
        Ok(Settled::Late)
    }

    /// A confirmed payment: the delivery address is snapshotted, buyer and seller told, and the
    /// raffle settled if nothing is left to pay.
    async fn record_payment(
        &self,
        tx: &mut sqlx::PgConnection,
        row: &OrderRow,
        payment_key: &str,
    ) -> Result<(), Error> {
        let address = accounts::delivery_address(&mut *tx, row.buyer_id).await?;
        store::mark_paid(
            &mut *tx,
            row.id,
            self.payments.name(),
            payment_key,
            address.as_ref(),
        )
        .await?;
        notify::push(
            &mut *tx,
            row.buyer_id,
            "payment_confirmed",
            "결제가 완료되었습니다",
            "판매자가 곧 배송을 시작합니다.",
            json!({"order_id": row.id}),
        )
        .await?;
        notify::push(
            &mut *tx,
            row.seller_id,
            "sale_paid",
            "당첨자가 결제했습니다",
            "배송지를 확인하고 상품을 발송해 주세요.",
            json!({"order_id": row.id}),
        )
        .await?;
        if store::awaiting_in_raffle(&mut *tx, row.raffle_id).await? == 0 {
            crate::raffles::mark_settled(tx, row.raffle_id).await?;
        }
        Ok(())
    }

    /// A provider webhook: never trusted as such; the payment is looked up again and the order
    /// follows what the provider says now. Returns false when there was nothing for us in it
    /// (an authentic payment that is not one of our orders').
    pub async fn webhook(&self, payment_key: &str, order_id: Option<&str>) -> Result<bool, Error> {
        let payment = match self.payments.get(payment_key).await {
            Ok(p) => p,
            Err(PaymentError::NotFound) => return Err(Error::UnknownPayment),
            Err(e) => return Err(Error::Payment(e)),
        };
        // The order is the one the provider names; the event's own `orderId` is only a hint.
        let Ok(id) = Uuid::parse_str(&payment.order_id) else {
            return Ok(false);
        };
        if order_id.is_some_and(|o| o != payment.order_id) {
            return Ok(false);
        }
        let Some(order) = store::find(&self.db, id).await? else {
            return Ok(false);
        };
        match payment.status.as_str() {
            "DONE" => {
                if order.payment_key.as_deref() != Some(payment_key) {
                    self.settle_payment(id, payment_key, payment.total_amount)
                        .await?;
                }
            }
            "CANCELED" | "PARTIAL_CANCELED" => {
                if order.payment_key.as_deref() != Some(payment_key) {
                    return Ok(false);
                }
                self.cancelled_at_provider(id, &payment).await?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The provider says the order's payment was cancelled, wholly or in part (from its
    /// console, or our own refund coming back through the webhook).
    async fn cancelled_at_provider(&self, id: Uuid, payment: &Payment) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id).await?.ok_or(Error::NotFound)?;
        let refunded = payment.total_amount - payment.balance_amount;
        if refunded != row.refunded_amount_krw {
            store::set_refunded_amount(&mut *tx, id, refunded).await?;
        }
        let whole = payment.is_cancelled() || payment.balance_amount == 0;
        match (row.status, whole) {
            (OrderStatus::Paid | OrderStatus::Refunding, true) => {
                transition(&mut tx, &row, OrderStatus::Refunded).await?;
                notify::push(
                    &mut *tx,
                    row.buyer_id,
                    "refunded",
                    "결제가 취소되었습니다",
                    "결제가 취소되어 환불됩니다.",
                    json!({"order_id": id}),
                )
                .await?;
                self.hand_on(&mut tx, row.raffle_id).await?;
            }
            (OrderStatus::Shipped | OrderStatus::Received, true) => {
                store::set_attention(&mut *tx, id, "cancelled_after_shipping").await?
            }
            (_, false) if refunded != row.refunded_amount_krw => {
                store::set_attention(&mut *tx, id, "partial_cancel").await?
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn ship(
        &self,
        user: &CurrentUser,
        id: Uuid,
        carrier: &str,
        tracking: &str,
    ) -> Result<Order, Error> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id).await?.ok_or(Error::NotFound)?;
        if row.seller_id != user.id {
            return Err(Error::NotFound);
        }
        if !row.status.may_become(OrderStatus::Shipped) {
            return Err(Error::NotShippable);
        }
        if row.delivery_address.is_none() {
            return Err(Error::NoAddressToShip);
        }
        store::mark_shipped(&mut *tx, id, carrier, tracking).await?;
        tx.commit().await?;
        Ok(store::find(&self.db, id)
            .await?
            .ok_or(Error::NotFound)?
            .into())
    }

    pub async fn receive(&self, user: &CurrentUser, id: Uuid) -> Result<Order, Error> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id).await?.ok_or(Error::NotFound)?;
        if row.buyer_id != user.id {
            return Err(Error::NotFound);
        }
        if !row.status.may_become(OrderStatus::Received) {
            return Err(Error::NotReceivable);
        }
        transition(&mut tx, &row, OrderStatus::Received).await?;
        tx.commit().await?;
        Ok(store::find(&self.db, id)
            .await?
            .ok_or(Error::NotFound)?
            .into())
    }

    /// A refund of a paid order until it ships (the buyer), or an admin's cancellation (refunded
    /// when paid, cancelled when not). Either way the piece goes to the next alternate while the
    /// raffle allows. The provider is called after the order's transaction has committed.
    pub async fn refund(&self, user: &CurrentUser, id: Uuid, reason: &str) -> Result<Order, Error> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id).await?.ok_or(Error::NotFound)?;
        let admin = user.role == Role::Admin;
        if row.buyer_id != user.id && !admin {
            return Err(Error::NotFound);
        }
        let mut refund = None;
        match (row.status, admin) {
            (OrderStatus::Paid, _) => {
                refund = Some(refunds::refund_order(&mut tx, &row, reason).await?)
            }
            (OrderStatus::AwaitingPayment, true) => {
                transition(&mut tx, &row, OrderStatus::Cancelled).await?;
                notify::push(
                    &mut *tx,
                    row.buyer_id,
                    "order_cancelled",
                    "주문이 취소되었습니다",
                    reason,
                    json!({"order_id": id}),
                )
                .await?;
                self.hand_on(&mut tx, row.raffle_id).await?;
            }
            _ => return Err(Error::NotRefundable),
        }
        tx.commit().await?;
        if let Some(refund) = refund {
            self.send_refund(refund).await?;
        }
        Ok(store::find(&self.db, id)
            .await?
            .ok_or(Error::NotFound)?
            .into())
    }

    /// An order was given up (expired, refunded, cancelled): the raffle's next alternate gets
    /// one while the raffle allows (`raffles::promote_next_alternate`), and the raffle settles
    /// when nothing is left to pay.
    async fn hand_on(&self, tx: &mut sqlx::PgConnection, raffle_id: Uuid) -> Result<bool, Error> {
        let promoted = match crate::raffles::promote_next_alternate(tx, raffle_id).await? {
            Some((raffle, winner)) => {
                create_for_winners(tx, store::OrderTerms::of(&raffle), &[winner]).await?;
                true
            }
            None => false,
        };
        if store::awaiting_in_raffle(&mut *tx, raffle_id).await? == 0 {
            crate::raffles::mark_settled(tx, raffle_id).await?;
        }
        Ok(promoted)
    }

    /// A seller's sales, newest first, by what is left to do.
    pub async fn sales(
        &self,
        seller: Uuid,
        filter: SalesFilter,
        cursor: Option<Uuid>,
        limit: i64,
    ) -> Result<(Vec<Order>, Option<Uuid>), Error> {
        let rows = store::of_seller(&self.db, seller, filter.statuses(), cursor, limit + 1).await?;
        Ok(page(
            rows.into_iter()
                .map(|r| {
                    let paid = r.paid_at.is_some();
                    let mut o = Order::from(r);
                    if !paid {
                        o.delivery_address = None;
                    }
                    o
                })
                .collect(),
            limit,
        ))
    }

    /// Orders an admin must look at (`attention`), newest first.
    pub async fn needing_attention(
        &self,
        cursor: Option<Uuid>,
        limit: i64,
    ) -> Result<(Vec<Order>, Option<Uuid>), Error> {
        let rows = store::needing_attention(&self.db, cursor, limit + 1).await?;
        Ok(page(rows.into_iter().map(Into::into).collect(), limit))
    }

    /// A raffle's orders still waiting for payment: (order, buyer, amount).
    pub async fn unpaid_in_raffle(&self, raffle_id: Uuid) -> Result<Vec<(Uuid, Uuid, i64)>, Error> {
        Ok(store::unpaid_in_raffle(&self.db, raffle_id).await?)
    }

    pub async fn history(
        &self,
        user: Uuid,
        cursor: Option<Uuid>,
        limit: i64,
    ) -> Result<(Vec<Order>, Option<Uuid>), Error> {
        let rows = store::of_buyer(&self.db, user, cursor, limit + 1).await?;
        Ok(page(rows.into_iter().map(Into::into).collect(), limit))
    }

    /// One pass of the order clock: remind winners whose deadline nears, expire unpaid orders
    /// and hand each to the next alternate, settle raffles with nothing left to pay, and send the
    /// refunds that are due. Returns (expired, promoted).
    pub async fn pass(&self) -> anyhow::Result<(usize, usize)> {
        for row in store::due_soon(&self.db, DUE_SOON_SECS).await? {
            let mut tx = self.db.begin().await?;
            notify::push(
                &mut *tx,
                row.buyer_id,
                "payment_due_soon",
                "결제 마감이 다가옵니다",
                "기한 안에 결제하지 않으면 당첨이 다음 예비 당첨자에게 넘어갑니다.",
                json!({"order_id": row.id, "pay_by": row.pay_by}),
            )
            .await?;
            store::set_due_notified(&mut *tx, row.id).await?;
            tx.commit().await?;
        }
        let mut tx = self.db.begin().await?;
        let overdue = store::overdue(&mut *tx).await?;
        let mut promoted = 0;
        for row in &overdue {
            debug_assert!(row.deadline().is_overdue(row.now));
            transition(&mut tx, row, OrderStatus::Expired).await?;
            notify::push(
                &mut *tx,
                row.buyer_id,
                "order_expired",
                "결제 기한이 지났습니다",
                "당첨이 다음 예비 당첨자에게 넘어갔습니다.",
                json!({"order_id": row.id}),
            )
            .await?;
            if self.hand_on(&mut tx, row.raffle_id).await? {
                promoted += 1;
            }
        }
        tx.commit().await?;
        self.send_due_refunds().await?;
        Ok((overdue.len(), promoted))
    }
}

/// Moves a locked order along its state machine ([`OrderStatus::may_become`]); any other move is
/// a bug, refused rather than written.
async fn transition(
    tx: &mut sqlx::PgConnection,
    row: &OrderRow,
    to: OrderStatus,
) -> Result<(), Error> {
    if !row.status.may_become(to) || !store::set_status(&mut *tx, row.id, row.status, to).await? {
        return Err(Error::BadTransition {
            id: row.id,
            from: row.status.as_str(),
            to: to.as_str(),
        });
    }
    Ok(())
}

/// What `Orders::settle_payment` made of a completed payment.
enum Settled {
    Paid,
    /// It did not count (too late, or the order had ended): cancelled at the provider.
    Late,
    /// The order is already paid with this very payment.
    Already,
}

/// The seller's sales by what is left to do.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SalesFilter {
    /// Paid, to ship.
    #[default]
    ToShip,
    /// Shipped or received.
    Shipped,
    /// Being refunded or refunded.
    Refunded,
    /// Won and not paid yet.
    AwaitingPayment,
    /// Every sale.
    All,
}

impl SalesFilter {
    fn statuses(self) -> &'static [OrderStatus] {
        match self {
            Self::ToShip => &[OrderStatus::Paid],
            Self::Shipped => &[OrderStatus::Shipped, OrderStatus::Received],
            Self::Refunded => &[OrderStatus::Refunding, OrderStatus::Refunded],
            Self::AwaitingPayment => &[OrderStatus::AwaitingPayment],
            Self::All => &OrderStatus::ALL,
        }
    }
}

/// A page of `limit` from `limit + 1` rows, and the cursor of the next one.
fn page(items: Vec<Order>, limit: i64) -> (Vec<Order>, Option<Uuid>) {
    crate::db::page_of(items, limit, |o| o.id)
}

/// The orders domain's step after a draw ([`AfterDraw`], wired into the draw worker in
/// `app.rs`): an order for each winner, ended at once when the product was revoked while the
/// raffle closed on chain.
pub struct OrdersForWinners;

#[async_trait::async_trait]
impl AfterDraw for OrdersForWinners {
    async fn drawn(
        &self,
        tx: &mut sqlx::PgConnection,
        raffle: &RaffleRow,
        winners: &[(Uuid, Uuid)],
        revoked: bool,
    ) -> anyhow::Result<()> {
        create_for_winners(&mut *tx, store::OrderTerms::of(raffle), winners).await?;
        if revoked {
            end_for_revoked_product(&mut *tx, raffle.product_id, "인증이 철회된 상품입니다.")
                .await?;
        }
        Ok(())
    }
}

/// In the draw's or an alternate's transaction: an order for each winner, and their
/// notification.
pub async fn create_for_winners(
    tx: &mut sqlx::PgConnection,
    terms: store::OrderTerms,
    winners: &[(Uuid, Uuid)],
) -> Result<(), Error> {
    for (order, buyer) in store::create(&mut *tx, terms, winners).await? {
        notify::push(
            &mut *tx,
            buyer,
            "won",
            "당첨되었습니다!",
            "기한 안에 결제해 주세요.",
            json!({"order_id": order, "raffle_id": terms.raffle_id}),
        )
        .await?;
    }
    Ok(())
}

/// Account deletion: a seller's orders under way, as (awaiting payment, paid and not shipped).
pub async fn open_sales_of(
    tx: &mut sqlx::PgConnection,
    seller_id: Uuid,
) -> Result<(i64, i64), Error> {
    Ok(store::open_sales(&mut *tx, seller_id).await?)
}

/// A product was revoked as counterfeit, in the revoking transaction: its unpaid orders are
/// cancelled, its paid ones refunded (sent by the order clock, or by the caller once committed),
/// and those already shipped flagged for an admin; every buyer is told. Returns how many orders
/// it ended.
pub async fn end_for_revoked_product(
    tx: &mut sqlx::PgConnection,
    product_id: Uuid,
    reason: &str,
) -> Result<usize, Error> {
    let orders = store::standing_of_product(&mut *tx, product_id).await?;
    for row in &orders {
        let body = match row.status {
            OrderStatus::AwaitingPayment => {
                transition(&mut *tx, row, OrderStatus::Cancelled).await?;
                "인증이 철회된 상품이라 주문을 취소했습니다."
            }
            OrderStatus::Paid => {
                refunds::refund_order(&mut *tx, row, reason).await?;
                "인증이 철회된 상품이라 결제를 취소하고 환불합니다."
            }
            _ => {
                store::set_attention(&mut *tx, row.id, "revoked_after_shipping").await?;
                "인증이 철회된 상품입니다. 관리자가 환불 절차를 안내해 드립니다."
            }
        };
        notify::push(
            &mut *tx,
            row.buyer_id,
            "product_revoked",
            "상품 인증이 철회되었습니다",
            body,
            json!({"order_id": row.id, "product_id": product_id}),
        )
        .await?;
    }
    Ok(orders.len())
}
