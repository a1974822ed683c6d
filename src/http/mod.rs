//! HTTP plumbing shared by every domain: the error type, extractors and middleware.

pub mod error;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod page;
pub mod snapshot;
pub mod text;

pub use error::{ApiError, ApiResult, ErrorBody, ErrorCode, Invalid, Refuse};
pub use extract::{ClientIp, Json, Path, Query};
