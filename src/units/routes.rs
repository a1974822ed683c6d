//! HTTP handlers of units. Each handler's doc says who may call it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::owners::{AssignRequest, Offer, OfferRequest, OfferStatus, OwnedUnit, ReportRequest};
use super::{Error, IssueRequest, UnitSet, UnitView, Units};
use crate::accounts::CurrentUser;
use crate::http::{ApiError, ApiResult, ClientIp, ErrorBody, ErrorCode, Json, Path, Query};
use crate::protocol::transfer::History;
use crate::protocol::unit::UnitProof;
use crate::web::Page;

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
            Error::NoAttester => ApiError::with_message(
                ErrorCode::Unavailable,
                "Ownership records need the chain settings, which this server lacks.",
            ),
            Error::OrderNotShipped => ApiError::with_message(
                ErrorCode::OrderNotShippable,
                "Record the unit once the order is shipped.",
            ),
            Error::AlreadyOwned => ErrorCode::UnitAlreadyOwned.into(),
            Error::NotOwner => {
                ApiError::with_message(ErrorCode::Forbidden, "Only the unit's owner may do this.")
            }
            Error::Reported => ErrorCode::UnitReported.into(),
            Error::RecipientNotFound => ErrorCode::RecipientNotFound.into(),
            Error::RecipientNotVerified => ErrorCode::RecipientNotVerified.into(),
            Error::OfferPending => ErrorCode::OfferPending.into(),
            Error::OfferNotPending => ErrorCode::OfferNotPending.into(),
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

/// The short unit URL a label without GTIN carries: for a browser (`Accept: text/html`), the
/// verification page, which checks the unit, its product and its owners in the visitor's
/// browser; otherwise the unit, as `GET /v1/units/{code}`. A label scan: it is counted for
/// clone detection (by client address prefix).
///
/// Anyone may call this.
#[utoipa::path(get, path = "/u/{code}", tag = "units",
    params(("code" = String, Path, description = "The unit's code", pattern = "^[0-9A-HJKMNP-TV-Z]{20}$")),
    responses(
        (status = 200, description = "The unit as JSON, or the verification page (`text/html`) when asked for", body = UnitView),
        (status = 304, description = "The page, not modified (`If-None-Match`)"),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn short_url(
    State(units): State<Units>,
    State(page): State<Page>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    units.scan(&code, &super::place_of(ip)).await?;
    scanned(&units, &page, &headers, &code).await
}

/// A label's answer: the verification page for a browser, the unit as JSON for anything else.
async fn scanned(
    units: &Units,
    page: &Page,
    headers: &HeaderMap,
    code: &str,
) -> ApiResult<Response> {
    let unit = units.unit(code).await?;
    Ok(if crate::web::wants_page(headers) {
        page.respond(headers)
    } else {
        Json(unit).into_response()
    })
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
        (status = 200, description = "The unit as JSON, or the verification page (`text/html`) when asked for", body = UnitView),
        (status = 304, description = "The page, not modified (`If-None-Match`)"),
        (status = 404, description = "`not_found`: no such unit, or not of this GTIN", body = ErrorBody)))]
pub async fn digital_link(
    State(units): State<Units>,
    State(page): State<Page>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    Path((gtin, code)): Path<(String, String)>,
) -> ApiResult<Response> {
    units.check_gtin(&gtin, &code).await?;
    units.scan(&code, &super::place_of(ip)).await?;
    scanned(&units, &page, &headers, &code).await
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

const CODE: &str = "The unit's code: 20 characters of Crockford base32";

/// Record which unit was shipped for an order: the order's buyer becomes the unit's first owner,
/// in a signed `truffle.transfer/1` record (kind `raffle_win`, naming the raffle) that is
/// anchored with the next batch.
///
/// The order's seller only, once the order is shipped (others: `404`).
#[utoipa::path(post, path = "/v1/orders/{id}/unit", tag = "units",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = AssignRequest,
    responses(
        (status = 201, description = "The unit, as its new owner sees it", body = OwnedUnit),
        (status = 400, description = "`validation_failed`: a serial outside the edition", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such order of yours", body = ErrorBody),
        (status = 409, description = "`order_not_shippable` (not shipped yet), `units_not_issued`, `unit_already_owned`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
        (status = 503, description = "`unavailable`: no chain settings", body = ErrorBody)))]
pub async fn assign(
    State(units): State<Units>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<AssignRequest>,
) -> ApiResult<(StatusCode, Json<OwnedUnit>)> {
    Ok((
        StatusCode::CREATED,
        Json(units.assign_to_order(&user, id, req.serial).await?),
    ))
}

/// The units you hold, each with the pseudonym its records name you by.
///
/// Any logged-in account; each sees only its own.
#[utoipa::path(get, path = "/v1/me/units", tag = "units",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your units", body = [OwnedUnit]),
        (status = 401, description = "`authentication_required`", body = ErrorBody)))]
pub async fn mine(
    State(units): State<Units>,
    user: CurrentUser,
) -> ApiResult<Json<Vec<OwnedUnit>>> {
    Ok(Json(units.my_units(&user).await?))
}

