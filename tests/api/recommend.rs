//! Recommendations served from the database: who may ask, what a buyer can act on, the reasons,
//! product views, listings newer than the model, and the worker.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestChain};
use crate::raffles::{anchored_listing, drive_draw, open_raffle};

/// A listing of `seller`'s, anchored: its id.
async fn listing(
    app: &TestApp,
    chain: &TestChain,
    seller: &str,
    name: &str,
    brand: &str,
    category: &str,
    krw: u64,
) -> String {
    let body = json!({"name": name, "brand": brand, "category": category,
                      "edition_size": 50, "retail_price_krw": krw});
    anchored_listing(app, chain, seller, body).await
}

async fn recommendations(app: &TestApp, token: &str) -> Value {
    app.get("/v1/me/recommendations?limit=20", Some(token))
        .await
        .ok()
}

/// (product id, reason code) of each item.
fn ranked(list: &Value) -> Vec<(String, String)> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["product"]["id"].as_str().unwrap().to_owned(),
                i["reason"]["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(id: &str, code: &str) -> (String, String) {
    (id.to_owned(), code.to_owned())
}

async fn retrain(app: &TestApp) {
    app.state.recommend.train().await.unwrap();
    app.state.recommend.refresh().await.unwrap();
}

async fn view_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM product_views")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn only_a_signed_in_caller_gets_recommendations_and_bad_limits_are_refused() {
    let app = TestApp::spawn().await;
    let path = "/v1/me/recommendations";
    app.get(path, None)
        .await
        .expect(401, "authentication_required");
    app.get(path, Some("not-a-token"))
        .await
        .expect(401, "invalid_token");
    let buyer = app.buyer().await;
    for bad in ["limit=0", "limit=51"] {
        app.get(&format!("{path}?{bad}"), Some(&buyer))
            .await
            .expect(400, "validation_failed");
    }
    for bad in ["limit=ten", "limit=-1", "sort=new"] {
        app.get(&format!("{path}?{bad}"), Some(&buyer))
            .await
            .expect(400, "invalid_query_parameter");
    }
    // Nothing to act on: an empty list, before any model and after the worker trains one.
    let list = recommendations(&app, &buyer).await;
    assert_eq!(list["items"], json!([]));
    assert!(list["model_trained_at"].is_null());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(app.state.recommend.clone().run(stopped));
    let mut trained = Value::Null;
    for _ in 0..100 {
        trained = recommendations(&app, &buyer).await["model_trained_at"].clone();
        if !trained.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(trained.is_string(), "the worker trains at start");
    stop.send(true).unwrap();
    worker.await.unwrap();
}

