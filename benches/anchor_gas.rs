//! What anchoring costs on chain, and how fast products get there. Run it with
//! `cargo bench --bench anchor_gas`; see bench/README.md for the settings and how to read the
//! numbers.
//!
//! One run, two parts, on a private anvil (automine) with a freshly deployed `TruffleRegistry`:
//!
//! 1. Gas: `anchor(root)` of real `truffle.anchor/1` Merkle roots over random content hashes, in
//!    batches of 1, 16, 256 and 1,024 records, against the baseline of one transaction per product
//!    (each record's own leaf anchored as its own root), and the gas of one `revoke`.
//! 2. Throughput: the app started in-process (as benches/auth_load.rs does) with its anchoring
//!    worker running against the same anvil; one seller posts `BENCH_PRODUCTS` products over HTTP,
//!    timed from the first POST until the outbox shows every one of them anchored.
//!
//! A table on stdout, JSON in bench/results/anchor_gas.json, and the database dropped and anvil
//! stopped again, whatever happened.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use alloy::consensus::Transaction as _;
use alloy::primitives::{B256, TxHash};
use alloy::providers::Provider;
use anyhow::{Context, anyhow, bail, ensure};
use futures::StreamExt;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use truffle::accounts::password;
use truffle::chain::ChainClient;
use truffle::protocol::merkle::{self, MerkleTree};
use uuid::Uuid;

#[path = "common/mod.rs"]
mod common;

use common::{CHAIN_ID, DevAnvil, InProcess, PASSWORD, SELLER_EMAIL, admin_url, describe, num};

/// The Merkle batch sizes whose gas is measured (records per `anchor` transaction).
const BATCH_SIZES: [usize; 4] = [1, 16, 256, 1024];
/// No single request may hang the run, even if the server stalls.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the end-to-end phase asks PostgreSQL how many products are anchored.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// What a run does, from `BENCH_*` variables so that it can be rerun with other settings.
#[derive(Debug, Clone)]
struct Settings {
    admin_url: String,
    /// Anchor transactions per batch size in the gas part.
    gas_batches: usize,
    /// Transactions of the one-per-product baseline.
    baseline_products: usize,
    /// Revoke transactions averaged.
    revokes: usize,
    products: usize,
    concurrency: usize,
    anchor_batch_max: usize,
    anchor_batch_interval: String,
    /// The end-to-end phase fails if the products are not all anchored by then.
    timeout: Duration,
    db_max_connections: u32,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let s = Settings {
            admin_url: admin_url(),
            gas_batches: num("BENCH_GAS_BATCHES", 5usize)?,
            baseline_products: num("BENCH_BASELINE_PRODUCTS", 256usize)?,
            revokes: num("BENCH_REVOKES", 5usize)?,
            products: num("BENCH_PRODUCTS", 1000usize)?,
            concurrency: num("BENCH_CONCURRENCY", 32usize)?,
            anchor_batch_max: num("BENCH_ANCHOR_BATCH_MAX", 256usize)?,
            anchor_batch_interval: std::env::var("BENCH_ANCHOR_BATCH_INTERVAL")
                .unwrap_or_else(|_| "1s".into()),
            timeout: Duration::from_secs_f64(num("BENCH_TIMEOUT_SECONDS", 300.0f64)?),
            db_max_connections: num("BENCH_DB_MAX_CONNECTIONS", 20u32)?,
        };
        if s.gas_batches == 0
            || s.baseline_products == 0
            || s.revokes == 0
            || s.products == 0
            || s.concurrency == 0
            || s.anchor_batch_max == 0
            || s.timeout.is_zero()
        {
            bail!(
                "BENCH_GAS_BATCHES, BENCH_BASELINE_PRODUCTS, BENCH_REVOKES, BENCH_PRODUCTS, \
                 BENCH_CONCURRENCY, BENCH_ANCHOR_BATCH_MAX and BENCH_TIMEOUT_SECONDS must be above zero"
            );
        }
        // The seller's access token (1 h) must outlive the run.
        if s.timeout > Duration::from_secs(3000) {
            bail!("BENCH_TIMEOUT_SECONDS must stay under 50 minutes");
        }
        Ok(s)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !common::run_as_bench("anchor_gas") {
        return Ok(());
    }
    let settings = Settings::from_env()?;

