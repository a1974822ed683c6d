//! HTTP handlers of recommendations. Each handler's doc says who may call it.

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::service::{MAX_LIMIT, RecommendationList, Recommendations};
use crate::accounts::CurrentUser;
use crate::http::page;
use crate::http::{ApiError, ApiResult, ErrorBody, Json, Query};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecommendationQuery {
    /// 1 to 50, default 10.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// Products the caller can still act on (an open or scheduled raffle), ranked for them by age,
/// gender, purchases, raffle entries and product views, each with a short reason.
///
/// Any signed-in user, for themselves (sellers and admins too; never their own products).
#[utoipa::path(get, path = "/v1/me/recommendations", tag = "recommendations",
    security(("bearer" = [])),
    params(RecommendationQuery),
    responses(
        (status = 200, description = "Best first", body = RecommendationList),
        (status = 400, description = "`validation_failed` (limit) or `invalid_query_parameter`", body = ErrorBody),
        (status = 401, description = "`authentication_required`, `invalid_token`, `token_expired` or `session_revoked`", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn mine(
    State(reco): State<Recommendations>,
    user: CurrentUser,
    Query(q): Query<RecommendationQuery>,
) -> ApiResult<Json<RecommendationList>> {
    let limit = page::limit(q.limit, 10, MAX_LIMIT as u32)? as usize;
    Ok(Json(reco.for_user(user.id, limit).await?))
}

impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        use super::Error;
        match e {
            Error::Overloaded(e) => e.into(),
            Error::Catalogue(e) => ApiError::from(e),
            Error::Raffles(e) => ApiError::from(e),
            Error::Db(e) => e.into(),
        }
    }
}
