//! Raffles with a real anvil and PostgreSQL: the whole life of a raffle, mining blocks on demand,
//! the draw re-run from the chain and the ticket list alone, and every refusal.

use std::time::Duration;

use alloy::primitives::hex;
use reqwest::Method;
use serde_json::{Value, json};
use truffle::chain::verify::verify_draw;
use truffle::protocol::draw::DrawRecord;
use truffle::protocol::merkle;

use crate::helpers::{TestApp, TestChain};

/// An anchored product of a new seller: (seller token, product id).
pub(crate) async fn anchored_product(
    app: &TestApp,
    chain: &TestChain,
    edition: u32,
) -> (String, String) {
    let (_, seller) = app.seller().await;
    let body = json!({"name": "아더에러 x 푸마 스피드캣", "brand": "Ader Error", "category": "sneakers",
                      "edition_size": edition, "retail_price_krw": 159000});
    let id = anchored_listing(app, chain, &seller, body).await;
    (seller, id)
}

/// A product `seller` posts (`body`), once it is anchored: its id.
pub(crate) async fn anchored_listing(
    app: &TestApp,
    chain: &TestChain,
    seller: &str,
    body: Value,
) -> String {
    let id = app.post("/v1/products", Some(seller), body).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.anchor_and_confirm(chain).await;
    id
}

