//! Hostile text at every kind of entry point: NUL and the other controls, line separators and
//! bidi controls are `400 validation_failed` naming the field, in JSON bodies (nested and in
//! keys), path and query parameters; fields that may span lines take a newline; a client's
//! request id is kept only when it is well formed. The chat socket's frames and the KakaoTalk
//! skill payload have their tests beside the others of their kind (chat.rs, kakao.rs).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};

/// A 400 `validation_failed` whose message names `field`.
#[track_caller]
fn refused(r: Resp, field: &str) {
    let r = r.expect(400, "validation_failed");
    let message = r.body["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("{field}: ")),
        "the message should name {field}: {message}"
    );
}

async fn raw(app: &TestApp, method: Method, path: &str, body: Option<&str>) -> Resp {
    let mut req = app.http.request(method, format!("{}{path}", app.base));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_owned());
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

#[tokio::test]
async fn a_nul_in_an_email_is_a_400_naming_the_field_not_a_500() {
    let app = TestApp::spawn().await;
    for email in ["a\u{0}@example.com", "a@exa\u{0}mple.com"] {
        refused(
            app.post(
                "/v1/auth/signup",
                None,
                json!({"identity_verification_id": "idv_x", "email": email, "password": "a-good-password-1"}),
            )
            .await,
            "email",
        );
        refused(
            app.post(
                "/v1/auth/login",
                None,
                json!({"email": email, "password": "whatever-it-is"}),
            )
            .await,
            "email",
        );
    }
}

#[tokio::test]
async fn every_refused_character_is_refused_and_hangul_and_rtl_marks_are_not() {
    let app = TestApp::spawn().await;
    for bad in [
        "\u{0}", "\u{7}", "\u{1b}", "\u{7f}", "\u{85}", "\u{9f}", "\u{2028}", "\u{2029}",
        "\u{202a}", "\u{202e}", "\u{2066}", "\u{2069}", "\n", "\t",
    ] {
        refused(
            app.post(
                "/v1/auth/login",
                None,
                json!({"email": format!("buyer{bad}@example.com"), "password": "x"}),
            )
            .await,
            "email",
        );
    }
    // Hangul (precomposed or as jamo), an RTL mark, emoji: ordinary text, refused only for
    // being wrong credentials.
    for fine in ["한", "\u{1112}\u{1161}\u{11ab}", "a\u{200f}b", "🦄"] {
        app.post(
            "/v1/auth/login",
            None,
            json!({"email": format!("{fine}@example.com"), "password": "x"}),
        )
        .await
        .expect(401, "invalid_credentials");
    }
}

#[tokio::test]
async fn a_verification_id_in_the_path_is_checked_before_the_database_sees_it() {
    let app = TestApp::spawn().await;
    refused(
        app.post(
            "/v1/identity-verifications/idv_%00abc/confirm",
            None,
            json!({"code": "123456"}),
        )
        .await,
        "id",
    );
    refused(
        app.post(
            "/v1/identity-verifications/idv_%E2%80%AEabc/confirm",
            None,
            json!({"code": "123456"}),
        )
        .await,
        "id",
    );
    // And in the body of a sign-up.
    refused(
        app.post(
            "/v1/auth/signup",
            None,
            json!({"identity_verification_id": "idv_\u{0}", "email": "a@example.com", "password": "a-good-password-1"}),
        )
        .await,
        "identity_verification_id",
    );
    // A plain unknown id is still a 404.
    app.post(
        "/v1/identity-verifications/idv_nope/confirm",
        None,
        json!({"code": "123456"}),
    )
    .await
    .expect(404, "verification_not_found");
}

#[tokio::test]
async fn a_toss_payment_key_with_a_nul_is_refused_by_its_nested_path() {
    let app = TestApp::spawn().await;
    refused(
        app.post(
            "/v1/payments/toss/webhook",
            None,
            json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "tgen_\u{0}", "orderId": "x"}}),
        )
        .await,
        "data.paymentKey",
    );
    // Unknown extra fields are fine in a webhook, but not with a control character in them.
    refused(
        app.post(
            "/v1/payments/toss/webhook",
            None,
            json!({"data": {"paymentKey": "tgen_1", "extra": {"list": ["ok", "b\u{1}"]}}}),
        )
        .await,
        "data.extra.list[1]",
    );
    let r = app
        .post(
            "/v1/payments/toss/webhook",
            None,
            json!({"data": {"paymentKey": "tgen_1", "k\u{0}ey": 1}}),
        )
        .await
        .expect(400, "validation_failed");
    let message = r.body["message"].as_str().unwrap();
    assert!(message.starts_with("data.k\\u{0000}ey: "), "{message}");
    // The same webhook without the hostile bytes is just an unknown payment.
    app.post(
        "/v1/payments/toss/webhook",
        None,
        json!({"data": {"paymentKey": "tgen_1", "orderId": "x"}}),
    )
    .await
    .expect(404, "unknown_payment");
}