    // Our own anvil; dropping it stops it.
    let anvil = DevAnvil::start()?;

    // Ctrl-C abandons the run but still falls through to the DROP and anvil's shutdown below.
    let outcome = common::in_fresh_database(&settings.admin_url, |db_url| {
        let (settings, anvil) = (&settings, &anvil);
        async move { run(settings, anvil, &db_url).await }
    })
    .await;
    // SIGTERM, then SIGKILL after 10 s (alloy's AnvilInstance::drop).
    drop(anvil);

    let report = outcome?;
    print_report(&report);
    common::write_report("anchor_gas", &report.to_json())
}

async fn run(settings: &Settings, anvil: &DevAnvil, db_url: &str) -> anyhow::Result<Report> {
    let (registry, chain) = common::deploy(anvil).await?;
    let served = chain.rpc_chain_id().await?;
    ensure!(
        served == CHAIN_ID,
        "anvil serves chain {served}, not {CHAIN_ID}"
    );
    let node = chain
        .provider()
        .get_client_version()
        .await
        .unwrap_or_else(|_| "anvil".into());

    let gas = gas_part(settings, &chain).await?;
    let e2e = e2e_part(settings, anvil, &chain, db_url).await?;

    Ok(Report {
        settings: settings.clone(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        node,
        registry: format!("{registry:#x}"),
        gas,
        e2e,
    })
}

// ---------------------------------------------------------------------------------------------
// Part 1: gas.

/// Random content hashes (sha256 outputs look just like this); never the zero hash.
fn random_hashes(n: usize) -> Vec<[u8; 32]> {
    (0..n)
        .map(|_| {
            let mut h: [u8; 32] = rand::random();
            h[0] |= 1;
            h
        })
        .collect()
}

/// The receipt's gas of a transaction that automine has mined (or is about to).
async fn mined_gas(chain: &ChainClient, tx: TxHash) -> anyhow::Result<u64> {
    for _ in 0..500 {
        if let Some(gas) = chain.gas_used(tx).await? {
            return Ok(gas);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("transaction {tx} was not mined within 5 s (is anvil automining?)")
}

/// The length of a transaction's input (4-byte selector + ABI-encoded arguments).
async fn calldata_len(chain: &ChainClient, tx: TxHash) -> anyhow::Result<usize> {
    let tx = chain
        .provider()
        .get_transaction_by_hash(tx)
        .await?
        .with_context(|| format!("transaction {tx} not found"))?;
    Ok(tx.input().len())
}

/// One anchored batch: the gas and calldata of its transaction, its tree's depth, and how long
/// building the tree and every proof took.
struct Anchored {
    gas: u64,
    calldata_bytes: usize,
    max_proof_len: usize,
    build: Duration,
}

/// Builds the tree over `hashes`, checks one proof, anchors the root and reads the gas.
async fn anchor_batch(chain: &ChainClient, hashes: &[[u8; 32]]) -> anyhow::Result<Anchored> {
    let started = Instant::now();
    let tree = MerkleTree::from_content_hashes(hashes).context("an empty batch")?;
    let root = tree.root();
    let max_proof_len = tree
        .leaves()
        .iter()
        .map(|l| tree.proof(l).map_or(0, |p| p.len()))
        .max()
        .unwrap_or(0);
    let build = started.elapsed();
    let leaf = merkle::leaf(&hashes[hashes.len() / 2]);
    ensure!(
        merkle::verify(&leaf, &tree.proof(&leaf).unwrap_or_default(), &root),
        "a proof of the batch does not verify"
    );

    let root = B256::from(root);
    let tx = chain.send_anchor(root).await?;
    let gas = mined_gas(chain, tx).await?;
    ensure!(
        chain.anchored_at(root).await? != 0,
        "anchor({root}) was mined but the registry does not hold the root (reverted?)"
    );
    Ok(Anchored {
        gas,
        calldata_bytes: calldata_len(chain, tx).await?,
        max_proof_len,
        build,
    })
}

struct GasRow {
    label: String,
    batch_size: usize,
    txs: usize,
    gas_avg: f64,
    gas_min: u64,
    gas_max: u64,
    calldata_bytes: usize,
    max_proof_len: usize,
    build_ms_avg: f64,
}

impl GasRow {
    fn new(label: String, batch_size: usize, samples: &[Anchored]) -> GasRow {
        let gas: Vec<u64> = samples.iter().map(|s| s.gas).collect();
        GasRow {
            label,
            batch_size,
            txs: samples.len(),
            gas_avg: gas.iter().sum::<u64>() as f64 / gas.len() as f64,
            gas_min: gas.iter().copied().min().unwrap_or(0),
            gas_max: gas.iter().copied().max().unwrap_or(0),
            calldata_bytes: samples.iter().map(|s| s.calldata_bytes).max().unwrap_or(0),
            max_proof_len: samples.iter().map(|s| s.max_proof_len).max().unwrap_or(0),
            build_ms_avg: samples
                .iter()
                .map(|s| s.build.as_secs_f64() * 1e3)
                .sum::<f64>()
                / samples.len() as f64,
        }
    }

    fn gas_per_product(&self) -> f64 {
        self.gas_avg / self.batch_size as f64
    }
}

struct GasResult {
    baseline: GasRow,
    batches: Vec<GasRow>,
    revoke_gas_avg: f64,
    revoke_gas_min: u64,
    revoke_gas_max: u64,
    revoke_calldata_bytes: usize,
}

async fn gas_part(settings: &Settings, chain: &ChainClient) -> anyhow::Result<GasResult> {
    println!(
        "anchor_gas: gas of anchor(root), {} batches per size, baseline of {} one-product transactions",
        settings.gas_batches, settings.baseline_products
    );
    // The baseline: every product's own leaf is its own root, one transaction each.
    let mut samples = Vec::with_capacity(settings.baseline_products);
    for hash in random_hashes(settings.baseline_products) {
        samples.push(anchor_batch(chain, &[hash]).await?);
    }
    let baseline = GasRow::new("1 tx per product".into(), 1, &samples);

    let mut batches = Vec::new();
    for size in BATCH_SIZES {
        let mut samples = Vec::with_capacity(settings.gas_batches);
        for _ in 0..settings.gas_batches {
            samples.push(anchor_batch(chain, &random_hashes(size)).await?);
        }
        batches.push(GasRow::new(format!("batch of {size}"), size, &samples));
    }

    let mut revokes = Vec::with_capacity(settings.revokes);
    let mut revoke_calldata_bytes = 0;
    for hash in random_hashes(settings.revokes) {
        let hash = B256::from(hash);
        let tx = chain.send_revoke(hash).await?;
        revokes.push(mined_gas(chain, tx).await?);
        ensure!(
            chain.revoked_at(hash).await? != 0,
            "revoke({hash}) was mined but the registry does not hold it (reverted?)"
        );
        revoke_calldata_bytes = calldata_len(chain, tx).await?;
    }

    Ok(GasResult {
        baseline,
        batches,
        revoke_gas_avg: revokes.iter().sum::<u64>() as f64 / revokes.len() as f64,
        revoke_gas_min: revokes.iter().copied().min().unwrap_or(0),
        revoke_gas_max: revokes.iter().copied().max().unwrap_or(0),
        revoke_calldata_bytes,
    })
}

// ---------------------------------------------------------------------------------------------
// Part 2: from the API to anchored.

/// The app's environment: auth_load's map, plus the chain and the custody key.
fn app_env(
    settings: &Settings,
    db_url: &str,
    anvil: &DevAnvil,
    chain: &ChainClient,
) -> HashMap<String, String> {
    let mut env = common::bench_env(db_url, settings.db_max_connections);
    common::lift_auth_limits(&mut env);
    anvil.configure(&mut env, chain.registry(), 1);
    common::set(
        &mut env,
        [
            ("SEARCH_INDEX_DIR", common::index_dir("anchor_gas")),
            ("ANCHOR_BATCH_MAX", settings.anchor_batch_max.to_string()),
            (
                "ANCHOR_BATCH_INTERVAL",
                settings.anchor_batch_interval.clone(),
            ),
        ],
    );
    env
}

async fn e2e_part(
    settings: &Settings,
    anvil: &DevAnvil,
    chain: &ChainClient,
    db_url: &str,
) -> anyhow::Result<E2eResult> {
    let state = common::start_app(&app_env(settings, db_url, anvil, chain)).await?;
    ensure!(
        state.anchor_worker.is_some(),
        "the app started without its anchoring worker"
    );
    let pool = state.db.clone();

    // The seller, straight into the database, and their custodial key made now, so that the
    // first product's key generation is not part of the measurement.
    let hash = password::hash(PASSWORD.to_owned()).await?;
    let seller = common::seed_seller(&state, &hash).await?;
    state
        .catalogue
        .signing_info(seller)
        .await
        .map_err(|e| anyhow!("seller key: {e:?}"))?;

    // The anchoring worker, as `truffle serve` starts it.
    let server = InProcess::serve(state, true).await?;
    let result = e2e_load(settings, chain, &server.base, db_url).await;
    server.stop().await;
    pool.close().await;
    result
}

/// A 2xx answer's JSON, or why not.
async fn json_of(res: reqwest::Result<reqwest::Response>) -> Result<Value, String> {
    let res = res.map_err(describe)?;
    let status = res.status();
    let body = res.bytes().await.map_err(describe)?;
    let value = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        let code = value["code"].as_str().unwrap_or_default();
        Err(format!("HTTP {} {code}", status.as_u16()))
    }
}

/// The product body of the `i`th POST: names, prices and editions vary.
fn product_body(i: usize) -> String {
    const BRANDS: [(&str, &str); 4] = [
        ("Nike", "sneakers"),
        ("Gentle Monster", "eyewear"),
        ("Ader Error", "apparel"),
        ("Maison Kitsuné", "apparel"),
    ];
    let (brand, category) = BRANDS[i % BRANDS.len()];
    json!({
        "name": format!("벤치마크 한정판 {i:05}"),
        "brand": brand,
        "category": category,
        "edition_size": 100 + (i % 900) as u32,
        "retail_price_krw": 99_000 + (i as u64 % 50) * 1_000,
    })
    .to_string()
}

/// Nearest-rank percentile of sorted samples: the smallest with at least `p` of them at or below.
fn pct(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n.max(1));
    sorted.get(rank - 1).copied().unwrap_or(f64::NAN)
}

/// An `anchor_batches` row: leaf_count, status, tx_hash, block_number.
type BatchSql = (i32, String, Option<Vec<u8>>, Option<i64>);

struct BatchRow {
    leaf_count: i64,
    status: String,
    block_number: Option<i64>,
    gas: Option<u64>,
}

struct E2eResult {
    products: usize,
    concurrency: usize,
    ok: usize,
    errors: usize,
    error_kinds: BTreeMap<String, u64>,
    /// From the first POST until the last POST's answer.
    api_seconds: f64,
    api_p50_ms: f64,
    api_p99_ms: f64,
    api_max_ms: f64,
    /// From the first POST until the outbox shows every created product anchored.
    anchored_seconds: f64,
    /// Per product: from enqueued (its POST's transaction) to its batch confirmed.
    wait_p50_s: f64,
    wait_p99_s: f64,
    wait_max_s: f64,
    batches: Vec<BatchRow>,
    /// `GET /v1/products/{id}` after the run, by `chain.status`.
    http_statuses: BTreeMap<String, u64>,
}

impl E2eResult {
    fn api_rps(&self) -> f64 {
        self.ok as f64 / self.api_seconds
    }

    fn anchored_per_s(&self) -> f64 {
        self.ok as f64 / self.anchored_seconds
    }

    fn batch_gas_total(&self) -> u64 {
        self.batches.iter().filter_map(|b| b.gas).sum()
    }
}

async fn e2e_load(
    settings: &Settings,
    chain: &ChainClient,
    base: &str,
    db_url: &str,
) -> anyhow::Result<E2eResult> {
    // One client, so connections are pooled and reused like a real keep-alive client's would be.
    // no_proxy: the run must stay on 127.0.0.1 whatever HTTP_PROXY says.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .build()?;
    let login = json_of(
        client
            .post(format!("{base}/v1/auth/login"))
            .header(CONTENT_TYPE, "application/json")
            .body(json!({"email": SELLER_EMAIL, "password": PASSWORD}).to_string())
            .send()
            .await,
    )
    .await
    .map_err(|e| anyhow!("seller login: {e}"))?;
    let bearer = format!(
        "Bearer {}",
        login["tokens"]["access_token"]
            .as_str()
            .context("login answer has no tokens.access_token")?
    );
    // A connection of our own for polling, so that the app's pool is the app's alone.
    let mut poll = PgConnection::connect(db_url).await?;

    // Bodies made up front so the client's JSON encoding is not part of the measurement.
    let bodies: Vec<String> = (0..settings.products).map(product_body).collect();
    let url = format!("{base}/v1/products");
    println!(
        "anchor_gas: {} products over HTTP, {} clients, worker batches of up to {} every {}",
        settings.products,
        settings.concurrency,
        settings.anchor_batch_max,
        settings.anchor_batch_interval
    );

    let start = Instant::now();
    let answers: Vec<Result<(Uuid, Duration), String>> = futures::stream::iter(bodies)
        .map(|body| {
            let req = client
                .post(url.as_str())
                .header(CONTENT_TYPE, "application/json")
                .header(AUTHORIZATION, bearer.as_str())
                .body(body);
            async move {
                let sent = Instant::now();
                let v = json_of(req.send().await).await?;
                let elapsed = sent.elapsed();
                let id = v["id"]
                    .as_str()
                    .and_then(|s| s.parse::<Uuid>().ok())
                    .ok_or("answer without an id")?;
                Ok((id, elapsed))
            }
        })
        .buffer_unordered(settings.concurrency)
        .collect()
        .await;
    let api_elapsed = start.elapsed();

    let mut ids = Vec::new();
    let mut latencies = Vec::new();
    let mut error_kinds = BTreeMap::<String, u64>::new();
    for answer in answers {
        match answer {
            Ok((id, latency)) => {
                ids.push(id);
                latencies.push(latency.as_secs_f64() * 1e3);
            }
            Err(kind) => *error_kinds.entry(kind).or_default() += 1,
        }
    }
    if ids.is_empty() {
        bail!("no product was created: {error_kinds:?}");
    }
    latencies.sort_by(f64::total_cmp);

    // Until every product the API accepted is in a mined (or confirmed) batch.
    let want = ids.len() as i64;
    let anchored_elapsed = loop {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM anchor_items i JOIN anchor_batches b ON b.id = i.batch_id
             WHERE b.status IN ('mined', 'confirmed')",
        )
        .fetch_one(&mut poll)
        .await?;
        if n >= want {
            break start.elapsed();
        }
        if start.elapsed() > settings.timeout {
            bail!(
                "only {n} of {want} products were anchored after {:.0} s (RUST_LOG=warn shows the worker's errors)",
                settings.timeout.as_secs_f64()
            );
        }
        tokio::time::sleep(POLL_EVERY).await;
    };

    // Everything below is after the measurement.
    let mut waits: Vec<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM b.confirmed_at - i.enqueued_at)::float8
         FROM anchor_items i JOIN anchor_batches b ON b.id = i.batch_id
         WHERE b.confirmed_at IS NOT NULL",
    )
    .fetch_all(&mut poll)
    .await?;
    waits.sort_by(f64::total_cmp);
    let rows: Vec<BatchSql> = sqlx::query_as(
        "SELECT leaf_count, status, tx_hash, block_number FROM anchor_batches ORDER BY id",
    )
    .fetch_all(&mut poll)
    .await?;
    poll.close().await?;
    let mut batches = Vec::with_capacity(rows.len());
    for (leaf_count, status, tx, block_number) in rows {
        let gas = match tx.as_deref().map(B256::try_from) {
            Some(Ok(tx)) => chain.gas_used(tx).await?,
            _ => None,
        };
        batches.push(BatchRow {
            leaf_count: i64::from(leaf_count),
            status,
            block_number,
            gas,
        });
    }

    // What a client sees: every product's GET answer says anchored (or confirmed).
    let statuses: Vec<Result<String, String>> = futures::stream::iter(ids.iter().copied())
        .map(|id| {
            let req = client.get(format!("{base}/v1/products/{id}"));
            async move {
                let v = json_of(req.send().await).await?;
                Ok(v["chain"]["status"].as_str().unwrap_or("?").to_owned())
            }
        })
        .buffer_unordered(settings.concurrency)
        .collect()
        .await;
    let mut http_statuses = BTreeMap::<String, u64>::new();
    for s in statuses {
        *http_statuses
            .entry(s.unwrap_or_else(|e| format!("error: {e}")))
            .or_default() += 1;
    }
    let seen: u64 = ["anchored", "confirmed"]
        .iter()
        .filter_map(|s| http_statuses.get(*s))
        .sum();
    ensure!(
        seen == ids.len() as u64,
        "the outbox says all {} products are anchored, but GET /v1/products/{{id}} says {http_statuses:?}",
        ids.len()
    );

    Ok(E2eResult {
        products: settings.products,
        concurrency: settings.concurrency,
        ok: ids.len(),
        errors: error_kinds.values().sum::<u64>() as usize,
        error_kinds,
        api_seconds: api_elapsed.as_secs_f64(),
        api_p50_ms: pct(&latencies, 0.50),
        api_p99_ms: pct(&latencies, 0.99),
        api_max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        anchored_seconds: anchored_elapsed.as_secs_f64(),
        wait_p50_s: pct(&waits, 0.50),
        wait_p99_s: pct(&waits, 0.99),
        wait_max_s: waits.last().copied().unwrap_or(f64::NAN),
        batches,
        http_statuses,
    })
}

