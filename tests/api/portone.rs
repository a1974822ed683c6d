//! The PortOne V2 identity-verification client against a local stub speaking PortOne's wire
//! format, and the whole sign-up flow through it.

use std::sync::Arc;

use secrecy::SecretString;
use serde_json::json;
use truffle::providers::identity::{
    Carrier, DevIdentityVerifier, Gender, IdentityError, IdentityVerifier, PortOneIdentityVerifier,
    SendRequest,
};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::TestApp;

fn client(server: &MockServer) -> PortOneIdentityVerifier {
    PortOneIdentityVerifier::new(
        server.uri(),
        SecretString::from("portone-secret"),
        Some("store-abc".into()),
        "channel-key-sms".into(),
    )
}

fn send_request() -> SendRequest {
    SendRequest {
        name: "김민수".into(),
        phone: "01012345678".into(),
        identity_number: "9501011".into(),
        carrier: Carrier::LguMvno,
        ip: "203.0.113.7".parse().unwrap(),
    }
}

fn verified_body(ci: Option<&str>) -> serde_json::Value {
    json!({
        "identityVerification": {
            "status": "VERIFIED",
            "id": "idv_1",
            "channel": {"type": "LIVE", "id": "ch", "key": "channel-key-sms", "name": "sms", "pgProvider": "DANAL", "pgMerchantId": "m"},
            "verifiedCustomer": {
                "id": null, "name": "김민수", "operator": "LGU_MVNO", "phoneNumber": "01012345678",
                "birthDate": "1995-01-01", "gender": "MALE", "isForeigner": false, "ci": ci, "di": "DI-VALUE"
            },
            "requestedAt": "2026-11-21T00:00:00Z", "updatedAt": "2026-11-21T00:01:00Z",
            "statusChangedAt": "2026-11-21T00:01:00Z", "verifiedAt": "2026-11-21T00:01:00Z",
            "pgTxId": "tx-1", "pgRawResponse": "{}", "version": "V2"
        }
    })
}

