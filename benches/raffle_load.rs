//! Raffle entries at a drop, and the draw order over a million tickets. Run it with
//! `cargo bench --bench raffle_load`; see bench/README.md for the settings and how to read the
//! numbers.
//!
//! One run, two parts:
//!
//! 1. Entry intake: a private anvil (automine) with a freshly deployed `TruffleRegistry`, a fresh
//!    database, the app started in-process (as benches/anchor_gas.rs does), an anchored product and
//!    a raffle opened for it the way tests/api/raffles.rs opens one (commitment on chain). Then
//!    `BENCH_BUYERS` verified buyers, logged in beforehand, all `POST /v1/raffles/{id}/entry` at
//!    once from `BENCH_CONCURRENCY` clients; afterwards the `entries` table is checked for lost and
//!    duplicate entries. Baselines on the same database: the bare `INSERT INTO entries` of the same
//!    rows from as many tasks over a pool of the app's size, and the app's entry transaction run
//!    directly (no HTTP, no auth).
//! 2. The draw: `truffle.draw/1` ordering of 10,000, 100,000 and 1,000,000 tickets for a fixed
//!    randomness R, the ticket Merkle tree, and a verifier's recomputation of the order, with the
//!    process's peak RSS.
//!
//! A table on stdout, JSON in bench/results/raffle_load.json, and the database dropped and anvil
//! stopped again, whatever happened.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use anyhow::{Context, anyhow, bail, ensure};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use truffle::accounts::password;
use truffle::chain::ChainClient;
use truffle::chain::worker::AnchorWorker;
use truffle::protocol::draw;
use truffle::protocol::merkle::Hash;
use truffle::raffles::worker::DrawWorker;
use truffle::raffles::{RaffleState, public_state, store};
use uuid::Uuid;

#[path = "common/mod.rs"]
mod common;

use common::{DevAnvil, InProcess, PASSWORD, SELLER_EMAIL, admin_url, describe, num};

/// No single request may hang the run, even if the server stalls.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Winners of the benchmark raffle (the product's edition is 100).
const WINNERS: u32 = 10;
/// The ticket counts ordered below `BENCH_DRAW_TICKETS`, to show how the draw scales.
const SCALING: [usize; 2] = [10_000, 100_000];

