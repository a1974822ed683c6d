//! What an anonymous client must not be able to do to the accounts: buy argon2 with bad
//! verifications, flood sign-up or reset, lock someone else out of their account, escape a limit
//! by rotating IPv6 addresses, or keep a session alive for ever.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Person, Resp, TestApp};

/// A POST as if from `client`, through the trusted proxy on 127.0.0.1.
async fn post_from(app: &TestApp, client: &str, path: &str, body: Value) -> Resp {
    let res = app
        .http
        .post(format!("{}{path}", app.base))
        .header("x-forwarded-for", client)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

fn behind_proxy(env: &mut std::collections::HashMap<String, String>) {
    env.insert("TRUSTED_PROXIES".into(), "127.0.0.1".into());
}

fn signup_body(verification: &str, email: &str) -> Value {
    json!({"identity_verification_id": verification, "email": email, "password": "a-good-password-1"})
}

fn reset_body(verification: &str) -> Value {
    json!({"identity_verification_id": verification, "new_password": "brand-new-password-2"})
}

/// Fills the app's CPU pool (one thread, one waiting place) with jobs that wait for the sender.
async fn saturate(app: &TestApp) -> std::sync::mpsc::Sender<()> {
    let cpu = app.state.cpu.clone();
    let stats = cpu.stats();
    assert_eq!((stats.threads, stats.queue_depth), (1, 1));
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
    for _ in 0..2 {
        let (cpu, wait) = (cpu.clone(), wait.clone());
        tokio::spawn(async move {
            cpu.run_worker(move || {
                let _ = wait.lock().unwrap().recv();
            })
            .await
        });
    }
    while cpu.stats().in_flight < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    release
}

#[tokio::test]
async fn signup_and_reset_check_the_verification_before_any_hashing() {
    let app = TestApp::spawn_with(|env| {
        env.insert("CPU_THREADS".into(), "1".into());
        env.insert("CPU_QUEUE_DEPTH".into(), "1".into());
    })
    .await;
    let owner = Person::random();
    app.signup("owner@example.com", "a-good-password-1", &owner)
        .await;
    let unconfirmed = app.start_verification("signup", &Person::random()).await;
    let reset_unconfirmed = app.start_verification("password_reset", &owner).await;
    let confirmed = app.verify("signup", &Person::random()).await;

    // With every thread busy and the queue full, anything that reached argon2 would be refused
    // with `overloaded`: these answers show that bad verifications never get there.
    let release = saturate(&app).await;
    app.post(
        "/v1/auth/signup",
        None,
        signup_body(&unconfirmed, "a@example.com"),
    )
    .await
    .expect(409, "verification_not_confirmed");
    app.post(
        "/v1/auth/signup",
        None,
        signup_body("idv_00000000000000000000000000000000", "a@example.com"),
    )
    .await
    .expect(404, "verification_not_found");
    app.post(
        "/v1/auth/password-reset",
        None,
        reset_body(&reset_unconfirmed),
    )
    .await
    .expect(409, "verification_not_confirmed");
    app.post("/v1/auth/password-reset", None, reset_body(&confirmed))
        .await
        .expect(409, "verification_purpose_mismatch");
    app.post(
        "/v1/auth/signup",
        None,
        signup_body(&confirmed, "owner@example.com"),
    )
    .await
    .expect(409, "email_taken");

    // A good sign-up and a login do need the pool: refused at once, with Retry-After.
    let busy = app
        .post(
            "/v1/auth/signup",
            None,
            signup_body(&confirmed, "new@example.com"),
        )
        .await
        .expect(503, "overloaded");
    assert_eq!(busy.headers["retry-after"], "1");
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": "owner@example.com", "password": "a-good-password-1"}),
    )
    .await
    .expect(503, "overloaded");
    assert!(app.state.cpu.stats().refused >= 2);

    // Once the pool drains, the same verification still works: the refusal used nothing up.
    release.send(()).unwrap();
    release.send(()).unwrap();
    while app.state.cpu.stats().in_flight > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = app
        .post(
            "/v1/auth/signup",
            None,
            signup_body(&confirmed, "new@example.com"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn signup_and_reset_are_limited_per_address_and_per_verification() {
    let app = TestApp::spawn_with(|env| {
        behind_proxy(env);
        env.insert("SIGNUP_LIMIT_PER_IP".into(), "2/1h".into());
        env.insert("PASSWORD_RESET_LIMIT_PER_IP".into(), "2/1h".into());
        env.insert("VERIFICATION_USE_LIMIT".into(), "2/30m".into());
    })
    .await;
    // Per address: bad verifications count too, and another address has its own budget.
    for _ in 0..2 {
        post_from(
            &app,
            "198.51.100.7",
            "/v1/auth/signup",
            signup_body("idv_nope", "x@example.com"),
        )
        .await
        .expect(404, "verification_not_found");
    }
    let r = post_from(
        &app,
        "198.51.100.7",
        "/v1/auth/signup",
        signup_body("idv_nope", "x@example.com"),
    )
    .await
    .expect(429, "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
    for _ in 0..2 {
        post_from(
            &app,
            "198.51.100.7",
            "/v1/auth/password-reset",
            reset_body("idv_nope"),
        )
        .await
        .expect(404, "verification_not_found");
    }
    post_from(
        &app,
        "198.51.100.7",
        "/v1/auth/password-reset",
        reset_body("idv_nope"),
    )
    .await
    .expect(429, "rate_limited");

    // Per verification: one confirmed verification cannot be replayed without end.
    let person = Person::random();
    let taken = app.buyer().await;
    let taken_email = app.get("/v1/me", Some(&taken)).await.ok()["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = app.verify("signup", &person).await;
    for client in ["203.0.113.1", "203.0.113.2"] {
        post_from(
            &app,
            client,
            "/v1/auth/signup",
            signup_body(&id, &taken_email),
        )
        .await
        .expect(409, "email_taken");
    }
    post_from(
        &app,
        "203.0.113.3",
        "/v1/auth/signup",
        signup_body(&id, "fresh@example.com"),
    )
    .await
    .expect(429, "rate_limited");
}

#[tokio::test]
async fn a_strangers_failures_elsewhere_do_not_lock_the_owner_out() {
    let app = TestApp::spawn_with(behind_proxy).await;
    app.signup("owner@example.com", "a-good-password-1", &Person::random())
        .await;
    let wrong = json!({"email": "owner@example.com", "password": "guess-guess-1"});
    for _ in 0..10 {
        post_from(&app, "198.51.100.66", "/v1/auth/login", wrong.clone())
            .await
            .expect(401, "invalid_credentials");
    }
    // The stranger's address is cut off for this account, before any password is checked…
    post_from(
        &app,
        "198.51.100.66",
        "/v1/auth/login",
        json!({"email": "owner@example.com", "password": "a-good-password-1"}),
    )
    .await
    .expect(429, "rate_limited");
    // …while the owner, at home, gets in.
    let r = post_from(
        &app,
        "203.0.113.10",
        "/v1/auth/login",
        json!({"email": "owner@example.com", "password": "a-good-password-1"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn after_guessing_from_many_addresses_a_password_reset_lets_the_owner_back_in() {
    let app = TestApp::spawn_with(|env| {
        behind_proxy(env);
        env.insert("LOGIN_LIMIT_PER_ACCOUNT".into(), "3/1h".into());
    })
    .await;
    let owner = Person::random();
    app.signup("owner@example.com", "a-good-password-1", &owner)
        .await;
    let wrong = json!({"email": "owner@example.com", "password": "guess-guess-1"});
    for client in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        post_from(&app, client, "/v1/auth/login", wrong.clone())
            .await
            .expect(401, "invalid_credentials");
    }
    // The account-wide cap now holds everyone back, the owner included.
    let good = json!({"email": "owner@example.com", "password": "a-good-password-1"});
    let held = post_from(&app, "203.0.113.10", "/v1/auth/login", good)
        .await
        .expect(429, "rate_limited");
    assert!(
        held.body["message"].as_str().unwrap().contains("reset"),
        "{}",
        held.body
    );
    // Re-verifying their identity clears it.
    let id = app.verify("password_reset", &owner).await;
    app.post("/v1/auth/password-reset", None, reset_body(&id))
        .await
        .ok();
    let r = post_from(
        &app,
        "203.0.113.10",
        "/v1/auth/login",
        json!({"email": "owner@example.com", "password": "brand-new-password-2"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn two_ipv6_addresses_in_one_64_share_a_limit() {
    let app = TestApp::spawn_with(|env| {
        behind_proxy(env);
        env.insert("LOGIN_LIMIT_PER_IP".into(), "2/15m".into());
    })
    .await;
    let attempt = json!({"email": "nobody@example.com", "password": "whatever-1"});
    post_from(&app, "2001:db8:1:2::1", "/v1/auth/login", attempt.clone())
        .await
        .expect(401, "invalid_credentials");
    post_from(
        &app,
        "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
        "/v1/auth/login",
        attempt.clone(),
    )
    .await
    .expect(401, "invalid_credentials");
    post_from(
        &app,
        "2001:db8:1:2::ffff",
        "/v1/auth/login",
        attempt.clone(),
    )
    .await
    .expect(429, "rate_limited");
    // The next /64 is someone else.
    post_from(&app, "2001:db8:1:3::1", "/v1/auth/login", attempt)
        .await
        .expect(401, "invalid_credentials");
}

#[tokio::test]
async fn a_session_past_its_absolute_lifetime_can_neither_refresh_nor_call() {
    let app = TestApp::spawn().await;
    let (_, tokens) = app
        .signup("old@example.com", "a-good-password-1", &Person::random())
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    app.get("/v1/me", Some(access)).await.ok();
    // The session was opened 91 days ago (the default lifetime is 90 days), refreshed since. A
    // change made outside the service reaches its session cache by the triggers' notice.
    let notices = || {
        app.state
            .accounts
            .sessions
            .stats
            .notices
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = notices();
    sqlx::query(
        "UPDATE sessions SET created_at = now() - interval '91 days',
                             expires_at = now() + interval '20 days'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while notices() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "no notice of the change"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    app.post("/v1/auth/refresh", None, json!({"refresh_token": refresh}))
        .await
        .expect(401, "session_expired");
    app.get("/v1/me", Some(access))
        .await
        .expect(401, "session_expired");
}

#[tokio::test]
async fn a_refresh_never_extends_a_session_past_its_lifetime() {
    let app = TestApp::spawn_with(|env| {
        env.insert("SESSION_MAX_LIFETIME".into(), "1h".into());
    })
    .await;
    let (_, tokens) = app
        .signup("capped@example.com", "a-good-password-1", &Person::random())
        .await;
    assert!(tokens["refresh_expires_in"].as_u64().unwrap() <= 3600);
    let pair = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await
        .ok();
    assert!(
        pair["refresh_expires_in"].as_u64().unwrap() <= 3600,
        "{pair}"
    );
    let beyond: bool = sqlx::query_scalar(
        "SELECT bool_or(expires_at > created_at + interval '1 hour') FROM sessions",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(!beyond, "a session outlives its lifetime");
}
