//! Seller applications: a verified buyer applies with a business registration number, an admin
//! approves (the applicant becomes a seller) or rejects with a reason. The states are in
//! [`super::states::ApplicationStatus`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::states::ApplicationStatus;
use super::store::{self, ApplicationRow};
use super::{Accounts, CurrentUser, Role, person};
use crate::http::Refuse as _;
use crate::http::error::unique_violation;

/// What can go wrong with a seller application. The HTTP boundary (`routes/sellers.rs`) gives
/// each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of the request is not acceptable.
    #[error(transparent)]
    Invalid(#[from] crate::http::Invalid),
    #[error("the account is already a seller or an admin")]
    AlreadySeller,
    #[error("the applicant's identity is not verified")]
    NotVerified,
    #[error("the applicant has a pending application")]
    Pending,
    /// Another account's pending or approved application holds the registration number.
    #[error("the business registration number is taken")]
    BusinessNumberTaken,
    #[error("no such application")]
    NotFound,
    #[error("the application is already decided")]
    AlreadyDecided,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

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
    pub status: ApplicationStatus,
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

/// Files an application for `user`: identity-verified buyers only, one pending at a time, a
/// registration number held by one account at a time.
pub async fn apply(
    accounts: &Accounts,
    user: &CurrentUser,
    req: SellerApplicationRequest,
) -> Result<SellerApplication, Error> {
    if user.role != Role::Buyer {
        return Err(Error::AlreadySeller);
    }
    if !user.identity_verified {
        return Err(Error::NotVerified);
    }
    let name = person::clean_text(&req.business_name, 1, 100)
        .ok_or_else(|| Error::invalid("business_name", "must be 1 to 100 characters."))?;
    let number =
        normalize_registration_number(&req.business_registration_number).ok_or_else(|| {
            Error::invalid(
                "business_registration_number",
                "is not a valid 사업자등록번호.",
            )
        })?;
    let row = store::insert_application(&accounts.db, Uuid::now_v7(), user.id, &name, &number)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some("seller_applications_one_pending") => Error::Pending,
            Some("seller_applications_one_per_number") => Error::BusinessNumberTaken,
            _ => Error::Db(e),
        })?;
    Ok(row.into())
}

/// The latest application of `user_id`.
pub async fn latest(accounts: &Accounts, user_id: Uuid) -> Result<SellerApplication, Error> {
    let row = store::latest_application(&accounts.db, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(row.into())
}

/// Applications oldest first, `limit` after `cursor`, and the cursor of the next page.
pub async fn list(
    accounts: &Accounts,
    status: Option<ApplicationStatus>,
    cursor: Option<Uuid>,
    limit: u32,
) -> Result<(Vec<SellerApplication>, Option<Uuid>), Error> {
    let limit = i64::from(limit);
    let rows = store::list_applications(&accounts.db, status, cursor, limit + 1).await?;
    let (rows, next_cursor) = crate::db::page_of(rows, limit, |r| r.id);
    Ok((rows.into_iter().map(Into::into).collect(), next_cursor))
}

/// An admin's decision on a pending application: `Approved` makes the applicant a seller in
/// the same transaction; `Rejected` needs a reason (1 to 500 characters, shown to the applicant).
pub async fn decide(
    accounts: &Accounts,
    admin: Uuid,
    id: Uuid,
    decision: ApplicationStatus,
    reason: Option<String>,
) -> Result<SellerApplication, Error> {
    let reason = reason
        .map(|r| {
            person::clean_text(&r, 1, 500)
                .ok_or_else(|| Error::invalid("reason", "must be 1 to 500 characters."))
        })
        .transpose()?;
    if decision == ApplicationStatus::Rejected && reason.is_none() {
        return Err(Error::invalid("reason", "is required when rejecting."));
    }
    let mut tx = accounts.db.begin().await?;
    let app = store::lock_application(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound)?;
    if !app.status.may_become(decision) {
        return Err(Error::AlreadyDecided);
    }
    let row = store::decide_application(&mut *tx, id, decision, admin, reason.as_deref())
        .await?
        .ok_or(Error::AlreadyDecided)?;
    if decision == ApplicationStatus::Approved {
        store::set_role(&mut *tx, app.user_id, Role::Seller).await?;
    }
    tx.commit().await?;
    // The new seller's next request, on this replica, is a seller's.
    accounts.sessions.forget_user(app.user_id);
    Ok(row.into())
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