pub(crate) async fn db_now(app: &TestApp) -> chrono::DateTime<chrono::Utc> {
    sqlx::query_scalar("SELECT now()")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// A raffle closing `closes_in` from now; returns its id once its commitment is on chain.
///
/// Raffles run at least `MIN_RAFFLE_WINDOW`. A test that needs one to close sooner creates it
/// with a valid window and then ages it (see [`age_raffle`]), as if it had been created earlier:
/// the database's clock cannot be moved.
pub(crate) async fn open_raffle(
    app: &TestApp,
    seller: &str,
    product: &str,
    winners: u32,
    closes_in: Duration,
) -> String {
    let now = db_now(app).await;
    let closes_in = chrono::Duration::from_std(closes_in).unwrap();
    // A margin, so that the window is still long enough when the server checks it.
    let valid = truffle::raffles::MIN_RAFFLE_WINDOW + chrono::Duration::seconds(30);
    let body = json!({
        "product_id": product,
        "winners": winners,
        "opens_at": now.to_rfc3339(),
        "closes_at": (now + closes_in.max(valid)).to_rfc3339(),
        "payment_window_hours": 24
    });
    let created = app.post("/v1/raffles", Some(seller), body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body["state"], "scheduled",
        "not open before its commitment is on chain"
    );
    if closes_in < valid {
        age_raffle(app, &id, valid - closes_in).await;
    }
    let draws = app.state.draw_worker.clone().unwrap();
    draws.pass().await.unwrap(); // commit sent (automine mines it)
    draws.pass().await.unwrap(); // commit seen on chain
    assert_eq!(
        app.get(&format!("/v1/raffles/{id}"), None).await.ok()["state"],
        "open"
    );
    id
}

/// Moves a raffle's schedule `by` into the past, as if it had been created that much earlier.
/// Only before its commitment is sent: the commitment carries the closing time.
pub(crate) async fn age_raffle(app: &TestApp, id: &str, by: chrono::Duration) {
    let aged = sqlx::query(
        "UPDATE raffles SET opens_at = opens_at - make_interval(secs => $2),
                closes_at = closes_at - make_interval(secs => $2)
         WHERE id = $1::uuid AND stage = 'committing' AND commit_sent_at IS NULL",
    )
    .bind(id)
    .bind(by.as_seconds_f64())
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(
        aged.rows_affected(),
        1,
        "aged before its commitment was sent"
    );
}

/// Runs the draw worker, mining blocks, until the raffle is drawn (or 40 passes, 10 s at least:
/// on a loaded machine the chain's clock and the database's need a moment to pass the closing).
pub(crate) async fn drive_draw(app: &TestApp, chain: &TestChain, id: &str) -> Value {
    let draws = app.state.draw_worker.clone().unwrap();
    for pass in 0..40 {
        chain.mine(1).await;
        draws.pass().await.unwrap();
        let raffle = app.get(&format!("/v1/raffles/{id}"), None).await.ok();
        if raffle["state"] == "drawn" {
            return raffle;
        }
        if pass >= 6 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    panic!(
        "the raffle was not drawn: {}",
        app.get(&format!("/v1/raffles/{id}"), None).await.body
    );
}

#[tokio::test]
async fn the_whole_life_of_a_raffle_and_a_draw_anyone_can_rerun() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 100).await;
    let id = open_raffle(&app, &seller, &product, 2, Duration::from_secs(4)).await;
    let raffle = app.get(&format!("/v1/raffles/{id}"), None).await.ok();
    assert_eq!(
        raffle["price_krw"], 159000,
        "the price defaults to the retail price"
    );
    assert!(raffle["chain"]["commit_tx"].is_string());

    let mut buyers = Vec::new();
    let mut tickets = Vec::new();
    for _ in 0..6 {
        let token = app.buyer().await;
        let entry = app
            .call(
                Method::POST,
                &format!("/v1/raffles/{id}/entry"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(entry.status, 201, "{}", entry.body);
        tickets.push(entry.body["ticket"].as_str().unwrap().to_owned());
        buyers.push(token);
    }
    // Refusals while open: a second entry, the seller, an unverified admin, no login.
    app.call(
        Method::POST,
        &format!("/v1/raffles/{id}/entry"),
        Some(&buyers[0]),
        None,
    )
    .await
    .expect(409, "already_entered");
    app.call(
        Method::POST,
        &format!("/v1/raffles/{id}/entry"),
        Some(&seller),
        None,
    )
    .await
    .expect(403, "own_raffle");
    let admin = app.admin().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{id}/entry"),
        Some(&admin),
        None,
    )
    .await
    .expect(403, "identity_verification_required");
    app.call(Method::POST, &format!("/v1/raffles/{id}/entry"), None, None)
        .await
        .expect(401, "authentication_required");
    // One entrant withdraws; their ticket leaves the list.
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/v1/raffles/{id}/entry"),
            Some(&buyers[5]),
            None
        )
        .await
        .status,
        204
    );
    app.call(
        Method::DELETE,
        &format!("/v1/raffles/{id}/entry"),
        Some(&buyers[5]),
        None,
    )
    .await
    .expect(404, "not_entered");
    let withdrawn = tickets.pop().unwrap();
    app.get(&format!("/v1/raffles/{id}/tickets"), None)
        .await
        .expect(409, "tickets_not_published");

    // Closing time passes: no more entries.
    while db_now(&app).await.timestamp()
        < app.get(&format!("/v1/raffles/{id}"), None).await.ok()["closes_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            .timestamp()
            + 1
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let late = app.buyer().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{id}/entry"),
        Some(&late),
        None,
    )
    .await
    .expect(409, "raffle_not_open");
    app.call(
        Method::DELETE,
        &format!("/v1/raffles/{id}/entry"),
        Some(&buyers[0]),
        None,
    )
    .await
    .expect(409, "raffle_not_open");

    let raffle = drive_draw(&app, &chain, &id).await;
    assert_eq!(raffle["ticket_count"], 5);

    // The published list: sorted, without the withdrawn ticket, with an inclusion proof each.
    let page = app
        .get(&format!("/v1/raffles/{id}/tickets?limit=2"), None)
        .await
        .ok();
    assert_eq!(page["tickets"].as_array().unwrap().len(), 2);
    let text = app
        .http
        .get(format!(
            "{}/v1/raffles/{id}/tickets?download=true",
            app.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let listed: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut sorted = tickets.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    assert!(!listed.contains(&withdrawn));
    let root_hex = page["ticket_root"].as_str().unwrap().to_owned();
    for t in &tickets {
        let p = app
            .get(&format!("/v1/raffles/{id}/tickets/{t}/proof"), None)
            .await
            .ok();
        let leaf: [u8; 32] = hex::decode(p["leaf"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let proof: Vec<[u8; 32]> = p["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                hex::decode(h.as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap()
            })
            .collect();
        let root: [u8; 32] = hex::decode(&root_hex).unwrap().try_into().unwrap();
        assert!(merkle::verify(&leaf, &proof, &root));
    }
    app.get(&format!("/v1/raffles/{id}/tickets/{withdrawn}/proof"), None)
        .await
        .expect(404, "not_found");

    // The draw record re-runs from the chain and the list alone.
    let record: DrawRecord =
        serde_json::from_value(app.get(&format!("/v1/raffles/{id}/draw"), None).await.ok())
            .unwrap();
    assert_eq!(
        (record.winning_tickets.len(), record.alternates.len()),
        (2, 3)
    );
    let list: Vec<[u8; 32]> = listed
        .iter()
        .map(|t| hex::decode(t).unwrap().try_into().unwrap())
        .collect();
    let trust = chain.trust();
    let verdict = verify_draw(&record, &list, None, &trust).await;
    assert!(verdict.ok(), "{verdict:?}");
    // Publishing other winners, a doctored list, or trusting another registry is caught.
    let mut lie = record.clone();
    lie.winning_tickets.swap(0, 1);
    assert_eq!(
        verify_draw(&lie, &list, None, &trust).await.failed(),
        vec!["winners"]
    );
    let mut lie = record.clone();
    std::mem::swap(&mut lie.winning_tickets[0], &mut lie.alternates[0]);
    assert_eq!(
        verify_draw(&lie, &list, None, &trust).await.failed(),
        vec!["winners"]
    );
    assert!(
        verify_draw(&record, &list[1..], None, &trust)
            .await
            .failed()
            .contains(&"ticket root")
    );
    let mut unsorted = list.clone();
    unsorted.swap(0, 1);
    assert!(
        verify_draw(&record, &unsorted, None, &trust)
            .await
            .failed()
            .contains(&"ticket list")
    );
    let mut other = trust.clone();
    other.registry = alloy::primitives::Address::repeat_byte(9);
    assert!(
        verify_draw(&record, &list, None, &other)
            .await
            .failed()
            .contains(&"trusted registry")
    );

    // A record naming another raffle while citing this raffle's on-chain draw is caught.
    let mut borrowed = record.clone();
    borrowed.raffle_id = uuid::Uuid::now_v7();
    assert_eq!(
        verify_draw(&borrowed, &list, None, &trust).await.failed(),
        vec!["raffle id"]
    );
    // The genuine record is refused for another raffle than the one the verifier means.
    assert_eq!(
        verify_draw(&record, &list, Some(uuid::Uuid::now_v7()), &trust)
            .await
            .failed(),
        vec!["raffle id"]
    );
    assert!(
        verify_draw(&record, &list, Some(id.parse().unwrap()), &trust)
            .await
            .ok()
    );
    // Upper-case hex is refused, not read as the same value.
    let mut shouting = record.clone();
    shouting.seed = shouting
        .seed
        .map(|s| s.to_uppercase().replacen("0X", "0x", 1));
    assert_eq!(
        verify_draw(&shouting, &list, None, &trust).await.failed(),
        vec!["record form"]
    );
    // A reveal not yet as deep as the verifier asks is not counted.
    let mut deep = trust.clone();
    deep.confirmations = 10_000;
    assert!(
        verify_draw(&record, &list, None, &deep)
            .await
            .failed()
            .contains(&"on-chain raffle")
    );

    // Each entrant sees their outcome.
    let mut outcomes = Vec::new();
    for token in &buyers[..5] {
        let mine = app.get("/v1/me/entries", Some(token)).await.ok();
        outcomes.push(mine["items"][0]["outcome"].as_str().unwrap().to_owned());
    }
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec!["alternate", "alternate", "alternate", "won", "won"]
    );

    // And the command a third party runs.
    let text = verify_draw_command(&app, &chain, &id).await;
    assert!(text.contains("DRAW VERIFIED"), "{text}");
}

#[tokio::test]
async fn a_thousand_concurrent_entries_by_one_person_make_one_entry() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| {
        chain.configure(env);
        env.insert("DB_MAX_CONNECTIONS".into(), "10".into());
    })
    .await;
    let (seller, product) = anchored_product(&app, &chain, 10).await;
    let id = open_raffle(&app, &seller, &product, 1, Duration::from_secs(600)).await;
    let buyer = app.buyer().await;
    let url = format!("{}/v1/raffles/{id}/entry", app.base);
    let attempts = (0..1000).map(|_| {
        let req = app.http.post(&url).bearer_auth(&buyer).send();
        async move { req.await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1);
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        999,
        "{statuses:?}"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM entries WHERE raffle_id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

/// Entries arriving together share one transaction (group commit), yet each request gets its own
/// answer: a ticket for each person's first, `already_entered` for a second, `own_raffle` for the
/// seller, and once the raffle closed, `closed` for all of a lot.
#[tokio::test]
async fn entries_arriving_together_are_written_together_and_answered_one_by_one() {
    use truffle::accounts::{CurrentUser, Role, SeedPerson, seed_person};
    use truffle::raffles::Error as RaffleError;

    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 10).await;
    let id = open_raffle(&app, &seller, &product, 1, Duration::from_secs(600)).await;
    let raffle_id: uuid::Uuid = id.parse().unwrap();
    let seller_id: uuid::Uuid = app.get("/v1/me", Some(&seller)).await.ok()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let mut people = Vec::new();
    for i in 0..120 {
        let email = format!("lot-{i}-{}@example.com", uuid::Uuid::new_v4().simple());
        let phone = format!("0107{i:07}");
        let user = seed_person(
            &app.state.accounts,
            SeedPerson {
                email: &email,
                password_hash: "unused",
                name: "김민수",
                phone: &phone,
                birth_date: chrono::NaiveDate::from_ymd_opt(1995, 5, 17).unwrap(),
                gender: if i % 2 == 0 { "female" } else { "male" },
                role: Role::Buyer,
            },
        )
        .await
        .unwrap();
        people.push(user);
    }
    let as_user = |id: uuid::Uuid, role: Role| CurrentUser {
        id,
        session_id: uuid::Uuid::nil(),
        role,
        identity_verified: true,
    };
    // Everyone twice (the second 40 of them interleaved with their first), and the seller.
    let mut callers: Vec<CurrentUser> = people.iter().map(|&p| as_user(p, Role::Buyer)).collect();
    callers.extend(people.iter().map(|&p| as_user(p, Role::Buyer)));
    callers.swap(10, 130);
    callers.push(as_user(seller_id, Role::Seller));
    let (batches_before, requests_before) = app.state.raffles.entry_stats();
    let answers = futures::future::join_all(
        callers
            .iter()
            .map(|c| app.state.raffles.enter(c, raffle_id)),
    )
    .await;
    let (batches, requests) = app.state.raffles.entry_stats();
    assert_eq!(requests - requests_before, callers.len() as u64);
    assert!(
        batches - batches_before < 10,
        "{} requests took {} transactions",
        callers.len(),
        batches - batches_before
    );

    let mut tickets = std::collections::HashSet::new();
    let mut first_of = std::collections::HashMap::new();
    for (caller, answer) in callers.iter().zip(&answers) {
        match answer {
            Ok(entry) => {
                assert_eq!(entry.raffle_id, raffle_id);
                assert!(tickets.insert(entry.ticket.clone()), "one ticket per entry");
                assert!(
                    first_of.insert(caller.id, entry.id).is_none(),
                    "{caller:?} entered twice"
                );
            }
            Err(RaffleError::AlreadyEntered) => {}
            Err(RaffleError::OwnRaffle) => assert_eq!(caller.id, seller_id),
            Err(e) => panic!("unexpected answer for {caller:?}: {e}"),
        }
    }
    assert_eq!(first_of.len(), people.len(), "every person entered once");
    let already = answers
        .iter()
        .filter(|a| matches!(a, Err(RaffleError::AlreadyEntered)))
        .count();
    assert_eq!(already, people.len());
    let stored: Vec<(uuid::Uuid, uuid::Uuid)> =
        sqlx::query_as("SELECT user_id, id FROM entries WHERE raffle_id = $1")
            .bind(raffle_id)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        stored
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
        first_of,
        "the stored entries are the ones answered with a ticket"
    );
    // The tickets are the ones the protocol derives from the entry ids.
    for (caller, answer) in callers.iter().zip(&answers) {
        if let Ok(entry) = answer {
            let expected = truffle::protocol::draw::ticket(raffle_id, first_of[&caller.id]);
            assert_eq!(entry.ticket, hex::encode_prefixed(expected));
        }
    }

    // Once closed, a whole lot is refused, and nothing of it is written.
    sqlx::query(
        "UPDATE raffles SET opens_at = now() - interval '1 hour', closes_at = now() - interval '1 second'
         WHERE id = $1",
    )
    .bind(raffle_id)
    .execute(&app.db)
    .await
    .unwrap();
    let late: Vec<CurrentUser> = (0..5)
        .map(|i| {
            as_user(
                uuid::Uuid::now_v7(),
                if i == 0 { Role::Seller } else { Role::Buyer },
            )
        })
        .collect();
    let answers =
        futures::future::join_all(late.iter().map(|c| app.state.raffles.enter(c, raffle_id))).await;
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, Err(RaffleError::Closed))),
        "{answers:?}"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM entries WHERE raffle_id = $1")
        .bind(raffle_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, people.len() as i64);
}

