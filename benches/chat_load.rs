//! Load benchmark of the chat socket: many WebSocket connections held open, messages sent
//! between buyer–seller pairs, and each message timed from the sender's `send` frame to the
//! other side's `message` frame. Baseline in the same run: both sides on one `truffle serve`
//! against buyers on one replica and sellers on another, so that every message crosses processes
//! through Postgres LISTEN/NOTIFY. Run it with `cargo bench --bench chat_load`; see
//! bench/README.md for the settings and how to read the numbers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use truffle::accounts::{self, Role};
use uuid::Uuid;

#[path = "common/mod.rs"]
mod common;

use common::{PASSWORD, Server, admin_url, num};

/// How many sockets are opened at once while connecting.
const CONNECT_PARALLELISM: usize = 64;

#[derive(Debug, Clone)]
struct Settings {
    admin_url: String,
    /// Sockets held open (half buyers, half sellers; one conversation per pair).
    connections: usize,
    /// Messages per second offered in the open-loop phases, over all pairs.
    rate: f64,
    /// Pairs that each send their next message as soon as the last is acknowledged, in the
    /// closed-loop phases.
    closed_senders: usize,
    duration: Duration,
    warmup: Duration,
    db_max_connections: u32,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let s = Settings {
            admin_url: admin_url(),
            connections: num("BENCH_CHAT_CONNECTIONS", 2000usize)?,
            rate: num("BENCH_CHAT_RATE", 200.0f64)?,
            closed_senders: num("BENCH_CHAT_CLOSED_SENDERS", 64usize)?,
            duration: Duration::from_secs_f64(num("BENCH_SECONDS", 10.0f64)?),
            warmup: Duration::from_secs_f64(num("BENCH_WARMUP_SECONDS", 2.0f64)?),
            db_max_connections: num("BENCH_DB_MAX_CONNECTIONS", 20u32)?,
        };
        if s.connections < 2 || !s.connections.is_multiple_of(2) {
            bail!("BENCH_CHAT_CONNECTIONS must be an even number, at least 2");
        }
        if s.rate <= 0.0 || s.closed_senders == 0 || s.duration.is_zero() {
            bail!(
                "BENCH_CHAT_RATE, BENCH_CHAT_CLOSED_SENDERS and BENCH_SECONDS must be above zero"
            );
        }
        if s.closed_senders > s.connections / 2 {
            bail!("BENCH_CHAT_CLOSED_SENDERS cannot exceed the number of pairs");
        }
        Ok(s)
    }

    fn pairs(&self) -> usize {
        self.connections / 2
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !common::run_as_bench("chat_load") {
        return Ok(());
    }
    let settings = Settings::from_env()?;
    let run_dir = std::env::temp_dir().join(format!("truffle-bench-chat-{}", std::process::id()));
    std::fs::create_dir_all(&run_dir)?;

    let outcome = common::in_fresh_database(&settings.admin_url, |db_url| {
        let (settings, run_dir) = (&settings, &run_dir);
        async move { run(settings, &db_url, run_dir).await }
    })
    .await;
    let _ = std::fs::remove_dir_all(&run_dir);

    let report = outcome?;
    print_table(&report);
    common::write_report("chat_load", &report.to_json())
}

fn app_env(settings: &Settings, db_url: &str) -> HashMap<String, String> {
    let mut env = common::bench_env(db_url, settings.db_max_connections);
    common::set(
        &mut env,
        [
            ("ACCESS_TOKEN_TTL", "1h".into()),
            // Closed-loop senders go as fast as the server lets them: the per-socket limit would
            // measure refusals instead.
            ("CHAT_MESSAGES_PER_SECOND", "100000".into()),
            ("CHAT_MESSAGE_BURST", "100000".into()),
            // Pings are not what is measured.
            ("CHAT_PING_INTERVAL", "5m".into()),
            ("CHAT_IDLE_TIMEOUT", "10m".into()),
        ],
    );
    env
}

/// A buyer–seller pair with their conversation and tokens.
struct Pair {
    conversation: Uuid,
    buyer_token: String,
    seller_token: String,
}

