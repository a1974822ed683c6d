//! Identity verification (product description §2, `docs/PRODUCT.md`): both the success and the failure paths.

use serde_json::json;

use crate::helpers::{Person, TestApp};

#[tokio::test]
async fn a_verified_person_continues_to_signup() {
    let app = TestApp::spawn().await;
    let person = Person::random();
    let id = app.start_verification("signup", &person).await;
    assert!(id.starts_with("idv_"));
    let code = app.dev_identity.code_for(&id).unwrap();
    let body = app
        .post(
            &format!("/v1/identity-verifications/{id}/confirm"),
            None,
            json!({"code": code}),
        )
        .await
        .ok();
    assert_eq!(body["status"], "verified");
    let signup = app
        .post("/v1/auth/signup", None, json!({"identity_verification_id": id, "email": "new@example.com", "password": "a-good-password-1"}))
        .await;
    assert_eq!(signup.status, 201);
    // Birth date and gender come from the verification.
    let user = &signup.body["user"];
    assert_eq!(user["verified_name"], person.name.as_str());
    assert!(user["birth_date"].as_str().unwrap().len() == 10);
    assert!(["male", "female"].contains(&user["gender"].as_str().unwrap()));
    assert_eq!(user["identity_verified"], true);
}

#[tokio::test]
async fn a_wrong_code_can_be_retried_until_attempts_run_out() {
    let app = TestApp::spawn().await;
    let id = app.start_verification("signup", &Person::random()).await;
    let code = app.dev_identity.code_for(&id).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let url = format!("/v1/identity-verifications/{id}/confirm");
    for left in (1..5).rev() {
        let r = app
            .post(&url, None, json!({"code": wrong}))
            .await
            .expect(403, "verification_code_invalid");
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{left} attempt")),
            "{}",
            r.body
        );
    }
    // The fifth wrong code ends it; even the right code no longer works: start again.
    app.post(&url, None, json!({"code": wrong}))
        .await
        .expect(410, "verification_attempts_exceeded");
    app.post(&url, None, json!({"code": code}))
        .await
        .expect(410, "verification_attempts_exceeded");
    app.post("/v1/auth/signup", None, json!({"identity_verification_id": id, "email": "x@example.com", "password": "a-good-password-1"}))
        .await
        .expect(410, "verification_failed");
}

#[tokio::test]
async fn an_expired_code_sends_the_person_back_to_the_start() {
    let app = TestApp::spawn_with(|env| {
        env.insert("IDENTITY_CODE_TTL".into(), "1s".into());
    })
    .await;
    let id = app.start_verification("signup", &Person::random()).await;
    let code = app.dev_identity.code_for(&id).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let url = format!("/v1/identity-verifications/{id}/confirm");
    app.post(&url, None, json!({"code": code}))
        .await
        .expect(410, "verification_expired");
    app.post(&url, None, json!({"code": code}))
        .await
        .expect(410, "verification_expired");
}

#[tokio::test]
async fn a_verification_is_used_once_and_only_for_its_purpose() {
    let app = TestApp::spawn().await;
    let person = Person::random();
    let id = app.start_verification("signup", &person).await;
    let signup = json!({"identity_verification_id": id, "email": "once@example.com", "password": "a-good-password-1"});
    app.post("/v1/auth/signup", None, signup.clone())
        .await
        .expect(409, "verification_not_confirmed");
    let code = app.dev_identity.code_for(&id).unwrap();
    app.post(
        &format!("/v1/identity-verifications/{id}/confirm"),
        None,
        json!({"code": code}),
    )
    .await
    .ok();
    app.post(
        &format!("/v1/identity-verifications/{id}/confirm"),
        None,
        json!({"code": code}),
    )
    .await
    .expect(409, "verification_already_confirmed");
    app.post(
        "/v1/auth/password-reset",
        None,
        json!({"identity_verification_id": id, "new_password": "another-password-2"}),
    )
    .await
    .expect(409, "verification_purpose_mismatch");
    assert_eq!(
        app.post("/v1/auth/signup", None, signup.clone())
            .await
            .status,
        201
    );
    app.post("/v1/auth/signup", None, signup)
        .await
        .expect(409, "verification_already_used");
    app.post(
        "/v1/identity-verifications/idv_nope/confirm",
        None,
        json!({"code": "123456"}),
    )
    .await
    .expect(404, "verification_not_found");
}

#[tokio::test]
async fn a_confirmed_verification_left_too_long_cannot_be_used() {
    let app = TestApp::spawn_with(|env| {
        env.insert("IDENTITY_USE_WINDOW".into(), "1s".into());
    })
    .await;
    let id = app.verify("signup", &Person::random()).await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    app.post("/v1/auth/signup", None, json!({"identity_verification_id": id, "email": "late@example.com", "password": "a-good-password-1"}))
        .await
        .expect(410, "verification_expired");
}

#[tokio::test]
async fn bad_details_are_refused_before_anything_is_sent() {
    let app = TestApp::spawn().await;
    let ok = json!({"purpose": "signup", "name": "김민수", "phone": "010-1234-5678", "identity_number": "9501011", "carrier": "KT"});
    for (field, value) in [
        ("phone", json!("02-123-4567")),
        ("identity_number", json!("9513011")),
        ("identity_number", json!("95010")),
        ("name", json!("")),
    ] {
        let mut body = ok.clone();
        body[field] = value;
        let r = app
            .post("/v1/identity-verifications", None, body)
            .await
            .expect(400, "validation_failed");
        assert!(r.body["message"].as_str().unwrap().starts_with(field));
    }
    let mut body = ok.clone();
    body["carrier"] = json!("VERIZON");
    app.post("/v1/identity-verifications", None, body)
        .await
        .expect(422, "invalid_body");
    let id = app.start_verification("signup", &Person::random()).await;
    app.post(
        &format!("/v1/identity-verifications/{id}/confirm"),
        None,
        json!({"code": "12ab"}),
    )
    .await
    .expect(400, "validation_failed");
}

#[tokio::test]
async fn sends_are_rate_limited_per_phone_and_per_ip() {
    let app = TestApp::spawn_with(|env| {
        env.insert("IDENTITY_SEND_LIMIT_PER_PHONE".into(), "2/1h".into());
        env.insert("IDENTITY_SEND_LIMIT_PER_IP".into(), "4/1h".into());
    })
    .await;
    let person = Person::random();
    app.start_verification("signup", &person).await;
    app.start_verification("signup", &person).await;
    let body = json!({"purpose": "signup", "name": person.name, "phone": person.phone, "identity_number": person.identity_number, "carrier": "SKT"});
    let r = app
        .post("/v1/identity-verifications", None, body)
        .await
        .expect(429, "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 3600);
    // Other phones from the same address run into the per-address limit.
    app.start_verification("signup", &Person::random()).await;
    app.start_verification("signup", &Person::random()).await;
    let p = Person::random();
    let body = json!({"purpose": "signup", "name": p.name, "phone": p.phone, "identity_number": p.identity_number, "carrier": "SKT"});
    app.post("/v1/identity-verifications", None, body)
        .await
        .expect(429, "rate_limited");
}
