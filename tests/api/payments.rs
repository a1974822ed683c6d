//! Payments that fail closed: one deadline rule for our confirm and Toss's webhook, late
//! payments cancelled at Toss and recorded, no row lock across a provider call, every ignored
//! webhook answered 200, partial cancellations flagged, and refunds and cancellations passing
//! the piece to the next alternate.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;
use truffle::providers::payments::{PaymentProvider, TossPayments};
use wiremock::matchers::{header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, TestChain, TestDb};
use crate::orders::{drawn_raffle, kinds, order_of, split, toss_payment};

/// An app paying through Toss at a local stub.
async fn toss_app(chain: &TestChain, server: &MockServer) -> TestApp {
    let toss: Arc<dyn PaymentProvider> = Arc::new(TossPayments::new(
        server.uri(),
        secrecy::SecretString::from("test_sk_x"),
    ));
    let dev = Arc::new(truffle::providers::identity::DevIdentityVerifier::new());
    TestApp::spawn_full(
        Arc::new(TestDb::new().await),
        |env| chain.configure(env),
        dev.clone(),
        dev,
        Some(toss),
    )
    .await
}

async fn past_deadline(app: &TestApp, order: &str) {
    sqlx::query("UPDATE orders SET pay_by = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(order)
        .execute(&app.db)
        .await
        .unwrap();
}

/// (kind, status) of every refund recorded for the order.
async fn refunds(app: &TestApp, order: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT kind, status FROM provider_refunds WHERE order_id = $1::uuid ORDER BY created_at",
    )
    .bind(order)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// The one winner of a drawn raffle with `entrants` entrants, and their order: (token, order id).
async fn won_order(app: &TestApp, chain: &TestChain, entrants: usize) -> (String, String) {
    let (_, _, buyers) = drawn_raffle(app, chain, entrants, 1).await;
    let (won, _) = split(app, &buyers).await;
    let (winner, order) = won.into_iter().next().unwrap();
    (winner, order["id"].as_str().unwrap().to_owned())
}

/// A drawn raffle's one winner, who has paid through the Toss stub with `key`: (token, order id).
async fn paid_order(
    app: &TestApp,
    chain: &TestChain,
    server: &MockServer,
    key: &str,
) -> (String, String) {
    let (winner, id) = won_order(app, chain, 1).await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/confirm"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(toss_payment(key, &id, "DONE", 159000)),
        )
        .mount(server)
        .await;
    let paid = app
        .post(
            &format!("/v1/orders/{id}/payment"),
            Some(&winner),
            json!({"payment_key": key, "amount": 159000}),
        )
        .await
        .ok();
    assert_eq!(paid["status"], "paid");
    (winner, id)
}

/// Starts the winner's confirm and returns at once; the task ends with Toss's answer.
fn pay_in_background(
    app: &TestApp,
    token: &str,
    order: &str,
    key: &str,
) -> tokio::task::JoinHandle<reqwest::Response> {
    let request = reqwest::Client::new()
        .post(format!("{}/v1/orders/{order}/payment", app.base))
        .bearer_auth(token)
        .json(&json!({"payment_key": key, "amount": 159000}));
    tokio::spawn(async move { request.send().await.unwrap() })
}

fn cancelled(key: &str, order: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(toss_payment(key, order, "CANCELED", 159000))
}

fn webhook(key: &str, order: &str) -> Value {
    json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-12-02T10:00:00.000",
           "data": {"paymentKey": key, "orderId": order, "status": "DONE"}})
}

#[tokio::test]
async fn a_webhook_after_the_deadline_does_not_pay_the_order_and_the_payment_is_cancelled_at_toss()
{
    let chain = TestChain::start().await;
    let server = MockServer::start().await;
    let app = toss_app(&chain, &server).await;
    let (late, id) = won_order(&app, &chain, 2).await;
    let late = &late;
    past_deadline(&app, &id).await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/tpk_late"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(toss_payment("tpk_late", &id, "DONE", 159000)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/tpk_late/cancel"))
        .and(header_regex("idempotency-key", "^refund-[0-9a-f-]{36}$"))
        .respond_with(cancelled("tpk_late", &id))
        .expect(1)
        .mount(&server)
        .await;
    let ack = app
        .post("/v1/payments/toss/webhook", None, webhook("tpk_late", &id))
        .await
        .ok();
    assert_eq!(
        (ack["ok"].clone(), ack["handled"].clone()),
        (json!(true), json!(true))
    );
    // The same webhook again (Toss retries) cancels nothing twice (expect(1) above).
    app.post("/v1/payments/toss/webhook", None, webhook("tpk_late", &id))
        .await
        .ok();
    let order = app.get(&format!("/v1/orders/{id}"), Some(late)).await.ok();
    assert_eq!(
        order["status"], "expired",
        "a late payment never makes it paid"
    );
    assert!(order["paid_at"].is_null());
    assert_eq!(
        refunds(&app, &id).await,
        vec![("late_payment".to_owned(), "done".to_owned())]
    );
    assert!(
        kinds(&app, late)
            .await
            .contains(&"late_payment_refunded".to_owned())
    );
    // The clock expires it and the alternate moves up.
    app.state.orders.pass().await.unwrap();
    assert_eq!(order_of(&app, late).await.unwrap()["status"], "expired");
    let awaiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM orders WHERE status = 'awaiting_payment' AND id <> $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(awaiting, 1, "the alternate holds an order");
}

