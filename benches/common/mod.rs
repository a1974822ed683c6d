//! What every benchmark needs: its own database next to the tests' and the app's configuration
//! and anvil (from `truffle-testkit`, which the tests share), the app started and served in the
//! process or as `truffle serve`, the seeded seller and buyers, the load loop, the report file
//! and the names of transport errors. Each benchmark is its own crate and includes this file
//! with `#[path]`; not every one uses every item.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use truffle::accounts::{self, Role, SeedPerson};
use truffle::app::{AppState, Providers};
use truffle::chain::{ChainClient, deploy_registry};
use truffle::config::Config;
pub use truffle_testkit::{CHAIN_ID, DevAnvil, admin_sql, admin_url, set, url_for};

/// Every seeded person's password: one argon2 hash serves them all.
pub const PASSWORD: &str = "bench-password-1";
/// The benchmarks' one seller.
pub const SELLER_EMAIL: &str = "bench-seller@bench.truffle.test";

/// A numeric setting from the environment, or its default.
pub fn num<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// Runs `run` on a database of its own (`truffle_bench_<random>`), created first and dropped
/// afterwards, also after an error or Ctrl-C (which abandons the run). FORCE ends whatever
/// connections are left (an abandoned run's pool, say).
pub async fn in_fresh_database<T, F, Fut>(admin_url: &str, run: F) -> anyhow::Result<T>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let db_name = format!("truffle_bench_{}", uuid::Uuid::new_v4().simple());
    let db_url = url_for(admin_url, &db_name)?;
    admin_sql(admin_url, format!("CREATE DATABASE {db_name}")).await?;
    let outcome = tokio::select! {
        r = run(db_url) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Err(e) = admin_sql(
        admin_url,
        format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"),
    )
    .await
    {
        eprintln!("warning: could not drop {db_name}: {e:#}");
    }
    outcome
}

/// What every benchmark's app starts from: the shared development configuration
/// ([`truffle_testkit::dev_env`]) with the run's pool size, and a CPU queue that never refuses
/// (closed-loop clients measure the queue).
pub fn bench_env(db_url: &str, db_max_connections: u32) -> HashMap<String, String> {
    let mut env = truffle_testkit::dev_env(db_url, "bench");
    env.insert("DB_MAX_CONNECTIONS".into(), db_max_connections.to_string());
    env.insert("CPU_QUEUE_DEPTH".into(), "100000".into());
    env
}

/// Lifts what a load from one address over few accounts would hit: the login limits (the
/// production ones, 100 per 15 minutes per address, would measure 429s), and access tokens
/// issued before a phase that outlive it.
pub fn lift_auth_limits(env: &mut HashMap<String, String>) {
    set(
        env,
        [
            ("LOGIN_LIMIT_PER_IP", "1000000/1m".into()),
            ("LOGIN_LIMIT_PER_ACCOUNT", "1000000/1m".into()),
            ("LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS", "1000000/1m".into()),
            ("ACCESS_TOKEN_TTL", "1h".into()),
        ],
    );
}

/// The registry deployed on `anvil` by key 0, and a client anchoring on it with key 1, as the
/// app does.
pub async fn deploy(anvil: &DevAnvil) -> anyhow::Result<(alloy::primitives::Address, ChainClient)> {
    let registry = deploy_registry(&anvil.rpc, &anvil.deployer_key, anvil.anchorer).await?;
    let chain = ChainClient::with_signer(&anvil.rpc, registry, CHAIN_ID, &anvil.anchor_key)?;
    Ok((registry, chain))
}

/// The app on `env`, with the providers its configuration names (the `dev` ones here).
pub async fn start_app(env: &HashMap<String, String>) -> anyhow::Result<AppState> {
    let config = Config::from_env_map(env).map_err(|e| anyhow::anyhow!("{e}"))?;
    let providers = Providers::from_config(&config);
    AppState::start(config, providers).await
}

/// The app serving HTTP in this process on a free port, with or without its background workers
/// (a benchmark that drives them by hand starts none).
pub struct InProcess {
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: Option<(
        tokio::sync::watch::Sender<bool>,
        Vec<tokio::task::JoinHandle<()>>,
    )>,
}