async fn run(settings: &Settings, db_url: &str, run_dir: &Path) -> anyhow::Result<Report> {
    let env = app_env(settings, db_url);
    let started = Instant::now();
    let pairs = seed(settings, &env, run_dir).await?;
    let seed_seconds = started.elapsed().as_secs_f64();
    println!(
        "chat_load: seeded {} pairs in {seed_seconds:.1} s",
        pairs.len()
    );

    let client = reqwest::Client::new();
    let (dir_one, dir_two) = (run_dir.join("one"), run_dir.join("two"));
    let mut one = Server::start(&replica_env(&env, &dir_one), &dir_one).await?;
    let mut two = Server::start(&replica_env(&env, &dir_two), &dir_two).await?;
    let outcome = async {
        one.wait_ready(&client).await?;
        two.wait_ready(&client).await?;
        let mut topologies = Vec::new();
        for (name, buyers_on, sellers_on) in [("1 replica", &one, &one), ("2 replicas", &one, &two)]
        {
            topologies.push(topology(settings, &pairs, name, buyers_on, sellers_on).await?);
        }
        anyhow::Ok(topologies)
    }
    .await;
    one.stop().await;
    two.stop().await;
    Ok(Report {
        settings: settings.clone(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        seed_seconds,
        topologies: outcome?,
    })
}

/// Users, sessions, products and conversations, straight into the database through the app's
/// own functions where they are cheap (no argon2 per user, no chain).
async fn seed(
    settings: &Settings,
    env: &HashMap<String, String>,
    run_dir: &Path,
) -> anyhow::Result<Vec<Pair>> {
    let mut env = env.clone();
    env.insert(
        "SEARCH_INDEX_DIR".into(),
        run_dir.join("seed-index").display().to_string(),
    );
    let state = common::start_app(&env).await?;
    let hash = accounts::password::hash(PASSWORD.to_owned()).await?;
    let seed_one = |i: usize, role: Role| {
        let state = state.clone();
        let hash = hash.clone();
        async move {
            let (id, _) = common::seed_numbered(&state, i, &hash, role).await?;
            let mut conn = state.db.acquire().await?;
            let tokens = state
                .accounts
                .open_session(&mut conn, id)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            anyhow::Ok((id, tokens.access_token))
        }
    };
    let mut pairs = Vec::with_capacity(settings.pairs());
    type Seeded = anyhow::Result<((Uuid, String), (Uuid, String))>;
    let all: Vec<Seeded> = futures::stream::iter(0..settings.pairs())
        .map(|i| {
            let buyer = seed_one(2 * i, Role::Buyer);
            let seller = seed_one(2 * i + 1, Role::Seller);
            async move { Ok((buyer.await?, seller.await?)) }
        })
        .buffered(16)
        .collect()
        .await;
    for r in all {
        let ((buyer, buyer_token), (seller, seller_token)) = r?;
        // A product row of the seller's and the conversation about it: the bench does not go
        // through signing and anchoring, which it does not measure.
        let product = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO products (id, seller_id, current_version, name, brand, category,
                                   edition_size, retail_price_krw)
             VALUES ($1, $2, 1, '벤치마크 스니커즈', 'Truffle', 'sneakers', 100, 100000)",
        )
        .bind(product)
        .bind(seller)
        .execute(&state.db)
        .await?;
        let conversation = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO chat_conversations (id, product_id, buyer_id, seller_id)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(conversation)
        .bind(product)
        .bind(buyer)
        .bind(seller)
        .execute(&state.db)
        .await?;
        pairs.push(Pair {
            conversation,
            buyer_token,
            seller_token,
        });
    }
    state.db.close().await;
    Ok(pairs)
}

/// A replica's environment: its own search index (one directory per process) and quiet logs.
fn replica_env(env: &HashMap<String, String>, dir: &Path) -> HashMap<String, String> {
    let mut env = env.clone();
    env.insert(
        "SEARCH_INDEX_DIR".into(),
        dir.join("index").display().to_string(),
    );
    env.insert("RUST_LOG".into(), "warn".into());
    env
}

/// The server's `host:port`, for WebSocket URLs.
fn host(server: &Server) -> &str {
    server.base.trim_start_matches("http://")
}

/// Resident memory in MiB.
fn rss_mib(server: &Server) -> Option<f64> {
    server.status_kib("VmRSS").map(|kib| kib as f64 / 1024.0)
}

/// What every socket's reader shares: the clock messages are stamped with, and the tallies.
struct Tally {
    epoch: Instant,
    /// Delivery latencies in microseconds, while `recording`.
    latencies: Mutex<Vec<u64>>,
    recording: std::sync::atomic::AtomicBool,
    delivered: AtomicU64,
    acks: AtomicU64,
    errors: AtomicU64,
    closed: AtomicU64,
}

