//! The `dev` payment provider: any payment key beginning with `dev_` is an authorised payment of
//! whatever amount the confirm names, kept in memory. For local runs only.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Payment, PaymentError, PaymentProvider};

#[derive(Default)]
pub struct DevPayments {
    payments: Mutex<HashMap<String, Payment>>,
}

impl DevPayments {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl PaymentProvider for DevPayments {
    fn name(&self) -> &'static str {
        "dev"
    }

    async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: i64,
        _idempotency_key: &str,
    ) -> Result<Payment, PaymentError> {
        if !payment_key.starts_with("dev_") {
            return Err(PaymentError::Refused {
                code: "INVALID_REQUEST".into(),
                message: "dev payment keys begin with dev_".into(),
            });
        }
        let mut payments = self.payments.lock().expect("dev payments lock");
        if let Some(existing) = payments.get(payment_key) {
            return if existing.order_id == order_id && existing.total_amount == amount {
                Ok(existing.clone())
            } else {
                Err(PaymentError::Refused {
                    code: "ALREADY_PROCESSED_PAYMENT".into(),
                    message: "already processed".into(),
                })
            };
        }
        let payment = Payment {
            payment_key: payment_key.to_owned(),
            order_id: order_id.to_owned(),
            status: "DONE".into(),
            total_amount: amount,
            balance_amount: amount,
        };
        payments.insert(payment_key.to_owned(), payment.clone());
        tracing::info!(order_id, amount, "dev payment provider: payment confirmed");
        Ok(payment)
    }

    async fn get(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        self.payments
            .lock()
            .expect("dev payments lock")
            .get(payment_key)
            .cloned()
            .ok_or(PaymentError::NotFound)
    }

    async fn cancel(
        &self,
        payment_key: &str,
        _reason: &str,
        _idempotency_key: &str,
    ) -> Result<Payment, PaymentError> {
        let mut payments = self.payments.lock().expect("dev payments lock");
        let payment = payments
            .get_mut(payment_key)
            .ok_or(PaymentError::NotFound)?;
        payment.status = "CANCELED".into();
        payment.balance_amount = 0;
        Ok(payment.clone())
    }
}
