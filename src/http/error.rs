//! The one error type at the HTTP boundary.
//!
//! Every failure a client sees is an [`ErrorCode`] (a closed set of stable machine codes, each with
//! exactly one HTTP status) plus a short English message. Domain modules keep their own error enums
//! and convert into [`ApiError`]; the cause of a 5xx is logged once, here, and never sent.

use std::borrow::Cow;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Stable error codes. Renaming one breaks clients: add a new one instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    // 400
    MalformedJson,
    InvalidPathParameter,
    InvalidQueryParameter,
    ValidationFailed,
    // 403
    VerificationCodeInvalid,
    // 401
    AuthenticationRequired,
    InvalidToken,
    TokenExpired,
    SessionRevoked,
    SessionExpired,
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
    // 403
    Forbidden,
    WrongPassword,
    IdentityVerificationRequired,
    // 404
    NotFound,
    VerificationNotFound,
    // 405
    MethodNotAllowed,
    // 409
    Conflict,
    EmailTaken,
    PersonAlreadyRegistered,
    RejoinCooldown,
    VerificationNotConfirmed,
    VerificationAlreadyConfirmed,
    VerificationAlreadyUsed,
    VerificationPurposeMismatch,
    AccountNotFoundForPerson,
    ApplicationPending,
    AlreadySeller,
    ApplicationAlreadyDecided,
    // 410
    VerificationExpired,
    VerificationAttemptsExceeded,
    VerificationFailed,
    // 413
    PayloadTooLarge,
    // 415
    UnsupportedMediaType,
    // 426: the chat socket's route, asked without a WebSocket upgrade
    UpgradeRequired,
    // 422
    InvalidBody,
    // 429
    RateLimited,
    // ads: 410 and 409
    AdNotActive,
    AdEnded,
    SignatureInvalid,
    SellerRequired,
    NotAnchoredYet,
    ProductRevoked,
    AlreadyRevoked,
    SignatureNotAwaited,
    OwnRaffle,
    NotEntered,
    ProductNotAnchored,
    EditionExhausted,
    RaffleNotOpen,
    AlreadyEntered,
    RaffleNotCancellable,
    TicketsNotPublished,
    AmountMismatch,
    PaymentRefused,
    NotYourOrder,
    UnknownPayment,
    OrderExpired,
    AlreadyPaid,
    OrderNotPayable,
    OrderNotShippable,
    OrderNotRefundable,
    // kakao: 401
    SkillUnauthorized,
    // chat: 400, 403 and 429
    MessageTooLong,
    OwnProduct,
    TooManyConnections,
    // lifecycle: 409
    BusinessNumberTaken,
    SellerHasOpenSales,
    ConversationClosed,
    // payments: 409
    DeliveryAddressRequired,
    PaymentInProgress,
    EditionBelowWinners,
    // 500
    Internal,
    // 502
    UpstreamError,
    // 503
    Unavailable,
    Timeout,
    Overloaded,
}