// ---------------------------------------------------------------------------------------------
// The report.

struct Report {
    settings: Settings,
    cores: usize,
    node: String,
    registry: String,
    gas: GasResult,
    e2e: E2eResult,
}

impl Report {
    fn to_json(&self) -> Value {
        let s = &self.settings;
        let g = &self.gas;
        let e = &self.e2e;
        let baseline = g.baseline.gas_per_product();
        let row = |r: &GasRow| {
            json!({
                "batch_size": r.batch_size,
                "transactions": r.txs,
                "gas_per_tx_avg": r.gas_avg,
                "gas_per_tx_min": r.gas_min,
                "gas_per_tx_max": r.gas_max,
                "gas_per_product": r.gas_per_product(),
                "baseline_over_this": baseline / r.gas_per_product(),
                "calldata_bytes": r.calldata_bytes,
                "proof_hashes_max": r.max_proof_len,
                "tree_build_ms_avg": r.build_ms_avg,
            })
        };
        json!({
            "generated_at": chrono::Utc::now().to_rfc3339(),
            "machine": { "cores": self.cores },
            "chain": {
                "node": self.node,
                "chain_id": CHAIN_ID,
                "mining": "automine",
                "registry": self.registry,
            },
            "settings": {
                "gas_batches_per_size": s.gas_batches,
                "baseline_products": s.baseline_products,
                "revokes": s.revokes,
                "products": s.products,
                "concurrency": s.concurrency,
                "anchor_batch_max": s.anchor_batch_max,
                "anchor_batch_interval": s.anchor_batch_interval,
                "chain_confirmations": 1,
                "db_max_connections": s.db_max_connections,
            },
            "gas": {
                "baseline_one_tx_per_product": row(&g.baseline),
                "batches": g.batches.iter().map(row).collect::<Vec<_>>(),
                "revoke": {
                    "transactions": s.revokes,
                    "gas_per_tx_avg": g.revoke_gas_avg,
                    "gas_per_tx_min": g.revoke_gas_min,
                    "gas_per_tx_max": g.revoke_gas_max,
                    "calldata_bytes": g.revoke_calldata_bytes,
                },
            },
            "end_to_end": {
                "products": e.products,
                "concurrency": e.concurrency,
                "created": e.ok,
                "errors": e.errors,
                "error_kinds": e.error_kinds,
                "api": {
                    "seconds": e.api_seconds,
                    "requests_per_s": e.api_rps(),
                    "p50_ms": e.api_p50_ms,
                    "p99_ms": e.api_p99_ms,
                    "max_ms": e.api_max_ms,
                },
                "anchored": {
                    "seconds_from_first_post": e.anchored_seconds,
                    "products_per_s": e.anchored_per_s(),
                    "wait_p50_s": e.wait_p50_s,
                    "wait_p99_s": e.wait_p99_s,
                    "wait_max_s": e.wait_max_s,
                },
                "batches": e.batches.iter().map(|b| json!({
                    "leaf_count": b.leaf_count,
                    "status": b.status,
                    "block_number": b.block_number,
                    "gas": b.gas,
                })).collect::<Vec<_>>(),
                "batch_count": e.batches.len(),
                "gas_total": e.batch_gas_total(),
                "gas_per_product": e.batch_gas_total() as f64 / e.ok as f64,
                "http_statuses": e.http_statuses,
            },
        })
    }
}

