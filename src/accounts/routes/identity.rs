use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::Accounts;
use crate::accounts::identity::{self, StartVerification, VerificationStatus};
use crate::http::{ApiError, ApiResult, ClientIp, ErrorBody, ErrorCode, Json, Path};

/// Start an identity verification (본인인증): the carrier sends a code by SMS.
///
/// Anyone may call this. Limited per phone number and per client address.
#[utoipa::path(post, path = "/v1/identity-verifications", tag = "identity",
    request_body = StartVerification,
    responses(
        (status = 201, description = "Code sent", body = VerificationStatus),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 410, description = "`verification_failed`: the carrier refused these details", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 502, description = "`upstream_error`", body = ErrorBody)))]
pub async fn start_verification(
    State(accounts): State<Accounts>,
    ClientIp(ip): ClientIp,
    Json(req): Json<StartVerification>,
) -> ApiResult<(StatusCode, Json<VerificationStatus>)> {
    let status = identity::start(&accounts, ip, req).await?;
    Ok((StatusCode::CREATED, Json(status)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmVerification {
    /// The digits from the SMS.
    #[schema(example = "123456", pattern = r"^[0-9]{4,10}$")]
    pub code: String,
}

/// Confirm an identity verification with the code from the SMS.
///
/// Anyone holding the verification id may call this. A wrong code may be retried until the
/// attempts run out; an expired or exhausted verification must be started again.
#[utoipa::path(post, path = "/v1/identity-verifications/{id}/confirm", tag = "identity",
    params(("id" = String, Path, description = "Verification id from the start call")),
    request_body = ConfirmVerification,
    responses(
        (status = 200, description = "Verified; use the id to sign up or reset a password", body = VerificationStatus),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 403, description = "`verification_code_invalid`: the code is wrong; the attempts left are in the message", body = ErrorBody),
        (status = 404, description = "`verification_not_found`", body = ErrorBody),
        (status = 409, description = "`verification_already_confirmed`, `verification_already_used`", body = ErrorBody),
        (status = 410, description = "`verification_expired`, `verification_attempts_exceeded`, `verification_failed`", body = ErrorBody),
        (status = 502, description = "`upstream_error`", body = ErrorBody)))]
pub async fn confirm_verification(
    State(accounts): State<Accounts>,
    Path(id): Path<String>,
    Json(req): Json<ConfirmVerification>,
) -> ApiResult<Json<VerificationStatus>> {
    Ok(Json(identity::confirm(&accounts, &id, &req.code).await?))
}

impl From<identity::Error> for ApiError {
    fn from(e: identity::Error) -> Self {
        use identity::Error;
        match e {
            Error::Invalid(e) => e.into(),
            Error::RateLimited(wait) => ApiError::rate_limited(wait),
            Error::SendRejected(_) => ApiError::with_source(ErrorCode::VerificationFailed, e),
            Error::ProviderRefused(why) => ApiError::with_message(
                ErrorCode::ValidationFailed,
                format!("The provider refused the request: {why}"),
            ),
            Error::Provider(e) => ApiError::with_source(ErrorCode::UpstreamError, e),
            Error::WrongCode { left } => ApiError::with_message(
                ErrorCode::VerificationCodeInvalid,
                format!(
                    "The verification code is wrong; {left} attempt{} left.",
                    if left == 1 { "" } else { "s" }
                ),
            ),
            Error::NotFound => ErrorCode::VerificationNotFound.into(),
            Error::NotConfirmed => ErrorCode::VerificationNotConfirmed.into(),
            Error::AlreadyConfirmed => ErrorCode::VerificationAlreadyConfirmed.into(),
            Error::AlreadyUsed => ErrorCode::VerificationAlreadyUsed.into(),
            Error::Expired => ErrorCode::VerificationExpired.into(),
            Error::AttemptsExceeded => ErrorCode::VerificationAttemptsExceeded.into(),
            Error::Failed => ErrorCode::VerificationFailed.into(),
            Error::PurposeMismatch => ErrorCode::VerificationPurposeMismatch.into(),
            Error::Corrupt(_) => ApiError::internal(e),
            Error::Db(e) => e.into(),
        }
    }
}
