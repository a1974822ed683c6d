//! HTTP handlers of the catalogue. Each handler's doc says who may call it.

use alloy::primitives::Address;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store::{self, ListFilter};
use super::{Catalogue, Product, ProductInput, ProductPatch};
use crate::accounts::person::clean_text;
use crate::accounts::{CurrentUser, Role};
use crate::http::page::{self, page};
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json, Path, Query};
use crate::protocol::bundle::ProofBundle;

/// The product's seller, or an admin.
pub async fn require_owner_or_admin(
    catalogue: &Catalogue,
    user: &CurrentUser,
    id: Uuid,
) -> Result<(), super::Error> {
    let row = store::find_product(&catalogue.db, id)
        .await?
        .ok_or(super::Error::NotFound)?;
    if user.role == Role::Admin || (user.role == Role::Seller && row.seller_id == user.id) {
        Ok(())
    } else {
        Err(super::Error::NotOwnerOrAdmin)
    }
}

/// Register a limited edition. The server builds the canonical record, signs it with the
/// seller's key (custodial) or waits for the seller's wallet signature, and queues it for
/// anchoring.
///
/// Approved sellers only.
#[utoipa::path(post, path = "/v1/products", tag = "catalogue",
    security(("bearer" = [])),
    request_body = ProductInput,
    responses(
        (status = 201, description = "Registered; `chain.status` is `pending` or `awaiting_signature`", body = Product),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`seller_required`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody)))]
