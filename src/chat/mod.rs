//! Buyer–seller chat: a conversation between a buyer and a product's seller about that product,
//! messages stored in PostgreSQL and delivered live over `GET /v1/chat/ws`, on every replica
//! through LISTEN/NOTIFY ([`hub`]). The same socket carries live inbox notifications.
//!
//! Owns the `chat_conversations` and `chat_messages` tables. The protocol, limits and decisions
//! are in `docs/CHAT.md`.

pub mod hub;
pub mod routes;
pub mod socket;
pub mod store;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalogue::Catalogue;
use crate::config::ChatConfig;
use crate::http::Refuse as _;
pub use hub::Hub;

/// What can go wrong in chat. The HTTP boundary (`routes.rs`) gives each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A body or client id is not acceptable.
    #[error(transparent)]
    Invalid(#[from] crate::http::Invalid),
    /// The body is longer than the configured most characters.
    #[error("the message is longer than {max} characters")]
    TooLong { max: usize },
    /// The sender's bucket is empty: they may send again after the wait.
    #[error("sending too fast; wait {0:?}")]
    RateLimited(std::time::Duration),
    /// No such conversation of the caller's, or its product is gone.
    #[error("no such conversation")]
    NotFound,
    /// A seller asked to talk about their own product.
    #[error("a conversation about one's own product")]
    OwnProduct,
    /// The other side deleted their account.
    #[error("the conversation is closed")]
    Closed,
    /// Stored rows contradict what the code expects.
    #[error("corrupt chat data: {0}")]
    Corrupt(&'static str),
    /// Reading the conversation's product failed.
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::Error),
    /// Reading the other party's account failed.
    #[error(transparent)]
    Accounts(#[from] crate::accounts::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Longest `client_id` a sender may attach.
pub const MAX_CLIENT_ID: usize = 64;
/// Most messages a resume or a catch-up reads per query.
const CATCH_UP_BATCH: i64 = 500;

/// A message as participants see it. `id` is a decimal string (it outgrows JavaScript numbers).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Message {
    /// Server id: increases with time; for any one person, in the order their messages were
    /// stored.
    #[serde(with = "id_string")]
    #[schema(value_type = String, example = "1042")]
    pub id: i64,
    pub conversation_id: Uuid,
    pub sender_id: Uuid,
    pub body: String,
    /// The sender's own id for the message, if they gave one.
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The participants (for fan-out; not sent to clients).
    #[serde(skip)]
    pub participants: [Uuid; 2],
}

impl From<store::MessageRow> for Message {
    fn from(r: store::MessageRow) -> Self {
        Message {
            id: r.id,
            conversation_id: r.conversation_id,
            sender_id: r.sender_id,
            body: r.body,
            client_id: r.client_id,
            created_at: r.created_at,
            participants: [r.buyer_id, r.seller_id],
        }
    }
}

/// Message ids travel as decimal strings, both ways: 1 to 18 digits, as the OpenAPI pattern says
/// (a JSON number is refused, as the document's `type: string` says).
pub mod id_string {
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(de::Error::custom(
                "a message id is a string of 1 to 18 digits",
            ));
        }
        s.parse::<i64>()
            .map_err(|_| de::Error::custom("a message id is a string of 1 to 18 digits"))
    }

    /// The same for an optional id.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(id: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match id {
                Some(id) => s.collect_str(id),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] i64);
            Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
        }
    }
}

/// The other side of a conversation, as the caller sees them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Party {
    pub id: Uuid,
    /// Nickname, else the verified name masked (`김**`).
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductSummary {
    pub id: Uuid,
    pub name: String,
    pub brand: String,
}

/// A conversation as one participant sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub id: Uuid,
    pub product: ProductSummary,
    pub buyer_id: Uuid,
    pub seller_id: Uuid,
    /// `buyer` or `seller`: the caller's side.
    pub role: String,
    pub other_party: Party,
    pub last_message: Option<Message>,
    /// The other side's messages after the caller's read marker.
    pub unread_count: i64,
    /// The caller's read marker (last message id read; "0" for none).
    #[serde(with = "id_string")]
    #[schema(value_type = String)]
    pub last_read_id: i64,
    pub created_at: DateTime<Utc>,
}

