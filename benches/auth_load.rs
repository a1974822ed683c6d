//! Load benchmark of login and authenticated `GET /v1/me`, with `GET /health` and the raw
//! argon2id verify cost as baselines. Run it with `cargo bench --bench auth_load`; see
//! bench/README.md for the settings and how to read the numbers.
//!
//! One run: a fresh database, the app started in-process the way tests/api/helpers.rs starts it,
//! users seeded straight into the database, the phases, a table on stdout and JSON in
//! bench/results/auth_load.json, and the database dropped again, whatever happened.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use truffle::accounts::password;

#[path = "common/mod.rs"]
mod common;

use common::{InProcess, LoadResult, PASSWORD, admin_url, describe, num, task_load_capped};

/// How many argon2id verifications the cost baseline averages over.
const ARGON2_SAMPLES: u32 = 20;
/// No single request may hang the run, even if the server stalls.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a run does, from `BENCH_*` variables so that it can be rerun with other settings.
#[derive(Debug, Clone)]
struct Settings {
    admin_url: String,
    users: usize,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
    /// Upper bound on requests per phase, so a loop ends even if the clock misbehaves.
    max_requests: u64,
    db_max_connections: u32,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let s = Settings {
            admin_url: admin_url(),
            users: num("BENCH_USERS", 200usize)?,
            concurrency: num("BENCH_CONCURRENCY", 32usize)?,
            duration: Duration::from_secs_f64(num("BENCH_SECONDS", 10.0f64)?),
            warmup: Duration::from_secs_f64(num("BENCH_WARMUP_SECONDS", 1.0f64)?),
            max_requests: num("BENCH_MAX_REQUESTS", 1_000_000u64)?,
            db_max_connections: num("BENCH_DB_MAX_CONNECTIONS", 20u32)?,
        };
        if s.users == 0 || s.concurrency == 0 || s.max_requests == 0 || s.duration.is_zero() {
            bail!(
                "BENCH_USERS, BENCH_CONCURRENCY, BENCH_MAX_REQUESTS and BENCH_SECONDS must be above zero"
            );
        }
        // Above an hour is surely a typo; it also keeps the access tokens (1 h) valid throughout.
        if s.duration + s.warmup > Duration::from_secs(3000) {
            bail!("BENCH_SECONDS + BENCH_WARMUP_SECONDS must stay under 50 minutes");
        }
        Ok(s)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !common::run_as_bench("auth_load") {
        return Ok(());
    }
    let settings = Settings::from_env()?;
    let outcome = common::in_fresh_database(&settings.admin_url, |db_url| {
        let settings = &settings;
        async move { run(settings, &db_url).await }
    })
    .await;

    let report = outcome?;
    print_table(&report);
    common::write_report("auth_load", &report.to_json())
}

/// The app's environment: the tests' map, with the limits a load test needs lifted (every
/// request comes from 127.0.0.1 and reuses a few hundred accounts).
fn app_env(settings: &Settings, db_url: &str) -> HashMap<String, String> {
    let mut env = common::bench_env(db_url, settings.db_max_connections);
    common::lift_auth_limits(&mut env);
    env.insert("SEARCH_INDEX_DIR".into(), common::index_dir("auth_load"));
    env
}

