//! Serving recommendations: the worker that retrains the model and keeps the list of raffles a
//! buyer can act on, and the request path that ranks that list for one buyer from memory.
//!
//! - Every replica trains its own model every `RECO_REBUILD_INTERVAL` (reading only) on the
//!   background CPU pool and swaps it in whole; a request never waits for training.
//! - The raffles that are open or scheduled are read every `RECO_REFRESH_INTERVAL`. A product
//!   listed since the last training is ranked through its brand, category and price band.
//! - A request reads the buyer's own signals fresh (age and gender, purchases, entries, views), so
//!   a purchase made a second ago already counts and is never recommended back.
//! - The chosen products are checked against the database before they are returned: a raffle
//!   cancelled or closed since the last refresh, or a delisted product, is left out.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Error;
use super::signals::{self, Catalog, Signals};
use crate::catalogue::store as catalogue_store;
use crate::catalogue::{Catalogue, Product, ProductFacts, korea_today};
use crate::config::RecoConfig;
use crate::cpu::CpuPool;
use crate::periodic::Ticks;
use crate::raffles::{Raffle, RaffleState, Raffles, Upcoming};
use truffle_reco::data::{ItemIdx, Signal, UserQuery};
use truffle_reco::model::{Reason, TruffleModel, TruffleParams};

/// At most this many products per request.
pub const MAX_LIMIT: usize = 50;
/// Asked of the model beyond the limit, for the products the final check leaves out.
const SPARE: usize = 10;

/// A trained model with its catalog.
pub struct Trained {
    pub model: TruffleModel,
    pub catalog: Catalog,
    pub trained_at: DateTime<Utc>,
    /// Users and interactions it was trained on.
    pub users: usize,
    pub interactions: usize,
}

/// A raffle a buyer can act on, with its product's facts.
#[derive(Debug, Clone)]
pub struct Actionable {
    pub raffle: Upcoming,
    pub product: ProductFacts,
}

#[derive(Default)]
struct Shared {
    trained: RwLock<Option<Arc<Trained>>>,
    actionable: RwLock<Arc<Vec<Actionable>>>,
}

#[derive(Clone)]
pub struct Recommendations {
    db: PgPool,
    catalogue: Catalogue,
    raffles: Raffles,
    rebuild_interval: Duration,
    refresh_interval: Duration,
    candidates: usize,
    view_window: Duration,
    shared: Arc<Shared>,
    /// The app's CPU pool: ranking for a request runs on it.
    cpu: CpuPool,
}