pub async fn create(
    State(catalogue): State<Catalogue>,
    user: CurrentUser,
    Json(req): Json<ProductInput>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    user.require_seller()?;
    Ok((
        StatusCode::CREATED,
        Json(catalogue.create(user.id, req).await?),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Exact brand, e.g. `Nike`.
    pub brand: Option<String>,
    /// Exact category, e.g. `sneakers`.
    pub category: Option<String>,
    pub seller_id: Option<Uuid>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

page!(ProductPage, Product, Uuid);

fn limit_of(limit: Option<u32>) -> Result<i64, ApiError> {
    Ok(i64::from(page::limit(limit, 20, 100)?))
}

async fn page(catalogue: &Catalogue, filter: ListFilter<'_>) -> ApiResult<ProductPage> {
    let limit = filter.limit;
    let rows = store::list_products(
        &catalogue.db,
        ListFilter {
            limit: limit + 1,
            ..filter
        },
    )
    .await?;
    let (rows, next_cursor) = crate::db::page_of(rows, limit, |r| r.id);
    Ok(ProductPage {
        items: catalogue.views(rows).await?,
        next_cursor,
    })
}

/// The catalogue, newest first, with each product's chain status.
///
/// Anyone may call this. Delisted products are left out.
#[utoipa::path(get, path = "/v1/products", tag = "catalogue",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of products", body = ProductPage),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody)))]
pub async fn list(
    State(catalogue): State<Catalogue>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<ProductPage>> {
    let brand = q.brand.as_deref().and_then(|b| clean_text(b, 1, 100));
    let category = q.category.as_deref().and_then(|c| clean_text(c, 1, 50));
    let filter = ListFilter {
        brand: brand.as_deref(),
        category: category.as_deref(),
        seller_id: q.seller_id,
        include_delisted: false,
        cursor: q.cursor,
        limit: limit_of(q.limit)?,
    };
    Ok(Json(page(&catalogue, filter).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MineQuery {
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The caller's own products, delisted ones included.
///
/// Any logged-in user (a buyer has none).
#[utoipa::path(get, path = "/v1/me/products", tag = "catalogue",
    security(("bearer" = [])),
    params(MineQuery),
    responses(
        (status = 200, description = "A page of the caller's products", body = ProductPage),
        (status = 401, description = "`authentication_required`", body = ErrorBody)))]
pub async fn mine(
    State(catalogue): State<Catalogue>,
    user: CurrentUser,
    Query(q): Query<MineQuery>,
) -> ApiResult<Json<ProductPage>> {
    let filter = ListFilter {
        seller_id: Some(user.id),
        include_delisted: true,
        cursor: q.cursor,
        limit: limit_of(q.limit)?,
        ..ListFilter::default()
    };
    Ok(Json(page(&catalogue, filter).await?))
}

/// One product with its anchoring status (pending, anchored, confirmed, revoked).
///
/// Anyone may call this. A delisted product is `404` here (its proof stays available). A
/// signed-in caller's visit is remembered (once a day) for their recommendations; a token that
/// is sent must be valid.
#[utoipa::path(get, path = "/v1/products/{id}", tag = "catalogue",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id"),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of an earlier answer: `304` if it still holds")),
    responses(
        (status = 200, description = "The product. `ETag` and `Cache-Control: public, max-age=1`: a replica serves it from memory, so a change shows within 2 s (twice `PUBLIC_SNAPSHOT_TTL`)", body = Product),
        (status = 304, description = "Not modified (`If-None-Match` matched the `ETag`)"),
        (status = 400, description = "`invalid_path_parameter`", body = ErrorBody),
        (status = 401, description = "A token was sent and is not valid", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn get(
    State(catalogue): State<Catalogue>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let snapshot = catalogue.product_snapshot(id).await?;
    if let Some(user) = user {
        catalogue.record_view(user.id, id).await?;
    }
    Ok(snapshot.respond(&headers))
}

/// Change a product: a new record version, signed and anchored again. Earlier versions keep
/// their proofs.
///
/// The product's seller only.
#[utoipa::path(patch, path = "/v1/products/{id}", tag = "catalogue",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id")),
    request_body = ProductPatch,
    responses(
        (status = 200, description = "The new version", body = Product),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 403, description = "`seller_required`, `forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`product_revoked`, `edition_below_winners` (the new edition size is smaller than the winners raffles already promise)", body = ErrorBody)))]
pub async fn update(
    State(catalogue): State<Catalogue>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(patch): Json<ProductPatch>,
) -> ApiResult<Json<Product>> {
    user.require_seller()?;
    Ok(Json(catalogue.update(user.id, id, patch).await?))
}

/// Delist a product: it leaves the catalogue; its anchored records stay verifiable.
///
/// The product's seller, or an admin.
#[utoipa::path(delete, path = "/v1/products/{id}", tag = "catalogue",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 204, description = "Delisted"),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn delist(
    State(catalogue): State<Catalogue>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    require_owner_or_admin(&catalogue, &user, id).await?;
    catalogue.delist(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// The record version (1, 2, …); the current one when left out.
    #[param(minimum = 1)]
    pub version: Option<u32>,
}

/// The proof bundle of a record: check it with `truffle verify` against any RPC node.
///
/// Anyone may call this, for listed and delisted products alike.
#[utoipa::path(get, path = "/v1/products/{id}/proof", tag = "catalogue",
    params(("id" = Uuid, Path, description = "Product id"), ProofQuery),
    responses(
        (status = 200, description = "The proof bundle", body = ProofBundle),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`not_anchored_yet`: not in a block yet, or the block's time is not recorded yet", body = ErrorBody)))]
pub async fn proof(
    State(catalogue): State<Catalogue>,
    Path(id): Path<Uuid>,
    Query(q): Query<ProofQuery>,
) -> ApiResult<Json<ProofBundle>> {
    Ok(Json(catalogue.proof_bundle(id, q.version).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureRequest {
    /// The version being signed (see `version` and `typed_data` on the product).
    #[schema(minimum = 1)]
    pub version: u32,
    /// 65 bytes r ‖ s ‖ v (v 27 or 28, low s), 0x-hex, from `eth_signTypedData_v4`.
    #[schema(pattern = r"^(0x)?[0-9a-fA-F]{130}$")]
    pub signature: String,
}

/// Submit the wallet signature of a record version.
///
/// The product's seller, when they sign with their own wallet.
#[utoipa::path(post, path = "/v1/products/{id}/signature", tag = "catalogue",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id")),
    request_body = SignatureRequest,
    responses(
        (status = 200, description = "Signature accepted; the record is queued for anchoring", body = Product),
        (status = 400, description = "`signature_invalid`, `validation_failed`", body = ErrorBody),
        (status = 403, description = "`seller_required`, `forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`signature_not_awaited`", body = ErrorBody)))]
pub async fn sign(
    State(catalogue): State<Catalogue>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<SignatureRequest>,
) -> ApiResult<Json<Product>> {
    user.require_seller()?;
    Ok(Json(
        catalogue
            .submit_signature(user.id, id, req.version, &req.signature)
            .await?,
    ))
}

/// `{"mode": "custodial"}` (the platform holds a key for you) or
/// `{"mode": "wallet", "address": "0x…"}` (you sign with your own).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningRequest {
    pub mode: String,
    pub address: Option<String>,
}

impl utoipa::PartialSchema for SigningRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let mode = |m: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([m]))
        };
        let custodial = ObjectBuilder::new()
            .description(Some("The platform holds a key for you."))
            .property("mode", mode("custodial"))
            .required("mode")
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ));
        let wallet = ObjectBuilder::new()
            .description(Some("You sign with your own wallet, at this address."))
            .property("mode", mode("wallet"))
            .property(
                "address",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^(0x)?[0-9a-fA-F]{40}$"))
                    .examples([serde_json::json!(
                        "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
                    )]),
            )
            .required("mode")
            .required("address")
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ));
        OneOfBuilder::new().item(custodial).item(wallet).into()
    }
}

