//! Every SQL statement of the chat domain.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// The channel every replica listens on for new messages.
pub const CHAT_CHANNEL: &str = "truffle_chat";
/// Postgres refuses NOTIFY payloads of 8000 bytes or more; a message that would not fit is sent
/// as ids only and each listener reads the row.
const NOTIFY_ROOM: i32 = 7900;
/// Advisory-lock class of chat participants (ASCII "CHAT"); the two-key form never collides with
/// the single-bigint locks used elsewhere.
const LOCK_CLASS: i32 = 0x4348_4154;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: Uuid,
    pub product_id: Uuid,
    pub buyer_id: Uuid,
    pub seller_id: Uuid,
    pub buyer_read_id: i64,
    pub seller_read_id: i64,
    pub last_message_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const CONVERSATION_COLUMNS: &str = "c.id, c.product_id, c.buyer_id, c.seller_id, c.buyer_read_id, \
     c.seller_read_id, c.last_message_id, c.created_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: Uuid,
    pub sender_id: Uuid,
    pub buyer_id: Uuid,
    pub seller_id: Uuid,
    pub body: String,
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, sender_id, buyer_id, seller_id, body, client_id, created_at";

/// A conversation as one participant sees it in their list.
#[derive(Debug, sqlx::FromRow)]
pub struct ConversationListRow {
    #[sqlx(flatten)]
    pub conversation: ConversationRow,
    pub unread_count: i64,
    pub last_id: Option<i64>,
    pub last_sender_id: Option<Uuid>,
    pub last_body: Option<String>,
    pub last_client_id: Option<String>,
    pub last_created_at: Option<DateTime<Utc>>,
}

/// Opens the conversation unless this buyer already has one about this product; returns it.
pub async fn open_conversation(
    conn: &mut PgConnection,
    id: Uuid,
    product_id: Uuid,
    buyer_id: Uuid,
    seller_id: Uuid,
) -> sqlx::Result<(ConversationRow, bool)> {
    let inserted = sqlx::query(
        "INSERT INTO chat_conversations (id, product_id, buyer_id, seller_id)
         VALUES ($1, $2, $3, $4) ON CONFLICT (product_id, buyer_id) DO NOTHING",
    )
    .bind(id)
    .bind(product_id)
    .bind(buyer_id)
    .bind(seller_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM chat_conversations c
         WHERE c.product_id = $1 AND c.buyer_id = $2"
    )))
    .bind(product_id)
    .bind(buyer_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((row, inserted))
}

/// The conversation if `user` takes part in it.
pub async fn conversation_of(
    db: impl PgExecutor<'_>,
    id: Uuid,
    user: Uuid,
) -> sqlx::Result<Option<ConversationRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM chat_conversations c
         WHERE c.id = $1 AND $2 IN (c.buyer_id, c.seller_id)"
    )))
    .bind(id)
    .bind(user)
    .fetch_optional(db)
    .await
}

/// The user's conversations, most recent activity first, with the last message and the count
/// of the other side's messages the user has not read. `only` narrows to one conversation;
/// `before` is the (activity, id) of the previous page's last row.
pub async fn list_conversations(
    db: impl PgExecutor<'_>,
    user: Uuid,
    only: Option<Uuid>,
    before: Option<(i64, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<ConversationListRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS},
                (SELECT count(*) FROM chat_messages u
                  WHERE u.conversation_id = c.id AND u.sender_id <> $1
                    AND u.id > CASE WHEN c.buyer_id = $1 THEN c.buyer_read_id
                                    ELSE c.seller_read_id END) AS unread_count,
                m.id AS last_id, m.sender_id AS last_sender_id, m.body AS last_body,
                m.client_id AS last_client_id, m.created_at AS last_created_at
         FROM chat_conversations c
         LEFT JOIN chat_messages m ON m.id = c.last_message_id
         WHERE (c.buyer_id = $1 OR c.seller_id = $1)
           AND ($2::uuid IS NULL OR c.id = $2)
           AND ($3::bigint IS NULL OR (COALESCE(c.last_message_id, 0), c.id) < ($3, $4))
         ORDER BY COALESCE(c.last_message_id, 0) DESC, c.id DESC
         LIMIT $5"
    )))
    .bind(user)
    .bind(only)
    .bind(before.map(|b| b.0))
    .bind(before.map(|b| b.1))
    .bind(limit)
    .fetch_all(db)
    .await
}

