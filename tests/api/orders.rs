//! Orders and payment: winners pay (the dev provider, and Toss Payments against a local stub),
//! a winner who does not pay loses to the next alternate, fulfilment, refunds, and every refusal.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use truffle::providers::payments::{PaymentError, PaymentProvider, TossPayments};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, TestChain, TestDb};
use crate::raffles::{anchored_product, drive_draw, open_raffle};

/// A drawn raffle with `entrants` buyers and `winners` winners: (raffle id, seller token,
/// buyers' tokens).
pub(crate) async fn drawn_raffle(
    app: &TestApp,
    chain: &TestChain,
    entrants: usize,
    winners: u32,
) -> (String, String, Vec<String>) {
    let (seller, product) = anchored_product(app, chain, 50).await;
    let (id, buyers) = drawn_raffle_of(app, chain, &seller, &product, entrants, winners).await;
    (id, seller, buyers)
}

/// A drawn raffle of `seller`'s `product` with `entrants` buyers and `winners` winners: (raffle
/// id, buyers' tokens).
pub(crate) async fn drawn_raffle_of(
    app: &TestApp,
    chain: &TestChain,
    seller: &str,
    product: &str,
    entrants: usize,
    winners: u32,
) -> (String, Vec<String>) {
    let id = open_raffle(app, seller, product, winners, Duration::from_secs(3)).await;
    let mut buyers = Vec::new();
    for _ in 0..entrants {
        let token = app.buyer().await;
        app.call(
            Method::POST,
            &format!("/v1/raffles/{id}/entry"),
            Some(&token),
            None,
        )
        .await
        .ok();
        buyers.push(token);
    }
    tokio::time::sleep(Duration::from_millis(3200)).await;
    drive_draw(app, chain, &id).await;
    (id, buyers)
}

pub(crate) async fn order_of(app: &TestApp, token: &str) -> Option<Value> {
    let page = app.get("/v1/me/orders", Some(token)).await.ok();
    page["items"].as_array().unwrap().first().cloned()
}

/// Splits tokens into (winners with their order, the rest).
pub(crate) async fn split(app: &TestApp, buyers: &[String]) -> (Vec<(String, Value)>, Vec<String>) {
    let mut won = Vec::new();
    let mut rest = Vec::new();
    for t in buyers {
        match order_of(app, t).await {
            Some(o) => won.push((t.clone(), o)),
            None => rest.push(t.clone()),
        }
    }
    (won, rest)
}

