//! One chat socket: JSON frames in and out, delivery in id order without gaps or repeats, the
//! rate limits (sends share the person's one bucket with REST; resumes have one per socket;
//! read markers are coalesced), pings, and closing clients that are too slow or gone.
//!
//! The socket remembers the last message id it delivered. Every message reaches the client
//! through [`Conn::deliver`], which skips what is not newer; since each person's message ids
//! grow in commit order (see `store::lock_participants`), "newer than the last delivered" is
//! exactly "not yet seen", whichever path (live event, resume, catch-up) brings it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::hub::{Event, Kick, Registration};
use super::{CATCH_UP_BATCH, Chat, Message, id_string};
use crate::accounts::{Accounts, CurrentUser};
use crate::http::{ApiError, ErrorCode};
use crate::notify::Notification;

/// The subprotocol a browser offers (with `access_token.<token>`) and the server selects.
pub const PROTOCOL: &str = "truffle.chat.v1";
/// The prefix of the subprotocol entry that carries the access token.
pub const TOKEN_PROTOCOL_PREFIX: &str = "access_token.";
/// Largest frame accepted; anything bigger closes the socket (1009).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// How long a socket waits for the listener before reading its starting point anyway.
const LISTEN_WAIT: Duration = Duration::from_secs(5);
/// A socket writes a conversation's read marker at most once per this interval: the `read`
/// frames of a burst are merged, and the last one is written when the interval ends.
pub const READ_COALESCE: Duration = Duration::from_secs(1);
/// Conversations whose read markers may wait to be written at once; past it, `rate_limited`.
const MAX_PENDING_READS: usize = 32;

/// Close codes (4000–4999 are the application's).
pub mod close {
    /// The session was logged out or revoked.
    pub const SESSION_ENDED: u16 = 4001;
    /// The client did not read fast enough; reconnect and resume.
    pub const TOO_SLOW: u16 = 4008;
    /// Nothing heard from the client, not even a pong, for the idle timeout.
    pub const IDLE: u16 = 4009;
    /// The server is shutting down; reconnect (to another replica) and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// Something failed on the server; reconnect and resume.
    pub const SERVER_ERROR: u16 = 1011;
}

/// Frames a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Store a message and deliver it.
    Send {
        conversation_id: Uuid,
        body: String,
        client_id: Option<String>,
    },
    /// Deliver everything after this id (the last one the client saw), then carry on live.
    Resume {
        #[serde(with = "id_string")]
        after: i64,
    },
    /// Move the read marker of a conversation.
    Read {
        conversation_id: Uuid,
        #[serde(default, with = "id_string::option")]
        up_to: Option<i64>,
    },
    /// An application-level ping for clients that cannot send ping frames; answered `pong`.
    Ping,
}

