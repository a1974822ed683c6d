//! Orders (original spec §12): each raffle winner gets an order at the raffle's price with a
//! payment deadline; payment goes through a `PaymentProvider` (Toss Payments, or `dev`); a winner
//! who does not pay in time loses the order and the next alternate gets one; once paid the seller
//! ships to the winner's address and the buyer confirms receipt; a refund is possible until
//! shipping. Purchases are the buyer's history on MyPage.

pub mod routes;
pub mod store;

pub use store::{Holding, holdings};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::{self, CurrentUser, DeliveryAddress, Role};
use crate::http::{ApiError, ErrorCode};
use crate::notify;
use crate::providers::payments::{PaymentError, PaymentProvider};
use store::OrderRow;

/// Remind a winner this long before their payment deadline.
const DUE_SOON_SECS: f64 = 6.0 * 3600.0;

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
    /// `awaiting_payment`, `paid`, `shipped`, `received`, `expired`, `refunded`, `cancelled`.
    pub status: String,
    pub pay_by: DateTime<Utc>,
    /// Where to ship: shown to the buyer, and to the seller once paid.
    pub delivery_address: Option<DeliveryAddress>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
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
                "expired".into()
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
        }
    }
}

fn payment_error(e: PaymentError) -> ApiError {
    match e {
        PaymentError::Refused { code, message } => ApiError::with_message(
            ErrorCode::PaymentRefused,
            format!("The payment provider refused: {code} ({message})."),
        ),
        PaymentError::NotFound => ApiError::with_message(
            ErrorCode::PaymentRefused,
            "The payment provider has no such payment.",
        ),
        PaymentError::Unavailable(e) => ApiError::with_source(ErrorCode::UpstreamError, e),
    }
}

impl Orders {
    pub fn new(db: PgPool, payments: Arc<dyn PaymentProvider>) -> Self {
        Orders(Arc::new(OrdersInner { db, payments }))
    }

    /// The order, if the caller is its buyer, its seller or an admin. Others get 404, so order
    /// ids reveal nothing.
    pub async fn visible(&self, user: &CurrentUser, id: Uuid) -> Result<Order, ApiError> {
        let row = store::find(&self.db, id)
            .await?
            .ok_or(ErrorCode::NotFound)?;
        if row.buyer_id != user.id && row.seller_id != user.id && user.role != Role::Admin {
            return Err(ErrorCode::NotFound.into());
        }
        let seller_view = row.seller_id == user.id && row.buyer_id != user.id;
        let mut order = Order::from(row);
        if seller_view && order.paid_at.is_none() {
            order.delivery_address = None;
        }
        Ok(order)
    }

