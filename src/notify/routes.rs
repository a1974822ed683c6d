use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Notification;
use crate::accounts::CurrentUser;
use crate::http::page::{self, page};
use crate::http::{ApiError, ApiResult, ErrorBody, Json, Query};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only unread ones.
    pub unread: Option<bool>,
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

page!(NotificationPage, Notification, Uuid);

/// The caller's notifications, newest first.
///
/// Any logged-in user, for themselves.
#[utoipa::path(get, path = "/v1/me/notifications", tag = "me",
    security(("bearer" = [])),
    params(InboxQuery),
    responses(
        (status = 200, description = "A page of notifications", body = NotificationPage),
        (status = 401, description = "`authentication_required`", body = ErrorBody)))]
pub async fn inbox(
    State(db): State<PgPool>,
    user: CurrentUser,
    Query(q): Query<InboxQuery>,
) -> ApiResult<Json<NotificationPage>> {
    let limit = i64::from(page::limit(q.limit, 20, 100)?);
    let rows = super::list(&db, user.id, q.unread.unwrap_or(false), q.cursor, limit + 1).await?;
    let (items, next_cursor) = crate::db::page_of(rows, limit, |n| n.id);
    Ok(Json(NotificationPage { items, next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MarkNotificationsRead)]
pub struct MarkRead {
    /// Which to mark read; all of them when left out.
    pub ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Marked {
    pub marked: u64,
}

/// Mark notifications read.
///
/// Any logged-in user, for their own notifications (others' ids are ignored).
#[utoipa::path(post, path = "/v1/me/notifications/read", tag = "me",
    security(("bearer" = [])),
    request_body = MarkRead,
    responses(
        (status = 200, description = "How many were marked", body = Marked),
        (status = 401, description = "`authentication_required`", body = ErrorBody)))]
pub async fn mark_read(
    State(db): State<PgPool>,
    user: CurrentUser,
    Json(req): Json<MarkRead>,
) -> ApiResult<Json<Marked>> {
    let marked = super::mark_read(&db, user.id, req.ids.as_deref()).await?;
    Ok(Json(Marked { marked }))
}

/// The HTTP answer to each inbox error.
impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        match e {
            super::Error::Db(e) => e.into(),
        }
    }
}