/// What a run does, from `BENCH_*` variables so that it can be rerun with other settings.
#[derive(Debug, Clone)]
struct Settings {
    admin_url: String,
    buyers: usize,
    concurrency: usize,
    db_max_connections: u32,
    draw_tickets: usize,
    /// Timed runs per step of the draw part (more for the small sizes); the median is reported.
    draw_repeats: usize,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let s = Settings {
            admin_url: admin_url(),
            buyers: num("BENCH_BUYERS", 2_000usize)?,
            concurrency: num("BENCH_CONCURRENCY", 64usize)?,
            db_max_connections: num("BENCH_DB_MAX_CONNECTIONS", 20u32)?,
            draw_tickets: num("BENCH_DRAW_TICKETS", 1_000_000usize)?,
            draw_repeats: num("BENCH_DRAW_REPEATS", 3usize)?,
        };
        if s.buyers == 0
            || s.concurrency == 0
            || s.db_max_connections == 0
            || s.draw_tickets < 2
            || s.draw_repeats == 0
        {
            bail!(
                "BENCH_BUYERS, BENCH_CONCURRENCY, BENCH_DB_MAX_CONNECTIONS and BENCH_DRAW_REPEATS \
                 must be above zero, BENCH_DRAW_TICKETS at least 2"
            );
        }
        // Distinct phone numbers (and so person hashes) are made from 7 digits.
        if s.buyers > 9_999_999 {
            bail!("BENCH_BUYERS must stay under 10,000,000");
        }
        // The draw indexes tickets with u32.
        if s.draw_tickets > u32::MAX as usize {
            bail!("BENCH_DRAW_TICKETS must fit in a u32");
        }
        Ok(s)
    }

    /// The ticket counts of the draw part, smallest first.
    fn draw_sizes(&self) -> Vec<usize> {
        let mut sizes: Vec<usize> = SCALING
            .into_iter()
            .filter(|&n| n < self.draw_tickets)
            .collect();
        sizes.push(self.draw_tickets);
        sizes
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !common::run_as_bench("raffle_load") {
        return Ok(());
    }
    let settings = Settings::from_env()?;

    // Our own anvil; dropping it stops it.
    let anvil = DevAnvil::start()?;

    // Ctrl-C abandons the run but still falls through to the DROP and anvil's shutdown below.
    let outcome = common::in_fresh_database(&settings.admin_url, |db_url| {
        let (settings, anvil) = (&settings, &anvil);
        async move { entry_part(settings, anvil, &db_url).await }
    })
    .await;
    // SIGTERM, then SIGKILL after 10 s (alloy's AnvilInstance::drop).
    drop(anvil);
    let entries = outcome?;
    // Part 2 resets the peak for each of its sizes; this is part 1's (and setup's) peak.
    let entry_part_peak_rss_kib = proc_status_kib("VmHWM");

    // Part 2 needs neither the database nor the chain: pure CPU, on a blocking thread.
    let draw_settings = settings.clone();
    let draw = tokio::select! {
        r = tokio::task::spawn_blocking(move || draw_part(&draw_settings)) => r??,
        _ = tokio::signal::ctrl_c() => {
            // Nothing is left to clean up; a blocking task cannot be cancelled, so leave now.
            eprintln!("interrupted");
            std::process::exit(130);
        }
    };

    let report = Report {
        settings: settings.clone(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        entries,
        draw,
        entry_part_peak_rss_kib,
    };
    print_report(&report);
    common::write_report("raffle_load", &report.to_json())?;

    let problems = report.entries.problems(settings.buyers);
    if !problems.is_empty() {
        bail!("entry checks failed: {}", problems.join("; "));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Part 1: entry intake.

/// The app's environment: the chain set up the way the raffle tests set it up (two
/// confirmations, batches only when forced).
fn app_env(
    settings: &Settings,
    db_url: &str,
    anvil: &DevAnvil,
    chain: &ChainClient,
) -> HashMap<String, String> {
    let mut env = common::bench_env(db_url, settings.db_max_connections);
    common::lift_auth_limits(&mut env);
    anvil.configure(&mut env, chain.registry(), 2);
    env.insert("SEARCH_INDEX_DIR".into(), common::index_dir("raffle_load"));
    env
}

async fn entry_part(
    settings: &Settings,
    anvil: &DevAnvil,
    db_url: &str,
) -> anyhow::Result<EntryResult> {
    let (_, chain) = common::deploy(anvil).await?;
    let node = chain
        .provider()
        .get_client_version()
        .await
        .unwrap_or_else(|_| "anvil".into());

    let state = common::start_app(&app_env(settings, db_url, anvil, &chain)).await?;
    let anchor_worker = state
        .anchor_worker
        .clone()
        .context("the app started without its anchoring worker")?;
    let draw_worker = state
        .draw_worker
        .clone()
        .context("the app started without its draw worker")?;
    let pool = state.db.clone();

    // Seed before serving: one argon2 hash, then plain inserts.
    let seed_started = Instant::now();
    let hash = password::hash(PASSWORD.to_owned()).await?;
    common::seed_seller(&state, &hash).await?;
    let buyers: Vec<Buyer> = common::seed_buyers(&state, settings.buyers, &hash)
        .await?
        .into_iter()
        .map(|(id, email)| Buyer { id, email })
        .collect();
    let seed_seconds = seed_started.elapsed().as_secs_f64();

    // No background workers: the anchoring and draw workers are driven by hand, as in the tests.
    let server = InProcess::serve(state, false).await?;
    let result = entry_load(
        settings,
        &Setup {
            chain: &chain,
            anchor_worker: &anchor_worker,
            draw_worker: &draw_worker,
            base: &server.base,
            pool: &pool,
            db_url,
            buyers: &buyers,
        },
    )
    .await
    .map(|mut r| {
        r.node = node;
        r.seed_seconds = seed_seconds;
        r
    });
    server.stop().await;
    pool.close().await;
    result
}

/// A seeded buyer: user id and email.
struct Buyer {
    id: Uuid,
    email: String,
}

/// Everything the load needs from the setup.
struct Setup<'a> {
    chain: &'a ChainClient,
    anchor_worker: &'a AnchorWorker,
    draw_worker: &'a DrawWorker,
    base: &'a str,
    pool: &'a PgPool,
    db_url: &'a str,
    buyers: &'a [Buyer],
}

/// A 2xx answer's JSON, or why not.
async fn json_of(res: reqwest::Result<reqwest::Response>) -> Result<(u16, Value), String> {
    let res = res.map_err(describe)?;
    let status = res.status();
    let body = res.bytes().await.map_err(describe)?;
    let value = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if status.is_success() {
        Ok((status.as_u16(), value))
    } else {
        let code = value["code"].as_str().unwrap_or_default();
        Err(format!("HTTP {} {code}", status.as_u16()))
    }
}

/// Nearest-rank percentile of sorted samples: the smallest with at least `p` of them at or below.
fn pct(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n.max(1));
    sorted.get(rank - 1).copied().unwrap_or(f64::NAN)
}

/// Runs `n` jobs from `concurrency` spawned tasks, each taking the next index as soon as its last
/// job is done. Returns every job's result and latency, and the time until the last finished.
async fn run_tasks<T, F, Fut>(
    n: usize,
    concurrency: usize,
    job: F,
) -> anyhow::Result<(Vec<(usize, Result<T, String>, Duration)>, Duration)>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, String>> + Send + 'static,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (job, next) = (job.clone(), next.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let sent = Instant::now();
                    let result = job(i).await;
                    done.push((i, result, sent.elapsed()));
                }
                done
            })
        })
        .collect();
    let mut all = Vec::with_capacity(n);
    for task in tasks {
        all.extend(task.await?);
    }
    Ok((all, start.elapsed()))
}