/// One open socket: frames to send, and (for senders) its acks.
struct Socket {
    out: mpsc::UnboundedSender<String>,
    acks: tokio::sync::Mutex<mpsc::UnboundedReceiver<()>>,
}

async fn open_socket(addr: &str, token: &str, tally: Arc<Tally>) -> anyhow::Result<Socket> {
    let mut req = format!("ws://{addr}/v1/chat/ws").into_client_request()?;
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    let (ws, _) = tokio_tungstenite::connect_async(req).await?;
    let (mut sink, mut stream) = ws.split();
    // The ready frame: the socket is registered and listening.
    match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
        Ok(Some(Ok(WsMessage::Text(t)))) if t.as_str().contains("\"ready\"") => {}
        other => bail!("no ready frame: {other:?}"),
    }
    let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
    let (ack_tx, acks) = mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if sink.send(WsMessage::text(frame)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    tokio::spawn(async move {
        while let Some(frame) = stream.next().await {
            let Ok(WsMessage::Text(text)) = frame else {
                if !matches!(frame, Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) {
                    break;
                }
                continue;
            };
            let v: Value = match serde_json::from_str(text.as_str()) {
                Ok(v) => v,
                Err(_) => continue,
            };
            match v["type"].as_str() {
                Some("message") => {
                    let now = tally.epoch.elapsed().as_micros() as u64;
                    let sent: Option<u64> = v["body"]
                        .as_str()
                        .and_then(|b| b.strip_prefix("t="))
                        .and_then(|t| t.split(' ').next())
                        .and_then(|t| t.parse().ok());
                    if let Some(sent) = sent
                        && tally.recording.load(Ordering::Relaxed)
                    {
                        tally.delivered.fetch_add(1, Ordering::Relaxed);
                        tally
                            .latencies
                            .lock()
                            .unwrap()
                            .push(now.saturating_sub(sent));
                    }
                }
                Some("ack") => {
                    tally.acks.fetch_add(1, Ordering::Relaxed);
                    let _ = ack_tx.send(());
                }
                Some("error") => {
                    tally.errors.fetch_add(1, Ordering::Relaxed);
                    let _ = ack_tx.send(());
                }
                _ => {}
            }
        }
        tally.closed.fetch_add(1, Ordering::Relaxed);
    });
    Ok(Socket {
        out,
        acks: tokio::sync::Mutex::new(acks),
    })
}

struct Topology {
    name: String,
    connections: usize,
    connect_seconds: f64,
    rss_mib: Vec<Option<f64>>,
    phases: Vec<PhaseResult>,
}