pub(crate) async fn kinds(app: &TestApp, token: &str) -> Vec<String> {
    let inbox = app.get("/v1/me/notifications", Some(token)).await.ok();
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn winners_pay_the_seller_ships_and_the_buyer_confirms() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (raffle, seller, buyers) = drawn_raffle(&app, &chain, 3, 2).await;
    let (won, rest) = split(&app, &buyers).await;
    assert_eq!((won.len(), rest.len()), (2, 1));
    let (winner, order) = &won[0];
    let (other_winner, _) = &won[1];
    let id = order["id"].as_str().unwrap();
    assert_eq!(order["status"], "awaiting_payment");
    assert_eq!(order["amount_krw"], 159000);
    assert!(kinds(&app, winner).await.contains(&"won".to_owned()));
    assert!(kinds(&app, &rest[0]).await.contains(&"not_won".to_owned()));

    let address = json!({"recipient": "김민수", "phone": "010-1234-5678", "postal_code": "06236", "address": "서울특별시 강남구 테헤란로 152"});
    app.call(
        Method::PATCH,
        "/v1/me",
        Some(winner),
        Some(json!({"delivery_address": address})),
    )
    .await
    .ok();
    let pay = format!("/v1/orders/{id}/payment");
    // Refusals first: someone else's order, a tampered amount, a key the provider refuses.
    app.post(
        &pay,
        Some(other_winner),
        json!({"payment_key": "dev_x", "amount": 159000}),
    )
    .await
    .expect(403, "not_your_order");
    app.post(
        &pay,
        Some(winner),
        json!({"payment_key": "dev_cheap", "amount": 1000}),
    )
    .await
    .expect(400, "amount_mismatch");
    app.post(
        &pay,
        Some(winner),
        json!({"payment_key": "fake", "amount": 159000}),
    )
    .await
    .expect(402, "payment_refused");
    assert_eq!(
        app.get(&format!("/v1/orders/{id}"), Some(winner))
            .await
            .ok()["status"],
        "awaiting_payment"
    );
    // The seller does not see the address before payment.
    assert!(
        app.get(&format!("/v1/orders/{id}"), Some(&seller))
            .await
            .ok()["delivery_address"]
            .is_null()
    );

    let paid = app
        .post(
            &pay,
            Some(winner),
            json!({"payment_key": "dev_ok_1", "amount": 159000}),
        )
        .await
        .ok();
    assert_eq!(paid["status"], "paid");
    app.post(
        &pay,
        Some(winner),
        json!({"payment_key": "dev_ok_1", "amount": 159000}),
    )
    .await
    .expect(409, "already_paid");
    assert!(
        kinds(&app, winner)
            .await
            .contains(&"payment_confirmed".to_owned())
    );

    // A stranger cannot see the order; the seller sees where to ship.
    app.get(&format!("/v1/orders/{id}"), Some(&rest[0]))
        .await
        .expect(404, "not_found");
    let seen = app
        .get(&format!("/v1/orders/{id}"), Some(&seller))
        .await
        .ok();
    assert_eq!(seen["delivery_address"]["recipient"], "김민수");
    app.post(&format!("/v1/orders/{id}/receipt"), Some(winner), json!({}))
        .await
        .expect(409, "order_not_shippable");
    app.post(
        &format!("/v1/orders/{id}/shipment"),
        Some(winner),
        json!({"carrier": "CJ대한통운", "tracking_number": "1"}),
    )
    .await
    .expect(404, "not_found");
    let shipped = app
        .post(
            &format!("/v1/orders/{id}/shipment"),
            Some(&seller),
            json!({"carrier": "CJ대한통운", "tracking_number": "6543210987"}),
        )
        .await
        .ok();
    assert_eq!(shipped["status"], "shipped");
    app.post(
        &format!("/v1/orders/{id}/refund"),
        Some(winner),
        json!({"reason": "변심"}),
    )
    .await
    .expect(409, "order_not_refundable");
    assert_eq!(
        app.post(&format!("/v1/orders/{id}/receipt"), Some(winner), json!({}))
            .await
            .ok()["status"],
        "received"
    );

    // The other winner pays too: the raffle is settled.
    let other_id = order_of(&app, other_winner).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/v1/orders/{other_id}/payment"),
        Some(other_winner),
        json!({"payment_key": "dev_ok_2", "amount": 159000}),
    )
    .await
    .ok();
    assert_eq!(
        app.get(&format!("/v1/raffles/{raffle}"), None).await.ok()["state"],
        "settled"
    );
}

#[tokio::test]
async fn a_winner_who_does_not_pay_in_time_loses_to_the_next_alternate() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (_, _, buyers) = drawn_raffle(&app, &chain, 3, 1).await;
    let (won, rest) = split(&app, &buyers).await;
    let (late, order) = &won[0];
    let id = order["id"].as_str().unwrap();
    // The deadline passes.
    sqlx::query("UPDATE orders SET pay_by = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    app.post(
        &format!("/v1/orders/{id}/payment"),
        Some(late),
        json!({"payment_key": "dev_late", "amount": 159000}),
    )
    .await
    .expect(409, "order_expired");
    // The order clock (this pass, or the app's own running beside it) expires it.
    app.state.orders.pass().await.unwrap();
    assert_eq!(
        app.get(&format!("/v1/orders/{id}"), Some(late)).await.ok()["status"],
        "expired"
    );
    assert!(
        kinds(&app, late)
            .await
            .contains(&"order_expired".to_owned())
    );
    // The first alternate (by draw position) now holds an order and was told.
    let (now_won, _) = split(&app, &rest).await;
    assert_eq!(now_won.len(), 1);
    let first_alternate: String = sqlx::query_scalar(
        "SELECT o.id::text FROM orders o JOIN entries e ON e.id = o.entry_id WHERE o.status = 'awaiting_payment'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(now_won[0].1["id"], first_alternate);
    assert!(
        kinds(&app, &now_won[0].0)
            .await
            .iter()
            .filter(|k| *k == "won")
            .count()
            >= 1
    );
}