/// Successes, errors by kind, and latency of one timed phase.
#[derive(Debug, Clone)]
struct Phase {
    name: &'static str,
    ok: usize,
    error_kinds: BTreeMap<String, u64>,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Phase {
    fn new<T>(
        name: &'static str,
        results: &[(usize, Result<T, String>, Duration)],
        elapsed: Duration,
    ) -> Phase {
        let mut latencies = Vec::with_capacity(results.len());
        let mut error_kinds = BTreeMap::<String, u64>::new();
        for (_, r, latency) in results {
            match r {
                Ok(_) => latencies.push(latency.as_secs_f64() * 1e3),
                Err(kind) => *error_kinds.entry(kind.clone()).or_default() += 1,
            }
        }
        latencies.sort_by(f64::total_cmp);
        Phase {
            name,
            ok: latencies.len(),
            error_kinds,
            seconds: elapsed.as_secs_f64(),
            p50_ms: pct(&latencies, 0.50),
            p99_ms: pct(&latencies, 0.99),
            max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        }
    }

    fn errors(&self) -> u64 {
        self.error_kinds.values().sum()
    }

    fn per_s(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "ok": self.ok,
            "errors": self.errors(),
            "error_kinds": self.error_kinds,
            "seconds": self.seconds,
            "per_s": self.per_s(),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        })
    }
}

/// What the `entries` table says after the HTTP phase.
#[derive(Debug, Clone, Default)]
struct EntryChecks {
    /// Rows of the raffle in `entries`.
    rows: i64,
    /// 201 answers whose entry is in the table with the ticket the answer gave.
    matched: usize,
    /// `BENCH_BUYERS` − matched.
    lost: usize,
    /// Rows beyond one per person.
    duplicate_persons: i64,
    /// Rows beyond one per ticket.
    duplicate_tickets: i64,
    /// 201 answers beyond one per entry id.
    duplicate_answers: usize,
    /// 201 answers whose ticket is not sha256("truffle.entry/1" ‖ raffle id ‖ entry id).
    ticket_mismatches: usize,
    /// `entry_count` of `GET /v1/raffles/{id}` afterwards.
    api_entry_count: i64,
}

impl EntryChecks {
    fn duplicates(&self) -> u64 {
        (self.duplicate_persons + self.duplicate_tickets) as u64 + self.duplicate_answers as u64
    }
}

#[derive(Debug, Clone)]
struct EntryResult {
    node: String,
    raffle_id: Uuid,
    seed_seconds: f64,
    /// From the seller's login to the raffle open (product, anchoring, raffle, commitment).
    open_seconds: f64,
    logins: Phase,
    entries: Phase,
    checks: EntryChecks,
    raw_insert: Phase,
    raw_insert_rows: i64,
    app_tx: Phase,
    app_tx_rows: i64,
}

impl EntryResult {
    /// Entries per second as a share of the raw insert ceiling.
    fn ratio(&self) -> f64 {
        self.entries.per_s() / self.raw_insert.per_s()
    }

    /// What went wrong, if anything: lost or duplicated entries, a short table.
    fn problems(&self, n: usize) -> Vec<String> {
        let c = &self.checks;
        let mut p = Vec::new();
        if c.lost != 0 {
            p.push(format!("{} entries lost", c.lost));
        }
        if c.duplicates() != 0 {
            p.push(format!("{} duplicates", c.duplicates()));
        }
        if c.rows != n as i64 {
            p.push(format!("{} rows in entries, not {n}", c.rows));
        }
        if c.ticket_mismatches != 0 {
            p.push(format!("{} tickets do not match", c.ticket_mismatches));
        }
        if self.raw_insert_rows != n as i64 {
            p.push(format!(
                "raw insert baseline left {} rows, not {n}",
                self.raw_insert_rows
            ));
        }
        if self.app_tx_rows != n as i64 {
            p.push(format!(
                "direct transaction baseline left {} rows, not {n}",
                self.app_tx_rows
            ));
        }
        p
    }
}

