//! Banner ads: campaigns for admins, serving by weight, click redirects, de-duplication, stats.

use chrono::{Duration, NaiveDate, Utc};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn in_hours(h: i64) -> String {
    (Utc::now() + Duration::hours(h)).to_rfc3339()
}

/// A live campaign's body with `overrides` applied.
fn campaign(overrides: Value) -> Value {
    let mut body = json!({
        "name": "덩크 로우 래플",
        "image_url": "https://cdn.example.com/banners/dunk.png",
        "target_url": "https://shop.example.com/dunk?utm_source=truffle",
        "placement": "home_top",
        "ends_at": in_hours(24),
        "weight": 100,
    });
    for (k, v) in overrides.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn create(app: &TestApp, admin: &str, overrides: Value) -> Value {
    let res = app
        .post("/v1/admin/ads", Some(admin), campaign(overrides))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.body
}

fn id_of(c: &Value) -> String {
    c["id"].as_str().unwrap().to_owned()
}

async fn stats(app: &TestApp, admin: &str, id: &str, query: &str) -> Value {
    app.get(&format!("/v1/admin/ads/{id}/stats{query}"), Some(admin))
        .await
        .ok()
}

/// Total impressions and clicks of a campaign over the last 30 Korean days.
async fn totals(app: &TestApp, admin: &str, id: &str) -> (i64, i64) {
    let s = stats(app, admin, id, "").await;
    (
        s["total"]["impressions"].as_i64().unwrap(),
        s["total"]["clicks"].as_i64().unwrap(),
    )
}

/// A client that does not follow redirects, as a test of a redirect must be.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct ClickAs<'a> {
    user_agent: &'a str,
    token: Option<&'a str>,
    forwarded_for: Option<&'a str>,
}

const BROWSER: ClickAs<'static> = ClickAs {
    user_agent: "Mozilla/5.0 (iPhone) Safari/604.1",
    token: None,
    forwarded_for: None,
};

async fn click_as(app: &TestApp, path: &str, who: &ClickAs<'_>) -> reqwest::Response {
    let mut req = no_redirects()
        .get(format!("{}{path}", app.base))
        .header(header::USER_AGENT, who.user_agent);
    if let Some(t) = who.token {
        req = req.bearer_auth(t);
    }
    if let Some(xff) = who.forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.unwrap()
}

async fn click(app: &TestApp, id: &str) -> reqwest::Response {
    click_as(app, &format!("/v1/ads/{id}/click"), &BROWSER).await
}

fn location(res: &reqwest::Response) -> Option<&str> {
    res.headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap())
}

async fn serve(app: &TestApp, query: &str) -> Vec<Value> {
    let res = app.get(&format!("/v1/ads?{query}"), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.headers[header::CACHE_CONTROL], "no-store");
    res.body["items"].as_array().unwrap().clone()
}

/// Forgets who has seen which banner, so that the next `serve` counts as a new viewer's.
async fn forget_impressions(app: &TestApp) {
    sqlx::query("DELETE FROM ad_impression_dedup")
        .execute(&app.db)
        .await
        .unwrap();
}

fn korean_today() -> NaiveDate {
    truffle::ads::korean_date(Utc::now())
}