impl ErrorCode {
    /// Every code, for the error catalogue and its tests.
    pub const ALL: &'static [ErrorCode] = &[
        Self::MalformedJson,
        Self::InvalidPathParameter,
        Self::InvalidQueryParameter,
        Self::ValidationFailed,
        Self::VerificationCodeInvalid,
        Self::AuthenticationRequired,
        Self::InvalidToken,
        Self::TokenExpired,
        Self::SessionRevoked,
        Self::SessionExpired,
        Self::InvalidCredentials,
        Self::InvalidRefreshToken,
        Self::RefreshTokenReused,
        Self::Forbidden,
        Self::WrongPassword,
        Self::IdentityVerificationRequired,
        Self::NotFound,
        Self::VerificationNotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::EmailTaken,
        Self::PersonAlreadyRegistered,
        Self::RejoinCooldown,
        Self::VerificationNotConfirmed,
        Self::VerificationAlreadyConfirmed,
        Self::VerificationAlreadyUsed,
        Self::VerificationPurposeMismatch,
        Self::AccountNotFoundForPerson,
        Self::ApplicationPending,
        Self::AlreadySeller,
        Self::ApplicationAlreadyDecided,
        Self::VerificationExpired,
        Self::VerificationAttemptsExceeded,
        Self::VerificationFailed,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::UpgradeRequired,
        Self::InvalidBody,
        Self::RateLimited,
        Self::AdNotActive,
        Self::AdEnded,
        Self::SignatureInvalid,
        Self::SellerRequired,
        Self::NotAnchoredYet,
        Self::ProductRevoked,
        Self::AlreadyRevoked,
        Self::SignatureNotAwaited,
        Self::OwnRaffle,
        Self::NotEntered,
        Self::ProductNotAnchored,
        Self::EditionExhausted,
        Self::RaffleNotOpen,
        Self::AlreadyEntered,
        Self::RaffleNotCancellable,
        Self::TicketsNotPublished,
        Self::AmountMismatch,
        Self::PaymentRefused,
        Self::NotYourOrder,
        Self::UnknownPayment,
        Self::OrderExpired,
        Self::AlreadyPaid,
        Self::OrderNotPayable,
        Self::OrderNotShippable,
        Self::OrderNotRefundable,
        Self::SkillUnauthorized,
        Self::MessageTooLong,
        Self::OwnProduct,
        Self::TooManyConnections,
        Self::BusinessNumberTaken,
        Self::SellerHasOpenSales,
        Self::ConversationClosed,
        Self::DeliveryAddressRequired,
        Self::PaymentInProgress,
        Self::EditionBelowWinners,
        Self::Internal,
        Self::UpstreamError,
        Self::Unavailable,
        Self::Timeout,
        Self::Overloaded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::InvalidPathParameter => "invalid_path_parameter",
            Self::InvalidQueryParameter => "invalid_query_parameter",
            Self::ValidationFailed => "validation_failed",
            Self::VerificationCodeInvalid => "verification_code_invalid",
            Self::AuthenticationRequired => "authentication_required",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::SessionRevoked => "session_revoked",
            Self::SessionExpired => "session_expired",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::Forbidden => "forbidden",
            Self::WrongPassword => "wrong_password",
            Self::IdentityVerificationRequired => "identity_verification_required",
            Self::NotFound => "not_found",
            Self::VerificationNotFound => "verification_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::EmailTaken => "email_taken",
            Self::PersonAlreadyRegistered => "person_already_registered",
            Self::RejoinCooldown => "rejoin_cooldown",
            Self::VerificationNotConfirmed => "verification_not_confirmed",
            Self::VerificationAlreadyConfirmed => "verification_already_confirmed",
            Self::VerificationAlreadyUsed => "verification_already_used",
            Self::VerificationPurposeMismatch => "verification_purpose_mismatch",
            Self::AccountNotFoundForPerson => "account_not_found_for_person",
            Self::ApplicationPending => "application_pending",
            Self::AlreadySeller => "already_seller",
            Self::ApplicationAlreadyDecided => "application_already_decided",
            Self::VerificationExpired => "verification_expired",
            Self::VerificationAttemptsExceeded => "verification_attempts_exceeded",
            Self::VerificationFailed => "verification_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::UpgradeRequired => "upgrade_required",
            Self::InvalidBody => "invalid_body",
            Self::RateLimited => "rate_limited",
            Self::AdNotActive => "ad_not_active",
            Self::AdEnded => "ad_ended",
            Self::SignatureInvalid => "signature_invalid",
            Self::SellerRequired => "seller_required",
            Self::NotAnchoredYet => "not_anchored_yet",
            Self::ProductRevoked => "product_revoked",
            Self::AlreadyRevoked => "already_revoked",
            Self::SignatureNotAwaited => "signature_not_awaited",
            Self::OwnRaffle => "own_raffle",
            Self::NotEntered => "not_entered",
            Self::ProductNotAnchored => "product_not_anchored",
            Self::EditionExhausted => "edition_exhausted",
            Self::RaffleNotOpen => "raffle_not_open",
            Self::AlreadyEntered => "already_entered",
            Self::RaffleNotCancellable => "raffle_not_cancellable",
            Self::TicketsNotPublished => "tickets_not_published",
            Self::AmountMismatch => "amount_mismatch",
            Self::PaymentRefused => "payment_refused",
            Self::NotYourOrder => "not_your_order",
            Self::UnknownPayment => "unknown_payment",
            Self::OrderExpired => "order_expired",
            Self::AlreadyPaid => "already_paid",
            Self::OrderNotPayable => "order_not_payable",
            Self::OrderNotShippable => "order_not_shippable",
            Self::OrderNotRefundable => "order_not_refundable",
            Self::SkillUnauthorized => "skill_unauthorized",
            Self::MessageTooLong => "message_too_long",
            Self::OwnProduct => "own_product",
            Self::TooManyConnections => "too_many_connections",
            Self::BusinessNumberTaken => "business_number_taken",
            Self::SellerHasOpenSales => "seller_has_open_sales",
            Self::ConversationClosed => "conversation_closed",
            Self::DeliveryAddressRequired => "delivery_address_required",
            Self::PaymentInProgress => "payment_in_progress",
            Self::EditionBelowWinners => "edition_below_winners",
            Self::Internal => "internal",
            Self::UpstreamError => "upstream_error",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Overloaded => "overloaded",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::MalformedJson
            | Self::InvalidPathParameter
            | Self::InvalidQueryParameter
            | Self::ValidationFailed => StatusCode::BAD_REQUEST,
            Self::AuthenticationRequired
            | Self::InvalidToken
            | Self::TokenExpired
            | Self::SessionRevoked
            | Self::SessionExpired
            | Self::InvalidCredentials
            | Self::InvalidRefreshToken
            | Self::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            // A wrong code is a failed proof, like a wrong password, not a malformed request.
            Self::Forbidden
            | Self::WrongPassword
            | Self::IdentityVerificationRequired
            | Self::VerificationCodeInvalid => StatusCode::FORBIDDEN,
            Self::NotFound | Self::VerificationNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict
            | Self::EmailTaken
            | Self::PersonAlreadyRegistered
            | Self::RejoinCooldown
            | Self::VerificationNotConfirmed
            | Self::VerificationAlreadyConfirmed
            | Self::VerificationAlreadyUsed
            | Self::VerificationPurposeMismatch
            | Self::AccountNotFoundForPerson
            | Self::ApplicationPending
            | Self::AlreadySeller
            | Self::ApplicationAlreadyDecided => StatusCode::CONFLICT,
            Self::VerificationExpired
            | Self::VerificationAttemptsExceeded
            | Self::VerificationFailed => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            Self::InvalidBody => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::AdNotActive => StatusCode::GONE,
            Self::AdEnded => StatusCode::CONFLICT,
            Self::SignatureInvalid => StatusCode::BAD_REQUEST,
            Self::SellerRequired => StatusCode::FORBIDDEN,
            Self::NotAnchoredYet => StatusCode::CONFLICT,
            Self::ProductRevoked => StatusCode::CONFLICT,
            Self::AlreadyRevoked => StatusCode::CONFLICT,
            Self::SignatureNotAwaited => StatusCode::CONFLICT,
            Self::OwnRaffle => StatusCode::FORBIDDEN,
            Self::NotEntered => StatusCode::NOT_FOUND,
            Self::ProductNotAnchored => StatusCode::CONFLICT,
            Self::EditionExhausted => StatusCode::CONFLICT,
            Self::RaffleNotOpen => StatusCode::CONFLICT,
            Self::AlreadyEntered => StatusCode::CONFLICT,
            Self::RaffleNotCancellable => StatusCode::CONFLICT,
            Self::TicketsNotPublished => StatusCode::CONFLICT,
            Self::AmountMismatch => StatusCode::BAD_REQUEST,
            Self::PaymentRefused => StatusCode::PAYMENT_REQUIRED,
            Self::NotYourOrder => StatusCode::FORBIDDEN,
            Self::UnknownPayment => StatusCode::NOT_FOUND,
            Self::OrderExpired => StatusCode::CONFLICT,
            Self::AlreadyPaid => StatusCode::CONFLICT,
            Self::OrderNotPayable => StatusCode::CONFLICT,
            Self::OrderNotShippable => StatusCode::CONFLICT,
            Self::OrderNotRefundable => StatusCode::CONFLICT,
            Self::SkillUnauthorized => StatusCode::UNAUTHORIZED,
            Self::MessageTooLong => StatusCode::BAD_REQUEST,
            Self::OwnProduct => StatusCode::FORBIDDEN,
            Self::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
            Self::BusinessNumberTaken => StatusCode::CONFLICT,
            Self::SellerHasOpenSales => StatusCode::CONFLICT,
            Self::ConversationClosed => StatusCode::CONFLICT,
            Self::DeliveryAddressRequired => StatusCode::CONFLICT,
            Self::PaymentInProgress => StatusCode::CONFLICT,
            Self::EditionBelowWinners => StatusCode::CONFLICT,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::UpstreamError => StatusCode::BAD_GATEWAY,
            Self::Unavailable | Self::Timeout | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn default_message(self) -> &'static str {
        match self {
            Self::MalformedJson => "The request body is not valid JSON.",
            Self::InvalidPathParameter => "A path parameter is not valid.",
            Self::InvalidQueryParameter => "A query parameter is not valid.",
            Self::ValidationFailed => "A field is not valid.",
            Self::VerificationCodeInvalid => "The verification code is wrong.",
            Self::AuthenticationRequired => "Log in first: send an access token.",
            Self::InvalidToken => "The access token is not valid.",
            Self::TokenExpired => "The access token has expired; refresh it.",
            Self::SessionRevoked => "This session has ended; log in again.",
            Self::SessionExpired => "This session reached its maximum lifetime; log in again.",
            Self::InvalidCredentials => "The email or password is wrong.",
            Self::InvalidRefreshToken => "The refresh token is not valid.",
            Self::RefreshTokenReused => {
                "This refresh token was already used; the session has been ended for safety."
            }
            Self::Forbidden => "You may not do this.",
            Self::WrongPassword => "The password is wrong.",
            Self::IdentityVerificationRequired => "Verify your identity first.",
            Self::NotFound => "Nothing was found here.",
            Self::VerificationNotFound => "No such identity verification.",
            Self::MethodNotAllowed => "This method is not allowed here.",
            Self::Conflict => "This conflicts with existing data.",
            Self::EmailTaken => "An account with this email already exists.",
            Self::PersonAlreadyRegistered => "This person already has an account.",
            Self::RejoinCooldown => {
                "This person deleted an account recently and cannot sign up again yet."
            }
            Self::VerificationNotConfirmed => "The identity verification is not confirmed yet.",
            Self::VerificationAlreadyConfirmed => "The identity verification is already confirmed.",
            Self::VerificationAlreadyUsed => "The identity verification was already used.",
            Self::VerificationPurposeMismatch => {
                "The identity verification was started for another purpose."
            }
            Self::AccountNotFoundForPerson => "No account belongs to this verified person.",
            Self::ApplicationPending => "A seller application is already waiting for review.",
            Self::AlreadySeller => "This account can already sell.",
            Self::ApplicationAlreadyDecided => "This application was already decided.",
            Self::VerificationExpired => "The identity verification expired; start again.",
            Self::VerificationAttemptsExceeded => {
                "Too many wrong codes; start the identity verification again."
            }
            Self::VerificationFailed => "The identity verification failed; start again.",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::UnsupportedMediaType => "Send the body as application/json.",
            Self::UpgradeRequired => {
                "This route takes WebSocket connections only; send a WebSocket upgrade request."
            }
            Self::InvalidBody => "The request body has a missing or wrongly typed field.",
            Self::RateLimited => "Too many requests; try again later.",
            Self::AdNotActive => "This ad is not running now.",
            Self::AdEnded => "This ad campaign was ended and cannot change.",
            Self::SignatureInvalid => "The signature does not check out.",
            Self::SellerRequired => "Only an approved seller may do this.",
            Self::NotAnchoredYet => "This record is not anchored on chain yet; try again shortly.",
            Self::ProductRevoked => "This product was revoked and cannot change.",
            Self::AlreadyRevoked => "This product is already revoked.",
            Self::SignatureNotAwaited => "This record is already signed.",
            Self::OwnRaffle => "Sellers cannot enter their own raffles.",
            Self::NotEntered => "You have no entry in this raffle.",
            Self::ProductNotAnchored => "The product's record is not anchored on chain yet.",
            Self::EditionExhausted => {
                "The raffles of this product would give away more than its edition size."
            }
            Self::RaffleNotOpen => "This raffle is not taking entries.",
            Self::AlreadyEntered => "You already entered this raffle.",
            Self::RaffleNotCancellable => "Only a raffle that has not closed can be cancelled.",
            Self::TicketsNotPublished => "The ticket list is published when the raffle closes.",
            Self::AmountMismatch => "The amount does not match the order.",
            Self::PaymentRefused => "The payment provider refused the payment.",
            Self::NotYourOrder => "This order belongs to someone else.",
            Self::UnknownPayment => "No order has this payment.",
            Self::OrderExpired => {
                "The payment deadline has passed; the order went to the next alternate."
            }
            Self::AlreadyPaid => "This order is already paid.",
            Self::OrderNotPayable => "This order cannot be paid.",
            Self::OrderNotShippable => "This order is not at that step.",
            Self::OrderNotRefundable => "Only a paid order that has not shipped can be refunded.",
            Self::SkillUnauthorized => "This skill request is not from our KakaoTalk bot.",
            Self::MessageTooLong => "The message is too long.",
            Self::OwnProduct => "Sellers cannot open a conversation about their own product.",
            Self::TooManyConnections => {
                "Too many chat connections are open for this account; close one first."
            }
            Self::BusinessNumberTaken => {
                "This business registration number already belongs to a seller or an application under review."
            }
            Self::SellerHasOpenSales => {
                "This account still has raffles or orders under way; finish them before deleting it."
            }
            Self::ConversationClosed => {
                "The other side has deleted their account; this conversation takes no new messages."
            }
            Self::DeliveryAddressRequired => {
                "Add a delivery address to your profile before paying."
            }
            Self::PaymentInProgress => {
                "Another payment for this order is being confirmed; try again shortly."
            }
            Self::EditionBelowWinners => {
                "The edition cannot be smaller than the winners its raffles already promise."
            }
            Self::Internal => "Something went wrong on our side.",
            Self::UpstreamError => "An outside service failed; try again later.",
            Self::Unavailable => "The service is not available right now.",
            Self::Timeout => "The request took too long.",
            Self::Overloaded => "The service is busy right now; try again in a moment.",
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `email_taken`.
    #[schema(example = "validation_failed")]
    pub code: &'static str,
    /// Short English sentence for people.
    #[schema(example = "email: not a valid email address.")]
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    message: Cow<'static, str>,
    retry_after: Option<Duration>,
    source: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        ApiError {
            code,
            message: Cow::Borrowed(code.default_message()),
            retry_after: None,
            source: None,
        }
    }

