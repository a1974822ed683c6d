//! HTTP handlers of units. Each handler's doc says who may call it.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{Error, IssueRequest, UnitSet, UnitView, Units};
use crate::accounts::CurrentUser;
use crate::http::{ApiError, ApiResult, ClientIp, ErrorBody, ErrorCode, Json, Path, Query};
use crate::protocol::unit::UnitProof;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(e) => e.into(),
            Error::NotFound => ErrorCode::NotFound.into(),
            Error::NotSeller => ApiError::with_message(
                ErrorCode::Forbidden,
                "Only the product's seller may do this.",
            ),
            Error::AlreadyIssued => ErrorCode::UnitsAlreadyIssued.into(),
            Error::NotIssued => ErrorCode::UnitsNotIssued.into(),
            Error::EditionTooLarge => ErrorCode::EditionTooLargeForUnits.into(),
            Error::NeedsCustodialKey => ErrorCode::UnitsNeedCustodialKey.into(),
            Error::ProductNotReady => ErrorCode::ProductNotSigned.into(),
            Error::NotAnchoredYet => ErrorCode::NotAnchoredYet.into(),
            Error::Overloaded(e) => e.into(),
            Error::Catalogue(e) => e.into(),
            Error::Corrupt(_) => ApiError::internal(e),
            Error::Db(e) => e.into(),
        }
    }
}

/// Issue the units of a product's edition: serial 1 to N, each with its own code, signed as one
/// unit set with the seller's key and anchored with the product records. Once per product.
///
/// The product's seller only, with the platform-held (custodial) signing key.
#[utoipa::path(post, path = "/v1/products/{id}/units", tag = "units",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id")),
    request_body = IssueRequest,
    responses(
        (status = 201, description = "Issued; `chain` is `pending` until the unit set is anchored", body = UnitSet),
        (status = 400, description = "`validation_failed`: a GTIN whose check digit is wrong", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the product's seller", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`units_already_issued`, `product_not_signed`, `units_need_custodial_key`, `edition_too_large_for_units` (more than 100,000)", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
        (status = 503, description = "`overloaded`", body = ErrorBody)))]
pub async fn issue(
    State(units): State<Units>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<IssueRequest>,
) -> ApiResult<(StatusCode, Json<UnitSet>)> {
    Ok((
        StatusCode::CREATED,
        Json(units.issue(&user, id, req).await?),
    ))
}

/// A product's issued unit set.
///
/// The product's seller only.
#[utoipa::path(get, path = "/v1/products/{id}/units", tag = "units",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The unit set", body = UnitSet),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the product's seller", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`units_not_issued`", body = ErrorBody)))]
pub async fn set(
    State(units): State<Units>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<UnitSet>> {
    Ok(Json(units.set(&user, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LabelsQuery {
    /// The first serial on the sheet (default 1); a sheet holds 24 labels.
    #[param(minimum = 1)]
    pub from: Option<u32>,
}

/// A printable A4 sheet (SVG) of up to 24 unit labels, from serial `from` on: each a QR code of
/// the unit's URL (a GS1 Digital Link when the edition has a GTIN), its serial and its code.
///
/// The product's seller only: whoever holds the codes can print genuine-looking labels.
#[utoipa::path(get, path = "/v1/products/{id}/units/labels.svg", tag = "units",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id"), LabelsQuery),
    responses(
        (status = 200, description = "The sheet", content_type = "image/svg+xml", body = String),
        (status = 400, description = "`validation_failed`, `invalid_query_parameter`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the product's seller", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`units_not_issued`", body = ErrorBody),
        (status = 503, description = "`overloaded`", body = ErrorBody)))]
pub async fn labels(
    State(units): State<Units>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(q): Query<LabelsQuery>,
) -> ApiResult<Response> {
    let svg = units.labels(&user, id, q.from.unwrap_or(1)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        svg,
    )
        .into_response())
}

/// One unit by the code on its label.
///
/// Anyone may call this: the code is what its holder has.
#[utoipa::path(get, path = "/v1/units/{code}", tag = "units",
    params(("code" = String, Path, description = "The unit's code: 20 characters of Crockford base32", pattern = "^[0-9A-HJKMNP-TV-Z]{20}$")),
    responses(
        (status = 200, description = "The unit", body = UnitView),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn unit(
    State(units): State<Units>,
    Path(code): Path<String>,
) -> ApiResult<Json<UnitView>> {
    Ok(Json(units.unit(&code).await?))
}

/// The short unit URL a label without GTIN carries: the unit, as `GET /v1/units/{code}`. A
/// label scan: it is counted for clone detection (by client address prefix).
///
/// Anyone may call this.
#[utoipa::path(get, path = "/u/{code}", tag = "units",
    params(("code" = String, Path, description = "The unit's code", pattern = "^[0-9A-HJKMNP-TV-Z]{20}$")),
    responses(
        (status = 200, description = "The unit", body = UnitView),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn short_url(
    State(units): State<Units>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
) -> ApiResult<Json<UnitView>> {
    units.scan(&code, &super::place_of(ip)).await?;
    Ok(Json(units.unit(&code).await?))
}

/// The GS1 Digital Link a label of a product with a GTIN carries (AI 01 the GTIN, AI 21 the
/// unit's code): the unit, as `GET /v1/units/{code}`, if the code is of that GTIN's edition. A
/// label scan, counted as `/u/{code}` is.
///
/// Anyone may call this.
#[utoipa::path(get, path = "/01/{gtin}/21/{code}", tag = "units",
    params(
        ("gtin" = String, Path, description = "GTIN, 14 digits", pattern = "^[0-9]{14}$"),
        ("code" = String, Path, description = "The unit's code", pattern = "^[0-9A-HJKMNP-TV-Z]{20}$")),
    responses(
        (status = 200, description = "The unit", body = UnitView),
        (status = 404, description = "`not_found`: no such unit, or not of this GTIN", body = ErrorBody)))]
pub async fn digital_link(
    State(units): State<Units>,
    ClientIp(ip): ClientIp,
    Path((gtin, code)): Path<(String, String)>,
) -> ApiResult<Json<UnitView>> {
    units.check_gtin(&gtin, &code).await?;
    units.scan(&code, &super::place_of(ip)).await?;
    Ok(Json(units.unit(&code).await?))
}

/// A unit's proof: the unit record, its path to the edition's units root, the seller-signed
/// unit set and its anchoring. Check it as `docs/PROTOCOLS.md` §8 says.
///
/// Anyone may call this.
#[utoipa::path(get, path = "/v1/units/{code}/proof", tag = "units",
    params(("code" = String, Path, description = "The unit's code", pattern = "^[0-9A-HJKMNP-TV-Z]{20}$")),
    responses(
        (status = 200, description = "The proof", body = UnitProof),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`not_anchored_yet`", body = ErrorBody)))]
pub async fn proof(
    State(units): State<Units>,
    Path(code): Path<String>,
) -> ApiResult<Json<UnitProof>> {
    Ok(Json(units.proof(&code).await?))
}
