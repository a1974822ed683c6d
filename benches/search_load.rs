//! Product search against PostgreSQL full-text search, on the same 100,000 products and the same
//! queries in one run. Run it with `cargo bench --bench search_load`; see bench/README.md for the
//! settings and how to read the numbers.
//!
//! One run:
//!
//! 1. A fresh database and the app started in-process (no chain: products stay `pending`), one
//!    seller, and `BENCH_PRODUCTS` products of the generated catalogue (`demo::corpus`) created
//!    through `Catalogue::create`, signed with the seller's custodial key, as the API creates them.
//! 2. The index built with `Search::rebuild`, what `truffle reindex` runs; its size on disk.
//! 3. Tantivy in-process: the built index reopened (`SearchIndex::open`), the query set run from
//!    `BENCH_THREADS` OS threads for `BENCH_SECONDS`.
//! 4. Over HTTP: the real binary (`truffle serve`) on the same database and index, and
//!    `BENCH_CONCURRENCY` clients calling `GET /v1/search`; the server's RSS afterwards.
//! 5. PostgreSQL on the same products and queries: a `tsvector` (`simple` configuration) with a GIN
//!    index, and `pg_trgm` with a GIN index, each from `BENCH_THREADS` connections.
//!
//! Every engine's top 20 for every query is also kept once: zero-hit queries, and NDCG@10 against
//! the judged queries of tests/search/judged_queries.json (graded by product attributes, as
//! tests/search_relevance.rs grades them). A table on stdout, JSON in
//! bench/results/search_load.json, and the server stopped, the database dropped and the index
//! directory removed again, whatever happened.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use truffle::accounts::password;
use truffle::app::AppState;
use truffle::demo::corpus::{self, CorpusProduct};
use truffle::search::{Opened, SearchIndex, SearchRequest, Sort};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

#[path = "common/mod.rs"]
mod common;

use common::{
    LoadResult, PASSWORD, Server, admin_sql, admin_url, describe, num, task_load, url_for,
};

#[path = "../tests/search/judgments.rs"]
mod judgments;

use judgments::JudgedSet;

/// Hits per query, as `GET /v1/search` serves by default.
const LIMIT: usize = 20;
/// No single request or statement may hang the run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The queries run when tests/search/judged_queries.json is absent: what buyers type, in Korean,
/// English, both, without spaces, with particles, with a typo, and style codes.
const FALLBACK_QUERIES: &[&str] = &[
    "나이키 덩크 로우",
    "덩크로우",
    "덩크 판다",
    "nike dunk low panda",
    "덩크를",
    "조던 1 시카고",
    "jordan 1 chicago",
    "jordna",
    "에어 조던 1 하이",
    "트래비스 스캇",
    "travis scott",
    "역모카",
    "리버스 모카",
    "에어맥스 90",
    "air max 1",
    "아디다스 삼바",
    "adidas samba og",
    "가젤 인도어",
    "이지 슬라이드",
    "yeezy slide",
    "뉴발란스 993",
    "new balance 990v6",
    "뉴발 992",
    "아식스 젤 카야노",
    "gel kayano 14",
    "살로몬 xt-6",
    "salomon xt-6",
    "호카 본디",
    "푸마 스피드캣",
    "puma speedcat",
    "스투시",
    "stussy hoodie",
    "노스페이스 눕시",
    "the north face nuptse",
    "아더에러",
    "오메가 스와치 문스와치",
    "moonswatch",
    "스탠리 텀블러",
    "한정판 스니커즈",
    "DD1391-100",
];

/// What a run does, from `BENCH_*` variables so that it can be rerun with other settings.
#[derive(Debug, Clone)]
struct Settings {
    admin_url: String,
    products: usize,
    seed: u64,
    threads: usize,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
    create_concurrency: usize,
    db_max_connections: u32,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let s = Settings {
            admin_url: admin_url(),
            products: num("BENCH_PRODUCTS", 100_000usize)?,
            seed: num("BENCH_SEED", 20_250_101u64)?,
            threads: num("BENCH_THREADS", 2usize)?,
            concurrency: num("BENCH_CONCURRENCY", 16usize)?,
            duration: Duration::from_secs_f64(num("BENCH_SECONDS", 10.0f64)?),
            warmup: Duration::from_secs_f64(num("BENCH_WARMUP_SECONDS", 1.0f64)?),
            create_concurrency: num("BENCH_CREATE_CONCURRENCY", 16usize)?,
            db_max_connections: num("BENCH_DB_MAX_CONNECTIONS", 20u32)?,
        };
        if s.products == 0
            || s.threads == 0
            || s.concurrency == 0
            || s.create_concurrency == 0
            || s.db_max_connections == 0
            || s.duration.is_zero()
        {
            bail!(
                "BENCH_PRODUCTS, BENCH_THREADS, BENCH_CONCURRENCY, BENCH_CREATE_CONCURRENCY, \
                 BENCH_DB_MAX_CONNECTIONS and BENCH_SECONDS must be above zero"
            );
        }
        if s.duration + s.warmup > Duration::from_secs(3000) {
            bail!("BENCH_SECONDS + BENCH_WARMUP_SECONDS must stay under 50 minutes");
        }
        Ok(s)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !common::run_as_bench("search_load") {
        return Ok(());
    }
    let settings = Settings::from_env()?;
    // Everything shares the machine: other work on it shows here and in every figure.
    let load_before = common::loadavg();
    let queries = QuerySet::load()?;