/// Offer a unit you hold to another account, which must have verified its identity and must
/// accept. One open offer per unit.
///
/// The unit's owner only (others: `403`).
#[utoipa::path(post, path = "/v1/units/{code}/offers", tag = "units",
    security(("bearer" = [])),
    params(("code" = String, Path, description = CODE, pattern = "^[0-9A-HJKMNP-TV-Z]{20}$")),
    request_body = OfferRequest,
    responses(
        (status = 201, description = "The offer, waiting for the recipient", body = Offer),
        (status = 400, description = "`validation_failed`: not an email, or your own", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the unit's owner", body = ErrorBody),
        (status = 404, description = "`not_found`, `recipient_not_found`", body = ErrorBody),
        (status = 409, description = "`recipient_not_verified`, `offer_pending`, `unit_reported`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody)))]
pub async fn offer(
    State(units): State<Units>,
    user: CurrentUser,
    Path(code): Path<String>,
    Json(req): Json<OfferRequest>,
) -> ApiResult<(StatusCode, Json<Offer>)> {
    Ok((
        StatusCode::CREATED,
        Json(units.offer(&user, &code, req).await?),
    ))
}

/// The transfer offers you made or received, newest first (at most 100).
///
/// Any logged-in account; each sees only its own.
#[utoipa::path(get, path = "/v1/me/offers", tag = "units",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your offers", body = [Offer]),
        (status = 401, description = "`authentication_required`", body = ErrorBody)))]
pub async fn my_offers(
    State(units): State<Units>,
    user: CurrentUser,
) -> ApiResult<Json<Vec<Offer>>> {
    Ok(Json(units.offers(&user).await?))
}

/// Accept an offer: you become the unit's owner, in a signed `truffle.transfer/1` record linked
/// to the previous one and anchored with the next batch.
///
/// The offer's recipient only, with a verified identity (others: `404`).
#[utoipa::path(post, path = "/v1/offers/{id}/accept", tag = "units",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    responses(
        (status = 200, description = "Accepted", body = Offer),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`offer_not_pending`, `unit_reported`, `recipient_not_verified`", body = ErrorBody),
        (status = 503, description = "`unavailable`: no chain settings", body = ErrorBody)))]
pub async fn accept(
    State(units): State<Units>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Offer>> {
    Ok(Json(units.accept(&user, id).await?))
}

/// Decline an offer made to you.
///
/// The offer's recipient only (others: `404`).
#[utoipa::path(post, path = "/v1/offers/{id}/decline", tag = "units",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    responses(
        (status = 200, description = "Declined", body = Offer),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`offer_not_pending`", body = ErrorBody)))]
pub async fn decline(
    State(units): State<Units>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Offer>> {
    Ok(Json(
        units.end_offer(&user, id, OfferStatus::Declined).await?,
    ))
}

/// Withdraw an offer you made.
///
/// The offer's maker only (others: `404`).
#[utoipa::path(post, path = "/v1/offers/{id}/cancel", tag = "units",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    responses(
        (status = 200, description = "Cancelled", body = Offer),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`offer_not_pending`", body = ErrorBody)))]
pub async fn cancel(
    State(units): State<Units>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Offer>> {
    Ok(Json(
        units.end_offer(&user, id, OfferStatus::Cancelled).await?,
    ))
}

/// Report a unit you hold lost or stolen: its page says so, and it cannot be offered on until
/// you withdraw the report (an open offer is cancelled).
///
/// The unit's owner only (others: `403`).
#[utoipa::path(post, path = "/v1/units/{code}/report", tag = "units",
    security(("bearer" = [])),
    params(("code" = String, Path, description = CODE, pattern = "^[0-9A-HJKMNP-TV-Z]{20}$")),
    request_body = ReportRequest,
    responses(
        (status = 200, description = "Reported", body = OwnedUnit),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the unit's owner", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_body`: kind is `lost` or `stolen`", body = ErrorBody)))]
pub async fn report(
    State(units): State<Units>,
    user: CurrentUser,
    Path(code): Path<String>,
    Json(req): Json<ReportRequest>,
) -> ApiResult<Json<OwnedUnit>> {
    Ok(Json(units.report(&user, &code, Some(req.kind)).await?))
}

/// Withdraw your lost-or-stolen report: the unit was found.
///
/// The unit's owner only (others: `403`).
#[utoipa::path(delete, path = "/v1/units/{code}/report", tag = "units",
    security(("bearer" = [])),
    params(("code" = String, Path, description = CODE, pattern = "^[0-9A-HJKMNP-TV-Z]{20}$")),
    responses(
        (status = 200, description = "Withdrawn", body = OwnedUnit),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the unit's owner", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn withdraw_report(
    State(units): State<Units>,
    user: CurrentUser,
    Path(code): Path<String>,
) -> ApiResult<Json<OwnedUnit>> {
    Ok(Json(units.report(&user, &code, None).await?))
}

/// A unit's history of owners: its `truffle.transfer/1` records, first first, each with its
/// signature and, once anchored, its Merkle proof. Check it as `docs/PROTOCOLS.md` §9 says.
///
/// Anyone may call this: owners appear only as per-unit pseudonyms.
#[utoipa::path(get, path = "/v1/units/{code}/history", tag = "units",
    params(("code" = String, Path, description = CODE, pattern = "^[0-9A-HJKMNP-TV-Z]{20}$")),
    responses(
        (status = 200, description = "The history", body = History),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn history(
    State(units): State<Units>,
    Path(code): Path<String>,
) -> ApiResult<Json<History>> {
    Ok(Json(units.history(&code).await?))
}
