//! HTTP handlers of the orders domain. Each handler's doc says who may call it.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Order, Orders, SalesFilter};
use crate::accounts::CurrentUser;
use crate::accounts::person::clean_text;
use crate::http::page::{self, page};
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json, Path, Query};
use crate::providers::payments::PaymentError;

/// One order.
///
/// Its buyer, its seller (who sees the delivery address once it is paid), or an admin. Anyone
/// else gets 404.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn get(
    State(orders): State<Orders>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Order>> {
    Ok(Json(orders.visible(&user, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// From the provider's success redirect (`paymentKey`); with `dev`, any `dev_…` string.
    #[schema(
        example = "dev_5zJ4xY7m0kODnyRpQWGrN2xqGlNvLrKwv1M9ENjbeoPaZdL6",
        pattern = r"^[!-~]{1,200}$"
    )]
    pub payment_key: String,
    /// The amount from the success redirect; it must equal the order's.
    pub amount: i64,
}

/// Confirm a winner's payment. The amount is checked against the order before the provider is
/// called; the confirm is idempotent, so nothing is charged twice.
///
/// The order's buyer.
#[utoipa::path(post, path = "/v1/orders/{id}/payment", tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = PaymentRequest,
    responses(
        (status = 200, description = "Paid", body = Order),
        (status = 400, description = "`amount_mismatch`, `validation_failed`", body = ErrorBody),
        (status = 402, description = "`payment_refused`", body = ErrorBody),
        (status = 403, description = "`not_your_order`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`already_paid`, `order_expired` (also when the payment came back after the deadline: it is cancelled at the provider), `order_not_payable`, `payment_in_progress`, `delivery_address_required`", body = ErrorBody),
        (status = 502, description = "`upstream_error`", body = ErrorBody)))]