#[tokio::test]
async fn buyers_get_what_they_can_act_on_ranked_by_their_history_with_reasons() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (_, seller) = app.seller().await;
    let dunk = listing(
        &app,
        &chain,
        &seller,
        "나이키 덩크 로우 범고래",
        "Nike",
        "sneakers",
        139_000,
    )
    .await;
    let dunk_high = listing(
        &app,
        &chain,
        &seller,
        "나이키 덩크 하이",
        "Nike",
        "sneakers",
        149_000,
    )
    .await;
    let rolex = listing(
        &app,
        &chain,
        &seller,
        "롤렉스 서브마리너",
        "Rolex",
        "watches",
        15_000_000,
    )
    .await;

    // Buyer A wins the Dunk Low and pays for it.
    let a = app.buyer().await;
    let first = open_raffle(&app, &seller, &dunk, 1, Duration::from_secs(3)).await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{first}/entry"),
        Some(&a),
        None,
    )
    .await
    .ok();
    tokio::time::sleep(Duration::from_millis(3200)).await;
    drive_draw(&app, &chain, &first).await;
    let order = app.get("/v1/me/orders", Some(&a)).await.ok()["items"][0].clone();
    let address = json!({"recipient": "김민수", "phone": "010-1234-5678", "postal_code": "06236", "address": "서울특별시 강남구 테헤란로 152"});
    app.call(
        Method::PATCH,
        "/v1/me",
        Some(&a),
        Some(json!({"delivery_address": address})),
    )
    .await
    .ok();
    let paid = app
        .post(
            &format!("/v1/orders/{}/payment", order["id"].as_str().unwrap()),
            Some(&a),
            json!({"payment_key": "dev_ok_reco", "amount": 139000}),
        )
        .await
        .ok();
    assert_eq!(paid["status"], "paid");

    // Open raffles: the Dunk Low again, the Dunk High, and the Rolex (closing soonest).
    open_raffle(&app, &seller, &dunk, 1, Duration::from_secs(3600)).await;
    let high_raffle = open_raffle(&app, &seller, &dunk_high, 1, Duration::from_secs(3600)).await;
    let rolex_raffle = open_raffle(&app, &seller, &rolex, 1, Duration::from_secs(1800)).await;
    retrain(&app).await;

    // A bought the Dunk Low: never offered again. The Dunk High shares its brand; nothing
    // speaks for the Rolex, which fills in as closing soon.
    let list = recommendations(&app, &a).await;
    assert!(list["model_trained_at"].is_string());
    assert_eq!(
        ranked(&list),
        [pair(&dunk_high, "same_brand"), pair(&rolex, "closing_soon")],
        "{list}"
    );
    let first_item = &list["items"][0];
    assert_eq!(first_item["reason"]["text"], "from a brand you buy (Nike)");
    assert_eq!(first_item["raffle"]["state"], "open");
    assert_eq!(first_item["product"]["chain"]["status"], "confirmed");
    assert!(first_item["score"].as_f64().unwrap() > 0.0);
    assert!(list["items"][1]["score"].is_null());

    // B has no history: the Dunk Low is what people like B (by age and gender) bought.
    let b = app.buyer().await;
    let list = recommendations(&app, &b).await;
    assert_eq!(
        ranked(&list),
        [
            pair(&dunk, "popular_with_segment"),
            pair(&rolex, "closing_soon"),
            pair(&dunk_high, "closing_soon")
        ],
        "{list}"
    );
    let text = list["items"][0]["reason"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("popular with men ") || text.starts_with("popular with women "),
        "{text}"
    );

    // B looks at the Dunk High: counted at once, once a day, and it moves up.
    let before = view_count(&app).await;
    app.get(&format!("/v1/products/{dunk_high}"), None)
        .await
        .ok();
    assert_eq!(
        view_count(&app).await,
        before,
        "anonymous views are not kept"
    );
    app.get(&format!("/v1/products/{dunk_high}"), Some(&seller))
        .await
        .ok();
    assert_eq!(view_count(&app).await, before, "nor the seller's own");
    app.get(&format!("/v1/products/{dunk_high}"), Some("forged"))
        .await
        .expect(401, "invalid_token");
    app.get(&format!("/v1/products/{dunk_high}"), Some(&b))
        .await
        .ok();
    app.get(&format!("/v1/products/{dunk_high}"), Some(&b))
        .await
        .ok();
    assert_eq!(view_count(&app).await, before + 1);
    let list = recommendations(&app, &b).await;
    assert_eq!(
        ranked(&list),
        [
            pair(&dunk, "popular_with_segment"),
            pair(&dunk_high, "viewed_before"),
            pair(&rolex, "closing_soon")
        ],
        "{list}"
    );

    // A Nike listed after the model was trained reaches A by its brand, without retraining.
    let trained_at = recommendations(&app, &a).await["model_trained_at"].clone();
    let air_max = listing(
        &app,
        &chain,
        &seller,
        "나이키 에어맥스 95",
        "Nike",
        "sneakers",
        199_000,
    )
    .await;
    open_raffle(&app, &seller, &air_max, 1, Duration::from_secs(3600)).await;
    app.state.recommend.refresh().await.unwrap();
    let list = recommendations(&app, &a).await;
    assert_eq!(list["model_trained_at"], trained_at);
    let got = ranked(&list);
    assert_eq!(got.len(), 3, "{list}");
    assert!(got[..2].contains(&pair(&air_max, "same_brand")), "{list}");
    assert_eq!(got[2], pair(&rolex, "closing_soon"));

    // A enters the Dunk High raffle: nothing left to do there. The Rolex raffle is cancelled:
    // gone at once, before the list of open raffles is read again.
    app.call(
        Method::POST,
        &format!("/v1/raffles/{high_raffle}/entry"),
        Some(&a),
        None,
    )
    .await
    .ok();
    let admin = app.admin().await;
    app.post(
        &format!("/v1/admin/raffles/{rolex_raffle}/cancel"),
        Some(&admin),
        json!({"reason": "분실"}),
    )
    .await
    .ok();
    let list = recommendations(&app, &a).await;
    assert_eq!(ranked(&list), [pair(&air_max, "same_brand")], "{list}");

    // The seller is never offered their own products; the admin (no age or gender) sees the rest.
    assert_eq!(recommendations(&app, &seller).await["items"], json!([]));
    let list = recommendations(&app, &admin).await;
    let codes: Vec<String> = ranked(&list).into_iter().map(|(_, c)| c).collect();
    assert_eq!(codes.len(), 3, "{list}");
    assert_eq!(codes[0], "popular", "{list}");
}