/// During a drop everyone refreshes the raffle and its product: a replica serves both from
/// memory for `PUBLIC_SNAPSHOT_TTL`, with an `ETag` that turns a refresh into a `304`.
#[tokio::test]
async fn the_raffle_and_its_product_are_served_from_memory_and_revalidated_by_etag() {
    let ttl = Duration::from_secs(5);
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| {
        chain.configure(env);
        env.insert("PUBLIC_SNAPSHOT_TTL".into(), "5s".into());
    })
    .await;
    let (seller, product) = anchored_product(&app, &chain, 10).await;
    let id = open_raffle(&app, &seller, &product, 1, Duration::from_secs(600)).await;
    let url = format!("{}/v1/raffles/{id}", app.base);

    let first = app.http.get(&url).send().await.unwrap();
    let taken = std::time::Instant::now();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "public, max-age=5");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["entry_count"], 0);
    assert_eq!(body["state"], "open");

    let buyer = app.buyer().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{id}/entry"),
        Some(&buyer),
        None,
    )
    .await
    .ok();
    // Within the time-to-live: the same answer (the count lags), and a revalidation is a 304.
    let again = app.http.get(&url).send().await.unwrap();
    assert!(
        taken.elapsed() < ttl - Duration::from_secs(1),
        "the test itself was too slow"
    );
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(again.json::<Value>().await.unwrap()["entry_count"], 0);
    let revalidated = app
        .http
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"].to_str().unwrap(), etag);
    assert!(revalidated.bytes().await.unwrap().is_empty());

    // Past it, the new count and a new ETag; the old one no longer matches.
    tokio::time::sleep(ttl.saturating_sub(taken.elapsed()) + Duration::from_millis(100)).await;
    let later = app
        .http
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(later.status(), 200);
    assert_ne!(later.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(later.json::<Value>().await.unwrap()["entry_count"], 1);

    // The product it shows, likewise; an unknown id is a 404 each time, and nothing is kept.
    let product_url = format!("{}/v1/products/{product}", app.base);
    let p = app.http.get(&product_url).send().await.unwrap();
    assert_eq!(p.status(), 200);
    let p_etag = p.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(p.json::<Value>().await.unwrap()["id"], product.as_str());
    let p304 = app
        .http
        .get(&product_url)
        .header("if-none-match", &p_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(p304.status(), 304);
    let unknown = uuid::Uuid::now_v7();
    for _ in 0..2 {
        app.get(&format!("/v1/raffles/{unknown}"), None)
            .await
            .expect(404, "not_found");
    }
}

#[tokio::test]
async fn raffles_are_refused_for_unanchored_products_others_products_and_past_the_edition() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 3).await;
    let now = db_now(&app).await;
    let body = |product: &str, winners: u32| {
        json!({"product_id": product, "winners": winners, "opens_at": now.to_rfc3339(),
               "closes_at": (now + chrono::Duration::hours(1)).to_rfc3339()})
    };
    let buyer = app.buyer().await;
    app.post("/v1/raffles", Some(&buyer), body(&product, 1))
        .await
        .expect(403, "seller_required");
    let (other, _) = anchored_product(&app, &chain, 3).await;
    app.post("/v1/raffles", Some(&other), body(&product, 1))
        .await
        .expect(403, "forbidden");
    let fresh = app
        .post("/v1/products", Some(&seller), json!({"name": "신상", "brand": "B", "category": "c", "edition_size": 5, "retail_price_krw": 1}))
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/v1/raffles", Some(&seller), body(&fresh, 1))
        .await
        .expect(409, "product_not_anchored");
    assert_eq!(
        app.post("/v1/raffles", Some(&seller), body(&product, 2))
            .await
            .status,
        201
    );
    app.post("/v1/raffles", Some(&seller), body(&product, 2))
        .await
        .expect(409, "edition_exhausted");
    assert_eq!(
        app.post("/v1/raffles", Some(&seller), body(&product, 1))
            .await
            .status,
        201
    );
    let mut bad = body(&product, 1);
    bad["closes_at"] = json!(now.to_rfc3339());
    app.post("/v1/raffles", Some(&seller), bad)
        .await
        .expect(400, "validation_failed");
    let mut bad = body(&product, 0);
    bad["closes_at"] = json!((now + chrono::Duration::hours(1)).to_rfc3339());
    app.post("/v1/raffles", Some(&seller), bad)
        .await
        .expect(400, "validation_failed");
    app.post(
        "/v1/raffles",
        Some(&seller),
        json!({"product_id": product, "winners": 1}),
    )
    .await
    .expect(422, "invalid_body");
}

