use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::accounts::store::{self, ApplicationRow};
use crate::accounts::{Accounts, CurrentUser, Role, person};
use crate::http::error::unique_violation;
use crate::http::page::{self, page};
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json, Path, Query};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SellerApplicationRequest {
    #[schema(example = "트러플 스니커즈", min_length = 1, max_length = 100)]
    pub business_name: String,
    /// 사업자등록번호, ten digits with or without dashes (`XXX-XX-XXXXX`) whose last digit is the
    /// check digit of the first nine (format `kr-business-registration-number`).
    #[schema(
        example = "220-81-62517",
        format = "kr-business-registration-number",
        pattern = r"^[0-9]{3}-?[0-9]{2}-?[0-9]{5}$"
    )]
    pub business_registration_number: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SellerApplication {
    pub id: Uuid,
    pub user_id: Uuid,
    pub business_name: String,
    pub business_registration_number: String,
    /// `pending`, `approved`, `rejected`, or `closed` (the account was deleted).
    #[schema(example = "pending")]
    pub status: String,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<ApplicationRow> for SellerApplication {
    fn from(r: ApplicationRow) -> Self {
        SellerApplication {
            id: r.id,
            user_id: r.user_id,
            business_name: r.business_name,
            business_registration_number: r.business_registration_number,
            status: r.status,
            decision_reason: r.decision_reason,
            decided_at: r.decided_at,
            created_at: r.created_at,
        }
    }
}

/// A Korean business registration number (`XXX-XX-XXXXX`) with a valid check digit.
pub fn normalize_registration_number(input: &str) -> Option<String> {
    if !input
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
    {
        return None;
    }
    let digits: Vec<u32> = input.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 10 {
        return None;
    }
    const WEIGHTS: [u32; 9] = [1, 3, 7, 1, 3, 7, 1, 3, 5];
    let mut sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    sum += digits[8] * 5 / 10;
    if (10 - sum % 10) % 10 != digits[9] {
        return None;
    }
    let s: String = digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
        .collect();
    Some(format!("{}-{}-{}", &s[0..3], &s[3..5], &s[5..10]))
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
    if user.role != Role::Buyer {
        return Err(ErrorCode::AlreadySeller.into());
    }
    if !user.identity_verified {
        return Err(ErrorCode::IdentityVerificationRequired.into());
    }
    let name = person::clean_text(&req.business_name, 1, 100)
        .ok_or_else(|| ApiError::validation("business_name", "must be 1 to 100 characters."))?;
    let number =
        normalize_registration_number(&req.business_registration_number).ok_or_else(|| {
            ApiError::validation(
                "business_registration_number",
                "is not a valid 사업자등록번호.",
            )
        })?;
    let row = store::insert_application(&accounts.db, Uuid::now_v7(), user.id, &name, &number)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some("seller_applications_one_pending") => ErrorCode::ApplicationPending.into(),
            Some("seller_applications_one_per_number") => ErrorCode::BusinessNumberTaken.into(),
            _ => ApiError::from(e),
        })?;
    Ok((StatusCode::CREATED, Json(row.into())))
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
    let row = store::latest_application(&accounts.db, user.id)
        .await?
        .ok_or(ErrorCode::NotFound)?;
    Ok(Json(row.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    /// `pending`, `approved`, `rejected` or `closed`; all when left out.
    pub status: Option<ApplicationStatusFilter>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationStatusFilter {
    Pending,
    Approved,
    Rejected,
    Closed,
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
    let limit = i64::from(page::limit(q.limit, 20, 100)?);
    let status = q.status.map(|s| match s {
        ApplicationStatusFilter::Pending => "pending",
        ApplicationStatusFilter::Approved => "approved",
        ApplicationStatusFilter::Rejected => "rejected",
        ApplicationStatusFilter::Closed => "closed",
    });
    let rows = store::list_applications(&accounts.db, status, q.cursor, limit + 1).await?;
    let (rows, next_cursor) = crate::db::page_of(rows, limit, |r| r.id);
    Ok(Json(ApplicationPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Shown to the applicant, 1 to 500 characters.
    #[schema(value_type = String, required = true, example = "사업자등록증 사본이 필요합니다.",
        min_length = 1, max_length = 500)]
    pub reason: Option<String>,
}

async fn decide(
    accounts: &Accounts,
    admin: CurrentUser,
    id: Uuid,
    approve: bool,
    reason: Option<String>,
) -> ApiResult<SellerApplication> {
    admin.require_admin()?;
    let reason = reason
        .map(|r| {
            person::clean_text(&r, 1, 500)
                .ok_or_else(|| ApiError::validation("reason", "must be 1 to 500 characters."))
        })
        .transpose()?;
    if !approve && reason.is_none() {
        return Err(ApiError::validation(
            "reason",
            "is required when rejecting.",
        ));
    }
    let mut tx = accounts.db.begin().await?;
    let app = store::lock_application(&mut *tx, id)
        .await?
        .ok_or(ErrorCode::NotFound)?;
    if app.status != "pending" {
        return Err(ErrorCode::ApplicationAlreadyDecided.into());
    }
    let status = if approve { "approved" } else { "rejected" };
    let row = store::decide_application(&mut *tx, id, status, admin.id, reason.as_deref()).await?;
    if approve {
        store::set_role(&mut *tx, app.user_id, Role::Seller).await?;
    }
    tx.commit().await?;
    Ok(row.into())
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
    Ok(Json(decide(&accounts, user, id, true, None).await?))
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
    Ok(Json(decide(&accounts, user, id, false, req.reason).await?))
}

#[cfg(test)]
mod tests {
    use super::normalize_registration_number as n;

    #[test]
    fn registration_numbers_need_a_valid_check_digit() {
        assert_eq!(n("2208162517").as_deref(), Some("220-81-62517"));
        assert_eq!(n("220-81-62517").as_deref(), Some("220-81-62517"));
        assert_eq!(n("220-81-62518"), None);
        assert_eq!(n("220-81-6251"), None);
        assert_eq!(n("22O-81-62517"), None);
    }
}
