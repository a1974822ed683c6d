//! PortOne V2 identity verification, API-only (SMS) flow:
//! `POST /identity-verifications/{id}/send`, then `POST /identity-verifications/{id}/confirm`.
//! Authorization is `PortOne <API secret>`; errors are `{"type", "message"}` bodies.

use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::NaiveDate;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Gender, IdentityError, IdentityVerifier, SendRequest, VerifiedIdentity};

pub struct PortOneIdentityVerifier {
    http: reqwest::Client,
    api_base: String,
    api_secret: SecretString,
    store_id: Option<String>,
    channel_key: String,
}

#[derive(Debug, Deserialize)]
struct PortOneError {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "pgCode")]
    pg_code: Option<String>,
    #[serde(default, rename = "pgMessage")]
    pg_message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ConfirmResponse {
    #[serde(rename = "identityVerification")]
    identity_verification: VerifiedVerification,
}

#[derive(Debug, Deserialize)]
struct VerifiedVerification {
    status: String,
    #[serde(rename = "verifiedCustomer")]
    verified_customer: VerifiedCustomer,
}

#[derive(Debug, Deserialize)]
struct VerifiedCustomer {
    name: String,
    #[serde(default, rename = "phoneNumber")]
    phone_number: Option<String>,
    #[serde(default, rename = "birthDate")]
    birth_date: Option<String>,
    #[serde(default)]
    gender: Option<String>,
    #[serde(default)]
    ci: Option<String>,
}

#[derive(Serialize)]
struct SendCustomer<'a> {
    name: &'a str,
    #[serde(rename = "phoneNumber")]
    phone_number: &'a str,
    #[serde(rename = "identityNumber")]
    identity_number: &'a str,
    #[serde(rename = "ipAddress")]
    ip_address: String,
}

impl PortOneIdentityVerifier {
    pub fn new(
        api_base: String,
        api_secret: SecretString,
        store_id: Option<String>,
        channel_key: String,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("truffle/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        PortOneIdentityVerifier {
            http,
            api_base,
            api_secret,
            store_id,
            channel_key,
        }
    }

    fn url(&self, id: &str, action: &str) -> String {
        // Our ids are `idv_` + hex, so they need no escaping.
        format!("{}/identity-verifications/{id}/{action}", self.api_base)
    }

    async fn post(
        &self,
        url: String,
        body: serde_json::Value,
    ) -> Result<reqwest::Response, IdentityError> {
        self.http
            .post(url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("PortOne {}", self.api_secret.expose_secret()),
            )
            .json(&body)
            .send()
            .await
            .map_err(|e| IdentityError::Unavailable(e.into()))
    }
}

/// Maps a PortOne error response to ours. `rejected_means` says what PG_PROVIDER means here.
async fn error_from(response: reqwest::Response) -> IdentityError {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let Ok(err) = serde_json::from_str::<PortOneError>(&text) else {
        return IdentityError::Unavailable(anyhow!(
            "PortOne answered {status} with an unknown body"
        ));
    };
    let detail = err
        .pg_message
        .clone()
        .or(err.message.clone())
        .unwrap_or_default();
    match (status, err.kind.as_str()) {
        (_, "PG_PROVIDER") => IdentityError::Rejected(format!(
            "{} ({})",
            detail,
            err.pg_code.as_deref().unwrap_or("-")
        )),
        (_, "IDENTITY_VERIFICATION_NOT_FOUND") => IdentityError::NotFound,
        (_, "IDENTITY_VERIFICATION_ALREADY_VERIFIED") => IdentityError::AlreadyVerified,
        (_, "INVALID_REQUEST") | (_, "MAX_TRANSACTION_COUNT_REACHED") => {
            IdentityError::InvalidRequest(detail)
        }
        (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, kind)
        | (_, kind @ "CHANNEL_NOT_FOUND") => IdentityError::Unavailable(anyhow!(
            "PortOne refused our credentials or channel: {kind}"
        )),
        (_, kind) => {
            IdentityError::Unavailable(anyhow!("PortOne answered {status} {kind}: {detail}"))
        }
    }
}

#[async_trait]
impl IdentityVerifier for PortOneIdentityVerifier {
    fn name(&self) -> &'static str {
        "portone"
    }

    async fn send(&self, id: &str, request: &SendRequest) -> Result<(), IdentityError> {
        let mut body = json!({
            "channelKey": self.channel_key,
            "customer": SendCustomer {
                name: &request.name,
                phone_number: &request.phone,
                identity_number: &request.identity_number,
                ip_address: request.ip.to_string(),
            },
            "operator": request.carrier,
            "method": "SMS",
        });
        if let Some(store_id) = &self.store_id {
            body["storeId"] = json!(store_id);
        }
        let response = self.post(self.url(id, "send"), body).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(error_from(response).await)
        }
    }

    async fn confirm(&self, id: &str, code: &str) -> Result<VerifiedIdentity, IdentityError> {
        let mut body = json!({ "otp": code });
        if let Some(store_id) = &self.store_id {
            body["storeId"] = json!(store_id);
        }
        let response = self.post(self.url(id, "confirm"), body).await?;
        if !response.status().is_success() {
            return Err(error_from(response).await);
        }
        let parsed: ConfirmResponse = response
            .json()
            .await
            .map_err(|e| IdentityError::Unavailable(anyhow!("PortOne confirm body: {e}")))?;
        let v = parsed.identity_verification;
        if v.status != "VERIFIED" {
            return Err(IdentityError::Rejected(format!("status {}", v.status)));
        }
        let c = v.verified_customer;
        Ok(VerifiedIdentity {
            name: c.name,
            phone: c.phone_number,
            birth_date: c
                .birth_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            gender: match c.gender.as_deref() {
                Some("MALE") => Some(Gender::Male),
                Some("FEMALE") => Some(Gender::Female),
                Some("OTHER") => Some(Gender::Other),
                _ => None,
            },
            ci: c.ci.filter(|ci| !ci.is_empty()),
        })
    }
}