/// Why a product is recommended, for clients to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Bought together with something the buyer bought (`product_id` says what).
    BecauseYouBought,
    /// Goes with a product whose raffle the buyer entered (`product_id`).
    BecauseYouEntered,
    /// Goes with a product the buyer looked at (`product_id`).
    BecauseYouViewed,
    /// The buyer looked at this product before.
    ViewedBefore,
    /// The buyer entered an earlier raffle for this product.
    EnteredBefore,
    /// From a brand the buyer buys, enters or looks at.
    SameBrand,
    SameCategory,
    SamePriceBand,
    /// Popular with buyers of the same age and gender ("popular with women in their 20s").
    PopularWithSegment,
    /// Popular (nothing is known about the buyer).
    Popular,
    /// Nothing to go on: the raffle closes soon.
    ClosingSoon,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonView {
    pub code: ReasonCode,
    /// A short English sentence, e.g. "popular with women in their 20s".
    pub text: String,
    /// The product of the buyer's history the reason names, for `because_you_*`.
    pub product_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecommendedItem {
    /// The product, with its chain status.
    pub product: Product,
    /// Its open or scheduled raffle.
    pub raffle: Raffle,
    pub reason: ReasonView,
    /// The model's score (higher first); null for `closing_soon`.
    pub score: Option<f32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecommendationList {
    /// Best first: products with an open or scheduled raffle, never the caller's own, never
    /// one they bought or won, never a raffle they already entered.
    pub items: Vec<RecommendedItem>,
    /// When the model that ranked them was trained; null before the first training (then the
    /// items are the raffles closing soonest).
    pub model_trained_at: Option<DateTime<Utc>>,
}

impl Recommendations {
    pub fn new(
        db: PgPool,
        catalogue: Catalogue,
        raffles: Raffles,
        config: &RecoConfig,
        cpu: CpuPool,
    ) -> Recommendations {
        Recommendations {
            db,
            catalogue,
            raffles,
            rebuild_interval: config.rebuild_interval,
            refresh_interval: config.refresh_interval,
            candidates: config.candidates,
            view_window: config.view_window,
            shared: Arc::default(),
            cpu,
        }
    }

    /// The first day whose views still count.
    fn views_since(&self) -> NaiveDate {
        let days = (self.view_window.as_secs() / 86_400) as i64;
        korea_today() - chrono::Duration::days(days)
    }

    /// The model being served, if one has been trained.
    pub fn trained(&self) -> Option<Arc<Trained>> {
        self.shared.trained.read().expect("lock").clone()
    }

    fn actionable(&self) -> Arc<Vec<Actionable>> {
        self.shared.actionable.read().expect("lock").clone()
    }

    /// Reads every signal, trains a model on the background pool and serves it.
    pub async fn train(&self) -> anyhow::Result<Arc<Trained>> {
        let started = Instant::now();
        let signals = Signals::load(&self.db, self.views_since()).await?;
        let read = started.elapsed();
        let params = TruffleParams {
            candidates: self.candidates,
            ..TruffleParams::default()
        };
        let today = korea_today();
        let trained = crate::cpu::run_background(move || {
            let (data, catalog) = signals::assemble(signals, today);
            let model = TruffleModel::train(&data, params)?;
            anyhow::Ok(Trained {
                model,
                catalog,
                trained_at: Utc::now(),
                users: data.n_users(),
                interactions: data.interactions.len(),
            })
        })
        .await?;
        let trained = Arc::new(trained);
        let memory = trained.model.memory();
        tracing::info!(
            products = trained.model.n_items(),
            users = trained.users,
            interactions = trained.interactions,
            candidates = memory.candidates,
            serving_mib = memory.serving_bytes / (1 << 20),
            read_ms = read.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "recommendation model trained"
        );
        *self.shared.trained.write().expect("lock") = Some(trained.clone());
        Ok(trained)
    }

    /// Reads the raffles a buyer can act on, with their products' facts.
    pub async fn refresh(&self) -> anyhow::Result<usize> {
        let raffles = crate::raffles::upcoming(&self.db).await?;
        let ids: Vec<Uuid> = raffles.iter().map(|r| r.product_id).collect();
        let facts: HashMap<Uuid, ProductFacts> =
            crate::catalogue::product_facts(&self.db, Some(&ids))
                .await?
                .into_iter()
                .map(|f| (f.id, f))
                .collect();
        let list: Vec<Actionable> = raffles
            .into_iter()
            .filter_map(|raffle| {
                let product = facts.get(&raffle.product_id)?.clone();
                Some(Actionable { raffle, product })
            })
            .collect();
        let n = list.len();
        *self.shared.actionable.write().expect("lock") = Arc::new(list);
        Ok(n)
    }

    /// Trains at once and every `RECO_REBUILD_INTERVAL`; refreshes the actionable raffles every
    /// `RECO_REFRESH_INTERVAL`; deletes views older than the window once a day.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        let trainer = {
            let this = self.clone();
            let mut ticks = Ticks::new(self.rebuild_interval, stop.clone());
            async move {
                let mut last_purge: Option<Instant> = None;
                while ticks.next().await {
                    if let Err(e) = this.train().await {
                        tracing::warn!(error = format!("{e:#}"), "recommendation training failed");
                    }
                    if last_purge.is_none_or(|t| t.elapsed() > Duration::from_secs(86_400)) {
                        last_purge = Some(Instant::now());
                        if let Err(e) =
                            catalogue_store::purge_views(&this.db, this.views_since()).await
                        {
                            tracing::warn!(error = %e, "product view purge failed");
                        }
                    }
                }
            }
        };
        let refresher = {
            let mut ticks = Ticks::new(self.refresh_interval, stop);
            async move {
                while ticks.next().await {
                    if let Err(e) = self.refresh().await {
                        tracing::warn!(error = format!("{e:#}"), "reading open raffles failed");
                    }
                }
            }
        };
        tokio::join!(trainer, refresher);
    }

    /// Up to `limit` products for `user`, best first, each with its reason.
    pub async fn for_user(&self, user: Uuid, limit: usize) -> Result<RecommendationList, Error> {
        let since = self.views_since();
        // One connection for the buyer's four reads: under load, four connections per request
        // would queue on the pool.
        let mut conn = self.db.acquire().await?;
        let people = crate::accounts::demographics(&mut *conn, Some(user)).await?;
        let holdings = crate::orders::holdings(&mut *conn, Some(user)).await?;
        let entries = crate::raffles::product_entries(&mut *conn, Some(user)).await?;
        let views = catalogue_store::views(&mut *conn, Some(user), since).await?;
        drop(conn);
        let held: HashSet<Uuid> = holdings.iter().map(|h| h.product_id).collect();
        let entered: HashSet<Uuid> = entries.iter().map(|e| e.raffle_id).collect();
        let now = Utc::now();
        let all = self.actionable();
        // Indices into `all` of what this buyer can act on.
        let open: Vec<usize> = (0..all.len())
            .filter(|&i| {
                let a = &all[i];
                a.product.seller_id != user
                    && a.raffle.seller_id != user
                    && !held.contains(&a.product.id)
                    && !entered.contains(&a.raffle.raffle_id)
                    && a.raffle.closes_at > now
            })
            .collect();
        let want = limit + SPARE;
        let trained = self.trained();
        let mut picks: Vec<Pick> = match &trained {
            Some(trained) => {
                let trained = trained.clone();
                let demographics = people
                    .first()
                    .map(|p| signals::demographics(p, korea_today()))
                    .unwrap_or_default();
                let history = signals::history_of(&trained.catalog, &holdings, &entries, &views);
                let (all, open) = (all.clone(), open.clone());
                self.cpu
                    .run(move || {
                        let actionable = open.iter().map(|&i| &all[i]);
                        rank(&trained, demographics, &history, actionable, want)
                    })
                    .await?
            }
            None => Vec::new(),
        };
        // Fill up with the raffles closing soonest.
        let mut closing: Vec<&Actionable> = open.iter().map(|&i| &all[i]).collect();
        closing.sort_by_key(|a| (a.raffle.closes_at, a.product.id));
        let chosen: HashSet<Uuid> = picks.iter().map(|p| p.product).collect();
        picks.extend(
            closing
                .into_iter()
                .filter(|a| !chosen.contains(&a.product.id))
                .take(want.saturating_sub(picks.len()))
                .map(|a| Pick {
                    product: a.product.id,
                    score: None,
                    reason: ReasonView {
                        code: ReasonCode::ClosingSoon,
                        text: "closing soon".into(),
                        product_id: None,
                    },
                }),
        );
        let items = self.check(picks, limit).await?;
        Ok(RecommendationList {
            items,
            model_trained_at: trained.map(|t| t.trained_at),
        })
    }

    /// The picks whose raffle is still open or scheduled and whose product is still listed, as
    /// clients see them, up to `limit`.
    async fn check(&self, picks: Vec<Pick>, limit: usize) -> Result<Vec<RecommendedItem>, Error> {
        let ids: Vec<Uuid> = picks.iter().map(|p| p.product).collect();
        let mut raffles = self.raffles.latest_for_products(&ids).await?;
        let mut products: HashMap<Uuid, Product> = self
            .catalogue
            .products(&ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(picks
            .into_iter()
            .filter_map(|pick| {
                let raffle = raffles.remove(&pick.product)?.raffle;
                let product = products.remove(&pick.product)?;
                let live = matches!(raffle.state, RaffleState::Open | RaffleState::Scheduled);
                (live && product.listed && product.revoked_at.is_none()).then_some(
                    RecommendedItem {
                        product,
                        raffle,
                        reason: pick.reason,
                        score: pick.score,
                    },
                )
            })
            .take(limit)
            .collect())
    }
}

/// One chosen product before the final check.
struct Pick {
    product: Uuid,
    score: Option<f32>,
    reason: ReasonView,
}

/// Ranks the actionable products for one buyer with the model: those it was trained on by all
/// three parts, those listed since by their features. Only positive scores are picks.
fn rank<'a>(
    trained: &Trained,
    demographics: truffle_reco::data::Demographics,
    history: &[(ItemIdx, Signal)],
    actionable: impl Iterator<Item = &'a Actionable>,
    want: usize,
) -> Vec<Pick> {
    let catalog = &trained.catalog;
    let model = &trained.model;
    let mut allowed = vec![false; model.n_items()];
    let mut fresh_ids = Vec::new();
    let mut fresh = Vec::new();
    for a in actionable {
        match catalog.item(&a.product.id) {
            Some(i) => allowed[i as usize] = true,
            _ => {
                fresh_ids.push(a.product.id);
                fresh.push(catalog.known_features(&a.product));
            }
        }
    }
    let user = UserQuery {
        demographics,
        history,
    };
    let in_history: HashMap<ItemIdx, Signal> = history.iter().copied().collect();
    let id_of = |item: ItemIdx| match (item as usize).checked_sub(model.n_items()) {
        Some(f) => fresh_ids[f],
        None => catalog.items[item as usize].id,
    };
    model
        .recommend_with_fresh(&user, want, |i| allowed[i as usize], &fresh, false)
        .into_iter()
        .filter(|r| r.score > 0.0)
        .map(|r| {
            let reason = match in_history.get(&r.item) {
                Some(Signal::View) => ReasonView {
                    code: ReasonCode::ViewedBefore,
                    text: "you looked at this".into(),
                    product_id: None,
                },
                Some(_) => ReasonView {
                    code: ReasonCode::EnteredBefore,
                    text: "you entered an earlier raffle for this".into(),
                    product_id: None,
                },
                None => reason_view(&r.reason, catalog),
            };
            Pick {
                product: id_of(r.item),
                score: Some(r.score),
                reason,
            }
        })
        .collect()
}

fn reason_view(reason: &Reason, catalog: &Catalog) -> ReasonView {
    use truffle_reco::data::FeatureKind;
    let text = reason.describe(
        |i| catalog.items[i as usize].name.clone(),
        &catalog.features,
    );
    let (code, product_id) = match *reason {
        Reason::BecauseOf { item, signal } => (
            match signal {
                Signal::Purchase => ReasonCode::BecauseYouBought,
                Signal::RaffleEntry => ReasonCode::BecauseYouEntered,
                Signal::View => ReasonCode::BecauseYouViewed,
            },
            Some(catalog.items[item as usize].id),
        ),
        Reason::SharesFeature { kind, .. } => (
            match kind {
                FeatureKind::Brand => ReasonCode::SameBrand,
                FeatureKind::Category => ReasonCode::SameCategory,
                _ => ReasonCode::SamePriceBand,
            },
            None,
        ),
        Reason::PopularWith(_) => (ReasonCode::PopularWithSegment, None),
        Reason::Popular => (ReasonCode::Popular, None),
    };
    ReasonView {
        code,
        text,
        product_id,
    }
}