/// Frames the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    /// First frame: live delivery starts after `after` (the resume point, else the newest
    /// message of the caller's conversations; older ones are history).
    Ready {
        user_id: Uuid,
        #[serde(with = "id_string")]
        after: i64,
        max_message_chars: usize,
        messages_per_second: f64,
        message_burst: u32,
    },
    /// To the sending socket: the message is stored.
    Ack {
        client_id: Option<&'a str>,
        #[serde(with = "id_string")]
        id: i64,
        conversation_id: Uuid,
        created_at: DateTime<Utc>,
        /// A retry of a `client_id` already stored: nothing new was stored or delivered.
        duplicate: bool,
    },
    Message(&'a Message),
    Notification(&'a Notification),
    /// After a `read` frame: the caller's marker and unread count in that conversation.
    Read {
        conversation_id: Uuid,
        #[serde(with = "id_string")]
        last_read_id: i64,
        unread_count: i64,
    },
    Pong,
    Error {
        code: &'static str,
        message: &'a str,
        /// The `client_id` of the `send` that failed, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
struct Bucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: f64, burst: u32) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            rate,
            at: Instant::now(),
        }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// Why a socket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client closed it or the connection broke: nothing more to send.
    Gone,
    Close(u16, &'static str),
}

struct Conn {
    socket: WebSocket,
    chat: Chat,
    accounts: Accounts,
    user: CurrentUser,
    reg: Registration,
    /// The last message id delivered to this client.
    delivered: i64,
    /// `resume` frames (sends take the person's shared bucket, see `Chat::send`).
    bucket: Bucket,
    heard: Instant,
    reads: Reads,
}

/// Read markers waiting to be written: per conversation, how far (`None`: the newest).
#[derive(Default)]
struct Reads {
    pending: HashMap<Uuid, Option<i64>>,
    /// When the markers were last written, and so when the pending ones may be.
    written_at: Option<tokio::time::Instant>,
}

impl Reads {
    /// When the pending markers are due, if any wait.
    fn due(&self) -> Option<tokio::time::Instant> {
        if self.pending.is_empty() {
            return None;
        }
        Some(
            self.written_at
                .map_or_else(tokio::time::Instant::now, |at| at + READ_COALESCE),
        )
    }

    /// Merges a `read` frame into what waits: the furthest marker wins, "the newest" above all.
    fn merge(&mut self, conversation: Uuid, up_to: Option<i64>) -> bool {
        if !self.pending.contains_key(&conversation) && self.pending.len() >= MAX_PENDING_READS {
            return false;
        }
        let slot = self.pending.entry(conversation).or_insert(up_to);
        *slot = match (*slot, up_to) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        true
    }
}

/// Serves one upgraded socket until it ends.
pub async fn serve(
    socket: WebSocket,
    chat: Chat,
    accounts: Accounts,
    user: CurrentUser,
    reg: Registration,
    after: Option<i64>,
) {
    let bucket = Bucket::new(chat.config.messages_per_second, chat.config.message_burst);
    let mut conn = Conn {
        socket,
        chat,
        accounts,
        user,
        reg,
        delivered: 0,
        bucket,
        heard: Instant::now(),
        reads: Reads::default(),
    };
    let end = match conn.run(after).await {
        Ok(end) => end,
        Err(e) => {
            // The cause, not the message the client would have read.
            let cause =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), |c| c.to_string());
            tracing::warn!(user = %conn.user.id, error = %cause, "chat socket failed");
            End::Close(close::SERVER_ERROR, "server error; reconnect and resume")
        }
    };
    if let End::Close(code, reason) = end {
        // A client too slow to read will not read this either: do not wait on it.
        let frame = WsMessage::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = tokio::time::timeout(Duration::from_secs(1), conn.socket.send(frame)).await;
    }
}

