//! Operations endpoints and the HTTP plumbing every route shares.

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/health", None).await.ok()["status"], "ok");
    assert_eq!(app.get("/ready", None).await.ok()["status"], "ready");
    let text = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The two requests above were counted under their matched routes.
    assert!(
        text.contains(
            "truffle_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("truffle_http_request_duration_seconds"),
        "{text}"
    );
}

#[tokio::test]
async fn ready_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db.close().await;
    app.get("/ready", None).await.expect(503, "unavailable");
}

#[tokio::test]
async fn openapi_is_3_1_and_docs_are_served_offline() {
    let app = TestApp::spawn().await;
    let doc = app.get("/openapi.json", None).await.ok();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/v1/auth/signup",
        "/v1/auth/login",
        "/v1/me",
        "/v1/identity-verifications/{id}/confirm",
        "/v1/admin/seller-applications",
        "/v1/products",
        "/v1/products/{id}/proof",
        "/v1/products/{id}/revoke",
        "/v1/me/products",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let page = app
        .http
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger"), "docs UI page");
    // The UI's scripts come from us, not a CDN.
    assert!(
        !html.contains("https://"),
        "docs UI loads something from the internet"
    );
    let js = app
        .http
        .get(format!("{}/docs/swagger-ui-bundle.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
}

#[tokio::test]
async fn request_ids_are_made_or_kept() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID request id: {id}");
    let res = app
        .http
        .get(format!("{}/health", app.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = TestApp::spawn().await;
    app.get("/v1/nothing-here", None)
        .await
        .expect(404, "not_found");
    app.call(Method::PUT, "/health", None, None)
        .await
        .expect(405, "method_not_allowed");
}

async fn scrape(app: &TestApp) -> String {
    app.http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the sample line that starts with `series ` (no labels), if there is one.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{series} ")))
        .map(|v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn made_up_methods_and_paths_grow_no_series() {
    let app = TestApp::spawn().await;
    for method in ["FOO", "BREW", "X-PROPFIND-7"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let res = app
            .http
            .request(method, format!("{}/health", app.base))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{}", res.status());
    }
    for path in ["/v1/nothing-here/1", "/v1/nothing-here/2", "/%F0%9F%8D%84"] {
        app.get(path, None).await;
    }
    let text = scrape(&app).await;
    assert!(!text.contains("FOO") && !text.contains("BREW"), "{text}");
    assert!(!text.contains("nothing-here"), "{text}");
    assert!(
        text.contains(
            "truffle_http_requests_total{method=\"other\",route=\"/health\",status=\"405\"} 3"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "truffle_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 3"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_show_the_anchoring_backlog_search_lag_and_model_age() {
    let app = TestApp::spawn().await;
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "truffle_anchor_backlog"), Some(0.0), "{text}");
    for gauge in [
        "truffle_search_index_lag_seconds",
        "truffle_recommendation_model_age_seconds",
    ] {
        assert!(
            sample(&text, gauge).is_some_and(|v| v >= 0.0),
            "{gauge}: {text}"
        );
    }

    // Two records wait to be anchored (no chain here): the sampler counts them.
    let (_, seller) = app.seller().await;
    for sku in ["SKU-1", "SKU-2"] {
        app.post(
            "/v1/products",
            Some(&seller),
            json!({"name": "나이키 덩크 로우", "brand": "Nike", "category": "sneakers",
                   "edition_size": 100, "retail_price_krw": 129000, "description": "한정",
                   "sku": sku, "image_sha256s": ["ab".repeat(32)]}),
        )
        .await
        .ok();
    }
    app.state.sample_anchor_backlog().await.unwrap();
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "truffle_anchor_backlog"), Some(2.0), "{text}");

    // The model's age counts from its training once there is one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = sample(
        &scrape(&app).await,
        "truffle_recommendation_model_age_seconds",
    )
    .unwrap();
    app.state.recommend.train().await.unwrap();
    let after = sample(
        &scrape(&app).await,
        "truffle_recommendation_model_age_seconds",
    )
    .unwrap();
    assert!(after < before, "{after} after training, {before} before");
}

#[tokio::test]
async fn bad_bodies_get_4xx_codes_never_500() {
    let app = TestApp::spawn_with(|env| {
        env.insert("BODY_LIMIT_BYTES".into(), "2048".into());
    })
    .await;
    let url = format!("{}/v1/auth/login", app.base);
    let send = |body: String, ctype: Option<&'static str>| {
        let mut req = app.http.post(&url).body(body);
        if let Some(c) = ctype {
            req = req.header("content-type", c);
        }
        req.send()
    };
    let cases: Vec<(String, Option<&str>, u16, &str)> = vec![
        (
            "{\"email\": ".into(),
            Some("application/json"),
            400,
            "malformed_json",
        ),
        (
            "{\"email\": \"a\" \"password\"}".into(),
            Some("application/json"),
            400,
            "malformed_json",
        ),
        (
            "[1, 2]".into(),
            Some("application/json"),
            422,
            "invalid_body",
        ),
        (
            "{\"email\": 5, \"password\": \"x\"}".into(),
            Some("application/json"),
            422,
            "invalid_body",
        ),
        (
            "{\"password\": \"x\"}".into(),
            Some("application/json"),
            422,
            "invalid_body",
        ),
        (
            "{\"email\": \"a@b.kr\", \"password\": \"x\", \"admin\": true}".into(),
            Some("application/json"),
            422,
            "invalid_body",
        ),
        ("{}".into(), None, 415, "unsupported_media_type"),
        (
            "{}".into(),
            Some("text/plain"),
            415,
            "unsupported_media_type",
        ),
        (
            format!(
                "{{\"email\": \"{}\", \"password\": \"x\"}}",
                "a".repeat(4096)
            ),
            Some("application/json"),
            413,
            "payload_too_large",
        ),
    ];
    for (body, ctype, status, code) in cases {
        let res = send(body.clone(), ctype).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{body:.60}");
        let json: serde_json::Value = res.json().await.unwrap();
        assert_eq!(json["code"], code, "{body:.60}");
    }
}

#[tokio::test]
async fn bad_path_and_query_parameters_get_4xx() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.post(
        "/v1/admin/seller-applications/not-a-uuid/approve",
        Some(&admin),
        json!({}),
    )
    .await
    .expect(400, "invalid_path_parameter");
    app.get("/v1/admin/seller-applications?limit=lots", Some(&admin))
        .await
        .expect(400, "invalid_query_parameter");
    app.get("/v1/admin/seller-applications?status=maybe", Some(&admin))
        .await
        .expect(400, "invalid_query_parameter");
    app.get("/v1/admin/seller-applications?limit=0", Some(&admin))
        .await
        .expect(400, "validation_failed");
}

#[tokio::test]
async fn cors_answers_only_configured_origins() {
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "CORS_ALLOWED_ORIGINS".into(),
            "https://truffle.example".into(),
        );
    })
    .await;
    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, format!("{}/v1/auth/login", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = preflight("https://truffle.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://truffle.example"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn graceful_shutdown_finishes_and_stops() {
    let app = TestApp::spawn().await;
    let base = app.base.clone();
    app.stop().await;
    assert!(
        reqwest::get(format!("{base}/health")).await.is_err(),
        "still answering after shutdown"
    );
}

#[tokio::test]
async fn slow_requests_are_cut_off_with_a_timeout_code() {
    let app = TestApp::spawn_with(|env| {
        env.insert("REQUEST_TIMEOUT".into(), "1ms".into());
    })
    .await;
    // A login spends tens of milliseconds in argon2, far past 1 ms.
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": "a@example.com", "password": "whatever-it-is"}),
    )
    .await
    .expect(503, "timeout");
}

#[tokio::test]
async fn internal_failures_say_nothing_inside() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer().await;
    // Break the database under the running app.
    sqlx::query("DROP TABLE seller_applications")
        .execute(&app.db)
        .await
        .unwrap();
    let r = app
        .get("/v1/me/seller-application", Some(&buyer))
        .await
        .expect(500, "internal");
    let text = r.body.to_string();
    assert!(
        !text.contains("seller_applications") && !text.contains("relation"),
        "{text}"
    );
    assert!(
        r.headers.get("x-request-id").is_some(),
        "the id to find the logged cause"
    );
}

/// The database's shape, to compare: every column of every table, with its type and default,
/// and every index and constraint.
async fn schema_of(db: &sqlx::PgPool) -> Vec<String> {
    let mut shape: Vec<String> = sqlx::query_scalar(
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
                || ' ' || coalesce(column_default, '')
         FROM information_schema.columns WHERE table_schema = 'public'
           AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let constraints: Vec<String> = sqlx::query_scalar(
        "SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace",
    )
    .fetch_all(db)
    .await
    .unwrap();
    shape.extend(indexes);
    shape.extend(constraints);
    shape.sort();
    shape
}

#[tokio::test]
async fn every_migration_goes_down_and_up_again() {
    let db = crate::helpers::TestDb::new().await;
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let before = schema_of(&pool).await;
    assert!(before.len() > 100, "the test database is migrated");
    truffle::db::MIGRATOR
        .undo(&pool, 0)
        .await
        .expect("every down migration runs");
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        left.is_empty(),
        "the down migrations leave tables behind: {left:?}"
    );
    truffle::db::MIGRATOR
        .run(&pool)
        .await
        .expect("every migration runs again");
    assert_eq!(
        schema_of(&pool).await,
        before,
        "down and up again gives the same schema"
    );
    pool.close().await;
}
