//! Recommendations at marketplace scale: 100,000 products and 100,000 buyers (generated, with
//! tastes by age and gender), their purchases, raffle entries and product views in PostgreSQL;
//! the model trained from the database as the worker trains it; and
//! `GET /v1/me/recommendations` under load against a real `truffle serve`. Baselines in the same
//! run: popularity and segment popularity (training and ranking in-process), and
//! `GET /v1/me/orders` (the cheapest signed-in read) over HTTP.
//!
//! Run it with `cargo bench --bench reco_load`; `bench/README.md` lists the `BENCH_*` settings.
//! Results go to bench/results/reco_load.json; the database is dropped again whatever happened.
//!
//! Seeding takes shortcuts that the measured paths do not: the `BENCH_CREATED` most popular
//! products are created with `Catalogue::create` (signed records, as the API creates them), the
//! rest as bare `products` rows (they are only history, never returned); buyers, past raffles,
//! entries, orders and views are inserted in bulk; the open raffles are inserted as committed
//! (no chain). Training and serving read them through the same functions as in production.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reco_eval::baselines::{Popularity, Recommender, SegmentPopularity};
use serde_json::{Value, json};
use sqlx::PgPool;
use truffle::accounts::password;
use truffle::app::AppState;
use truffle::demo::corpus;
use truffle::recommend::signals::{self, Signals};
use truffle_reco::data::{Demographics, Histories, Interaction, Signal, UserQuery};
use truffle_reco::model::TruffleModel;
use uuid::Uuid;

#[path = "common/mod.rs"]
mod common;
use common::{LoadResult, PASSWORD, Server, admin_url, describe, num, task_load};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Rows per bulk INSERT.
const BATCH: usize = 20_000;

#[derive(Debug, Clone)]
struct Settings {
    admin_url: String,
    products: usize,
    buyers: usize,
    created: usize,
    open_raffles: usize,
    sample_buyers: usize,
    candidates: usize,
    seed: u64,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
    db_max_connections: u32,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let s = Settings {
            admin_url: admin_url(),
            products: num("BENCH_PRODUCTS", 100_000usize)?,
            buyers: num("BENCH_BUYERS", 100_000usize)?,
            created: num("BENCH_CREATED", 5_000usize)?,
            open_raffles: num("BENCH_OPEN_RAFFLES", 2_000usize)?,
            sample_buyers: num("BENCH_SAMPLE_BUYERS", 2_000usize)?,
            candidates: num("BENCH_CANDIDATES", 5_000usize)?,
            seed: num("BENCH_SEED", 20_261_121u64)?,
            concurrency: num("BENCH_CONCURRENCY", 16usize)?,
            duration: Duration::from_secs_f64(num("BENCH_SECONDS", 10.0f64)?),
            warmup: Duration::from_secs_f64(num("BENCH_WARMUP_SECONDS", 1.0f64)?),
            db_max_connections: num("BENCH_DB_MAX_CONNECTIONS", 20u32)?,
        };
        if s.products == 0
            || s.buyers == 0
            || s.sample_buyers == 0
            || s.concurrency == 0
            || s.duration.is_zero()
        {
            bail!(
                "BENCH_PRODUCTS, BENCH_BUYERS, BENCH_SAMPLE_BUYERS, BENCH_CONCURRENCY and BENCH_SECONDS must be above zero"
            );
        }
        if s.created > s.products || s.open_raffles > s.created {
            bail!("need BENCH_OPEN_RAFFLES <= BENCH_CREATED <= BENCH_PRODUCTS");
        }
        Ok(s)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !common::run_as_bench("reco_load") {
        return Ok(());
    }
    let settings = Settings::from_env()?;
    let load_before = common::loadavg();
    let run_dir = PathBuf::from(common::index_dir("reco_load"));
    let outcome = common::in_fresh_database(&settings.admin_url, |db_url| {
        let (settings, run_dir) = (&settings, &run_dir);
        async move { run(settings, &db_url, run_dir).await }
    })
    .await;
    let _ = std::fs::remove_dir_all(&run_dir);
    let mut report = outcome?;
    report["load_before"] = json!(load_before);
    report["load_after"] = json!(common::loadavg());
    print_report(&report);
    common::write_report("reco_load", &report)
}