#[tokio::test]
async fn a_confirm_in_flight_holds_no_row_lock_and_counts_when_it_began_before_the_deadline() {
    let chain = TestChain::start().await;
    let server = MockServer::start().await;
    let app = toss_app(&chain, &server).await;
    let (winner, id) = won_order(&app, &chain, 2).await;
    let winner = &winner;
    Mock::given(method("POST"))
        .and(path("/v1/payments/confirm"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(toss_payment("tpk_slow", &id, "DONE", 159000))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let paying = pay_in_background(&app, winner, &id, "tpk_slow");
    // While Toss thinks, the order row is free (NOWAIT fails at once on a held lock), the
    // deadline passes, and the clock runs: the claim keeps the order from expiring.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut conn = sqlx::PgConnection::connect(&app.database().url())
        .await
        .unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT id FROM orders WHERE id = $1::uuid FOR UPDATE NOWAIT")
        .bind(&id)
        .fetch_one(&mut *tx)
        .await
        .expect("no lock is held across the provider call");
    tx.rollback().await.unwrap();
    past_deadline(&app, &id).await;
    assert_eq!(app.state.orders.pass().await.unwrap(), (0, 0));
    // A second confirm with another key while the first is in flight is refused.
    app.post(
        &format!("/v1/orders/{id}/payment"),
        Some(winner),
        json!({"payment_key": "tpk_other", "amount": 159000}),
    )
    .await
    .expect(409, "order_expired");
    let res = paying.await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "paid");
    assert!(refunds(&app, &id).await.is_empty());
}

#[tokio::test]
async fn a_payment_confirmed_after_its_claim_lapsed_is_cancelled_at_toss_and_recorded() {
    let chain = TestChain::start().await;
    let server = MockServer::start().await;
    let app = toss_app(&chain, &server).await;
    let (winner, id) = won_order(&app, &chain, 2).await;
    let winner = &winner;
    Mock::given(method("POST"))
        .and(path("/v1/payments/confirm"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(toss_payment("tpk_lapsed", &id, "DONE", 159000))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/tpk_lapsed/cancel"))
        .and(header_regex("idempotency-key", "^refund-"))
        .respond_with(cancelled("tpk_lapsed", &id))
        .expect(1)
        .mount(&server)
        .await;
    let paying = pay_in_background(&app, winner, &id, "tpk_lapsed");
    // Toss takes longer than the claim holds: by the time it answers the order has expired
    // and gone to the alternate.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    sqlx::query(
        "UPDATE orders SET pay_by = now() - interval '1 minute', paying_until = now() WHERE id = $1::uuid",
    )
    .bind(&id)
    .execute(&app.db)
    .await
    .unwrap();
    app.state.orders.pass().await.unwrap();
    let res = paying.await.unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "order_expired");
    assert_eq!(
        app.get(&format!("/v1/orders/{id}"), Some(winner))
            .await
            .ok()["status"],
        "expired"
    );
    assert_eq!(
        refunds(&app, &id).await,
        vec![("late_payment".to_owned(), "done".to_owned())]
    );
}

#[tokio::test]
async fn the_webhook_acknowledges_what_it_ignores_and_flags_partial_cancellations() {
    let chain = TestChain::start().await;
    let server = MockServer::start().await;
    let app = toss_app(&chain, &server).await;
    let hook = |body: Value| app.post("/v1/payments/toss/webhook", None, body);
    // Events we do not use, and payloads without a payment, are acknowledged, not refused.
    for body in [
        json!({"eventType": "DEPOSIT_CALLBACK", "data": {"secret": "s", "status": "DONE", "orderId": "x"}}),
        json!({"eventType": "CANCEL_STATUS_CHANGED", "data": {"transactionKey": "t"}}),
        json!({"eventType": "PAYMENT_STATUS_CHANGED"}),
        json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"status": "DONE"}}),
        json!({}),
    ] {
        let ack = hook(body.clone()).await.ok();
        assert_eq!(ack, json!({"ok": true, "handled": false}), "{body}");
    }
    // Bodies of the wrong shape are refused, not read as if they were objects.
    for body in [
        json!([null, null]),
        json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": ["tpk", "order"]}),
    ] {
        hook(body.clone()).await.expect(422, "invalid_body");
    }
    // An authentic payment that is no order of ours: acknowledged, nothing changes.
    Mock::given(method("GET"))
        .and(path("/v1/payments/tpk_foreign"))
        .respond_with(ResponseTemplate::new(200).set_body_json(toss_payment(
            "tpk_foreign",
            "not-one-of-ours",
            "DONE",
            1000,
        )))
        .mount(&server)
        .await;
    assert_eq!(
        hook(webhook("tpk_foreign", "not-one-of-ours")).await.ok()["handled"],
        false
    );

    // A paid order is cancelled in part at Toss's console: the amount is recorded and an
    // admin is asked to look; the order stays paid.
    let (winner, id) = paid_order(&app, &chain, &server, "tpk_p").await;
    let winner = &winner;
    let mut partial = toss_payment("tpk_p", &id, "PARTIAL_CANCELED", 159000);
    partial["balanceAmount"] = json!(100000);
    Mock::given(method("GET"))
        .and(path("/v1/payments/tpk_p"))
        .respond_with(ResponseTemplate::new(200).set_body_json(partial))
        .mount(&server)
        .await;
    let ack = hook(json!({"eventType": "PAYMENT_STATUS_CHANGED",
                          "data": {"paymentKey": "tpk_p", "orderId": id, "status": "PARTIAL_CANCELED"}}))
    .await
    .ok();
    assert_eq!(ack["handled"], true);
    let order = order_of(&app, winner).await.unwrap();
    assert_eq!(
        (
            order["status"].clone(),
            order["refunded_amount_krw"].clone(),
            order["attention"].clone()
        ),
        (json!("paid"), json!(59000), json!("partial_cancel"))
    );
    app.get("/v1/admin/orders/attention", Some(winner))
        .await
        .expect(403, "forbidden");
    let admin = app.admin().await;
    let flagged = app
        .get("/v1/admin/orders/attention", Some(&admin))
        .await
        .ok();
    assert_eq!(flagged["items"][0]["id"], json!(id));
}

