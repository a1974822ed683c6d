//! `GET /v1/search` against real PostgreSQL, a real on-disk Tantivy index kept in step by the
//! search worker, and (for chain status) a real anvil.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestChain};
use crate::raffles::{anchored_product, open_raffle};

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search(app: &TestApp, params: &str) -> Value {
    app.get(&format!("/v1/search?{params}"), None).await.ok()
}

fn hit_ids(page: &Value) -> Vec<String> {
    page["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["product"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls the search until `check` holds (the index catches up within seconds) and returns the
/// page that satisfied it.
async fn until(app: &TestApp, params: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let page = search(app, params).await;
        if check(&page) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "search `{params}` never reached the expected state: {}",
        search(app, params).await
    );
}

async fn create(app: &TestApp, seller: &str, body: Value) -> String {
    app.post("/v1/products", Some(seller), body).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn created_updated_retagged_and_delisted_products_are_searchable_within_seconds() {
    let app = TestApp::spawn().await;
    let (_, seller) = app.seller().await;
    let id = create(
        &app,
        &seller,
        json!({"name": "나이키 덩크 로우 레트로 판다", "brand": "Nike", "category": "sneakers",
               "edition_size": 500, "retail_price_krw": 129000,
               "description": "흰색과 검은색 가죽의 덩크 로우를 한정 수량으로 발매합니다."}),
    )
    .await;

    // No spaces, and a particle: both find "나이키 덩크 로우".
    let q = format!("q={}", encode("덩크로우"));
    let page = until(&app, &q, |p| hit_ids(p) == [id.clone()]).await;
    let hit = &page["hits"][0];
    assert_eq!(
        hit["highlight"]["name"],
        "나이키 <mark>덩크</mark> <mark>로우</mark> 레트로 판다"
    );
    assert!(
        hit["highlight"]["description"]
            .as_str()
            .unwrap()
            .contains("<mark>덩크</mark> <mark>로우</mark>")
    );
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    assert_eq!(hit["product"]["chain"]["status"], "pending");
    assert_eq!(hit["product"]["chain"]["proof_url"], Value::Null);
    assert_eq!(hit["raffle"], Value::Null);
    assert_eq!(page["total"], 1);
    assert_eq!(
        hit_ids(&search(&app, &format!("q={}", encode("덩크를"))).await),
        std::slice::from_ref(&id)
    );

    // A new version: the old name stops matching, the new one matches.
    app.call(
        Method::PATCH,
        &format!("/v1/products/{id}"),
        Some(&seller),
        Some(json!({"name": "조던 1 레트로 하이 OG 시카고"})),
    )
    .await
    .ok();
    until(&app, &format!("q={}", encode("시카고")), |p| {
        hit_ids(p) == [id.clone()]
    })
    .await;
    // The description still says 덩크 로우, so it is found there, but the name has no match.
    let old = search(&app, &q).await;
    assert_eq!(
        old["hits"][0]["highlight"]["name"],
        "조던 1 레트로 하이 OG 시카고"
    );

    // Tags alone make no new version, and are searchable.
    let tagged = app
        .call(
            Method::PATCH,
            &format!("/v1/products/{id}"),
            Some(&seller),
            Some(json!({"tags": ["콜라보", "Chicago Bulls"]})),
        )
        .await
        .ok();
    assert_eq!(tagged["version"], 2, "tags made no new version");
    assert_eq!(tagged["tags"], json!(["콜라보", "Chicago Bulls"]));
    until(&app, "q=bulls", |p| hit_ids(p) == [id.clone()]).await;

    // Delisted: gone from search.
    app.call(
        Method::DELETE,
        &format!("/v1/products/{id}"),
        Some(&seller),
        None,
    )
    .await;
    until(&app, "q=bulls", |p| {
        hit_ids(p).is_empty() && p["total"] == 0
    })
    .await;
}

#[tokio::test]
async fn hits_carry_chain_status_and_raffle_state_and_filter_on_them() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (seller, anchored) = anchored_product(&app, &chain, 100).await;
    // Two more blocks: confirmed (CHAIN_CONFIRMATIONS=2), and the head the worker saw moves on.
    chain.mine(2).await;
    app.worker().pass(false).await.unwrap();
    let pending = create(
        &app,
        &seller,
        json!({"name": "아더에러 x 푸마 스피드캣 블루", "brand": "Ader Error", "category": "sneakers",
               "edition_size": 10, "retail_price_krw": 189000}),
    )
    .await;
    let q = format!("q={}", encode("스피드캣"));
    let both = until(&app, &q, |p| p["total"] == 2).await;
    assert_eq!(
        both["facets"]["brand"],
        json!([{"value": "Ader Error", "count": 2}])
    );

    // Verified only: the anchored one (its batch reached the chain after it was indexed).
    let verified = until(&app, &format!("{q}&verified=true"), |p| {
        hit_ids(p) == [anchored.clone()]
    })
    .await;
    let hit = &verified["hits"][0]["product"]["chain"];
    assert_eq!(hit["status"], "confirmed");
    assert!(hit["root"].as_str().unwrap().starts_with("0x"));
    assert!(hit["tx_hash"].as_str().unwrap().starts_with("0x"));
    assert!(hit["block_number"].as_u64().unwrap() > 0);
    assert!(hit["confirmations"].as_u64().unwrap() >= 2, "{hit}");
    let proof_url = hit["proof_url"].as_str().unwrap();
    assert_eq!(
        app.get(proof_url, None).await.ok()["root"],
        hit["root"],
        "the link leads to the proof bundle"
    );
    let unverified = search(&app, &q).await;
    let pending_hit = unverified["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["product"]["id"] == pending.as_str())
        .unwrap();
    assert_eq!(pending_hit["product"]["chain"]["status"], "pending");
    assert_eq!(
        pending_hit["product"]["chain"]["confirmations"],
        Value::Null
    );

    // A raffle on the anchored product: filter and facet by its state.
    let raffle = open_raffle(&app, &seller, &anchored, 1, Duration::from_secs(3600)).await;
    let open = until(&app, &format!("{q}&raffle_state=open"), |p| {
        hit_ids(p) == [anchored.clone()]
    })
    .await;
    assert_eq!(open["hits"][0]["raffle"]["id"], raffle.as_str());
    assert_eq!(open["hits"][0]["raffle"]["state"], "open");
    let none = search(&app, &format!("{q}&raffle_state=none")).await;
    assert_eq!(hit_ids(&none), std::slice::from_ref(&pending));
    let states = &search(&app, &q).await["facets"]["raffle_state"];
    assert!(
        states
            .as_array()
            .unwrap()
            .contains(&json!({"value": "open", "count": 1}))
    );
    assert!(
        states
            .as_array()
            .unwrap()
            .contains(&json!({"value": "none", "count": 1}))
    );
    let closing = search(&app, "sort=closing_soon").await;
    assert_eq!(
        hit_ids(&closing)[0],
        anchored,
        "the open raffle comes first"
    );
}

#[tokio::test]
async fn pages_follow_the_cursor_and_filters_narrow() {
    let app = TestApp::spawn().await;
    let (_, seller) = app.seller().await;
    let mut ids = Vec::new();
    for i in 0..25u64 {
        let brand = if i % 5 == 0 { "Adidas" } else { "Nike" };
        ids.push(
            create(
                &app,
                &seller,
                json!({"name": format!("에어 맥스 {i}"), "brand": brand, "category": "sneakers",
                       "edition_size": 10, "retail_price_krw": 100000 + i * 1000}),
            )
            .await,
        );
    }
    let q = format!("q={}", encode("에어맥스"));
    until(&app, &q, |p| p["total"] == 25).await;
    let mut seen = Vec::new();
    let mut params = format!("{q}&limit=10&sort=price_asc");
    for page_no in 0.. {
        let page = search(&app, &params).await;
        seen.extend(hit_ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => params = format!("{q}&limit=10&sort=price_asc&cursor={c}"),
            None => {
                assert_eq!(page_no, 2);
                break;
            }
        }
    }
    assert_eq!(
        seen, ids,
        "cheapest first is creation order here; no gaps, no repeats"
    );

    // A cursor belongs to its search: another search's is a conflict, garbage a 400.
    let first = search(&app, &format!("{q}&limit=10")).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    app.get(&format!("/v1/search?q=nike&limit=10&cursor={cursor}"), None)
        .await
        .expect(409, "conflict");
    app.get("/v1/search?q=nike&limit=10&cursor=10.zz", None)
        .await
        .expect(400, "validation_failed");

    let adidas = search(
        &app,
        &format!("{q}&brand=adidas&min_price=105000&max_price=115000&sort=price_desc"),
    )
    .await;
    assert_eq!(
        hit_ids(&adidas),
        [ids[15].clone(), ids[10].clone(), ids[5].clone()]
    );
    assert_eq!(
        adidas["facets"]["brand"],
        json!([{"value": "Adidas", "count": 3}])
    );
}

#[tokio::test]
async fn bad_input_gets_a_4xx_with_a_code_and_odd_queries_a_sane_answer() {
    let app = TestApp::spawn().await;
    let long = "가".repeat(201);
    for (params, code) in [
        (format!("q={}", encode(&long)), "validation_failed"),
        ("limit=0".to_owned(), "validation_failed"),
        ("limit=51".to_owned(), "validation_failed"),
        ("min_price=abc".to_owned(), "invalid_query_parameter"),
        ("min_price=-1".to_owned(), "invalid_query_parameter"),
        ("raffle_state=sold".to_owned(), "validation_failed"),
        ("sort=random".to_owned(), "invalid_query_parameter"),
        ("verified=maybe".to_owned(), "invalid_query_parameter"),
        ("cursor=%21%21".to_owned(), "validation_failed"),
        ("q=%00".to_owned(), "validation_failed"),
        ("q=a%E2%80%AEb".to_owned(), "validation_failed"),
        ("page=2".to_owned(), "invalid_query_parameter"),
    ] {
        app.get(&format!("/v1/search?{params}"), None)
            .await
            .expect(400, code);
    }
    // Syntax that would break a query parser, control characters, emoji: 200, no hits.
    for q in [
        "\"",
        "(",
        "AND OR NOT",
        "title:*",
        "\\",
        "[a TO z]",
        "🦄🦄",
        "-",
        "~1^2",
    ] {
        let page = search(&app, &format!("q={}", encode(q))).await;
        assert_eq!(page["hits"], json!([]), "{q:?}");
    }
    // A price range with nothing in it matches nothing.
    assert_eq!(
        search(&app, "min_price=10&max_price=5").await["hits"],
        json!([])
    );
    // Empty or blank: a browse of the (empty) catalogue.
    assert_eq!(search(&app, "q=").await["total"], 0);
    assert_eq!(search(&app, "q=%20%20").await["hits"], json!([]));
}

#[tokio::test]
async fn the_index_catches_up_after_a_restart_and_a_corrupt_one_is_rebuilt() {
    let app = TestApp::spawn().await;
    let (_, seller) = app.seller().await;
    let dir = tempfile::tempdir().unwrap();
    let index_dir = dir.path().join("index");
    let dir_env = index_dir.display().to_string();
    let first = TestApp::spawn_on(app.database(), |env| {
        env.insert("SEARCH_INDEX_DIR".into(), dir_env.clone());
    })
    .await;
    let a = create(
        &app,
        &seller,
        json!({"name": "레고 스타워즈 밀레니엄 팔콘", "brand": "LEGO", "category": "toys",
               "edition_size": 100, "retail_price_krw": 1049000, "sku": "75192"}),
    )
    .await;
    // Every replica indexes every change (the other app has its own index).
    until(&first, "q=75192", |p| hit_ids(p) == [a.clone()]).await;
    until(&app, "q=75192", |p| hit_ids(p) == [a.clone()]).await;
    first.stop().await;

    // Changes while it is down come from the feed when it starts again.
    let b = create(
        &app,
        &seller,
        json!({"name": "레고 해리포터 호그와트 성", "brand": "LEGO", "category": "toys",
               "edition_size": 100, "retail_price_krw": 699000, "sku": "71043"}),
    )
    .await;
    let again = TestApp::spawn_on(app.database(), |env| {
        env.insert("SEARCH_INDEX_DIR".into(), dir_env.clone());
    })
    .await;
    assert!(
        matches!(
            again.state.search.opened(),
            truffle::search::Opened::Existing(_)
        ),
        "the index on disk was reopened: {:?}",
        again.state.search.opened()
    );
    until(&again, "q=lego", |p| p["total"] == 2).await;
    again.stop().await;

    // A damaged index is rebuilt from Postgres.
    std::fs::write(index_dir.join("meta.json"), b"\x00garbage").unwrap();
    let rebuilt = TestApp::spawn_on(app.database(), |env| {
        env.insert("SEARCH_INDEX_DIR".into(), dir_env.clone());
    })
    .await;
    assert!(
        matches!(rebuilt.state.search.opened(), truffle::search::Opened::Created(r) if r.contains("could not be read")),
        "{:?}",
        rebuilt.state.search.opened()
    );
    let page = until(&rebuilt, "q=lego&sort=newest", |p| p["total"] == 2).await;
    assert_eq!(hit_ids(&page), [b, a]);
}

/// With hits kept in memory (as in production), what the feed carries still shows as soon as the
/// index has it: a batch reaching the chain, a raffle opening. A raffle's entry count, which the
/// feed does not carry, lags by at most `PUBLIC_SNAPSHOT_TTL`.
#[tokio::test]
async fn kept_hits_change_with_the_feed_and_only_entry_counts_lag() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| {
        chain.configure(env);
        env.insert("PUBLIC_SNAPSHOT_TTL".into(), "60s".into());
    })
    .await;
    let (_, seller) = app.seller().await;
    let id = create(
        &app,
        &seller,
        json!({"name": "아더에러 x 푸마 스피드캣 그린", "brand": "Ader Error", "category": "sneakers",
               "edition_size": 10, "retail_price_krw": 189000}),
    )
    .await;
    let q = format!("q={}", encode("스피드캣"));
    let first = until(&app, &q, |p| hit_ids(p) == [id.clone()]).await;
    assert_eq!(first["hits"][0]["product"]["chain"]["status"], "pending");

    // Anchored and confirmed: the feed names the product, and the kept hit goes with it.
    app.anchor_and_confirm(&chain).await;
    chain.mine(2).await;
    app.worker().pass(false).await.unwrap();
    let verified = until(&app, &format!("{q}&verified=true"), |p| {
        hit_ids(p) == [id.clone()]
    })
    .await;
    assert_eq!(
        verified["hits"][0]["product"]["chain"]["status"],
        "confirmed"
    );
    assert_eq!(
        search(&app, &q).await["hits"][0]["product"]["chain"]["status"],
        "confirmed"
    );

    // A raffle opens: the hit shows it once the index does.
    let raffle = open_raffle(&app, &seller, &id, 1, Duration::from_secs(3600)).await;
    let open = until(&app, &format!("{q}&raffle_state=open"), |p| {
        hit_ids(p) == [id.clone()]
    })
    .await;
    assert_eq!(open["hits"][0]["raffle"]["id"], raffle.as_str());
    assert_eq!(open["hits"][0]["raffle"]["entry_count"], 0);

    // An entry is not in the feed: the kept hit still says 0, as it may for up to the TTL.
    let buyer = app.buyer().await;
    app.call(
        Method::POST,
        &format!("/v1/raffles/{raffle}/entry"),
        Some(&buyer),
        None,
    )
    .await
    .ok();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        search(&app, &q).await["hits"][0]["raffle"]["entry_count"],
        0
    );
    // Any change the feed carries reads the product and its raffle again.
    app.call(
        Method::PATCH,
        &format!("/v1/products/{id}"),
        Some(&seller),
        Some(json!({"description": "그린 컬러웨이"})),
    )
    .await
    .ok();
    until(&app, &q, |p| p["hits"][0]["raffle"]["entry_count"] == 1).await;
}