fn app_env(
    settings: &Settings,
    db_url: &str,
    run_dir: &std::path::Path,
) -> HashMap<String, String> {
    let mut env = common::bench_env(db_url, settings.db_max_connections);
    common::set(
        &mut env,
        [
            (
                "SEARCH_INDEX_DIR",
                run_dir.join("index").display().to_string(),
            ),
            ("RECO_CANDIDATES", settings.candidates.to_string()),
            // Trained once at start-up; the run is over long before a second training.
            ("RECO_REBUILD_INTERVAL", "6h".into()),
        ],
    );
    env
}

/// The generated marketplace: who likes what.
struct World {
    /// Product ids, most popular first.
    products: Vec<Uuid>,
    /// Per buyer: id and demographics.
    buyers: Vec<(Uuid, Demographics)>,
    purchases: Vec<(u32, u32)>,
    entries: Vec<(u32, u32)>,
    views: Vec<(u32, u32)>,
}

async fn run(
    settings: &Settings,
    db_url: &str,
    run_dir: &std::path::Path,
) -> anyhow::Result<Value> {
    let env = app_env(settings, db_url, run_dir);
    let state = common::start_app(&env).await?;
    let seeding = Instant::now();
    let world = seed(settings, &state).await?;
    let seed_seconds = seeding.elapsed().as_secs_f64();

    // Training as the worker does it: every signal read through the domains, then the model.
    println!("reco_load: training (Recommendations::train: read from PostgreSQL, then train)");
    let started = Instant::now();
    let trained = state.recommend.train().await?;
    let train_seconds = started.elapsed().as_secs_f64();
    let memory = trained.model.memory();

    // The same data in-process, for the baselines and the ranking latency of each model.
    let views_since = Utc::now().date_naive() - chrono::Duration::days(90);
    let started = Instant::now();
    let signals_in = Signals::load(&state.db, views_since).await?;
    let read_seconds = started.elapsed().as_secs_f64();
    let today = Utc::now().date_naive();
    let (data, catalog) = signals::assemble(signals_in, today);
    let histories = data.histories();
    let started = Instant::now();
    let popularity = Popularity::train(data.n_items(), &histories);
    let popularity_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let segment = SegmentPopularity::train(&data.users, &histories, data.n_items());
    let segment_seconds = started.elapsed().as_secs_f64();

    // The buyers whose requests are timed, and their histories on the model's indices.
    let mut rng = StdRng::seed_from_u64(settings.seed ^ 0x5eed);
    let sample: Vec<usize> = (0..settings.sample_buyers)
        .map(|_| rng.random_range(0..world.buyers.len()))
        .collect();
    let open: HashSet<u32> = open_products(&state.db)
        .await?
        .iter()
        .filter_map(|id| catalog.item(id))
        .collect();
    let user_history = |b: usize| -> Vec<(u32, Signal)> {
        let mut interactions = Vec::new();
        for (list, signal) in [
            (&world.purchases, Signal::Purchase),
            (&world.entries, Signal::RaffleEntry),
            (&world.views, Signal::View),
        ] {
            // The lists are sorted by buyer.
            let start = list.partition_point(|&(u, _)| (u as usize) < b);
            for &(_, p) in list[start..].iter().take_while(|&&(u, _)| u as usize == b) {
                if let Some(item) = catalog.item(&world.products[p as usize]) {
                    interactions.push(Interaction {
                        user: 0,
                        item,
                        signal,
                    });
                }
            }
        }
        Histories::build(1, &interactions).of(0).to_vec()
    };
    let histories_of: Vec<Vec<(u32, Signal)>> = sample.iter().map(|&b| user_history(b)).collect();
    let model: &TruffleModel = &trained.model;
    let truffle_rank = time_each(&sample, |k, b| {
        let user = UserQuery {
            demographics: world.buyers[b].1,
            history: &histories_of[k],
        };
        model
            .recommend_with_fresh(&user, 20, |i| open.contains(&i), &[], false)
            .len()
    });
    let segment_rank = time_each(&sample, |k, b| {
        let user = UserQuery {
            demographics: world.buyers[b].1,
            history: &histories_of[k],
        };
        top_by(&segment, &user, data.n_items(), &open, 20)
    });
    let popularity_rank = time_each(&sample, |k, b| {
        let user = UserQuery {
            demographics: world.buyers[b].1,
            history: &histories_of[k],
        };
        top_by(&popularity, &user, data.n_items(), &open, 20)
    });
    drop((data, catalog, histories));

    // Tokens for the sampled buyers (sessions opened directly: no argon2 per login).
    let mut tokens = Vec::with_capacity(sample.len());
    let mut conn = state.db.acquire().await?;
    for &b in &sample {
        let pair = state
            .accounts
            .open_session(&mut conn, world.buyers[b].0)
            .await?;
        tokens.push(pair.access_token);
    }
    drop(conn);
    let pool = state.db.clone();
    drop(trained);
    drop(state);
    pool.close().await;

    // The real server: it trains at start; requests are answered (closing soonest) meanwhile.
    println!("reco_load: starting `truffle serve` and waiting for its first model");
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(settings.concurrency)
        .build()?;
    let mut server = Server::start(&env, run_dir).await?;
    let started = Instant::now();
    server.wait_ready(&client).await?;
    let probe = format!("{}/v1/me/recommendations", server.base);
    loop {
        let body: Value = client
            .get(&probe)
            .bearer_auth(&tokens[0])
            .send()
            .await?
            .json()
            .await?;
        if body["model_trained_at"].is_string() {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("no model after 10 minutes:\n{}", server.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let server_first_model_seconds = started.elapsed().as_secs_f64();
    let rss_trained = server.status_kib("VmRSS");

    let tokens = Arc::new(tokens);
    let mut http = Vec::new();
    for (key, path) in [
        ("orders", "/v1/me/orders?limit=10"),
        ("recommendations", "/v1/me/recommendations?limit=10"),
    ] {
        let url = Arc::new(format!("{}{path}", server.base));
        let request = {
            let (client, tokens, url) = (client.clone(), tokens.clone(), url.clone());
            Arc::new(move |i: u64| {
                let (client, tokens, url) = (client.clone(), tokens.clone(), url.clone());
                async move {
                    let token = &tokens[i as usize % tokens.len()];
                    let res = client
                        .get(url.as_str())
                        .bearer_auth(token)
                        .send()
                        .await
                        .map_err(describe)?;
                    let status = res.status();
                    let body = res.bytes().await.map_err(describe)?;
                    if status.is_success() {
                        Ok(())
                    } else {
                        Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
                    }
                }
            })
        };
        println!("reco_load: GET {path}, {} clients", settings.concurrency);
        task_load(settings.concurrency, settings.warmup, request.clone()).await;
        let load = task_load(settings.concurrency, settings.duration, request).await;
        http.push((key, path, load));
    }
    // What the served lists look like for the first sampled buyers.
    let mut examples = Vec::new();
    for token in tokens.iter().take(3) {
        let body: Value = client
            .get(&probe)
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        let items: Vec<Value> = body["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .take(3)
                    .map(|i| json!({"name": i["product"]["record"]["name"], "reason": i["reason"]["text"]}))
                    .collect()
            })
            .unwrap_or_default();
        examples.push(json!(items));
    }
    let rss_after = server.status_kib("VmRSS");
    let hwm = server.status_kib("VmHWM");
    server.stop().await;

    let purchases = world.purchases.len();
    let entries = world.entries.len();
    let views = world.views.len();
    Ok(json!({
        "settings": {
            "products": settings.products, "buyers": settings.buyers, "created": settings.created,
            "open_raffles": settings.open_raffles, "sample_buyers": settings.sample_buyers,
            "candidates": settings.candidates, "seed": settings.seed,
            "concurrency": settings.concurrency, "seconds": settings.duration.as_secs_f64(),
        },
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "data": {"purchases": purchases, "entries": entries, "views": views, "seed_seconds": seed_seconds},
        "training": {
            "total_seconds": train_seconds,
            "read_seconds": read_seconds,
            "candidates": memory.candidates,
            "serving_mib": memory.serving_bytes as f64 / (1 << 20) as f64,
            "training_peak_mib": memory.training_peak_bytes as f64 / (1 << 20) as f64,
            "popularity_seconds": popularity_seconds,
            "segment_popularity_seconds": segment_seconds,
            "server_first_model_seconds": server_first_model_seconds,
        },
        "ranking": [
            latency_row("Truffle model", &truffle_rank),
            latency_row("segment popularity", &segment_rank),
            latency_row("popularity", &popularity_rank),
        ],
        "http": http.iter().map(|(key, path, load)| http_row(key, path, load)).collect::<Vec<_>>(),
        "server_kib": {"rss_after_training": rss_trained, "rss_after_load": rss_after, "peak": hwm},
        "examples": examples,
    }))
}

/// The products with an open raffle.
async fn open_products(db: &PgPool) -> anyhow::Result<Vec<Uuid>> {
    Ok(truffle::raffles::upcoming(db)
        .await?
        .into_iter()
        .map(|u| u.product_id)
        .collect())
}

/// The best `n` open items by a baseline's scores, never one in the history.
fn top_by(
    model: &dyn Recommender,
    user: &UserQuery<'_>,
    n_items: usize,
    open: &HashSet<u32>,
    n: usize,
) -> usize {
    let mut scores = vec![0.0f32; n_items];
    model.score(user, &mut scores);
    let owned: HashSet<u32> = user.history.iter().map(|(i, _)| *i).collect();
    let mut ranked: Vec<(u32, f32)> = (0..n_items as u32)
        .filter(|i| open.contains(i) && !owned.contains(i))
        .map(|i| (i, scores[i as usize]))
        .collect();
    let by = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if ranked.len() > n {
        ranked.select_nth_unstable_by(n, by);
        ranked.truncate(n);
    }
    ranked.sort_unstable_by(by);
    ranked.len()
}

/// Each sampled buyer's ranking time, on this thread.
fn time_each(sample: &[usize], mut rank: impl FnMut(usize, usize) -> usize) -> Vec<Duration> {
    sample
        .iter()
        .enumerate()
        .map(|(k, &b)| {
            let started = Instant::now();
            std::hint::black_box(rank(k, b));
            started.elapsed()
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn latency_row(name: &str, latencies: &[Duration]) -> Value {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    json!({"model": name, "p50_ms": percentile(&sorted, 0.5), "p99_ms": percentile(&sorted, 0.99)})
}

fn http_row(key: &str, path: &str, load: &LoadResult) -> Value {
    let mut sorted: Vec<Duration> = load.latencies.iter().map(|(_, d)| *d).collect();
    sorted.sort();
    let errors: u64 = load.errors.values().sum();
    json!({
        "key": key, "path": path, "ok": sorted.len(), "errors": errors,
        "error_kinds": load.errors.iter().map(|(k, v)| (k.clone(), *v)).collect::<BTreeMap<_, _>>(),
        "rps": sorted.len() as f64 / load.elapsed.as_secs_f64(),
        "p50_ms": percentile(&sorted, 0.5), "p99_ms": percentile(&sorted, 0.99),
    })
}

/// Seeds the marketplace; returns who did what (lists sorted by buyer).
async fn seed(settings: &Settings, state: &AppState) -> anyhow::Result<World> {
    let db = &state.db;
    let hash = password::hash(PASSWORD.to_owned()).await?;
    let seller = common::seed_seller(state, &hash).await?;
    let catalogue = corpus::generate(settings.products, settings.seed);
    // Index = popularity rank. The most popular are created as the API creates them.
    println!(
        "reco_load: creating {} products with Catalogue::create, {} more in bulk",
        settings.created,
        settings.products - settings.created
    );
    let created: Vec<Uuid> = futures::stream::iter(catalogue[..settings.created].iter())
        .map(|p| {
            let catalogue = state.catalogue.clone();
            let input = p.input();
            tokio::spawn(async move { catalogue.create(seller, input).await.map(|p| p.id) })
        })
        .buffered(16)
        .map(|joined| {
            joined
                .map_err(anyhow::Error::from)
                .and_then(|r| r.map_err(|e| anyhow!("{e}")))
        })
        .try_collect()
        .await?;
    let mut products = created;
    let rest: Vec<Uuid> = (settings.created..settings.products)
        .map(|_| Uuid::now_v7())
        .collect();
    for chunk in rest
        .chunks(BATCH)
        .zip(catalogue[settings.created..].chunks(BATCH))
    {
        let (ids, items) = chunk;
        let names: Vec<&str> = items.iter().map(|p| p.doc.name.as_str()).collect();
        let brands: Vec<&str> = items.iter().map(|p| p.doc.brand.as_str()).collect();
        let categories: Vec<&str> = items.iter().map(|p| p.doc.category.as_str()).collect();
        let prices: Vec<i64> = items
            .iter()
            .map(|p| p.doc.retail_price_krw as i64)
            .collect();
        sqlx::query(
            "INSERT INTO products (id, seller_id, current_version, name, brand, category, edition_size, retail_price_krw)
             SELECT id, $2, 1, name, brand, category, 100, price
             FROM UNNEST($1::uuid[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS t(id, name, brand, category, price)",
        )
        .bind(ids)
        .bind(seller)
        .bind(&names)
        .bind(&brands)
        .bind(&categories)
        .bind(&prices)
        .execute(db)
        .await?;
    }
    products.extend(rest);

    // Buyers: ages 18–65, half women. Each has two favourite brands, drawn by their segment.
    println!("reco_load: {} buyers and their history", settings.buyers);
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let today = Utc::now().date_naive();
    let mut buyers = Vec::with_capacity(settings.buyers);
    let mut birth_dates = Vec::with_capacity(settings.buyers);
    let mut genders = Vec::with_capacity(settings.buyers);
    for _ in 0..settings.buyers {
        let age: u8 = rng.random_range(18..66);
        let female = rng.random_bool(0.5);
        let birth = today - chrono::Duration::days(i64::from(age) * 365 + rng.random_range(0..365));
        buyers.push((
            Uuid::now_v7(),
            Demographics {
                age: Some(signals::age_on(birth, today)),
                gender: Some(if female {
                    truffle_reco::data::Gender::Female
                } else {
                    truffle_reco::data::Gender::Male
                }),
            },
        ));
        birth_dates.push(birth);
        genders.push(if female { "female" } else { "male" });
    }
    for ((ids, births), genders) in buyers
        .chunks(BATCH)
        .zip(birth_dates.chunks(BATCH))
        .zip(genders.chunks(BATCH))
    {
        let ids: Vec<Uuid> = ids.iter().map(|b| b.0).collect();
        sqlx::query(
            "INSERT INTO users (id, birth_date, gender, role)
             SELECT id, birth, gender, 'buyer' FROM UNNEST($1::uuid[], $2::date[], $3::text[]) AS t(id, birth, gender)",
        )
        .bind(&ids)
        .bind(births)
        .bind(genders)
        .execute(db)
        .await?;
    }

    // Tastes: products by brand, most popular first; a segment prefers some brands.
    let mut by_brand: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (i, p) in catalogue.iter().enumerate() {
        by_brand.entry(p.brand).or_default().push(i as u32);
    }
    let brands: Vec<&Vec<u32>> = by_brand.values().collect();
    let zipf = Zipf::new(settings.products, 1.0);
    let brand_zipf: Vec<Zipf> = brands
        .iter()
        .map(|list| Zipf::new(list.len(), 1.0))
        .collect();
    let mut purchases = Vec::new();
    let mut entries = Vec::new();
    let mut views = Vec::new();
    for (b, (_, d)) in buyers.iter().enumerate() {
        let segment = d.segment().index();
        let favourites = [
            (segment * 7 + rng.random_range(0..3)) % brands.len(),
            (segment * 13 + 5 + rng.random_range(0..3)) % brands.len(),
        ];
        let pick = |rng: &mut StdRng| -> u32 {
            if rng.random_bool(0.7) {
                let brand = favourites[rng.random_range(0..2)];
                // Within the brand, popular first (a Zipf over the brand's own ranks).
                brands[brand][brand_zipf[brand].sample(rng)]
            } else {
                zipf.sample(rng) as u32
            }
        };
        let mut seen = HashSet::new();
        for (list, mean) in [
            (&mut purchases, 2.0),
            (&mut entries, 4.0),
            (&mut views, 8.0),
        ] {
            let n = geometric(&mut rng, mean);
            for _ in 0..n {
                let p = pick(&mut rng);
                if seen.insert(p) {
                    list.push((b as u32, p));
                }
            }
        }
    }
    // A purchase was won in a raffle: its entry is in that raffle too.
    let purchased: HashSet<(u32, u32)> = purchases.iter().copied().collect();
    let raffled: Vec<u32> = {
        let mut set: Vec<u32> = purchases.iter().chain(&entries).map(|&(_, p)| p).collect();
        set.sort_unstable();
        set.dedup();
        set
    };
    println!(
        "  {} purchases, {} entries, {} views; {} past raffles",
        purchases.len(),
        entries.len(),
        views.len(),
        raffled.len()
    );
    let past_raffle: HashMap<u32, Uuid> = raffled.iter().map(|&p| (p, Uuid::now_v7())).collect();
    for chunk in raffled.chunks(BATCH) {
        let ids: Vec<Uuid> = chunk.iter().map(|p| past_raffle[p]).collect();
        let product_ids: Vec<Uuid> = chunk.iter().map(|&p| products[p as usize]).collect();
        sqlx::query(
            "INSERT INTO raffles (id, product_id, product_content_hash, seller_id, price_krw, winners,
                                  opens_at, closes_at, payment_window_secs, stage, seed_sealed, seed_hash)
             SELECT id, product_id, '\\x00', $3, 100000, 100, now() - interval '30 days',
                    now() - interval '29 days', 86400, 'settled', '\\x00', '\\x00'
             FROM UNNEST($1::uuid[], $2::uuid[]) AS t(id, product_id)",
        )
        .bind(&ids)
        .bind(&product_ids)
        .bind(seller)
        .execute(db)
        .await?;
    }
    let all_entries: Vec<(u32, u32)> = purchases.iter().chain(&entries).copied().collect();
    for chunk in all_entries.chunks(BATCH) {
        let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
        let raffle_ids: Vec<Uuid> = chunk.iter().map(|(_, p)| past_raffle[p]).collect();
        let users: Vec<Uuid> = chunk.iter().map(|&(b, _)| buyers[b as usize].0).collect();
        let tickets: Vec<Vec<u8>> = ids.iter().map(|id| id.as_bytes().to_vec()).collect();
        sqlx::query(
            "INSERT INTO entries (id, raffle_id, user_id, ticket, outcome)
             SELECT id, raffle_id, user_id, ticket, 'lost'
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::bytea[]) AS t(id, raffle_id, user_id, ticket)",
        )
        .bind(&ids)
        .bind(&raffle_ids)
        .bind(&users)
        .bind(&tickets)
        .execute(db)
        .await?;
        let won: Vec<usize> = (0..chunk.len())
            .filter(|&k| purchased.contains(&chunk[k]))
            .collect();
        let order_ids: Vec<Uuid> = won.iter().map(|_| Uuid::now_v7()).collect();
        let pick = |v: &Vec<Uuid>| -> Vec<Uuid> { won.iter().map(|&k| v[k]).collect() };
        let products_won: Vec<Uuid> = won.iter().map(|&k| products[chunk[k].1 as usize]).collect();
        sqlx::query(
            "INSERT INTO orders (id, raffle_id, entry_id, buyer_id, seller_id, product_id, amount_krw, status, pay_by, paid_at)
             SELECT id, raffle_id, entry_id, buyer_id, $5, product_id, 100000, 'received',
                    now() - interval '28 days', now() - interval '28 days'
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $6::uuid[])
                  AS t(id, raffle_id, entry_id, buyer_id, product_id)",
        )
        .bind(&order_ids)
        .bind(pick(&raffle_ids))
        .bind(pick(&ids))
        .bind(pick(&users))
        .bind(seller)
        .bind(&products_won)
        .execute(db)
        .await?;
    }
    for chunk in views.chunks(BATCH) {
        let users: Vec<Uuid> = chunk.iter().map(|&(b, _)| buyers[b as usize].0).collect();
        let product_ids: Vec<Uuid> = chunk.iter().map(|&(_, p)| products[p as usize]).collect();
        sqlx::query(
            "INSERT INTO product_views (user_id, product_id, viewed_on)
             SELECT user_id, product_id, current_date - (random() * 60)::int
             FROM UNNEST($1::uuid[], $2::uuid[]) AS t(user_id, product_id) ON CONFLICT DO NOTHING",
        )
        .bind(&users)
        .bind(&product_ids)
        .execute(db)
        .await?;
    }

    // Open raffles on created products (they have signed records), closing within a week.
    let mut open: Vec<u32> = (0..settings.created as u32).collect();
    for i in 0..open.len() {
        let j = rng.random_range(i..open.len());
        open.swap(i, j);
    }
    open.truncate(settings.open_raffles);
    let ids: Vec<Uuid> = open.iter().map(|_| Uuid::now_v7()).collect();
    let product_ids: Vec<Uuid> = open.iter().map(|&p| products[p as usize]).collect();
    let hours: Vec<i32> = open.iter().map(|_| rng.random_range(1..168)).collect();
    sqlx::query(
        "INSERT INTO raffles (id, product_id, product_content_hash, seller_id, price_krw, winners,
                              opens_at, closes_at, payment_window_secs, stage, seed_sealed, seed_hash)
         SELECT id, product_id, '\\x00', $3, 100000, 10, now() - interval '1 hour',
                now() + make_interval(hours => h), 86400, 'committed', '\\x00', '\\x00'
         FROM UNNEST($1::uuid[], $2::uuid[], $4::int[]) AS t(id, product_id, h)",
    )
    .bind(&ids)
    .bind(&product_ids)
    .bind(seller)
    .bind(&hours)
    .execute(db)
    .await
    .context("open raffles")?;
    sqlx::query("ANALYZE").execute(db).await?;

    purchases.sort_unstable();
    entries.sort_unstable();
    views.sort_unstable();
    Ok(World {
        products,
        buyers,
        purchases,
        entries,
        views,
    })
}

/// A geometric count with this mean (0 included).
fn geometric(rng: &mut StdRng, mean: f64) -> usize {
    let p = 1.0 / (mean + 1.0);
    let mut n = 0;
    while !rng.random_bool(p) && n < 200 {
        n += 1;
    }
    n
}

/// Zipf over ranks 0..n (by inverting the cumulative weights).
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (1..=n.max(1))
            .map(|r| {
                total += 1.0 / (r as f64).powf(s);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut StdRng) -> usize {
        let x = rng.random::<f64>() * self.cumulative.last().copied().unwrap_or(0.0);
        self.cumulative
            .partition_point(|&c| c < x)
            .min(self.cumulative.len() - 1)
    }
}

fn print_report(r: &Value) {
    let s = &r["settings"];
    println!(
        "\nreco_load: {} cores, {} products, {} buyers, {} open raffles, K = {}; load {} → {}",
        r["cores"],
        s["products"],
        s["buyers"],
        s["open_raffles"],
        s["candidates"],
        r["load_before"],
        r["load_after"]
    );
    let d = &r["data"];
    println!(
        "history: {} purchases, {} raffle entries, {} product views (seeded in {:.0} s)",
        d["purchases"],
        d["entries"],
        d["views"],
        d["seed_seconds"].as_f64().unwrap_or(0.0)
    );
    let t = &r["training"];
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    println!("\ntraining                                   seconds");
    println!(
        "Truffle (read + train, as the worker)      {:>7.1}",
        f(&t["total_seconds"])
    );
    println!(
        "  of which reading the signals             {:>7.1}",
        f(&t["read_seconds"])
    );
    println!(
        "popularity (baseline, from the same data)  {:>7.2}",
        f(&t["popularity_seconds"])
    );
    println!(
        "segment popularity (baseline)              {:>7.2}",
        f(&t["segment_popularity_seconds"])
    );
    println!(
        "server: start to first model               {:>7.1}",
        f(&t["server_first_model_seconds"])
    );
    println!(
        "model memory: {:.0} MiB served (K = {}), {:.0} MiB peak while training",
        f(&t["serving_mib"]),
        t["candidates"],
        f(&t["training_peak_mib"])
    );
    println!("\nranking one buyer in-process (top 20 of the open raffles)   p50 ms   p99 ms");
    for row in r["ranking"].as_array().into_iter().flatten() {
        println!(
            "{:<58} {:>7.2}  {:>7.2}",
            row["model"].as_str().unwrap_or(""),
            f(&row["p50_ms"]),
            f(&row["p99_ms"])
        );
    }
    println!(
        "\nHTTP, {} clients                        req/s    p50 ms   p99 ms  errors",
        s["concurrency"]
    );
    for row in r["http"].as_array().into_iter().flatten() {
        println!(
            "{:<38} {:>7.0}  {:>7.1}  {:>7.1}  {:>6}",
            row["path"].as_str().unwrap_or(""),
            f(&row["rps"]),
            f(&row["p50_ms"]),
            f(&row["p99_ms"]),
            row["errors"]
        );
        if row["errors"].as_u64().unwrap_or(0) > 0 {
            println!("  errors: {}", row["error_kinds"]);
        }
    }
    let m = &r["server_kib"];
    let mib = |v: &Value| v.as_f64().map_or(f64::NAN, |k| k / 1024.0);
    println!(
        "\nserver memory: {:.0} MiB after training, {:.0} MiB after the load, {:.0} MiB peak",
        mib(&m["rss_after_training"]),
        mib(&m["rss_after_load"]),
        mib(&m["peak"])
    );
    println!("examples (first sampled buyers' top 3): {}", r["examples"]);
}