/// What storing a message gave: the message, whether it was a retry of one stored before, and
/// the messages for the sender that were stored before it and not yet delivered on the caller's
/// socket.
pub struct Sent {
    pub message: Message,
    pub duplicate: bool,
    pub earlier: Vec<Message>,
}

#[derive(Clone)]
pub struct Chat(Arc<ChatInner>);

pub struct ChatInner {
    pub db: PgPool,
    pub catalogue: Catalogue,
    pub config: ChatConfig,
    pub hub: Arc<Hub>,
}

impl std::ops::Deref for Chat {
    type Target = ChatInner;
    fn deref(&self) -> &ChatInner {
        &self.0
    }
}

impl Chat {
    pub fn new(db: PgPool, catalogue: Catalogue, config: ChatConfig) -> Chat {
        let hub = Hub::new(db.clone(), &config);
        Chat(Arc::new(ChatInner {
            db,
            catalogue,
            config,
            hub,
        }))
    }

    /// Opens (or finds) the caller's conversation with the seller of `product_id`.
    /// Returns the conversation and whether it is new.
    pub async fn open(&self, user: Uuid, product_id: Uuid) -> Result<(Conversation, bool), Error> {
        let product = self.catalogue.product(product_id).await?;
        if product.seller_id == user {
            return Err(Error::OwnProduct);
        }
        let mut conn = self.db.acquire().await?;
        let existing = sqlx::query_scalar::<_, Uuid>(
            "SELECT id FROM chat_conversations WHERE product_id = $1 AND buyer_id = $2",
        )
        .bind(product_id)
        .bind(user)
        .fetch_optional(&mut *conn)
        .await?;
        // A delisted or revoked product keeps its conversations but gets no new ones.
        if existing.is_none() && (!product.listed || product.revoked_at.is_some()) {
            return Err(Error::NotFound);
        }
        let (row, created) = store::open_conversation(
            &mut conn,
            Uuid::now_v7(),
            product_id,
            user,
            product.seller_id,
        )
        .await?;
        drop(conn);
        Ok((self.conversation(user, row.id).await?, created))
    }

    /// One conversation of the caller's; `not_found` for anyone else.
    pub async fn conversation(&self, user: Uuid, id: Uuid) -> Result<Conversation, Error> {
        let rows = store::list_conversations(&self.db, user, Some(id), None, 1).await?;
        self.views(user, rows).await?.pop().ok_or(Error::NotFound)
    }

    /// The caller's conversations, most recent activity first; the cursor of the next page.
    pub async fn conversations(
        &self,
        user: Uuid,
        before: Option<(i64, Uuid)>,
        limit: i64,
    ) -> Result<(Vec<Conversation>, Option<(i64, Uuid)>), Error> {
        let rows = store::list_conversations(&self.db, user, None, before, limit + 1).await?;
        let (rows, next) = crate::db::page_of(rows, limit, |r| {
            (
                r.conversation.last_message_id.unwrap_or(0),
                r.conversation.id,
            )
        });
        Ok((self.views(user, rows).await?, next))
    }

