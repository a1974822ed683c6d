//! Toss Payments core API v1: `POST /v1/payments/confirm`, `GET /v1/payments/{paymentKey}`,
//! `POST /v1/payments/{paymentKey}/cancel`. Basic auth with the secret key and a trailing colon;
//! `Idempotency-Key` on writes; errors are `{"code", "message"}`.

use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::{Payment, PaymentError, PaymentProvider};

pub struct TossPayments {
    http: reqwest::Client,
    api_base: String,
    secret_key: SecretString,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TossPayment {
    payment_key: String,
    order_id: String,
    status: String,
    total_amount: f64,
    balance_amount: f64,
}

#[derive(Deserialize)]
struct TossError {
    code: String,
    message: String,
}

impl TossPayments {
    pub fn new(api_base: String, secret_key: SecretString) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .expect("the HTTP client builds");
        TossPayments {
            http,
            api_base,
            secret_key,
        }
    }

    /// `Basic base64("<secret key>:")`.
    pub fn authorization(secret_key: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{secret_key}:"))
        )
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Payment, PaymentError> {
        let response = req
            .header(
                reqwest::header::AUTHORIZATION,
                Self::authorization(self.secret_key.expose_secret()),
            )
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(e.into()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| PaymentError::Unavailable(e.into()))?;
        if status.is_success() {
            let p: TossPayment = serde_json::from_str(&text).map_err(|e| {
                PaymentError::Unavailable(anyhow!("Toss answered an unknown body: {e}"))
            })?;
            return Ok(Payment {
                payment_key: p.payment_key,
                order_id: p.order_id,
                status: p.status,
                total_amount: p.total_amount.round() as i64,
                balance_amount: p.balance_amount.round() as i64,
            });
        }
        match serde_json::from_str::<TossError>(&text) {
            Ok(e) if e.code == "NOT_FOUND_PAYMENT" => Err(PaymentError::NotFound),
            Ok(e)
                if status.is_client_error()
                    && e.code != "INVALID_API_KEY"
                    && e.code != "UNAUTHORIZED_KEY" =>
            {
                Err(PaymentError::Refused {
                    code: e.code,
                    message: e.message,
                })
            }
            Ok(e) => Err(PaymentError::Unavailable(anyhow!(
                "Toss answered {status} {}: {}",
                e.code,
                e.message
            ))),
            Err(_) => Err(PaymentError::Unavailable(anyhow!(
                "Toss answered {status} with an unknown body"
            ))),
        }
    }
}

#[async_trait]
impl PaymentProvider for TossPayments {
    fn name(&self) -> &'static str {
        "toss"
    }

    async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<Payment, PaymentError> {
        let req = self
            .http
            .post(format!("{}/v1/payments/confirm", self.api_base))
            .header("Idempotency-Key", idempotency_key)
            .json(&json!({"paymentKey": payment_key, "orderId": order_id, "amount": amount}));
        self.send(req).await
    }

    async fn get(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        let key = urlencode(payment_key);
        self.send(
            self.http
                .get(format!("{}/v1/payments/{key}", self.api_base)),
        )
        .await
    }

    async fn cancel(
        &self,
        payment_key: &str,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<Payment, PaymentError> {
        let key = urlencode(payment_key);
        let req = self
            .http
            .post(format!("{}/v1/payments/{key}/cancel", self.api_base))
            .header("Idempotency-Key", idempotency_key)
            .json(&json!({"cancelReason": reason}));
        self.send(req).await
    }
}

/// Payment keys are provider-made ASCII; escape anything that is not unreserved.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_auth_matches_the_documented_test_key_vector() {
        assert_eq!(
            super::TossPayments::authorization("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"),
            "Basic dGVzdF9za196WExrS0V5cE5BcldtbzUwblgzbG1lYXhZRzVSOg=="
        );
    }
}
