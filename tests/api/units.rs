//! Units: issuance, who may issue and print labels, the label sheet, both URL forms, and a
//! unit's proof checked link by link against a real anvil.

use alloy::primitives::{B256, hex};
use serde_json::{Value, json};
use truffle::chain::verify::verify_unit;
use truffle::protocol::bundle::ProofBundle;
use truffle::protocol::unit::{self, UnitProof, UnitRecord, UnitsRecord};
use truffle::protocol::{jcs, merkle, product};

use crate::helpers::{TestApp, TestChain};

const GTIN: &str = "09521234543213";

fn edition_of(n: u32) -> Value {
    json!({
        "name": "나이키 덩크 로우 레트로 판다",
        "brand": "Nike",
        "category": "sneakers",
        "edition_size": n,
        "retail_price_krw": 129000,
        "description": "",
        "image_sha256s": []
    })
}

/// A product of an edition of `n` by `seller`; its id.
async fn product_of(app: &TestApp, seller: &str, n: u32) -> String {
    app.post("/v1/products", Some(seller), edition_of(n))
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The sheet's SVG text (the JSON helpers read JSON only).
async fn sheet(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let res = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, res.text().await.unwrap())
}

fn h(s: &str) -> merkle::Hash {
    s.parse::<B256>().unwrap().0
}