    async fn views(
        &self,
        user: Uuid,
        rows: Vec<store::ConversationListRow>,
    ) -> Result<Vec<Conversation>, Error> {
        let mut product_ids: Vec<Uuid> = rows.iter().map(|r| r.conversation.product_id).collect();
        product_ids.sort();
        product_ids.dedup();
        let products = self.catalogue.products(&product_ids).await?;
        let others: Vec<Uuid> = rows
            .iter()
            .map(|r| {
                if r.conversation.buyer_id == user {
                    r.conversation.seller_id
                } else {
                    r.conversation.buyer_id
                }
            })
            .collect();
        let names = crate::accounts::public_names(&self.db, &others).await?;
        Ok(rows
            .into_iter()
            .zip(others)
            .map(|(r, other)| {
                let c = r.conversation;
                let is_buyer = c.buyer_id == user;
                let product = products.iter().find(|p| p.id == c.product_id);
                let last_message =
                    match (r.last_id, r.last_sender_id, r.last_body, r.last_created_at) {
                        (Some(id), Some(sender_id), Some(body), Some(created_at)) => {
                            Some(Message {
                                id,
                                conversation_id: c.id,
                                sender_id,
                                body,
                                client_id: r.last_client_id,
                                created_at,
                                participants: [c.buyer_id, c.seller_id],
                            })
                        }
                        _ => None,
                    };
                Conversation {
                    id: c.id,
                    product: ProductSummary {
                        id: c.product_id,
                        name: product.map(|p| p.record.name.clone()).unwrap_or_default(),
                        brand: product.map(|p| p.record.brand.clone()).unwrap_or_default(),
                    },
                    buyer_id: c.buyer_id,
                    seller_id: c.seller_id,
                    role: if is_buyer { "buyer" } else { "seller" }.into(),
                    other_party: Party {
                        id: other,
                        name: names.get(&other).cloned().unwrap_or_else(|| "회원".into()),
                    },
                    last_message,
                    unread_count: r.unread_count,
                    last_read_id: if is_buyer {
                        c.buyer_read_id
                    } else {
                        c.seller_read_id
                    },
                    created_at: c.created_at,
                }
            })
            .collect())
    }

    /// A page of a conversation's messages, oldest first, and whether more lie beyond it.
    pub async fn history(
        &self,
        user: Uuid,
        conversation: Uuid,
        before: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<(Vec<Message>, bool), Error> {
        store::conversation_of(&self.db, conversation, user)
            .await?
            .ok_or(Error::NotFound)?;
        let rows = store::history(&self.db, conversation, before, after, limit + 1).await?;
        let (mut rows, more) = crate::db::page_of(rows, limit, |_| ());
        let more = more.is_some();
        if after.is_none() {
            rows.reverse();
        }
        Ok((rows.into_iter().map(Message::from).collect(), more))
    }

    /// Moves the caller's read marker (to the newest message when `up_to` is left out).
    pub async fn mark_read(
        &self,
        user: Uuid,
        conversation: Uuid,
        up_to: Option<i64>,
    ) -> Result<Conversation, Error> {
        let n = store::mark_read(&self.db, conversation, user, up_to.unwrap_or(i64::MAX)).await?;
        if n == 0 {
            return Err(Error::NotFound);
        }
        self.conversation(user, conversation).await
    }

    /// Checks a body and a client id: NFC, no control characters but newlines and tabs, not
    /// blank, at most the configured length.
    pub fn validated_body(&self, body: &str, client_id: Option<&str>) -> Result<String, Error> {
        if let Some(c) = client_id
            && (c.is_empty() || c.chars().count() > MAX_CLIENT_ID)
        {
            return Err(Error::invalid("client_id", "must be 1 to 64 characters."));
        }
        let body: String = body.nfc().collect();
        if body.trim().is_empty() {
            return Err(Error::invalid("body", "must not be empty."));
        }
        if body
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            return Err(Error::invalid(
                "body",
                "must not contain control characters.",
            ));
        }
        let max = self.config.max_message_chars;
        if body.chars().count() > max {
            return Err(Error::TooLong { max });
        }
        Ok(body)
    }