#[tokio::test]
async fn refunds_before_shipping_and_admin_cancellation() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (_, _, buyers) = drawn_raffle(&app, &chain, 2, 2).await;
    let (won, _) = split(&app, &buyers).await;
    let (a, order_a) = &won[0];
    let (_, order_b) = &won[1];
    let a_id = order_a["id"].as_str().unwrap();
    app.post(
        &format!("/v1/orders/{a_id}/payment"),
        Some(a),
        json!({"payment_key": "dev_refund_me", "amount": 159000}),
    )
    .await
    .ok();
    let refunded = app
        .post(
            &format!("/v1/orders/{a_id}/refund"),
            Some(a),
            json!({"reason": "단순 변심"}),
        )
        .await
        .ok();
    assert_eq!(refunded["status"], "refunded");
    assert!(kinds(&app, a).await.contains(&"refunded".to_owned()));
    let b_id = order_b["id"].as_str().unwrap();
    app.post(
        &format!("/v1/admin/orders/{b_id}/cancel"),
        Some(a),
        json!({"reason": "x"}),
    )
    .await
    .expect(403, "forbidden");
    let admin = app.admin().await;
    let cancelled = app
        .post(
            &format!("/v1/admin/orders/{b_id}/cancel"),
            Some(&admin),
            json!({"reason": "판매 불가"}),
        )
        .await
        .ok();
    assert_eq!(cancelled["status"], "cancelled");
    // Notifications: mark read, only one's own.
    let before = app
        .get("/v1/me/notifications?unread=true", Some(a))
        .await
        .ok();
    assert!(!before["items"].as_array().unwrap().is_empty());
    app.post("/v1/me/notifications/read", Some(a), json!({}))
        .await
        .ok();
    assert!(
        app.get("/v1/me/notifications?unread=true", Some(a))
            .await
            .ok()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unknown_payment_webhook_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.post("/v1/payments/toss/webhook", None, json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "nobody", "orderId": uuid::Uuid::new_v4().to_string(), "status": "DONE"}}))
        .await
        .expect(404, "unknown_payment");
    // A body of the wrong shape is still refused; events we do not use are acknowledged
    // (payments.rs).
    app.post(
        "/v1/payments/toss/webhook",
        None,
        json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": 5}),
    )
    .await
    .expect(422, "invalid_body");
}

// ---------------------------------------------------------------------------------------------
// Toss Payments, against a stub speaking its wire format.

pub(crate) fn toss_payment(key: &str, order: &str, status: &str, amount: i64) -> Value {
    json!({"mId": "tosspayments", "version": "2022-11-16", "paymentKey": key, "orderId": order, "orderName": "스피드캣",
           "currency": "KRW", "method": "카드", "status": status, "requestedAt": "2026-11-21T10:00:00+09:00",
           "approvedAt": "2026-11-21T10:00:05+09:00", "totalAmount": amount, "balanceAmount": amount,
           "suppliedAmount": amount, "vat": 0, "cancels": null, "type": "NORMAL"})
}

