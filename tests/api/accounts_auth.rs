//! Sign-up, login, refresh, logout, password reset, and forged tokens.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{JWT_KID, JWT_SECRET, Person, TestApp};

fn access(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

fn refresh_token(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn one_person_gets_one_account() {
    let app = TestApp::spawn().await;
    let person = Person::random();
    app.signup("first@example.com", "a-good-password-1", &person)
        .await;
    // Same person, another email, even another phone: the CI is the same.
    let mut again = person.clone();
    again.phone = "01099998888".into();
    let id = app.verify("signup", &again).await;
    app.post("/v1/auth/signup", None, json!({"identity_verification_id": id, "email": "second@example.com", "password": "a-good-password-1"}))
        .await
        .expect(409, "person_already_registered");
    // The refused sign-up did not use up the verification or create anything.
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn an_email_belongs_to_one_account() {
    let app = TestApp::spawn().await;
    app.signup("same@example.com", "a-good-password-1", &Person::random())
        .await;
    let id = app.verify("signup", &Person::random()).await;
    app.post("/v1/auth/signup", None, json!({"identity_verification_id": id, "email": "SAME@example.com", "password": "a-good-password-1"}))
        .await
        .expect(409, "email_taken");
}

#[tokio::test]
async fn signup_checks_its_fields() {
    let app = TestApp::spawn().await;
    let id = app.verify("signup", &Person::random()).await;
    for (email, password, field) in [
        ("not-an-email", "a-good-password-1", "email"),
        ("ok@example.com", "short", "password"),
        ("ok@example.com", "password1", "password"),
    ] {
        let r = app
            .post(
                "/v1/auth/signup",
                None,
                json!({"identity_verification_id": id, "email": email, "password": password}),
            )
            .await
            .expect(400, "validation_failed");
        assert!(
            r.body["message"].as_str().unwrap().starts_with(field),
            "{}",
            r.body
        );
    }
}

#[tokio::test]
async fn login_works_and_a_wrong_password_does_not() {
    let app = TestApp::spawn().await;
    app.signup("minsu@example.com", "a-good-password-1", &Person::random())
        .await;
    let tokens = app.login("Minsu@Example.com", "a-good-password-1").await;
    let me = app.get("/v1/me", Some(&access(&tokens))).await.ok();
    assert_eq!(me["email"], "minsu@example.com");
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": "minsu@example.com", "password": "wrong-password-1"}),
    )
    .await
    .expect(401, "invalid_credentials");
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": "nobody@example.com", "password": "a-good-password-1"}),
    )
    .await
    .expect(401, "invalid_credentials");
}

#[tokio::test]
async fn login_attempts_are_limited_per_account_and_shared_by_replicas() {
    let app = TestApp::spawn_with(|env| {
        env.insert("LOGIN_LIMIT_PER_ACCOUNT".into(), "3/15m".into());
    })
    .await;
    let replica = TestApp::spawn_on(app.database(), |env| {
        env.insert("LOGIN_LIMIT_PER_ACCOUNT".into(), "3/15m".into());
    })
    .await;
    app.signup("target@example.com", "a-good-password-1", &Person::random())
        .await;
    let wrong = json!({"email": "target@example.com", "password": "guess-guess-1"});
    app.post("/v1/auth/login", None, wrong.clone())
        .await
        .expect(401, "invalid_credentials");
    replica
        .post("/v1/auth/login", None, wrong.clone())
        .await
        .expect(401, "invalid_credentials");
    app.post("/v1/auth/login", None, wrong.clone())
        .await
        .expect(401, "invalid_credentials");
    // The fourth attempt, on either replica, is refused before the password is even checked.
    let r = replica
        .post(
            "/v1/auth/login",
            None,
            json!({"email": "target@example.com", "password": "a-good-password-1"}),
        )
        .await
        .expect(429, "rate_limited");
    assert!(
        r.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn login_attempts_are_limited_per_ip_and_x_forwarded_for_is_trusted_only_from_proxies() {
    let app = TestApp::spawn_with(|env| {
        env.insert("LOGIN_LIMIT_PER_IP".into(), "2/15m".into());
    })
    .await;
    let attempt = |xff: &'static str| {
        app.http
            .post(format!("{}/v1/auth/login", app.base))
            .header("x-forwarded-for", xff)
            .json(&json!({"email": "nobody@example.com", "password": "whatever-1"}))
            .send()
    };
    // Not behind a trusted proxy: a forged X-Forwarded-For does not give a fresh budget.
    assert_eq!(attempt("1.1.1.1").await.unwrap().status(), 401);
    assert_eq!(attempt("2.2.2.2").await.unwrap().status(), 401);
    assert_eq!(attempt("3.3.3.3").await.unwrap().status(), 429);

    let proxied = TestApp::spawn_with(|env| {
        env.insert("LOGIN_LIMIT_PER_IP".into(), "2/15m".into());
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1".into());
    })
    .await;
    let attempt = |xff: &'static str| {
        proxied
            .http
            .post(format!("{}/v1/auth/login", proxied.base))
            .header("x-forwarded-for", xff)
            .json(&json!({"email": "nobody@example.com", "password": "whatever-1"}))
            .send()
    };
    // Behind the trusted proxy, each client address has its own budget.
    assert_eq!(attempt("198.51.100.1").await.unwrap().status(), 401);
    assert_eq!(attempt("198.51.100.1").await.unwrap().status(), 401);
    assert_eq!(attempt("198.51.100.1").await.unwrap().status(), 429);
    assert_eq!(attempt("198.51.100.2").await.unwrap().status(), 401);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_ends_the_session() {
    let app = TestApp::spawn().await;
    let (_, first) = app
        .signup("rot@example.com", "a-good-password-1", &Person::random())
        .await;
    let second = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh_token(&first)}),
        )
        .await
        .ok();
    assert_ne!(refresh_token(&first), refresh_token(&second));
    let third = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh_token(&second)}),
        )
        .await
        .ok();
    app.get("/v1/me", Some(&access(&third))).await.ok();

    // Someone replays the first token: the whole session ends, including the newest tokens.
    app.post(
        "/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh_token(&first)}),
    )
    .await
    .expect(401, "refresh_token_reused");
    app.get("/v1/me", Some(&access(&third)))
        .await
        .expect(401, "session_revoked");
    app.post(
        "/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh_token(&third)}),
    )
    .await
    .expect(401, "session_revoked");
    app.post(
        "/v1/auth/refresh",
        None,
        json!({"refresh_token": "made-up"}),
    )
    .await
    .expect(401, "invalid_refresh_token");
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = TestApp::spawn().await;
    let (_, tokens) = app
        .signup("out@example.com", "a-good-password-1", &Person::random())
        .await;
    let other = app.login("out@example.com", "a-good-password-1").await;
    let token = access(&tokens);
    assert_eq!(
        app.call(Method::POST, "/v1/auth/logout", Some(&token), None)
            .await
            .status,
        204
    );
    app.get("/v1/me", Some(&token))
        .await
        .expect(401, "session_revoked");
    app.post(
        "/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh_token(&tokens)}),
    )
    .await
    .expect(401, "session_revoked");
    // Only that session: the other device stays logged in.
    app.get("/v1/me", Some(&access(&other))).await.ok();
    app.call(Method::POST, "/v1/auth/logout", None, None)
        .await
        .expect(401, "authentication_required");
}

