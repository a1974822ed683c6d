//! HTTP handlers of the accounts domain. Each handler's doc says who may call it.

pub mod auth;
pub mod identity;
pub mod me;
pub mod sellers;

use serde::{Deserialize, Deserializer};

use crate::http::{ApiError, ErrorCode};

/// For PATCH bodies: tells a missing field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        use super::Error;
        match e {
            Error::NotActive => ErrorCode::SessionRevoked.into(),
            Error::WrongPassword => ErrorCode::WrongPassword.into(),
            Error::Overloaded(e) => e.into(),
            Error::Hash(_) | Error::Token(_) => ApiError::internal(e),
            Error::Identity(e) => ApiError::from(e),
            Error::Db(e) => e.into(),
        }
    }
}