    pub fn with_message(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            message: message.into(),
            ..Self::new(code)
        }
    }

    /// A field failed validation: `field: reason`.
    pub fn validation(field: &str, reason: &str) -> Self {
        Self::with_message(ErrorCode::ValidationFailed, format!("{field}: {reason}"))
    }

    pub fn rate_limited(retry_after: Duration) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(ErrorCode::RateLimited)
        }
    }

    /// The same error, telling the client to wait `after` before trying again.
    pub fn with_retry_after(self, after: Duration) -> Self {
        ApiError {
            retry_after: Some(after),
            ..self
        }
    }

    /// How long the client should wait before trying again, if the error says.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// An unexpected failure: the cause is logged when the response is built, never sent.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        ApiError {
            source: Some(source.into()),
            ..Self::new(ErrorCode::Internal)
        }
    }

    /// A failure we expect now and then (an outside service down), logged with its cause.
    pub fn with_source(code: ErrorCode, source: impl Into<anyhow::Error>) -> Self {
        ApiError {
            source: Some(source.into()),
            ..Self::new(code)
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::new(code)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                ApiError::with_source(ErrorCode::Conflict, e)
            }
            sqlx::Error::PoolTimedOut => ApiError::with_source(ErrorCode::Unavailable, e),
            _ => ApiError::internal(e),
        }
    }
}