/// Waits out Korean midnight when it is a few seconds away, so a test's counts all fall on one day.
async fn away_from_korean_midnight() {
    let now = Utc::now();
    let next = (korean_today() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        - Duration::hours(9);
    let left = next - now;
    if left < Duration::seconds(15) {
        tokio::time::sleep((left + Duration::seconds(1)).to_std().unwrap_or_default()).await;
    }
}

#[tokio::test]
async fn admins_create_list_get_update_pause_and_end_campaigns() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;

    let created = create(
        &app,
        &admin,
        json!({
            "name": "  나이키 덩크  ",
            "target_url": "HTTPS://Shop.Example.COM:443/a b?x=1#top",
            "weight": 7,
        }),
    )
    .await;
    let id = id_of(&created);
    assert_eq!(created["name"], "나이키 덩크");
    assert_eq!(
        created["target_url"], "https://shop.example.com/a%20b?x=1#top",
        "stored normalised"
    );
    assert_eq!(created["placement"], "home_top");
    assert_eq!(created["weight"], 7);
    assert_eq!(created["status"], "active");
    assert_eq!(created["paused"], false);
    assert_eq!(created["ended_at"], Value::Null);
    let me = app.get("/v1/me", Some(&admin)).await.ok();
    assert_eq!(created["created_by"], me["id"]);

    let got = app
        .get(&format!("/v1/admin/ads/{id}"), Some(&admin))
        .await
        .ok();
    assert_eq!(got, created);

    // One that has not started, on another placement.
    let later = create(
        &app,
        &admin,
        json!({"placement": "search_top", "starts_at": in_hours(2), "ends_at": in_hours(5)}),
    )
    .await;
    assert_eq!(later["status"], "scheduled");

    let page = app.get("/v1/admin/ads", Some(&admin)).await.ok();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id_of(&later).as_str(), id.as_str()], "newest first");
    let first = app.get("/v1/admin/ads?limit=1", Some(&admin)).await.ok();
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/v1/admin/ads?limit=1&cursor={cursor}"),
            Some(&admin),
        )
        .await
        .ok();
    assert_eq!(second["items"][0]["id"], id.as_str());
    assert_eq!(second["next_cursor"], Value::Null);
    let only = app
        .get("/v1/admin/ads?placement=search_top", Some(&admin))
        .await
        .ok();
    assert_eq!(only["items"].as_array().unwrap().len(), 1);
    assert_eq!(only["items"][0]["id"], id_of(&later).as_str());
    app.get("/v1/admin/ads?placement=sidebar", Some(&admin))
        .await
        .expect(400, "invalid_query_parameter");

    // PATCH changes what is given and keeps the rest.
    let path = format!("/v1/admin/ads/{id}");
    let patch = |body: Value| app.call(Method::PATCH, &path, Some(&admin), Some(body));
    let changed = patch(json!({"weight": 500, "target_url": "https://shop.example.com/new", "placement": "raffle_list"}))
        .await
        .ok();
    assert_eq!(changed["weight"], 500);
    assert_eq!(changed["target_url"], "https://shop.example.com/new");
    assert_eq!(changed["placement"], "raffle_list");
    assert_eq!(changed["name"], "나이키 덩크");
    assert_eq!(changed["image_url"], created["image_url"]);
    let at = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap()
    };
    assert!(at(&changed["updated_at"]) > at(&created["updated_at"]));
    patch(json!({"target_url": "http://shop.example.com/"}))
        .await
        .expect(400, "validation_failed");
    patch(json!({"ends_at": (Utc::now() - Duration::days(400)).to_rfc3339()}))
        .await
        .expect(400, "validation_failed");
    patch(json!({"colour": "red"}))
        .await
        .expect(422, "invalid_body");

    // Pause and resume.
    let paused = patch(json!({"paused": true})).await.ok();
    assert_eq!(paused["status"], "paused");
    assert!(serve(&app, "placement=raffle_list").await.is_empty());
    let resumed = patch(json!({"paused": false})).await.ok();
    assert_eq!(resumed["status"], "active");
    assert_eq!(serve(&app, "placement=raffle_list").await.len(), 1);

    // End now: final, and ending again changes nothing.
    let ended = app
        .post(&format!("/v1/admin/ads/{id}/end"), Some(&admin), json!({}))
        .await
        .ok();
    assert_eq!(ended["status"], "ended");
    assert!(ended["ended_at"].is_string());
    let again = app
        .post(&format!("/v1/admin/ads/{id}/end"), Some(&admin), json!({}))
        .await
        .ok();
    assert_eq!(again["ended_at"], ended["ended_at"]);
    patch(json!({"paused": false}))
        .await
        .expect(409, "ad_ended");
    patch(json!({"ends_at": in_hours(48)}))
        .await
        .expect(409, "ad_ended");
    assert!(serve(&app, "placement=raffle_list").await.is_empty());

    let unknown = uuid::Uuid::now_v7();
    app.get(&format!("/v1/admin/ads/{unknown}"), Some(&admin))
        .await
        .expect(404, "not_found");
    app.call(
        Method::PATCH,
        &format!("/v1/admin/ads/{unknown}"),
        Some(&admin),
        Some(json!({"weight": 2})),
    )
    .await
    .expect(404, "not_found");
    app.post(
        &format!("/v1/admin/ads/{unknown}/end"),
        Some(&admin),
        json!({}),
    )
    .await
    .expect(404, "not_found");
    app.get("/v1/admin/ads/not-a-uuid", Some(&admin))
        .await
        .expect(400, "invalid_path_parameter");
}