fn lock_key(user: Uuid) -> i32 {
    // The last four bytes: random in both v4 and v7 ids (the first ones are a v7's clock).
    let b = user.as_bytes();
    i32::from_be_bytes([b[12], b[13], b[14], b[15]])
}

/// Takes both participants' chat locks, in one order, until the transaction ends. Every message
/// takes them before drawing its id, so each person's messages get ids in commit order.
pub async fn lock_participants(conn: &mut PgConnection, a: Uuid, b: Uuid) -> sqlx::Result<()> {
    let (mut x, mut y) = (lock_key(a), lock_key(b));
    if x > y {
        std::mem::swap(&mut x, &mut y);
    }
    // Target-list entries are evaluated left to right.
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2), pg_advisory_xact_lock($1, $3)")
        .bind(LOCK_CLASS)
        .bind(x)
        .bind(y)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a message, moves the conversation's activity, and queues the NOTIFY that every
/// replica fans out after commit. `None` when the sender already stored this `client_id`.
pub async fn insert_message(
    conn: &mut PgConnection,
    conversation: &ConversationRow,
    sender: Uuid,
    body: &str,
    client_id: Option<&str>,
) -> sqlx::Result<Option<MessageRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH m AS (
            INSERT INTO chat_messages (conversation_id, sender_id, buyer_id, seller_id, body, client_id)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (sender_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
            RETURNING {MESSAGE_COLUMNS}
         ), c AS (
            UPDATE chat_conversations SET last_message_id = m.id FROM m
            WHERE chat_conversations.id = m.conversation_id
         ), p AS (
            SELECT json_build_object('id', id, 'c', conversation_id, 's', sender_id, 'b', buyer_id,
                       'l', seller_id, 'k', client_id, 't', created_at, 'body', body)::text AS full_,
                   json_build_object('id', id, 'b', buyer_id, 'l', seller_id)::text AS slim
            FROM m
         ), n AS (
            SELECT pg_notify('{CHAT_CHANNEL}',
                       CASE WHEN octet_length(full_) < {NOTIFY_ROOM} THEN full_ ELSE slim END)
            FROM p
         )
         SELECT {MESSAGE_COLUMNS}, (SELECT count(*) FROM n) AS notified FROM m"
    )))
    .bind(conversation.id)
    .bind(sender)
    .bind(conversation.buyer_id)
    .bind(conversation.seller_id)
    .bind(body)
    .bind(client_id)
    .fetch_optional(conn)
    .await
}

pub async fn message_by_client_id(
    db: impl PgExecutor<'_>,
    sender: Uuid,
    client_id: &str,
) -> sqlx::Result<Option<MessageRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE sender_id = $1 AND client_id = $2"
    )))
    .bind(sender)
    .bind(client_id)
    .fetch_optional(db)
    .await
}

pub async fn message(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<MessageRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Messages of every conversation `user` takes part in, after `after` and below `below`, oldest
/// first. A person is never both sides of a message, so the two ranges never overlap.
pub async fn messages_for_user(
    db: impl PgExecutor<'_>,
    user: Uuid,
    after: i64,
    below: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<MessageRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "(SELECT {MESSAGE_COLUMNS} FROM chat_messages
           WHERE buyer_id = $1 AND id > $2 AND ($3::bigint IS NULL OR id < $3) ORDER BY id LIMIT $4)
         UNION ALL
         (SELECT {MESSAGE_COLUMNS} FROM chat_messages
           WHERE seller_id = $1 AND id > $2 AND ($3::bigint IS NULL OR id < $3) ORDER BY id LIMIT $4)
         ORDER BY id LIMIT $4"
    )))
    .bind(user)
    .bind(after)
    .bind(below)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The newest message id of any conversation of `user` (0 when none).