fn forge(claims: Value, key: &[u8], kid: Option<&str>, alg: Algorithm) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(key)).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn forged_expired_and_tampered_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let (user, tokens) = app
        .signup("forge@example.com", "a-good-password-1", &Person::random())
        .await;
    let real = access(&tokens);
    let now = chrono::Utc::now().timestamp();
    let parts: Vec<&str> = real.split('.').collect();
    let claims: Value = {
        use base64::Engine as _;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts[1])
                .unwrap(),
        )
        .unwrap()
    };
    let sid = claims["sid"].clone();
    let good_claims = json!({"sub": user["id"], "sid": sid, "iss": "truffle", "aud": "truffle-api", "iat": now, "exp": now + 600});

    // Sanity: a token we sign the server's way works, so the refusals below are about the forgery.
    let own = forge(
        good_claims.clone(),
        &JWT_SECRET,
        Some(JWT_KID),
        Algorithm::HS256,
    );
    app.get("/v1/me", Some(&own)).await.ok();

    // alg "none": header and claims, no signature.
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT","kid":"test1"}"#),
        b64(good_claims.to_string().as_bytes())
    );
    app.get("/v1/me", Some(&none))
        .await
        .expect(401, "invalid_token");
    // Signed with another key, under our key id and under an unknown one.
    app.get(
        "/v1/me",
        Some(&forge(
            good_claims.clone(),
            &[1u8; 32],
            Some(JWT_KID),
            Algorithm::HS256,
        )),
    )
    .await
    .expect(401, "invalid_token");
    app.get(
        "/v1/me",
        Some(&forge(
            good_claims.clone(),
            &JWT_SECRET,
            Some("other"),
            Algorithm::HS256,
        )),
    )
    .await
    .expect(401, "invalid_token");
    app.get(
        "/v1/me",
        Some(&forge(
            good_claims.clone(),
            &JWT_SECRET,
            None,
            Algorithm::HS256,
        )),
    )
    .await
    .expect(401, "invalid_token");
    // Another algorithm with the same secret.
    app.get(
        "/v1/me",
        Some(&forge(
            good_claims.clone(),
            &JWT_SECRET,
            Some(JWT_KID),
            Algorithm::HS512,
        )),
    )
    .await
    .expect(401, "invalid_token");
    // Tampered claims: another user's id in a real token's body, signature kept.
    let mut evil = claims.clone();
    evil["sub"] = json!(uuid::Uuid::new_v4());
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(evil.to_string().as_bytes()),
        parts[2]
    );
    app.get("/v1/me", Some(&tampered))
        .await
        .expect(401, "invalid_token");
    // Expired.
    let mut old = good_claims.clone();
    old["exp"] = json!(now - 120);
    app.get(
        "/v1/me",
        Some(&forge(old, &JWT_SECRET, Some(JWT_KID), Algorithm::HS256)),
    )
    .await
    .expect(401, "token_expired");
    // Validly signed but naming a session that does not exist.
    let mut ghost = good_claims.clone();
    ghost["sid"] = json!(uuid::Uuid::new_v4());
    app.get(
        "/v1/me",
        Some(&forge(ghost, &JWT_SECRET, Some(JWT_KID), Algorithm::HS256)),
    )
    .await
    .expect(401, "session_revoked");
    // Wrong audience and issuer.
    let mut aud = good_claims.clone();
    aud["aud"] = json!("someone-else");
    app.get(
        "/v1/me",
        Some(&forge(aud, &JWT_SECRET, Some(JWT_KID), Algorithm::HS256)),
    )
    .await
    .expect(401, "invalid_token");
    app.get("/v1/me", Some("garbage"))
        .await
        .expect(401, "invalid_token");
    app.http
        .get(format!("{}/v1/me", app.base))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .map(|r| assert_eq!(r.status(), 401))
        .unwrap();
}

