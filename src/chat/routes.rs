//! HTTP handlers of the chat domain: conversations and history over REST, live chat over
//! `GET /v1/chat/ws`. Each handler's doc says who may call it. Only a conversation's two
//! participants may see or use it; to anyone else it does not exist (`404 not_found`).

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::socket::{self, MAX_FRAME_BYTES, PROTOCOL, TOKEN_PROTOCOL_PREFIX};
use super::{Chat, Conversation, Message, id_string};
use crate::accounts::{Accounts, CurrentUser};
use crate::http::page;
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json, Path, Query};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenConversation {
    /// The product to ask its seller about.
    pub product_id: Uuid,
}

/// Open a conversation with a product's seller, or get the one the caller already has.
///
/// Any logged-in user except the product's seller (`403 own_product`). A delisted or revoked
/// product gets no new conversations (`404`), but its existing ones stay.
#[utoipa::path(post, path = "/v1/conversations", tag = "chat",
    security(("bearer" = [])),
    request_body = OpenConversation,
    responses(
        (status = 201, description = "Opened", body = Conversation),
        (status = 200, description = "The caller's existing conversation about this product", body = Conversation),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 403, description = "`own_product`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such product", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody)))]
pub async fn open(
    State(chat): State<Chat>,
    user: CurrentUser,
    Json(req): Json<OpenConversation>,
) -> ApiResult<(StatusCode, Json<Conversation>)> {
    let (conversation, created) = chat.open(user.id, req.product_id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(conversation)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `next_cursor` of the previous page.
    #[param(
        pattern = r"^-?[0-9]{1,18}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConversationPage {
    pub items: Vec<Conversation>,
    pub next_cursor: Option<String>,
}

fn limit(value: Option<u32>, default: u32) -> Result<i64, ApiError> {
    Ok(i64::from(page::limit(value, default, 100)?))
}

fn parse_list_cursor(s: &str) -> Result<(i64, Uuid), ApiError> {
    s.split_once('_')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .ok_or_else(|| {
            ApiError::with_message(
                ErrorCode::InvalidQueryParameter,
                "cursor: not a cursor this API gave.",
            )
        })
}

/// The caller's conversations, most recent activity first, each with the other party, the
/// product, the last message and the unread count.
///
/// Any logged-in user, for their own conversations (as buyer or as seller).
#[utoipa::path(get, path = "/v1/conversations", tag = "chat",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of conversations", body = ConversationPage),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody)))]
pub async fn list(
    State(chat): State<Chat>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<ConversationPage>> {
    let limit = limit(q.limit, 20)?;
    let before = q.cursor.as_deref().map(parse_list_cursor).transpose()?;
    let (items, next) = chat.conversations(user.id, before, limit).await?;
    Ok(Json(ConversationPage {
        items,
        next_cursor: next.map(|(a, id)| format!("{a}_{id}")),
    }))
}

/// One conversation.
///
/// Its two participants only; `404 not_found` for anyone else.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "chat",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = Conversation),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn get(
    State(chat): State<Chat>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(chat.conversation(user.id, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Messages older than this id (the first id of the page you have). Default: the newest.
    #[param(pattern = r"^[0-9]{1,18}$")]
    pub before: Option<String>,
    /// Messages newer than this id (the last id you have). With `before` too: the messages
    /// between the two, oldest first.
    #[param(pattern = r"^[0-9]{1,18}$")]
    pub after: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MessagePage {
    /// Oldest first.
    pub items: Vec<Message>,
    /// More messages lie beyond this page: older ones (without `after`) or newer ones (with it).
    pub has_more: bool,
}

fn message_id_param(name: &str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    v.map(|s| {
        s.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::with_message(
                    ErrorCode::InvalidQueryParameter,
                    format!("{name}: not a message id."),
                )
            })
    })
    .transpose()
}

/// A page of a conversation's messages, oldest first within the page. Without cursors: the
/// newest page; `before=<id>` pages back in time, `after=<id>` forward; both: the messages
/// between the two, from `after` on.
///
/// Its two participants only; `404 not_found` for anyone else.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "chat",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Conversation id"), HistoryQuery),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn history(
    State(chat): State<Chat>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<MessagePage>> {
    let limit = limit(q.limit, 50)?;
    let before = message_id_param("before", q.before.as_deref())?;
    let after = message_id_param("after", q.after.as_deref())?;
    let (items, has_more) = chat.history(user.id, id, before, after, limit).await?;
    Ok(Json(MessagePage { items, has_more }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// 1 to `CHAT_MAX_MESSAGE_CHARS` characters (2000 by default, as stated here); several
    /// lines are fine; not blank.
    #[schema(min_length = 1, max_length = 2000)]
    pub body: String,
    /// Your own id for the message (1–64 characters): sending it again returns the stored
    /// message instead of storing it twice.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]{1,64}$"
    )]
    pub client_id: Option<String>,
}

/// Send a message without a socket (the socket's `send` frame does the same). It is delivered
/// live to both participants' sockets on every replica. REST and socket sends take from the
/// sender's one bucket (`CHAT_MESSAGES_PER_SECOND`, burst `CHAT_MESSAGE_BURST`, across replicas).
///
/// Its two participants only; `404 not_found` for anyone else.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "chat",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body = SendMessage,
    responses(
        (status = 201, description = "Stored", body = Message),
        (status = 200, description = "A retry of a `client_id` already stored: that message", body = Message),
        (status = 400, description = "`message_too_long`, `validation_failed`", body = ErrorBody),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`conversation_closed`: the other side deleted their account", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: the sender's bucket is empty; `Retry-After` says when a token is back", body = ErrorBody)))]