async fn run(settings: &Settings, db_url: &str) -> anyhow::Result<Report> {
    let state = common::start_app(&app_env(settings, db_url)).await?;
    let pool = state.db.clone();

    // Seed before serving: one argon2 hash, then plain inserts, so seeding costs a second,
    // not 200 hashes.
    let hash = password::hash(PASSWORD.to_owned()).await?;
    let emails: Vec<String> = common::seed_buyers(&state, settings.users, &hash)
        .await?
        .into_iter()
        .map(|(_, email)| email)
        .collect();

    let server = InProcess::serve(state, false).await?;
    let phases = run_phases(settings, &server.base, &emails, &hash).await;
    server.stop().await;
    pool.close().await;

    let (argon2_ms, phases) = phases?;
    Ok(Report {
        settings: settings.clone(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        argon2_verify_ms: argon2_ms,
        phases,
    })
}

/// The argon2 baseline, then the three HTTP phases, lightest first.
async fn run_phases(
    settings: &Settings,
    base: &str,
    emails: &[String],
    hash: &str,
) -> anyhow::Result<(f64, Vec<PhaseResult>)> {
    // Measured while the server is idle, so it is the cost of one verify and nothing else.
    let argon2_ms = argon2_verify_ms(hash).await?;

    // One client, so connections are pooled and reused like a real keep-alive client's would be.
    // no_proxy: the run must stay on 127.0.0.1 whatever HTTP_PROXY says.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .build()?;
    let mut phases = Vec::new();

    let health_url = Arc::new(format!("{base}/health"));
    phases.push(
        phase(settings, "GET /health", {
            let (client, url) = (client.clone(), health_url);
            move |_| {
                let req = client.get(url.as_str());
                async move { check(req.send().await).await }
            }
        })
        .await,
    );

    // Bodies made up front so the client's JSON encoding is not part of the measurement.
    let login_url = Arc::new(format!("{base}/v1/auth/login"));
    let bodies: Arc<Vec<String>> = Arc::new(
        emails
            .iter()
            .map(|e| json!({"email": e, "password": PASSWORD}).to_string())
            .collect(),
    );
    phases.push(
        phase(settings, "POST /v1/auth/login", {
            let (client, url, bodies) = (client.clone(), login_url.clone(), bodies.clone());
            move |i| {
                let req = client
                    .post(url.as_str())
                    .header(CONTENT_TYPE, "application/json")
                    .body(bodies[i as usize % bodies.len()].clone());
                async move { check(req.send().await).await }
            }
        })
        .await,
    );

    // One session per user, opened with the same concurrency, outside the measurement.
    let auth_headers: Arc<Vec<String>> = Arc::new(
        futures::stream::iter(bodies.iter().cloned())
            .map(|body| {
                let req = client
                    .post(login_url.as_str())
                    .header(CONTENT_TYPE, "application/json")
                    .body(body);
                async move {
                    let res = req.send().await?.error_for_status()?;
                    let v: Value = res.json().await?;
                    let token = v["tokens"]["access_token"]
                        .as_str()
                        .context("login answer has no tokens.access_token")?;
                    anyhow::Ok(format!("Bearer {token}"))
                }
            })
            .buffer_unordered(settings.concurrency)
            .try_collect()
            .await?,
    );
    let me_url = Arc::new(format!("{base}/v1/me"));
    phases.push(
        phase(settings, "GET /v1/me", {
            let (client, url, headers) = (client.clone(), me_url, auth_headers);
            move |i| {
                let req = client
                    .get(url.as_str())
                    .header(AUTHORIZATION, headers[i as usize % headers.len()].as_str());
                async move { check(req.send().await).await }
            }
        })
        .await,
    );

    Ok((argon2_ms, phases))
}

/// Average wall time of one `password::verify` on the CPU pool, as the login handler calls it.
async fn argon2_verify_ms(hash: &str) -> anyhow::Result<f64> {
    let start = Instant::now();
    for _ in 0..ARGON2_SAMPLES {
        if !password::verify_on(
            truffle::cpu::global(),
            PASSWORD.to_owned(),
            Some(hash.to_owned()),
        )
        .await?
        {
            bail!("the seeded password does not verify against its own hash");
        }
    }
    Ok(start.elapsed().as_secs_f64() * 1e3 / f64::from(ARGON2_SAMPLES))
}

/// A 2xx answer with its body read (so the connection goes back to the pool), or why not.
async fn check(res: reqwest::Result<reqwest::Response>) -> Result<(), String> {
    let res = res.map_err(describe)?;
    let status = res.status();
    let body = res.bytes().await.map_err(describe)?;
    if status.is_success() {
        Ok(())
    } else {
        // The API's stable error code says more than the status alone (429 rate_limited, …).
        let code = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Err(format!("HTTP {} {code}", status.as_u16()))
    }
}

/// A warm-up (connections opened, caches filled; thrown away), then the measured run.
async fn phase<F, Fut>(settings: &Settings, name: &'static str, request: F) -> PhaseResult
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let request = Arc::new(request);
    if !settings.warmup.is_zero() {
        task_load_capped(
            settings.concurrency,
            settings.warmup,
            settings.max_requests,
            request.clone(),
        )
        .await;
    }
    let result = task_load_capped(
        settings.concurrency,
        settings.duration,
        settings.max_requests,
        request,
    )
    .await;
    PhaseResult::new(name, settings.concurrency, result)
}

struct PhaseResult {
    name: &'static str,
    concurrency: usize,
    ok: u64,
    errors: u64,
    error_kinds: BTreeMap<String, u64>,
    seconds: f64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl PhaseResult {
    fn new(name: &'static str, concurrency: usize, r: LoadResult) -> PhaseResult {
        let mut latencies: Vec<Duration> = r.latencies.iter().map(|&(_, d)| d).collect();
        latencies.sort_unstable();
        let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
        // Nearest-rank percentile: the smallest latency with at least p of the samples at or below.
        let pct = |p: f64| {
            let n = latencies.len();
            let rank = ((p * n as f64).ceil() as usize).clamp(1, n.max(1));
            ms(latencies.get(rank - 1))
        };
        let ok = latencies.len() as u64;
        let seconds = r.elapsed.as_secs_f64();
        PhaseResult {
            name,
            concurrency,
            ok,
            errors: r.errors.values().sum(),
            seconds,
            rps: ok as f64 / seconds,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: ms(latencies.last()),
            error_kinds: r.errors,
        }
    }
}

struct Report {
    settings: Settings,
    cores: usize,
    argon2_verify_ms: f64,
    phases: Vec<PhaseResult>,
}

impl Report {
    /// About the most logins per second the CPU allows if argon2 were the only work: each verify
    /// uses one core (parallelism 1) for `argon2_verify_ms`. An estimate: the sequential timing
    /// also includes the hop to the CPU pool and back, so a busy server can edge past it.
    fn argon2_ceiling(&self) -> f64 {
        self.cores as f64 * 1e3 / self.argon2_verify_ms
    }

    fn to_json(&self) -> Value {
        let s = &self.settings;
        json!({
            "generated_at": chrono::Utc::now().to_rfc3339(),
            "machine": { "cores": self.cores },
            "settings": {
                "users": s.users,
                "concurrency": s.concurrency,
                "seconds": s.duration.as_secs_f64(),
                "warmup_seconds": s.warmup.as_secs_f64(),
                "max_requests_per_phase": s.max_requests,
                "db_max_connections": s.db_max_connections,
            },
            "argon2id": {
                "memory_kib": password::MEMORY_KIB,
                "iterations": password::ITERATIONS,
                "parallelism": password::PARALLELISM,
                "verify_ms_avg": self.argon2_verify_ms,
                "samples": ARGON2_SAMPLES,
                "ceiling_logins_per_s": self.argon2_ceiling(),
            },
            "phases": self.phases.iter().map(|p| json!({
                "name": p.name,
                "concurrency": p.concurrency,
                "seconds": p.seconds,
                "ok": p.ok,
                "errors": p.errors,
                "error_kinds": p.error_kinds,
                "requests_per_s": p.rps,
                "p50_ms": p.p50_ms,
                "p99_ms": p.p99_ms,
                "max_ms": p.max_ms,
            })).collect::<Vec<_>>(),
        })
    }
}

fn print_table(r: &Report) {
    let s = &r.settings;
    println!();
    println!(
        "auth_load: {} cores, {} users, {} clients, {:.1} s per phase (+{:.1} s warm-up), DB pool {}",
        r.cores,
        s.users,
        s.concurrency,
        s.duration.as_secs_f64(),
        s.warmup.as_secs_f64(),
        s.db_max_connections
    );
    println!(
        "argon2id m={} KiB t={} p={}: {:.1} ms per verify (avg of {}), a ceiling of ~{:.0} logins/s on {} cores",
        password::MEMORY_KIB,
        password::ITERATIONS,
        password::PARALLELISM,
        r.argon2_verify_ms,
        ARGON2_SAMPLES,
        r.argon2_ceiling(),
        r.cores
    );
    println!();
    println!(
        "{:<20} {:>7} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9}",
        "phase", "clients", "ok", "errors", "req/s", "p50 ms", "p99 ms", "max ms"
    );
    println!("{}", "-".repeat(86));
    for p in &r.phases {
        println!(
            "{:<20} {:>7} {:>9} {:>7} {:>10.1} {:>9.2} {:>9.2} {:>9.2}",
            p.name, p.concurrency, p.ok, p.errors, p.rps, p.p50_ms, p.p99_ms, p.max_ms
        );
    }
    for p in r.phases.iter().filter(|p| p.errors > 0) {
        println!("  {} errors: {:?}", p.name, p.error_kinds);
    }
}
