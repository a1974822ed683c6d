//! Lists come in pages: the `limit` a client asks for, and the `{ items, next_cursor }` answer.
//! The store reads `limit + 1` rows and [`crate::db::page_of`] keeps `limit` of them.

use super::error::ApiError;

/// The page size a client asked for: `default` when absent, else 1 to `max`; anything else is
/// `validation_failed` naming `limit`.
pub fn limit(value: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = value.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::validation(
            "limit",
            &format!("must be 1 to {max}."),
        ))
    }
}

/// Declares a page of a list, `{ items, next_cursor }`, under its own name in the OpenAPI
/// document: `page!(RafflePage, Raffle, Uuid);`.
macro_rules! page {
    ($(#[$meta:meta])* $name:ident, $item:ty, $cursor:ty) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `cursor` for the next page; null on the last page.
            pub next_cursor: Option<$cursor>,
        }
    };
}
pub(crate) use page;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_its_default_when_absent_and_1_to_max_otherwise() {
        assert_eq!(limit(None, 20, 100).unwrap(), 20);
        assert_eq!(limit(Some(1), 20, 100).unwrap(), 1);
        assert_eq!(limit(Some(100), 20, 100).unwrap(), 100);
        for bad in [0, 101] {
            let e = limit(Some(bad), 20, 100).unwrap_err();
            assert_eq!(e.code, super::super::ErrorCode::ValidationFailed);
            assert_eq!(e.message(), "limit: must be 1 to 100.");
        }
    }
}