#[tokio::test]
async fn a_refund_the_provider_cannot_take_yet_is_retried_by_the_order_clock() {
    let chain = TestChain::start().await;
    let server = MockServer::start().await;
    let app = toss_app(&chain, &server).await;
    let (winner, id) = paid_order(&app, &chain, &server, "tpk_r").await;
    let winner = &winner;
    // Toss is down: the refund is recorded and the order is `refunding`.
    Mock::given(method("POST"))
        .and(path("/v1/payments/tpk_r/cancel"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "message": "내부 오류"}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let refunding = app
        .post(
            &format!("/v1/orders/{id}/refund"),
            Some(winner),
            json!({"reason": "단순 변심"}),
        )
        .await
        .ok();
    assert_eq!(refunding["status"], "refunding");
    assert_eq!(
        refunds(&app, &id).await,
        vec![("refund".to_owned(), "pending".to_owned())]
    );
    // Toss is back; the clock sends it again with the same idempotency key.
    Mock::given(method("POST"))
        .and(path("/v1/payments/tpk_r/cancel"))
        .and(header_regex("idempotency-key", "^refund-"))
        .respond_with(cancelled("tpk_r", &id))
        .expect(1)
        .mount(&server)
        .await;
    sqlx::query("UPDATE provider_refunds SET next_try_at = now()")
        .execute(&app.db)
        .await
        .unwrap();
    app.state.orders.pass().await.unwrap();
    assert_eq!(order_of(&app, winner).await.unwrap()["status"], "refunded");
    assert_eq!(
        refunds(&app, &id).await,
        vec![("refund".to_owned(), "done".to_owned())]
    );
    assert!(kinds(&app, winner).await.contains(&"refunded".to_owned()));
}
