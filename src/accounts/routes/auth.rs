//! The `/v1/auth/*` handlers: sign-up, login, refresh, logout, password reset
//! (`accounts::auth`).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::auth::{
    self, AuthResponse, LoginRequest, PasswordResetRequest, PasswordResetResponse, SignupRequest,
};
use crate::accounts::{Accounts, CurrentUser, TokenPair};
use crate::http::{ApiResult, ClientIp, ErrorBody, Json};

/// Sign up with email, password and a confirmed identity verification.
///
/// Anyone may call this. One person, one account: a second sign-up by the same verified person
/// is refused with `person_already_registered`. Nothing is hashed until the verification has
/// been checked (exists, confirmed, unexpired, unused, for sign-up) and the attempt has passed
/// the limits per client address (`SIGNUP_LIMIT_PER_IP`) and per verification
/// (`VERIFICATION_USE_LIMIT`); the verification is used up only by the account's creation.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created and logged in", body = AuthResponse),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 404, description = "`verification_not_found`", body = ErrorBody),
        (status = 409, description = "`email_taken`, `person_already_registered`, `rejoin_cooldown`, `verification_not_confirmed`, `verification_already_used`, `verification_purpose_mismatch`", body = ErrorBody),
        (status = 410, description = "`verification_expired`, `verification_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full, nothing was used up; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn signup(
    State(accounts): State<Accounts>,
    ClientIp(ip): ClientIp,
    Json(req): Json<SignupRequest>,
) -> ApiResult<(StatusCode, Json<AuthResponse>)> {
    let created = auth::signup(&accounts, ip, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Log in with email and password.
///
/// Anyone may call this. Attempts are limited, before any password is checked, per client
/// address prefix (`LOGIN_LIMIT_PER_IP`), per account and address prefix
/// (`LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS`: a stranger's failures elsewhere do not lock the owner
/// out) and per account from all addresses together (`LOGIN_LIMIT_PER_ACCOUNT`, against
/// guessing from many addresses; a password reset clears it). Past a limit: 429 with
/// `Retry-After`. The limits are shared by every replica. An unknown email costs the same
/// argon2 verification as a wrong password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AuthResponse),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn login(
    State(accounts): State<Accounts>,
    ClientIp(ip): ClientIp,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<AuthResponse>> {
    Ok(Json(auth::login(&accounts, ip, req).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Trade a refresh token for a new token pair.
///
/// Whoever holds a live refresh token may call this. Each refresh token works once; presenting
/// one again ends its session (`refresh_token_reused`), since only a thief would do that. A
/// refresh never extends a session past `SESSION_MAX_LIFETIME` after its login; after that,
/// `session_expired`.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenPair),
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_reused`, `session_revoked`, `session_expired`", body = ErrorBody)))]
pub async fn refresh(
    State(accounts): State<Accounts>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(auth::refresh(&accounts, &req.refresh_token).await?))
}

/// Log out: end this session. Its access and refresh tokens stop working at once.
///
/// Any logged-in user, for their own session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "`authentication_required`, `invalid_token`, `session_revoked`", body = ErrorBody)))]
pub async fn logout(State(accounts): State<Accounts>, user: CurrentUser) -> ApiResult<StatusCode> {
    auth::logout(&accounts, user.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reset a forgotten password by verifying one's identity again. No email is needed.
///
/// Anyone holding a confirmed `password_reset` verification of the account's person. Every
/// session of the account is revoked and its login limits are cleared, so the owner can always
/// get back in. As with sign-up, nothing is hashed before the verification has been checked
/// and the attempt has passed `PASSWORD_RESET_LIMIT_PER_IP` and `VERIFICATION_USE_LIMIT`.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 200, description = "Password changed; log in again", body = PasswordResetResponse),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 404, description = "`verification_not_found`", body = ErrorBody),
        (status = 409, description = "`account_not_found_for_person`, `verification_not_confirmed`, `verification_already_used`, `verification_purpose_mismatch`", body = ErrorBody),
        (status = 410, description = "`verification_expired`, `verification_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full, nothing was used up; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn password_reset(
    State(accounts): State<Accounts>,
    ClientIp(ip): ClientIp,
    Json(req): Json<PasswordResetRequest>,
) -> ApiResult<Json<PasswordResetResponse>> {
    Ok(Json(auth::password_reset(&accounts, ip, req).await?))
}
