//! Buyer–seller chat: conversations, history, the WebSocket (send → ack → deliver, resume,
//! limits, slow clients), delivery across two replicas through LISTEN/NOTIFY, and live
//! notifications. Real PostgreSQL, real sockets.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::TestApp;

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a frame may take to arrive before a test fails.
const WAIT: Duration = Duration::from_secs(10);

fn product() -> Value {
    json!({
        "name": "나이키 덩크 로우 레트로 판다",
        "brand": "Nike",
        "category": "sneakers",
        "edition_size": 500,
        "retail_price_krw": 129000,
        "description": "한정 수량 발매",
        "sku": "DD1391-100",
        "image_sha256s": ["ab".repeat(32)]
    })
}

/// A seller with a product and a buyer with a conversation about it.
struct Pair {
    seller: String,
    seller_id: String,
    buyer: String,
    buyer_id: String,
    product_id: String,
    conversation: String,
}

async fn user_id(app: &TestApp, token: &str) -> String {
    app.get("/v1/me", Some(token)).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn pair(app: &TestApp) -> Pair {
    let (seller_id, seller) = app.seller().await;
    let product_id = app
        .post("/v1/products", Some(&seller), product())
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let buyer = app.buyer().await;
    let buyer_id = user_id(app, &buyer).await;
    let opened = app
        .post(
            "/v1/conversations",
            Some(&buyer),
            json!({"product_id": product_id}),
        )
        .await;
    assert_eq!(opened.status.as_u16(), 201, "{}", opened.body);
    Pair {
        conversation: opened.body["id"].as_str().unwrap().to_owned(),
        seller,
        seller_id,
        buyer,
        buyer_id,
        product_id,
    }
}

fn ws_url(app: &TestApp, query: &str) -> String {
    format!("{}/v1/chat/ws{query}", app.base.replacen("http", "ws", 1))
}

struct Client {
    ws: Stream,
    /// The `ready` frame.
    ready: Value,
}

async fn try_connect(
    app: &TestApp,
    token: &str,
    query: &str,
) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
    let mut req = ws_url(app, query).into_client_request().unwrap();
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let (ws, _) = tokio_tungstenite::connect_async(req).await?;
    let mut client = Client {
        ws,
        ready: Value::Null,
    };
    let ready = client.next().await;
    assert_eq!(ready["type"], "ready", "{ready}");
    client.ready = ready;
    Ok(client)
}

async fn connect(app: &TestApp, token: &str) -> Client {
    try_connect(app, token, "").await.expect("socket opens")
}

impl Client {
    async fn send(&mut self, frame: Value) {
        self.ws
            .send(WsMessage::text(frame.to_string()))
            .await
            .unwrap();
    }

    async fn say(&mut self, conversation: &str, body: &str, client_id: &str) {
        self.send(json!({"type": "send", "conversation_id": conversation, "body": body, "client_id": client_id}))
            .await;
    }

