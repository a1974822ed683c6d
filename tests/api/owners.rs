//! Owners of units: the first owner from a shipped raffle-won order, transfers (accepted,
//! declined, cancelled, refused to an unverified or unknown account, by a non-owner), lost and
//! stolen reports, and the history of owners checked against a real anvil, tampering included.

use reqwest::Method;
use serde_json::{Value, json};
use truffle::chain::verify::verify_history;
use truffle::protocol::transfer::History;

use crate::helpers::{TestApp, TestChain};
use crate::orders::{drawn_raffle_of, split};
use crate::raffles::anchored_product;

async fn email_of(app: &TestApp, token: &str) -> String {
    app.get("/v1/me", Some(token)).await.ok()["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The one unit `token` holds.
async fn held(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/v1/me/units", Some(token))
        .await
        .ok()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn units_change_hands_only_as_their_owners_and_recipients_say() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| {
        chain.configure(env);
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1".into());
        env.insert("UNIT_CLONE_PLACES".into(), "2".into());
    })
    .await;
    let (seller, product) = anchored_product(&app, &chain, 5).await;
    app.post(
        &format!("/v1/products/{product}/units"),
        Some(&seller),
        json!({}),
    )
    .await
    .ok();
    let (raffle, buyers) = drawn_raffle_of(&app, &chain, &seller, &product, 2, 1).await;
    let (won, rest) = split(&app, &buyers).await;
    let (first, order) = &won[0];
    let order_id = order["id"].as_str().unwrap();
    let b = app.buyer().await;
    let c = app.buyer().await;
    let (_, other_seller) = app.seller().await;
    let unverified = app.admin().await;
    let assign = format!("/v1/orders/{order_id}/unit");

    // The seller records the serial once the order has shipped, and only theirs.
    app.post(
        &format!("/v1/orders/{order_id}/payment"),
        Some(first),
        json!({"payment_key": "dev_ok_owner", "amount": 159000}),
    )
    .await
    .ok();
    app.post(&assign, Some(&seller), json!({"serial": 2}))
        .await
        .expect(409, "order_not_shippable");
    app.post(
        &format!("/v1/orders/{order_id}/shipment"),
        Some(&seller),
        json!({"carrier": "CJ대한통운", "tracking_number": "6543210987"}),
    )
    .await
    .ok();
    app.post(&assign, None, json!({"serial": 2}))
        .await
        .expect(401, "authentication_required");
    for stranger in [first, &other_seller] {
        app.post(&assign, Some(stranger), json!({"serial": 2}))
            .await
            .expect(404, "not_found");
    }
    for serial in [0, 6] {
        app.post(&assign, Some(&seller), json!({"serial": serial}))
            .await
            .expect(400, "validation_failed");
    }
    let owned = app.post(&assign, Some(&seller), json!({"serial": 2})).await;
    assert_eq!(owned.status.as_u16(), 201, "{:?}", owned.body);
    let owned = owned.ok();
    assert_eq!(owned["serial"], 2);
    let code = owned["code"].as_str().unwrap().to_owned();
    let first_name = owned["owner_pseudonym"].as_str().unwrap().to_owned();
    assert_eq!(first_name.len(), 66);
    app.post(&assign, Some(&seller), json!({"serial": 3}))
        .await
        .expect(409, "unit_already_owned");
    assert_eq!(held(&app, first).await.len(), 1);
    assert!(held(&app, &rest[0]).await.is_empty());
    assert!(
        crate::orders::kinds(&app, first)
            .await
            .contains(&"unit_owned".to_owned())
    );

    // Offers: the owner only, to another verified account that exists, one at a time.
    let offers = format!("/v1/units/{code}/offers");
    let to_b = json!({"to_email": email_of(&app, &b).await});
    app.post(&offers, Some(&b), to_b.clone())
        .await
        .expect(403, "forbidden");
    app.post(&offers, None, to_b.clone())
        .await
        .expect(401, "authentication_required");
    app.post(
        &offers,
        Some(first),
        json!({"to_email": "nobody-here@example.com"}),
    )
    .await
    .expect(404, "recipient_not_found");
    app.post(
        &offers,
        Some(first),
        json!({"to_email": email_of(&app, &unverified).await}),
    )
    .await
    .expect(409, "recipient_not_verified");
    app.post(
        &offers,
        Some(first),
        json!({"to_email": email_of(&app, first).await}),
    )
    .await
    .expect(400, "validation_failed");
    app.post(&offers, Some(first), json!({"to_email": "not an email"}))
        .await
        .expect(400, "validation_failed");
    let offer = app.post(&offers, Some(first), to_b.clone()).await.ok();
    assert_eq!(
        (offer["status"].as_str(), offer["direction"].as_str()),
        (Some("pending"), Some("outgoing"))
    );
    app.post(&offers, Some(first), to_b.clone())
        .await
        .expect(409, "offer_pending");
    let offer_id = offer["id"].as_str().unwrap();
    let incoming = app.get("/v1/me/offers", Some(&b)).await.ok();
    assert_eq!(incoming[0]["direction"], "incoming");
    assert!(
        app.get("/v1/me/offers", Some(&c))
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Only the recipient accepts or declines; only the maker cancels.
    for (who, action) in [
        (&c, "accept"),
        (first, "accept"),
        (&c, "decline"),
        (first, "decline"),
        (&b, "cancel"),
    ] {
        app.post(
            &format!("/v1/offers/{offer_id}/{action}"),
            Some(who),
            json!({}),
        )
        .await
        .expect(404, "not_found");
    }
    let cancelled = app
        .post(
            &format!("/v1/offers/{offer_id}/cancel"),
            Some(first),
            json!({}),
        )
        .await
        .ok();
    assert_eq!(cancelled["status"], "cancelled");
    app.post(
        &format!("/v1/offers/{offer_id}/accept"),
        Some(&b),
        json!({}),
    )
    .await
    .expect(409, "offer_not_pending");
    // Declined, then offered again and accepted.
    let again = app.post(&offers, Some(first), to_b.clone()).await.ok();
    let again_id = again["id"].as_str().unwrap();
    assert_eq!(
        app.post(
            &format!("/v1/offers/{again_id}/decline"),
            Some(&b),
            json!({})
        )
        .await
        .ok()["status"],
        "declined"
    );
    assert_eq!(
        held(&app, first).await.len(),
        1,
        "a declined offer moves nothing"
    );
    let third = app.post(&offers, Some(first), to_b.clone()).await.ok();
    let third_id = third["id"].as_str().unwrap();
    assert_eq!(held(&app, first).await[0]["pending_offer"], third["id"]);
    assert_eq!(
        app.post(
            &format!("/v1/offers/{third_id}/accept"),
            Some(&b),
            json!({})
        )
        .await
        .ok()["status"],
        "accepted"
    );
    assert!(held(&app, first).await.is_empty());
    let b_name = held(&app, &b).await[0]["owner_pseudonym"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(b_name, first_name);
    // The old owner has no say any more.
    app.post(
        &offers,
        Some(first),
        json!({"to_email": email_of(&app, &c).await}),
    )
    .await
    .expect(403, "forbidden");

    // A report stops transfers and shows on the unit; only the owner files or withdraws one.
    let report = format!("/v1/units/{code}/report");
    app.post(&report, Some(first), json!({"kind": "stolen"}))
        .await
        .expect(403, "forbidden");
    app.post(&report, Some(&b), json!({"kind": "misplaced"}))
        .await
        .expect(422, "invalid_body");
    let reported = app
        .post(&report, Some(&b), json!({"kind": "stolen"}))
        .await
        .ok();
    assert_eq!(reported["report"]["kind"], "stolen");
    let unit = app.get(&format!("/v1/units/{code}"), None).await.ok();
    assert_eq!(unit["report"]["kind"], "stolen");
    let to_c = json!({"to_email": email_of(&app, &c).await});
    app.post(&offers, Some(&b), to_c.clone())
        .await
        .expect(409, "unit_reported");
    app.call(Method::DELETE, &report, Some(first), None)
        .await
        .expect(403, "forbidden");
    let found = app.call(Method::DELETE, &report, Some(&b), None).await.ok();
    assert!(found["report"].is_null());
    assert!(app.get(&format!("/v1/units/{code}"), None).await.ok()["report"].is_null());

    // A second change of hands, then the history on chain.
    let to_c_offer = app.post(&offers, Some(&b), to_c).await.ok();
    app.post(
        &format!("/v1/offers/{}/accept", to_c_offer["id"].as_str().unwrap()),
        Some(&c),
        json!({}),
    )
    .await
    .ok();
    let c_name = held(&app, &c).await[0]["owner_pseudonym"]
        .as_str()
        .unwrap()
        .to_owned();
    let history_path = format!("/v1/units/{code}/history");
    let pending: History = serde_json::from_value(app.get(&history_path, None).await.ok()).unwrap();
    assert!(pending.transfers.iter().all(|t| t.anchor.is_none()));
    app.anchor_and_confirm(&chain).await;
    let body = app.get(&history_path, None).await.ok();
    let history: History = serde_json::from_value(body.clone()).unwrap();
    let names: Vec<(Option<&str>, &str)> = history
        .transfers
        .iter()
        .map(|t| (t.record.from.as_deref(), t.record.to.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (None, first_name.as_str()),
            (Some(first_name.as_str()), b_name.as_str()),
            (Some(b_name.as_str()), c_name.as_str())
        ]
    );
    assert_eq!(
        history.transfers[0].record.raffle_id.unwrap().to_string(),
        raffle
    );
    let text = body.to_string();
    for personal in ["@example.com", "김민수", "010-"] {
        assert!(!text.contains(personal), "the history holds {personal}");
    }
    let unit = app.get(&format!("/v1/units/{code}"), None).await.ok();
    assert_eq!(unit["transfers"], 3);

    let trust = chain.trust();
    let verdict = verify_history(&history, &history.unit_hash, &code, &trust).await;
    assert!(verdict.ok(), "{:#?}", verdict.checks);
    // Against another unit: refused.
    assert!(
        verify_history(&history, &history.unit_hash, "0123456789ABCDEFGHJK", &trust)
            .await
            .failed()
            .contains(&"owner form")
    );

    // Tampering, each caught by the check that names it.
    let tampered = |f: &dyn Fn(&mut History)| {
        let mut h = history.clone();
        f(&mut h);
        h
    };
    let cases: Vec<(&str, History, &str)> = vec![
        (
            "a new owner written in",
            tampered(&|h| h.transfers[1].record.to = c_name.clone()),
            "owner hashes",
        ),
        (
            "a record dropped",
            tampered(&|h| {
                h.transfers.remove(1);
            }),
            "owner links",
        ),
        (
            "a record rewritten and rehashed",
            tampered(&|h| {
                h.transfers[2].record.to = b_name.clone();
                h.transfers[2].transfer_hash = h.transfers[2].record.hash().1.to_string();
            }),
            "owner signatures",
        ),
        (
            "a signature swapped",
            tampered(&|h| {
                h.transfers[1].signature = h.transfers[2].signature.clone();
            }),
            "owner signatures",
        ),
        (
            "a proof step changed",
            tampered(&|h| {
                let a = h.transfers[0].anchor.as_mut().unwrap();
                a.leaf = a.root.clone();
            }),
            "owner proofs",
        ),
        (
            "a pending record",
            tampered(&|h| h.transfers[2].anchor = None),
            "owners anchored",
        ),
        (
            "a history forked at the second record",
            tampered(&|h| {
                let fork = h.transfers[1].clone();
                h.transfers.insert(2, fork);
            }),
            "owner links",
        ),
    ];
    for (what, bad, check) in cases {
        let failed = verify_history(&bad, &history.unit_hash, &code, &trust)
            .await
            .failed();
        assert!(failed.contains(&check), "{what}: failed {failed:?}");
    }

    // A clone flag tells the owner too, not only the seller.
    for place in ["203.0.113.5", "198.51.100.5"] {
        crate::units::scan_from(&app, &format!("/u/{code}"), place).await;
    }
    for who in [&c, &seller] {
        assert!(
            crate::orders::kinds(&app, who)
                .await
                .contains(&"unit_clone_suspected".to_owned())
        );
    }
    assert!(
        !crate::orders::kinds(&app, &b)
            .await
            .contains(&"unit_clone_suspected".to_owned()),
        "a former owner is not told"
    );
}

/// A genuine raffle-won unit that changed hands twice, all anchored and confirmed: what the
/// verification page is tested on.
pub(crate) struct Genuine {
    pub code: String,
    pub product: String,
    pub raffle: String,
    /// The winner's ticket, as `GET /v1/me/entries` gives it.
    pub ticket: String,
}

pub(crate) async fn genuine_unit(app: &TestApp, chain: &TestChain) -> Genuine {
    let (seller, product) = anchored_product(app, chain, 5).await;
    app.post(
        &format!("/v1/products/{product}/units"),
        Some(&seller),
        json!({}),
    )
    .await
    .ok();
    let (raffle, buyers) = drawn_raffle_of(app, chain, &seller, &product, 2, 1).await;
    let (won, _) = split(app, &buyers).await;
    let (first, order) = &won[0];
    let order_id = order["id"].as_str().unwrap();
    app.post(
        &format!("/v1/orders/{order_id}/payment"),
        Some(first),
        json!({"payment_key": "dev_ok_page", "amount": 159000}),
    )
    .await
    .ok();
    app.post(
        &format!("/v1/orders/{order_id}/shipment"),
        Some(&seller),
        json!({"carrier": "CJ대한통운", "tracking_number": "1234"}),
    )
    .await
    .ok();
    let code = app
        .post(
            &format!("/v1/orders/{order_id}/unit"),
            Some(&seller),
            json!({"serial": 2}),
        )
        .await
        .ok()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut holder = first.clone();
    for _ in 0..2 {
        let next = app.buyer().await;
        let offer = app
            .post(
                &format!("/v1/units/{code}/offers"),
                Some(&holder),
                json!({"to_email": email_of(app, &next).await}),
            )
            .await
            .ok();
        app.post(
            &format!("/v1/offers/{}/accept", offer["id"].as_str().unwrap()),
            Some(&next),
            json!({}),
        )
        .await
        .ok();
        holder = next;
    }
    app.anchor_and_confirm(chain).await;
    let entries = app.get("/v1/me/entries", Some(first)).await.ok();
    let ticket = entries["items"][0]["ticket"]
        .as_str()
        .or_else(|| entries[0]["ticket"].as_str())
        .expect("the winner's entry has its ticket")
        .to_owned();
    Genuine {
        code,
        product,
        raffle,
        ticket,
    }
}