#[tokio::test]
async fn the_toss_client_speaks_the_toss_wire_format() {
    let server = MockServer::start().await;
    let toss = TossPayments::new(
        server.uri(),
        secrecy::SecretString::from("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"),
    );
    let auth = "Basic dGVzdF9za196WExrS0V5cE5BcldtbzUwblgzbG1lYXhZRzVSOg==";
    Mock::given(method("POST"))
        .and(path("/v1/payments/confirm"))
        .and(header("authorization", auth))
        .and(header("idempotency-key", "confirm-1"))
        .and(body_json(
            json!({"paymentKey": "pk_1", "orderId": "order-1", "amount": 15000}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(toss_payment("pk_1", "order-1", "DONE", 15000)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/pk_1"))
        .and(header("authorization", auth))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(toss_payment("pk_1", "order-1", "DONE", 15000)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/pk_1/cancel"))
        .and(body_json(json!({"cancelReason": "고객 변심"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(toss_payment("pk_1", "order-1", "CANCELED", 15000)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"code": "NOT_FOUND_PAYMENT", "message": "존재하지 않는 결제 입니다."}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/pk_2/cancel"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"code": "NOT_CANCELABLE_PAYMENT", "message": "취소 할 수 없는 결제 입니다."}),
        ))
        .mount(&server)
        .await;
    let p = toss
        .confirm("pk_1", "order-1", 15000, "confirm-1")
        .await
        .unwrap();
    assert!(p.is_done());
    assert_eq!(p.total_amount, 15000);
    assert_eq!(toss.get("pk_1").await.unwrap().order_id, "order-1");
    assert!(
        toss.cancel("pk_1", "고객 변심", "cancel-1")
            .await
            .unwrap()
            .is_cancelled()
    );
    assert!(matches!(
        toss.get("missing").await,
        Err(PaymentError::NotFound)
    ));
    assert!(
        matches!(toss.cancel("pk_2", "x", "c").await, Err(PaymentError::Refused { code, .. }) if code == "NOT_CANCELABLE_PAYMENT")
    );
    let down = TossPayments::new(
        "http://127.0.0.1:9".into(),
        secrecy::SecretString::from("k"),
    );
    assert!(matches!(
        down.get("pk_1").await,
        Err(PaymentError::Unavailable(_))
    ));
}

#[tokio::test]
async fn paying_through_toss_confirms_once_and_webhooks_are_requeried() {
    let chain = TestChain::start().await;
    let server = MockServer::start().await;
    let toss: Arc<dyn PaymentProvider> = Arc::new(TossPayments::new(
        server.uri(),
        secrecy::SecretString::from("test_sk_x"),
    ));
    let dev = Arc::new(truffle::providers::identity::DevIdentityVerifier::new());
    let app = TestApp::spawn_full(
        Arc::new(TestDb::new().await),
        |env| chain.configure(env),
        dev.clone(),
        dev,
        Some(toss),
    )
    .await;
    let (_, _, buyers) = drawn_raffle(&app, &chain, 2, 2).await;
    let (won, _) = split(&app, &buyers).await;
    let (a, order_a) = &won[0];
    let a_id = order_a["id"].as_str().unwrap().to_owned();
    Mock::given(method("POST"))
        .and(path("/v1/payments/confirm"))
        .and(header(
            "idempotency-key",
            format!("confirm-{a_id}").as_str(),
        ))
        .and(body_json(
            json!({"paymentKey": "tpk_a", "orderId": a_id, "amount": 159000}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(toss_payment("tpk_a", &a_id, "DONE", 159000)),
        )
        .expect(1)
        .mount(&server)
        .await;
    // A tampered amount never reaches Toss (the expect(1) above counts every confirm).
    app.post(
        &format!("/v1/orders/{a_id}/payment"),
        Some(a),
        json!({"payment_key": "tpk_a", "amount": 100}),
    )
    .await
    .expect(400, "amount_mismatch");
    assert_eq!(
        app.post(
            &format!("/v1/orders/{a_id}/payment"),
            Some(a),
            json!({"payment_key": "tpk_a", "amount": 159000})
        )
        .await
        .ok()["status"],
        "paid"
    );
    app.post(
        &format!("/v1/orders/{a_id}/payment"),
        Some(a),
        json!({"payment_key": "tpk_a", "amount": 159000}),
    )
    .await
    .expect(409, "already_paid");

    // The other winner paid in the Toss window but our confirm never came back; Toss's webhook
    // arrives. It is not believed: the payment is queried, and only then is the order paid.
    let (_, order_b) = &won[1];
    let b_id = order_b["id"].as_str().unwrap().to_owned();
    Mock::given(method("GET"))
        .and(path("/v1/payments/tpk_b"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(toss_payment("tpk_b", &b_id, "DONE", 159000)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let forged = json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-11-21T10:00:00.000",
                        "data": toss_payment("tpk_b", &b_id, "DONE", 1)});
    assert_eq!(
        app.post("/v1/payments/toss/webhook", None, forged)
            .await
            .ok()["ok"],
        true
    );
    assert_eq!(
        app.get(&format!("/v1/orders/{b_id}"), Some(&won[1].0))
            .await
            .ok()["status"],
        "paid"
    );

    // Later the payment is cancelled at Toss (say, from its merchant console): the webhook is
    // re-queried again, and the order follows.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/tpk_a"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(toss_payment("tpk_a", &a_id, "CANCELED", 159000)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let cancelled = json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "tpk_a", "orderId": a_id, "status": "CANCELED"}});
    app.post("/v1/payments/toss/webhook", None, cancelled)
        .await
        .ok();
    assert_eq!(
        app.get(&format!("/v1/orders/{a_id}"), Some(a)).await.ok()["status"],
        "refunded"
    );
}

// ---------------------------------------------------------------------------------------------
// Fail-closed rules of the order's life.

#[tokio::test]
async fn refunds_and_admin_cancels_pass_the_piece_to_the_next_alternate_while_the_raffle_allows() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (raffle, _, buyers) = drawn_raffle(&app, &chain, 4, 1).await;
    let (won, rest) = split(&app, &buyers).await;
    let (first, order) = &won[0];
    let id = order["id"].as_str().unwrap();
    app.post(
        &format!("/v1/orders/{id}/payment"),
        Some(first),
        json!({"payment_key": "dev_then_refund", "amount": 159000}),
    )
    .await
    .ok();
    assert_eq!(
        app.get(&format!("/v1/raffles/{raffle}"), None).await.ok()["state"],
        "settled"
    );
    app.post(
        &format!("/v1/orders/{id}/refund"),
        Some(first),
        json!({"reason": "단순 변심"}),
    )
    .await
    .ok();
    // The refund hands the piece on: the first alternate has an order, the raffle waits again.
    let (second_won, rest) = split(&app, &rest).await;
    assert_eq!(second_won.len(), 1, "the first alternate moved up");
    assert!(
        kinds(&app, &second_won[0].0)
            .await
            .contains(&"won".to_owned())
    );
    assert_eq!(
        app.get(&format!("/v1/raffles/{raffle}"), None).await.ok()["state"],
        "drawn"
    );
    // An admin cancels that unpaid order: the next alternate moves up.
    let admin = app.admin().await;
    let second_id = second_won[0].1["id"].as_str().unwrap();
    app.post(
        &format!("/v1/admin/orders/{second_id}/cancel"),
        Some(&admin),
        json!({"reason": "판매 불가"}),
    )
    .await
    .ok();
    assert!(
        kinds(&app, &second_won[0].0)
            .await
            .contains(&"order_cancelled".to_owned())
    );
    let (third_won, rest) = split(&app, &rest).await;
    assert_eq!(third_won.len(), 1);
    // Four weeks after the draw, alternates no longer move up: the edition stays unsold.
    sqlx::query("UPDATE raffles SET drawn_at = now() - interval '29 days' WHERE id = $1::uuid")
        .bind(&raffle)
        .execute(&app.db)
        .await
        .unwrap();
    let third_id = third_won[0].1["id"].as_str().unwrap();
    app.post(
        &format!("/v1/admin/orders/{third_id}/cancel"),
        Some(&admin),
        json!({"reason": "판매 불가"}),
    )
    .await
    .ok();
    let (fourth_won, _) = split(&app, &rest).await;
    assert!(
        fourth_won.is_empty(),
        "no alternate after the alternates period"
    );
    assert_eq!(
        app.get(&format!("/v1/raffles/{raffle}"), None).await.ok()["state"],
        "settled"
    );
}

#[tokio::test]
async fn paying_needs_a_delivery_address_and_the_seller_hears_of_it_and_lists_sales() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 50).await;
    let raffle = open_raffle(&app, &seller, &product, 1, Duration::from_secs(3)).await;
    let buyer = app.buyer_without_address().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{raffle}/entry"),
        Some(&buyer),
        None,
    )
    .await
    .ok();
    tokio::time::sleep(Duration::from_millis(3200)).await;
    drive_draw(&app, &chain, &raffle).await;
    let order = order_of(&app, &buyer).await.unwrap();
    let id = order["id"].as_str().unwrap();
    let pay = json!({"payment_key": "dev_addr", "amount": 159000});
    app.post(
        &format!("/v1/orders/{id}/payment"),
        Some(&buyer),
        pay.clone(),
    )
    .await
    .expect(409, "delivery_address_required");
    assert_eq!(
        order_of(&app, &buyer).await.unwrap()["status"],
        "awaiting_payment"
    );
    // Nothing is in the seller's list to ship yet.
    let to_ship = app.get("/v1/me/sales", Some(&seller)).await.ok();
    assert!(to_ship["items"].as_array().unwrap().is_empty());
    let awaiting = app
        .get("/v1/me/sales?status=awaiting_payment", Some(&seller))
        .await
        .ok();
    assert_eq!(awaiting["items"][0]["id"], json!(id));
    assert!(awaiting["items"][0]["delivery_address"].is_null());

    app.call(
        Method::PATCH,
        "/v1/me",
        Some(&buyer),
        Some(
            json!({"delivery_address": {"recipient": "이서연", "phone": "010-2222-3333",
            "postal_code": "04524", "address": "서울특별시 중구 세종대로 110"}}),
        ),
    )
    .await
    .ok();
    app.post(&format!("/v1/orders/{id}/payment"), Some(&buyer), pay)
        .await
        .ok();
    assert!(kinds(&app, &seller).await.contains(&"sale_paid".to_owned()));
    let to_ship = app
        .get("/v1/me/sales?status=to_ship", Some(&seller))
        .await
        .ok();
    assert_eq!(to_ship["items"][0]["id"], json!(id));
    assert_eq!(
        to_ship["items"][0]["delivery_address"]["recipient"],
        "이서연"
    );
    app.post(
        &format!("/v1/orders/{id}/shipment"),
        Some(&seller),
        json!({"carrier": "CJ대한통운", "tracking_number": "6543210987"}),
    )
    .await
    .ok();
    let shipped = app
        .get("/v1/me/sales?status=shipped", Some(&seller))
        .await
        .ok();
    assert_eq!(shipped["items"][0]["status"], "shipped");
    assert!(
        app.get("/v1/me/sales", Some(&seller)).await.ok()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Who may call it: sellers, for their own sales.
    app.get("/v1/me/sales", Some(&buyer))
        .await
        .expect(403, "seller_required");
    app.get("/v1/me/sales", None)
        .await
        .expect(401, "authentication_required");
    app.get("/v1/me/sales?status=everything", Some(&seller))
        .await
        .expect(400, "invalid_query_parameter");
    let (_, other_seller) = app.seller().await;
    assert!(
        app.get("/v1/me/sales?status=all", Some(&other_seller))
            .await
            .ok()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