    /// The next JSON frame (pings skipped).
    async fn next(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
                .expect("no socket error");
            match frame {
                WsMessage::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Nothing but pings within `d`.
    async fn quiet_for(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => continue,
                Ok(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// The next frame after sending a message: its ack.
    async fn ack(&mut self) -> Value {
        let f = self.next().await;
        assert_eq!(f["type"], "ack", "{f}");
        f
    }
}

async fn rest_send(app: &TestApp, token: &str, conversation: &str, body: &str) -> Value {
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/messages"),
            Some(token),
            json!({"body": body}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body
}

#[tokio::test]
async fn a_message_is_acknowledged_to_the_sender_and_delivered_to_both_sides_live() {
    let app = TestApp::spawn().await;
    let p = pair(&app).await;

    // Opening again gives the same conversation; the seller cannot open one with themselves.
    let again = app
        .post(
            "/v1/conversations",
            Some(&p.buyer),
            json!({"product_id": p.product_id}),
        )
        .await;
    assert_eq!(again.status.as_u16(), 200);
    assert_eq!(again.body["id"], p.conversation.as_str());
    assert_eq!(again.body["role"], "buyer");
    assert_eq!(
        again.body["product"]["name"],
        "나이키 덩크 로우 레트로 판다"
    );
    app.post(
        "/v1/conversations",
        Some(&p.seller),
        json!({"product_id": p.product_id}),
    )
    .await
    .expect(403, "own_product");
    app.post(
        "/v1/conversations",
        Some(&p.buyer),
        json!({"product_id": uuid::Uuid::now_v7()}),
    )
    .await
    .expect(404, "not_found");

    let mut buyer = connect(&app, &p.buyer).await;
    let mut buyer_phone = connect(&app, &p.buyer).await;
    let mut seller = connect(&app, &p.seller).await;
    assert_eq!(buyer.ready["after"], "0");

    buyer
        .say(&p.conversation, "안녕하세요, 사이즈 270 있나요?", "c-1")
        .await;
    let ack = buyer.ack().await;
    assert_eq!(ack["client_id"], "c-1");
    assert_eq!(ack["duplicate"], false);
    let id = ack["id"].as_str().unwrap().to_owned();
    assert!(ack["created_at"].is_string());

    for side in [&mut seller, &mut buyer_phone] {
        let m = side.next().await;
        assert_eq!(m["type"], "message", "{m}");
        assert_eq!(m["id"], id.as_str());
        assert_eq!(m["conversation_id"], p.conversation.as_str());
        assert_eq!(m["sender_id"], p.buyer_id.as_str());
        assert_eq!(m["body"], "안녕하세요, 사이즈 270 있나요?");
        assert_eq!(m["client_id"], "c-1");
    }

    seller.say(&p.conversation, "네, 있습니다.", "s-1").await;
    let reply = seller.ack().await["id"].as_str().unwrap().to_owned();
    assert!(reply.parse::<i64>().unwrap() > id.parse::<i64>().unwrap());
    for side in [&mut buyer, &mut buyer_phone] {
        let m = side.next().await;
        assert_eq!(
            (m["type"].as_str(), m["id"].as_str()),
            (Some("message"), Some(reply.as_str()))
        );
        assert_eq!(m["sender_id"], p.seller_id.as_str());
    }

    // A retried client id is acknowledged with the first id and not delivered again.
    buyer
        .say(&p.conversation, "안녕하세요, 사이즈 270 있나요?", "c-1")
        .await;
    let dup = buyer.ack().await;
    assert_eq!(
        (dup["id"].as_str(), dup["duplicate"].as_bool()),
        (Some(id.as_str()), Some(true))
    );
    seller.quiet_for(Duration::from_millis(300)).await;

    // The sender's own message is in the history too.
    let page = app
        .get(
            &format!("/v1/conversations/{}/messages", p.conversation),
            Some(&p.seller),
        )
        .await
        .ok();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str(), reply.as_str()]);
}

#[tokio::test]
async fn a_third_user_can_neither_read_nor_write_a_conversation() {
    let app = TestApp::spawn().await;
    let p = pair(&app).await;
    let stranger = app.buyer().await;
    let c = &p.conversation;
    rest_send(&app, &p.buyer, c, "비밀 이야기").await;

    app.get(&format!("/v1/conversations/{c}"), Some(&stranger))
        .await
        .expect(404, "not_found");
    app.get(&format!("/v1/conversations/{c}/messages"), Some(&stranger))
        .await
        .expect(404, "not_found");
    app.post(
        &format!("/v1/conversations/{c}/messages"),
        Some(&stranger),
        json!({"body": "끼어들기"}),
    )
    .await
    .expect(404, "not_found");
    app.post(
        &format!("/v1/conversations/{c}/read"),
        Some(&stranger),
        json!({}),
    )
    .await
    .expect(404, "not_found");
    let mine = app.get("/v1/conversations", Some(&stranger)).await.ok();
    assert_eq!(mine["items"].as_array().unwrap().len(), 0);
    app.get(&format!("/v1/conversations/{c}"), None)
        .await
        .expect(401, "authentication_required");

    // Over the socket: refused with a code, nothing delivered either way, the socket lives on.
    let mut eve = connect(&app, &stranger).await;
    let mut seller = connect(&app, &p.seller).await;
    eve.say(c, "끼어들기", "e-1").await;
    let err = eve.next().await;
    assert_eq!(
        (
            err["type"].as_str(),
            err["code"].as_str(),
            err["client_id"].as_str()
        ),
        (Some("error"), Some("not_found"), Some("e-1"))
    );
    eve.send(json!({"type": "read", "conversation_id": c}))
        .await;
    assert_eq!(eve.next().await["code"], "not_found");
    seller.quiet_for(Duration::from_millis(300)).await;
    rest_send(&app, &p.buyer, c, "둘만의 이야기").await;
    assert_eq!(seller.next().await["body"], "둘만의 이야기");
    eve.quiet_for(Duration::from_millis(300)).await;
    // Resuming from the start gives the stranger nothing of others' conversations.
    eve.send(json!({"type": "resume", "after": "0"})).await;
    eve.quiet_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn unread_counts_follow_the_read_marker() {
    let app = TestApp::spawn().await;
    let p = pair(&app).await;
    let c = &p.conversation;
    let first = rest_send(&app, &p.seller, c, "첫째").await;
    rest_send(&app, &p.seller, c, "둘째").await;
    let last = rest_send(&app, &p.seller, c, "셋째").await;
    rest_send(&app, &p.buyer, c, "답장").await;

    let list = app.get("/v1/conversations", Some(&p.buyer)).await.ok();
    let item = &list["items"][0];
    assert_eq!(item["id"], c.as_str());
    assert_eq!(item["unread_count"], 3);
    assert_eq!(item["last_message"]["body"], "답장");
    assert_eq!(item["other_party"]["id"], p.seller_id.as_str());
    assert!(!item["other_party"]["name"].as_str().unwrap().is_empty());
    assert_eq!(item["product"]["id"], p.product_id.as_str());
    // The seller has one unread (the buyer's reply); their own messages never count.
    let seller_view = app
        .get(&format!("/v1/conversations/{c}"), Some(&p.seller))
        .await
        .ok();
    assert_eq!(
        (
            seller_view["unread_count"].as_i64(),
            seller_view["role"].as_str()
        ),
        (Some(1), Some("seller"))
    );

    let read = app
        .post(
            &format!("/v1/conversations/{c}/read"),
            Some(&p.buyer),
            json!({"up_to": first["id"]}),
        )
        .await
        .ok();
    assert_eq!(read["unread_count"], 2);
    assert_eq!(read["last_read_id"], first["id"]);
    // The marker never moves back.
    let back = app
        .post(
            &format!("/v1/conversations/{c}/read"),
            Some(&p.buyer),
            json!({"up_to": "0"}),
        )
        .await
        .ok();
    assert_eq!(back["unread_count"], 2);
    // Over the socket, everything.
    let mut buyer = connect(&app, &p.buyer).await;
    buyer
        .send(json!({"type": "read", "conversation_id": c}))
        .await;
    let r = buyer.next().await;
    assert_eq!(
        (r["type"].as_str(), r["unread_count"].as_i64()),
        (Some("read"), Some(0))
    );
    assert!(
        r["last_read_id"].as_str().unwrap().parse::<i64>().unwrap()
            > last["id"].as_str().unwrap().parse::<i64>().unwrap()
    );
    // The seller's marker is theirs alone.
    let seller_view = app
        .get(&format!("/v1/conversations/{c}"), Some(&p.seller))
        .await
        .ok();
    assert_eq!(seller_view["unread_count"], 1);
}

#[tokio::test]
async fn history_pages_back_and_forth_with_cursors() {
    let app = TestApp::spawn().await;
    let p = pair(&app).await;
    let c = &p.conversation;
    let mut ids = Vec::new();
    for i in 1..=7 {
        let m = rest_send(
            &app,
            if i % 2 == 0 { &p.seller } else { &p.buyer },
            c,
            &format!("메시지 {i}"),
        )
        .await;
        ids.push(m["id"].as_str().unwrap().to_owned());
    }
    let page = |q: String| {
        let app = &app;
        let token = p.buyer.clone();
        async move {
            let body = app
                .get(&format!("/v1/conversations/{c}/messages?{q}"), Some(&token))
                .await
                .ok();
            let got: Vec<String> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect();
            (got, body["has_more"].as_bool().unwrap())
        }
    };
    assert_eq!(page("limit=3".into()).await, (ids[4..7].to_vec(), true));
    assert_eq!(
        page(format!("limit=3&before={}", ids[4])).await,
        (ids[1..4].to_vec(), true)
    );
    assert_eq!(
        page(format!("limit=3&before={}", ids[1])).await,
        (ids[0..1].to_vec(), false)
    );
    assert_eq!(
        page(format!("limit=3&after={}", ids[0])).await,
        (ids[1..4].to_vec(), true)
    );
    assert_eq!(
        page(format!("limit=3&after={}", ids[3])).await,
        (ids[4..7].to_vec(), false)
    );
    assert_eq!(page(format!("after={}", ids[6])).await, (vec![], false));
    assert_eq!(page(String::new()).await, (ids.clone(), false));

    let base = format!("/v1/conversations/{c}/messages");
    // Both cursors: the messages between them, oldest first.
    assert_eq!(
        page(format!("after={}&before={}", ids[1], ids[5])).await,
        (ids[2..5].to_vec(), false)
    );
    assert_eq!(
        page(format!("limit=2&after={}&before={}", ids[1], ids[5])).await,
        (ids[2..4].to_vec(), true)
    );
    app.get(&format!("{base}?before=abc"), Some(&p.buyer))
        .await
        .expect(400, "invalid_query_parameter");
    app.get(&format!("{base}?limit=0"), Some(&p.buyer))
        .await
        .expect(400, "validation_failed");

    // The conversation list pages too.
    let mut conversations = vec![c.clone()];
    for _ in 0..2 {
        let (_, seller) = app.seller().await;
        let product = app
            .post("/v1/products", Some(&seller), product())
            .await
            .ok()["id"]
            .clone();
        let opened = app
            .post(
                "/v1/conversations",
                Some(&p.buyer),
                json!({"product_id": product}),
            )
            .await
            .ok();
        let id = opened["id"].as_str().unwrap().to_owned();
        rest_send(&app, &p.buyer, &id, "문의드립니다").await;
        conversations.push(id);
    }
    let first = app
        .get("/v1/conversations?limit=2", Some(&p.buyer))
        .await
        .ok();
    let next = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/v1/conversations?limit=2&cursor={next}"),
            Some(&p.buyer),
        )
        .await
        .ok();
    let listed: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    // Most recent activity first.
    assert_eq!(
        listed,
        [
            conversations[2].as_str(),
            &conversations[1],
            &conversations[0]
        ]
    );
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn a_reconnecting_client_resumes_with_exactly_what_it_missed() {
    let app = TestApp::spawn().await;
    let p = pair(&app).await;
    let c = &p.conversation;

    let mut buyer = connect(&app, &p.buyer).await;
    let m1 = rest_send(&app, &p.seller, c, "하나").await;
    let m2 = rest_send(&app, &p.seller, c, "둘").await;
    assert_eq!(buyer.next().await["id"], m1["id"]);
    let seen = buyer.next().await["id"].as_str().unwrap().to_owned();
    assert_eq!(seen, m2["id"].as_str().unwrap());
    drop(buyer);

    let m3 = rest_send(&app, &p.seller, c, "셋").await;
    let m4 = rest_send(&app, &p.buyer, c, "넷 (다른 기기에서)").await;

    let mut back = try_connect(&app, &p.buyer, &format!("?after={seen}"))
        .await
        .unwrap();
    assert_eq!(back.ready["after"], seen.as_str());
    assert_eq!(back.next().await["id"], m3["id"]);
    assert_eq!(back.next().await["id"], m4["id"]);
    back.quiet_for(Duration::from_millis(300)).await;
    // Then live again, no repeats.
    let m5 = rest_send(&app, &p.seller, c, "다섯").await;
    assert_eq!(back.next().await["id"], m5["id"]);
    back.quiet_for(Duration::from_millis(200)).await;

    // The resume frame does the same on an open socket.
    let mut other = connect(&app, &p.buyer).await;
    assert_eq!(other.ready["after"], m5["id"]);
    other
        .send(json!({"type": "resume", "after": m2["id"]}))
        .await;
    for m in [&m3, &m4, &m5] {
        assert_eq!(other.next().await["id"], m["id"]);
    }
    other.quiet_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_message_sent_through_one_replica_reaches_a_client_on_another() {
    let one = TestApp::spawn().await;
    let two = TestApp::spawn_on(one.database(), |_| {}).await;
    let p = pair(&one).await;
    let c = &p.conversation;

    let mut buyer_on_one = connect(&one, &p.buyer).await;
    let mut seller_on_two = connect(&two, &p.seller).await;
    seller_on_two.say(c, "2번 서버에서 보냅니다", "s-1").await;
    let id = seller_on_two.ack().await["id"].clone();
    let m = buyer_on_one.next().await;
    assert_eq!((m["type"].as_str(), &m["id"]), (Some("message"), &id));
    assert_eq!(m["body"], "2번 서버에서 보냅니다");

    buyer_on_one.say(c, "1번에서 답장", "b-1").await;
    let id = buyer_on_one.ack().await["id"].clone();
    assert_eq!(seller_on_two.next().await["id"], id);

    // A message too big for a NOTIFY payload travels as ids and is read back.
    let long = "가나다라마바사아자차".repeat(200);
    let big = rest_send(&two, &p.seller, c, &long).await;
    let m = buyer_on_one.next().await;
    assert_eq!(
        (&m["id"], m["body"].as_str()),
        (&big["id"], Some(long.as_str()))
    );

    // Replica one's listener loses its connection: what is sent meanwhile still arrives, in
    // order, once it is back.
    let listeners_before = one
        .state
        .chat
        .hub
        .stats
        .listener_connects
        .load(std::sync::atomic::Ordering::Relaxed);
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    )
    .fetch_one(&one.db)
    .await
    .unwrap();
    assert!(killed >= 1, "the listeners are found");
    let a = rest_send(&two, &p.seller, c, "끊긴 동안 1").await;
    let b = rest_send(&two, &p.seller, c, "끊긴 동안 2").await;
    assert_eq!(buyer_on_one.next().await["id"], a["id"]);
    assert_eq!(buyer_on_one.next().await["id"], b["id"]);
    buyer_on_one.quiet_for(Duration::from_millis(300)).await;
    assert!(
        one.state
            .chat
            .hub
            .stats
            .listener_connects
            .load(std::sync::atomic::Ordering::Relaxed)
            > listeners_before
    );
}

#[tokio::test]
async fn limits_refuse_with_their_codes_and_bad_frames_do_no_harm() {
    let app = TestApp::spawn_with(|env| {
        env.insert("CHAT_MAX_MESSAGE_CHARS".into(), "10".into());
        env.insert("CHAT_MESSAGE_BURST".into(), "3".into());
        env.insert("CHAT_MESSAGES_PER_SECOND".into(), "0.2".into());
        env.insert("CHAT_MAX_CONNECTIONS_PER_USER".into(), "2".into());
    })
    .await;
    let p = pair(&app).await;
    let c = &p.conversation;

    app.post(
        &format!("/v1/conversations/{c}/messages"),
        Some(&p.buyer),
        json!({"body": "열한 글자짜리 메시지"}),
    )
    .await
    .expect(400, "message_too_long");
    app.post(
        &format!("/v1/conversations/{c}/messages"),
        Some(&p.buyer),
        json!({"body": "   "}),
    )
    .await
    .expect(400, "validation_failed");

    let mut ws = connect(&app, &p.buyer).await;
    assert_eq!(ws.ready["max_message_chars"], 10);
    // The text rule holds in frames as in JSON bodies: the field is named, nothing is stored.
    ws.send(json!({"type": "send", "conversation_id": c, "body": "안녕", "client_id": "c\u{0}1"}))
        .await;
    let e = ws.next().await;
    assert_eq!(e["code"], "validation_failed", "{e}");
    assert!(
        e["message"].as_str().unwrap().starts_with("client_id: "),
        "{e}"
    );
    ws.send(json!({"type": "send", "conversation_id": c, "body": "a\u{202e}b"}))
        .await;
    let e = ws.next().await;
    assert!(e["message"].as_str().unwrap().starts_with("body: "), "{e}");
    // Bad frames: an error frame each, and the socket stays up.
    ws.ws.send(WsMessage::text("not json")).await.unwrap();
    assert_eq!(ws.next().await["code"], "malformed_json");
    ws.send(json!({"type": "shout"})).await;
    assert_eq!(ws.next().await["code"], "invalid_body");
    ws.send(json!({"type": "send", "conversation_id": "nope", "body": "x"}))
        .await;
    assert_eq!(ws.next().await["code"], "invalid_body");
    ws.ws
        .send(WsMessage::binary(vec![1u8, 2, 3]))
        .await
        .unwrap();
    assert_eq!(ws.next().await["code"], "invalid_body");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await["type"], "pong");

    // Too long (refused before it reaches the database, so it takes no token), then three
    // fine, then the bucket is dry.
    ws.say(c, "열한 글자짜리 메시지", "long").await;
    let e = ws.next().await;
    assert_eq!(
        (e["code"].as_str(), e["client_id"].as_str()),
        (Some("message_too_long"), Some("long"))
    );
    ws.say(c, "하나", "r-1").await;
    ws.ack().await;
    ws.say(c, "둘", "r-2").await;
    ws.ack().await;
    ws.say(c, "셋", "r-3").await;
    ws.ack().await;
    ws.say(c, "넷", "r-4").await;
    let e = ws.next().await;
    assert_eq!(
        (e["code"].as_str(), e["client_id"].as_str()),
        (Some("rate_limited"), Some("r-4"))
    );
    assert!(e["retry_after_ms"].as_u64().unwrap() > 0);
    // The refused message was not stored.
    let page = app
        .get(&format!("/v1/conversations/{c}/messages"), Some(&p.buyer))
        .await
        .ok();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);

    // A second socket is fine, a third is refused before the upgrade.
    let _second = connect(&app, &p.buyer).await;
    match try_connect(&app, &p.buyer, "").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status().as_u16(), 429);
            let body: Value = serde_json::from_slice(res.body().as_deref().unwrap_or_default())
                .unwrap_or(Value::Null);
            assert_eq!(body["code"], "too_many_connections");
        }
        Err(e) => panic!("expected a 429, got {e}"),
        Ok(_) => panic!("a third socket was accepted"),
    }
    // Closing one frees its slot.
    drop(ws);
    let deadline = Instant::now() + WAIT;
    while app
        .state
        .chat
        .hub
        .connections_of(p.buyer_id.parse().unwrap())
        > 1
    {
        assert!(
            Instant::now() < deadline,
            "the closed socket's slot is freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    connect(&app, &p.buyer).await;

    // A frame larger than any message can be closes that socket only.
    let mut huge = connect(&app, &p.seller).await;
    let _ = huge.ws.send(WsMessage::text("x".repeat(200_000))).await;
    let closed = tokio::time::timeout(WAIT, huge.ws.next()).await.unwrap();
    assert!(matches!(
        closed,
        Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None
    ));
    app.get("/health", None).await.ok();
}

#[tokio::test]
async fn rest_sends_and_socket_sends_share_one_limit_per_person() {
    let app = TestApp::spawn_with(|env| {
        env.insert("CHAT_MESSAGE_BURST".into(), "3".into());
        env.insert("CHAT_MESSAGES_PER_SECOND".into(), "0.01".into());
    })
    .await;
    let p = pair(&app).await;
    let c = &p.conversation;
    // Two sockets and REST take from the same bucket of three.
    let mut one = connect(&app, &p.buyer).await;
    let mut two = connect(&app, &p.buyer).await;
    // Both sockets also see the buyer's own messages as `message` frames: skip those.
    async fn answer(ws: &mut Client) -> Value {
        loop {
            let f = ws.next().await;
            if f["type"] != "message" {
                return f;
            }
        }
    }
    rest_send(&app, &p.buyer, c, "REST로 하나").await;
    one.say(c, "소켓 하나로 둘", "s-1").await;
    assert_eq!(answer(&mut one).await["type"], "ack");
    two.say(c, "소켓 둘로 셋", "s-2").await;
    assert_eq!(answer(&mut two).await["type"], "ack");
    let refused = app
        .post(
            &format!("/v1/conversations/{c}/messages"),
            Some(&p.buyer),
            json!({"body": "넷"}),
        )
        .await
        .expect(429, "rate_limited");
    assert!(refused.headers.contains_key("retry-after"));
    two.say(c, "다섯", "s-3").await;
    let e = answer(&mut two).await;
    assert_eq!(
        (e["code"].as_str(), e["client_id"].as_str()),
        (Some("rate_limited"), Some("s-3"))
    );
    // The other side has its own bucket.
    rest_send(&app, &p.seller, c, "판매자 답장").await;
    let page = app
        .get(&format!("/v1/conversations/{c}/messages"), Some(&p.buyer))
        .await
        .ok();
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_flood_of_read_frames_is_coalesced() {
    let app = TestApp::spawn().await;
    let p = pair(&app).await;
    let c = &p.conversation;
    let mut last = Value::Null;
    for i in 0..3 {
        last = rest_send(&app, &p.seller, c, &format!("메시지 {i}")).await;
    }
    let mut ws = connect(&app, &p.buyer).await;
    let flood = 50;
    let started = Instant::now();
    for _ in 0..flood {
        ws.send(json!({"type": "read", "conversation_id": c})).await;
    }
    let sent_in = started.elapsed();
    // Each `read` answer is one marker write; collect them until the socket falls quiet.
    let mut answers = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(3), ws.next()).await {
            Ok(f) if f["type"] == "read" => answers.push(f),
            Ok(f) => panic!("unexpected frame {f}"),
            Err(_) => break,
        }
    }
    // One write at once, then at most one per interval while the burst lasted, and one after.
    let intervals = (sent_in.as_secs_f64() / 1.0).ceil() as usize;
    assert!(
        !answers.is_empty() && answers.len() <= 2 + intervals && answers.len() < flood,
        "{} writes for {flood} read frames sent in {sent_in:?}",
        answers.len()
    );
    let final_marker = answers.last().unwrap();
    assert_eq!(final_marker["last_read_id"], last["id"], "{final_marker}");
    assert_eq!(final_marker["unread_count"], 0);
    let conv = app
        .get(&format!("/v1/conversations/{c}"), Some(&p.buyer))
        .await
        .ok();
    assert_eq!(conv["unread_count"], 0);
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_delay_anyone_else() {
    let app = TestApp::spawn_with(|env| {
        env.insert("CHAT_SEND_QUEUE".into(), "8".into());
        env.insert("CHAT_MAX_MESSAGE_CHARS".into(), "10000".into());
        env.insert("CHAT_MESSAGE_BURST".into(), "100000".into());
        env.insert("CHAT_MESSAGES_PER_SECOND".into(), "100000".into());
    })
    .await;
    let p = pair(&app).await;
    let c = &p.conversation;
    // The buyer's socket never reads; the seller's second device reads everything.
    let stalled = connect(&app, &p.buyer).await;
    let mut sender = connect(&app, &p.seller).await;
    let mut reader = connect(&app, &p.seller).await;
    let buyer_id: uuid::Uuid = p.buyer_id.parse().unwrap();

    // 30 kB a message: the socket buffers fill after a few hundred.
    let body = "가".repeat(10_000);
    let mut worst = Duration::ZERO;
    let mut n = 0;
    while app.state.chat.hub.connections_of(buyer_id) > 0 {
        assert!(n < 3000, "the stalled socket was never dropped");
        let sent_at = Instant::now();
        sender.say(c, &body, &format!("m-{n}")).await;
        let id = sender.ack().await["id"].clone();
        let got = reader.next().await;
        assert_eq!(got["id"], id);
        worst = worst.max(sent_at.elapsed());
        n += 1;
    }
    eprintln!(
        "slow client dropped after {n} messages of 30 kB; slowest delivery to the reader {worst:?}"
    );
    assert!(
        worst < Duration::from_secs(2),
        "delivery to the reading client took up to {worst:?}"
    );
    assert!(
        app.state
            .chat
            .hub
            .stats
            .kicked_slow
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    // Delivery goes on after the slow socket is gone.
    sender.say(c, "계속", "after").await;
    let id = sender.ack().await["id"].clone();
    assert_eq!(reader.next().await["id"], id);
    drop(stalled);
}

#[tokio::test]
async fn a_notification_pushed_arrives_on_the_socket_on_any_replica() {
    let one = TestApp::spawn().await;
    let two = TestApp::spawn_on(one.database(), |_| {}).await;
    let buyer = one.buyer().await;
    let buyer_id: uuid::Uuid = user_id(&one, &buyer).await.parse().unwrap();
    let mut on_one = connect(&one, &buyer).await;
    let mut on_two = connect(&two, &buyer).await;

    // As the raffles domain does it, inside a transaction: pushed once it commits.
    let mut tx = one.db.begin().await.unwrap();
    truffle::notify::push(
        &mut *tx,
        buyer_id,
        "won",
        "당첨되었습니다",
        "결제 기한 안에 결제해 주세요.",
        json!({"raffle_id": uuid::Uuid::nil()}),
    )
    .await
    .unwrap();
    on_one.quiet_for(Duration::from_millis(200)).await;
    tx.commit().await.unwrap();
    for ws in [&mut on_one, &mut on_two] {
        let n = ws.next().await;
        assert_eq!(
            (n["type"].as_str(), n["kind"].as_str()),
            (Some("notification"), Some("won"))
        );
        assert_eq!(n["title"], "당첨되었습니다");
        assert!(n["id"].is_string());
    }
    let inbox = one.get("/v1/me/notifications", Some(&buyer)).await.ok();
    assert_eq!(inbox["items"][0]["kind"], "won");
}

#[tokio::test]
async fn the_upgrade_needs_a_valid_token_in_the_header_or_the_subprotocol() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer().await;
    let ws_headers = |req: reqwest::RequestBuilder| {
        req.header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    };
    let url = format!("{}/v1/chat/ws", app.base);
    let res = ws_headers(app.http.get(&url)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "authentication_required");
    let res = ws_headers(app.http.get(&url))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let res = ws_headers(app.http.get(&url))
        .header(
            "sec-websocket-protocol",
            "truffle.chat.v1, access_token.nope",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert!(matches!(
        tokio_tungstenite::connect_async(ws_url(&app, "")).await,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status().as_u16() == 401
    ));

    // A browser's way: the token as a subprotocol, the server picks truffle.chat.v1.
    let mut req = ws_url(&app, "").into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&format!("truffle.chat.v1, access_token.{buyer}")).unwrap(),
    );
    let (mut ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        res.headers().get("sec-websocket-protocol").unwrap(),
        "truffle.chat.v1"
    );
    let ready = ws.next().await.unwrap().unwrap();
    assert!(ready.to_text().unwrap().contains("\"ready\""));

    // A logged-out session's token is refused.
    app.post("/v1/auth/logout", Some(&buyer), json!({})).await;
    assert!(try_connect(&app, &buyer, "").await.is_err());
}