/// 1234567 as "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 48355.46 as "48,355.5".
fn tenths(x: f64) -> String {
    let t = (x * 10.0).round() as u64;
    format!("{}.{}", thousands(t / 10), t % 10)
}

fn print_report(r: &Report) {
    let s = &r.settings;
    let g = &r.gas;
    let e = &r.e2e;
    println!();
    println!(
        "anchor_gas: {}, chain {CHAIN_ID} (automine), registry {}, {} cores",
        r.node, r.registry, r.cores
    );
    println!();
    println!("Gas of anchoring (one anchor(root) transaction per batch)");
    println!(
        "{:<18} {:>5} {:>11} {:>19} {:>11} {:>10} {:>9} {:>7} {:>9}",
        "", "txs", "gas/tx", "min..max", "gas/prod", "vs 1/prod", "calldata", "proof", "build ms"
    );
    println!("{}", "-".repeat(108));
    let baseline = g.baseline.gas_per_product();
    for row in std::iter::once(&g.baseline).chain(&g.batches) {
        println!(
            "{:<18} {:>5} {:>11} {:>19} {:>11} {:>9.1}× {:>7} B {:>7} {:>9.3}",
            row.label,
            row.txs,
            thousands(row.gas_avg.round() as u64),
            format!("{}..{}", thousands(row.gas_min), thousands(row.gas_max)),
            tenths(row.gas_per_product()),
            baseline / row.gas_per_product(),
            row.calldata_bytes,
            row.max_proof_len,
            row.build_ms_avg,
        );
    }
    println!(
        "{:<18} {:>5} {:>11} {:>19} {:>11} {:>10} {:>7} B",
        "revoke (1 record)",
        s.revokes,
        thousands(g.revoke_gas_avg.round() as u64),
        format!(
            "{}..{}",
            thousands(g.revoke_gas_min),
            thousands(g.revoke_gas_max)
        ),
        "",
        "",
        g.revoke_calldata_bytes,
    );
    println!(
        "calldata: the 4-byte selector + one 32-byte root, whatever the batch size; proof: the most \
         sibling hashes one product's proof needs (off chain, in its bundle); build ms: the tree \
         and every proof"
    );
    if let Some(big) = g.batches.last() {
        println!(
            "{} products: {} gas as 1 tx each, {} gas in batches of {}",
            big.batch_size,
            thousands((baseline * big.batch_size as f64).round() as u64),
            thousands(big.gas_avg.round() as u64),
            big.batch_size
        );
    }

    println!();
    println!(
        "From the API to anchored: {} products, {} clients, ANCHOR_BATCH_MAX={}, \
         ANCHOR_BATCH_INTERVAL={}, CHAIN_CONFIRMATIONS=1",
        e.products, e.concurrency, s.anchor_batch_max, s.anchor_batch_interval
    );
    println!(
        "{:<30} {:>8} {:>7} {:>9} {:>10} {:>9} {:>9} {:>9}",
        "phase", "ok", "errors", "seconds", "per s", "p50", "p99", "max"
    );
    println!("{}", "-".repeat(98));
    println!(
        "{:<30} {:>8} {:>7} {:>9.2} {:>10.1} {:>6.2} ms {:>6.2} ms {:>6.2} ms",
        "POST /v1/products",
        e.ok,
        e.errors,
        e.api_seconds,
        e.api_rps(),
        e.api_p50_ms,
        e.api_p99_ms,
        e.api_max_ms
    );
    println!(
        "{:<30} {:>8} {:>7} {:>9.2} {:>10.1} {:>7.2} s {:>7.2} s {:>7.2} s",
        "first POST -> all anchored",
        e.ok,
        e.errors,
        e.anchored_seconds,
        e.anchored_per_s(),
        e.wait_p50_s,
        e.wait_p99_s,
        e.wait_max_s
    );
    println!(
        "(p50/p99/max of the second row: each product's wait from its POST's commit to its batch confirmed)"
    );
    let sizes: Vec<String> = e.batches.iter().map(|b| b.leaf_count.to_string()).collect();
    println!(
        "{} batches (sizes {}), {} gas in all, {:.1} gas per product; GET /v1/products/{{id}}: {:?}",
        e.batches.len(),
        sizes.join(", "),
        thousands(e.batch_gas_total()),
        e.batch_gas_total() as f64 / e.ok as f64,
        e.http_statuses
    );
    if e.errors > 0 {
        println!("  POST errors: {:?}", e.error_kinds);
    }
}