pub async fn pay(
    State(orders): State<Orders>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<PaymentRequest>,
) -> ApiResult<Json<Order>> {
    let key = req.payment_key.trim();
    if !valid_payment_key(key) {
        return Err(ApiError::validation(
            "payment_key",
            "must be 1 to 200 printable ASCII characters.",
        ));
    }
    Ok(Json(orders.pay(&user, id, key, req.amount).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRequest {
    #[schema(example = "CJ대한통운", min_length = 1, max_length = 50)]
    pub carrier: String,
    #[schema(example = "6543210987", min_length = 1, max_length = 50)]
    pub tracking_number: String,
}

/// Mark a paid order shipped, with carrier and tracking number.
///
/// The order's seller.
#[utoipa::path(post, path = "/v1/orders/{id}/shipment", tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = ShipmentRequest,
    responses(
        (status = 200, description = "Shipped", body = Order),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`order_not_shippable`, `delivery_address_required`", body = ErrorBody)))]
pub async fn ship(
    State(orders): State<Orders>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<ShipmentRequest>,
) -> ApiResult<Json<Order>> {
    let carrier = clean_text(&req.carrier, 1, 50)
        .ok_or_else(|| ApiError::validation("carrier", "must be 1 to 50 characters."))?;
    let tracking = clean_text(&req.tracking_number, 1, 50)
        .ok_or_else(|| ApiError::validation("tracking_number", "must be 1 to 50 characters."))?;
    Ok(Json(orders.ship(&user, id, &carrier, &tracking).await?))
}

/// Confirm receipt of a shipped order.
///
/// The order's buyer.
#[utoipa::path(post, path = "/v1/orders/{id}/receipt", tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "Received", body = Order),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`order_not_shippable`", body = ErrorBody)))]
pub async fn receive(
    State(orders): State<Orders>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Order>> {
    Ok(Json(orders.receive(&user, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    #[schema(example = "단순 변심", min_length = 1, max_length = 200)]
    pub reason: String,
}

/// Refund a paid order that has not shipped. The order is `refunding` until the provider
/// confirms (retried by the order clock if it cannot be reached), then `refunded`; the piece
/// passes to the next alternate while the raffle allows.
///
/// The order's buyer.
#[utoipa::path(post, path = "/v1/orders/{id}/refund", tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = RefundRequest,
    responses(
        (status = 200, description = "Refunded", body = Order),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`order_not_refundable`", body = ErrorBody)))]
pub async fn refund(
    State(orders): State<Orders>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<RefundRequest>,
) -> ApiResult<Json<Order>> {
    let reason = clean_text(&req.reason, 1, 200)
        .ok_or_else(|| ApiError::validation("reason", "must be 1 to 200 characters."))?;
    Ok(Json(orders.refund(&user, id, &reason).await?))
}

/// Cancel an order: a paid one is refunded, an unpaid one cancelled; the piece passes to the
/// next alternate while the raffle allows.
///
/// Admins only.
#[utoipa::path(post, path = "/v1/admin/orders/{id}/cancel", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = RefundRequest,
    responses(
        (status = 200, description = "Cancelled or refunded", body = Order),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`order_not_refundable`", body = ErrorBody)))]
pub async fn admin_cancel(
    State(orders): State<Orders>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<RefundRequest>,
) -> ApiResult<Json<Order>> {
    user.require_admin()?;
    let reason = clean_text(&req.reason, 1, 200)
        .ok_or_else(|| ApiError::validation("reason", "must be 1 to 200 characters."))?;
    Ok(Json(orders.refund(&user, id, &reason).await?))
}

/// A Toss Payments webhook. Only `PAYMENT_STATUS_CHANGED` is used; other events, and fields we
/// do not read, are accepted and ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TossWebhook {
    #[serde(rename = "eventType")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "object_only")]
    pub data: Option<TossWebhookData>,
}

/// Reads `data` only from a JSON object (serde would also fill the struct from an array).
fn object_only<'de, D>(deserializer: D) -> Result<Option<TossWebhookData>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let Some(map) =
        Option::<serde_json::Map<String, serde_json::Value>>::deserialize(deserializer)?
    else {
        return Ok(None);
    };
    serde_json::from_value(serde_json::Value::Object(map))
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TossWebhookData {
    #[serde(rename = "paymentKey")]
    pub payment_key: Option<String>,
    #[serde(rename = "orderId")]
    pub order_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookAck {
    pub ok: bool,
    /// False when the event was authentic but had nothing for us (another event type, a
    /// payment that is no order of ours, a status we do not act on).
    pub handled: bool,
}

/// Toss Payments webhook (`PAYMENT_STATUS_CHANGED`). Unsigned, so never believed as such: the
/// payment is queried again and the order follows what the provider says (`DONE` pays it if the
/// deadline allows, or cancels a late payment at Toss; `CANCELED` refunds it; `PARTIAL_CANCELED`
/// records the amount given back and flags it for an admin). Every event we do not act on gets
/// 200, so Toss does not retry it for days.
///
/// Toss Payments (anyone may call it; it changes nothing the provider does not confirm).
#[utoipa::path(post, path = "/v1/payments/toss/webhook", tag = "orders",
    request_body = TossWebhook,
    responses(
        (status = 200, description = "Processed, or ignored (`handled: false`)", body = WebhookAck),
        (status = 404, description = "`unknown_payment`: the provider has no such payment", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
        (status = 502, description = "`upstream_error`: the provider could not be asked; Toss retries", body = ErrorBody)))]
pub async fn toss_webhook(
    State(orders): State<Orders>,
    Json(hook): Json<TossWebhook>,
) -> ApiResult<Json<WebhookAck>> {
    let event = hook.event_type.as_deref().unwrap_or("-");
    let payment_key = hook.data.as_ref().and_then(|d| d.payment_key.as_deref());
    let handled = match payment_key {
        Some(key) if event == "PAYMENT_STATUS_CHANGED" && valid_payment_key(key) => {
            let order_id = hook.data.as_ref().and_then(|d| d.order_id.as_deref());
            orders.webhook(key, order_id).await?
        }
        _ => false,
    };
    tracing::info!(event, handled, "toss webhook");
    Ok(Json(WebhookAck { ok: true, handled }))
}

/// Toss payment keys are printable ASCII of at most 200 characters.
fn valid_payment_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 200 && key.chars().all(|c| c.is_ascii_graphic())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

page!(OrderPage, Order, Uuid);

/// Purchase history (MyPage): the caller's orders with their payment status.
///
/// Any logged-in user, for themselves.
#[utoipa::path(get, path = "/v1/me/orders", tag = "orders",
    security(("bearer" = [])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "A page of orders", body = OrderPage),
        (status = 401, description = "`authentication_required`", body = ErrorBody)))]
pub async fn history(
    State(orders): State<Orders>,
    user: CurrentUser,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<OrderPage>> {
    let limit = page_limit(q.limit)?;
    let (items, next_cursor) = orders.history(user.id, q.cursor, limit).await?;
    Ok(Json(OrderPage { items, next_cursor }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SalesQuery {
    /// `to_ship` (paid, the default), `shipped` (shipped or received), `refunded`,
    /// `awaiting_payment`, or `all`.
    pub status: Option<SalesFilter>,
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
}

/// The seller's sales: orders to ship (with the delivery address), shipped, refunded. A seller
/// is also told in their inbox (`sale_paid`) when a winner pays.
///
/// Sellers, for their own sales.
#[utoipa::path(get, path = "/v1/me/sales", tag = "orders",
    security(("bearer" = [])),
    params(SalesQuery),
    responses(
        (status = 200, description = "A page of the seller's orders", body = OrderPage),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`seller_required`", body = ErrorBody)))]
pub async fn sales(
    State(orders): State<Orders>,
    user: CurrentUser,
    Query(q): Query<SalesQuery>,
) -> ApiResult<Json<OrderPage>> {
    user.require_seller()?;
    let limit = page_limit(q.limit)?;
    let (items, next_cursor) = orders
        .sales(user.id, q.status.unwrap_or_default(), q.cursor, limit)
        .await?;
    Ok(Json(OrderPage { items, next_cursor }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
}

/// Orders an admin must look at: partial cancellations made at the provider, refunds the
/// provider refused, orders shipped before their product was revoked or cancelled at the
/// provider after shipping, payments without a delivery address.
///
/// Admins only.
#[utoipa::path(get, path = "/v1/admin/orders/attention", tag = "admin",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of orders with `attention` set", body = OrderPage),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody)))]
pub async fn needing_attention(
    State(orders): State<Orders>,
    user: CurrentUser,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<OrderPage>> {
    user.require_admin()?;
    let limit = page_limit(q.limit)?;
    let (items, next_cursor) = orders.needing_attention(q.cursor, limit).await?;
    Ok(Json(OrderPage { items, next_cursor }))
}

fn page_limit(limit: Option<u32>) -> Result<i64, ApiError> {
    Ok(i64::from(page::limit(limit, 20, 100)?))
}

impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        use super::Error;
        match e {
            Error::NotFound => ErrorCode::NotFound.into(),
            Error::NotYourOrder => ErrorCode::NotYourOrder.into(),
            Error::OrderExpired => ErrorCode::OrderExpired.into(),
            Error::PaidTooLate => ApiError::with_message(
                ErrorCode::OrderExpired,
                "The payment deadline passed before the payment was confirmed; it is being cancelled.",
            ),
            Error::AlreadyPaid => ErrorCode::AlreadyPaid.into(),
            Error::NotPayable => ErrorCode::OrderNotPayable.into(),
            Error::PaymentInProgress => ErrorCode::PaymentInProgress.into(),
            Error::AmountMismatch { expected, offered } => ApiError::with_message(
                ErrorCode::AmountMismatch,
                format!("The order is {expected} won, not {offered}."),
            ),
            Error::DeliveryAddressRequired => ErrorCode::DeliveryAddressRequired.into(),
            Error::NoAddressToShip => ApiError::with_message(
                ErrorCode::DeliveryAddressRequired,
                "The order has no delivery address; an admin must settle it with the buyer.",
            ),
            Error::NotShippable => ApiError::with_message(
                ErrorCode::OrderNotShippable,
                "Only a paid order can be shipped.",
            ),
            Error::NotReceivable => ApiError::with_message(
                ErrorCode::OrderNotShippable,
                "Only a shipped order can be received.",
            ),
            Error::NotRefundable => ErrorCode::OrderNotRefundable.into(),
            Error::UnknownPayment => ErrorCode::UnknownPayment.into(),
            Error::PaymentNotDone { status, amount } => ApiError::with_message(
                ErrorCode::PaymentRefused,
                format!("The payment is {status} for {amount} won."),
            ),
            Error::Payment(PaymentError::Refused { code, message }) => ApiError::with_message(
                ErrorCode::PaymentRefused,
                format!("The payment provider refused: {code} ({message})."),
            ),
            Error::Payment(PaymentError::NotFound) => ApiError::with_message(
                ErrorCode::PaymentRefused,
                "The payment provider has no such payment.",
            ),
            Error::Payment(PaymentError::Unavailable(e)) => {
                ApiError::with_source(ErrorCode::UpstreamError, e)
            }
            Error::BadTransition { .. } => ApiError::internal(e),
            Error::Raffles(e) => ApiError::from(e),
            Error::Notify(e) => ApiError::from(e),
            Error::Accounts(e) => ApiError::from(e),
            Error::Db(e) => e.into(),
        }
    }
}