#[tokio::test]
async fn only_admins_manage_campaigns_and_see_stats() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let buyer = app.buyer().await;
    let (_, seller) = app.seller().await;
    let id = id_of(&create(&app, &admin, json!({})).await);

    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/v1/admin/ads".into(),
            Some(campaign(json!({}))),
        ),
        (Method::GET, "/v1/admin/ads".into(), None),
        (Method::GET, format!("/v1/admin/ads/{id}"), None),
        (
            Method::PATCH,
            format!("/v1/admin/ads/{id}"),
            Some(json!({"weight": 1})),
        ),
        (
            Method::POST,
            format!("/v1/admin/ads/{id}/end"),
            Some(json!({})),
        ),
        (Method::GET, format!("/v1/admin/ads/{id}/stats"), None),
    ];
    for (method, path, body) in &calls {
        app.call(method.clone(), path, None, body.clone())
            .await
            .expect(401, "authentication_required");
        app.call(method.clone(), path, Some("not-a-token"), body.clone())
            .await
            .expect(401, "invalid_token");
        app.call(method.clone(), path, Some(&buyer), body.clone())
            .await
            .expect(403, "forbidden");
        app.call(method.clone(), path, Some(&seller), body.clone())
            .await
            .expect(403, "forbidden");
    }
    // Nothing above changed the campaign or added one.
    let page = app.get("/v1/admin/ads", Some(&admin)).await.ok();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["status"], "active");
    assert_eq!(page["items"][0]["weight"], 100);
}

