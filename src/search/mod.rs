//! Product search (original product description §11 in `docs/PRODUCT.md`): a Tantivy index per process, fed from Postgres, whose
//! hits carry the chain status from the catalogue, kept between searches until the feed says it
//! changed (`hits.rs`).
//!
//! The index is a projection. Triggers write every change to a product, its newest raffle or
//! its anchoring batch into `search_feed`; the worker here applies the feed in transaction-id
//! order and records how far it got in the index's own commit, so a restart catches up from
//! there, and a missing, unreadable or too-old index is rebuilt from Postgres. Searching,
//! indexing and committing run on the bounded CPU pool (`crate::cpu`), never on the runtime.

pub mod analyzer;
mod highlight;
mod hits;
pub mod index;
pub mod routes;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalogue::{Catalogue, Product};
use crate::config::SearchConfig;
use crate::cpu::CpuPool;
use crate::raffles::{Raffle, Raffles};

/// What can go wrong in the search domain. The HTTP boundary (`routes.rs`) gives each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CPU pool's queue is full.
    #[error(transparent)]
    Overloaded(#[from] crate::cpu::Overloaded),
    /// The index could not run the search.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// Reading the hits' products failed.
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::Error),
    /// Reading the hits' raffles failed.
    #[error(transparent)]
    Raffles(#[from] crate::raffles::Error),
}
pub use index::{
    Facets, IndexDoc, IndexRaffle, IndexResults, Opened, Payload, SearchIndex, SearchRequest, Sort,
    StateFilter,
};

/// Products are read from Postgres and indexed this many at a time.
const CHUNK: usize = 500;
/// With no changes, the index still records its place in the feed this often.
const IDLE_COMMIT: Duration = Duration::from_secs(600);

#[derive(Clone)]
pub struct Search(Arc<SearchInner>);

pub struct SearchInner {
    db: PgPool,
    catalogue: Catalogue,
    raffles: Raffles,
    index: Arc<SearchIndex>,
    refresh: Duration,
    retention: Duration,
    /// How opening the index went; the worker acts on it when it starts.
    opened: Opened,
    /// The app's CPU pool: searches are request work, indexing is the worker's.
    cpu: CpuPool,
    /// When the index was last known to hold every change in the feed (the start of the
    /// worker's last successful pass), in Unix milliseconds; 0 before the first.
    in_step_at: AtomicI64,
    /// Hits' products and raffles between searches, dropped by the feed (`hits.rs`).
    hit_cache: hits::HitCache,
}

impl std::ops::Deref for Search {
    type Target = SearchInner;
    fn deref(&self) -> &SearchInner {
        &self.0
    }
}

/// One search result: the product as the catalogue serves it (chain status included), its
/// newest raffle, and the matched text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchHit {
    pub product: Product,
    /// The product's newest raffle, if it has one.
    pub raffle: Option<Raffle>,
    /// Relevance (higher is better); absent when sorted otherwise.
    pub score: Option<f32>,
    pub highlight: Highlight,
}

/// The hit's text with what matched in `<mark>…</mark>`; everything else is HTML-escaped.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Highlight {
    #[schema(example = "나이키 <mark>덩크</mark> <mark>로우</mark> 레트로 판다")]
    pub name: String,
    /// Up to 160 characters of the description around its first match, if it matched.
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    /// Matching products in the index (all pages).
    pub total: u64,
    /// Counts over every matching product, for narrowing the search.
    pub facets: Facets,
    /// Pass as `cursor` with the same search for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