#[tokio::test]
async fn units_are_issued_labelled_looked_up_and_proven() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (_, seller) = app.seller().await;
    let (_, stranger) = app.seller().await;
    let buyer = app.buyer().await;
    let id = product_of(&app, &seller, 5).await;
    let issue = format!("/v1/products/{id}/units");

    // Who may issue: the product's seller only; a GTIN must have its check digit.
    app.post(&issue, None, json!({}))
        .await
        .expect(401, "authentication_required");
    app.post(&issue, Some(&buyer), json!({}))
        .await
        .expect(403, "forbidden");
    app.post(&issue, Some(&stranger), json!({}))
        .await
        .expect(403, "forbidden");
    app.post(&issue, Some(&seller), json!({"gtin": "09521234543214"}))
        .await
        .expect(400, "validation_failed");
    let set = app
        .post(&issue, Some(&seller), json!({"gtin": GTIN}))
        .await
        .ok();
    assert_eq!(set["edition_size"], 5);
    assert_eq!(set["gtin"], GTIN);
    assert_eq!(set["chain"], "pending");
    assert_eq!(set["record"]["protocol"], "truffle.units/1");
    app.post(&issue, Some(&seller), json!({}))
        .await
        .expect(409, "units_already_issued");
    assert_eq!(
        app.get(&issue, Some(&seller)).await.ok()["content_hash"],
        set["content_hash"]
    );
    app.get(&issue, Some(&stranger))
        .await
        .expect(403, "forbidden");

    // The label sheet: the seller only, one QR code per unit, GS1 Digital Links.
    let labels = format!("/v1/products/{id}/units/labels.svg");
    let (status, kind, svg) = sheet(&app, &labels, &seller).await;
    assert_eq!(status, 200, "{svg}");
    assert!(kind.starts_with("image/svg+xml"), "{kind}");
    assert_eq!(svg.matches("<path d=\"M").count(), 5);
    assert!(svg.contains("No. 5 / 5"));
    let urls: Vec<String> = svg
        .split("data-url=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(urls.len(), 5);
    let prefix = format!("http://127.0.0.1:8080/01/{GTIN}/21/");
    assert!(urls.iter().all(|u| u.starts_with(&prefix)), "{urls:?}");
    let codes: Vec<String> = urls.iter().map(|u| u[prefix.len()..].to_owned()).collect();
    assert!(codes.iter().all(|c| unit::is_code(c)), "{codes:?}");
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 5);
    assert_eq!(sheet(&app, &labels, &stranger).await.0, 403);
    assert_eq!(
        sheet(&app, &format!("{labels}?from=6"), &seller).await.0,
        400
    );

    // Both URL forms answer for the unit; a code of another GTIN, or no code, does not.
    let first = &codes[0];
    let by_code = app.get(&format!("/v1/units/{first}"), None).await.ok();
    assert_eq!(by_code["serial"], 1);
    assert_eq!(by_code["edition_size"], 5);
    assert_eq!(by_code["url"], urls[0].as_str());
    assert_eq!(
        app.get(&format!("/u/{first}"), None).await.ok()["serial"],
        1
    );
    assert_eq!(
        app.get(&format!("/01/{GTIN}/21/{}", codes[2]), None)
            .await
            .ok()["serial"],
        3
    );
    app.get(&format!("/01/05391234567892/21/{first}"), None)
        .await
        .expect(404, "not_found");
    app.get("/u/0000000000000000000Z", None)
        .await
        .expect(404, "not_found");
    app.get(&format!("/u/{}", first.to_lowercase()), None)
        .await
        .expect(404, "not_found");

    // Before its unit set is anchored, a unit has no proof; after, every link checks out.
    let proof_path = format!("/v1/units/{}/proof", codes[3]);
    app.get(&proof_path, None)
        .await
        .expect(409, "not_anchored_yet");
    app.anchor_and_confirm(&chain).await;
    let p = app.get(&proof_path, None).await.ok();
    // The unit record, and its hash.
    let unit: UnitRecord = serde_json::from_value(p["unit"].clone()).unwrap();
    assert_eq!(
        (unit.serial, unit.edition_size, unit.code.as_str()),
        (4, 5, codes[3].as_str())
    );
    let unit_hash = product::content_hash_of(&jcs::canonicalize(&p["unit"]).unwrap());
    assert_eq!(unit_hash.to_string(), p["unit_hash"]);
    // Its path to the units root of the seller's record.
    let units: UnitsRecord = serde_json::from_value(p["units"].clone()).unwrap();
    let steps: Vec<merkle::Hash> = p["unit_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| h(s.as_str().unwrap()))
        .collect();
    assert!(merkle::verify(
        &merkle::leaf(&unit_hash.0),
        &steps,
        &h(&units.units_root)
    ));
    // The seller's signature over the unit set, for the product's current record.
    let units_hash = product::content_hash_of(&jcs::canonicalize(&p["units"]).unwrap());
    assert_eq!(units_hash.to_string(), p["units_hash"]);
    let product_now = app.get(&format!("/v1/products/{id}"), None).await.ok();
    assert_eq!(
        units.product_content_hash,
        product_now["chain"]["content_hash"]
    );
    assert_eq!(
        units.seller_address,
        product_now["record"]["seller_address"]
    );
    let message = unit::typed_message(units_hash, &units).unwrap();
    assert_eq!(p["eip712"], unit::typed_data_json(&message, 31337));
    unit::check_signature(
        &message,
        31337,
        &hex::decode(p["signature"].as_str().unwrap()).unwrap(),
        units.seller_address.parse().unwrap(),
    )
    .unwrap();
    // The unit set's anchoring: its leaf reaches the root the registry holds, at block_time.
    let anchor_steps: Vec<merkle::Hash> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| h(s.as_str().unwrap()))
        .collect();
    assert_eq!(merkle::leaf(&units_hash.0), h(p["leaf"].as_str().unwrap()));
    assert!(merkle::verify(
        &h(p["leaf"].as_str().unwrap()),
        &anchor_steps,
        &h(p["root"].as_str().unwrap())
    ));
    let anchored = chain
        .client
        .anchored_at(p["root"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();
    assert!(anchored > 0);
    let stated = chrono::DateTime::parse_from_rfc3339(p["block_time"].as_str().unwrap()).unwrap();
    assert_eq!(anchored as i64, stated.timestamp());
    // A changed unit record no longer reaches the root.
    let mut forged = p["unit"].clone();
    forged["serial"] = json!(5);
    let forged_hash = product::content_hash_of(&jcs::canonicalize(&forged).unwrap());
    assert!(!merkle::verify(
        &merkle::leaf(&forged_hash.0),
        &steps,
        &h(&units.units_root)
    ));

    // The verifier (`truffle verify-unit`) agrees with the checks above, and names what a
    // tampering breaks.
    let proof: UnitProof = serde_json::from_value(p.clone()).unwrap();
    let bundle: ProofBundle = serde_json::from_value(
        app.get(&format!("/v1/products/{id}/proof"), None)
            .await
            .ok(),
    )
    .unwrap();
    let trust = chain.trust();
    let verdict = verify_unit(&proof, &bundle, &trust).await;
    assert!(verdict.ok(), "{verdict:?}");
    let flip = |s: &str| {
        let mut bytes = hex::decode(s).unwrap();
        bytes[1] ^= 1;
        hex::encode_prefixed(bytes)
    };
    let tamper = |change: &dyn Fn(&mut UnitProof)| {
        let mut t = proof.clone();
        change(&mut t);
        t
    };
    let cases: Vec<(UnitProof, &str)> = vec![
        (tamper(&|t| t.unit.serial = 5), "unit hash"),
        (
            tamper(&|t| t.unit_proof[0] = flip(&t.unit_proof[0])),
            "units tree",
        ),
        (
            tamper(&|t| t.signature = flip(&t.signature)),
            "seller signature",
        ),
        (
            tamper(&|t| t.eip712["domain"]["chainId"] = json!(1)),
            "typed data",
        ),
        (
            tamper(&|t| t.units["edition_size"] = json!(50)),
            "unit set hash",
        ),
        (
            tamper(&|t| t.unit_hash = t.unit_hash.to_uppercase().replacen("0X", "0x", 1)),
            "unit form",
        ),
        (tamper(&|t| t.root = flip(&t.root)), "merkle proof"),
        (
            tamper(&|t| t.block_time = "2020-01-01T00:00:00Z".into()),
            "anchored on chain",
        ),
    ];
    for (bad, failing) in cases {
        let failed = verify_unit(&bad, &bundle, &trust).await.failed();
        assert!(
            failed.contains(&failing),
            "{failing} expected in {failed:?}"
        );
    }
    // A genuine bundle of another product is not the one the units are of.
    let other = product_of(&app, &seller, 1).await;
    app.anchor_and_confirm(&chain).await;
    let other_bundle: ProofBundle = serde_json::from_value(
        app.get(&format!("/v1/products/{other}/proof"), None)
            .await
            .ok(),
    )
    .unwrap();
    assert_eq!(
        verify_unit(&proof, &other_bundle, &trust).await.failed(),
        vec!["product"]
    );

    // The command, from the unit's proof URL alone (the product's bundle from the same server).
    // Awaited, not blocking: the server it asks runs on this test's runtime.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_truffle"))
        .env_clear()
        .arg("verify-unit")
        .arg(format!("{}{proof_path}", app.base))
        .args(["--rpc-url", &chain.rpc, "--chain-id", "31337", "--registry"])
        .arg(format!("{:#x}", chain.registry))
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("UNIT VERIFIED"), "{text}");
    assert!(text.contains("unit 4 of 5"), "{text}");
}