pub async fn latest_for_user(db: impl PgExecutor<'_>, user: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COALESCE(GREATEST(
                    (SELECT max(id) FROM chat_messages WHERE buyer_id = $1),
                    (SELECT max(id) FROM chat_messages WHERE seller_id = $1)), 0)",
    )
    .bind(user)
    .fetch_one(db)
    .await
}

/// One page of a conversation: the newest before `before` (newest first), or the oldest after
/// `after` (oldest first).
pub async fn history(
    db: impl PgExecutor<'_>,
    conversation: Uuid,
    before: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<MessageRow>> {
    match after {
        Some(after) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {MESSAGE_COLUMNS} FROM chat_messages
                 WHERE conversation_id = $1 AND id > $2 AND ($4::bigint IS NULL OR id < $4)
                 ORDER BY id ASC LIMIT $3"
            )))
            .bind(conversation)
            .bind(after)
            .bind(limit)
            .bind(before)
            .fetch_all(db)
            .await
        }
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {MESSAGE_COLUMNS} FROM chat_messages
                 WHERE conversation_id = $1 AND ($2::bigint IS NULL OR id < $2)
                 ORDER BY id DESC LIMIT $3"
            )))
            .bind(conversation)
            .bind(before)
            .bind(limit)
            .fetch_all(db)
            .await
        }
    }
}

/// Moves `user`'s read marker up to `up_to` (never past the last message, never back).
pub async fn mark_read(
    db: impl PgExecutor<'_>,
    conversation: Uuid,
    user: Uuid,
    up_to: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE chat_conversations SET
            buyer_read_id = CASE WHEN buyer_id = $2
                THEN GREATEST(buyer_read_id, LEAST($3, COALESCE(last_message_id, 0)))
                ELSE buyer_read_id END,
            seller_read_id = CASE WHEN seller_id = $2
                THEN GREATEST(seller_read_id, LEAST($3, COALESCE(last_message_id, 0)))
                ELSE seller_read_id END
         WHERE id = $1 AND $2 IN (buyer_id, seller_id)",
    )
    .bind(conversation)
    .bind(user)
    .bind(up_to)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes send buckets that have refilled to `burst`: a full bucket and no bucket are the same.
pub async fn purge_full_send_buckets(
    db: &sqlx::PgPool,
    rate: f64,
    burst: f64,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM chat_send_buckets
         WHERE tokens + extract(epoch FROM clock_timestamp() - refilled_at) * $1 >= $2",
    )
    .bind(rate)
    .bind(burst)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Takes one token from the person's send bucket (refilled at `rate` a second up to `burst`),
/// one statement whoever sends, wherever; `Err(wait)` until a token is there.
pub async fn take_send_token(
    db: &sqlx::PgPool,
    user: Uuid,
    rate: f64,
    burst: f64,
) -> sqlx::Result<Result<(), std::time::Duration>> {
    let taken: Option<f64> = sqlx::query_scalar(
        "INSERT INTO chat_send_buckets AS b (user_id, tokens, refilled_at)
         VALUES ($1, $3 - 1, clock_timestamp())
         ON CONFLICT (user_id) DO UPDATE SET
             tokens = least($3, b.tokens + greatest(extract(epoch FROM EXCLUDED.refilled_at - b.refilled_at), 0) * $2) - 1,
             refilled_at = greatest(EXCLUDED.refilled_at, b.refilled_at)
         WHERE least($3, b.tokens + greatest(extract(epoch FROM EXCLUDED.refilled_at - b.refilled_at), 0) * $2) >= 1
         RETURNING tokens",
    )
    .bind(user)
    .bind(rate)
    .bind(burst)
    .fetch_optional(db)
    .await?;
    if taken.is_some() {
        return Ok(Ok(()));
    }
    let wait: Option<f64> = sqlx::query_scalar(
        "SELECT (1 - least($3, tokens + greatest(extract(epoch FROM clock_timestamp() - refilled_at), 0) * $2)) / $2
         FROM chat_send_buckets WHERE user_id = $1",
    )
    .bind(user)
    .bind(rate)
    .bind(burst)
    .fetch_optional(db)
    .await?;
    let wait = wait.unwrap_or(0.0).max(0.001);
    Ok(Err(std::time::Duration::from_secs_f64(wait)))
}
