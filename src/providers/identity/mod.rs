//! Identity verification (본인인증): a one-time code sent by SMS through the person's carrier,
//! confirmed to learn who they are (name, birth date, gender, phone and CI).

mod dev;
mod portone;

use std::net::IpAddr;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use dev::DevIdentityVerifier;
pub use portone::PortOneIdentityVerifier;

/// Mobile carriers as PortOne names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Carrier {
    Skt,
    Kt,
    Lgu,
    SktMvno,
    KtMvno,
    LguMvno,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
    Other,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Gender> {
        match s {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            "other" => Some(Gender::Other),
            _ => None,
        }
    }
}

/// What we ask the provider to send a code for.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub name: String,
    /// Korean national format, digits only: `01012345678`.
    pub phone: String,
    /// The first seven digits of the resident registration number (birth date + one digit).
    pub identity_number: String,
    pub carrier: Carrier,
    pub ip: IpAddr,
}

/// What a confirmed verification tells us. Fields a provider does not return are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub name: String,
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<Gender>,
    /// Connecting Information: the same for one person across every Korean service.
    pub ci: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The carrier refused the code (or, when sending, the name/number/carrier combination).
    #[error("the provider rejected the request: {0}")]
    Rejected(String),
    #[error("the provider has no such verification")]
    NotFound,
    #[error("the verification was already confirmed")]
    AlreadyVerified,
    #[error("the provider found the request invalid: {0}")]
    InvalidRequest(String),
    /// Network failure, 5xx, bad credentials, or an answer we do not understand.
    #[error("the identity provider is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

#[async_trait]
pub trait IdentityVerifier: Send + Sync {
    /// Short name stored with each verification (`dev`, `portone`).
    fn name(&self) -> &'static str;
    /// Sends a one-time code for the verification `id` (chosen by us, unique).
    async fn send(&self, id: &str, request: &SendRequest) -> Result<(), IdentityError>;
    /// Confirms the code the person typed.
    async fn confirm(&self, id: &str, code: &str) -> Result<VerifiedIdentity, IdentityError>;
}

/// Birth date and gender from the first seven digits of a resident registration number
/// (`YYMMDD` + the digit that gives century and gender).
pub fn birth_from_identity_number(identity_number: &str) -> Option<(NaiveDate, Gender)> {
    if identity_number.len() != 7 || !identity_number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy: i32 = identity_number[0..2].parse().ok()?;
    let mm: u32 = identity_number[2..4].parse().ok()?;
    let dd: u32 = identity_number[4..6].parse().ok()?;
    let digit = identity_number.as_bytes()[6] - b'0';
    let (century, gender) = match digit {
        1 | 5 => (1900, Gender::Male),
        2 | 6 => (1900, Gender::Female),
        3 | 7 => (2000, Gender::Male),
        4 | 8 => (2000, Gender::Female),
        9 => (1800, Gender::Male),
        0 => (1800, Gender::Female),
        _ => return None,
    };
    Some((NaiveDate::from_ymd_opt(century + yy, mm, dd)?, gender))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_numbers_give_birth_date_and_gender() {
        assert_eq!(
            birth_from_identity_number("9501011"),
            Some((NaiveDate::from_ymd_opt(1995, 1, 1).unwrap(), Gender::Male))
        );
        assert_eq!(
            birth_from_identity_number("0312254"),
            Some((
                NaiveDate::from_ymd_opt(2003, 12, 25).unwrap(),
                Gender::Female
            ))
        );
        assert_eq!(birth_from_identity_number("9513011"), None);
        assert_eq!(birth_from_identity_number("950101"), None);
        assert_eq!(birth_from_identity_number("95010a1"), None);
    }
}