#[tokio::test]
async fn an_edition_without_gtin_gets_short_unit_urls() {
    let app = TestApp::spawn().await;
    let (_, seller) = app.seller().await;
    let id = product_of(&app, &seller, 2).await;
    let set = app
        .post(
            &format!("/v1/products/{id}/units"),
            Some(&seller),
            json!({}),
        )
        .await
        .ok();
    assert_eq!(set["gtin"], Value::Null);
    let (status, _, svg) = sheet(
        &app,
        &format!("/v1/products/{id}/units/labels.svg"),
        &seller,
    )
    .await;
    assert_eq!(status, 200);
    assert!(svg.contains("data-url=\"http://127.0.0.1:8080/u/"), "{svg}");
    // A GS1 link for an edition without GTIN finds nothing.
    let code = svg.split("/u/").nth(1).unwrap()[..20].to_owned();
    app.get(&format!("/u/{code}"), None).await.ok();
    app.get(&format!("/01/{GTIN}/21/{code}"), None)
        .await
        .expect(404, "not_found");
}

/// A scan of the label from `client` (behind the trusted proxy), answered.
pub(crate) async fn scan_from(app: &TestApp, path: &str, client: &str) -> Value {
    let res = app
        .http
        .get(format!("{}{path}", app.base))
        .header("x-forwarded-for", client)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_label_scanned_from_many_places_is_flagged_and_its_seller_told_once() {
    let app = TestApp::spawn_with(|env| {
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1".into());
        env.insert("UNIT_CLONE_PLACES".into(), "3".into());
    })
    .await;
    let (_, seller) = app.seller().await;
    let id = product_of(&app, &seller, 2).await;
    app.post(
        &format!("/v1/products/{id}/units"),
        Some(&seller),
        json!({}),
    )
    .await
    .ok();
    let (_, _, svg) = sheet(
        &app,
        &format!("/v1/products/{id}/units/labels.svg"),
        &seller,
    )
    .await;
    let code = svg.split("/u/").nth(1).unwrap()[..20].to_owned();
    let other = svg.split("/u/").nth(2).unwrap()[..20].to_owned();
    let path = format!("/u/{code}");
    let kinds = |n: Value| -> Vec<String> {
        n["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["kind"].as_str().unwrap().to_owned())
            .collect()
    };

    // The same place again and again, or the API lookup, is not a second place.
    for _ in 0..3 {
        let seen = scan_from(&app, &path, "198.51.1.10").await;
        assert_eq!(
            (
                seen["scanned_from_places"].as_u64(),
                seen["clone_suspected"].as_bool()
            ),
            (Some(1), Some(false))
        );
    }
    // Another address of the same /24 is the same place.
    assert_eq!(
        scan_from(&app, &path, "198.51.1.99").await["scanned_from_places"],
        1
    );
    app.get(&format!("/v1/units/{code}"), None).await.ok();
    assert_eq!(
        scan_from(&app, &path, "198.51.2.10").await["clone_suspected"],
        false
    );
    let before = app.get("/v1/me/notifications", Some(&seller)).await.ok();
    assert!(!kinds(before).contains(&"unit_clone_suspected".to_owned()));

    // The third place flags it; the seller is told once, the other unit is untouched.
    let flagged = scan_from(&app, &path, "198.51.3.10").await;
    assert_eq!(flagged["scanned_from_places"], 3);
    assert_eq!(flagged["clone_suspected"], true);
    assert!(flagged["clone_flagged_at"].is_string());
    scan_from(&app, &path, "198.51.4.10").await;
    let told = kinds(app.get("/v1/me/notifications", Some(&seller)).await.ok());
    assert_eq!(
        told.iter().filter(|k| *k == "unit_clone_suspected").count(),
        1,
        "{told:?}"
    );
    let calm = app.get(&format!("/v1/units/{other}"), None).await.ok();
    assert_eq!(
        (
            calm["scanned_from_places"].as_u64(),
            calm["clone_suspected"].as_bool()
        ),
        (Some(0), Some(false))
    );

    // Scans older than the window are purged; the flag's time stays.
    sqlx::query("UPDATE unit_scans SET last_seen = now() - interval '2 days' WHERE code = $1")
        .bind(&code)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.state.units.purge_scans().await.unwrap(), 4);
    let after = app.get(&format!("/v1/units/{code}"), None).await.ok();
    assert_eq!(after["scanned_from_places"], 0);
    assert!(after["clone_flagged_at"].is_string());
}