#[tokio::test]
async fn an_admin_cancels_before_closing_and_the_chain_says_so() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 10).await;
    let id = open_raffle(&app, &seller, &product, 1, Duration::from_secs(600)).await;
    let buyer = app.buyer().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{id}/entry"),
        Some(&buyer),
        None,
    )
    .await
    .ok();
    app.post(
        &format!("/v1/admin/raffles/{id}/cancel"),
        Some(&seller),
        json!({"reason": "x"}),
    )
    .await
    .expect(403, "forbidden");
    let admin = app.admin().await;
    let cancelled = app
        .post(
            &format!("/v1/admin/raffles/{id}/cancel"),
            Some(&admin),
            json!({"reason": "판매자 재고 문제"}),
        )
        .await
        .ok();
    assert_eq!(cancelled["state"], "cancelled");
    let inbox = app.get("/v1/me/notifications", Some(&buyer)).await.ok();
    assert_eq!(inbox["items"][0]["kind"], "raffle_cancelled");
    assert_eq!(inbox["items"][0]["body"], "판매자 재고 문제");
    app.post(
        &format!("/v1/admin/raffles/{id}/cancel"),
        Some(&admin),
        json!({"reason": "again"}),
    )
    .await
    .expect(409, "raffle_not_cancellable");
    let other = app.buyer().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{id}/entry"),
        Some(&other),
        None,
    )
    .await
    .expect(409, "raffle_not_open");
    app.state.draw_worker.clone().unwrap().pass().await.unwrap();
    let key =
        alloy::primitives::FixedBytes::<16>::from(*uuid::Uuid::parse_str(&id).unwrap().as_bytes());
    assert_eq!(
        chain.client.raffle(key).await.unwrap().state,
        6,
        "cancelled on chain"
    );
    // The cancelled raffle's winners no longer count against the edition.
    let now = db_now(&app).await;
    let again = json!({"product_id": product, "winners": 10, "opens_at": now.to_rfc3339(),
                       "closes_at": (now + chrono::Duration::hours(1)).to_rfc3339()});
    assert_eq!(
        app.post("/v1/raffles", Some(&seller), again).await.status,
        201
    );
}