impl Conn {
    async fn run(&mut self, after: Option<i64>) -> Result<End, ApiError> {
        // Listening first, then the starting point: whatever is stored after that point
        // arrives as a live event, whatever before is read from the database.
        if !self.chat.hub.wait_listening(LISTEN_WAIT).await {
            tracing::warn!("chat listener not ready; the socket catches up when it is");
        }
        self.delivered = match after {
            Some(after) => after,
            None => self.chat.latest_for(self.user.id).await?,
        };
        let config = &self.chat.config;
        let ready = ServerFrame::Ready {
            user_id: self.user.id,
            after: self.delivered,
            max_message_chars: config.max_message_chars,
            messages_per_second: config.messages_per_second,
            message_burst: config.message_burst,
        };
        if let Some(end) = self.write(&ready).await {
            return Ok(end);
        }
        if after.is_some()
            && let Some(end) = self.catch_up().await?
        {
            return Ok(end);
        }
        let ping_every = self.chat.config.ping_interval;
        let idle = self.chat.config.idle_timeout;
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
        let kick = self.reg.kick.clone();
        loop {
            let reads_due = self.reads.due();
            let step = tokio::select! {
                _ = async {
                    match reads_due {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => self.write_reads().await?,
                why = kick.kicked() => return Ok(kicked(why)),
                event = self.reg.events.recv() => match event {
                    Some(event) => self.on_event(event).await?,
                    // The hub let go of this socket: its queue was full.
                    None => Some(kicked(Kick::Slow)),
                },
                frame = self.socket.recv() => match frame {
                    Some(Ok(frame)) => {
                        self.heard = Instant::now();
                        self.on_frame(frame).await?
                    }
                    Some(Err(_)) | None => Some(End::Gone),
                },
                _ = ping.tick() => {
                    if self.heard.elapsed() > idle {
                        Some(End::Close(close::IDLE, "idle timeout"))
                    } else if !self.accounts.session_is_live(&self.user).await? {
                        Some(End::Close(close::SESSION_ENDED, "session ended; log in again"))
                    } else {
                        self.send_raw(WsMessage::Ping(Default::default())).await
                    }
                }
            };
            if let Some(end) = step {
                return Ok(end);
            }
        }
    }

    async fn on_event(&mut self, event: Event) -> Result<Option<End>, ApiError> {
        match event {
            Event::Message(m) => Ok(self.deliver(&m).await),
            Event::Notification(n) => Ok(self.write(&ServerFrame::Notification(&n)).await),
            Event::Resync => self.catch_up().await,
        }
    }

    /// Sends a message unless this client already has it.
    async fn deliver(&mut self, m: &Message) -> Option<End> {
        if m.id <= self.delivered {
            return None;
        }
        self.delivered = m.id;
        self.write(&ServerFrame::Message(m)).await
    }

    /// Delivers everything stored for the caller after the last delivered id.
    async fn catch_up(&mut self) -> Result<Option<End>, ApiError> {
        loop {
            let batch = self.chat.missed(self.user.id, self.delivered).await?;
            let full = batch.len() as i64 == CATCH_UP_BATCH;
            for m in &batch {
                if let Some(end) = self.deliver(m).await {
                    return Ok(Some(end));
                }
            }
            if !full {
                return Ok(None);
            }
        }
    }

    async fn on_frame(&mut self, frame: WsMessage) -> Result<Option<End>, ApiError> {
        let text = match frame {
            WsMessage::Text(t) => t,
            WsMessage::Close(_) => return Ok(Some(End::Gone)),
            WsMessage::Ping(_) | WsMessage::Pong(_) => return Ok(None),
            WsMessage::Binary(_) => {
                return Ok(self
                    .error(
                        &ApiError::with_message(
                            ErrorCode::InvalidBody,
                            "Send JSON in text frames.",
                        ),
                        None,
                    )
                    .await);
            }
        };
        // The text rule, as for every JSON body: before the frame is read into its type.
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text.as_str())
            && let Err(e) = crate::http::text::check_json(&value)
        {
            return Ok(self.error(&e, None).await);
        }
        let frame: ClientFrame = match serde_json::from_str(text.as_str()) {
            Ok(f) => f,
            Err(e) => {
                let code = if e.is_data() {
                    ErrorCode::InvalidBody
                } else {
                    ErrorCode::MalformedJson
                };
                let message: String = e.to_string().chars().take(200).collect();
                return Ok(self
                    .error(&ApiError::with_message(code, message), None)
                    .await);
            }
        };
        match frame {
            ClientFrame::Ping => Ok(self.write(&ServerFrame::Pong).await),
            ClientFrame::Send {
                conversation_id,
                body,
                client_id,
            } => {
                let sent = self
                    .chat
                    .send(
                        self.user.id,
                        conversation_id,
                        &body,
                        client_id.as_deref(),
                        Some(self.delivered),
                    )
                    .await
                    .map_err(ApiError::from);
                match sent {
                    Ok(sent) => {
                        let more = sent.earlier.len() as i64 == CATCH_UP_BATCH;
                        for m in &sent.earlier {
                            if let Some(end) = self.deliver(m).await {
                                return Ok(Some(end));
                            }
                        }
                        if more && let Some(end) = self.catch_up().await? {
                            return Ok(Some(end));
                        }
                        let m = &sent.message;
                        self.delivered = self.delivered.max(m.id);
                        Ok(self
                            .write(&ServerFrame::Ack {
                                client_id: client_id.as_deref(),
                                id: m.id,
                                conversation_id: m.conversation_id,
                                created_at: m.created_at,
                                duplicate: sent.duplicate,
                            })
                            .await)
                    }
                    Err(e) if e.code.status().is_server_error() => Err(e),
                    Err(e) => Ok(self
                        .error_with_retry(&e, client_id.as_deref(), e.retry_after())
                        .await),
                }
            }
            ClientFrame::Resume { after } => {
                if let Err(wait) = self.bucket.take() {
                    let err = ApiError::rate_limited(wait);
                    return Ok(self.error_with_retry(&err, None, Some(wait)).await);
                }
                self.delivered = after;
                self.catch_up().await
            }
            ClientFrame::Read {
                conversation_id,
                up_to,
            } => {
                if !self.reads.merge(conversation_id, up_to) {
                    let err = ApiError::rate_limited(READ_COALESCE);
                    return Ok(self.error_with_retry(&err, None, Some(READ_COALESCE)).await);
                }
                // A burst writes at once for its first frame, then once per interval.
                if self
                    .reads
                    .due()
                    .is_some_and(|at| at <= tokio::time::Instant::now())
                {
                    return self.write_reads().await;
                }
                Ok(None)
            }
        }
    }

    /// Writes the read markers that wait (one update per conversation) and answers each with a
    /// `read` frame, or an `error` frame for a conversation that is not the caller's.
    async fn write_reads(&mut self) -> Result<Option<End>, ApiError> {
        self.reads.written_at = Some(tokio::time::Instant::now());
        let pending = std::mem::take(&mut self.reads.pending);
        for (conversation_id, up_to) in pending {
            let step = match self
                .chat
                .mark_read(self.user.id, conversation_id, up_to)
                .await
                .map_err(ApiError::from)
            {
                Ok(c) => {
                    self.write(&ServerFrame::Read {
                        conversation_id,
                        last_read_id: c.last_read_id,
                        unread_count: c.unread_count,
                    })
                    .await
                }
                Err(e) if e.code.status().is_server_error() => return Err(e),
                Err(e) => self.error(&e, None).await,
            };
            if step.is_some() {
                return Ok(step);
            }
        }
        Ok(None)
    }

    async fn error(&mut self, e: &ApiError, client_id: Option<&str>) -> Option<End> {
        self.error_with_retry(e, client_id, None).await
    }

    async fn error_with_retry(
        &mut self,
        e: &ApiError,
        client_id: Option<&str>,
        retry: Option<Duration>,
    ) -> Option<End> {
        self.write(&ServerFrame::Error {
            code: e.code.as_str(),
            message: e.message(),
            client_id,
            retry_after_ms: retry.map(|d| d.as_millis().max(1) as u64),
        })
        .await
    }

    async fn write(&mut self, frame: &ServerFrame<'_>) -> Option<End> {
        let text = match serde_json::to_string(frame) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "chat frame not serialisable");
                return None;
            }
        };
        self.send_raw(WsMessage::Text(text.into())).await
    }

    /// Writes one frame; gives up when the hub asks this socket to close or the client has not
    /// taken it within the idle timeout.
    async fn send_raw(&mut self, frame: WsMessage) -> Option<End> {
        let kick = self.reg.kick.clone();
        let limit = self.chat.config.idle_timeout;
        tokio::select! {
            sent = tokio::time::timeout(limit, self.socket.send(frame)) => match sent {
                Ok(Ok(())) => None,
                Ok(Err(_)) => Some(End::Gone),
                Err(_) => Some(End::Close(close::TOO_SLOW, "too slow; reconnect and resume")),
            },
            why = kick.kicked() => Some(kicked(why)),
        }
    }
}