#[tokio::test]
async fn send_posts_the_api_only_body_with_portone_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/identity-verifications/idv_1/send"))
        .and(header("authorization", "PortOne portone-secret"))
        .and(body_json(json!({
            "storeId": "store-abc",
            "channelKey": "channel-key-sms",
            "customer": {"name": "김민수", "phoneNumber": "01012345678", "identityNumber": "9501011", "ipAddress": "203.0.113.7"},
            "operator": "LGU_MVNO",
            "method": "SMS"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .send("idv_1", &send_request())
        .await
        .unwrap();
}

#[tokio::test]
async fn confirm_returns_the_verified_customer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/identity-verifications/idv_1/confirm"))
        .and(header("authorization", "PortOne portone-secret"))
        .and(body_json(json!({"otp": "123456", "storeId": "store-abc"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(verified_body(Some("CI-VALUE"))))
        .mount(&server)
        .await;
    let identity = client(&server).confirm("idv_1", "123456").await.unwrap();
    assert_eq!(identity.name, "김민수");
    assert_eq!(identity.ci.as_deref(), Some("CI-VALUE"));
    assert_eq!(identity.gender, Some(Gender::Male));
    assert_eq!(identity.birth_date.unwrap().to_string(), "1995-01-01");
    assert_eq!(identity.phone.as_deref(), Some("01012345678"));
}

#[tokio::test]
async fn portone_errors_map_to_ours() {
    let server = MockServer::start().await;
    let cases = [
        (
            "a",
            502,
            json!({"type": "PG_PROVIDER", "message": "PG사 오류", "pgCode": "E1", "pgMessage": "인증번호 불일치"}),
        ),
        (
            "b",
            404,
            json!({"type": "IDENTITY_VERIFICATION_NOT_FOUND", "message": "없음"}),
        ),
        (
            "c",
            409,
            json!({"type": "IDENTITY_VERIFICATION_ALREADY_VERIFIED", "message": "이미 인증됨"}),
        ),
        (
            "d",
            400,
            json!({"type": "INVALID_REQUEST", "message": "잘못된 요청"}),
        ),
        (
            "e",
            401,
            json!({"type": "UNAUTHORIZED", "message": "인증 실패"}),
        ),
        ("f", 503, json!("<html>down</html>")),
    ];
    for (id, status, body) in &cases {
        Mock::given(method("POST"))
            .and(path(format!("/identity-verifications/{id}/confirm")))
            .respond_with(ResponseTemplate::new(*status).set_body_json(body.clone()))
            .mount(&server)
            .await;
    }
    let c = client(&server);
    assert!(
        matches!(c.confirm("a", "1").await, Err(IdentityError::Rejected(m)) if m.contains("인증번호 불일치"))
    );
    assert!(matches!(
        c.confirm("b", "1").await,
        Err(IdentityError::NotFound)
    ));
    assert!(matches!(
        c.confirm("c", "1").await,
        Err(IdentityError::AlreadyVerified)
    ));
    assert!(matches!(
        c.confirm("d", "1").await,
        Err(IdentityError::InvalidRequest(_))
    ));
    assert!(matches!(
        c.confirm("e", "1").await,
        Err(IdentityError::Unavailable(_))
    ));
    assert!(matches!(
        c.confirm("f", "1").await,
        Err(IdentityError::Unavailable(_))
    ));
    // Nobody listening at all.
    let gone = PortOneIdentityVerifier::new(
        "http://127.0.0.1:9".into(),
        SecretString::from("s"),
        None,
        "k".into(),
    );
    assert!(matches!(
        gone.confirm("x", "1").await,
        Err(IdentityError::Unavailable(_))
    ));
}

/// The app configured for PortOne: sign-up through the stub, a wrong code, an outage.
#[tokio::test]
async fn signup_through_portone() {
    let server = MockServer::start().await;
    let db = Arc::new(crate::helpers::TestDb::new().await);
    let portone: Arc<dyn IdentityVerifier> = Arc::new(client(&server));
    let app = TestApp::spawn_full(
        db,
        |_| {},
        portone,
        Arc::new(DevIdentityVerifier::new()),
        None,
    )
    .await;

    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(
            r"^/identity-verifications/idv_[0-9a-f]{32}/send$",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    // The carrier accepts 654321 only.
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(r"/confirm$"))
        .and(body_json(json!({"otp": "654321", "storeId": "store-abc"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(verified_body(Some("CI-PORTONE"))))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(r"/confirm$"))
        .and(body_json(json!({"otp": "111111", "storeId": "store-abc"})))
        .respond_with(ResponseTemplate::new(502).set_body_json(json!({"type": "PG_PROVIDER", "message": "x", "pgCode": "0012", "pgMessage": "인증번호 오류"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(r"/confirm$"))
        .and(body_json(json!({"otp": "999999", "storeId": "store-abc"})))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .mount(&server)
        .await;

    let start = json!({"purpose": "signup", "name": "김민수", "phone": "010-1234-5678", "identity_number": "9501011", "carrier": "SKT"});
    let id = app
        .post("/v1/identity-verifications", None, start)
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("/v1/identity-verifications/{id}/confirm");
    app.post(&url, None, json!({"code": "111111"}))
        .await
        .expect(403, "verification_code_invalid");
    // An outage is not the person's fault: it costs no attempt.
    app.post(&url, None, json!({"code": "999999"}))
        .await
        .expect(502, "upstream_error");
    let attempts: i32 =
        sqlx::query_scalar("SELECT attempts FROM identity_verifications WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert_eq!(
        app.post(&url, None, json!({"code": "654321"})).await.ok()["status"],
        "verified"
    );
    let signup = app
        .post("/v1/auth/signup", None, json!({"identity_verification_id": id, "email": "portone@example.com", "password": "a-good-password-1"}))
        .await
        .ok();
    assert_eq!(signup["user"]["verified_name"], "김민수");
    assert_eq!(signup["user"]["gender"], "male");
    assert_eq!(signup["user"]["birth_date"], "1995-01-01");
}