#[tokio::test]
async fn a_missed_reveal_window_voids_the_raffle() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 10).await;
    let id = open_raffle(&app, &seller, &product, 1, Duration::from_secs(2)).await;
    let buyer = app.buyer().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{id}/entry"),
        Some(&buyer),
        None,
    )
    .await
    .ok();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let draws = app.state.draw_worker.clone().unwrap();
    chain.mine(1).await;
    // Freeze, then close, then see it closed.
    for _ in 0..3 {
        draws.pass().await.unwrap();
    }
    let stage: String = sqlx::query_scalar("SELECT stage FROM raffles WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stage, "closed");
    // The operator is away for 300 blocks: the reveal window passes.
    chain.mine(300).await;
    draws.pass().await.unwrap(); // markVoid sent
    draws.pass().await.unwrap(); // void seen on chain
    assert_eq!(
        app.get(&format!("/v1/raffles/{id}"), None).await.ok()["state"],
        "void"
    );
    let key =
        alloy::primitives::FixedBytes::<16>::from(*uuid::Uuid::parse_str(&id).unwrap().as_bytes());
    assert_eq!(chain.client.raffle(key).await.unwrap().state, 4);
}

#[tokio::test]
async fn a_crash_after_sending_the_close_does_not_close_twice() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 10).await;
    let id = open_raffle(&app, &seller, &product, 1, Duration::from_secs(2)).await;
    let buyer = app.buyer().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{id}/entry"),
        Some(&buyer),
        None,
    )
    .await
    .ok();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    chain.mine(1).await;
    let draws = app.state.draw_worker.clone().unwrap();
    draws.pass().await.unwrap(); // ticket list frozen
    let (root, count): (Vec<u8>, i32) =
        sqlx::query_as("SELECT ticket_root, ticket_count FROM raffles WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    // The close goes out, then the process dies before recording it.
    let key =
        alloy::primitives::FixedBytes::<16>::from(*uuid::Uuid::parse_str(&id).unwrap().as_bytes());
    chain
        .client
        .send_close_raffle(
            key,
            alloy::primitives::B256::try_from(root.as_slice()).unwrap(),
            count as u32,
        )
        .await
        .unwrap();
    let db = app.database();
    drop(app);
    let restarted = TestApp::spawn_on(db, |env| chain.configure(env)).await;
    let raffle = drive_draw(&restarted, &chain, &id).await;
    assert_eq!(raffle["ticket_count"], 1);
}

