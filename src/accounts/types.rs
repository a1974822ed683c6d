//! The accounts domain's shared types: roles, the delivery address, and the profile as clients
//! see it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::UserRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Buyer,
    Seller,
    Admin,
}

/// Where a won item is shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryAddress {
    /// 받는 분.
    #[schema(example = "김민수", min_length = 1, max_length = 50)]
    pub recipient: String,
    /// A Korean phone number, mobile or landline: 9 to 11 digits, dashes between the groups.
    #[schema(
        example = "010-1234-5678",
        pattern = r"^(0[0-9]{8,10}|0[0-9]{1,2}-[0-9]{3,4}-[0-9]{4})$"
    )]
    pub phone: String,
    /// Five-digit Korean postal code (도로명 우편번호).
    #[schema(example = "06236", pattern = r"^[0-9]{5}$")]
    pub postal_code: String,
    #[schema(
        example = "서울특별시 강남구 테헤란로 152",
        min_length = 1,
        max_length = 200
    )]
    pub address: String,
    #[schema(example = "12층 1201호", min_length = 1, max_length = 100)]
    pub address_detail: Option<String>,
}

/// The signed-in person's own profile (MyPage).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    /// True when the account was opened with an identity verification (needed to enter raffles).
    pub identity_verified: bool,
    /// The name the identity verification returned; it cannot be edited.
    pub verified_name: Option<String>,
    /// The name shown to sellers and on deliveries; defaults to the verified name.
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    #[schema(example = "female")]
    pub gender: Option<String>,
    pub delivery_address: Option<DeliveryAddress>,
    pub marketing_consent: bool,
    pub marketing_consent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<UserRow> for Profile {
    fn from(u: UserRow) -> Self {
        Profile {
            id: u.id,
            email: u.email.unwrap_or_default(),
            role: u.role,
            identity_verified: u.identity_verified,
            verified_name: u.verified_name,
            name: u.name,
            nickname: u.nickname,
            phone: u.phone,
            birth_date: u.birth_date,
            gender: u.gender,
            delivery_address: u.delivery_address.map(|j| j.0),
            marketing_consent: u.marketing_consent,
            marketing_consent_at: u.marketing_consent_at,
            created_at: u.created_at,
        }
    }
}

/// What login, sign-up and refresh hand back.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    /// JWT for `Authorization: Bearer …`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single use: each refresh returns a new one. Reusing an old one ends the session.
    pub refresh_token: String,
    pub refresh_expires_in: u64,
}