pub async fn send(
    State(chat): State<Chat>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<SendMessage>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let sent = chat
        .send(user.id, id, &req.body, req.client_id.as_deref(), None)
        .await?;
    let status = if sent.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(sent.message)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MarkConversationRead)]
pub struct MarkRead {
    /// The last message id read (a decimal string); the newest when left out. The marker never
    /// moves back.
    #[serde(default, with = "id_string::option")]
    #[schema(value_type = Option<String>, pattern = r"^[0-9]{1,18}$")]
    pub up_to: Option<i64>,
}

/// Mark a conversation read up to a message.
///
/// Its two participants only, each for their own marker; `404 not_found` for anyone else.
#[utoipa::path(post, path = "/v1/conversations/{id}/read", tag = "chat",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body = MarkRead,
    responses(
        (status = 200, description = "The conversation with its new unread count", body = Conversation),
        (status = 401, description = "`authentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody)))]
pub async fn mark_read(
    State(chat): State<Chat>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(req): Json<MarkRead>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(chat.mark_read(user.id, id, req.up_to).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SocketQuery {
    /// Resume: deliver every message after this id first (the last one the client saw).
    #[param(pattern = r"^[0-9]{1,18}$")]
    pub after: Option<String>,
}

/// The caller's access token: `Authorization: Bearer`, else (browsers cannot set headers on a
/// WebSocket) a `Sec-WebSocket-Protocol` entry `access_token.<token>` offered beside
/// `truffle.chat.v1`.
fn socket_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if let Some(h) = headers.get(header::AUTHORIZATION) {
        return Ok(Some(crate::accounts::bearer_token(h)?.to_owned()));
    }
    Ok(headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(TOKEN_PROTOCOL_PREFIX))
        .map(str::to_owned))
}

/// The chat socket (WebSocket upgrade). JSON frames: `send`, `resume`, `read` and `ping` in;
/// `ready`, `ack`, `message`, `notification`, `read`, `pong` and `error` out; see docs/CHAT.md.
///
/// Any logged-in user, with their access token in `Authorization: Bearer` or, from a browser, as
/// the subprotocol `access_token.<token>` offered together with `truffle.chat.v1`. At most
/// `CHAT_MAX_CONNECTIONS_PER_USER` sockets per person on one replica.
#[utoipa::path(get, path = "/v1/chat/ws", tag = "chat",
    security(("bearer" = [])),
    params(SocketQuery,
        ("Connection" = String, Header, description = "`Upgrade` (a list that holds it)", pattern = "[Uu][Pp][Gg][Rr][Aa][Dd][Ee]"),
        ("Upgrade" = String, Header, description = "`websocket`", pattern = "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$"),
        ("Sec-WebSocket-Version" = String, Header, description = "`13`", pattern = "^13$"),
        ("Sec-WebSocket-Key" = String, Header, description = "16 random bytes, base64", pattern = "^[A-Za-z0-9+/]{22}==$")),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody),
        (status = 426, description = "`upgrade_required`: not a WebSocket upgrade request (with `Upgrade: websocket`)", body = ErrorBody),
        (status = 401, description = "`authentication_required`, `invalid_token`, `token_expired`, `session_revoked`", body = ErrorBody),
        (status = 429, description = "`too_many_connections`", body = ErrorBody)))]
pub async fn socket(
    State(chat): State<Chat>,
    State(accounts): State<Accounts>,
    Query(q): Query<SocketQuery>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let token = socket_token(&headers)?.ok_or(ErrorCode::AuthenticationRequired)?;
    let user = accounts.authenticate(&token).await?;
    let after = message_id_param("after", q.after.as_deref())?;
    let upgrade = match upgrade {
        Ok(u) => u,
        // A plain request to the socket's route gets a JSON error like every other route.
        Err(_) => return Err(ErrorCode::UpgradeRequired.into()),
    };
    let registration = chat
        .hub
        .register(user.id)
        .map_err(|_| ApiError::new(ErrorCode::TooManyConnections))?;
    Ok(upgrade
        .protocols([PROTOCOL])
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |ws| socket::serve(ws, chat, accounts, user, registration, after)))
}

impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        use super::Error;
        match e {
            Error::Invalid(e) => e.into(),
            Error::TooLong { max } => ApiError::with_message(
                ErrorCode::MessageTooLong,
                format!("A message holds at most {max} characters."),
            ),
            Error::RateLimited(wait) => ApiError::rate_limited(wait),
            Error::NotFound => ErrorCode::NotFound.into(),
            Error::OwnProduct => ErrorCode::OwnProduct.into(),
            Error::Closed => ErrorCode::ConversationClosed.into(),
            Error::Corrupt(_) => ApiError::internal(e),
            Error::Catalogue(e) => ApiError::from(e),
            Error::Accounts(e) => ApiError::from(e),
            Error::Db(e) => e.into(),
        }
    }
}
