//! The anchoring worker under failure: a crash between any two steps loses nothing and anchors no
//! root twice; an unreachable RPC only delays anchoring; one replica anchors at a time.

use std::time::Duration;

use alloy::primitives::B256;
use serde_json::json;
use truffle::chain::ChainClient;
use truffle::chain::worker::AnchorWorker;

use crate::helpers::{TestApp, TestChain};

async fn create(app: &TestApp, seller: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let body = json!({"name": format!("한정판 {i}"), "brand": "Truffle", "category": "art", "edition_size": 10, "retail_price_krw": 50000});
        ids.push(
            app.post("/v1/products", Some(seller), body).await.ok()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids
}

async fn statuses(app: &TestApp, ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        out.push(
            app.get(&format!("/v1/products/{id}"), None).await.ok()["chain"]["status"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    out
}

async fn roots(app: &TestApp) -> Vec<B256> {
    sqlx::query_scalar::<_, Vec<u8>>("SELECT root FROM anchor_batches ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| B256::try_from(r.as_slice()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_crash_after_building_a_batch_loses_nothing() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (_, seller) = app.seller().await;
    let ids = create(&app, &seller, 3).await;
    // The batch is built and committed, then the process dies before sending.
    assert!(app.worker().close_batch(true).await.unwrap());
    let db = app.database();
    drop(app);

    let restarted = TestApp::spawn_on(db, |env| chain.configure(env)).await;
    let worker = restarted.worker();
    let pass = worker.pass(false).await.unwrap();
    assert_eq!(
        (pass.batches_built, pass.roots_sent),
        (0, 1),
        "the built batch is sent, nothing rebuilt"
    );
    chain.mine(1).await;
    worker.pass(false).await.unwrap();
    assert_eq!(statuses(&restarted, &ids).await, vec!["confirmed"; 3]);
    let roots = roots(&restarted).await;
    assert_eq!(roots.len(), 1);
    assert_eq!(chain.anchored_events(roots[0]).await, 1);
}

#[tokio::test]
async fn a_crash_after_sending_does_not_send_again() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (_, seller) = app.seller().await;
    let ids = create(&app, &seller, 2).await;
    let worker = app.worker();
    assert!(worker.close_batch(true).await.unwrap());
    // The transaction goes out, then the process dies before it records that it did.
    let root = roots(&app).await[0];
    let tx = chain.client.send_anchor(root).await.unwrap();
    let db = app.database();
    drop(app);

    let restarted = TestApp::spawn_on(db, |env| chain.configure(env)).await;
    let pass = restarted.worker().pass(false).await.unwrap();
    assert_eq!(
        pass.roots_sent, 0,
        "the chain already had the root: nothing is resent"
    );
    chain.mine(1).await;
    restarted.worker().pass(false).await.unwrap();
    assert_eq!(statuses(&restarted, &ids).await, vec!["confirmed"; 2]);
    assert_eq!(chain.anchored_events(root).await, 1);
    let recorded: Vec<u8> = sqlx::query_scalar("SELECT tx_hash FROM anchor_batches")
        .fetch_one(&restarted.db)
        .await
        .unwrap();
    assert_eq!(
        recorded,
        tx.to_vec(),
        "the transaction found on chain is the one recorded"
    );
}

#[tokio::test]
async fn a_killed_service_picks_up_every_waiting_record_on_restart() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (_, seller) = app.seller().await;
    let ids = create(&app, &seller, 4).await;
    let db = app.database();
    drop(app); // killed before the worker ever ran

    let restarted = TestApp::spawn_on(db, |env| {
        chain.configure(env);
        env.insert("CHAIN_CONFIRMATIONS".into(), "1".into());
        env.insert("ANCHOR_BATCH_INTERVAL".into(), "1s".into());
    })
    .await;
    // The real loop this time, as `truffle serve` runs it.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = restarted.state.spawn_workers(stopped);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while statuses(&restarted, &ids).await != vec!["confirmed"; 4] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not anchored in time: {:?}",
            statuses(&restarted, &ids).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.send(true).unwrap();
    for w in workers {
        w.await.unwrap();
    }
}

#[tokio::test]
async fn an_unreachable_rpc_only_delays_anchoring() {
    let chain = TestChain::start().await;
    // Nothing listens on port 9 of this machine.
    let app = TestApp::spawn_with(|env| {
        chain.configure(env);
        env.insert("CHAIN_RPC_URL".into(), "http://127.0.0.1:9".into());
    })
    .await;
    let (_, seller) = app.seller().await;
    let ids = create(&app, &seller, 2).await;
    assert!(
        app.worker().pass(true).await.is_err(),
        "the pass reports the outage"
    );
    // The API keeps serving, and the records wait.
    assert_eq!(statuses(&app, &ids).await, vec!["pending"; 2]);
    assert_eq!(app.get("/ready", None).await.status, 200);
    create(&app, &seller, 1).await;

    // The RPC comes back (a worker that reaches it, on the same database).
    let back = AnchorWorker {
        chain: ChainClient::with_signer(&chain.rpc, chain.registry, 31337, &chain.anchor_key)
            .unwrap(),
        ..app.worker()
    };
    back.pass(true).await.unwrap();
    chain.mine(1).await;
    back.pass(false).await.unwrap();
    let ids_all: Vec<String> = sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM products")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.to_string())
        .collect();
    assert_eq!(statuses(&app, &ids_all).await, vec!["confirmed"; 3]);
}

#[tokio::test]
async fn only_one_replica_anchors() {
    let chain = TestChain::start().await;
    let tweak = |env: &mut std::collections::HashMap<String, String>| {
        chain.configure(env);
        env.insert("CHAIN_CONFIRMATIONS".into(), "1".into());
        env.insert("ANCHOR_BATCH_INTERVAL".into(), "1s".into());
    };
    let a = TestApp::spawn_with(tweak).await;
    let b = TestApp::spawn_on(a.database(), tweak).await;
    let (_, seller) = a.seller().await;
    let ids = create(&a, &seller, 6).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = a.state.spawn_workers(stopped.clone());
    workers.extend(b.state.spawn_workers(stopped));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while statuses(&a, &ids).await != vec!["confirmed"; 6] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not anchored in time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.send(true).unwrap();
    for w in workers {
        w.await.unwrap();
    }
    for root in roots(&a).await {
        assert_eq!(chain.anchored_events(root).await, 1);
    }
    let holders: i64 = sqlx::query_scalar(
        // pg_locks spans the cluster: count only this test's database.
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&a.db)
    .await
    .unwrap();
    assert!(holders <= 1, "at most one advisory lock holder");
}

#[tokio::test]
async fn a_bundle_fetched_right_after_anchoring_carries_its_block_time() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let (_, seller) = app.seller().await;
    let id = create(&app, &seller, 1).await.remove(0);
    let worker = app.worker();
    worker.pass(true).await.unwrap(); // built and sent (automine mines it at once)
    worker.pass(false).await.unwrap(); // the Anchored event seen; one block, not confirmed yet
    assert_eq!(
        statuses(&app, std::slice::from_ref(&id)).await,
        vec!["anchored"]
    );

    // The window right after anchoring: the bundle carries the anchoring block's time.
    let bundle = app
        .get(&format!("/v1/products/{id}/proof"), None)
        .await
        .ok();
    let block = bundle["block_number"].as_u64().unwrap();
    let expected =
        chrono::DateTime::from_timestamp(chain.client.block_time(block).await.unwrap() as i64, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(bundle["block_time"], expected.as_str());
    let product = app.get(&format!("/v1/products/{id}"), None).await.ok();
    assert!(product["chain"]["block_time"].is_string(), "{product}");

    // A batch recorded as mined without its time (as the worker used to) gets no bundle.
    sqlx::query("UPDATE anchor_batches SET block_time = NULL")
        .execute(&app.db)
        .await
        .unwrap();
    app.get(&format!("/v1/products/{id}/proof"), None)
        .await
        .expect(409, "not_anchored_yet");
    chain.mine(1).await;
    worker.pass(false).await.unwrap(); // confirmed, and the time recorded again
    let bundle = app
        .get(&format!("/v1/products/{id}/proof"), None)
        .await
        .ok();
    assert_eq!(bundle["block_time"], expected.as_str());
}