#[tokio::test]
async fn a_chat_client_id_with_a_nul_is_refused_over_rest() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer().await;
    let conversation = uuid::Uuid::new_v4();
    let path = format!("/v1/conversations/{conversation}/messages");
    refused(
        app.post(
            &path,
            Some(&buyer),
            json!({"body": "안녕하세요", "client_id": "c\u{0}1"}),
        )
        .await,
        "client_id",
    );
    // Anonymous: authentication comes first.
    app.post(&path, None, json!({"body": "x", "client_id": "c\u{0}1"}))
        .await
        .expect(401, "authentication_required");
}

#[tokio::test]
async fn query_names_and_values_are_checked() {
    let app = TestApp::spawn().await;
    refused(app.get("/v1/search?q=%00", None).await, "q");
    refused(app.get("/v1/search?q=%E2%80%A8", None).await, "q");
    refused(app.get("/v1/products?brand=Ni%1Bke", None).await, "brand");
    refused(app.get("/v1/raffles?%00=1", None).await, "\\u{0000}");
    // The text rule comes before the query's own checks, so the field named is the bad one.
    refused(app.get("/v1/search?limit=0&q=%7F", None).await, "q");
    app.get("/v1/search?q=%ED%95%9C", None).await.ok();
}

#[tokio::test]
async fn path_parameters_are_checked_by_name() {
    let app = TestApp::spawn().await;
    let raffle = uuid::Uuid::new_v4();
    refused(
        app.get(
            &format!("/v1/raffles/{raffle}/tickets/0x%E2%80%AE00/proof"),
            None,
        )
        .await,
        "ticket",
    );
    refused(app.get("/v1/raffles/%00", None).await, "id");
    // Not UTF-8 at all: still a 400.
    let r = raw(&app, Method::GET, "/v1/raffles/%FF%FE", None).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
}

#[tokio::test]
async fn hostile_bodies_are_4xx_never_5xx() {
    let app = TestApp::spawn().await;
    // A lone surrogate is not JSON text: malformed.
    raw(
        &app,
        Method::POST,
        "/v1/auth/login",
        Some(r#"{"email": "\ud800@example.com", "password": "x"}"#),
    )
    .await
    .expect(400, "malformed_json");
    // A NUL escaped in JSON, deep in an array of a profile update.
    let buyer = app.buyer().await;
    refused(
        app.call(
            Method::PATCH,
            "/v1/me",
            Some(&buyer),
            Some(
                json!({"delivery_address": {"recipient": "김\u{0}민수", "phone": "010-1234-5678",
                         "postal_code": "06236", "address": "서울"}}),
            ),
        )
        .await,
        "delivery_address.recipient",
    );
    // 100 kB of text where a name goes: a 400 for its length, not a database error.
    app.call(
        Method::PATCH,
        "/v1/me",
        Some(&buyer),
        Some(json!({"name": "가".repeat(100_000)})),
    )
    .await
    .expect(400, "validation_failed");
}

#[tokio::test]
async fn fields_that_span_lines_take_a_newline_and_others_do_not() {
    let app = TestApp::spawn().await;
    let (_, seller) = app.seller().await;
    let product = |description: &str, name: &str| {
        json!({
            "name": name, "brand": "Nike", "category": "sneakers", "edition_size": 10,
            "retail_price_krw": 129000, "description": description,
        })
    };
    let created = app
        .post(
            "/v1/products",
            Some(&seller),
            product("첫째 줄\n둘째 줄\r\n\t셋째 줄", "덩크"),
        )
        .await
        .ok();
    assert_eq!(
        created["record"]["description"],
        "첫째 줄\n둘째 줄\r\n\t셋째 줄"
    );
    refused(
        app.post("/v1/products", Some(&seller), product("ok", "덩크\n로우"))
            .await,
        "name",
    );
    refused(
        app.post("/v1/products", Some(&seller), product("a\u{0}b", "덩크"))
            .await,
        "description",
    );
    refused(
        app.post("/v1/products", Some(&seller), product("a\u{202e}b", "덩크"))
            .await,
        "description",
    );
}

#[tokio::test]
async fn a_clients_request_id_is_echoed_only_when_well_formed() {
    let app = TestApp::spawn().await;
    let url = format!("{}/health", app.base);
    let sent = "0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162";
    let res = app
        .http
        .get(&url)
        .header("x-request-id", sent)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], sent);
    let bidi = reqwest::header::HeaderValue::from_bytes("a\u{202e}b".as_bytes()).unwrap();
    for bad in [
        reqwest::header::HeaderValue::from_static("has spaces in it"),
        reqwest::header::HeaderValue::from_static("<script>"),
        bidi,
        reqwest::header::HeaderValue::from_str(&"a".repeat(200)).unwrap(),
    ] {
        let res = app
            .http
            .get(&url)
            .header("x-request-id", bad.clone())
            .send()
            .await
            .unwrap();
        let got = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(got.as_bytes(), bad.as_bytes());
        assert!(uuid::Uuid::parse_str(&got).is_ok(), "a new id: {got}");
    }
}

#[tokio::test]
async fn the_chat_socket_route_answers_plain_requests_with_json() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer().await;
    let r = app.get("/v1/chat/ws", Some(&buyer)).await;
    let r = r.expect(426, "upgrade_required");
    assert_eq!(r.headers["upgrade"], "websocket");
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}