fn kicked(why: Kick) -> End {
    match why {
        Kick::Shutdown => End::Close(
            close::GOING_AWAY,
            "server shutting down; reconnect and resume",
        ),
        Kick::Slow | Kick::None => End::Close(close::TOO_SLOW, "too slow; reconnect and resume"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let mut b = Bucket::new(2.0, 3);
        assert!(b.take().is_ok());
        assert!(b.take().is_ok());
        assert!(b.take().is_ok());
        let wait = b.take().unwrap_err();
        assert!(wait <= Duration::from_millis(500) && wait > Duration::from_millis(400));
        b.at -= Duration::from_millis(600);
        assert!(b.take().is_ok());
    }

    #[test]
    fn frames_parse_and_refuse_what_they_should() {
        let f: ClientFrame = serde_json::from_str(
            r#"{"type":"send","conversation_id":"0192f0c8-8d8e-7000-8000-000000000000","body":"안녕하세요","client_id":"c1"}"#,
        )
        .unwrap();
        assert!(matches!(f, ClientFrame::Send { .. }));
        let f: ClientFrame = serde_json::from_str(r#"{"type":"resume","after":"42"}"#).unwrap();
        assert!(matches!(f, ClientFrame::Resume { after: 42 }));
        for bad in [
            r#"{"type":"resume","after":42}"#,
            r#"{"type":"resume","after":"-1"}"#,
            r#"{"type":"resume","after":"x"}"#,
            r#"{"type":"resume","after":"1","extra":1}"#,
            r#"{"type":"nope"}"#,
            r#"{"body":"no type"}"#,
        ] {
            let e = serde_json::from_str::<ClientFrame>(bad).unwrap_err();
            assert!(e.is_data(), "{bad}: {e}");
        }
        assert!(
            !serde_json::from_str::<ClientFrame>("{nope")
                .unwrap_err()
                .is_data()
        );
    }

    #[test]
    fn server_frames_carry_their_type_and_string_ids() {
        let v = serde_json::to_value(ServerFrame::Ack {
            client_id: Some("c1"),
            id: 7,
            conversation_id: Uuid::nil(),
            created_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
            duplicate: false,
        })
        .unwrap();
        assert_eq!(v["type"], "ack");
        assert_eq!(v["id"], "7");
        assert_eq!(v["client_id"], "c1");
    }
}