#[tokio::test]
async fn deleting_an_account_withdraws_its_open_entries() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 10).await;
    let id = open_raffle(&app, &seller, &product, 1, Duration::from_secs(600)).await;
    let person = crate::helpers::Person::random();
    let (_, tokens) = app
        .signup("leaving@example.com", "a-good-password-1", &person)
        .await;
    let token = tokens["access_token"].as_str().unwrap();
    app.call(
        Method::POST,
        &format!("/v1/raffles/{id}/entry"),
        Some(token),
        None,
    )
    .await
    .ok();
    assert_eq!(
        app.get(&format!("/v1/raffles/{id}"), None).await.ok()["entry_count"],
        1
    );
    app.call(
        Method::DELETE,
        "/v1/me",
        Some(token),
        Some(json!({"password": "a-good-password-1"})),
    )
    .await;
    assert_eq!(
        app.get(&format!("/v1/raffles/{id}"), None).await.ok()["entry_count"],
        0
    );
}

#[tokio::test]
async fn entries_before_the_opening_time_are_refused() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 10).await;
    let now = db_now(&app).await;
    let body = json!({"product_id": product, "winners": 1,
                      "opens_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
                      "closes_at": (now + chrono::Duration::hours(2)).to_rfc3339()});
    let id = app.post("/v1/raffles", Some(&seller), body).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let draws = app.state.draw_worker.clone().unwrap();
    draws.pass().await.unwrap();
    draws.pass().await.unwrap();
    // Committed on chain, but its opening time has not come.
    assert_eq!(
        app.get(&format!("/v1/raffles/{id}"), None).await.ok()["state"],
        "scheduled"
    );
    let buyer = app.buyer().await;
    let r = app
        .call(
            Method::POST,
            &format!("/v1/raffles/{id}/entry"),
            Some(&buyer),
            None,
        )
        .await
        .expect(409, "raffle_not_open");
    assert_eq!(r.body["message"], "This raffle is not open yet.");
}