impl utoipa::ToSchema for SigningRequest {}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SigningInfo {
    #[schema(example = "custodial")]
    pub mode: String,
    /// The address that signs your records (lowercase 0x-hex).
    pub address: String,
}

/// How the caller's records are signed.
///
/// Approved sellers only.
#[utoipa::path(get, path = "/v1/me/signing-key", tag = "catalogue",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Signing mode and address", body = SigningInfo),
        (status = 403, description = "`seller_required`", body = ErrorBody)))]
pub async fn signing_key(
    State(catalogue): State<Catalogue>,
    user: CurrentUser,
) -> ApiResult<Json<SigningInfo>> {
    user.require_seller()?;
    let (mode, address) = catalogue.signing_info(user.id).await?;
    Ok(Json(SigningInfo { mode, address }))
}

/// Choose how the caller's records are signed from now on.
///
/// Approved sellers only.
#[utoipa::path(put, path = "/v1/me/signing-key", tag = "catalogue",
    security(("bearer" = [])),
    request_body = SigningRequest,
    responses(
        (status = 200, description = "Signing mode and address", body = SigningInfo),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 403, description = "`seller_required`", body = ErrorBody)))]
pub async fn set_signing_key(
    State(catalogue): State<Catalogue>,
    user: CurrentUser,
    Json(req): Json<SigningRequest>,
) -> ApiResult<Json<SigningInfo>> {
    user.require_seller()?;
    let wallet = match (req.mode.as_str(), req.address.as_deref()) {
        ("custodial", None) => None,
        ("wallet", Some(a)) => Some(
            a.trim()
                .parse::<Address>()
                .map_err(|_| ApiError::validation("address", "must be a 0x-hex address."))?,
        ),
        ("wallet", None) => {
            return Err(ApiError::validation("address", "is required for a wallet."));
        }
        ("custodial", Some(_)) => {
            return Err(ApiError::validation(
                "address",
                "must be left out for custodial.",
            ));
        }
        _ => return Err(ApiError::validation("mode", "must be custodial or wallet.")),
    };
    catalogue.set_signing(user.id, wallet).await?;
    let (mode, address) = catalogue.signing_info(user.id).await?;
    Ok(Json(SigningInfo { mode, address }))
}

impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        use super::Error;
        match e {
            Error::Invalid(e) => e.into(),
            Error::NotFound => ErrorCode::NotFound.into(),
            Error::NotSeller => ApiError::with_message(
                ErrorCode::Forbidden,
                "Only the product's seller may change it.",
            ),
            Error::NotSigner => ApiError::with_message(
                ErrorCode::Forbidden,
                "Only the product's seller may sign it.",
            ),
            Error::NotOwnerOrAdmin => ApiError::with_message(
                ErrorCode::Forbidden,
                "Only the product's seller or an admin may do this.",
            ),
            Error::Delisted => {
                ApiError::with_message(ErrorCode::NotFound, "This product is delisted.")
            }
            Error::Revoked => ErrorCode::ProductRevoked.into(),
            Error::AlreadyRevoked => ErrorCode::AlreadyRevoked.into(),
            Error::EditionBelowPromised { promised } => ApiError::with_message(
                ErrorCode::EditionBelowWinners,
                format!("Raffles already promise {promised} pieces of this edition."),
            ),
            Error::SignatureNotAwaited => ErrorCode::SignatureNotAwaited.into(),
            Error::SignatureInvalid(detail) => ApiError::with_message(
                ErrorCode::SignatureInvalid,
                format!("The signature is not valid: {detail}."),
            ),
            Error::NotAnchoredYet => ErrorCode::NotAnchoredYet.into(),
            Error::Key(_) | Error::Corrupt(_) => ApiError::internal(e),
            Error::Accounts(e) => ApiError::from(e),
            Error::Db(e) => e.into(),
        }
    }
}
