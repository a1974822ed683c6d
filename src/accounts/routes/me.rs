//! The `/v1/me` handlers: the caller's profile and password (`accounts::profile`).

use axum::extract::State;
use axum::http::StatusCode;

use crate::accounts::profile::{self, PasswordChange, ProfileUpdate};
use crate::accounts::{Accounts, CurrentUser, Profile};
use crate::http::{ApiResult, ErrorBody, Json};

/// The caller's profile (MyPage).
///
/// Any logged-in user, for themselves.
#[utoipa::path(get, path = "/v1/me", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = Profile),
        (status = 401, description = "`authentication_required`, `invalid_token`, `token_expired`, `session_revoked`", body = ErrorBody)))]
pub async fn get_me(
    State(accounts): State<Accounts>,
    user: CurrentUser,
) -> ApiResult<Json<Profile>> {
    Ok(Json(profile::profile(&accounts, user.id).await?))
}

/// Update the caller's profile: name, nickname, delivery address, marketing consent.
///
/// Any logged-in user, for themselves. Fields left out stay as they are.
#[utoipa::path(patch, path = "/v1/me", tag = "me",
    security(("bearer" = [])),
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The updated profile", body = Profile),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`, `invalid_token`, `session_revoked`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody)))]
pub async fn update_me(
    State(accounts): State<Accounts>,
    user: CurrentUser,
    Json(req): Json<ProfileUpdate>,
) -> ApiResult<Json<Profile>> {
    Ok(Json(profile::update(&accounts, user.id, req).await?))
}

/// Change the password. Every other session of the account is revoked; this one stays.
///
/// Any logged-in user, for themselves, with their current password.
#[utoipa::path(put, path = "/v1/me/password", tag = "me",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`, `invalid_token`, `session_revoked`", body = ErrorBody),
        (status = 403, description = "`wrong_password`", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn change_password(
    State(accounts): State<Accounts>,
    user: CurrentUser,
    Json(req): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    profile::change_password(&accounts, &user, req).await?;
    Ok(StatusCode::NO_CONTENT)
}
