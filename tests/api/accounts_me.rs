//! MyPage: profile, password change, and account deletion (회원탈퇴).

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Person, Resp, TestApp, TestChain};
use crate::raffles::{anchored_listing, drive_draw, open_raffle};

#[tokio::test]
async fn the_profile_can_be_read_and_updated() {
    let app = TestApp::spawn().await;
    let token = app.buyer().await;
    let me = app.get("/v1/me", Some(&token)).await.ok();
    assert_eq!(me["role"], "buyer");
    assert_eq!(me["name"], me["verified_name"]);
    assert_eq!(me["marketing_consent"], false);

    let address = json!({"recipient": "김민수", "phone": "010-1234-5678", "postal_code": "06236", "address": "서울특별시 강남구 테헤란로 152", "address_detail": "12층"});
    let updated = app
        .call(Method::PATCH, "/v1/me", Some(&token), Some(json!({"nickname": "스니커헤드", "delivery_address": address, "marketing_consent": true, "name": "민수"})))
        .await
        .ok();
    assert_eq!(updated["nickname"], "스니커헤드");
    assert_eq!(updated["name"], "민수");
    assert_eq!(
        updated["verified_name"], me["verified_name"],
        "the verified name never changes"
    );
    assert_eq!(updated["delivery_address"]["phone"], "01012345678");
    assert_eq!(updated["marketing_consent"], true);
    assert!(updated["marketing_consent_at"].is_string());

    // A field left out stays; null clears.
    let cleared = app
        .call(
            Method::PATCH,
            "/v1/me",
            Some(&token),
            Some(json!({"nickname": null})),
        )
        .await
        .ok();
    assert_eq!(cleared["nickname"], serde_json::Value::Null);
    assert_eq!(cleared["delivery_address"]["postal_code"], "06236");
    assert_eq!(
        app.get("/v1/me", Some(&token)).await.ok()["delivery_address"]["recipient"],
        "김민수"
    );
}

#[tokio::test]
async fn profile_updates_are_validated() {
    let app = TestApp::spawn().await;
    let token = app.buyer().await;
    let patch = |body| app.call(Method::PATCH, "/v1/me", Some(&token), Some(body));
    patch(json!({"nickname": "x"}))
        .await
        .expect(400, "validation_failed");
    patch(json!({"delivery_address": {"recipient": "a", "phone": "010-1234-5678", "postal_code": "1234", "address": "x"}}))
        .await
        .expect(400, "validation_failed");
    patch(json!({"delivery_address": {"recipient": "a", "phone": "call me", "postal_code": "12345", "address": "x"}}))
        .await
        .expect(400, "validation_failed");
    patch(json!({"role": "admin"}))
        .await
        .expect(422, "invalid_body");
    patch(json!({"marketing_consent": "yes"}))
        .await
        .expect(422, "invalid_body");
    assert_eq!(app.get("/v1/me", Some(&token)).await.ok()["role"], "buyer");
}

#[tokio::test]
async fn me_needs_a_login() {
    let app = TestApp::spawn().await;
    app.get("/v1/me", None)
        .await
        .expect(401, "authentication_required");
    app.call(Method::PATCH, "/v1/me", None, Some(json!({})))
        .await
        .expect(401, "authentication_required");
    app.call(
        Method::PUT,
        "/v1/me/password",
        None,
        Some(json!({"current_password": "a", "new_password": "b"})),
    )
    .await
    .expect(401, "authentication_required");
    app.call(
        Method::DELETE,
        "/v1/me",
        None,
        Some(json!({"password": "a"})),
    )
    .await
    .expect(401, "authentication_required");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let (_, here) = app
        .signup("pw@example.com", "a-good-password-1", &Person::random())
        .await;
    let there = app.login("pw@example.com", "a-good-password-1").await;
    let here_token = here["access_token"].as_str().unwrap();
    let put = |current: &str, new: &str| {
        app.call(
            Method::PUT,
            "/v1/me/password",
            Some(here_token),
            Some(json!({"current_password": current, "new_password": new})),
        )
    };
    put("not-my-password", "next-password-2")
        .await
        .expect(403, "wrong_password");
    put("a-good-password-1", "short")
        .await
        .expect(400, "validation_failed");
    assert_eq!(
        put("a-good-password-1", "next-password-2").await.status,
        204
    );
    app.get("/v1/me", Some(here_token)).await.ok();
    app.get("/v1/me", Some(there["access_token"].as_str().unwrap()))
        .await
        .expect(401, "session_revoked");
    app.login("pw@example.com", "next-password-2").await;
}