struct PhaseResult {
    name: String,
    seconds: f64,
    sent: u64,
    delivered: u64,
    errors: u64,
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

async fn topology(
    settings: &Settings,
    pairs: &[Pair],
    name: &str,
    buyers_on: &Server,
    sellers_on: &Server,
) -> anyhow::Result<Topology> {
    let tally = Arc::new(Tally {
        epoch: Instant::now(),
        latencies: Mutex::new(Vec::new()),
        recording: false.into(),
        delivered: AtomicU64::new(0),
        acks: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        closed: AtomicU64::new(0),
    });
    let started = Instant::now();
    let opened: Vec<anyhow::Result<(Socket, Socket)>> = futures::stream::iter(pairs.iter())
        .map(|p| {
            let tally = tally.clone();
            async move {
                let buyer = open_socket(host(buyers_on), &p.buyer_token, tally.clone()).await?;
                let seller = open_socket(host(sellers_on), &p.seller_token, tally).await?;
                Ok((buyer, seller))
            }
        })
        .buffered(CONNECT_PARALLELISM / 2)
        .collect()
        .await;
    let sockets: Vec<(Socket, Socket)> = opened.into_iter().collect::<anyhow::Result<_>>()?;
    let connect_seconds = started.elapsed().as_secs_f64();
    println!(
        "chat_load: {name}: {} sockets open in {connect_seconds:.1} s",
        sockets.len() * 2
    );
    let rss_mib = if std::ptr::eq(buyers_on, sellers_on) {
        vec![rss_mib(buyers_on)]
    } else {
        vec![rss_mib(buyers_on), rss_mib(sellers_on)]
    };

    let sockets = Arc::new(sockets);
    let conversations: Arc<Vec<Uuid>> = Arc::new(pairs.iter().map(|p| p.conversation).collect());
    let mut phases = Vec::new();
    phases.push(
        measure(
            settings,
            &tally,
            &format!("open loop {:.0}/s", settings.rate),
            || {
                open_loop(
                    settings.rate,
                    sockets.clone(),
                    conversations.clone(),
                    tally.clone(),
                )
            },
        )
        .await,
    );
    phases.push(
        measure(
            settings,
            &tally,
            &format!("closed loop, {} senders", settings.closed_senders),
            || {
                closed_loop(
                    settings.closed_senders,
                    sockets.clone(),
                    conversations.clone(),
                    tally.clone(),
                )
            },
        )
        .await,
    );
    let lost = tally.closed.load(Ordering::Relaxed);
    if lost > 0 {
        eprintln!("warning: {name}: {lost} sockets closed during the run");
    }
    // Dropping the senders closes every socket.
    drop(sockets);
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(Topology {
        name: name.to_owned(),
        connections: pairs.len() * 2,
        connect_seconds,
        rss_mib,
        phases,
    })
}

/// A stamped body: the sender's clock reading, so the receiver can time it.
fn stamp(tally: &Tally, seq: u64) -> String {
    format!("t={} #{seq} 안녕하세요", tally.epoch.elapsed().as_micros())
}

fn send_frame(conversation: Uuid, body: String) -> String {
    json!({"type": "send", "conversation_id": conversation, "body": body}).to_string()
}

/// Sends `rate` messages a second, turn by turn over the pairs, alternating buyer and seller,
/// whatever the server's pace; stops when the returned sender is dropped or set.
fn open_loop(
    rate: f64,
    sockets: Arc<Vec<(Socket, Socket)>>,
    conversations: Arc<Vec<Uuid>>,
    tally: Arc<Tally>,
) -> (
    tokio::task::JoinHandle<u64>,
    tokio::sync::watch::Sender<bool>,
) {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut sent = 0u64;
        loop {
            let due = start + interval.mul_f64(sent as f64);
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = stopped.changed() => return sent,
            }
            let i = (sent as usize) % sockets.len();
            let (buyer, seller) = &sockets[i];
            let from = if (sent / sockets.len() as u64).is_multiple_of(2) {
                buyer
            } else {
                seller
            };
            let _ = from
                .out
                .send(send_frame(conversations[i], stamp(&tally, sent)));
            sent += 1;
        }
    });
    (handle, stop)
}