    let db_name = format!("truffle_bench_{}", Uuid::new_v4().simple());
    let db_url = url_for(&settings.admin_url, &db_name)?;
    // The run's own directory: the index, and the server's working directory and log.
    let run_dir = PathBuf::from(common::index_dir("search_load"));
    admin_sql(&settings.admin_url, format!("CREATE DATABASE {db_name}")).await?;

    // Ctrl-C abandons the run but still falls through to the cleanup below; the server
    // subprocess is killed when its handle is dropped with the abandoned run.
    let stop = StopFlag::default();
    let outcome = tokio::select! {
        r = run(&settings, &queries, &db_url, &run_dir, &stop) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    // Load threads of an abandoned in-process phase stop at their next query.
    stop.set();

    // FORCE ends whatever connections are left (an abandoned run's pool, a killed server's).
    if let Err(e) = admin_sql(
        &settings.admin_url,
        format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"),
    )
    .await
    {
        eprintln!("warning: could not drop {db_name}: {e:#}");
    }
    if let Err(e) = std::fs::remove_dir_all(&run_dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        eprintln!("warning: could not remove {}: {e}", run_dir.display());
    }

    let mut report = outcome?;
    report.load_before = load_before;
    report.load_after = common::loadavg();
    print_report(&report);
    common::write_report("search_load", &report.to_json())
}

/// Tells load threads to stop early (Ctrl-C).
#[derive(Clone, Default)]
struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------------------------
// The queries, and their judgments when there are any.

/// The queries every engine runs, and their judgments when there are any.
struct QuerySet {
    /// Where the queries came from.
    source: String,
    queries: Vec<String>,
    judged: Option<JudgedSet>,
}

impl QuerySet {
    fn load() -> anyhow::Result<QuerySet> {
        match std::fs::read_to_string(judgments::PATH) {
            Ok(text) => {
                let judged = JudgedSet::parse(&text)
                    .map_err(|e| anyhow!("read the judged queries in {}: {e}", judgments::PATH))?;
                Ok(QuerySet {
                    source: "tests/search/judged_queries.json".into(),
                    queries: judged.queries.iter().map(|q| q.q.clone()).collect(),
                    judged: Some(judged),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(QuerySet {
                source: format!(
                    "built-in list of {} queries (tests/search/judged_queries.json is absent: \
                     no NDCG)",
                    FALLBACK_QUERIES.len()
                ),
                queries: FALLBACK_QUERIES.iter().map(|q| (*q).to_owned()).collect(),
                judged: None,
            }),
            Err(e) => Err(anyhow!("cannot read {}: {e}", judgments::PATH)),
        }
    }
}

/// Mean NDCG@10 of one engine, and each query's.
#[derive(Debug, Clone)]
struct Relevance {
    mean: f64,
    per_query: Vec<f64>,
}

/// NDCG@10 of each query's ranking (product ids), against the best ten grades in the
/// benchmark's own catalogue.
fn evaluate(
    judged: &JudgedSet,
    corpus: &[CorpusProduct],
    catalogue_of: &HashMap<Uuid, usize>,
    rankings: &[Vec<Uuid>],
) -> Relevance {
    let per_query: Vec<f64> = judged
        .queries
        .iter()
        .zip(rankings)
        .map(|(q, ranking)| {
            q.ndcg(
                corpus,
                ranking
                    .iter()
                    .map(|id| catalogue_of.get(id).map_or(0, |&i| q.grade(&corpus[i]))),
            )
        })
        .collect();
    Relevance {
        mean: per_query.iter().sum::<f64>() / per_query.len().max(1) as f64,
        per_query,
    }
}

// ---------------------------------------------------------------------------------------------
// The run.

/// The app's environment: the tests' map, with a pool for concurrent product creation and this
/// run's own index directory.
fn app_env(settings: &Settings, db_url: &str, index_dir: &Path) -> HashMap<String, String> {
    let mut env = common::bench_env(db_url, settings.db_max_connections);
    env.insert("SEARCH_INDEX_DIR".into(), index_dir.display().to_string());
    env
}

async fn run(
    settings: &Settings,
    queries: &QuerySet,
    db_url: &str,
    run_dir: &Path,
    stop: &StopFlag,
) -> anyhow::Result<Report> {
    let index_dir = &run_dir.join("index");
    let env = app_env(settings, db_url, index_dir);
    let state = common::start_app(&env).await?;

    // The catalogue, generated, then created product by product as the API creates them.
    let corpus = corpus::generate(settings.products, settings.seed);
    let (ids, create_seconds) = create_products(settings, &state, &corpus).await?;

    // The index, as `truffle reindex` builds it.
    println!(
        "search_load: building the index (Search::rebuild) in {}",
        index_dir.display()
    );
    let started = Instant::now();
    let step = (settings.products as u64 / 4).max(1);
    let next_report = AtomicU64::new(step);
    state
        .search
        .rebuild(|done, total| {
            if done >= next_report.load(Ordering::Relaxed) && done < total {
                next_report.store(done + step, Ordering::Relaxed);
                println!("  {done}/{total} indexed");
            }
        })
        .await?;
    let build_seconds = started.elapsed().as_secs_f64();
    let indexed = state.search.index().num_docs();
    ensure!(
        indexed == settings.products as u64,
        "the rebuilt index holds {indexed} products, not {}",
        settings.products
    );
    // Let go of the index (its lock) and the app's pool.
    let pool = state.db.clone();
    drop(state);
    pool.close().await;
    let index_bytes = dir_bytes(index_dir)?;

    // Tantivy in-process, on the index reopened from disk.
    let (index, opened) = SearchIndex::open(index_dir)?;
    ensure!(
        matches!(opened, Opened::Existing(_)),
        "the built index did not reopen as it was: {opened:?}"
    );
    let reopened = index.num_docs();
    ensure!(
        reopened == settings.products as u64,
        "the index reopened with {reopened} products"
    );
    let index = Arc::new(index);
    let tantivy = tantivy_part(settings, queries, index.clone(), stop).await?;
    drop(index);

    // The real server on the same database and index.
    let http = http_part(settings, queries, &env, run_dir, &tantivy.top).await?;

    // PostgreSQL on the same products and queries.
    let pg = postgres_part(settings, queries, db_url).await?;

    let mut engines = vec![tantivy.row, http.row];
    engines.extend(pg.rows);
    let catalogue_of: HashMap<Uuid, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    if let Some(judged) = &queries.judged {
        for engine in &mut engines {
            engine.relevance = Some(evaluate(judged, &corpus, &catalogue_of, &engine.top));
        }
    }
    Ok(Report {
        settings: settings.clone(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        query_source: queries.source.clone(),
        queries: queries.queries.clone(),
        create_seconds,
        build_seconds,
        index_bytes,
        engines,
        http_matches: http.matches,
        server_rss_kib: http.rss_kib,
        server_hwm_kib: http.hwm_kib,
        server_anon_kib: http.anon_kib,
        server_file_kib: http.file_kib,
        pg: pg.info,
        load_before: None,
        load_after: None,
    })
}

/// Creates the catalogue's products through `Catalogue::create`, one transaction each (the record
/// built, hashed and signed with the seller's custodial key, the outbox entry, the search feed
/// row), from `BENCH_CREATE_CONCURRENCY` tasks. Returns their ids in catalogue order.
async fn create_products(
    settings: &Settings,
    state: &AppState,
    corpus: &[CorpusProduct],
) -> anyhow::Result<(Vec<Uuid>, f64)> {
    let hash = password::hash(PASSWORD.to_owned()).await?;
    let seller = common::seed_seller(state, &hash).await?;
    println!(
        "search_load: creating {} products (Catalogue::create, {} at a time)",
        corpus.len(),
        settings.create_concurrency
    );
    let started = Instant::now();
    let step = (corpus.len() / 4).max(1);
    let ids: Vec<Uuid> = futures::stream::iter(corpus.iter().enumerate())
        .map(|(i, p)| {
            let catalogue = state.catalogue.clone();
            let input = p.input();
            // Spawned, so that signing runs on every worker thread, not only this task's.
            tokio::spawn(async move {
                let id = catalogue
                    .create(seller, input)
                    .await
                    .map_err(|e| anyhow!("product {i}: {e}"))?
                    .id;
                if (i + 1) % step == 0 && i + 1 < step * 4 {
                    println!("  {} created", i + 1);
                }
                anyhow::Ok(id)
            })
        })
        .buffered(settings.create_concurrency)
        .map(|joined| joined.map_err(anyhow::Error::from).and_then(|r| r))
        .try_collect()
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "  {} products in {seconds:.1} s ({:.0}/s)",
        ids.len(),
        ids.len() as f64 / seconds
    );
    Ok((ids, seconds))
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// The request `GET /v1/search?q=…&limit=20` makes of the index.
fn search_request(q: &str) -> SearchRequest {
    let text = q.nfc().collect::<String>().trim().to_owned();
    SearchRequest {
        text: (!text.is_empty()).then_some(text),
        sort: Sort::Relevance,
        limit: LIMIT,
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Tantivy in-process.

struct TantivyPart {
    row: EngineRow,
    /// Each query's top ids, for the HTTP comparison.
    top: Vec<Vec<Uuid>>,
}

async fn tantivy_part(
    settings: &Settings,
    queries: &QuerySet,
    index: Arc<SearchIndex>,
    stop: &StopFlag,
) -> anyhow::Result<TantivyPart> {
    println!(
        "search_load: Tantivy in-process, {} threads",
        settings.threads
    );
    let requests: Arc<Vec<SearchRequest>> =
        Arc::new(queries.queries.iter().map(|q| search_request(q)).collect());
    let (s, stop) = (settings.clone(), stop.clone());
    let (top, load) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        // Each query once (its hits kept), which also warms the index's pages.
        let now = chrono::Utc::now();
        let mut top = Vec::with_capacity(requests.len());
        for req in requests.iter() {
            let results = index.search(req, now)?;
            top.push(results.hits.iter().map(|h| h.id).collect::<Vec<Uuid>>());
        }
        let job = |i: u64| {
            let req = &requests[i as usize % requests.len()];
            index
                .search(req, chrono::Utc::now())
                .map(|_| ())
                .map_err(|e| format!("tantivy: {e}"))
        };
        thread_load(s.threads, s.warmup, &stop, &job);
        Ok((top, thread_load(s.threads, s.duration, &stop, &job)))
    })
    .await??;
    Ok(TantivyPart {
        row: EngineRow::new(
            "tantivy",
            format!("Tantivy in-process ({} threads)", settings.threads),
            load,
            top.clone(),
        ),
        top,
    })
}

/// One load thread's (or task's) answered jobs, with their sequence numbers, and its errors.
type Samples = (Vec<(u64, Duration)>, BTreeMap<String, u64>);

/// `threads` OS threads, each running its next job as soon as the last one returned, until
/// `duration` has passed.
fn thread_load(
    threads: usize,
    duration: Duration,
    stop: &StopFlag,
    job: &(dyn Fn(u64) -> Result<(), String> + Sync),
) -> LoadResult {
    let next = AtomicU64::new(0);
    let start = Instant::now();
    let deadline = start + duration;
    let per_thread: Vec<Samples> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let next = &next;
                scope.spawn(move || {
                    let mut latencies = Vec::new();
                    let mut errors = BTreeMap::<String, u64>::new();
                    while Instant::now() < deadline && !stop.is_set() {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let sent = Instant::now();
                        match job(i) {
                            Ok(()) => latencies.push((i, sent.elapsed())),
                            Err(kind) => *errors.entry(kind).or_default() += 1,
                        }
                    }
                    (latencies, errors)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a load thread panicked"))
            .collect()
    });
    let mut all = LoadResult {
        latencies: Vec::new(),
        errors: BTreeMap::new(),
        elapsed: start.elapsed(),
    };
    for (latencies, errors) in per_thread {
        all.latencies.extend(latencies);
        for (kind, n) in errors {
            *all.errors.entry(kind).or_default() += n;
        }
    }
    all
}

// ---------------------------------------------------------------------------------------------
// Over HTTP: the real binary.

struct HttpPart {
    row: EngineRow,
    /// Queries whose HTTP hits were the in-process top 20, in the same order.
    matches: usize,
    rss_kib: Option<u64>,
    hwm_kib: Option<u64>,
    /// The resident set's anonymous (heap, stacks) and file-backed (the mmap'd index, the
    /// binary) parts.
    anon_kib: Option<u64>,
    file_kib: Option<u64>,
}

async fn http_part(
    settings: &Settings,
    queries: &QuerySet,
    env: &HashMap<String, String>,
    run_dir: &Path,
    in_process_top: &[Vec<Uuid>],
) -> anyhow::Result<HttpPart> {
    // One client, so connections are pooled and reused like a real keep-alive client's would be.
    // no_proxy: the run must stay on 127.0.0.1 whatever HTTP_PROXY says.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .build()?;
    let mut server = Server::start(env, run_dir).await?;
    println!(
        "search_load: `truffle serve` on {}, {} clients",
        server.base, settings.concurrency
    );
    let result = async {
        server.wait_ready(&client).await?;
        let urls: Arc<Vec<String>> = Arc::new(
            queries
                .queries
                .iter()
                .map(|q| {
                    reqwest::Url::parse_with_params(
                        &format!("{}/v1/search", server.base),
                        &[("q", q.as_str()), ("limit", &LIMIT.to_string())],
                    )
                    .map(String::from)
                })
                .collect::<Result<_, _>>()?,
        );
        // Each query once, its hits kept and compared with the in-process ones.
        let mut top = Vec::with_capacity(urls.len());
        for url in urls.iter() {
            let res = client.get(url).send().await?;
            let status = res.status();
            let body: Value = res.json().await?;
            ensure!(status.is_success(), "GET {url}: {status} {body}");
            let ids: Vec<Uuid> = body["hits"]
                .as_array()
                .context("a search answer without hits")?
                .iter()
                .filter_map(|h| h["product"]["id"].as_str()?.parse().ok())
                .collect();
            top.push(ids);
        }
        let matches = top
            .iter()
            .zip(in_process_top)
            .filter(|(a, b)| a == b)
            .count();

        let request = Arc::new({
            let (client, urls) = (client.clone(), urls.clone());
            move |i: u64| {
                let req = client.get(urls[i as usize % urls.len()].as_str());
                async move { check(req.send().await).await }
            }
        });
        if !settings.warmup.is_zero() {
            task_load(settings.concurrency, settings.warmup, request.clone()).await;
        }
        let load = task_load(settings.concurrency, settings.duration, request).await;
        let mem = [
            server.status_kib("VmRSS"),
            server.status_kib("VmHWM"),
            server.status_kib("RssAnon"),
            server.status_kib("RssFile"),
        ];
        anyhow::Ok((top, matches, load, mem))
    }
    .await;
    // Stopped whatever happened, before the database goes.
    server.stop().await;
    let (top, matches, load, [rss_kib, hwm_kib, anon_kib, file_kib]) = result?;
    Ok(HttpPart {
        row: EngineRow::new(
            "http",
            format!("GET /v1/search ({} clients)", settings.concurrency),
            load,
            top,
        ),
        matches,
        rss_kib,
        hwm_kib,
        anon_kib,
        file_kib,
    })
}

/// A 2xx answer with its body read (so the connection goes back to the pool), or why not.
async fn check(res: reqwest::Result<reqwest::Response>) -> Result<(), String> {
    let res = res.map_err(describe)?;
    let status = res.status();
    let body = res.bytes().await.map_err(describe)?;
    if status.is_success() {
        Ok(())
    } else {
        let code = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Err(format!("HTTP {} {code}", status.as_u16()))
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL full-text search on the same products.

/// The searchable text, from the products the run created: the current signed record (name,
/// brand, category, description, SKU) and the listing's tags.
const PG_LOAD: &str = "
    INSERT INTO bench_fts (id, name, brand, category, description, tags, sku, doc)
    SELECT id, name, brand, category, description, tags, sku,
           concat_ws(' ', name, brand, category, description, tags, sku)
    FROM (
        SELECT p.id,
               rec->>'name' AS name,
               rec->>'brand' AS brand,
               rec->>'category' AS category,
               coalesce(rec->>'description', '') AS description,
               array_to_string(p.tags, ' ') AS tags,
               rec->>'sku' AS sku
        FROM products p
        JOIN product_records r ON r.product_id = p.id AND r.version = p.current_version,
             LATERAL (SELECT convert_from(r.canonical, 'UTF8')::jsonb AS rec) j
        WHERE p.listed
    ) s";

/// The `simple` configuration (lowercased words split on spaces and punctuation; no stemming,
/// no stop words, no Korean analysis), weighted like the index's fields: name A; brand, tags and
/// SKU B; category C; description D.
const PG_TSV_COLUMN: &str = "
    ALTER TABLE bench_fts ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name), 'A') ||
        setweight(to_tsvector('simple', brand), 'B') ||
        setweight(to_tsvector('simple', tags), 'B') ||
        setweight(to_tsvector('simple', coalesce(sku, '')), 'B') ||
        setweight(to_tsvector('simple', category), 'C') ||
        setweight(to_tsvector('simple', description), 'D')
    ) STORED";
const PG_TSV_INDEX: &str = "CREATE INDEX bench_fts_tsv ON bench_fts USING gin (tsv)";
const PG_TSV_QUERY: &str = "
    SELECT id FROM bench_fts, plainto_tsquery('simple', $1) q
    WHERE tsv @@ q
    ORDER BY ts_rank(tsv, q) DESC, id
    LIMIT 20";
const PG_TRGM_INDEX: &str = "CREATE INDEX bench_fts_trgm ON bench_fts USING gin (doc gin_trgm_ops)";
/// `word_similarity`: the query's trigrams found in the best-matching stretch of the document.
/// Plain `similarity` (`doc % q`) compares the query with the whole document: a short query
/// against a whole listing stays far below its 0.3 threshold (`덩크 로우` against a Dunk
/// listing: 0.06).
const PG_TRGM_QUERY: &str = "
    SELECT id FROM bench_fts
    WHERE $1 <% doc
    ORDER BY word_similarity($1, doc) DESC, id
    LIMIT 20";

struct PgPart {
    rows: Vec<EngineRow>,
    info: PgInfo,
}

/// What the database and pg_trgm are like here, and what building cost.
#[derive(Debug, Clone, Default)]
struct PgInfo {
    version: String,
    ctype: String,
    shared_buffers: String,
    work_mem: String,
    maintenance_work_mem: String,
    jit: String,
    word_similarity_threshold: String,
    /// show_trgm('덩크 로우').
    trgm_probe: Vec<String>,
    /// show_trgm('nike dunk').
    trgm_probe_latin: Vec<String>,
    /// Filling bench_fts from the catalogue (shared by both).
    load_seconds: f64,
    rows: i64,
    table_bytes: i64,
    tsv_column_seconds: f64,
    tsv_index_seconds: f64,
    tsv_index_bytes: i64,
    tsv_column_bytes: i64,
    trgm_index_seconds: f64,
    trgm_index_bytes: i64,
}

async fn timed_sql(pool: &PgPool, sql: &'static str) -> anyhow::Result<f64> {
    let started = Instant::now();
    sqlx::raw_sql(sql).execute(pool).await.with_context(|| {
        format!(
            "run {}",
            sql.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    })?;
    Ok(started.elapsed().as_secs_f64())
}

async fn postgres_part(
    settings: &Settings,
    queries: &QuerySet,
    db_url: &str,
) -> anyhow::Result<PgPart> {
    // One connection per load thread; the statement timeout keeps a pathological query from
    // hanging the run (it then counts as an error).
    let pool = PgPoolOptions::new()
        .max_connections(settings.threads as u32)
        .acquire_timeout(REQUEST_TIMEOUT)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::raw_sql("SET statement_timeout = '30s'")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .connect(db_url)
        .await?;
    let result = postgres_inner(settings, queries, &pool).await;
    pool.close().await;
    result
}

async fn postgres_inner(
    settings: &Settings,
    queries: &QuerySet,
    pool: &PgPool,
) -> anyhow::Result<PgPart> {
    let show = |name: &'static str| async move {
        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!("SHOW {name}")))
            .fetch_one(pool)
            .await
    };
    sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        .execute(pool)
        .await?;
    let mut info = PgInfo {
        version: show("server_version").await?,
        ctype: sqlx::query_scalar(
            "SELECT datctype::text FROM pg_database WHERE datname = current_database()",
        )
        .fetch_one(pool)
        .await?,
        shared_buffers: show("shared_buffers").await?,
        work_mem: show("work_mem").await?,
        maintenance_work_mem: show("maintenance_work_mem").await?,
        jit: show("jit").await?,
        trgm_probe: sqlx::query_scalar("SELECT show_trgm('덩크 로우')")
            .fetch_one(pool)
            .await?,
        trgm_probe_latin: sqlx::query_scalar("SELECT show_trgm('nike dunk')")
            .fetch_one(pool)
            .await?,
        // Known once pg_trgm's library is loaded, which the probes above do.
        word_similarity_threshold: show("pg_trgm.word_similarity_threshold").await?,
        ..Default::default()
    };

    println!("search_load: PostgreSQL, filling bench_fts and building both indexes");
    sqlx::raw_sql(
        "CREATE TABLE bench_fts (id uuid PRIMARY KEY, name text NOT NULL, brand text NOT NULL,
                                 category text NOT NULL, description text NOT NULL,
                                 tags text NOT NULL, sku text, doc text NOT NULL)",
    )
    .execute(pool)
    .await?;
    info.load_seconds = timed_sql(pool, PG_LOAD).await?;
    info.tsv_column_seconds = timed_sql(pool, PG_TSV_COLUMN).await?;
    info.tsv_index_seconds = timed_sql(pool, PG_TSV_INDEX).await?;
    info.trgm_index_seconds = timed_sql(pool, PG_TRGM_INDEX).await?;
    // Statistics and the visibility map, as autovacuum would leave them (not timed).
    sqlx::raw_sql("VACUUM ANALYZE bench_fts")
        .execute(pool)
        .await?;
    let sizes: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), pg_table_size('bench_fts'), pg_relation_size('bench_fts_tsv'),
                coalesce(sum(pg_column_size(tsv)), 0)::bigint, pg_relation_size('bench_fts_trgm')
         FROM bench_fts",
    )
    .fetch_one(pool)
    .await?;
    (
        info.rows,
        info.table_bytes,
        info.tsv_index_bytes,
        info.tsv_column_bytes,
        info.trgm_index_bytes,
    ) = sizes;
    ensure!(
        info.rows == settings.products as i64,
        "bench_fts holds {} rows, not {}",
        info.rows,
        settings.products
    );

    let mut rows = Vec::new();
    for (key, name, sql) in [
        (
            "pg_tsvector",
            format!("PG tsvector simple + GIN ({} conns)", settings.threads),
            PG_TSV_QUERY,
        ),
        (
            "pg_trgm",
            format!("PG pg_trgm <% + GIN ({} conns)", settings.threads),
            PG_TRGM_QUERY,
        ),
    ] {
        println!("search_load: {name}");
        // Each query once, its hits kept (and the pages it reads cached).
        let mut top = Vec::with_capacity(queries.queries.len());
        for q in &queries.queries {
            top.push(
                sqlx::query_scalar::<_, Uuid>(sql)
                    .bind(q)
                    .fetch_all(pool)
                    .await
                    .with_context(|| format!("{key} for {q:?}"))?,
            );
        }
        let request = Arc::new({
            let (pool, qs) = (pool.clone(), Arc::new(queries.queries.clone()));
            move |i: u64| {
                let (pool, qs) = (pool.clone(), qs.clone());
                async move {
                    sqlx::query_scalar::<_, Uuid>(sql)
                        .bind(&qs[i as usize % qs.len()])
                        .fetch_all(&pool)
                        .await
                        .map(|_| ())
                        .map_err(|e| match &e {
                            sqlx::Error::Database(d) if d.code().as_deref() == Some("57014") => {
                                "statement timeout (30 s)".to_owned()
                            }
                            _ => format!("sql: {e}"),
                        })
                }
            }
        });
        if !settings.warmup.is_zero() {
            task_load(settings.threads, settings.warmup, request.clone()).await;
        }
        let load = task_load(settings.threads, settings.duration, request).await;
        rows.push(EngineRow::new(key, name, load, top));
    }
    if let [tsv, trgm] = &mut rows[..] {
        tsv.build_seconds = Some(info.tsv_column_seconds + info.tsv_index_seconds);
        tsv.size_bytes = Some((info.tsv_index_bytes + info.tsv_column_bytes) as u64);
        trgm.build_seconds = Some(info.trgm_index_seconds);
        trgm.size_bytes = Some(info.trgm_index_bytes as u64);
    }
    Ok(PgPart { rows, info })
}