async fn entry_load(settings: &Settings, s: &Setup<'_>) -> anyhow::Result<EntryResult> {
    let n = settings.buyers;
    // One client, so connections are pooled and reused like a real keep-alive client's would be.
    // no_proxy: the run must stay on 127.0.0.1 whatever HTTP_PROXY says.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .build()?;
    let base = s.base;

    // The seller, an anchored product and an open raffle, as tests/api/raffles.rs makes them.
    let open_started = Instant::now();
    let (_, login) = json_of(
        client
            .post(format!("{base}/v1/auth/login"))
            .header(CONTENT_TYPE, "application/json")
            .body(json!({"email": SELLER_EMAIL, "password": PASSWORD}).to_string())
            .send()
            .await,
    )
    .await
    .map_err(|e| anyhow!("seller login: {e}"))?;
    let seller = format!(
        "Bearer {}",
        login["tokens"]["access_token"]
            .as_str()
            .context("login answer has no tokens.access_token")?
    );
    let (_, product) = json_of(
        client
            .post(format!("{base}/v1/products"))
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, seller.as_str())
            .body(
                json!({"name": "아더에러 x 푸마 스피드캣", "brand": "Ader Error",
                       "category": "sneakers", "edition_size": 100, "retail_price_krw": 159000})
                .to_string(),
            )
            .send()
            .await,
    )
    .await
    .map_err(|e| anyhow!("POST /v1/products: {e}"))?;
    let product_id = product["id"]
        .as_str()
        .context("product answer without an id")?
        .to_owned();
    // Batch sent (automine mines it), one more block for the second confirmation, confirmed.
    s.anchor_worker.pass(true).await?;
    s.chain.provider().anvil_mine(Some(1), None).await?;
    s.anchor_worker.pass(false).await?;
    let (_, product) = json_of(
        client
            .get(format!("{base}/v1/products/{product_id}"))
            .send()
            .await,
    )
    .await
    .map_err(|e| anyhow!("GET /v1/products/{{id}}: {e}"))?;
    let status = product["chain"]["status"].as_str().unwrap_or("?");
    ensure!(
        matches!(status, "anchored" | "confirmed"),
        "the product is {status} after the anchoring passes, not anchored"
    );

    let now: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT now()").fetch_one(s.pool).await?;
    let (code, raffle) = json_of(
        client
            .post(format!("{base}/v1/raffles"))
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, seller.as_str())
            .body(
                json!({
                    "product_id": product_id,
                    "winners": WINNERS,
                    "opens_at": now.to_rfc3339(),
                    // Long enough that it is open throughout the run; the run never closes it.
                    "closes_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
                    "payment_window_hours": 24,
                })
                .to_string(),
            )
            .send()
            .await,
    )
    .await
    .map_err(|e| anyhow!("POST /v1/raffles: {e}"))?;
    ensure!(code == 201, "POST /v1/raffles answered {code}: {raffle}");
    let raffle_id: Uuid = raffle["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .context("raffle answer without an id")?;
    s.draw_worker.pass().await?; // commit sent (automine mines it)
    s.draw_worker.pass().await?; // commit seen on chain
    let (_, raffle) = json_of(
        client
            .get(format!("{base}/v1/raffles/{raffle_id}"))
            .send()
            .await,
    )
    .await
    .map_err(|e| anyhow!("GET /v1/raffles/{{id}}: {e}"))?;
    ensure!(
        raffle["state"] == "open",
        "the raffle is not open after two draw-worker passes: {raffle}"
    );
    let open_seconds = open_started.elapsed().as_secs_f64();

    println!(
        "raffle_load: raffle {raffle_id} open; logging in {n} buyers ({} clients)",
        settings.concurrency
    );
    // Every buyer logs in once, outside the measurement (and so the app's pool is warm).
    let login_url = Arc::new(format!("{base}/v1/auth/login"));
    let bodies: Arc<Vec<String>> = Arc::new(
        s.buyers
            .iter()
            .map(|b| json!({"email": b.email, "password": PASSWORD}).to_string())
            .collect(),
    );
    let (results, elapsed) = run_tasks(n, settings.concurrency, {
        let (client, url, bodies) = (client.clone(), login_url, bodies);
        move |i| {
            let req = client
                .post(url.as_str())
                .header(CONTENT_TYPE, "application/json")
                .body(bodies[i].clone());
            async move {
                let (_, v) = json_of(req.send().await).await?;
                v["tokens"]["access_token"]
                    .as_str()
                    .map(|t| format!("Bearer {t}"))
                    .ok_or_else(|| "login answer has no tokens.access_token".to_owned())
            }
        }
    })
    .await?;
    let logins = Phase::new("POST /v1/auth/login", &results, elapsed);
    let mut bearers = vec![String::new(); n];
    for (i, r, _) in results {
        bearers[i] = r.map_err(|e| anyhow!("buyer {i} could not log in: {e}"))?;
    }
    let bearers = Arc::new(bearers);

    // The drop: every buyer enters at once.
    println!(
        "raffle_load: {n} entries from {} clients",
        settings.concurrency
    );
    let entry_url = Arc::new(format!("{base}/v1/raffles/{raffle_id}/entry"));
    let (results, elapsed) = run_tasks(n, settings.concurrency, {
        let (client, url, bearers) = (client.clone(), entry_url, bearers.clone());
        move |i| {
            let req = client
                .post(url.as_str())
                .header(AUTHORIZATION, bearers[i].as_str());
            async move {
                let (code, v) = json_of(req.send().await).await?;
                if code != 201 {
                    return Err(format!("HTTP {code} (not 201)"));
                }
                let id = v["id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
                let ticket = v["ticket"].as_str().map(str::to_owned);
                match (id, ticket) {
                    (Some(id), Some(ticket)) => Ok((id, ticket)),
                    _ => Err("201 without id or ticket".into()),
                }
            }
        }
    })
    .await?;
    let entries = Phase::new("POST /v1/raffles/{id}/entry", &results, elapsed);

    // Afterwards, not timed: what the table holds.
    let answered: Vec<(Uuid, String)> =
        results.into_iter().filter_map(|(_, r, _)| r.ok()).collect();
    let checks = check_entries(s, &client, raffle_id, n, &answered).await?;

    // Baselines on the same database, each into a raffle row of its own (a copy of the open
    // one), from as many tasks as there were clients over a pool of the app's size.
    let bench_pool = PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(s.db_url)
        .await?;
    warm(&bench_pool, settings.db_max_connections).await?;
    let user_ids: Arc<Vec<Uuid>> = Arc::new(s.buyers.iter().map(|b| b.id).collect());

    let raw_raffle = copy_raffle(&bench_pool, raffle_id).await?;
    println!("raffle_load: baseline, {n} bare INSERTs into entries");
    let (results, elapsed) = run_tasks(n, settings.concurrency, {
        let (pool, users) = (bench_pool.clone(), user_ids.clone());
        move |i| {
            let (pool, user) = (pool.clone(), users[i]);
            async move {
                let id = Uuid::now_v7();
                let ticket = draw::ticket(raw_raffle, id);
                sqlx::query(
                    "INSERT INTO entries (id, raffle_id, user_id, ticket) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(raw_raffle)
                .bind(user)
                .bind(&ticket[..])
                .execute(&pool)
                .await
                .map(|_| ())
                .map_err(|e| format!("sql: {e}"))
            }
        }
    })
    .await?;
    let raw_insert = Phase::new("bare INSERT INTO entries", &results, elapsed);
    let raw_insert_rows = count_entries(&bench_pool, raw_raffle).await?;

    let tx_raffle = copy_raffle(&bench_pool, raffle_id).await?;
    println!("raffle_load: baseline, {n} entry transactions without HTTP");
    let (results, elapsed) = run_tasks(n, settings.concurrency, {
        let (pool, users) = (bench_pool.clone(), user_ids.clone());
        move |i| {
            let (pool, user) = (pool.clone(), users[i]);
            async move {
                enter_directly(&pool, tx_raffle, user)
                    .await
                    .map_err(|e| format!("{e:#}"))
            }
        }
    })
    .await?;
    let app_tx = Phase::new("entry transaction, no HTTP", &results, elapsed);
    let app_tx_rows = count_entries(&bench_pool, tx_raffle).await?;
    bench_pool.close().await;

    Ok(EntryResult {
        node: String::new(),
        raffle_id,
        seed_seconds: 0.0,
        open_seconds,
        logins,
        entries,
        checks,
        raw_insert,
        raw_insert_rows,
        app_tx,
        app_tx_rows,
    })
}

/// Checks the `entries` rows of the raffle against the 201 answers.
async fn check_entries(
    s: &Setup<'_>,
    client: &reqwest::Client,
    raffle_id: Uuid,
    n: usize,
    answered: &[(Uuid, String)],
) -> anyhow::Result<EntryChecks> {
    let rows: Vec<(Uuid, Uuid, Vec<u8>)> =
        sqlx::query_as("SELECT id, user_id, ticket FROM entries WHERE raffle_id = $1")
            .bind(raffle_id)
            .fetch_all(s.pool)
            .await?;
    let by_id: HashMap<Uuid, &[u8]> = rows.iter().map(|(id, _, t)| (*id, &t[..])).collect();
    let persons: HashSet<Uuid> = rows.iter().map(|(_, u, _)| *u).collect();
    let tickets: HashSet<&[u8]> = rows.iter().map(|(_, _, t)| &t[..]).collect();
    let answer_ids: HashSet<Uuid> = answered.iter().map(|(id, _)| *id).collect();

    let mut matched = 0;
    let mut ticket_mismatches = 0;
    for (id, ticket) in answered {
        let expected = alloy::hex::encode_prefixed(draw::ticket(raffle_id, *id));
        if *ticket != expected {
            ticket_mismatches += 1;
        }
        if by_id
            .get(id)
            .is_some_and(|t| alloy::hex::encode_prefixed(t) == *ticket)
        {
            matched += 1;
        }
    }
    let (_, raffle) = json_of(
        client
            .get(format!("{}/v1/raffles/{raffle_id}", s.base))
            .send()
            .await,
    )
    .await
    .map_err(|e| anyhow!("GET /v1/raffles/{{id}}: {e}"))?;
    Ok(EntryChecks {
        rows: rows.len() as i64,
        matched,
        lost: n.saturating_sub(matched),
        duplicate_persons: (rows.len() - persons.len()) as i64,
        duplicate_tickets: (rows.len() - tickets.len()) as i64,
        duplicate_answers: answered.len() - answer_ids.len(),
        ticket_mismatches,
        api_entry_count: raffle["entry_count"].as_i64().unwrap_or(-1),
    })
}

/// Opens every connection of the pool at once, so the baseline does not time connecting.
async fn warm(pool: &PgPool, size: u32) -> anyhow::Result<()> {
    let mut held = Vec::with_capacity(size as usize);
    for _ in 0..size {
        held.push(pool.acquire().await?);
    }
    for conn in &mut held {
        sqlx::query("SELECT 1").execute(&mut **conn).await?;
    }
    Ok(())
}

/// A second raffle row like `id` (same product, seller, times; stage committed, so open).
async fn copy_raffle(pool: &PgPool, id: Uuid) -> anyhow::Result<Uuid> {
    let copy = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO raffles (id, product_id, product_content_hash, seller_id, price_krw, winners,
                              opens_at, closes_at, payment_window_secs, stage, seed_sealed, seed_hash)
         SELECT $2, product_id, product_content_hash, seller_id, price_krw, winners,
                opens_at, closes_at, payment_window_secs, 'committed', seed_sealed, seed_hash
         FROM raffles WHERE id = $1",
    )
    .bind(id)
    .bind(copy)
    .execute(pool)
    .await?;
    Ok(copy)
}

async fn count_entries(pool: &PgPool, raffle_id: Uuid) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM entries WHERE raffle_id = $1")
            .bind(raffle_id)
            .fetch_one(pool)
            .await?,
    )
}