#[tokio::test]
async fn bad_campaigns_are_refused_with_stable_codes() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let past = (Utc::now() - Duration::hours(1)).to_rfc3339();
    let five = in_hours(5);
    for (overrides, field) in [
        (
            json!({"target_url": "http://shop.example.com/"}),
            "target_url",
        ),
        (
            json!({"target_url": "javascript:alert(document.cookie)"}),
            "target_url",
        ),
        (
            json!({"target_url": "data:text/html,<script>alert(1)</script>"}),
            "target_url",
        ),
        (
            json!({"target_url": "https://user:pw@shop.example.com/"}),
            "target_url",
        ),
        (json!({"target_url": "//evil.example/"}), "target_url"),
        (json!({"target_url": "/v1/me"}), "target_url"),
        (
            json!({"target_url": "https://shop.example.com/\r\nSet-Cookie: a=b"}),
            "target_url",
        ),
        (
            json!({"target_url": format!("https://shop.example.com/{}", "a".repeat(2100))}),
            "target_url",
        ),
        (
            json!({"image_url": "http://cdn.example.com/a.png"}),
            "image_url",
        ),
        (json!({"placement": "sidebar"}), "placement"),
        (json!({"weight": 0}), "weight"),
        (json!({"weight": 1001}), "weight"),
        (json!({"weight": -5}), "weight"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "가".repeat(101)}), "name"),
        (
            json!({"starts_at": in_hours(5), "ends_at": in_hours(4)}),
            "ends_at",
        ),
        (json!({"starts_at": five, "ends_at": five}), "ends_at"),
        (json!({"ends_at": past}), "ends_at"),
        (json!({"ends_at": "+100000-01-01T00:00:00Z"}), "ends_at"),
        (json!({"starts_at": "1000-01-01T00:00:00Z"}), "starts_at"),
    ] {
        let res = app
            .post("/v1/admin/ads", Some(&admin), campaign(overrides.clone()))
            .await
            .expect(400, "validation_failed");
        assert!(
            res.body["message"].as_str().unwrap().starts_with(field),
            "{overrides}: {}",
            res.body
        );
    }
    let mut missing = campaign(json!({}));
    missing.as_object_mut().unwrap().remove("ends_at");
    app.post("/v1/admin/ads", Some(&admin), missing)
        .await
        .expect(422, "invalid_body");
    app.post(
        "/v1/admin/ads",
        Some(&admin),
        campaign(json!({"ends_at": "next tuesday"})),
    )
    .await
    .expect(422, "invalid_body");
    app.post(
        "/v1/admin/ads",
        Some(&admin),
        campaign(json!({"redirect": "https://evil.example"})),
    )
    .await
    .expect(422, "invalid_body");
    let page = app.get("/v1/admin/ads", Some(&admin)).await.ok();
    assert!(page["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn only_live_campaigns_of_the_placement_are_served_and_counted() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let live = create(&app, &admin, json!({"name": "live"})).await;
    let other_placement = create(&app, &admin, json!({"placement": "search_top"})).await;
    let not_started = create(
        &app,
        &admin,
        json!({"starts_at": in_hours(1), "ends_at": in_hours(2)}),
    )
    .await;
    let paused = create(&app, &admin, json!({"paused": true})).await;
    let ended = create(&app, &admin, json!({})).await;
    app.post(
        &format!("/v1/admin/ads/{}/end", id_of(&ended)),
        Some(&admin),
        json!({}),
    )
    .await
    .ok();
    let over = create(&app, &admin, json!({})).await;
    sqlx::query(
        "UPDATE ad_campaigns SET starts_at = now() - interval '2 hours',
            ends_at = now() - interval '1 hour' WHERE id = $1",
    )
    .bind(uuid::Uuid::parse_str(&id_of(&over)).unwrap())
    .execute(&app.db)
    .await
    .unwrap();

    for _ in 0..3 {
        let items = serve(&app, "placement=home_top&limit=5").await;
        assert_eq!(items.len(), 1, "{items:?}");
        let ad = &items[0];
        assert_eq!(ad["id"], live["id"]);
        assert_eq!(ad["image_url"], live["image_url"]);
        assert_eq!(ad["placement"], "home_top");
        assert_eq!(
            ad["click_url"],
            format!("/v1/ads/{}/click", id_of(&live)).as_str()
        );
        assert!(
            ad.get("target_url").is_none(),
            "the target is only behind the click"
        );
    }
    let items = serve(&app, "placement=search_top").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], other_placement["id"]);
    assert!(
        serve(&app, "placement=product_detail&limit=3")
            .await
            .is_empty()
    );

    // Three banners shown to one viewer within the window: one impression.
    assert_eq!(totals(&app, &admin, &id_of(&live)).await, (1, 0));
    assert_eq!(totals(&app, &admin, &id_of(&other_placement)).await, (1, 0));
    for c in [&not_started, &paused, &ended, &over] {
        assert_eq!(totals(&app, &admin, &id_of(c)).await, (0, 0), "{c}");
    }

    // Starting is a matter of time: move the start into the past and it is served.
    sqlx::query("UPDATE ad_campaigns SET starts_at = now() - interval '1 minute' WHERE id = $1")
        .bind(uuid::Uuid::parse_str(&id_of(&not_started)).unwrap())
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(serve(&app, "placement=home_top&limit=5").await.len(), 2);

    for (query, code) in [
        ("placement=sidebar", "invalid_query_parameter"),
        ("", "invalid_query_parameter"),
        ("placement=home_top&limit=6", "validation_failed"),
        ("placement=home_top&limit=0", "validation_failed"),
        ("placement=home_top&limit=-1", "invalid_query_parameter"),
        ("placement=home_top&limit=many", "invalid_query_parameter"),
    ] {
        app.get(&format!("/v1/ads?{query}"), None)
            .await
            .expect(400, code);
    }
}