// ---------------------------------------------------------------------------------------------
// The report.

/// One engine's row.
struct EngineRow {
    key: &'static str,
    name: String,
    build_seconds: Option<f64>,
    size_bytes: Option<u64>,
    ok: u64,
    error_kinds: BTreeMap<String, u64>,
    seconds: f64,
    qps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Each query's mean latency under load, in the query set's order.
    query_mean_ms: Vec<f64>,
    /// Each query's top 20 ids, in the query set's order.
    top: Vec<Vec<Uuid>>,
    relevance: Option<Relevance>,
}

impl EngineRow {
    fn new(key: &'static str, name: String, r: LoadResult, top: Vec<Vec<Uuid>>) -> EngineRow {
        let queries = top.len().max(1);
        let mut sums = vec![(0.0f64, 0u64); queries];
        for (i, d) in &r.latencies {
            let s = &mut sums[*i as usize % queries];
            s.0 += d.as_secs_f64() * 1e3;
            s.1 += 1;
        }
        let query_mean_ms = sums
            .iter()
            .map(|(sum, n)| if *n == 0 { f64::NAN } else { sum / *n as f64 })
            .collect();
        let mut latencies: Vec<Duration> = r.latencies.iter().map(|(_, d)| *d).collect();
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
        EngineRow {
            key,
            name,
            build_seconds: None,
            size_bytes: None,
            ok,
            seconds,
            qps: ok as f64 / seconds,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: ms(latencies.last()),
            query_mean_ms,
            error_kinds: r.errors,
            top,
            relevance: None,
        }
    }