/// `senders` pairs, each sending its next message once the last is acknowledged.
fn closed_loop(
    senders: usize,
    sockets: Arc<Vec<(Socket, Socket)>>,
    conversations: Arc<Vec<Uuid>>,
    tally: Arc<Tally>,
) -> (
    tokio::task::JoinHandle<u64>,
    tokio::sync::watch::Sender<bool>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(async move {
        let sent = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..senders)
            .map(|i| {
                let sockets = sockets.clone();
                let conversations = conversations.clone();
                let tally = tally.clone();
                let sent = sent.clone();
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    let (buyer, _) = &sockets[i];
                    let mut acks = buyer.acks.lock().await;
                    while acks.try_recv().is_ok() {}
                    loop {
                        let n = sent.fetch_add(1, Ordering::Relaxed);
                        let _ = buyer
                            .out
                            .send(send_frame(conversations[i], stamp(&tally, n)));
                        tokio::select! {
                            got = acks.recv() => if got.is_none() { return },
                            _ = stopped.changed() => return,
                        }
                        if *stopped.borrow() {
                            return;
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
        sent.load(Ordering::Relaxed)
    });
    (handle, stop)
}

/// Runs a load through a warm-up and the measured window, then waits for stragglers.
async fn measure<F>(settings: &Settings, tally: &Arc<Tally>, name: &str, load: F) -> PhaseResult
where
    F: FnOnce() -> (
        tokio::task::JoinHandle<u64>,
        tokio::sync::watch::Sender<bool>,
    ),
{
    let (handle, stop) = load();
    tokio::time::sleep(settings.warmup).await;
    tally.latencies.lock().unwrap().clear();
    tally.delivered.store(0, Ordering::Relaxed);
    let errors_before = tally.errors.load(Ordering::Relaxed);
    let acks_before = tally.acks.load(Ordering::Relaxed);
    tally.recording.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(settings.duration).await;
    let seconds = started.elapsed().as_secs_f64();
    let delivered_in_window = tally.delivered.load(Ordering::Relaxed);
    let acks = tally.acks.load(Ordering::Relaxed) - acks_before;
    let _ = stop.send(true);
    let _ = handle.await;
    // Messages in flight at the end still count for latency.
    tokio::time::sleep(Duration::from_secs(2)).await;
    tally.recording.store(false, Ordering::Relaxed);
    let mut lat = std::mem::take(&mut *tally.latencies.lock().unwrap());
    lat.sort_unstable();
    let pick = |q: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len());
        lat[rank - 1] as f64 / 1000.0
    };
    let result = PhaseResult {
        name: name.to_owned(),
        seconds,
        sent: acks,
        delivered: delivered_in_window,
        errors: tally.errors.load(Ordering::Relaxed) - errors_before,
        per_s: delivered_in_window as f64 / seconds,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        max_ms: pick(1.0),
    };
    println!(
        "chat_load:   {name}: {:.0} delivered/s, p50 {:.1} ms, p99 {:.1} ms",
        result.per_s, result.p50_ms, result.p99_ms
    );
    result
}

struct Report {
    settings: Settings,
    cores: usize,
    seed_seconds: f64,
    topologies: Vec<Topology>,
}

impl Report {
    fn to_json(&self) -> Value {
        let s = &self.settings;
        json!({
            "generated_at": chrono::Utc::now().to_rfc3339(),
            "machine": { "cores": self.cores, "loadavg": common::loadavg() },
            "settings": {
                "connections": s.connections,
                "open_loop_rate_per_s": s.rate,
                "closed_loop_senders": s.closed_senders,
                "seconds": s.duration.as_secs_f64(),
                "warmup_seconds": s.warmup.as_secs_f64(),
                "db_max_connections": s.db_max_connections,
            },
            "seed_seconds": self.seed_seconds,
            "topologies": self.topologies.iter().map(|t| json!({
                "name": t.name,
                "connections_held": t.connections,
                "connect_seconds": t.connect_seconds,
                "server_rss_mib": t.rss_mib,
                "phases": t.phases.iter().map(|p| json!({
                    "name": p.name,
                    "seconds": p.seconds,
                    "acknowledged": p.sent,
                    "delivered": p.delivered,
                    "errors": p.errors,
                    "delivered_per_s": p.per_s,
                    "p50_ms": p.p50_ms,
                    "p99_ms": p.p99_ms,
                    "max_ms": p.max_ms,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

fn print_table(r: &Report) {
    let s = &r.settings;
    println!();
    println!(
        "chat_load: {} cores, {} sockets ({} pairs), {:.1} s per phase (+{:.1} s warm-up), DB pool {} per replica, load {}",
        r.cores,
        s.connections,
        s.pairs(),
        s.duration.as_secs_f64(),
        s.warmup.as_secs_f64(),
        s.db_max_connections,
        common::loadavg().unwrap_or_default()
    );
    println!();
    println!(
        "{:<11} {:<26} {:>8} {:>9} {:>9} {:>6} {:>12} {:>8} {:>8} {:>8}",
        "topology",
        "phase",
        "sockets",
        "acked",
        "delivered",
        "errors",
        "delivered/s",
        "p50 ms",
        "p99 ms",
        "max ms"
    );
    println!("{}", "-".repeat(114));
    for t in &r.topologies {
        for p in &t.phases {
            println!(
                "{:<11} {:<26} {:>8} {:>9} {:>9} {:>6} {:>12.1} {:>8.2} {:>8.2} {:>8.2}",
                t.name,
                p.name,
                t.connections,
                p.sent,
                p.delivered,
                p.errors,
                p.per_s,
                p.p50_ms,
                p.p99_ms,
                p.max_ms
            );
        }
    }
    println!();
    for t in &r.topologies {
        let rss: Vec<String> = t
            .rss_mib
            .iter()
            .map(|m| m.map_or("?".into(), |m| format!("{m:.0} MiB")))
            .collect();
        println!(
            "{}: {} sockets opened in {:.1} s; server memory with them open: {}",
            t.name,
            t.connections,
            t.connect_seconds,
            rss.join(" + ")
        );
    }
}
