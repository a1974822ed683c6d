//! Roles: a buyer applies to sell; an admin approves or rejects.

use serde_json::json;

use reqwest::Method;

use crate::helpers::{Person, TestApp, business_number};

/// An application with a fresh business registration number (one number, one seller).
fn application() -> serde_json::Value {
    with_number(&business_number())
}

fn with_number(number: &str) -> serde_json::Value {
    json!({"business_name": "트러플 스니커즈", "business_registration_number": number})
}

#[tokio::test]
async fn a_buyer_applies_and_an_admin_approves() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer().await;
    let admin = app.admin().await;
    let filed = app
        .post("/v1/me/seller-application", Some(&buyer), application())
        .await;
    assert_eq!(filed.status, 201);
    let id = filed.body["id"].as_str().unwrap().to_owned();
    app.post("/v1/me/seller-application", Some(&buyer), application())
        .await
        .expect(409, "application_pending");
    assert_eq!(
        app.get("/v1/me/seller-application", Some(&buyer))
            .await
            .ok()["status"],
        "pending"
    );

    let page = app
        .get("/v1/admin/seller-applications?status=pending", Some(&admin))
        .await
        .ok();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let approved = app
        .post(
            &format!("/v1/admin/seller-applications/{id}/approve"),
            Some(&admin),
            json!({}),
        )
        .await
        .ok();
    assert_eq!(approved["status"], "approved");
    assert_eq!(app.get("/v1/me", Some(&buyer)).await.ok()["role"], "seller");
    app.post(
        &format!("/v1/admin/seller-applications/{id}/approve"),
        Some(&admin),
        json!({}),
    )
    .await
    .expect(409, "application_already_decided");
    app.post("/v1/me/seller-application", Some(&buyer), application())
        .await
        .expect(409, "already_seller");
}

#[tokio::test]
async fn rejection_needs_a_reason_and_allows_a_new_application() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer().await;
    let admin = app.admin().await;
    let id = app
        .post("/v1/me/seller-application", Some(&buyer), application())
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("/v1/admin/seller-applications/{id}/reject");
    app.post(&url, Some(&admin), json!({}))
        .await
        .expect(400, "validation_failed");
    let rejected = app
        .post(
            &url,
            Some(&admin),
            json!({"reason": "사업자등록증 확인 불가"}),
        )
        .await
        .ok();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(app.get("/v1/me", Some(&buyer)).await.ok()["role"], "buyer");
    assert_eq!(
        app.post("/v1/me/seller-application", Some(&buyer), application())
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn only_admins_decide_and_only_verified_buyers_apply() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer().await;
    let other = app.buyer().await;
    let admin = app.admin().await;
    let id = app
        .post("/v1/me/seller-application", Some(&buyer), application())
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Another buyer, or the applicant themselves, cannot decide or list.
    for token in [&buyer, &other] {
        app.post(
            &format!("/v1/admin/seller-applications/{id}/approve"),
            Some(token),
            json!({}),
        )
        .await
        .expect(403, "forbidden");
        app.get("/v1/admin/seller-applications", Some(token))
            .await
            .expect(403, "forbidden");
    }
    app.get("/v1/admin/seller-applications", None)
        .await
        .expect(401, "authentication_required");
    assert_eq!(app.get("/v1/me", Some(&buyer)).await.ok()["role"], "buyer");
    // An admin made by the CLI has no verified identity and is not a buyer.
    app.post("/v1/me/seller-application", Some(&admin), application())
        .await
        .expect(409, "already_seller");
    app.post(
        &format!(
            "/v1/admin/seller-applications/{}/approve",
            uuid::Uuid::new_v4()
        ),
        Some(&admin),
        json!({}),
    )
    .await
    .expect(404, "not_found");
}

#[tokio::test]
async fn applications_are_validated_and_paginated() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let buyer = app.buyer().await;
    app.post(
        "/v1/me/seller-application",
        Some(&buyer),
        json!({"business_name": "가게", "business_registration_number": "123-45-67890"}),
    )
    .await
    .expect(400, "validation_failed");
    app.get("/v1/me/seller-application", Some(&buyer))
        .await
        .expect(404, "not_found");
    for _ in 0..3 {
        let b = app.buyer().await;
        app.post("/v1/me/seller-application", Some(&b), application())
            .await
            .ok();
    }
    let first = app
        .get("/v1/admin/seller-applications?limit=2", Some(&admin))
        .await
        .ok();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/v1/admin/seller-applications?limit=2&cursor={cursor}"),
            Some(&admin),
        )
        .await
        .ok();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
}

#[tokio::test]
async fn one_business_number_belongs_to_one_seller() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let number = business_number();
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let person = Person::random();
    let (_, tokens) = app
        .signup("first-seller@example.com", "a-good-password-1", &person)
        .await;
    let first = tokens["access_token"].as_str().unwrap().to_owned();
    let id = app
        .post(
            "/v1/me/seller-application",
            Some(&first),
            with_number(&number),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // While it is pending, and once approved, nobody else may use the number, written any way.
    let second = app.buyer().await;
    app.post(
        "/v1/me/seller-application",
        Some(&second),
        with_number(&digits),
    )
    .await
    .expect(409, "business_number_taken");
    app.post(
        &format!("/v1/admin/seller-applications/{id}/approve"),
        Some(&admin),
        json!({}),
    )
    .await
    .ok();
    app.post(
        "/v1/me/seller-application",
        Some(&second),
        with_number(&number),
    )
    .await
    .expect(409, "business_number_taken");
    assert!(
        app.get("/v1/me/seller-application", Some(&second))
            .await
            .status
            .is_client_error(),
        "nothing was filed for the second buyer"
    );

    // A rejected application frees its number.
    let other = business_number();
    let third = app.buyer().await;
    let rejected = app
        .post(
            "/v1/me/seller-application",
            Some(&third),
            with_number(&other),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/v1/admin/seller-applications/{rejected}/reject"),
        Some(&admin),
        json!({"reason": "사업자등록증 확인 불가"}),
    )
    .await
    .ok();
    assert_eq!(
        app.post(
            "/v1/me/seller-application",
            Some(&second),
            with_number(&other)
        )
        .await
        .status,
        201
    );

    // A deleted seller's number is free again; their application is kept, closed.
    let deleted = app
        .call(
            Method::DELETE,
            "/v1/me",
            Some(&first),
            Some(json!({"password": "a-good-password-1"})),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let status: String =
        sqlx::query_scalar("SELECT status FROM seller_applications WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(status, "closed");
    let fourth = app.buyer().await;
    assert_eq!(
        app.post(
            "/v1/me/seller-application",
            Some(&fourth),
            with_number(&number)
        )
        .await
        .status,
        201
    );
}