impl InProcess {
    pub async fn serve(state: AppState, with_workers: bool) -> anyhow::Result<InProcess> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let workers = with_workers.then(|| {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let handles = state.spawn_workers(stopped);
            (stop, handles)
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(truffle::app::serve(state, listener, async {
            let _ = stopped.await;
        }));
        Ok(InProcess {
            base,
            stop,
            server,
            workers,
        })
    }

    /// Stops the workers, then the server, waiting 10 s for each; warns of what did not stop.
    /// Callers stop it whether their phase failed or not, so that the pool lets go of the
    /// database.
    pub async fn stop(self) {
        if let Some((stop, handles)) = self.workers {
            let _ = stop.send(true);
            for worker in handles {
                if tokio::time::timeout(Duration::from_secs(10), worker)
                    .await
                    .is_err()
                {
                    eprintln!("warning: a worker did not stop within 10 s");
                }
            }
        }
        let _ = self.stop.send(());
        match tokio::time::timeout(Duration::from_secs(10), self.server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => eprintln!("warning: server stopped with an error: {e}"),
            Ok(Err(e)) => eprintln!("warning: server task failed: {e}"),
            Err(_) => eprintln!("warning: server did not stop within 10 s"),
        }
    }
}

/// A verified person of the benchmarks, straight into the database (no provider, no argon2:
/// `password_hash` is made once by the caller).
fn person<'a>(
    email: &'a str,
    phone: &'a str,
    password_hash: &'a str,
    gender: &'a str,
    role: Role,
) -> SeedPerson<'a> {
    SeedPerson {
        email,
        password_hash,
        name: "벤치마크",
        phone,
        birth_date: chrono::NaiveDate::from_ymd_opt(1995, 5, 17).expect("valid date"),
        gender,
        role,
    }
}

/// Seeds [`SELLER_EMAIL`]; returns the seller's id.
pub async fn seed_seller(state: &AppState, password_hash: &str) -> anyhow::Result<uuid::Uuid> {
    let p = person(
        SELLER_EMAIL,
        "01090000001",
        password_hash,
        "female",
        Role::Seller,
    );
    accounts::seed_person(&state.accounts, p).await
}

/// Seeds person `i` of a run: `bench-{i:07}@bench.truffle.test` with phone `0108{i:07}`
/// (distinct phones, so distinct person hashes), female for even `i`, male for odd. Returns the
/// id and the email.
pub async fn seed_numbered(
    state: &AppState,
    i: usize,
    password_hash: &str,
    role: Role,
) -> anyhow::Result<(uuid::Uuid, String)> {
    let email = format!("bench-{i:07}@bench.truffle.test");
    let phone = format!("0108{i:07}");
    let gender = if i.is_multiple_of(2) {
        "female"
    } else {
        "male"
    };
    let id = accounts::seed_person(
        &state.accounts,
        person(&email, &phone, password_hash, gender, role),
    )
    .await?;
    Ok((id, email))
}

/// Seeds buyers `0..n` ([`seed_numbered`]), eight at a time, in order.
pub async fn seed_buyers(
    state: &AppState,
    n: usize,
    password_hash: &str,
) -> anyhow::Result<Vec<(uuid::Uuid, String)>> {
    use futures::{StreamExt as _, TryStreamExt as _};
    futures::stream::iter(0..n)
        .map(|i| seed_numbered(state, i, password_hash, Role::Buyer))
        .buffered(8)
        .try_collect()
        .await
}

/// Writes a run's report to `bench/results/<bench>.json` and says where.
pub fn write_report(bench: &str, report: &serde_json::Value) -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{bench}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(report)? + "\n")?;
    println!("\nwritten to {}", path.display());
    Ok(())
}

/// A transport error's kind, for the error columns.
pub fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else {
        format!("transport: {e}")
    }
}

