//! The handlers that start what ends across domains. Each handler's doc says who may call it.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{erasure, revocation};
use crate::accounts::person::clean_text;
use crate::accounts::{self, Accounts, CurrentUser};
use crate::catalogue::routes::require_owner_or_admin;
use crate::catalogue::{Catalogue, Product};
use crate::http::{ApiError, ApiResult, ErrorBody, Json, Path};
use crate::orders::Orders;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    pub password: String,
}

/// Delete the account (회원탈퇴).
///
/// Any logged-in user, for themselves, with their password. Personal data is erased and every
/// session revoked; records the law keeps stay, detached from the person. The same person may
/// sign up again once the re-join cool-down (`REJOIN_COOLDOWN`, 30 days by default) has passed.
/// A seller is refused while raffles are not yet drawn, orders await payment or paid orders are
/// not shipped (the message says which); otherwise all their products are delisted.
#[utoipa::path(delete, path = "/v1/me", tag = "me",
    security(("bearer" = [])),
    request_body = DeleteAccount,
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`authentication_required`, `invalid_token`, `token_expired`, `session_revoked`", body = ErrorBody),
        (status = 403, description = "`wrong_password`", body = ErrorBody),
        (status = 409, description = "`seller_has_open_sales`: raffles not yet drawn, orders awaiting payment, or paid orders not shipped", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn delete_me(
    State(accounts): State<Accounts>,
    user: CurrentUser,
    Json(req): Json<DeleteAccount>,
) -> ApiResult<StatusCode> {
    accounts::confirm_password(&accounts, user.id, req.password).await?;
    let mut tx = accounts.db.begin().await?;
    erasure::delete_account(&mut tx, user.id).await?;
    tx.commit().await?;
    accounts.sessions.forget_user(user.id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// Why: a counterfeit report, a leaked key, …
    #[schema(example = "위조품 신고 확인", min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Revoke a product: every signed version is marked revoked on chain, and verification says so.
/// Revocation reaches everything sold under it: no new raffle; raffles not yet closing are
/// cancelled (on chain too); unpaid orders are cancelled, paid ones refunded, shipped ones
/// flagged for an admin; every buyer and entrant is told in their inbox.
///
/// The product's seller for their own, an admin for any.
#[utoipa::path(post, path = "/v1/products/{id}/revoke", tag = "catalogue",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id")),
    request_body = RevokeRequest,
    responses(
        (status = 200, description = "Revocation queued for the chain", body = Product),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`already_revoked`", body = ErrorBody)))]
pub async fn revoke(
    State(catalogue): State<Catalogue>,
    State(orders): State<Orders>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<RevokeRequest>,
) -> ApiResult<Json<Product>> {
    let reason = clean_text(&req.reason, 1, 500)
        .ok_or_else(|| ApiError::validation("reason", "must be 1 to 500 characters."))?;
    require_owner_or_admin(&catalogue, &user, id).await?;
    revocation::revoke(&catalogue, &orders, id, &reason).await?;
    Ok(Json(catalogue.product(id).await?))
}
