//! Payments: confirm a payment the buyer authorised in the provider's window, look it up, and
//! cancel (refund) it. Toss Payments is the real provider; `dev` completes locally.

mod dev;
mod toss;

use async_trait::async_trait;

pub use dev::DevPayments;
pub use toss::TossPayments;

/// A payment as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub payment_key: String,
    /// Our order id, as given to the provider.
    pub order_id: String,
    /// `READY`, `IN_PROGRESS`, `WAITING_FOR_DEPOSIT`, `DONE`, `CANCELED`, `PARTIAL_CANCELED`,
    /// `ABORTED`, `EXPIRED`.
    pub status: String,
    pub total_amount: i64,
    pub balance_amount: i64,
}

impl Payment {
    pub fn is_done(&self) -> bool {
        self.status == "DONE"
    }

    pub fn is_cancelled(&self) -> bool {
        self.status == "CANCELED"
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The provider refused: its code and message (e.g. `ALREADY_PROCESSED_PAYMENT`).
    #[error("the provider refused: {code}: {message}")]
    Refused { code: String, message: String },
    #[error("the provider has no such payment")]
    NotFound,
    #[error("the payment provider is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Confirms (captures) an authorised payment. `idempotency_key` makes retries safe.
    async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<Payment, PaymentError>;
    async fn get(&self, payment_key: &str) -> Result<Payment, PaymentError>;
    /// Cancels the whole payment (a refund).
    async fn cancel(
        &self,
        payment_key: &str,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<Payment, PaymentError>;
}