#[tokio::test]
async fn a_new_signing_key_keeps_everyone_logged_in_until_the_old_one_is_retired() {
    use base64::Engine as _;
    let b = |k: &[u8]| base64::engine::general_purpose::STANDARD.encode(k);
    let app = TestApp::spawn().await;
    let (_, tokens) = app
        .signup("keys@example.com", "a-good-password-1", &Person::random())
        .await;
    let old_token = access(&tokens);
    let db = app.database();
    app.stop().await;

    // Restart with a second key that now signs; the first still checks.
    let rotated = TestApp::spawn_on(db.clone(), |env| {
        env.insert(
            "JWT_KEYS".into(),
            format!("{JWT_KID}={},new={}", b(&JWT_SECRET), b(&[8u8; 32])),
        );
        env.insert("JWT_ACTIVE_KEY".into(), "new".into());
    })
    .await;
    rotated.get("/v1/me", Some(&old_token)).await.ok();
    let new_tokens = rotated
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh_token(&tokens)}),
        )
        .await
        .ok();
    rotated.stop().await;

    // Retire the first key: its tokens stop, the new key's keep working.
    let retired = TestApp::spawn_on(db, |env| {
        env.insert("JWT_KEYS".into(), format!("new={}", b(&[8u8; 32])));
    })
    .await;
    retired
        .get("/v1/me", Some(&old_token))
        .await
        .expect(401, "invalid_token");
    retired.get("/v1/me", Some(&access(&new_tokens))).await.ok();
}

#[tokio::test]
async fn password_reset_by_identity_revokes_every_session() {
    let app = TestApp::spawn().await;
    let person = Person::random();
    let (_, tokens) = app
        .signup("forgot@example.com", "a-good-password-1", &person)
        .await;
    let id = app.verify("password_reset", &person).await;
    let r = app
        .post(
            "/v1/auth/password-reset",
            None,
            json!({"identity_verification_id": id, "new_password": "brand-new-password-2"}),
        )
        .await
        .ok();
    assert_eq!(r["email_hint"], "f***t@example.com");
    app.get("/v1/me", Some(&access(&tokens)))
        .await
        .expect(401, "session_revoked");
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": "forgot@example.com", "password": "a-good-password-1"}),
    )
    .await
    .expect(401, "invalid_credentials");
    app.login("forgot@example.com", "brand-new-password-2")
        .await;

    // A verified person without an account cannot reset anything.
    let stranger = app.verify("password_reset", &Person::random()).await;
    app.post(
        "/v1/auth/password-reset",
        None,
        json!({"identity_verification_id": stranger, "new_password": "brand-new-password-2"}),
    )
    .await
    .expect(409, "account_not_found_for_person");
}