/// The CPU pool's queue is full: `503 overloaded` with `Retry-After`.
impl From<crate::cpu::Overloaded> for ApiError {
    fn from(_: crate::cpu::Overloaded) -> Self {
        ApiError {
            retry_after: Some(crate::cpu::Overloaded::RETRY_AFTER),
            ..Self::new(ErrorCode::Overloaded)
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::internal(e)
    }
}

/// The name of the unique constraint a database error broke, if it is one.
pub fn unique_violation(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        if let Some(source) = &self.source {
            if status.is_server_error() {
                tracing::error!(code = self.code.as_str(), error = ?source, "request failed");
            } else {
                tracing::debug!(code = self.code.as_str(), error = %source, "request refused");
            }
        }
        let body = ErrorBody {
            code: self.code.as_str(),
            message: self.message.into_owned(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(after) = self.retry_after {
            let secs = after.as_secs().max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if status == StatusCode::UPGRADE_REQUIRED {
            response
                .headers_mut()
                .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_statuses_are_errors() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(code.status().is_client_error() || code.status().is_server_error());
            assert!(code.default_message().ends_with('.'));
        }
    }

    #[test]
    fn an_overloaded_pool_answers_503_with_retry_after() {
        let response = ApiError::from(crate::cpu::Overloaded).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn the_error_catalogue_lists_every_code_with_its_status() {
        let doc = include_str!("../../docs/ERRORS.md");
        for code in ErrorCode::ALL {
            let row = format!("| {} | `{}` |", code.status().as_u16(), code.as_str());
            assert!(doc.contains(&row), "docs/ERRORS.md lacks the row {row}");
        }
        let rows = doc
            .lines()
            .filter(|l| l.starts_with("| 4") || l.starts_with("| 5"))
            .count();
        assert_eq!(
            rows,
            ErrorCode::ALL.len(),
            "docs/ERRORS.md lists a code the service does not have"
        );
    }
}
