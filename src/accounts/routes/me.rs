use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::double_option;
use crate::accounts::{Accounts, CurrentUser, DeliveryAddress, Profile};
use crate::accounts::{password, person, store};
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json};

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
    let row = store::find_user(&accounts.db, user.id)
        .await?
        .ok_or(ErrorCode::SessionRevoked)?;
    Ok(Json(row.into()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// Display and delivery name. The verified legal name is kept apart and cannot change.
    #[schema(example = "김민수", min_length = 1, max_length = 50)]
    pub name: Option<String>,
    /// 2 to 20 characters once trimmed; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "스니커헤드", min_length = 2, max_length = 20)]
    pub nickname: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DeliveryAddress>)]
    pub delivery_address: Option<Option<DeliveryAddress>>,
    pub marketing_consent: Option<bool>,
}

fn check_address(a: DeliveryAddress) -> Result<DeliveryAddress, ApiError> {
    let field = |name: &str, value: &str, max: usize| {
        person::clean_text(value, 1, max).ok_or_else(|| {
            ApiError::validation(
                &format!("delivery_address.{name}"),
                &format!("must be 1 to {max} characters."),
            )
        })
    };
    let postal_code = a.postal_code.trim().to_owned();
    if postal_code.len() != 5 || !postal_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(
            "delivery_address.postal_code",
            "must be 5 digits.",
        ));
    }
    let phone = person::normalize_mobile(&a.phone)
        .or_else(|| {
            // Landlines are fine for a delivery: digits and dashes, 9 to 11 digits.
            let digits: String = a.phone.chars().filter(char::is_ascii_digit).collect();
            (a.phone.chars().all(|c| c.is_ascii_digit() || c == '-')
                && (9..=11).contains(&digits.len()))
            .then_some(digits)
        })
        .ok_or_else(|| {
            ApiError::validation("delivery_address.phone", "must be a Korean phone number.")
        })?;
    Ok(DeliveryAddress {
        recipient: field("recipient", &a.recipient, 50)?,
        phone,
        postal_code,
        address: field("address", &a.address, 200)?,
        address_detail: a
            .address_detail
            .map(|d| field("address_detail", &d, 100))
            .transpose()?,
    })
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
    let change = store::ProfileChange {
        name: req
            .name
            .map(|n| {
                person::clean_text(&n, 1, 50)
                    .ok_or_else(|| ApiError::validation("name", "must be 1 to 50 characters."))
            })
            .transpose()?,
        nickname: req
            .nickname
            .map(|n| {
                n.map(|n| {
                    person::clean_text(&n, 2, 20).ok_or_else(|| {
                        ApiError::validation("nickname", "must be 2 to 20 characters.")
                    })
                })
                .transpose()
            })
            .transpose()?,
        delivery_address: req
            .delivery_address
            .map(|a| a.map(check_address).transpose())
            .transpose()?,
        marketing_consent: req.marketing_consent,
    };
    let row = store::update_profile(&accounts.db, user.id, change)
        .await?
        .ok_or(ErrorCode::SessionRevoked)?;
    Ok(Json(row.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    #[schema(schema_with = password::policy_schema)]
    pub new_password: String,
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
    let email = store::find_user(&accounts.db, user.id)
        .await?
        .and_then(|u| u.email);
    password::check_policy(&req.new_password, email.as_deref())
        .map_err(|why| ApiError::validation("new_password", &format!("{why}.")))?;
    let current = store::password_hash(&accounts.db, user.id).await?;
    if !password::verify_on(&accounts.cpu, req.current_password, current).await? {
        return Err(ErrorCode::WrongPassword.into());
    }
    let hash = password::hash_on(&accounts.cpu, req.new_password).await?;
    let mut tx = accounts.db.begin().await?;
    store::set_password(&mut *tx, user.id, &hash).await?;
    store::revoke_sessions(&mut *tx, user.id, Some(user.session_id), "password_changed").await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