#[tokio::test]
async fn deleting_the_account_erases_the_person_and_keeps_a_cool_down() {
    let app = TestApp::spawn().await;
    let person = Person::random();
    let (user, tokens) = app
        .signup("bye@example.com", "a-good-password-1", &person)
        .await;
    let token = tokens["access_token"].as_str().unwrap();
    // A product page they opened (kept for their recommendations) goes with the account.
    let (_, seller) = app.seller().await;
    let body = json!({"name": "스탠리 텀블러", "brand": "Stanley", "category": "kitchen",
                      "edition_size": 10, "retail_price_krw": 45000});
    let product = app.post("/v1/products", Some(&seller), body).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&format!("/v1/products/{product}"), Some(token))
        .await
        .ok();
    let views = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM product_views WHERE user_id = $1::uuid")
            .bind(user["id"].as_str().unwrap())
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(views().await, 1);
    app.call(
        Method::DELETE,
        "/v1/me",
        Some(token),
        Some(json!({"password": "wrong-password-1"})),
    )
    .await
    .expect(403, "wrong_password");
    assert_eq!(
        app.call(
            Method::DELETE,
            "/v1/me",
            Some(token),
            Some(json!({"password": "a-good-password-1"}))
        )
        .await
        .status,
        204
    );

    app.get("/v1/me", Some(token))
        .await
        .expect(401, "session_revoked");
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": "bye@example.com", "password": "a-good-password-1"}),
    )
    .await
    .expect(401, "invalid_credentials");
    // The row stays, emptied, for records the law keeps.
    type ErasedRow = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<Vec<u8>>,
        String,
    );
    let row: ErasedRow = sqlx::query_as(
        "SELECT email, verified_name, phone, person_key_hash, status FROM users WHERE id = $1::uuid",
    )
    .bind(user["id"].as_str().unwrap())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(row, (None, None, None, None, "deleted".into()));
    assert_eq!(views().await, 0);

    // The same person may not come straight back, but the email is free again.
    let id = app.verify("signup", &person).await;
    app.post("/v1/auth/signup", None, json!({"identity_verification_id": id, "email": "bye@example.com", "password": "a-good-password-1"}))
        .await
        .expect(409, "rejoin_cooldown");
    app.signup("bye@example.com", "a-good-password-1", &Person::random())
        .await;
}