    fn errors(&self) -> u64 {
        self.error_kinds.values().sum()
    }

    fn zero_hit(&self) -> usize {
        self.top.iter().filter(|t| t.is_empty()).count()
    }

    /// The `n` queries slowest on average under load, slowest first.
    fn slowest(&self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.query_mean_ms.len()).collect();
        order.sort_by(|&a, &b| self.query_mean_ms[b].total_cmp(&self.query_mean_ms[a]));
        order.truncate(n);
        order
    }
}

struct Report {
    settings: Settings,
    cores: usize,
    query_source: String,
    queries: Vec<String>,
    create_seconds: f64,
    build_seconds: f64,
    index_bytes: u64,
    engines: Vec<EngineRow>,
    http_matches: usize,
    server_rss_kib: Option<u64>,
    server_hwm_kib: Option<u64>,
    server_anon_kib: Option<u64>,
    server_file_kib: Option<u64>,
    pg: PgInfo,
    /// /proc/loadavg (1, 5 and 15 minutes) before and after the run.
    load_before: Option<String>,
    load_after: Option<String>,
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn mib(kib: Option<u64>) -> Option<f64> {
    kib.map(|k| k as f64 / 1024.0)
}

impl Report {
    fn build_of(&self, e: &EngineRow) -> (Option<f64>, Option<u64>) {
        match e.key {
            "tantivy" => (Some(self.build_seconds), Some(self.index_bytes)),
            _ => (e.build_seconds, e.size_bytes),
        }
    }