#[tokio::test]
async fn banners_are_chosen_by_weight_without_repeats() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let heavy = id_of(
        &create(
            &app,
            &admin,
            json!({"placement": "raffle_list", "weight": 9}),
        )
        .await,
    );
    let light = id_of(
        &create(
            &app,
            &admin,
            json!({"placement": "raffle_list", "weight": 1}),
        )
        .await,
    );

    let rounds: i64 = 1000;
    let mut heavy_served: i64 = 0;
    for _ in 0..rounds {
        let items = serve(&app, "placement=raffle_list").await;
        assert_eq!(items.len(), 1);
        if items[0]["id"] == heavy.as_str() {
            heavy_served += 1;
        } else {
            assert_eq!(items[0]["id"], light.as_str());
        }
    }
    // Expected 900 with a standard deviation of 9.5: these bounds are eight deviations wide.
    assert!(
        (825..=975).contains(&heavy_served),
        "heavy campaign served {heavy_served} times of {rounds}"
    );
    // Asking for two gives both, never one twice.
    for _ in 0..20 {
        let items = serve(&app, "placement=raffle_list&limit=2").await;
        let mut ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        let mut want = vec![heavy.as_str(), light.as_str()];
        want.sort_unstable();
        assert_eq!(ids, want);
    }
    // One viewer saw each banner many times within the window: one impression each.
    assert_eq!(totals(&app, &admin, &heavy).await.0, 1);
    assert_eq!(totals(&app, &admin, &light).await.0, 1);
}

#[tokio::test]
async fn a_click_redirects_to_the_registered_target_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let target = "https://shop.example.com/dunk?utm_source=truffle";
    let id = id_of(&create(&app, &admin, json!({"target_url": target})).await);

    let res = click(&app, &id).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), Some(target));
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");

    // Nothing in the request moves the redirect.
    for query in [
        "?url=https://evil.example",
        "?redirect=https%3A%2F%2Fevil.example%2F&next=//evil.example&target_url=https://evil.example",
        "?url=javascript:alert(1)",
    ] {
        let res = click_as(
            &app,
            &format!("/v1/ads/{id}/click{query}"),
            &ClickAs {
                user_agent: "another browser",
                ..BROWSER
            },
        )
        .await;
        assert_eq!(res.status(), StatusCode::FOUND, "{query}");
        assert_eq!(location(&res), Some(target), "{query}");
        assert!(!res.text().await.unwrap().contains("evil"));
    }
    let res = no_redirects()
        .get(format!("{}/v1/ads/{id}/click", app.base))
        .header(header::HOST, "evil.example")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), Some(target));

    // HEAD (link previews, prefetchers) gets the same answer and counts nothing.
    let head = no_redirects()
        .head(format!("{}/v1/ads/{id}/click", app.base))
        .header(header::USER_AGENT, "preview bot")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::FOUND);
    assert_eq!(location(&head), Some(target));

    // One viewer (one address, whatever its User-Agent): one click; query strings and Host
    // headers made no more, HEAD none at all.
    assert_eq!(totals(&app, &admin, &id).await, (0, 1));

    // A changed target applies to the next click.
    app.call(
        Method::PATCH,
        &format!("/v1/admin/ads/{id}"),
        Some(&admin),
        Some(json!({"target_url": "https://shop.example.com/other"})),
    )
    .await
    .ok();
    assert_eq!(
        location(&click(&app, &id).await),
        Some("https://shop.example.com/other")
    );
}

#[tokio::test]
async fn clicks_on_unknown_or_inactive_campaigns_are_refused_without_a_redirect() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ended = id_of(&create(&app, &admin, json!({})).await);
    let first = click(&app, &ended).await;
    assert_eq!(first.status(), StatusCode::FOUND);
    app.post(
        &format!("/v1/admin/ads/{ended}/end"),
        Some(&admin),
        json!({}),
    )
    .await
    .ok();
    let not_started = id_of(
        &create(
            &app,
            &admin,
            json!({"starts_at": in_hours(1), "ends_at": in_hours(2)}),
        )
        .await,
    );
    let paused = id_of(&create(&app, &admin, json!({"paused": true})).await);
    let over = id_of(&create(&app, &admin, json!({})).await);
    sqlx::query(
        "UPDATE ad_campaigns SET starts_at = now() - interval '2 days',
            ends_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(uuid::Uuid::parse_str(&over).unwrap())
    .execute(&app.db)
    .await
    .unwrap();

    for id in [&ended, &not_started, &paused, &over] {
        let res = click_as(
            &app,
            &format!("/v1/ads/{id}/click?url=https://evil.example"),
            &ClickAs {
                user_agent: "someone new",
                ..BROWSER
            },
        )
        .await;
        assert_eq!(res.status(), StatusCode::GONE, "{id}");
        assert!(location(&res).is_none());
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "ad_not_active");
    }
    // Only the click before the end was counted.
    assert_eq!(totals(&app, &admin, &ended).await.1, 1);
    for id in [&not_started, &paused, &over] {
        assert_eq!(totals(&app, &admin, id).await.1, 0);
    }

    let unknown = uuid::Uuid::now_v7();
    let res = click(&app, &unknown.to_string()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(location(&res).is_none());
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_found");
    let res = click(&app, "not-a-uuid").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(location(&res).is_none());
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "invalid_path_parameter"
    );
}