    /// Stores a message from `sender` and has it delivered to both participants' sockets on every
    /// replica. Each valid send takes a token from the sender's one bucket
    /// (`CHAT_MESSAGES_PER_SECOND`, `CHAT_MESSAGE_BURST`), whether it comes over REST or a
    /// socket: `rate_limited` with the wait once it is empty. `delivered` is the last message id the caller's socket has delivered: the reply
    /// carries what was stored for the sender between that and this message, so that the caller
    /// can deliver those before acknowledging (REST callers pass `None`).
    pub async fn send(
        &self,
        sender: Uuid,
        conversation: Uuid,
        body: &str,
        client_id: Option<&str>,
        delivered: Option<i64>,
    ) -> Result<Sent, Error> {
        let body = self.validated_body(body, client_id)?;
        // One bucket per person across REST, every socket and every replica.
        let rate = self.config.messages_per_second;
        let burst = f64::from(self.config.message_burst);
        if let Err(wait) = store::take_send_token(&self.db, sender, rate, burst).await? {
            return Err(Error::RateLimited(wait));
        }
        let mut tx = self.db.begin().await?;
        let conv = store::conversation_of(&mut *tx, conversation, sender)
            .await?
            .ok_or(Error::NotFound)?;
        // Nobody is on the other side of a deleted account: its history stays, new messages do
        // not go in (a deleted seller's products are delisted, so nothing is sold there either).
        let other = if conv.buyer_id == sender {
            conv.seller_id
        } else {
            conv.buyer_id
        };
        if !crate::accounts::is_active(&mut *tx, other).await? {
            return Err(Error::Closed);
        }
        store::lock_participants(&mut tx, conv.buyer_id, conv.seller_id).await?;
        let stored = store::insert_message(&mut tx, &conv, sender, &body, client_id).await?;
        let (message, duplicate) = match stored {
            Some(row) => (Message::from(row), false),
            None => {
                let client_id =
                    client_id.ok_or(Error::Corrupt("a message without client id conflicted"))?;
                let row = store::message_by_client_id(&mut *tx, sender, client_id)
                    .await?
                    .ok_or(Error::Corrupt("conflicting message vanished"))?;
                (Message::from(row), true)
            }
        };
        let earlier = match delivered {
            Some(after) if !duplicate && message.id > after + 1 => {
                store::messages_for_user(&mut *tx, sender, after, Some(message.id), CATCH_UP_BATCH)
                    .await?
                    .into_iter()
                    .map(Message::from)
                    .collect()
            }
            _ => Vec::new(),
        };
        tx.commit().await?;
        Ok(Sent {
            message,
            duplicate,
            earlier,
        })
    }

    /// Up to one batch of `user`'s messages after `after`, oldest first.
    pub async fn missed(&self, user: Uuid, after: i64) -> Result<Vec<Message>, Error> {
        Ok(
            store::messages_for_user(&self.db, user, after, None, CATCH_UP_BATCH)
                .await?
                .into_iter()
                .map(Message::from)
                .collect(),
        )
    }

    /// The newest message id of any of `user`'s conversations (0 when none).
    pub async fn latest_for(&self, user: Uuid) -> Result<i64, Error> {
        Ok(store::latest_for_user(&self.db, user).await?)
    }
}

impl Chat {
    /// Deletes the send buckets that have refilled (run with the rate-limit purge).
    pub async fn purge_send_buckets(&self) -> Result<u64, sqlx::Error> {
        store::purge_full_send_buckets(
            &self.db,
            self.config.messages_per_second,
            f64::from(self.config.message_burst),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Frame {
        #[serde(default, with = "super::id_string::option")]
        up_to: Option<i64>,
    }

    fn read(json: &str) -> Option<Option<i64>> {
        serde_json::from_str::<Frame>(json).ok().map(|f| f.up_to)
    }

    #[test]
    fn message_ids_are_strings_of_1_to_18_digits_only() {
        assert_eq!(read(r#"{"up_to": "5"}"#), Some(Some(5)));
        assert_eq!(
            read(r#"{"up_to": "999999999999999999"}"#),
            Some(Some(999_999_999_999_999_999))
        );
        assert_eq!(read(r#"{"up_to": null}"#), Some(None));
        assert_eq!(read(r#"{}"#), Some(None));
        for bad in [
            r#"0"#,
            r#"5"#,
            r#""""#,
            r#"" 5""#,
            r#""-1""#,
            r#""1e3""#,
            r#""1234567890123456789""#,
        ] {
            assert_eq!(read(&format!(r#"{{"up_to": {bad}}}"#)), None, "{bad}");
        }
    }
}
