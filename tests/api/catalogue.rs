//! The catalogue: register → anchor → verify, versions, delisting, revocation, wallet signing,
//! and who may do what. Real PostgreSQL and a real anvil.

use alloy::primitives::{B256, hex};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use reqwest::Method;
use serde_json::{Value, json};
use truffle::chain::verify::verify_bundle;
use truffle::protocol::bundle::ProofBundle;

use crate::helpers::{TestApp, TestChain};

fn dunk() -> Value {
    json!({
        "name": "나이키 덩크 로우 레트로 판다",
        "brand": "Nike",
        "category": "sneakers",
        "edition_size": 500,
        "retail_price_krw": 129000,
        "description": "한정 수량 발매",
        "sku": "DD1391-100",
        "image_sha256s": ["ab".repeat(32)]
    })
}

async fn app_on(chain: &TestChain) -> TestApp {
    TestApp::spawn_with(|env| chain.configure(env)).await
}

async fn bundle(app: &TestApp, id: &str, version: Option<u32>) -> ProofBundle {
    let path = match version {
        Some(v) => format!("/v1/products/{id}/proof?version={v}"),
        None => format!("/v1/products/{id}/proof"),
    };
    serde_json::from_value(app.get(&path, None).await.ok()).unwrap()
}

#[tokio::test]
async fn register_anchor_and_verify_and_every_tampering_is_caught() {
    let chain = TestChain::start().await;
    let app = app_on(&chain).await;
    let (_, seller) = app.seller().await;
    let created = app.post("/v1/products", Some(&seller), dunk()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let product = created.body;
    let id = product["id"].as_str().unwrap();
    assert_eq!(product["chain"]["status"], "pending");
    assert_eq!(product["record"]["name"], "나이키 덩크 로우 레트로 판다");
    assert_eq!(product["record"]["version"], 1);
    assert_eq!(
        product["record"]["image_sha256s"][0],
        format!("0x{}", "ab".repeat(32))
    );
    app.get(&format!("/v1/products/{id}/proof"), None)
        .await
        .expect(409, "not_anchored_yet");
    // Two more products, so that the batch's tree has proof steps to tamper with.
    for name in ["덩크 하이", "조던 1"] {
        let mut body = dunk();
        body["name"] = json!(name);
        app.post("/v1/products", Some(&seller), body).await.ok();
    }

    let worker = app.worker();
    let pass = worker.pass(true).await.unwrap();
    assert_eq!((pass.batches_built, pass.roots_sent), (1, 1));
    // Mined (automine) but one confirmation short.
    let now = app.get(&format!("/v1/products/{id}"), None).await.ok();
    assert_eq!(now["chain"]["status"], "pending");
    worker.pass(false).await.unwrap();
    assert_eq!(
        app.get(&format!("/v1/products/{id}"), None).await.ok()["chain"]["status"],
        "anchored"
    );
    chain.mine(1).await;
    worker.pass(false).await.unwrap();
    let now = app.get(&format!("/v1/products/{id}"), None).await.ok();
    assert_eq!(now["chain"]["status"], "confirmed");
    assert!(now["chain"]["tx_hash"].as_str().unwrap().starts_with("0x"));

    let good = bundle(&app, id, None).await;
    let trust = chain.trust();
    let verdict = verify_bundle(&good, &trust).await;
    assert!(verdict.ok(), "{verdict:?}");

    let check = |mutate: &dyn Fn(&mut ProofBundle), failing: &'static str| {
        let mut b = good.clone();
        mutate(&mut b);
        (b, failing)
    };
    let flip = |h: &str| {
        let mut bytes = hex::decode(h).unwrap();
        bytes[31] ^= 1;
        format!("0x{}", hex::encode(bytes))
    };
    let cases = vec![
        check(&|b| b.record["edition_size"] = json!(5000), "content hash"),
        check(&|b| b.record["name"] = json!("가짜 덩크"), "content hash"),
        check(&|b| b.signature = flip(&b.signature), "seller signature"),
        check(&|b| b.proof[0] = flip(&b.proof[0]), "merkle proof"),
        check(&|b| b.root = flip(&b.root), "merkle proof"),
        check(&|b| b.chain_id = 1, "trusted registry"),
        // A later protocol version is refused, never read as this one.
        check(&|b| b.protocol = "truffle.product/9".into(), "protocols"),
        check(
            &|b| b.anchor_protocol = "truffle.anchor/2".into(),
            "protocols",
        ),
        check(
            &|b| b.contract_address = "0x000000000000000000000000000000000000dead".into(),
            "trusted registry",
        ),
        // Upper-case hex is refused, not read as the same value.
        check(
            &|b| b.content_hash = b.content_hash.to_uppercase(),
            "bundle form",
        ),
        // Typed data that is not the record's (a tool fed it would check another message).
        check(
            &|b| b.eip712["message"]["name"] = json!("가짜 덩크"),
            "typed data",
        ),
        check(&|b| b.eip712["domain"]["chainId"] = json!(1), "typed data"),
        // A record that breaks the record rules, though hash and signature were made over it.
        check(&|b| b.record["brand"] = json!(" Nike"), "record rules"),
        // The anchoring time must be the chain's.
        check(
            &|b| b.block_time = "2020-01-01T00:00:00Z".into(),
            "anchored on chain",
        ),
    ];
    for (b, failing) in cases {
        let verdict = verify_bundle(&b, &trust).await;
        assert!(!verdict.ok(), "tampering not caught: {failing}");
        assert!(
            verdict.failed().contains(&failing),
            "{failing} expected in {:?}",
            verdict.failed()
        );
    }
    // A verifier that trusts another chain id or registry refuses the genuine bundle.
    let mut other = trust.clone();
    other.chain_id = 1;
    assert!(
        verify_bundle(&good, &other)
            .await
            .failed()
            .contains(&"trusted registry")
    );
    // An anchoring not yet as deep as the verifier asks is not counted; a revocation would be.
    let mut deep = trust.clone();
    deep.confirmations = 10_000;
    assert_eq!(
        verify_bundle(&good, &deep).await.failed(),
        vec!["anchored on chain"]
    );
    let mut other = trust.clone();
    other.registry = alloy::primitives::Address::repeat_byte(7);
    let failed = verify_bundle(&good, &other).await.failed();
    assert!(
        failed.contains(&"trusted registry") && failed.contains(&"anchored on chain"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn merkle_steps_are_checked_in_a_multi_product_batch() {
    let chain = TestChain::start().await;
    let app = app_on(&chain).await;
    let (_, seller) = app.seller().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = dunk();
        body["name"] = json!(format!("덩크 {i}"));
        ids.push(
            app.post("/v1/products", Some(&seller), body).await.ok()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    app.anchor_and_confirm(&chain).await;
    let trust = chain.trust();
    let mut roots = std::collections::HashSet::new();
    for id in &ids {
        let b = bundle(&app, id, None).await;
        assert!(!b.proof.is_empty());
        roots.insert(b.root.clone());
        assert!(verify_bundle(&b, &trust).await.ok());
        for step in 0..b.proof.len() {
            let mut bad = b.clone();
            let mut bytes = hex::decode(&bad.proof[step]).unwrap();
            bytes[0] ^= 0x80;
            bad.proof[step] = format!("0x{}", hex::encode(bytes));
            assert_eq!(
                verify_bundle(&bad, &trust).await.failed(),
                vec!["merkle proof"]
            );
        }
    }
    assert_eq!(roots.len(), 1, "one batch, one root");
}

#[tokio::test]
async fn an_update_is_a_new_version_and_old_proofs_stay_valid() {
    let chain = TestChain::start().await;
    let app = app_on(&chain).await;
    let (_, seller) = app.seller().await;
    let id = app.post("/v1/products", Some(&seller), dunk()).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.anchor_and_confirm(&chain).await;
    let v1 = bundle(&app, &id, None).await;

    let updated = app
        .call(
            Method::PATCH,
            &format!("/v1/products/{id}"),
            Some(&seller),
            Some(json!({"retail_price_krw": 139000})),
        )
        .await
        .ok();
    assert_eq!(updated["version"], 2);
    assert_eq!(
        updated["record"]["previous_content_hash"],
        json!(v1.content_hash)
    );
    assert_eq!(updated["record"]["retail_price_krw"], 139000);
    assert_eq!(
        updated["record"]["name"], "나이키 덩크 로우 레트로 판다",
        "unchanged fields carry over"
    );
    assert_eq!(updated["chain"]["status"], "pending");
    app.anchor_and_confirm(&chain).await;

    let v2 = bundle(&app, &id, None).await;
    assert_ne!(v1.content_hash, v2.content_hash);
    assert_ne!(v1.root, v2.root);
    let again_v1 = bundle(&app, &id, Some(1)).await;
    assert_eq!(again_v1.content_hash, v1.content_hash);
    let trust = chain.trust();
    assert!(verify_bundle(&v1, &trust).await.ok());
    assert!(verify_bundle(&v2, &trust).await.ok());
}

#[tokio::test]
async fn delisting_hides_a_product_but_its_proof_stays_verifiable() {
    let chain = TestChain::start().await;
    let app = app_on(&chain).await;
    let (_, seller) = app.seller().await;
    let id = app.post("/v1/products", Some(&seller), dunk()).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.anchor_and_confirm(&chain).await;
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/v1/products/{id}"),
            Some(&seller),
            None
        )
        .await
        .status,
        204
    );
    app.get(&format!("/v1/products/{id}"), None)
        .await
        .expect(404, "not_found");
    assert!(
        app.get("/v1/products", None).await.ok()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let mine = app.get("/v1/me/products", Some(&seller)).await.ok();
    assert_eq!(mine["items"][0]["listed"], false);
    assert!(
        verify_bundle(&bundle(&app, &id, None).await, &chain.trust())
            .await
            .ok()
    );
}

#[tokio::test]
async fn revocation_reaches_the_chain_and_verification_reports_it() {
    let chain = TestChain::start().await;
    let app = app_on(&chain).await;
    let (_, seller) = app.seller().await;
    let id = app.post("/v1/products", Some(&seller), dunk()).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.anchor_and_confirm(&chain).await;
    let before = bundle(&app, &id, None).await;

    let revoked = app
        .post(
            &format!("/v1/products/{id}/revoke"),
            Some(&seller),
            json!({"reason": "판매자 키 유출"}),
        )
        .await
        .ok();
    assert_eq!(revoked["chain"]["status"], "revoked");
    app.post(
        &format!("/v1/products/{id}/revoke"),
        Some(&seller),
        json!({"reason": "again"}),
    )
    .await
    .expect(409, "already_revoked");
    app.call(
        Method::PATCH,
        &format!("/v1/products/{id}"),
        Some(&seller),
        Some(json!({"name": "x"})),
    )
    .await
    .expect(409, "product_revoked");
    let pass = app.worker().pass(false).await.unwrap();
    assert_eq!(pass.revocations_sent, 1);
    let hash: B256 = before.content_hash.parse().unwrap();
    assert!(chain.client.revoked_at(hash).await.unwrap() > 0);
    let verdict = verify_bundle(&before, &chain.trust()).await;
    assert_eq!(verdict.failed(), vec!["not revoked"]);
    chain.mine(1).await;
    assert_eq!(
        app.worker()
            .pass(false)
            .await
            .unwrap()
            .revocations_confirmed,
        1
    );
}

#[tokio::test]
async fn a_wallet_seller_signs_with_their_own_key() {
    let chain = TestChain::start().await;
    let app = app_on(&chain).await;
    let (_, seller) = app.seller().await;
    let wallet = PrivateKeySigner::random();
    let info = app
        .call(
            Method::PUT,
            "/v1/me/signing-key",
            Some(&seller),
            Some(json!({"mode": "wallet", "address": wallet.address().to_string()})),
        )
        .await
        .ok();
    assert_eq!(info["address"], format!("{:#x}", wallet.address()));
    let product = app.post("/v1/products", Some(&seller), dunk()).await.ok();
    let id = product["id"].as_str().unwrap();
    assert_eq!(product["chain"]["status"], "awaiting_signature");
    assert_eq!(
        product["record"]["seller_address"],
        format!("{:#x}", wallet.address())
    );
    let typed: alloy::dyn_abi::TypedData =
        serde_json::from_value(product["typed_data"].clone()).unwrap();
    let digest = typed.eip712_signing_hash().unwrap();
    // Nothing is anchored until the seller signs.
    app.worker().pass(true).await.unwrap();
    app.get(&format!("/v1/products/{id}/proof"), None)
        .await
        .expect(409, "not_anchored_yet");

    // A signature by another key, and the malleable high-s twin of the right one, are refused.
    let stranger = PrivateKeySigner::random().sign_hash_sync(&digest).unwrap();
    let url = format!("/v1/products/{id}/signature");
    app.post(
        &url,
        Some(&seller),
        json!({"version": 1, "signature": format!("0x{}", hex::encode(stranger.as_bytes()))}),
    )
    .await
    .expect(400, "signature_invalid");
    let good = wallet.sign_hash_sync(&digest).unwrap().normalized_s();
    let n = alloy::primitives::U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let twin = alloy::primitives::Signature::new(good.r(), n - good.s(), !good.v());
    app.post(
        &url,
        Some(&seller),
        json!({"version": 1, "signature": format!("0x{}", hex::encode(twin.as_bytes()))}),
    )
    .await
    .expect(400, "signature_invalid");
    let signed = app
        .post(
            &url,
            Some(&seller),
            json!({"version": 1, "signature": format!("0x{}", hex::encode(good.as_bytes()))}),
        )
        .await
        .ok();
    assert_eq!(signed["chain"]["status"], "pending");
    app.post(
        &url,
        Some(&seller),
        json!({"version": 1, "signature": format!("0x{}", hex::encode(good.as_bytes()))}),
    )
    .await
    .expect(409, "signature_not_awaited");
    app.anchor_and_confirm(&chain).await;
    assert!(
        verify_bundle(&bundle(&app, id, None).await, &chain.trust())
            .await
            .ok()
    );
}

#[tokio::test]
async fn only_sellers_write_and_only_the_owner_or_an_admin_changes_a_product() {
    let chain = TestChain::start().await;
    let app = app_on(&chain).await;
    let (_, seller) = app.seller().await;
    let (_, other_seller) = app.seller().await;
    let buyer = app.buyer().await;
    let admin = app.admin().await;
    app.post("/v1/products", None, dunk())
        .await
        .expect(401, "authentication_required");
    app.post("/v1/products", Some(&buyer), dunk())
        .await
        .expect(403, "seller_required");
    app.post("/v1/products", Some(&admin), dunk())
        .await
        .expect(403, "seller_required");
    let id = app.post("/v1/products", Some(&seller), dunk()).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("/v1/products/{id}");
    app.call(
        Method::PATCH,
        &url,
        Some(&other_seller),
        Some(json!({"name": "탈취"})),
    )
    .await
    .expect(403, "forbidden");
    app.call(
        Method::PATCH,
        &url,
        Some(&buyer),
        Some(json!({"name": "탈취"})),
    )
    .await
    .expect(403, "seller_required");
    app.call(Method::DELETE, &url, Some(&other_seller), None)
        .await
        .expect(403, "forbidden");
    app.call(Method::DELETE, &url, Some(&buyer), None)
        .await
        .expect(403, "forbidden");
    app.post(
        &format!("{url}/revoke"),
        Some(&other_seller),
        json!({"reason": "x"}),
    )
    .await
    .expect(403, "forbidden");
    app.post(
        &format!("{url}/revoke"),
        Some(&buyer),
        json!({"reason": "x"}),
    )
    .await
    .expect(403, "forbidden");
    app.get("/v1/me/signing-key", Some(&buyer))
        .await
        .expect(403, "seller_required");
    assert_eq!(
        app.get(&url, None).await.ok()["version"],
        1,
        "nothing changed"
    );
    // An admin may revoke any product (a counterfeit report).
    let revoked = app
        .post(
            &format!("{url}/revoke"),
            Some(&admin),
            json!({"reason": "위조품 신고"}),
        )
        .await
        .ok();
    assert_eq!(revoked["chain"]["status"], "revoked");
}

#[tokio::test]
async fn product_input_is_validated_and_lists_paginate() {
    let chain = TestChain::start().await;
    let app = app_on(&chain).await;
    let (seller_id, seller) = app.seller().await;
    for (field, value) in [
        ("edition_size", json!(0)),
        ("name", json!("")),
        ("image_sha256s", json!(["not-a-hash"])),
        ("brand", json!("x".repeat(101))),
    ] {
        let mut body = dunk();
        body[field] = value;
        app.post("/v1/products", Some(&seller), body)
            .await
            .expect(400, "validation_failed");
    }
    let mut body = dunk();
    body["edition_size"] = json!(-1);
    app.post("/v1/products", Some(&seller), body)
        .await
        .expect(422, "invalid_body");
    let mut body = dunk();
    body["retail_price_krw"] = json!("129000");
    app.post("/v1/products", Some(&seller), body)
        .await
        .expect(422, "invalid_body");

    for i in 0..3 {
        let mut body = dunk();
        body["brand"] = json!(if i == 0 { "Ader Error" } else { "Nike" });
        // Hangul in decomposed form is stored composed (NFC).
        body["name"] = json!(format!("\u{1112}\u{1161}\u{11AB}정판 {i}"));
        app.post("/v1/products", Some(&seller), body).await.ok();
    }
    let page = app.get("/v1/products?limit=2", None).await.ok();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        page["items"][0]["record"]["name"], "한정판 2",
        "newest first, NFC"
    );
    let next = app
        .get(
            &format!(
                "/v1/products?limit=2&cursor={}",
                page["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await
        .ok();
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert!(next["next_cursor"].is_null());
    assert_eq!(
        app.get("/v1/products?brand=Nike", None).await.ok()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.get(&format!("/v1/products?seller_id={seller_id}"), None)
            .await
            .ok()["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    app.get("/v1/products?limit=1000", None)
        .await
        .expect(400, "validation_failed");
    app.get("/v1/products/not-a-uuid", None)
        .await
        .expect(400, "invalid_path_parameter");
    app.get(&format!("/v1/products/{}", uuid::Uuid::new_v4()), None)
        .await
        .expect(404, "not_found");
}

/// The `truffle verify` command itself, run as a third party would: no database, no .env, only
/// the RPC URL and the chain id and registry it trusts.
#[tokio::test]
async fn the_verify_command_accepts_a_genuine_bundle_and_refuses_a_forged_one() {
    let chain = TestChain::start().await;
    let app = app_on(&chain).await;
    let (_, seller) = app.seller().await;
    let id = app.post("/v1/products", Some(&seller), dunk()).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.anchor_and_confirm(&chain).await;
    let dir = std::env::temp_dir().join(format!("truffle-verify-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = bundle(&app, &id, None).await;
    let mut forged = good.clone();
    forged.record["retail_price_krw"] = json!(1000);
    let run = |b: &ProofBundle, name: &str| {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec(b).unwrap()).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_truffle"))
            .current_dir(&dir)
            .env_clear()
            .args([
                "verify",
                path.to_str().unwrap(),
                "--rpc-url",
                &chain.rpc,
                "--chain-id",
                "31337",
                "--registry",
            ])
            .arg(format!("{:#x}", chain.registry))
            .output()
            .unwrap()
    };
    let ok = run(&good, "good.json");
    let text = String::from_utf8_lossy(&ok.stdout).to_string();
    assert!(ok.status.success(), "{text}");
    assert!(text.contains("VERIFIED: signed by"), "{text}");
    let bad = run(&forged, "forged.json");
    let text = String::from_utf8_lossy(&bad.stdout).to_string();
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(text.contains("NOT VERIFIED: failed content hash"), "{text}");
    // A record that holds a key twice (a forged name first, the genuine one last, so that a
    // parser keeping the last value sees the signed record) is refused before any check.
    let genuine = serde_json::to_string(&good).unwrap();
    let twice = genuine.replacen("\"record\":{", "\"record\":{\"name\":\"가짜 덩크\",", 1);
    assert_ne!(twice, genuine);
    let path = dir.join("twice.json");
    std::fs::write(&path, &twice).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_truffle"))
        .current_dir(&dir)
        .env_clear()
        .args(["verify", path.to_str().unwrap(), "--rpc-url", &chain.rpc])
        .args(["--chain-id", "31337", "--registry"])
        .arg(format!("{:#x}", chain.registry))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("appears twice"), "{stderr}");
    // The confirmation count is the verifier's: two pass here (the batch is two deep), a
    // thousand do not, and zero is not a count.
    let path = dir.join("good.json");
    let with = |confirmations: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_truffle"))
            .current_dir(&dir)
            .env_clear()
            .args(["verify", path.to_str().unwrap(), "--rpc-url", &chain.rpc])
            .args(["--chain-id", "31337", "--confirmations", confirmations])
            .arg("--registry")
            .arg(format!("{:#x}", chain.registry))
            .output()
            .unwrap()
    };
    assert_eq!(with("2").status.code(), Some(0));
    let deep = with("1000");
    let text = String::from_utf8_lossy(&deep.stdout).to_string();
    assert_eq!(deep.status.code(), Some(1), "{text}");
    assert!(
        text.contains("NOT VERIFIED: failed anchored on chain"),
        "{text}"
    );
    assert_eq!(with("0").status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
