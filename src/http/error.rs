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

/// Writes [`ErrorCode`] from one table: each row is `Variant => (STATUS, "code", "Default message.")`,
/// and the enum, [`ErrorCode::ALL`], the status, the code string and the default message all come
/// from it, so a code cannot be in one list and missing from another.
macro_rules! error_codes {
    ($($variant:ident => ($status:ident, $code:literal, $message:literal),)+) => {
        /// Stable error codes. Renaming one breaks clients: add a new one instead.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            /// Every code, for the error catalogue and its tests.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(Self::$variant => StatusCode::$status,)+
                }
            }

            pub fn default_message(self) -> &'static str {
                match self {
                    $(Self::$variant => $message,)+
                }
            }
        }
    };
}

// The one list of error codes. Adding a code is adding a row here and its row in docs/ERRORS.md
// (a unit test compares the two). A wrong code is a failed proof, like a wrong password, not a
// malformed request: `verification_code_invalid` is 403.
#[rustfmt::skip]
error_codes! {
    MalformedJson => (BAD_REQUEST, "malformed_json", "The request body is not valid JSON."),
    InvalidPathParameter => (BAD_REQUEST, "invalid_path_parameter", "A path parameter is not valid."),
    InvalidQueryParameter => (BAD_REQUEST, "invalid_query_parameter", "A query parameter is not valid."),
    ValidationFailed => (BAD_REQUEST, "validation_failed", "A field is not valid."),
    VerificationCodeInvalid => (FORBIDDEN, "verification_code_invalid", "The verification code is wrong."),
    AuthenticationRequired => (UNAUTHORIZED, "authentication_required", "Log in first: send an access token."),
    InvalidToken => (UNAUTHORIZED, "invalid_token", "The access token is not valid."),
    TokenExpired => (UNAUTHORIZED, "token_expired", "The access token has expired; refresh it."),
    SessionRevoked => (UNAUTHORIZED, "session_revoked", "This session has ended; log in again."),
    SessionExpired => (UNAUTHORIZED, "session_expired", "This session reached its maximum lifetime; log in again."),
    InvalidCredentials => (UNAUTHORIZED, "invalid_credentials", "The email or password is wrong."),
    InvalidRefreshToken => (UNAUTHORIZED, "invalid_refresh_token", "The refresh token is not valid."),
    RefreshTokenReused => (UNAUTHORIZED, "refresh_token_reused", "This refresh token was already used; the session has been ended for safety."),
    Forbidden => (FORBIDDEN, "forbidden", "You may not do this."),
    WrongPassword => (FORBIDDEN, "wrong_password", "The password is wrong."),
    IdentityVerificationRequired => (FORBIDDEN, "identity_verification_required", "Verify your identity first."),
    NotFound => (NOT_FOUND, "not_found", "Nothing was found here."),
    VerificationNotFound => (NOT_FOUND, "verification_not_found", "No such identity verification."),
    MethodNotAllowed => (METHOD_NOT_ALLOWED, "method_not_allowed", "This method is not allowed here."),
    Conflict => (CONFLICT, "conflict", "This conflicts with existing data."),
    EmailTaken => (CONFLICT, "email_taken", "An account with this email already exists."),
    PersonAlreadyRegistered => (CONFLICT, "person_already_registered", "This person already has an account."),
    RejoinCooldown => (CONFLICT, "rejoin_cooldown", "This person deleted an account recently and cannot sign up again yet."),
    VerificationNotConfirmed => (CONFLICT, "verification_not_confirmed", "The identity verification is not confirmed yet."),
    VerificationAlreadyConfirmed => (CONFLICT, "verification_already_confirmed", "The identity verification is already confirmed."),
    VerificationAlreadyUsed => (CONFLICT, "verification_already_used", "The identity verification was already used."),
    VerificationPurposeMismatch => (CONFLICT, "verification_purpose_mismatch", "The identity verification was started for another purpose."),
    AccountNotFoundForPerson => (CONFLICT, "account_not_found_for_person", "No account belongs to this verified person."),
    ApplicationPending => (CONFLICT, "application_pending", "A seller application is already waiting for review."),
    AlreadySeller => (CONFLICT, "already_seller", "This account can already sell."),
    ApplicationAlreadyDecided => (CONFLICT, "application_already_decided", "This application was already decided."),
    VerificationExpired => (GONE, "verification_expired", "The identity verification expired; start again."),
    VerificationAttemptsExceeded => (GONE, "verification_attempts_exceeded", "Too many wrong codes; start the identity verification again."),
    VerificationFailed => (GONE, "verification_failed", "The identity verification failed; start again."),
    PayloadTooLarge => (PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large."),
    UnsupportedMediaType => (UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Send the body as application/json."),
    UpgradeRequired => (UPGRADE_REQUIRED, "upgrade_required", "This route takes WebSocket connections only; send a WebSocket upgrade request."),
    InvalidBody => (UNPROCESSABLE_ENTITY, "invalid_body", "The request body has a missing or wrongly typed field."),
    RateLimited => (TOO_MANY_REQUESTS, "rate_limited", "Too many requests; try again later."),
    AdNotActive => (GONE, "ad_not_active", "This ad is not running now."),
    AdEnded => (CONFLICT, "ad_ended", "This ad campaign was ended and cannot change."),
    SignatureInvalid => (BAD_REQUEST, "signature_invalid", "The signature does not check out."),
    SellerRequired => (FORBIDDEN, "seller_required", "Only an approved seller may do this."),
    NotAnchoredYet => (CONFLICT, "not_anchored_yet", "This record is not anchored on chain yet; try again shortly."),
    ProductRevoked => (CONFLICT, "product_revoked", "This product was revoked and cannot change."),
    AlreadyRevoked => (CONFLICT, "already_revoked", "This product is already revoked."),
    SignatureNotAwaited => (CONFLICT, "signature_not_awaited", "This record is already signed."),
    OwnRaffle => (FORBIDDEN, "own_raffle", "Sellers cannot enter their own raffles."),
    NotEntered => (NOT_FOUND, "not_entered", "You have no entry in this raffle."),
    ProductNotAnchored => (CONFLICT, "product_not_anchored", "The product's record is not anchored on chain yet."),
    EditionExhausted => (CONFLICT, "edition_exhausted", "The raffles of this product would give away more than its edition size."),
    RaffleNotOpen => (CONFLICT, "raffle_not_open", "This raffle is not taking entries."),
    AlreadyEntered => (CONFLICT, "already_entered", "You already entered this raffle."),
    RaffleNotCancellable => (CONFLICT, "raffle_not_cancellable", "Only a raffle that has not closed can be cancelled."),
    TicketsNotPublished => (CONFLICT, "tickets_not_published", "The ticket list is published when the raffle closes."),
    AmountMismatch => (BAD_REQUEST, "amount_mismatch", "The amount does not match the order."),
    PaymentRefused => (PAYMENT_REQUIRED, "payment_refused", "The payment provider refused the payment."),
    NotYourOrder => (FORBIDDEN, "not_your_order", "This order belongs to someone else."),
    UnknownPayment => (NOT_FOUND, "unknown_payment", "No order has this payment."),
    OrderExpired => (CONFLICT, "order_expired", "The payment deadline has passed; the order went to the next alternate."),
    AlreadyPaid => (CONFLICT, "already_paid", "This order is already paid."),
    OrderNotPayable => (CONFLICT, "order_not_payable", "This order cannot be paid."),
    OrderNotShippable => (CONFLICT, "order_not_shippable", "This order is not at that step."),
    OrderNotRefundable => (CONFLICT, "order_not_refundable", "Only a paid order that has not shipped can be refunded."),
    SkillUnauthorized => (UNAUTHORIZED, "skill_unauthorized", "This skill request is not from our KakaoTalk bot."),
    MessageTooLong => (BAD_REQUEST, "message_too_long", "The message is too long."),
    OwnProduct => (FORBIDDEN, "own_product", "Sellers cannot open a conversation about their own product."),
    TooManyConnections => (TOO_MANY_REQUESTS, "too_many_connections", "Too many chat connections are open for this account; close one first."),
    BusinessNumberTaken => (CONFLICT, "business_number_taken", "This business registration number already belongs to a seller or an application under review."),
    SellerHasOpenSales => (CONFLICT, "seller_has_open_sales", "This account still has raffles or orders under way; finish them before deleting it."),
    ConversationClosed => (CONFLICT, "conversation_closed", "The other side has deleted their account; this conversation takes no new messages."),
    DeliveryAddressRequired => (CONFLICT, "delivery_address_required", "Add a delivery address to your profile before paying."),
    PaymentInProgress => (CONFLICT, "payment_in_progress", "Another payment for this order is being confirmed; try again shortly."),
    EditionBelowWinners => (CONFLICT, "edition_below_winners", "The edition cannot be smaller than the winners its raffles already promise."),
    UnitsAlreadyIssued => (CONFLICT, "units_already_issued", "The units of this edition are already issued."),
    UnitsNotIssued => (CONFLICT, "units_not_issued", "The units of this edition are not issued yet."),
    EditionTooLargeForUnits => (CONFLICT, "edition_too_large_for_units", "Units can be issued for editions of up to 100,000."),
    UnitsNeedCustodialKey => (CONFLICT, "units_need_custodial_key", "Units are signed with the platform-held key; switch signing to custodial first."),
    ProductNotSigned => (CONFLICT, "product_not_signed", "The product's current record is not signed yet, or it was revoked."),
    UnitAlreadyOwned => (CONFLICT, "unit_already_owned", "This unit already has an owner, or this order already has its unit."),
    UnitReported => (CONFLICT, "unit_reported", "This unit is reported lost or stolen; withdraw the report first."),
    RecipientNotFound => (NOT_FOUND, "recipient_not_found", "No account has this email."),
    RecipientNotVerified => (CONFLICT, "recipient_not_verified", "The recipient has not verified their identity."),
    OfferPending => (CONFLICT, "offer_pending", "This unit already has an open transfer offer."),
    OfferNotPending => (CONFLICT, "offer_not_pending", "This offer is no longer open."),
    Internal => (INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side."),
    UpstreamError => (BAD_GATEWAY, "upstream_error", "An outside service failed; try again later."),
    Unavailable => (SERVICE_UNAVAILABLE, "unavailable", "The service is not available right now."),
    Timeout => (SERVICE_UNAVAILABLE, "timeout", "The request took too long."),
    Overloaded => (SERVICE_UNAVAILABLE, "overloaded", "The service is busy right now; try again in a moment."),
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

/// A field a domain refuses, and why: `validation_failed` naming the field at the boundary. A
/// domain's error enum holds it as `Invalid(#[from] Invalid)` and builds it with
/// [`Refuse::invalid`].
#[derive(Debug, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::validation(&e.field, &e.reason)
    }
}

/// `Error::invalid("field", "reason.")` for every error type that can hold an [`Invalid`].
pub trait Refuse: From<Invalid> {
    fn invalid(field: &str, reason: &str) -> Self {
        Invalid {
            field: field.to_owned(),
            reason: reason.to_owned(),
        }
        .into()
    }
}

impl<E: From<Invalid>> Refuse for E {}

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

    /// The rows of the table in docs/ERRORS.md: status, code, default message.
    fn documented_codes() -> Vec<(u16, String, String)> {
        include_str!("../../docs/ERRORS.md")
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line
                    .strip_prefix('|')?
                    .strip_suffix('|')?
                    .split('|')
                    .map(str::trim)
                    .collect();
                let [status, code, message] = cells[..] else {
                    return None;
                };
                let status = status.parse().ok()?;
                let code = code.strip_prefix('`')?.strip_suffix('`')?;
                Some((status, code.to_owned(), message.to_owned()))
            })
            .collect()
    }

    #[test]
    fn the_error_catalogue_documents_every_code_with_its_status_and_message() {
        let documented = documented_codes();
        for code in ErrorCode::ALL {
            let row = documented.iter().find(|(_, c, _)| c == code.as_str());
            let Some((status, _, message)) = row else {
                panic!("docs/ERRORS.md lacks the code {}", code.as_str());
            };
            assert_eq!(
                *status,
                code.status().as_u16(),
                "docs/ERRORS.md gives {} another status",
                code.as_str()
            );
            assert_eq!(
                message,
                code.default_message(),
                "docs/ERRORS.md gives {} another message",
                code.as_str()
            );
        }
    }

    #[test]
    fn the_error_catalogue_documents_no_code_the_service_lacks() {
        let documented = documented_codes();
        assert!(documented.len() >= ErrorCode::ALL.len());
        let mut seen = std::collections::HashSet::new();
        for (_, code, _) in &documented {
            assert!(seen.insert(code), "docs/ERRORS.md lists {code} twice");
            assert!(
                ErrorCode::ALL.iter().any(|c| c.as_str() == code),
                "docs/ERRORS.md lists {code}, which the service does not have"
            );
        }
    }
}
