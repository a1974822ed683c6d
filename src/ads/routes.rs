//! HTTP handlers of the ads domain. Each handler's doc says who may call it.

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    Ads, Campaign, CampaignPatch, CampaignStats, MAX_SERVED, NewCampaign, Placement, ServedAd,
    Viewer,
};
use crate::accounts::CurrentUser;
use crate::http::extract::ClientIp;
use crate::http::page::{self, page};
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json, Path, Query};

fn placement_param(s: &str) -> Result<Placement, ApiError> {
    Placement::parse(s).map_err(|why| {
        ApiError::with_message(
            ErrorCode::InvalidQueryParameter,
            format!("placement: {why}"),
        )
    })
}

/// Create a campaign. Image and target URLs must be https; they are stored normalised.
///
/// Admins only.
#[utoipa::path(post, path = "/v1/admin/ads", tags = ["ads", "admin"],
    security(("bearer" = [])),
    request_body = NewCampaign,
    responses(
        (status = 201, description = "Created", body = Campaign),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody)))]
pub async fn create(
    State(ads): State<Ads>,
    user: CurrentUser,
    Json(req): Json<NewCampaign>,
) -> ApiResult<(StatusCode, Json<Campaign>)> {
    user.require_admin()?;
    Ok((StatusCode::CREATED, Json(ads.create(user.id, req).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this placement.
    #[param(value_type = Option<Placement>)]
    pub placement: Option<String>,
    /// The last id of the previous page.
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

page!(CampaignPage, Campaign, Uuid);

/// Every campaign, newest first, whatever its status.
///
/// Admins only.
#[utoipa::path(get, path = "/v1/admin/ads", tags = ["ads", "admin"],
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of campaigns", body = CampaignPage),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody)))]
pub async fn list(
    State(ads): State<Ads>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<CampaignPage>> {
    user.require_admin()?;
    let placement = q.placement.as_deref().map(placement_param).transpose()?;
    let limit = page::limit(q.limit, 20, 100)?;
    let (items, next_cursor) = ads.list(placement, q.cursor, i64::from(limit)).await?;
    Ok(Json(CampaignPage { items, next_cursor }))
}

/// One campaign.
///
/// Admins only.
#[utoipa::path(get, path = "/v1/admin/ads/{id}", tags = ["ads", "admin"],
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = Campaign),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn get(
    State(ads): State<Ads>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Campaign>> {
    user.require_admin()?;
    Ok(Json(ads.campaign(id).await?))
}

/// Change a campaign; fields left out keep their values. `paused: true` stops serving it until
/// `paused: false`. A campaign ended by an admin cannot change (`ad_ended`).
///
/// Admins only.
#[utoipa::path(patch, path = "/v1/admin/ads/{id}", tags = ["ads", "admin"],
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = CampaignPatch,
    responses(
        (status = 200, description = "The changed campaign", body = Campaign),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`ad_ended`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody)))]
pub async fn update(
    State(ads): State<Ads>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(patch): Json<CampaignPatch>,
) -> ApiResult<Json<Campaign>> {
    user.require_admin()?;
    Ok(Json(ads.update(id, patch).await?))
}

/// End a campaign now, for good: it is no longer served and its clicks get `ad_not_active`.
/// Ending an ended campaign changes nothing. Its statistics stay.
///
/// Admins only.
#[utoipa::path(post, path = "/v1/admin/ads/{id}/end", tags = ["ads", "admin"],
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The ended campaign", body = Campaign),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn end(
    State(ads): State<Ads>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Campaign>> {
    user.require_admin()?;
    Ok(Json(ads.end(id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First Korean day (YYYY-MM-DD), inclusive. Default: 29 days before `to`.
    pub from: Option<NaiveDate>,
    /// Last Korean day (YYYY-MM-DD), inclusive. Default: today in Korea. At most 366 days in all.
    pub to: Option<NaiveDate>,
}

/// A campaign's impressions, clicks and CTR per Korean day (Asia/Seoul), every day of the range
/// listed, with totals. CTR is clicks / impressions as a fraction, null for a day without
/// impressions.
///
/// Admins only.
#[utoipa::path(get, path = "/v1/admin/ads/{id}/stats", tags = ["ads", "admin"],
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id"), StatsQuery),
    responses(
        (status = 200, description = "Counters per day", body = CampaignStats),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn stats(
    State(ads): State<Ads>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Json<CampaignStats>> {
    user.require_admin()?;
    Ok(Json(ads.stats(id, q.from, q.to).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ServeQuery {
    /// `home_top`, `search_top`, `product_detail` or `raffle_list`.
    #[param(value_type = Placement)]
    pub placement: String,
    /// How many banners, 1 to 5, default 1.
    #[param(minimum = 1, maximum = 5)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ServedAds {
    /// Distinct live banners chosen by weight; empty when the placement has none.
    pub items: Vec<ServedAd>,
}

/// Banners for a placement: live campaigns (within their schedule, not paused or ended), chosen
/// at random in proportion to their weights, without repeats. Each banner returned counts one
/// impression, unless the same viewer (the logged-in user, else a keyed hash of the client's
/// address prefix) had one counted for it within `ADS_IMPRESSION_DEDUP_WINDOW`; the answer is
/// never cached (`Cache-Control: no-store`). Link each banner to its `click_url`.
///
/// Anyone (an access token, if sent and valid, names the viewer).
#[utoipa::path(get, path = "/v1/ads", tag = "ads",
    params(ServeQuery),
    responses(
        (status = 200, description = "Banners to show", body = ServedAds),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody)))]
pub async fn serve(
    State(ads): State<Ads>,
    Query(q): Query<ServeQuery>,
    ClientIp(ip): ClientIp,
    user: Result<CurrentUser, ApiError>,
) -> ApiResult<Response> {
    let placement = placement_param(&q.placement)?;
    let limit = page::limit(q.limit, 1, MAX_SERVED)?;
    let items = ads.serve(placement, limit, viewer(&user, ip)).await?;
    Ok((no_store(), Json(ServedAds { items })).into_response())
}

/// Who a request is for de-duplication: a stale or broken token does not refuse a banner, the
/// viewer is then anonymous.
fn viewer(user: &Result<CurrentUser, ApiError>, ip: std::net::IpAddr) -> Viewer {
    match user {
        Ok(user) => Viewer::User(user.id),
        Err(_) => Viewer::Anonymous { ip },
    }
}

/// Follow a banner: counts the click and redirects (302) to the campaign's registered target
/// URL. Nothing in the request changes where it goes; query parameters are ignored. Repeated
/// clicks of one viewer (the logged-in user, else a keyed hash of the client's address prefix,
/// whatever its User-Agent) within `ADS_CLICK_DEDUP_WINDOW` count once but are still
/// redirected. HEAD answers the same and counts nothing.
///
/// Anyone (an access token, if sent and valid, names the viewer).
#[utoipa::path(get, path = "/v1/ads/{id}/click", tag = "ads",
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 302, description = "To the campaign's target",
            headers(("Location" = String, description = "The registered target URL"))),
        (status = 400, description = "`invalid_path_parameter`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 410, description = "`ad_not_active`: not started, over, paused or ended; no redirect", body = ErrorBody)))]
pub async fn click(
    State(ads): State<Ads>,
    method: Method,
    Path(id): Path<Uuid>,
    ClientIp(ip): ClientIp,
    user: Result<CurrentUser, ApiError>,
) -> ApiResult<Response> {
    let click = ads
        .click(id, viewer(&user, ip), method != Method::HEAD)
        .await?;
    let location = HeaderValue::from_str(&click.target_url).map_err(|e| {
        ApiError::internal(anyhow::anyhow!(
            "stored target of ad {id} is no header: {e}"
        ))
    })?;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

/// The HTTP answer to each ads error.
impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        use super::Error;
        match e {
            Error::Invalid(e) => e.into(),
            Error::NotFound => ErrorCode::NotFound.into(),
            Error::Ended => ErrorCode::AdEnded.into(),
            Error::NotActive => ErrorCode::AdNotActive.into(),
            Error::Corrupt(_) => ApiError::internal(e),
            Error::Db(e) => e.into(),
        }
    }
}