impl Search {
    /// Opens (or creates) the index in the configured directory. Hits' products and raffles are
    /// kept for `hit_ttl` (`PUBLIC_SNAPSHOT_TTL`), unless the feed drops them sooner.
    pub fn open(
        db: PgPool,
        catalogue: Catalogue,
        raffles: Raffles,
        config: &SearchConfig,
        hit_ttl: Duration,
        cpu: CpuPool,
    ) -> anyhow::Result<Search> {
        let (index, opened) = SearchIndex::open(&config.index_dir)?;
        if let Opened::Created(reason) = &opened {
            tracing::info!(dir = %config.index_dir.display(), %reason, "new search index");
        }
        Ok(Search(Arc::new(SearchInner {
            db,
            catalogue,
            raffles,
            index: Arc::new(index),
            refresh: config.refresh_interval,
            retention: config.feed_retention,
            opened,
            cpu,
            in_step_at: AtomicI64::new(0),
            hit_cache: hits::HitCache::new(hit_ttl),
        })))
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// When the index was last in step with the change feed (for the lag gauge); `None` before
    /// the worker's first successful pass.
    pub fn in_step_at(&self) -> Option<chrono::DateTime<Utc>> {
        match self.in_step_at.load(Ordering::Acquire) {
            0 => None,
            ms => chrono::DateTime::from_timestamp_millis(ms),
        }
    }

    /// How the index was found when this process opened it.
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// What the index holds for these products; products that are gone or delisted come back
    /// as ids to delete.
    pub async fn documents(&self, ids: &[Uuid]) -> Result<(Vec<IndexDoc>, Vec<Uuid>), Error> {
        let products = self.catalogue.products(ids).await?;
        let mut raffles = self.raffles.latest_for_products(ids).await?;
        let mut docs = Vec::with_capacity(products.len());
        for p in products.into_iter().filter(|p| p.listed) {
            let raffle = raffles.remove(&p.id).map(|r| IndexRaffle {
                stage: r.stage,
                opens_at: r.raffle.opens_at,
                closes_at: r.raffle.closes_at,
            });
            docs.push(IndexDoc {
                id: p.id,
                verified: p.chain.status.is_anchored(),
                name: p.record.name,
                brand: p.record.brand,
                category: p.record.category,
                description: p.record.description,
                tags: p.tags,
                sku: p.record.sku,
                retail_price_krw: p.record.retail_price_krw,
                raffle,
            });
        }
        let gone = ids
            .iter()
            .filter(|id| !docs.iter().any(|d| d.id == **id))
            .copied()
            .collect();
        Ok((docs, gone))
    }

    async fn apply(&self, ids: &[Uuid]) -> anyhow::Result<()> {
        // What changed is read again by the next search that shows it.
        self.hit_cache.forget(ids);
        for chunk in ids.chunks(CHUNK) {
            let (docs, gone) = self.documents(chunk).await?;
            let index = self.index.clone();
            self.cpu
                .run_worker(move || {
                    index.delete(&gone);
                    index.upsert(&docs)
                })
                .await?;
        }
        Ok(())
    }

    async fn commit(&self, horizon: i64) -> anyhow::Result<Payload> {
        let payload = Payload {
            schema: index::SCHEMA_VERSION,
            horizon,
            at: Utc::now(),
        };
        let index = self.index.clone();
        self.cpu.run_worker(move || index.commit(payload)).await?;
        Ok(payload)
    }

    /// Rebuilds the index from Postgres; `progress(done, total)` follows along.
    pub async fn rebuild(&self, progress: impl Fn(u64, u64)) -> anyhow::Result<Payload> {
        // Taken before reading: every later change is replayed from the feed.
        let horizon = store::horizon(&self.db).await?;
        let ids = self.catalogue.listed_ids().await?;
        let index = self.index.clone();
        self.cpu.run_worker(move || index.clear()).await?;
        let total = ids.len() as u64;
        progress(0, total);
        let mut done = 0;
        for chunk in ids.chunks(CHUNK) {
            self.apply(chunk).await?;
            done += chunk.len() as u64;
            progress(done, total);
        }
        self.commit(horizon).await
    }

    /// Applies the feed from `at` up to the current horizon; commits when anything changed.
    pub async fn catch_up(&self, at: Payload) -> anyhow::Result<Payload> {
        let horizon = store::horizon(&self.db).await?;
        if horizon <= at.horizon {
            return Ok(at);
        }
        let ids = store::changed(&self.db, at.horizon, horizon).await?;
        let idle_for = Utc::now()
            .signed_duration_since(at.at)
            .to_std()
            .unwrap_or_default();
        if ids.is_empty() && idle_for < IDLE_COMMIT {
            // Nothing to index: move on in memory; the next commit records it.
            return Ok(Payload { horizon, ..at });
        }
        self.apply(&ids).await?;
        self.commit(horizon).await
    }

    /// Keeps the index in step until `stop`: rebuilds it first when it is new or too far
    /// behind for the feed, then applies the feed every `refresh`.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        let mut at = match &self.opened {
            Opened::Existing(p) if self.fresh(p) => Some(*p),
            Opened::Existing(p) => {
                tracing::info!(last = %p.at, "search index is older than the change feed: rebuilding");
                None
            }
            _ => None,
        };
        let mut last_prune: Option<Instant> = None;
        let mut ticks = crate::periodic::Ticks::new(self.refresh, stop);
        while ticks.next().await {
            let pass_started = Utc::now();
            let step = match at {
                None => {
                    let started = Instant::now();
                    self.rebuild(|_, _| {}).await.inspect(|_| {
                        tracing::info!(
                            docs = self.index.num_docs(),
                            ms = started.elapsed().as_millis() as u64,
                            "search index rebuilt"
                        )
                    })
                }
                Some(p) => self.catch_up(p).await,
            };
            match step {
                Ok(p) => {
                    at = Some(p);
                    self.in_step_at
                        .store(pass_started.timestamp_millis(), Ordering::Release);
                }
                Err(e) => tracing::warn!(error = format!("{e:#}"), "search indexing failed"),
            }
            if last_prune.is_none_or(|t| t.elapsed() > Duration::from_secs(600)) {
                last_prune = Some(Instant::now());
                if let Err(e) = store::prune(&self.db, self.retention).await {
                    tracing::warn!(error = %e, "search feed prune failed");
                }
            }
        }
    }

    /// An index whose last commit is within half the feed's retention can catch up from it.
    fn fresh(&self, p: &Payload) -> bool {
        let age = Utc::now()
            .signed_duration_since(p.at)
            .to_std()
            .unwrap_or_default();
        age < self.retention / 2
    }

    /// Runs a search and reads each hit's product, raffle and chain status from Postgres.
    pub async fn search(&self, req: SearchRequest) -> Result<IndexResults, Error> {
        let index = self.index.clone();
        Ok(self
            .cpu
            .run(move || index.search(&req, Utc::now()))
            .await??)
    }

    /// The hits of a search as clients see them, in the index's order. A hit whose product was
    /// delisted since the index last caught up is left out.
    pub async fn hits(
        &self,
        results: &IndexResults,
        scored: bool,
    ) -> Result<Vec<SearchHit>, Error> {
        let ids: Vec<Uuid> = results.hits.iter().map(|h| h.id).collect();
        let (mut kept, missing, generation) = self.hit_cache.lookup(&ids);
        if !missing.is_empty() {
            // The two domains' reads go out together: the answer waits for the slower, not both.
            let (products, mut raffles) = tokio::try_join!(
                async { Ok::<_, Error>(self.catalogue.products(&missing).await?) },
                async { Ok::<_, Error>(self.raffles.latest_for_products(&missing).await?) },
            )?;
            let read: Vec<hits::Hit> = products
                .into_iter()
                .map(|product| hits::Hit {
                    raffle: raffles.remove(&product.id),
                    product,
                })
                .collect();
            self.hit_cache.keep(generation, read.iter().cloned());
            kept.extend(read.into_iter().map(|h| (h.product.id, h)));
        }
        Ok(results
            .hits
            .iter()
            .filter_map(|h| {
                let hit = kept.remove(&h.id).filter(|k| k.product.listed)?;
                Some(SearchHit {
                    product: hit.product,
                    raffle: hit.raffle.map(|r| r.raffle),
                    score: scored.then_some(h.score),
                    highlight: Highlight {
                        name: h.name_html.clone(),
                        description: h.description_html.clone(),
                    },
                })
            })
            .collect())
    }
}
