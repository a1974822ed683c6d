//! HTTP handlers of the raffles domain. Each handler's doc says who may call it.

use alloy::primitives::hex;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store;
use super::{Entry, NewRaffle, Raffle, RaffleState, Raffles};
use crate::accounts::CurrentUser;
use crate::accounts::person::clean_text;
use crate::http::page::{self, page};
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json, Path, Query};
use crate::protocol::draw::{self, DrawRecord};
use crate::protocol::product::address_hex;

fn limit_of(limit: Option<u32>, default: u32, max: u32) -> Result<i64, ApiError> {
    Ok(i64::from(page::limit(limit, default, max)?))
}

/// Open a raffle for one of the caller's anchored products. Its commitment goes on chain before
/// anyone can enter.
///
/// Approved sellers, for their own products. The raffle runs at least 5 minutes from its
/// opening (or from now, if it opens at once or opened in the past) and at most 90 days; a
/// winner has 24 to 168 hours to pay.
#[utoipa::path(post, path = "/v1/raffles", tag = "raffles",
    security(("bearer" = [])),
    request_body = NewRaffle,
    responses(
        (status = 201, description = "Created (`scheduled` until its commitment is on chain and it opens)", body = Raffle),
        (status = 400, description = "`validation_failed`, naming the field: `product_id`, `winners`, `closes_at` (window too short, too long, or past), `payment_window_hours`, `price_krw`", body = ErrorBody),
        (status = 401, description = "`authentication_required`, `invalid_token`, `token_expired`, `session_revoked`", body = ErrorBody),
        (status = 403, description = "`seller_required`, `forbidden`", body = ErrorBody),
        (status = 409, description = "`product_not_anchored`, `product_revoked`, `edition_exhausted`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody)))]
pub async fn create(
    State(raffles): State<Raffles>,
    user: CurrentUser,
    Json(req): Json<NewRaffle>,
) -> ApiResult<(StatusCode, Json<Raffle>)> {
    user.require_seller()?;
    Ok((StatusCode::CREATED, Json(raffles.create(&user, req).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub product_id: Option<Uuid>,
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

page!(RafflePage, Raffle, Uuid);

/// Raffles, newest first, with state, counts and times.
///
/// Anyone may call this.
#[utoipa::path(get, path = "/v1/raffles", tag = "raffles",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of raffles", body = RafflePage),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody)))]
pub async fn list(
    State(raffles): State<Raffles>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<RafflePage>> {
    let (items, next_cursor) = raffles
        .list(q.product_id, q.cursor, limit_of(q.limit, 20, 100)?)
        .await?;
    Ok(Json(RafflePage { items, next_cursor }))
}

/// One raffle.
///
/// Anyone may call this.
#[utoipa::path(get, path = "/v1/raffles/{id}", tag = "raffles",
    params(("id" = Uuid, Path, description = "Raffle id"),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of an earlier answer: `304` if it still holds")),
    responses(
        (status = 200, description = "The raffle. `ETag` and `Cache-Control: public, max-age=1`: a replica serves it from memory, so `entry_count` lags by at most 2 s (twice `PUBLIC_SNAPSHOT_TTL`); the state never lags (a snapshot ends at the opening and at the closing)", body = Raffle),
        (status = 304, description = "Not modified (`If-None-Match` matched the `ETag`)"),
        (status = 400, description = "`invalid_path_parameter`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn get(
    State(raffles): State<Raffles>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    Ok(raffles.raffle_snapshot(id).await?.respond(&headers))
}

/// Enter a raffle. One entry per person; the answer carries the entry's ticket.
///
/// Identity-verified accounts, not the raffle's seller, while the raffle is open.
#[utoipa::path(post, path = "/v1/raffles/{id}/entry", tag = "raffles",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Raffle id")),
    responses(
        (status = 201, description = "Entered", body = Entry),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`identity_verification_required`, `own_raffle`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`raffle_not_open`, `already_entered`", body = ErrorBody)))]
pub async fn enter(
    State(raffles): State<Raffles>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<Entry>)> {
    Ok((StatusCode::CREATED, Json(raffles.enter(&user, id).await?)))
}

/// Withdraw one's entry before the raffle closes.
///
/// The entrant.
#[utoipa::path(delete, path = "/v1/raffles/{id}/entry", tag = "raffles",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Raffle id")),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 404, description = "`not_found`, `not_entered`", body = ErrorBody),
        (status = 409, description = "`raffle_not_open`", body = ErrorBody)))]
pub async fn withdraw(
    State(raffles): State<Raffles>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    raffles.withdraw(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    pub cursor: Option<Uuid>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

page!(EntryPage, Entry, Uuid);

/// The caller's entries, newest first, with tickets and, after each draw, the outcome.
///
/// Any logged-in user, for themselves.
#[utoipa::path(get, path = "/v1/me/entries", tag = "raffles",
    security(("bearer" = [])),
    params(EntriesQuery),
    responses(
        (status = 200, description = "A page of entries", body = EntryPage),
        (status = 401, description = "`authentication_required`", body = ErrorBody)))]
pub async fn my_entries(
    State(raffles): State<Raffles>,
    user: CurrentUser,
    Query(q): Query<EntriesQuery>,
) -> ApiResult<Json<EntryPage>> {
    let (items, next_cursor) = raffles
        .my_entries(user.id, q.cursor, limit_of(q.limit, 20, 100)?)
        .await?;
    Ok(Json(EntryPage { items, next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[schema(example = "판매자 재고 문제로 취소", min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Cancel a raffle before it closes; its commitment is cancelled on chain.
///
/// Admins only.
#[utoipa::path(post, path = "/v1/admin/raffles/{id}/cancel", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Raffle id")),
    request_body = CancelRequest,
    responses(
        (status = 200, description = "Cancelled", body = Raffle),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`raffle_not_cancellable`", body = ErrorBody)))]
pub async fn cancel(
    State(raffles): State<Raffles>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<CancelRequest>,
) -> ApiResult<Json<Raffle>> {
    user.require_admin()?;
    let reason = clean_text(&req.reason, 1, 500)
        .ok_or_else(|| ApiError::validation("reason", "must be 1 to 500 characters."))?;
    Ok(Json(raffles.cancel(id, &reason).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicketsQuery {
    /// The last ticket of the previous page (0x-hex).
    #[param(pattern = r"^(0x)?([0-9a-fA-F]{2})*$")]
    pub after: Option<String>,
    /// 1 to 10000, default 1000.
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
    /// `true`: the whole list as text, one ticket per line.
    pub download: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketPage {
    /// Sorted ascending, 0x-hex.
    pub tickets: Vec<String>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<String>,
    pub ticket_count: u32,
    pub ticket_root: String,
}

async fn closed_row(raffles: &Raffles, id: Uuid) -> Result<store::RaffleRow, super::Error> {
    let row = store::find(&raffles.db, id)
        .await?
        .ok_or(super::Error::NotFound)?;
    if row.ticket_root.is_none() {
        return Err(super::Error::TicketsNotPublished);
    }
    Ok(row)
}

/// The published ticket list, sorted ascending: paginated, or whole with `download=true`.
///
/// Anyone may call this, once the raffle has closed.
#[utoipa::path(get, path = "/v1/raffles/{id}/tickets", tag = "raffles",
    params(("id" = Uuid, Path, description = "Raffle id"), TicketsQuery),
    responses(
        (status = 200, description = "A page of tickets; with download=true, the whole list as text, one 0x-hex ticket per line",
            content((TicketPage = "application/json"), (String = "text/plain"))),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`tickets_not_published`", body = ErrorBody)))]
pub async fn tickets(
    State(raffles): State<Raffles>,
    Path(id): Path<Uuid>,
    Query(q): Query<TicketsQuery>,
) -> ApiResult<Response> {
    let row = closed_row(&raffles, id).await?;
    if q.download == Some(true) {
        let published = raffles.published_tickets(id).await?;
        return Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            published.text.clone(),
        )
            .into_response());
    }
    let after = q
        .after
        .as_deref()
        .map(|a| {
            alloy::primitives::hex::decode(a)
                .map_err(|_| ApiError::validation("after", "must be 0x-hex."))
        })
        .transpose()?;
    let limit = limit_of(q.limit, 1000, 10_000)?;
    let rows = store::tickets_page(&raffles.db, id, after.as_deref(), limit + 1).await?;
    let (rows, next_after) = crate::db::page_of(rows, limit, |t| hex::encode_prefixed(t));
    Ok(Json(TicketPage {
        tickets: rows.iter().map(hex::encode_prefixed).collect(),
        next_after,
        ticket_count: row.ticket_count.unwrap_or_default() as u32,
        ticket_root: hex::encode_prefixed(row.ticket_root.as_deref().unwrap_or_default()),
    })
    .into_response())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketProof {
    pub ticket: String,
    /// sha256(0x00 ‖ ticket).
    pub leaf: String,
    /// Sibling hashes from the leaf to the root.
    pub proof: Vec<String>,
    /// The root committed on chain at closing.
    pub root: String,
}

/// An entrant's inclusion proof: their ticket is in the list whose root was committed.
///
/// Anyone may call this, once the raffle has closed.
#[utoipa::path(get, path = "/v1/raffles/{id}/tickets/{ticket}/proof", tag = "raffles",
    params(("id" = Uuid, Path, description = "Raffle id"), ("ticket" = String, Path, description = "The ticket, 32 bytes of 0x-hex", pattern = r"^(0x)?[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The inclusion proof", body = TicketProof),
        (status = 400, description = "`invalid_path_parameter`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such raffle or ticket", body = ErrorBody),
        (status = 409, description = "`tickets_not_published`", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn ticket_proof(
    State(raffles): State<Raffles>,
    Path((id, ticket)): Path<(Uuid, String)>,
) -> ApiResult<Json<TicketProof>> {
    let ticket: [u8; 32] = alloy::primitives::hex::decode(&ticket)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ApiError::with_message(
                ErrorCode::InvalidPathParameter,
                "ticket: must be 32 bytes of 0x-hex.",
            )
        })?;
    closed_row(&raffles, id).await?;
    let published = raffles.published_tickets(id).await?;
    let tree = published.tree.as_ref().ok_or(ErrorCode::NotFound)?;
    let leaf = crate::protocol::merkle::leaf(&ticket);
    let proof = tree.proof(&leaf).ok_or(ErrorCode::NotFound)?;
    Ok(Json(TicketProof {
        ticket: hex::encode_prefixed(ticket),
        leaf: hex::encode_prefixed(leaf),
        proof: proof.iter().map(hex::encode_prefixed).collect(),
        root: hex::encode_prefixed(tree.root()),
    }))
}

/// The draw's public record: the commitment, the closing, the reveal and the order. With the
/// ticket list, anyone recomputes the winners (`truffle verify-draw`).
///
/// Anyone may call this.
#[utoipa::path(get, path = "/v1/raffles/{id}/draw", tag = "raffles",
    params(("id" = Uuid, Path, description = "Raffle id")),
    responses(
        (status = 200, description = "The draw record (fields fill in as the raffle moves on)", body = DrawRecord),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn draw_record(
    State(raffles): State<Raffles>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<DrawRecord>> {
    let row = store::find(&raffles.db, id)
        .await?
        .ok_or(ErrorCode::NotFound)?;
    let raffle = raffles.raffle(id).await?;
    let ordered = if matches!(raffle.state, RaffleState::Drawn | RaffleState::Settled) {
        store::ordered_tickets(&raffles.db, id).await?
    } else {
        Vec::new()
    };
    let split = (row.winners as usize).min(ordered.len());
    let state = serde_json::to_value(raffle.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok(Json(DrawRecord {
        protocol: draw::PROTOCOL.into(),
        raffle_id: id,
        raffle_key: hex::encode_prefixed(id.as_bytes()),
        chain_id: raffles.chain_id,
        contract_address: raffles.registry.map(address_hex).unwrap_or_default(),
        product_content_hash: hex::encode_prefixed(&row.product_content_hash),
        seed_hash: hex::encode_prefixed(&row.seed_hash),
        closes_at: row.closes_at.timestamp(),
        winners: row.winners as u32,
        state,
        ticket_root: row.ticket_root.as_deref().map(hex::encode_prefixed),
        ticket_count: row.ticket_count.map(|c| c as u32),
        close_block: row.close_block.map(|b| b as u64),
        seed: row.seed.as_deref().map(hex::encode_prefixed),
        block_hash: row.block_hash.as_deref().map(hex::encode_prefixed),
        randomness: row.randomness.as_deref().map(hex::encode_prefixed),
        commit_tx: row.commit_tx.as_deref().map(hex::encode_prefixed),
        close_tx: row.close_tx.as_deref().map(hex::encode_prefixed),
        reveal_tx: row.reveal_tx.as_deref().map(hex::encode_prefixed),
        winning_tickets: ordered[..split].iter().map(hex::encode_prefixed).collect(),
        alternates: ordered[split..].iter().map(hex::encode_prefixed).collect(),
        tickets_url: format!("/v1/raffles/{id}/tickets?download=true"),
    }))
}

impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        use super::Error;
        match e {
            Error::Invalid(e) => e.into(),
            Error::NotFound => ErrorCode::NotFound.into(),
            Error::NotSeller => ApiError::with_message(
                ErrorCode::Forbidden,
                "Only the product's seller may raffle it.",
            ),
            Error::ProductRevoked => ErrorCode::ProductRevoked.into(),
            Error::ProductNotAnchored => ErrorCode::ProductNotAnchored.into(),
            Error::EditionExhausted {
                edition_size,
                promised,
            } => ApiError::with_message(
                ErrorCode::EditionExhausted,
                format!(
                    "The edition has {edition_size} pieces and raffles already promise {promised}."
                ),
            ),
            Error::IdentityUnverified => ErrorCode::IdentityVerificationRequired.into(),
            Error::OwnRaffle => ErrorCode::OwnRaffle.into(),
            Error::NotOpenYet => {
                ApiError::with_message(ErrorCode::RaffleNotOpen, "This raffle is not open yet.")
            }
            Error::Closed => {
                ApiError::with_message(ErrorCode::RaffleNotOpen, "This raffle is closed.")
            }
            Error::WithdrawalClosed => ApiError::with_message(
                ErrorCode::RaffleNotOpen,
                "Entries can be withdrawn only while the raffle is open.",
            ),
            Error::AlreadyEntered => ErrorCode::AlreadyEntered.into(),
            Error::NotEntered => ErrorCode::NotEntered.into(),
            Error::NotCancellable => ErrorCode::RaffleNotCancellable.into(),
            Error::TicketsNotPublished => ErrorCode::TicketsNotPublished.into(),
            Error::Seed(_) | Error::Corrupt(_) => ApiError::internal(e),
            Error::Overloaded(e) => ApiError::from(e),
            Error::Catalogue(e) => ApiError::from(e),
            Error::Notify(e) => ApiError::from(e),
            Error::Accounts(e) => ApiError::from(e),
            Error::Db(e) => e.into(),
        }
    }
}