#[tokio::test]
async fn repeated_clicks_of_one_viewer_count_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = id_of(&create(&app, &admin, json!({})).await);
    let other = id_of(&create(&app, &admin, json!({})).await);
    let path = format!("/v1/ads/{id}/click");
    async fn redirected(app: &TestApp, path: &str, who: ClickAs<'_>) {
        let res = click_as(app, path, &who).await;
        assert_eq!(
            res.status(),
            StatusCode::FOUND,
            "repeats are still redirected"
        );
    }

    // One anonymous viewer, three clicks; a spoofed X-Forwarded-For is not believed (no trusted
    // proxy is configured), so it does not make a new viewer.
    redirected(&app, &path, BROWSER).await;
    redirected(&app, &path, BROWSER).await;
    let spoofed = ClickAs {
        forwarded_for: Some("198.51.100.23"),
        ..BROWSER
    };
    redirected(&app, &path, spoofed).await;
    assert_eq!(totals(&app, &admin, &id).await.1, 1);

    // Another User-Agent from the same address is the same viewer: rotating it counts nothing.
    for ua in [
        "Mozilla/5.0 (Windows NT 10.0) Chrome/131",
        "curl/8.5",
        "bot-7f3a",
    ] {
        let other_browser = ClickAs {
            user_agent: ua,
            ..BROWSER
        };
        redirected(&app, &path, other_browser).await;
    }
    assert_eq!(totals(&app, &admin, &id).await.1, 1);

    // A logged-in user is one viewer whatever browser they use.
    let buyer = app.buyer().await;
    for ua in ["phone", "laptop", "tablet"] {
        let who = ClickAs {
            user_agent: ua,
            token: Some(&buyer),
            forwarded_for: None,
        };
        redirected(&app, &path, who).await;
    }
    assert_eq!(totals(&app, &admin, &id).await.1, 2);
    let second = app.buyer().await;
    let who = ClickAs {
        token: Some(&second),
        ..BROWSER
    };
    redirected(&app, &path, who).await;
    assert_eq!(totals(&app, &admin, &id).await.1, 3);

    // A broken token does not refuse the click: that viewer is taken as anonymous, here the
    // address that already clicked.
    let stale = ClickAs {
        user_agent: "stale token browser",
        token: Some("expired.or.forged"),
        forwarded_for: None,
    };
    redirected(&app, &path, stale).await;
    assert_eq!(totals(&app, &admin, &id).await.1, 3);

    // De-duplication is per campaign: the first viewer's click on another banner counts.
    let res = click_as(&app, &format!("/v1/ads/{other}/click"), &BROWSER).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(totals(&app, &admin, &other).await.1, 1);

    // What is kept per viewer is a 32-byte keyed hash, never the address or the browser.
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT viewer FROM ad_click_dedup")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    for (viewer,) in rows {
        assert_eq!(viewer.len(), 32);
        assert!(!viewer.windows(4).any(|w| w == [127, 0, 0, 1]));
        assert!(!String::from_utf8_lossy(&viewer).contains("127.0.0.1"));
    }
}