#[tokio::test]
async fn raffles_too_short_to_enter_and_payment_windows_out_of_bounds_are_refused() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 100).await;
    let now = db_now(&app).await;
    let at = |secs: i64| (now + chrono::Duration::seconds(secs)).to_rfc3339();
    let raffle = |opens: i64, closes: i64| json!({"product_id": product, "winners": 1, "opens_at": at(opens), "closes_at": at(closes)});
    async fn refused_with(app: &TestApp, seller: &str, body: Value, field: &str) -> String {
        let r = app
            .post("/v1/raffles", Some(seller), body)
            .await
            .expect(400, "validation_failed");
        let message = r.body["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with(field), "{message}");
        message
    }
    let refused = |body: Value, field: &'static str| refused_with(&app, &seller, body, field);
    // A one-second raffle, opening now or later.
    let message = refused(raffle(0, 1), "closes_at").await;
    assert!(message.contains("5 minutes"), "{message}");
    refused(raffle(3600, 3601), "closes_at").await;
    // Opened in the past: what is left must meet the minimum, however long it ran before.
    refused(raffle(-3600, 60), "closes_at").await;
    // Four minutes is too short; six (the margin is for the time this request takes) is enough.
    refused(raffle(600, 600 + 240), "closes_at").await;
    assert_eq!(
        app.post("/v1/raffles", Some(&seller), raffle(600, 600 + 360))
            .await
            .status,
        201
    );
    assert_eq!(
        app.post("/v1/raffles", Some(&seller), raffle(-3600, 360))
            .await
            .status,
        201
    );
    // Payment windows: 24 to 168 hours.
    for hours in [0, 1, 23, 169, 336] {
        let mut body = raffle(0, 3600);
        body["payment_window_hours"] = json!(hours);
        refused(body, "payment_window_hours").await;
    }
    for hours in [24, 168] {
        let mut body = raffle(0, 3600);
        body["payment_window_hours"] = json!(hours);
        let created = app.post("/v1/raffles", Some(&seller), body).await.ok();
        assert_eq!(created["payment_window_secs"], hours * 3600);
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM raffles")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 4, "only the valid raffles were stored");
}

#[tokio::test]
async fn an_empty_raffle_ends_empty_and_publishes_the_seed_it_committed() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 10).await;
    let id = open_raffle(&app, &seller, &product, 1, Duration::from_secs(2)).await;
    // Someone enters and changes their mind: nobody is left at the closing time.
    let buyer = app.buyer().await;
    let entry = format!("/v1/raffles/{id}/entry");
    app.call(Method::POST, &entry, Some(&buyer), None)
        .await
        .ok();
    assert_eq!(
        app.call(Method::DELETE, &entry, Some(&buyer), None)
            .await
            .status,
        204
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let draws = app.state.draw_worker.clone().unwrap();
    let mut state = Value::Null;
    for _ in 0..12 {
        chain.mine(1).await;
        draws.pass().await.unwrap();
        state = app.get(&format!("/v1/raffles/{id}"), None).await.ok()["state"].clone();
        if state == "empty" {
            break;
        }
    }
    assert_eq!(state, "empty", "an empty raffle is shown as what it is");
    let key =
        alloy::primitives::FixedBytes::<16>::from(*uuid::Uuid::parse_str(&id).unwrap().as_bytes());
    let on_chain = chain.client.raffle(key).await.unwrap();
    assert_eq!(on_chain.state, 5, "Empty on chain");

    // The seed is published, and it is the one whose hash the chain holds.
    let record: DrawRecord =
        serde_json::from_value(app.get(&format!("/v1/raffles/{id}/draw"), None).await.ok())
            .unwrap();
    assert_eq!(record.state, "empty");
    let seed: [u8; 32] = hex::decode(record.seed.as_deref().expect("the seed is published"))
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        truffle::protocol::draw::seed_hash(&seed),
        on_chain.seed_hash.0
    );
    assert_eq!(record.ticket_count, Some(0));
    assert!(
        record.close_tx.is_some(),
        "the closing transaction is shown"
    );
    assert!(record.winning_tickets.is_empty() && record.randomness.is_none());

    // Final: further passes change nothing.
    chain.mine(3).await;
    draws.pass().await.unwrap();
    assert_eq!(
        app.get(&format!("/v1/raffles/{id}"), None).await.ok()["state"],
        "empty"
    );

    // A verifier checks the seed against the chain; a wrong seed is caught.
    let trust = chain.trust();
    let verdict = verify_draw(&record, &[], None, &trust).await;
    assert!(verdict.ok() && verdict.empty_raffle, "{verdict:?}");
    let mut lie = record.clone();
    lie.seed = Some(format!("0x{}", hex::encode([7u8; 32])));
    assert_eq!(
        verify_draw(&lie, &[], None, &trust).await.failed(),
        vec!["seed commitment"]
    );
    let text = verify_draw_command(&app, &chain, &id).await;
    assert!(text.contains("EMPTY RAFFLE VERIFIED"), "{text}");

    // An empty raffle recorded by an older worker, without its seed, gets it on the next pass.
    sqlx::query("UPDATE raffles SET seed = NULL WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.db)
        .await
        .unwrap();
    draws.pass().await.unwrap();
    let again = app.get(&format!("/v1/raffles/{id}/draw"), None).await.ok();
    assert_eq!(again["seed"], record.seed.unwrap().as_str());
}

