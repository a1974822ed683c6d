//! The seller-application handlers: buyers apply, admins decide (`accounts::sellers`).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::accounts::sellers::{self, Error, SellerApplication, SellerApplicationRequest};
use crate::accounts::states::ApplicationStatus;
use crate::accounts::{Accounts, CurrentUser};
use crate::http::page::{self, page};
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json, Path, Query};

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(e) => e.into(),
            Error::AlreadySeller => ErrorCode::AlreadySeller.into(),
            Error::NotVerified => ErrorCode::IdentityVerificationRequired.into(),
            Error::Pending => ErrorCode::ApplicationPending.into(),
            Error::BusinessNumberTaken => ErrorCode::BusinessNumberTaken.into(),
            Error::NotFound => ErrorCode::NotFound.into(),
            Error::AlreadyDecided => ErrorCode::ApplicationAlreadyDecided.into(),
            Error::Db(e) => e.into(),
        }
    }
}

/// Apply to sell. An admin approves or rejects the application.
///
/// Identity-verified buyers only; one pending application at a time. A business registration
/// number belongs to one seller: it is refused while another account's application with it is
/// pending or approved (a rejected application, or a deleted account, frees it).
#[utoipa::path(post, path = "/v1/me/seller-application", tag = "sellers",
    security(("bearer" = [])),
    request_body = SellerApplicationRequest,
    responses(
        (status = 201, description = "Application filed", body = SellerApplication),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`identity_verification_required`", body = ErrorBody),
        (status = 409, description = "`already_seller`, `application_pending`, `business_number_taken`", body = ErrorBody)))]
pub async fn apply(
    State(accounts): State<Accounts>,
    user: CurrentUser,
    Json(req): Json<SellerApplicationRequest>,
) -> ApiResult<(StatusCode, Json<SellerApplication>)> {
    let application = sellers::apply(&accounts, &user, req).await?;
    Ok((StatusCode::CREATED, Json(application)))
}

/// The caller's latest seller application.
///
/// Any logged-in user, for themselves.
#[utoipa::path(get, path = "/v1/me/seller-application", tag = "sellers",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The latest application", body = SellerApplication),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: never applied", body = ErrorBody)))]
pub async fn my_application(
    State(accounts): State<Accounts>,
    user: CurrentUser,
) -> ApiResult<Json<SellerApplication>> {
    Ok(Json(sellers::latest(&accounts, user.id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    /// All when left out.
    pub status: Option<ApplicationStatus>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

page!(ApplicationPage, SellerApplication, Uuid);

/// List seller applications, oldest first.
///
/// Admins only.
#[utoipa::path(get, path = "/v1/admin/seller-applications", tag = "admin",
    security(("bearer" = [])),
    params(ApplicationQuery),
    responses(
        (status = 200, description = "A page of applications", body = ApplicationPage),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody)))]
pub async fn list_applications(
    State(accounts): State<Accounts>,
    user: CurrentUser,
    Query(q): Query<ApplicationQuery>,
) -> ApiResult<Json<ApplicationPage>> {
    user.require_admin()?;
    let limit = page::limit(q.limit, 20, 100)?;
    let (items, next_cursor) = sellers::list(&accounts, q.status, q.cursor, limit).await?;
    Ok(Json(ApplicationPage { items, next_cursor }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Shown to the applicant, 1 to 500 characters.
    #[schema(value_type = String, required = true, example = "사업자등록증 사본이 필요합니다.",
        min_length = 1, max_length = 500)]
    pub reason: Option<String>,
}

/// Approve a seller application: the applicant becomes a seller.
///
/// Admins only.
#[utoipa::path(post, path = "/v1/admin/seller-applications/{id}/approve", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 200, description = "Approved", body = SellerApplication),
        (status = 400, description = "`invalid_path_parameter`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`application_already_decided`", body = ErrorBody)))]
pub async fn approve(
    State(accounts): State<Accounts>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<SellerApplication>> {
    user.require_admin()?;
    let decision = ApplicationStatus::Approved;
    Ok(Json(
        sellers::decide(&accounts, user.id, id, decision, None).await?,
    ))
}

/// Reject a seller application, with a reason for the applicant.
///
/// Admins only.
#[utoipa::path(post, path = "/v1/admin/seller-applications/{id}/reject", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Application id")),
    request_body = Decision,
    responses(
        (status = 200, description = "Rejected", body = SellerApplication),
        (status = 400, description = "`validation_failed`, `invalid_path_parameter`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`application_already_decided`", body = ErrorBody)))]
pub async fn reject(
    State(accounts): State<Accounts>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<Decision>,
) -> ApiResult<Json<SellerApplication>> {
    user.require_admin()?;
    let decision = ApplicationStatus::Rejected;
    Ok(Json(
        sellers::decide(&accounts, user.id, id, decision, req.reason).await?,
    ))
}
