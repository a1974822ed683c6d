//! HTTP handlers of the accounts domain. Each handler's doc says who may call it.

pub mod auth;
pub mod identity;
pub mod me;
pub mod sellers;

use crate::http::{ApiError, ErrorCode};

impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        use super::Error;
        match e {
            Error::Invalid(e) => e.into(),
            Error::NotActive | Error::SessionRevoked => ErrorCode::SessionRevoked.into(),
            Error::WrongPassword => ErrorCode::WrongPassword.into(),
            Error::RateLimited(wait) => ApiError::rate_limited(wait),
            Error::AccountLocked(wait) => ApiError::with_message(
                ErrorCode::RateLimited,
                "Too many login attempts on this account; try again later, or reset the password \
                 with an identity verification.",
            )
            .with_retry_after(wait),
            Error::EmailTaken => ErrorCode::EmailTaken.into(),
            Error::PersonAlreadyRegistered => ErrorCode::PersonAlreadyRegistered.into(),
            Error::RejoinCooldown => ErrorCode::RejoinCooldown.into(),
            Error::InvalidCredentials => ErrorCode::InvalidCredentials.into(),
            Error::InvalidRefreshToken => ErrorCode::InvalidRefreshToken.into(),
            Error::RefreshTokenReused => ErrorCode::RefreshTokenReused.into(),
            Error::SessionExpired => ErrorCode::SessionExpired.into(),
            Error::AccountNotFoundForPerson => ErrorCode::AccountNotFoundForPerson.into(),
            Error::Overloaded(e) => e.into(),
            Error::Hash(_) | Error::Token(_) => ApiError::internal(e),
            Error::Identity(e) => ApiError::from(e),
            Error::Db(e) => e.into(),
        }
    }
}