#[tokio::test]
async fn revoking_a_product_reaches_its_raffles_orders_and_buyers() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 50).await;
    // A drawn raffle with three winners: one will not have paid, one paid, one shipped.
    let drawn = open_raffle(&app, &seller, &product, 3, Duration::from_secs(3)).await;
    let mut winners = Vec::new();
    for _ in 0..3 {
        let token = app.buyer().await;
        app.call(
            Method::POST,
            &format!("/v1/raffles/{drawn}/entry"),
            Some(&token),
            None,
        )
        .await
        .ok();
        winners.push(token);
    }
    tokio::time::sleep(Duration::from_millis(3200)).await;
    drive_draw(&app, &chain, &drawn).await;
    let mut orders = Vec::new();
    for token in &winners {
        orders.push(
            crate::orders::order_of(&app, token).await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for (token, id) in winners.iter().zip(&orders).skip(1) {
        app.post(
            &format!("/v1/orders/{id}/payment"),
            Some(token),
            json!({"payment_key": format!("dev_{id}"), "amount": 159000}),
        )
        .await
        .ok();
    }
    app.post(
        &format!("/v1/orders/{}/shipment", orders[2]),
        Some(&seller),
        json!({"carrier": "CJ대한통운", "tracking_number": "1234567890"}),
    )
    .await
    .ok();
    // And an open raffle with an entrant.
    let open = open_raffle(&app, &seller, &product, 1, Duration::from_secs(600)).await;
    let entrant = app.buyer().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{open}/entry"),
        Some(&entrant),
        None,
    )
    .await
    .ok();

    let admin = app.admin().await;
    app.post(
        &format!("/v1/products/{product}/revoke"),
        Some(&admin),
        json!({"reason": "위조품 신고 확인"}),
    )
    .await
    .ok();

    // No new raffle, and the open one is cancelled (on chain too) with its entrant told.
    let now = db_now(&app).await;
    let again = json!({"product_id": product, "winners": 1, "opens_at": now.to_rfc3339(),
                       "closes_at": (now + chrono::Duration::hours(1)).to_rfc3339()});
    app.post("/v1/raffles", Some(&seller), again)
        .await
        .expect(409, "product_revoked");
    assert_eq!(
        app.get(&format!("/v1/raffles/{open}"), None).await.ok()["state"],
        "cancelled"
    );
    app.call(
        Method::POST,
        &format!("/v1/raffles/{open}/entry"),
        Some(&app.buyer().await),
        None,
    )
    .await
    .expect(409, "raffle_not_open");
    let told = crate::orders::kinds(&app, &entrant).await;
    assert!(told.contains(&"raffle_cancelled".to_owned()), "{told:?}");
    app.state.draw_worker.clone().unwrap().pass().await.unwrap();
    let key = alloy::primitives::FixedBytes::<16>::from(
        *uuid::Uuid::parse_str(&open).unwrap().as_bytes(),
    );
    assert_eq!(
        chain.client.raffle(key).await.unwrap().state,
        6,
        "cancelled on chain"
    );

    // The unpaid order is cancelled and cannot be paid, the paid one refunded, the shipped one
    // flagged for an admin; every buyer was told.
    let status = |i: usize| {
        let (app, token, id) = (&app, winners[i].clone(), orders[i].clone());
        async move {
            app.get(&format!("/v1/orders/{id}"), Some(&token))
                .await
                .ok()
        }
    };
    assert_eq!(status(0).await["status"], "cancelled");
    app.post(
        &format!("/v1/orders/{}/payment", orders[0]),
        Some(&winners[0]),
        json!({"payment_key": "dev_after_revoke", "amount": 159000}),
    )
    .await
    .expect(409, "order_not_payable");
    assert_eq!(status(1).await["status"], "refunded");
    let shipped = status(2).await;
    assert_eq!(
        (shipped["status"].clone(), shipped["attention"].clone()),
        (json!("shipped"), json!("revoked_after_shipping"))
    );
    for token in &winners {
        assert!(
            crate::orders::kinds(&app, token)
                .await
                .contains(&"product_revoked".to_owned())
        );
    }
    // Nothing was handed to an alternate: there are none, and a revoked product passes nothing on.
    let standing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM orders WHERE product_id = $1::uuid AND status = 'awaiting_payment'",
    )
    .bind(&product)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(standing, 0);
}

#[tokio::test]
async fn an_edition_never_shrinks_below_the_winners_its_raffles_promise() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, product) = anchored_product(&app, &chain, 10).await;
    open_raffle(&app, &seller, &product, 4, Duration::from_secs(600)).await;
    let url = format!("/v1/products/{product}");
    let patch = |size: u32| {
        app.call(
            Method::PATCH,
            &url,
            Some(&seller),
            Some(json!({"edition_size": size})),
        )
    };
    patch(3).await.expect(409, "edition_below_winners");
    assert_eq!(
        app.get(&format!("/v1/products/{product}"), None).await.ok()["record"]["edition_size"],
        10,
        "nothing changed"
    );
    assert_eq!(
        patch(4).await.status,
        200,
        "as many pieces as winners is fine"
    );
}

/// What `truffle verify-draw` prints for a raffle's published draw, asserting that it succeeds:
/// the command a third party runs. Async, so that the test's runtime keeps serving the app the
/// command calls.
async fn verify_draw_command(
    app: &TestApp,
    chain: &TestChain,
    id: impl std::fmt::Display,
) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_truffle"))
        .current_dir(std::env::temp_dir())
        .env_clear()
        .args([
            "verify-draw",
            &format!("{}/v1/raffles/{id}/draw", app.base),
            "--rpc-url",
            &chain.rpc,
            "--chain-id",
            "31337",
            "--registry",
        ])
        .arg(format!("{:#x}", chain.registry))
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}
