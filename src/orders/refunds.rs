//! Refunds asked of the payment provider. The transaction that decides a refund records it
//! (`provider_refunds`, one per payment key); the provider is called after that transaction has
//! committed, so no row lock is ever held across the call; the outcome is applied in a second
//! transaction. A refund the provider could not be asked (it was down) stays pending and the
//! order clock tries again, with the same idempotency key (`refund-{id}`), so a payment is
//! never cancelled twice.

use serde_json::json;
use uuid::Uuid;

use super::{Error, OrderStatus, Orders, RefundKind, RefundStatus, store, transition};
use crate::notify;
use crate::providers::payments::PaymentError;

/// The refunds one clock pass sends at most.
const REFUNDS_PER_PASS: i64 = 50;

/// How a refund ended at the provider.
enum Outcome {
    Done,
    Failed(String),
    TryLater(String),
}

impl Orders {
    /// Sends one recorded refund and applies its outcome. Safe to call from several places at
    /// once: the provider sees one idempotency key, and only one caller applies the outcome.
    pub async fn send_refund(&self, id: Uuid) -> Result<(), Error> {
        let Some(refund) = store::find_refund(&self.db, id).await? else {
            return Ok(());
        };
        if refund.status.is_final() {
            return Ok(());
        }
        let outcome = match self
            .payments
            .cancel(&refund.payment_key, &refund.reason, &format!("refund-{id}"))
            .await
        {
            Ok(_) => Outcome::Done,
            // Cancelled already (at the provider's console, or by an earlier try whose answer
            // we lost): the money is back either way.
            Err(PaymentError::Refused { code, .. }) if code == "ALREADY_CANCELED_PAYMENT" => {
                Outcome::Done
            }
            Err(PaymentError::Refused { code, message }) => {
                Outcome::Failed(format!("{code}: {message}"))
            }
            Err(PaymentError::NotFound) => {
                Outcome::Failed("the provider has no such payment".into())
            }
            Err(PaymentError::Unavailable(e)) => Outcome::TryLater(format!("{e:#}")),
        };
        let mut tx = self.db.begin().await?;
        let Some(refund) = store::lock_pending_refund(&mut *tx, id).await? else {
            return Ok(());
        };
        match outcome {
            Outcome::Done => {
                store::finish_refund(&mut *tx, id, RefundStatus::Done, None).await?;
                let order = store::lock(&mut *tx, refund.order_id).await?;
                if let Some(order) = order {
                    match refund.kind {
                        RefundKind::Refund => {
                            if order.status == OrderStatus::Refunding {
                                transition(&mut tx, &order, OrderStatus::Refunded).await?;
                                notify::push(
                                    &mut *tx,
                                    order.buyer_id,
                                    "refunded",
                                    "결제가 취소되었습니다",
                                    &refund.reason,
                                    json!({"order_id": order.id}),
                                )
                                .await?;
                                self.hand_on(&mut tx, order.raffle_id).await?;
                            }
                        }
                        RefundKind::LatePayment => {
                            notify::push(
                                &mut *tx,
                                order.buyer_id,
                                "late_payment_refunded",
                                "결제가 취소되었습니다",
                                "결제 기한이 지난 뒤에 결제되어 자동으로 취소했습니다.",
                                json!({"order_id": order.id}),
                            )
                            .await?;
                        }
                    }
                }
            }
            Outcome::Failed(error) => {
                tracing::warn!(refund = %id, error, "the provider refused a refund");
                store::finish_refund(&mut *tx, id, RefundStatus::Failed, Some(&error)).await?;
                store::set_attention(&mut *tx, refund.order_id, "refund_failed").await?;
            }
            Outcome::TryLater(error) => {
                tracing::warn!(refund = %id, error, "refund not sent; the order clock retries");
                store::retry_refund_later(&mut *tx, id, &error).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sends the refunds that are due; returns how many were tried.
    pub async fn send_due_refunds(&self) -> Result<usize, Error> {
        let due = store::due_refunds(&self.db, REFUNDS_PER_PASS).await?;
        for id in &due {
            self.send_refund(*id).await?;
        }
        Ok(due.len())
    }
}

/// Records that the order's payment goes back; the order is `refunding` until the provider
/// confirms. Returns the refund's id, to send once the caller's transaction has committed.
pub async fn refund_order(
    tx: &mut sqlx::PgConnection,
    order: &store::OrderRow,
    reason: &str,
) -> Result<Uuid, Error> {
    let key = order.payment_key.clone().unwrap_or_default();
    // Toss takes a cancel reason of at most 200 characters.
    let reason: String = reason.chars().take(200).collect();
    transition(&mut *tx, order, OrderStatus::Refunding).await?;
    Ok(store::insert_refund(
        &mut *tx,
        order.id,
        &key,
        order.amount_krw,
        &reason,
        RefundKind::Refund,
    )
    .await?)
}

/// Records that a payment which does not count for the order (too late, or a second one) goes
/// back. Returns the refund's id.
pub async fn refund_late_payment(
    tx: &mut sqlx::PgConnection,
    order_id: Uuid,
    payment_key: &str,
    amount: i64,
) -> Result<Uuid, Error> {
    Ok(store::insert_refund(
        &mut *tx,
        order_id,
        payment_key,
        amount,
        "결제 기한이 지난 주문의 결제 취소",
        RefundKind::LatePayment,
    )
    .await?)
}