/// Replica `b` answers `GET /v1/me` from its session cache: the listener is up, and a second
/// call is a hit.
async fn warm(b: &TestApp, token: &str) {
    let sessions = &b.state.accounts.sessions;
    b.get("/v1/me", Some(token)).await.ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !sessions.is_listening() {
        assert!(
            std::time::Instant::now() < deadline,
            "the session listener never connected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    b.get("/v1/me", Some(token)).await.ok();
    let hits = sessions
        .stats
        .hits
        .load(std::sync::atomic::Ordering::Relaxed);
    b.get("/v1/me", Some(token)).await.ok();
    assert_eq!(
        sessions
            .stats
            .hits
            .load(std::sync::atomic::Ordering::Relaxed),
        hits + 1,
        "the session came from the cache"
    );
}

/// Polls replica `b` until it refuses `token` with `code`; how long that took (the bound is
/// only there so that a broken invalidation fails instead of hanging).
async fn refused_within(b: &TestApp, token: &str, code: &str) -> std::time::Duration {
    let start = std::time::Instant::now();
    loop {
        let r = b.get("/v1/me", Some(token)).await;
        if r.status == 401 {
            assert_eq!(r.code(), code);
            return start.elapsed();
        }
        assert_eq!(r.status, 200);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "replica b still takes the ended session"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn a_session_ended_through_one_replica_ends_on_the_other() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(a.database(), |_| {}).await;
    let mut reach = Vec::new();

    // Logout.
    let (_, tokens) = a
        .signup("r-out@example.com", "a-good-password-1", &Person::random())
        .await;
    let token = access(&tokens);
    warm(&b, &token).await;
    a.call(Method::POST, "/v1/auth/logout", Some(&token), None)
        .await;
    reach.push((
        "logout",
        refused_within(&b, &token, "session_revoked").await,
    ));

    // A password change ends the other sessions, not the one that changed it.
    let (_, first) = a
        .signup("r-pw@example.com", "a-good-password-1", &Person::random())
        .await;
    let second = a.login("r-pw@example.com", "a-good-password-1").await;
    warm(&b, &access(&first)).await;
    warm(&b, &access(&second)).await;
    a.call(
        Method::PUT,
        "/v1/me/password",
        Some(&access(&first)),
        Some(
            json!({"current_password": "a-good-password-1", "new_password": "another-password-2"}),
        ),
    )
    .await;
    reach.push((
        "password change",
        refused_within(&b, &access(&second), "session_revoked").await,
    ));
    b.get("/v1/me", Some(&access(&first))).await.ok();

    // A refresh token used twice ends its session everywhere.
    let (_, tokens) = a
        .signup(
            "r-reuse@example.com",
            "a-good-password-1",
            &Person::random(),
        )
        .await;
    let newer = a
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh_token(&tokens)}),
        )
        .await
        .ok();
    warm(&b, &access(&newer)).await;
    a.post(
        "/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh_token(&tokens)}),
    )
    .await
    .expect(401, "refresh_token_reused");
    reach.push((
        "refresh reuse",
        refused_within(&b, &access(&newer), "session_revoked").await,
    ));

    // Deleting the account.
    let (_, tokens) = a
        .signup("r-del@example.com", "a-good-password-1", &Person::random())
        .await;
    let token = access(&tokens);
    warm(&b, &token).await;
    assert_eq!(
        a.call(
            Method::DELETE,
            "/v1/me",
            Some(&token),
            Some(json!({"password": "a-good-password-1"}))
        )
        .await
        .status,
        204
    );
    reach.push((
        "deletion",
        refused_within(&b, &token, "session_revoked").await,
    ));

    // On the replica that made the change, the very next request is refused.
    let (_, tokens) = a
        .signup(
            "r-local@example.com",
            "a-good-password-1",
            &Person::random(),
        )
        .await;
    let token = access(&tokens);
    warm(&a, &token).await;
    a.call(Method::POST, "/v1/auth/logout", Some(&token), None)
        .await;
    a.get("/v1/me", Some(&token))
        .await
        .expect(401, "session_revoked");
    eprintln!("a change reached the other replica after: {reach:?}");
}