#[tokio::test]
async fn after_the_cool_down_the_person_may_sign_up_again() {
    let app = TestApp::spawn_with(|env| {
        env.insert("REJOIN_COOLDOWN".into(), "1s".into());
    })
    .await;
    let person = Person::random();
    let (_, tokens) = app
        .signup("back@example.com", "a-good-password-1", &person)
        .await;
    app.call(
        Method::DELETE,
        "/v1/me",
        tokens["access_token"].as_str(),
        Some(json!({"password": "a-good-password-1"})),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    app.signup("back-again@example.com", "a-good-password-1", &person)
        .await;
}

async fn delete_me(app: &TestApp, token: &str) -> Resp {
    app.call(
        Method::DELETE,
        "/v1/me",
        Some(token),
        Some(json!({"password": "a-good-password-1"})),
    )
    .await
}

/// Polls the search until it finds `n` products for `q` (the index follows the feed within
/// seconds).
async fn search_finds(app: &TestApp, q: &str, n: usize) {
    for _ in 0..100 {
        let page = app.get(&format!("/v1/search?q={q}"), None).await.ok();
        if page["hits"].as_array().unwrap().len() == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("search for {q} never found {n} products");
}

#[tokio::test]
async fn a_seller_cannot_leave_with_sales_under_way_and_once_gone_nothing_of_theirs_is_open() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller_id, seller) = app.seller().await;
    let product = |name: &str| {
        json!({"name": name, "brand": "Truffle", "category": "art", "edition_size": 10,
               "retail_price_krw": 50000})
    };
    let raffled = anchored_listing(&app, &chain, &seller, product("한정판 판화")).await;
    let other = anchored_listing(&app, &chain, &seller, product("한정판 포스터")).await;
    search_finds(&app, "truffle", 2).await;
    // A buyer asks about the other product.
    let asker = app.buyer().await;
    let conversation = app
        .post(
            "/v1/conversations",
            Some(&asker),
            json!({"product_id": other}),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let messages = format!("/v1/conversations/{conversation}/messages");
    assert_eq!(
        app.post(&messages, Some(&asker), json!({"body": "재고 있나요?"}))
            .await
            .status,
        201
    );

    // An open raffle holds the account.
    let raffle = open_raffle(
        &app,
        &seller,
        &raffled,
        1,
        std::time::Duration::from_secs(3),
    )
    .await;
    let r = delete_me(&app, &seller)
        .await
        .expect(409, "seller_has_open_sales");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("1 raffle not yet drawn"),
        "{}",
        r.body
    );
    // Drawn: its winner's order, awaiting payment, holds it.
    let winner = app.buyer().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{raffle}/entry"),
        Some(&winner),
        None,
    )
    .await
    .ok();
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    drive_draw(&app, &chain, &raffle).await;
    let r = delete_me(&app, &seller)
        .await
        .expect(409, "seller_has_open_sales");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("1 order awaiting payment"),
        "{}",
        r.body
    );
    // Paid and not shipped: still held.
    let order = app.get("/v1/me/orders", Some(&winner)).await.ok()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let address = json!({"recipient": "김민수", "phone": "010-1234-5678", "postal_code": "06236",
                         "address": "서울특별시 강남구 테헤란로 152"});
    app.call(
        Method::PATCH,
        "/v1/me",
        Some(&winner),
        Some(json!({"delivery_address": address})),
    )
    .await
    .ok();
    let pay = format!("/v1/orders/{order}/payment");
    app.post(
        &pay,
        Some(&winner),
        json!({"payment_key": "dev_paid", "amount": 50000}),
    )
    .await
    .ok();
    let r = delete_me(&app, &seller)
        .await
        .expect(409, "seller_has_open_sales");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("1 paid order not shipped"),
        "{}",
        r.body
    );
    let listed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM products WHERE seller_id = $1::uuid AND listed")
            .bind(&seller_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(listed, 2, "a refused deletion changes nothing");

    // Shipped: the seller may go.
    app.post(
        &format!("/v1/orders/{order}/shipment"),
        Some(&seller),
        json!({"carrier": "CJ대한통운", "tracking_number": "6543210987"}),
    )
    .await
    .ok();
    assert_eq!(delete_me(&app, &seller).await.status, 204);

    // Nothing of theirs is listed, searchable, or open to a new conversation or message.
    let listed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM products WHERE seller_id = $1::uuid AND listed")
            .bind(&seller_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(listed, 0);
    let page = app.get("/v1/products", None).await.ok();
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
    app.get(&format!("/v1/products/{other}"), None)
        .await
        .expect(404, "not_found");
    search_finds(&app, "truffle", 0).await;
    let newcomer = app.buyer().await;
    app.post(
        "/v1/conversations",
        Some(&newcomer),
        json!({"product_id": other}),
    )
    .await
    .expect(404, "not_found");
    app.post(&messages, Some(&asker), json!({"body": "아직 계신가요?"}))
        .await
        .expect(409, "conversation_closed");
    let history = app.get(&messages, Some(&asker)).await.ok();
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        1,
        "the history stays"
    );
    // No order of theirs can be paid: none awaits payment, and the paid one stays paid.
    let awaiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM orders WHERE seller_id = $1::uuid AND status = 'awaiting_payment'",
    )
    .bind(&seller_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(awaiting, 0);
    app.post(
        &pay,
        Some(&winner),
        json!({"payment_key": "dev_again", "amount": 50000}),
    )
    .await
    .expect(409, "already_paid");
    // And the proofs of their records stay verifiable.
    assert_eq!(
        app.get(&format!("/v1/products/{other}/proof"), None)
            .await
            .status,
        200
    );
}