#[tokio::test]
async fn impressions_count_once_per_viewer_whatever_the_user_agent() {
    let app = TestApp::spawn_with(|env| {
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1".into());
    })
    .await;
    let admin = app.admin().await;
    let id = id_of(&create(&app, &admin, json!({"placement": "search_top"})).await);
    let buyer = app.buyer().await;
    async fn seen(app: &TestApp, client: &str, user_agent: &str, token: Option<&str>) {
        let mut req = app
            .http
            .get(format!("{}/v1/ads?placement=search_top", app.base))
            .header(header::USER_AGENT, user_agent)
            .header("x-forwarded-for", client);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["items"].as_array().unwrap().len(), 1, "still served");
    }
    // One address, many User-Agents: one impression.
    for ua in [
        "Mozilla/5.0 (iPhone)",
        "Chrome/131",
        "curl/8.5",
        "bot-1",
        "bot-2",
    ] {
        seen(&app, "203.0.113.9", ua, None).await;
    }
    assert_eq!(totals(&app, &admin, &id).await.0, 1);
    // One IPv6 /64 is one viewer too; the next /64 is another.
    seen(&app, "2001:db8:5:6::1", "a", None).await;
    seen(&app, "2001:db8:5:6:ffff::2", "b", None).await;
    assert_eq!(totals(&app, &admin, &id).await.0, 2);
    seen(&app, "2001:db8:5:7::1", "a", None).await;
    assert_eq!(totals(&app, &admin, &id).await.0, 3);
    // A signed-in person is one viewer wherever they are.
    seen(&app, "198.51.100.1", "phone", Some(&buyer)).await;
    seen(&app, "198.51.100.2", "laptop", Some(&buyer)).await;
    assert_eq!(totals(&app, &admin, &id).await.0, 4);
    // The window passes (rows purged as housekeeping would): the viewer counts again.
    sqlx::query("UPDATE ad_impression_dedup SET seen_at = now() - interval '31 minutes'")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.state.ads.purge_click_dedup().await.unwrap(), 4);
    seen(&app, "203.0.113.9", "Chrome/131", None).await;
    assert_eq!(totals(&app, &admin, &id).await.0, 5);
}

#[tokio::test]
async fn clicks_count_again_after_the_window_and_old_rows_are_purged() {
    let app = TestApp::spawn_with(|env| {
        env.insert("ADS_CLICK_DEDUP_WINDOW".into(), "1s".into());
    })
    .await;
    let admin = app.admin().await;
    let id = id_of(&create(&app, &admin, json!({})).await);
    click(&app, &id).await;
    click(&app, &id).await;
    assert_eq!(totals(&app, &admin, &id).await.1, 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    click(&app, &id).await;
    assert_eq!(totals(&app, &admin, &id).await.1, 2);

    // The housekeeping purge removes rows older than the window, and only those.
    assert_eq!(app.state.ads.purge_click_dedup().await.unwrap(), 0);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.state.ads.purge_click_dedup().await.unwrap(), 1);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM ad_click_dedup")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    // After a purge the viewer counts again, as the window has passed anyway.
    click(&app, &id).await;
    assert_eq!(totals(&app, &admin, &id).await.1, 3);
}