    /// Confirms the buyer's payment: the amount is checked against the order before the
    /// provider is called, and the confirm carries the order id as its idempotency key, so a
    /// retried or doubled request never charges twice.
    pub async fn pay(
        &self,
        user: &CurrentUser,
        id: Uuid,
        payment_key: &str,
        amount: i64,
    ) -> Result<Order, ApiError> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id)
            .await?
            .ok_or(ErrorCode::NotFound)?;
        if row.buyer_id != user.id {
            return Err(ErrorCode::NotYourOrder.into());
        }
        match row.status.as_str() {
            "awaiting_payment" if !row.overdue => {}
            "awaiting_payment" | "expired" => return Err(ErrorCode::OrderExpired.into()),
            "paid" | "shipped" | "received" => return Err(ErrorCode::AlreadyPaid.into()),
            _ => return Err(ErrorCode::OrderNotPayable.into()),
        }
        if amount != row.amount_krw {
            return Err(ApiError::with_message(
                ErrorCode::AmountMismatch,
                format!("The order is {} won, not {amount}.", row.amount_krw),
            ));
        }
        let payment = self
            .payments
            .confirm(
                payment_key,
                &id.to_string(),
                amount,
                &format!("confirm-{id}"),
            )
            .await
            .map_err(payment_error)?;
        if !payment.is_done()
            || payment.total_amount != row.amount_krw
            || payment.order_id != id.to_string()
        {
            return Err(ApiError::with_message(
                ErrorCode::PaymentRefused,
                format!(
                    "The payment is {} for {} won.",
                    payment.status, payment.total_amount
                ),
            ));
        }
        self.record_payment(&mut tx, &row, &payment.payment_key)
            .await?;
        tx.commit().await?;
        Ok(store::find(&self.db, id)
            .await?
            .ok_or(ErrorCode::NotFound)?
            .into())
    }

    /// A confirmed payment, however it was learned (our confirm or a re-queried webhook): the
    /// delivery address is snapshotted, the buyer told, and the raffle settled if nothing is
    /// left to pay.
    async fn record_payment(
        &self,
        tx: &mut sqlx::PgConnection,
        row: &OrderRow,
        payment_key: &str,
    ) -> Result<(), ApiError> {
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
        if store::awaiting_in_raffle(&mut *tx, row.raffle_id).await? == 0 {
            crate::raffles::mark_settled(tx, row.raffle_id).await?;
        }
        Ok(())
    }

    /// A provider webhook: never trusted as such; the payment is looked up again and the order
    /// follows what the provider says now.
    pub async fn webhook(&self, payment_key: &str, order_id: Option<&str>) -> Result<(), ApiError> {
        let by_id = match order_id.and_then(|o| Uuid::parse_str(o).ok()) {
            Some(id) => store::find(&self.db, id).await?,
            None => None,
        };
        let order = match by_id {
            Some(o) => o,
            None => store::by_payment_key(&self.db, payment_key)
                .await?
                .ok_or(ErrorCode::UnknownPayment)?,
        };
        let payment = match self.payments.get(payment_key).await {
            Ok(p) => p,
            Err(PaymentError::NotFound) => return Err(ErrorCode::UnknownPayment.into()),
            Err(e) => return Err(payment_error(e)),
        };
        if payment.order_id != order.id.to_string() {
            return Err(ErrorCode::UnknownPayment.into());
        }
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, order.id)
            .await?
            .ok_or(ErrorCode::UnknownPayment)?;
        if payment.is_done()
            && row.status == "awaiting_payment"
            && payment.total_amount == row.amount_krw
        {
            self.record_payment(&mut tx, &row, &payment.payment_key)
                .await?;
        } else if payment.is_cancelled() && row.status == "paid" {
            store::set_status(&mut *tx, row.id, "refunded").await?;
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
    ) -> Result<Order, ApiError> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id)
            .await?
            .ok_or(ErrorCode::NotFound)?;
        if row.seller_id != user.id {
            return Err(ErrorCode::NotFound.into());
        }
        if row.status != "paid" {
            return Err(ApiError::with_message(
                ErrorCode::OrderNotShippable,
                "Only a paid order can be shipped.",
            ));
        }
        store::mark_shipped(&mut *tx, id, carrier, tracking).await?;
        tx.commit().await?;
        Ok(store::find(&self.db, id)
            .await?
            .ok_or(ErrorCode::NotFound)?
            .into())
    }

    pub async fn receive(&self, user: &CurrentUser, id: Uuid) -> Result<Order, ApiError> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id)
            .await?
            .ok_or(ErrorCode::NotFound)?;
        if row.buyer_id != user.id {
            return Err(ErrorCode::NotFound.into());
        }
        if row.status != "shipped" {
            return Err(ApiError::with_message(
                ErrorCode::OrderNotShippable,
                "Only a shipped order can be received.",
            ));
        }
        store::set_status(&mut *tx, id, "received").await?;
        tx.commit().await?;
        Ok(store::find(&self.db, id)
            .await?
            .ok_or(ErrorCode::NotFound)?
            .into())
    }

    /// A refund of a paid order until it ships (the buyer), or an admin's cancellation (refunded
    /// when paid, cancelled when not).
    pub async fn refund(
        &self,
        user: &CurrentUser,
        id: Uuid,
        reason: &str,
    ) -> Result<Order, ApiError> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id)
            .await?
            .ok_or(ErrorCode::NotFound)?;
        let admin = user.role == Role::Admin;
        if row.buyer_id != user.id && !admin {
            return Err(ErrorCode::NotFound.into());
        }
        match (row.status.as_str(), admin) {
            ("paid", _) => {
                let key = row.payment_key.clone().unwrap_or_default();
                self.payments
                    .cancel(&key, reason, &format!("cancel-{id}"))
                    .await
                    .map_err(payment_error)?;
                store::set_status(&mut *tx, id, "refunded").await?;
                notify::push(
                    &mut *tx,
                    row.buyer_id,
                    "refunded",
                    "결제가 취소되었습니다",
                    reason,
                    json!({"order_id": id}),
                )
                .await?;
            }
            ("awaiting_payment", true) => store::set_status(&mut *tx, id, "cancelled").await?,
            _ => return Err(ErrorCode::OrderNotRefundable.into()),
        }
        tx.commit().await?;
        Ok(store::find(&self.db, id)
            .await?
            .ok_or(ErrorCode::NotFound)?
            .into())
    }

    /// A raffle's orders still waiting for payment: (order, buyer, amount).
    pub async fn unpaid_in_raffle(
        &self,
        raffle_id: Uuid,
    ) -> Result<Vec<(Uuid, Uuid, i64)>, ApiError> {
        Ok(store::unpaid_in_raffle(&self.db, raffle_id).await?)
    }

    pub async fn history(
        &self,
        user: Uuid,
        cursor: Option<Uuid>,
        limit: i64,
    ) -> Result<(Vec<Order>, Option<Uuid>), ApiError> {
        let mut rows = store::of_buyer(&self.db, user, cursor, limit + 1).await?;
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id)
        } else {
            None
        };
        Ok((rows.into_iter().map(Into::into).collect(), next))
    }

    /// One pass of the order clock: remind winners whose deadline nears, expire unpaid orders
    /// and hand each to the next alternate, and settle raffles with nothing left to pay.
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
            store::set_status(&mut *tx, row.id, "expired").await?;
            notify::push(
                &mut *tx,
                row.buyer_id,
                "order_expired",
                "결제 기한이 지났습니다",
                "당첨이 다음 예비 당첨자에게 넘어갔습니다.",
                json!({"order_id": row.id}),
            )
            .await?;
            // The raffle hands its next alternate over; the order follows the raffle's terms.
            if let Some((terms, winner)) =
                crate::raffles::promote_next_alternate(&mut tx, row.raffle_id).await?
            {
                create_for_winners(&mut tx, terms, &[winner]).await?;
                promoted += 1;
            }
            if store::awaiting_in_raffle(&mut *tx, row.raffle_id).await? == 0 {
                crate::raffles::mark_settled(&mut tx, row.raffle_id).await?;
            }
        }
        tx.commit().await?;
        Ok((overdue.len(), promoted))
    }
}

/// Called by the draw, in its transaction: an order for each winner, and their notification.
pub async fn create_for_winners(
    tx: &mut sqlx::PgConnection,
    terms: store::OrderTerms,
    winners: &[(Uuid, Uuid)],
) -> Result<(), ApiError> {
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
) -> Result<(i64, i64), ApiError> {
    Ok(store::open_sales(&mut *tx, seller_id).await?)
}