    fn to_json(&self) -> Value {
        let s = &self.settings;
        let pg = &self.pg;
        json!({
            "generated_at": chrono::Utc::now().to_rfc3339(),
            "machine": {
                "cores": self.cores,
                "loadavg_before": self.load_before,
                "loadavg_after": self.load_after,
            },
            "settings": {
                "products": s.products,
                "seed": s.seed,
                "threads": s.threads,
                "concurrency": s.concurrency,
                "seconds": s.duration.as_secs_f64(),
                "warmup_seconds": s.warmup.as_secs_f64(),
                "create_concurrency": s.create_concurrency,
                "db_max_connections": s.db_max_connections,
                "limit": LIMIT,
            },
            "queries": {
                "source": self.query_source,
                "count": self.queries.len(),
                "judged": self.engines.iter().any(|e| e.relevance.is_some()),
            },
            "setup": {
                "create_seconds": self.create_seconds,
                "created_per_s": s.products as f64 / self.create_seconds,
            },
            "engines": self.engines.iter().map(|e| {
                let (build, size) = self.build_of(e);
                json!({
                    "engine": e.key,
                    "name": e.name,
                    "build_seconds": build,
                    "products_per_s": build.map(|b| s.products as f64 / b),
                    "size_bytes": size,
                    "ok": e.ok,
                    "errors": e.errors(),
                    "error_kinds": e.error_kinds,
                    "seconds": e.seconds,
                    "queries_per_s": e.qps,
                    "p50_ms": e.p50_ms,
                    "p99_ms": e.p99_ms,
                    "max_ms": e.max_ms,
                    "zero_hit_queries": e.zero_hit(),
                    "ndcg_at_10": e.relevance.as_ref().map(|r| r.mean),
                    "per_query": self.queries.iter().enumerate().map(|(i, q)| json!({
                        "q": q,
                        "hits": e.top.get(i).map_or(0, Vec::len),
                        "mean_ms": e.query_mean_ms.get(i).filter(|m| m.is_finite()),
                        "ndcg_at_10": e.relevance.as_ref().and_then(|r| r.per_query.get(i)),
                    })).collect::<Vec<_>>(),
                })
            }).collect::<Vec<_>>(),
            "http": {
                "same_top20_as_in_process": self.http_matches,
                "server_rss_mib": mib(self.server_rss_kib),
                "server_peak_rss_mib": mib(self.server_hwm_kib),
                "server_rss_anon_mib": mib(self.server_anon_kib),
                "server_rss_file_mib": mib(self.server_file_kib),
            },
            "postgres": {
                "version": pg.version,
                "ctype": pg.ctype,
                "shared_buffers": pg.shared_buffers,
                "work_mem": pg.work_mem,
                "maintenance_work_mem": pg.maintenance_work_mem,
                "jit": pg.jit,
                "word_similarity_threshold": pg.word_similarity_threshold,
                "show_trgm_hangul": { "input": "덩크 로우", "trigrams": pg.trgm_probe },
                "show_trgm_latin": { "input": "nike dunk", "trigrams": pg.trgm_probe_latin },
                "load_seconds": pg.load_seconds,
                "rows": pg.rows,
                "table_bytes": pg.table_bytes,
                "tsvector": {
                    "column_seconds": pg.tsv_column_seconds,
                    "index_seconds": pg.tsv_index_seconds,
                    "index_bytes": pg.tsv_index_bytes,
                    "column_bytes": pg.tsv_column_bytes,
                    "query": PG_TSV_QUERY.split_whitespace().collect::<Vec<_>>().join(" "),
                },
                "pg_trgm": {
                    "index_seconds": pg.trgm_index_seconds,
                    "index_bytes": pg.trgm_index_bytes,
                    "query": PG_TRGM_QUERY.split_whitespace().collect::<Vec<_>>().join(" "),
                },
            },
        })
    }
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

fn print_report(r: &Report) {
    let s = &r.settings;
    let pg = &r.pg;
    println!();
    println!(
        "search_load: {} cores, {} products (seed {}), {} queries from {}, {:.1} s per engine \
         (+{:.1} s warm-up), limit {LIMIT}",
        r.cores,
        s.products,
        s.seed,
        r.queries.len(),
        r.query_source,
        s.duration.as_secs_f64(),
        s.warmup.as_secs_f64(),
    );
    println!(
        "setup: {} products created through Catalogue::create in {:.1} s ({:.0}/s, {} at a time); \
         load average before the run {}, after {}",
        s.products,
        r.create_seconds,
        s.products as f64 / r.create_seconds,
        s.create_concurrency,
        r.load_before.as_deref().unwrap_or("?"),
        r.load_after.as_deref().unwrap_or("?"),
    );
    println!();
    println!(
        "{:<36} {:>7} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>6}",
        "engine", "build s", "size MB", "p50 ms", "p99 ms", "q/s", "errors", "NDCG@10", "0-hit"
    );
    println!("{}", "-".repeat(106));
    for e in &r.engines {
        let (build, size) = r.build_of(e);
        println!(
            "{:<36} {:>7} {:>8} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>8} {:>6}",
            e.name,
            opt(build, 1),
            opt(size.map(mb), 1),
            e.p50_ms,
            e.p99_ms,
            e.qps,
            e.errors(),
            opt(e.relevance.as_ref().map(|x| x.mean), 3),
            e.zero_hit(),
        );
    }
    for e in r.engines.iter().filter(|e| e.errors() > 0) {
        println!("  {} errors: {:?}", e.name, e.error_kinds);
    }
    println!(
        "Tantivy in-process: SearchIndex::search as the service runs it (query analysis, BM25 \
         over six weighted fields, facet counts over every match, highlights of the hits), no \
         database. GET /v1/search: the same in `truffle serve`, plus HTTP, JSON and the page's \
         products (with chain status) and newest raffles, read from PostgreSQL or kept from an \
         earlier search until the feed drops them (src/search/hits.rs). PG rows: the 20 \
         ids only (no total, facets or highlights). NDCG@10: tests/search_relevance.rs's \
         grading on this catalogue; 0-hit: queries with no result."
    );
    println!();
    println!(
        "Tantivy: Search::rebuild (what `truffle reindex` runs) {:.0} products/s; the HTTP row \
         serves that same index. {}/{} queries gave the same top {LIMIT} over HTTP as in-process.",
        s.products as f64 / r.build_seconds,
        r.http_matches,
        r.queries.len()
    );
    let show = |kib: Option<u64>| mib(kib).map_or("?".into(), |m| format!("{m:.1} MiB"));
    println!(
        "server (truffle serve) after the load: RSS {} (anonymous {}, file-backed {}), peak {}",
        show(r.server_rss_kib),
        show(r.server_anon_kib),
        show(r.server_file_kib),
        show(r.server_hwm_kib),
    );
    println!("slowest queries under load (mean ms):");
    for e in &r.engines {
        let slow: Vec<String> = e
            .slowest(3)
            .into_iter()
            .map(|i| format!("{:?} {:.1}", r.queries[i], e.query_mean_ms[i]))
            .collect();
        println!("  {:<36} {}", e.name, slow.join(", "));
    }
    println!(
        "PostgreSQL {} (ctype {}, shared_buffers {}, work_mem {}, maintenance_work_mem {}, jit \
         {}): bench_fts filled from products + product_records in {:.1} s ({:.1} MB); tsvector \
         build = generated column {:.1} s + GIN {:.1} s, size = GIN {:.1} MB + column {:.1} MB; \
         pg_trgm build = GIN {:.1} s, word_similarity_threshold {}",
        pg.version,
        pg.ctype,
        pg.shared_buffers,
        pg.work_mem,
        pg.maintenance_work_mem,
        pg.jit,
        pg.load_seconds,
        mb(pg.table_bytes as u64),
        pg.tsv_column_seconds,
        pg.tsv_index_seconds,
        mb(pg.tsv_index_bytes as u64),
        mb(pg.tsv_column_bytes as u64),
        pg.trgm_index_seconds,
        pg.word_similarity_threshold,
    );
    println!(
        "pg_trgm under this ctype: show_trgm('덩크 로우') = {} trigrams {:?}; show_trgm('nike \
         dunk') = {} trigrams",
        pg.trgm_probe.len(),
        pg.trgm_probe,
        pg.trgm_probe_latin.len()
    );
}