/// A search index directory of this run's own, so that a benchmark never takes the lock of a
/// running server's `search-index/`.
pub fn index_dir(bench: &str) -> String {
    std::env::temp_dir()
        .join(format!("truffle-bench-{bench}-{}", std::process::id()))
        .display()
        .to_string()
}

/// Whether this is a real run: `cargo bench` passes `--bench`; `cargo test --all-targets` builds
/// every benchmark too (so none can rot) but runs it without, and a test run must not spend
/// minutes on load. Logs stay silent unless `RUST_LOG` asks (e.g. `warn` for the app's warnings).
pub fn run_as_bench(name: &str) -> bool {
    if !std::env::args().any(|a| a == "--bench") {
        println!("{name}: run with `cargo bench --bench {name}`");
        return false;
    }
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    true
}

/// The load average (1, 5, 15 minutes), printed with a run so that a disturbed one shows.
pub fn loadavg() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// What a load run measured.
pub struct LoadResult {
    /// Each answered job's sequence number and latency.
    pub latencies: Vec<(u64, Duration)>,
    pub errors: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

/// `concurrency` tasks, each sending its next request as soon as the last one is answered, until
/// `duration` has passed.
pub async fn task_load<F, Fut>(
    concurrency: usize,
    duration: Duration,
    request: Arc<F>,
) -> LoadResult
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    task_load_capped(concurrency, duration, u64::MAX, request).await
}

/// [`task_load`] that also stops once `max_requests` have been started, so that a loop ends even
/// if the clock misbehaves. The one sequence number spreads the requests round-robin.
pub async fn task_load_capped<F, Fut>(
    concurrency: usize,
    duration: Duration,
    max_requests: u64,
    request: Arc<F>,
) -> LoadResult
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, request) = (next.clone(), request.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = BTreeMap::<String, u64>::new();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= max_requests {
                        break;
                    }
                    let sent = Instant::now();
                    match request(i).await {
                        Ok(()) => latencies.push((i, sent.elapsed())),
                        Err(kind) => *errors.entry(kind).or_default() += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = LoadResult {
        latencies: Vec::new(),
        errors: BTreeMap::new(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        match task.await {
            Ok((latencies, errors)) => {
                all.latencies.extend(latencies);
                for (kind, n) in errors {
                    *all.errors.entry(kind).or_default() += n;
                }
            }
            Err(e) => *all.errors.entry(format!("task failed: {e}")).or_default() += 1,
        }
    }
    // Until the last answer, so the requests in flight at the deadline are not counted for free.
    all.elapsed = start.elapsed();
    all
}

/// `truffle serve` as a subprocess; killed when dropped (an error, Ctrl-C).
pub struct Server {
    child: tokio::process::Child,
    pub base: String,
    log: PathBuf,
}

impl Server {
    pub async fn start(env: &HashMap<String, String>, run_dir: &Path) -> anyhow::Result<Server> {
        // A free port: bound and let go again (LISTEN_ADDR takes an address, not a listener).
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        // Next to the index; also the working directory, so that no .env of the checkout is
        // read (the environment is the benchmark's alone).
        let work = run_dir.join("server");
        std::fs::create_dir_all(&work)?;
        let log = work.join("server.log");
        let out = std::fs::File::create(&log)?;
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_truffle"))
            .arg("serve")
            .env_clear()
            .envs(env)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("LOG_FORMAT", "text")
            .current_dir(&work)
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .context("start `truffle serve`")?;
        Ok(Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        })
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Until `/ready` answers 200; the server's log if it exits or takes a minute.
    pub async fn wait_ready(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("`truffle serve` exited ({status}):\n{}", self.log_tail());
            }
            if let Ok(res) = client.get(format!("{}/ready", self.base)).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("`truffle serve` not ready after 60 s:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A field of the server's /proc/<pid>/status in KiB.
    pub fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse().ok()
        })
    }

    /// SIGTERM (graceful: its pool closes), SIGKILL after 10 s.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                .await
                .is_ok()
            {
                return;
            }
            eprintln!("warning: `truffle serve` did not stop within 10 s of SIGTERM; killing it");
        }
        let _ = self.child.kill().await;
    }
}