#[tokio::test]
async fn stats_are_per_korean_day_with_ctr() {
    away_from_korean_midnight().await;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = id_of(&create(&app, &admin, json!({"placement": "product_detail"})).await);
    let uuid = uuid::Uuid::parse_str(&id).unwrap();

    // "Yesterday": four impressions (four viewers: the test forgets the last one each time)
    // and one counted click (the repeat is not counted).
    for _ in 0..4 {
        serve(&app, "placement=product_detail").await;
        forget_impressions(&app).await;
    }
    click(&app, &id).await;
    click(&app, &id).await;
    // Counters are kept under today's Korean date.
    let days: Vec<NaiveDate> =
        sqlx::query_scalar("SELECT DISTINCT day FROM ad_daily_stats WHERE campaign_id = $1")
            .bind(uuid)
            .fetch_all(&app.db)
            .await
            .unwrap();
    let today = korean_today();
    assert_eq!(days, [today]);
    sqlx::query("UPDATE ad_daily_stats SET day = day - 1 WHERE campaign_id = $1")
        .bind(uuid)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM ad_click_dedup")
        .execute(&app.db)
        .await
        .unwrap();
    // Today: two impressions, no click.
    serve(&app, "placement=product_detail").await;
    forget_impressions(&app).await;
    serve(&app, "placement=product_detail").await;

    let yesterday = today.pred_opt().unwrap();
    let before = yesterday.pred_opt().unwrap();
    let s = stats(&app, &admin, &id, &format!("?from={before}&to={today}")).await;
    assert_eq!(s["campaign_id"], id.as_str());
    assert_eq!(s["time_zone"], "Asia/Seoul");
    assert_eq!(s["from"], before.to_string());
    assert_eq!(s["to"], today.to_string());
    assert_eq!(
        s["days"],
        json!([
            {"day": before.to_string(), "impressions": 0, "clicks": 0, "ctr": null},
            {"day": yesterday.to_string(), "impressions": 4, "clicks": 1, "ctr": 0.25},
            {"day": today.to_string(), "impressions": 2, "clicks": 0, "ctr": 0.0},
        ])
    );
    assert_eq!(s["total"]["impressions"], 6);
    assert_eq!(s["total"]["clicks"], 1);
    assert!((s["total"]["ctr"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-12);

    // The default range is the 30 Korean days up to today.
    let default = stats(&app, &admin, &id, "").await;
    let days = default["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days[29]["day"], today.to_string());
    assert_eq!(days[28]["impressions"], 4);
    assert_eq!(default["total"]["impressions"], 6);

    for (query, code) in [
        (format!("?from={today}&to={yesterday}"), "validation_failed"),
        ("?from=2025-01-01&to=2026-06-01".into(), "validation_failed"),
        ("?from=yesterday".into(), "invalid_query_parameter"),
        ("?from=2026-02-30".into(), "invalid_query_parameter"),
        ("?from=0001-01-01&to=0001-01-02".into(), "validation_failed"),
        ("?to=0001-01-01".into(), "validation_failed"),
        ("?day=2026-01-01".into(), "invalid_query_parameter"),
    ] {
        app.get(&format!("/v1/admin/ads/{id}/stats{query}"), Some(&admin))
            .await
            .expect(400, code);
    }
    app.get(
        &format!("/v1/admin/ads/{}/stats", uuid::Uuid::now_v7()),
        Some(&admin),
    )
    .await
    .expect(404, "not_found");
}

#[tokio::test]
async fn demo_data_has_two_banners_on_the_home_page() {
    let app = TestApp::spawn().await;
    truffle::accounts::create_unverified_user(
        &app.db,
        truffle::demo::ADMIN.email,
        truffle::demo::ADMIN.password,
        truffle::accounts::Role::Admin,
    )
    .await
    .unwrap();
    truffle::demo::ads(&app.state.accounts, &app.state.ads)
        .await
        .unwrap();
    truffle::demo::ads(&app.state.accounts, &app.state.ads)
        .await
        .unwrap();
    let items = serve(&app, "placement=home_top&limit=5").await;
    assert_eq!(items.len(), 2, "seeding twice adds nothing: {items:?}");
    for ad in &items {
        assert!(ad["image_url"].as_str().unwrap().starts_with("https://"));
        let res = click(&app, ad["id"].as_str().unwrap()).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        assert!(location(&res).unwrap().starts_with("https://"));
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_ads_endpoints() {
    let app = TestApp::spawn().await;
    let doc = app.get("/openapi.json", None).await.ok();
    assert!(
        doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "ads")
    );
    for (path, method) in [
        ("/v1/ads", "get"),
        ("/v1/ads/{id}/click", "get"),
        ("/v1/admin/ads", "post"),
        ("/v1/admin/ads", "get"),
        ("/v1/admin/ads/{id}", "get"),
        ("/v1/admin/ads/{id}", "patch"),
        ("/v1/admin/ads/{id}/end", "post"),
        ("/v1/admin/ads/{id}/stats", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(
            op["tags"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("ads"))),
            "{method} {path}: {op}"
        );
    }
    assert!(doc["paths"]["/v1/ads/{id}/click"]["get"]["responses"]["302"].is_object());
}