/// What `Raffles::enter` did in the database for one entry alone, without HTTP, auth or JSON: the
/// raffle row locked shared, the database's clock, the state check, the insert (a lot of one).
async fn enter_directly(pool: &PgPool, raffle_id: Uuid, user: Uuid) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let row = store::lock_shared(&mut *tx, raffle_id)
        .await?
        .context("no such raffle")?;
    let now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    ensure!(
        public_state(&row, now) == RaffleState::Open,
        "the raffle is not open"
    );
    let id = Uuid::now_v7();
    let ticket = draw::ticket(raffle_id, id);
    store::insert_entries(&mut *tx, raffle_id, &[id], &[user], &[ticket.to_vec()]).await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Part 2: the draw over many tickets.

/// A field of /proc/self/status in KiB (VmHWM: peak resident set, VmRSS: resident now).
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so each size's peak is its own.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The fixed R of the run: sha256(seed ‖ block hash) of two constants, as the contract makes it.
fn fixed_randomness() -> Hash {
    let seed: Hash = Sha256::digest(b"raffle_load seed").into();
    let block_hash: Hash = Sha256::digest(b"raffle_load block").into();
    draw::randomness(&seed, &block_hash)
}

/// The median wall time of `reps` runs of `f`, in ms; `f` says whether its result was right.
fn median_ms(reps: usize, mut f: impl FnMut() -> bool) -> anyhow::Result<f64> {
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        let ok = f();
        samples.push(start.elapsed().as_secs_f64() * 1e3);
        ensure!(ok, "a timed run gave a different result than the first");
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

#[derive(Debug, Clone)]
struct DrawRow {
    tickets: usize,
    reps: usize,
    generate_ms: f64,
    sort_ms: f64,
    order_ms: f64,
    ordered_tickets_ms: f64,
    tree_ms: f64,
    reorder_compare_ms: f64,
    verify_ms: f64,
    rss_before_kib: Option<u64>,
    peak_rss_kib: Option<u64>,
}

impl DrawRow {
    /// What this size added to the resident set at its peak.
    fn own_kib(&self) -> Option<u64> {
        Some(self.peak_rss_kib?.saturating_sub(self.rss_before_kib?))
    }
}

#[derive(Debug, Clone)]
struct DrawResult {
    randomness: Hash,
    peak_reset: bool,
    rows: Vec<DrawRow>,
}

fn draw_part(settings: &Settings) -> anyhow::Result<DrawResult> {
    let r = fixed_randomness();
    println!("raffle_load: ordering {:?} tickets", settings.draw_sizes());
    let mut rows = Vec::new();
    let mut peak_reset = true;
    for n in settings.draw_sizes() {
        peak_reset &= reset_peak_rss();
        let rss_before_kib = proc_status_kib("VmRSS");
        // More runs for the small sizes, so their medians are not one noisy sample.
        let reps = settings.draw_repeats.max((1_000_000 / n).min(100)).max(1);

        // n distinct tickets: sha256 of a counter, sorted as the published list is.
        let started = Instant::now();
        let mut tickets: Vec<Hash> = (0..n as u64)
            .map(|i| Sha256::digest(i.to_be_bytes()).into())
            .collect();
        let generate_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        tickets.sort_unstable();
        let sort_ms = started.elapsed().as_secs_f64() * 1e3;
        draw::check_list(&tickets).map_err(|e| anyhow!("{e}"))?;

        // The operator's side: the order (indexes), the tickets in order, the tree's root.
        let first_order = draw::order(n, &r);
        let order_ms = median_ms(reps, || {
            black_box(draw::order(n, black_box(&r))) == first_order
        })?;
        let ordered = draw::ordered_tickets(&tickets, &r);
        let ordered_tickets_ms = median_ms(reps, || {
            black_box(draw::ordered_tickets(black_box(&tickets), &r)).len() == n
        })?;
        let root = draw::ticket_tree(&tickets).context("no tickets")?.root();
        let tree_ms = median_ms(reps, || {
            black_box(draw::ticket_tree(black_box(&tickets)).map(|t| t.root())) == Some(root)
        })?;

        // The verifier's side: the order recomputed and compared with the published one, and all
        // of verify_draw's local work (list sorted and unique, root, order).
        let reorder_compare_ms = median_ms(reps, || {
            draw::ordered_tickets(black_box(&tickets), &r) == ordered
        })?;
        let verify_ms = median_ms(reps, || {
            draw::check_list(black_box(&tickets)).is_ok()
                && draw::ticket_tree(&tickets).map(|t| t.root()) == Some(root)
                && draw::ordered_tickets(&tickets, &r) == ordered
        })?;
        let peak_rss_kib = proc_status_kib("VmHWM");
        drop((tickets, ordered, first_order));

        rows.push(DrawRow {
            tickets: n,
            reps,
            generate_ms,
            sort_ms,
            order_ms,
            ordered_tickets_ms,
            tree_ms,
            reorder_compare_ms,
            verify_ms,
            rss_before_kib,
            peak_rss_kib,
        });
    }
    Ok(DrawResult {
        randomness: r,
        peak_reset,
        rows,
    })
}

// ---------------------------------------------------------------------------------------------
// The report.

struct Report {
    settings: Settings,
    cores: usize,
    entries: EntryResult,
    draw: DrawResult,
    /// VmHWM after part 1, before part 2 reset it.
    entry_part_peak_rss_kib: Option<u64>,
}

impl Report {
    /// The whole run's peak resident set: part 1's, or the largest of part 2's sizes.
    fn process_peak_rss_kib(&self) -> Option<u64> {
        self.draw
            .rows
            .iter()
            .filter_map(|r| r.peak_rss_kib)
            .chain(self.entry_part_peak_rss_kib)
            .max()
    }
}

fn mib(kib: Option<u64>) -> Option<f64> {
    kib.map(|k| k as f64 / 1024.0)
}

impl Report {
    fn to_json(&self) -> Value {
        let s = &self.settings;
        let e = &self.entries;
        let c = &e.checks;
        let problems = e.problems(s.buyers);
        json!({
            "generated_at": chrono::Utc::now().to_rfc3339(),
            "machine": { "cores": self.cores },
            "settings": {
                "buyers": s.buyers,
                "concurrency": s.concurrency,
                "db_max_connections": s.db_max_connections,
                "draw_tickets": s.draw_tickets,
                "draw_repeats": s.draw_repeats,
            },
            "entries": {
                "node": e.node,
                "raffle_id": e.raffle_id,
                "setup": {
                    "seed_seconds": e.seed_seconds,
                    "open_seconds": e.open_seconds,
                    "logins": e.logins.to_json(),
                },
                "http": e.entries.to_json(),
                "entries_per_s": e.entries.per_s(),
                "checks": {
                    "rows": c.rows,
                    "expected_rows": s.buyers,
                    "answers_201": e.entries.ok,
                    "matched": c.matched,
                    "lost": c.lost,
                    "duplicates": c.duplicates(),
                    "duplicate_persons": c.duplicate_persons,
                    "duplicate_tickets": c.duplicate_tickets,
                    "duplicate_answers": c.duplicate_answers,
                    "ticket_mismatches": c.ticket_mismatches,
                    "api_entry_count": c.api_entry_count,
                    "ok": problems.is_empty(),
                    "problems": problems,
                },
                "baseline_raw_insert": {
                    "sql": "INSERT INTO entries (id, raffle_id, user_id, ticket) VALUES ($1, $2, $3, $4)",
                    "pool": s.db_max_connections,
                    "tasks": s.concurrency,
                    "rows": e.raw_insert_rows,
                    "phase": e.raw_insert.to_json(),
                    "rows_per_s": e.raw_insert.per_s(),
                },
                "baseline_entry_transaction": {
                    "what": "Raffles::enter's SQL without HTTP: BEGIN; raffle row FOR SHARE with its entry count; now(); INSERT; COMMIT",
                    "rows": e.app_tx_rows,
                    "phase": e.app_tx.to_json(),
                    "rows_per_s": e.app_tx.per_s(),
                },
                "entries_over_raw_insert": e.ratio(),
            },
            "draw": {
                "protocol": draw::PROTOCOL,
                "randomness": alloy::hex::encode_prefixed(self.draw.randomness),
                "tickets": "sha256(be64(counter)), sorted ascending",
                "peak_rss_reset_per_size": self.draw.peak_reset,
                "rows": self.draw.rows.iter().map(|r| json!({
                    "tickets": r.tickets,
                    "timed_runs": r.reps,
                    "generate_ms": r.generate_ms,
                    "sort_ms": r.sort_ms,
                    "order_ms": r.order_ms,
                    "order_ns_per_ticket": r.order_ms * 1e6 / r.tickets as f64,
                    "ordered_tickets_ms": r.ordered_tickets_ms,
                    "ticket_tree_ms": r.tree_ms,
                    "reorder_and_compare_ms": r.reorder_compare_ms,
                    "verify_local_ms": r.verify_ms,
                    "rss_before_mib": mib(r.rss_before_kib),
                    "peak_rss_mib": mib(r.peak_rss_kib),
                    "peak_over_before_mib": r.own_kib().map(|k| k as f64 / 1024.0),
                })).collect::<Vec<_>>(),
            },
            "entry_part_peak_rss_mib": mib(self.entry_part_peak_rss_kib),
            "process_peak_rss_mib": mib(self.process_peak_rss_kib()),
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

fn print_report(r: &Report) {
    let s = &r.settings;
    let e = &r.entries;
    let c = &e.checks;
    println!();
    println!(
        "raffle_load: {} cores, {} buyers, {} clients, DB pool {}, {}",
        r.cores, s.buyers, s.concurrency, s.db_max_connections, e.node
    );
    println!();
    println!("Entry intake: every buyer enters one open raffle at once");
    println!(
        "{:<32} {:>7} {:>7} {:>8} {:>9} {:>8} {:>8} {:>8}",
        "phase", "ok", "errors", "seconds", "per s", "p50 ms", "p99 ms", "max ms"
    );
    println!("{}", "-".repeat(96));
    for p in [&e.entries, &e.raw_insert, &e.app_tx] {
        println!(
            "{:<32} {:>7} {:>7} {:>8.2} {:>9.1} {:>8.2} {:>8.2} {:>8.2}",
            p.name,
            p.ok,
            p.errors(),
            p.seconds,
            p.per_s(),
            p.p50_ms,
            p.p99_ms,
            p.max_ms
        );
    }
    for p in [&e.entries, &e.raw_insert, &e.app_tx] {
        if p.errors() > 0 {
            println!("  {} errors: {:?}", p.name, p.error_kinds);
        }
    }
    println!(
        "entries/s over HTTP: {:.1}% of the bare-INSERT ceiling ({:.0} rows/s), {:.1}% of the \
         direct entry transaction ({:.0}/s)",
        e.ratio() * 100.0,
        e.raw_insert.per_s(),
        e.entries.per_s() / e.app_tx.per_s() * 100.0,
        e.app_tx.per_s()
    );
    let problems = e.problems(s.buyers);
    println!(
        "checks: {} rows of {} expected, {} answers 201, lost {}, duplicates {} (person {}, \
         ticket {}, answer {}), ticket mismatches {}, API entry_count {}: {}",
        c.rows,
        s.buyers,
        e.entries.ok,
        c.lost,
        c.duplicates(),
        c.duplicate_persons,
        c.duplicate_tickets,
        c.duplicate_answers,
        c.ticket_mismatches,
        c.api_entry_count,
        if problems.is_empty() {
            "OK".to_owned()
        } else {
            format!("FAILED ({})", problems.join("; "))
        }
    );
    println!(
        "setup (not timed above): {} buyers seeded in {:.2} s; product anchored and raffle open \
         in {:.2} s; logins {:.1}/s (p50 {:.1} ms, {} errors)",
        s.buyers,
        e.seed_seconds,
        e.open_seconds,
        e.logins.per_s(),
        e.logins.p50_ms,
        e.logins.errors()
    );

    let d = &r.draw;
    println!();
    println!(
        "{}: order and verify, R = {} (median of the timed runs)",
        draw::PROTOCOL,
        alloy::hex::encode_prefixed(d.randomness)
    );
    println!(
        "{:>10} {:>5} {:>9} {:>8} {:>9} {:>8} {:>10} {:>9} {:>11} {:>10} {:>9} {:>7}",
        "tickets",
        "runs",
        "gen ms",
        "sort ms",
        "order ms",
        "ns/tkt",
        "ordered ms",
        "tree ms",
        "re-order+=",
        "verify ms",
        "peak MiB",
        "+MiB"
    );
    println!("{}", "-".repeat(119));
    for row in &d.rows {
        println!(
            "{:>10} {:>5} {:>9.2} {:>8.2} {:>9.2} {:>8.1} {:>10.2} {:>9.2} {:>11.2} {:>10.2} {:>9} {:>7}",
            thousands(row.tickets as u64),
            row.reps,
            row.generate_ms,
            row.sort_ms,
            row.order_ms,
            row.order_ms * 1e6 / row.tickets as f64,
            row.ordered_tickets_ms,
            row.tree_ms,
            row.reorder_compare_ms,
            row.verify_ms,
            mib(row.peak_rss_kib).map_or("?".into(), |m| format!("{m:.1}")),
            mib(row.own_kib()).map_or("?".into(), |m| format!("{m:.1}")),
        );
    }
    println!(
        "order: draw::order (indexes); ordered: draw::ordered_tickets; tree: draw::ticket_tree and \
         its root; re-order+=: a verifier's ordered_tickets compared with the published order; \
         verify: verify_draw's local work (check_list, root, order)"
    );
    println!(
        "peak MiB: VmHWM of the process {}; +MiB: that peak over the RSS before the size \
         started; after part 1 the peak was {}, the whole run's peak {}",
        if d.peak_reset {
            "while that size ran (reset before each size)"
        } else {
            "so far (could not reset it, so it includes part 1 and smaller sizes)"
        },
        mib(r.entry_part_peak_rss_kib).map_or("?".into(), |m| format!("{m:.1} MiB")),
        mib(r.process_peak_rss_kib()).map_or("?".into(), |m| format!("{m:.1} MiB"))
    );
}
