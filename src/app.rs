//! The running service: its state, how it starts, and how it stops.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use ipnet::IpNet;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::accounts::Accounts;
use crate::ads::Ads;
use crate::catalogue::Catalogue;
use crate::chain::ChainClient;
use crate::chain::worker::AnchorWorker;
use crate::chat::Chat;
use crate::config::{Config, Environment, IdentityProviderConfig, PaymentProviderConfig};
use crate::cpu::CpuPool;
use crate::kakao::Kakao;
use crate::metrics::Metrics;
use crate::orders::Orders;
use crate::periodic::Ticks;
use crate::providers::identity::{DevIdentityVerifier, IdentityVerifier, PortOneIdentityVerifier};
use crate::providers::payments::{DevPayments, PaymentProvider, TossPayments};
use crate::raffles::Raffles;
use crate::raffles::worker::DrawWorker;
use crate::recommend::Recommendations;
use crate::search::Search;
use crate::units::Units;

/// Outside services, chosen from configuration; tests pass their own.
pub struct Providers {
    pub identity: Arc<dyn IdentityVerifier>,
    pub payments: Arc<dyn PaymentProvider>,
}

impl Providers {
    pub fn from_config(config: &Config) -> Self {
        let identity: Arc<dyn IdentityVerifier> = match &config.identity.provider {
            IdentityProviderConfig::Dev => Arc::new(DevIdentityVerifier::new()),
            IdentityProviderConfig::PortOne {
                api_base,
                api_secret,
                store_id,
                channel_key,
            } => Arc::new(PortOneIdentityVerifier::new(
                api_base.clone(),
                api_secret.clone(),
                store_id.clone(),
                channel_key.clone(),
            )),
        };
        let payments: Arc<dyn PaymentProvider> = match &config.payments {
            PaymentProviderConfig::Dev => Arc::new(DevPayments::new()),
            PaymentProviderConfig::Toss {
                api_base,
                secret_key,
            } => Arc::new(TossPayments::new(api_base.clone(), secret_key.clone())),
        };
        Providers { identity, payments }
    }
}

/// HTTP settings the router needs.
pub struct HttpSettings {
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
    pub cors_allowed_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
}

pub struct App {
    pub db: PgPool,
    pub metrics: Arc<Metrics>,
    /// The CPU pool every domain runs its heavy work on (`CPU_THREADS`, `CPU_QUEUE_DEPTH`).
    pub cpu: CpuPool,
    pub accounts: Accounts,
    pub catalogue: Catalogue,
    pub raffles: Raffles,
    pub orders: Orders,
    pub search: Search,
    pub recommend: Recommendations,
    pub ads: Ads,
    pub kakao: Kakao,
    pub chat: Chat,
    pub units: Units,
    /// The verification page, built once.
    pub page: crate::web::Page,
    /// The anchoring worker, when a chain RPC is configured.
    pub anchor_worker: Option<AnchorWorker>,
    /// The draw worker, when a chain RPC is configured.
    pub draw_worker: Option<DrawWorker>,
    pub http: HttpSettings,
    pub listen_addr: SocketAddr,
    /// When this app started (the age gauges count from it before their first reading).
    pub started_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl FromRef<AppState> for Accounts {
    fn from_ref(state: &AppState) -> Accounts {
        state.accounts.clone()
    }
}

impl FromRef<AppState> for Units {
    fn from_ref(state: &AppState) -> Units {
        state.units.clone()
    }
}

impl FromRef<AppState> for crate::web::Page {
    fn from_ref(state: &AppState) -> crate::web::Page {
        state.page.clone()
    }
}

impl FromRef<AppState> for Catalogue {
    fn from_ref(state: &AppState) -> Catalogue {
        state.catalogue.clone()
    }
}

impl FromRef<AppState> for Raffles {
    fn from_ref(state: &AppState) -> Raffles {
        state.raffles.clone()
    }
}

impl FromRef<AppState> for Orders {
    fn from_ref(state: &AppState) -> Orders {
        state.orders.clone()
    }
}

impl FromRef<AppState> for Search {
    fn from_ref(state: &AppState) -> Search {
        state.search.clone()
    }
}

impl FromRef<AppState> for Recommendations {
    fn from_ref(state: &AppState) -> Recommendations {
        state.recommend.clone()
    }
}

impl FromRef<AppState> for Ads {
    fn from_ref(state: &AppState) -> Ads {
        state.ads.clone()
    }
}

impl FromRef<AppState> for Kakao {
    fn from_ref(state: &AppState) -> Kakao {
        state.kakao.clone()
    }
}

impl FromRef<AppState> for Chat {
    fn from_ref(state: &AppState) -> Chat {
        state.chat.clone()
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.db.clone()
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Arc<Metrics> {
        state.metrics.clone()
    }
}

impl AppState {
    /// Connects to Postgres, applies the migrations, and wires the domains together.
    pub async fn start(config: Config, providers: Providers) -> anyhow::Result<AppState> {
        // Configuration already refuses `dev` providers in production; providers handed in by
        // other code (tests, tools) are held to the same rule.
        if config.environment == Environment::Production {
            let dev: Vec<&str> = [
                ("identity", providers.identity.name()),
                ("payments", providers.payments.name()),
            ]
            .into_iter()
            .filter(|(_, name)| *name == "dev")
            .map(|(what, _)| what)
            .collect();
            anyhow::ensure!(
                dev.is_empty(),
                "production refuses the dev {} provider",
                dev.join(" and dev ")
            );
        }
        let db = crate::db::connect(config.database_url(), config.db_max_connections)
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach PostgreSQL: {e}"))?;
        crate::db::migrate(&db).await?;
        let Config {
            auth,
            identity,
            chain,
            catalogue,
            body_limit_bytes,
            request_timeout,
            cors_allowed_origins,
            trusted_proxies,
            listen_addr,
            search,
            recommend,
            ads,
            kakao,
            chat,
            cpu,
            ..
        } = config;
        let cpu = CpuPool::new("truffle-cpu", cpu.threads, cpu.queue_depth);
        let ads = {
            use secrecy::ExposeSecret;
            // The viewer hash needs a server secret; derive one from the person key under its
            // own label rather than ask operators for another.
            let key = crate::ads::derive_viewer_key(identity.person_key_secret.expose_secret());
            Ads::new(
                db.clone(),
                ads.click_dedup_window,
                ads.impression_dedup_window,
                key,
            )
        };
        // Link codes are hashed with a key derived from the person key, under its own label.
        let kakao_key = {
            use secrecy::ExposeSecret;
            crate::kakao::derive_code_key(identity.person_key_secret.expose_secret())
        };
        // Owners' pseudonyms are keyed from the person key, under their own label.
        let owner_key = {
            use secrecy::ExposeSecret;
            crate::units::derive_owner_key(identity.person_key_secret.expose_secret())
        };
        // Ownership records are signed with the anchoring key, which the registry allows.
        let attester = chain.rpc.as_ref().map(|rpc| {
            use secrecy::ExposeSecret;
            rpc.anchor_key
                .expose_secret()
                .parse::<alloy::signers::local::PrivateKeySigner>()
                .expect("the settings checked ANCHOR_PRIVATE_KEY")
        });
        let accounts = Accounts::new(db.clone(), auth, identity, providers.identity, cpu.clone());
        let registry = chain.rpc.as_ref().map(|rpc| rpc.registry);
        // Custodial keys and raffle seeds are sealed under the same master key.
        let public_base_url = catalogue.public_base_url;
        let clones = crate::units::CloneRule {
            places: catalogue.unit_clone_places,
            window: catalogue.unit_clone_window,
        };
        let master = catalogue.custody_master_key;
        let raffles_master = {
            use secrecy::ExposeSecret;
            secrecy::SecretBox::new(Box::new(master.expose_secret().clone()))
        };
        let catalogue = Catalogue::new(
            db.clone(),
            chain.chain_id,
            registry,
            master,
            Arc::new(crate::raffles::WinnersPromised),
            config.public_snapshot_ttl,
        );
        let raffles = Raffles::new(
            db.clone(),
            chain.chain_id,
            registry,
            catalogue.clone(),
            raffles_master,
            cpu.clone(),
            config.public_snapshot_ttl,
        );
        let orders = Orders::new(db.clone(), providers.payments);
        let page = crate::web::Page::new(&crate::web::PageSettings {
            rpc: chain
                .rpc
                .as_ref()
                .map(|rpc| rpc.public_url.clone())
                .unwrap_or_default(),
            chain_id: chain.chain_id,
            registry: registry.map(|r| format!("{r:#x}")).unwrap_or_default(),
            confirmations: chain.rpc.as_ref().map_or(1, |rpc| rpc.confirmations),
            api: public_base_url.clone(),
        });
        let units = Units::new(
            db.clone(),
            catalogue.clone(),
            cpu.clone(),
            crate::units::Settings {
                chain_id: chain.chain_id,
                registry,
                public_base_url,
                clones,
                attester,
                owner_key,
            },
        );
        let chat = Chat::new(db.clone(), catalogue.clone(), chat);
        let search = Search::open(
            db.clone(),
            catalogue.clone(),
            raffles.clone(),
            &search,
            config.public_snapshot_ttl,
            cpu.clone(),
        )?;
        let recommend = Recommendations::new(
            db.clone(),
            catalogue.clone(),
            raffles.clone(),
            &recommend,
            cpu.clone(),
        );
        if kakao.skill_secret.is_none() {
            tracing::info!(
                "KAKAO_SKILL_SECRET is not set: POST /v1/kakao/skill refuses every request"
            );
        }
        let kakao = Kakao::new(
            db.clone(),
            search.clone(),
            raffles.clone(),
            catalogue.clone(),
            kakao,
            kakao_key,
        );
        let (anchor_worker, draw_worker) = match &chain.rpc {
            Some(rpc) => {
                use secrecy::ExposeSecret;
                let client = ChainClient::with_signer(
                    &rpc.url,
                    rpc.registry,
                    chain.chain_id,
                    rpc.anchor_key.expose_secret(),
                )?;
                let draw = DrawWorker {
                    raffles: raffles.clone(),
                    chain: client.clone(),
                    after_draw: Arc::new(crate::orders::OrdersForWinners),
                };
                let anchor = AnchorWorker {
                    db: db.clone(),
                    chain: client,
                    confirmations: rpc.confirmations,
                    batch_interval: rpc.batch_interval,
                    batch_max: rpc.batch_max,
                    cpu: cpu.clone(),
                };
                (Some(anchor), Some(draw))
            }
            None => {
                tracing::warn!(
                    "CHAIN_RPC_URL is not set: nothing is anchored and no raffle is drawn"
                );
                (None, None)
            }
        };
        Ok(AppState(Arc::new(App {
            db,
            metrics: Arc::new(Metrics::new()),
            cpu,
            accounts,
            catalogue,
            raffles,
            orders,
            search,
            recommend,
            ads,
            kakao,
            chat,
            units,
            page,
            anchor_worker,
            draw_worker,
            http: HttpSettings {
                body_limit_bytes,
                request_timeout,
                cors_allowed_origins,
                trusted_proxies,
            },
            listen_addr,
            started_at: chrono::Utc::now(),
        })))
    }

    /// The metrics in the text exposition format, with the worker gauges read from memory
    /// first (the anchoring backlog is what [`AppState::sample_anchor_backlog`] last counted).
    pub fn render_metrics(&self) -> String {
        let now = chrono::Utc::now();
        let since = |at: Option<chrono::DateTime<chrono::Utc>>| {
            (now - at.unwrap_or(self.started_at))
                .to_std()
                .unwrap_or_default()
        };
        self.metrics.record(crate::metrics::WorkerReading {
            search_lag: since(self.search.in_step_at()),
            model_age: since(self.recommend.trained().map(|t| t.trained_at)),
            cpu: self.cpu.stats(),
        });
        self.metrics.render()
    }

    /// Counts the hashes waiting to be anchored into the gauge (every replica does it every
    /// 15 s, whichever runs the anchoring worker).
    pub async fn sample_anchor_backlog(&self) -> anyhow::Result<()> {
        let n = crate::chain::outbox::backlog(&self.db).await?;
        self.metrics.set_anchor_backlog(n);
        Ok(())
    }
}

impl AppState {
    /// Starts the background workers; they stop when `stop` turns true.
    pub fn spawn_workers(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut handles = Vec::new();
        if let Some(worker) = self.anchor_worker.clone() {
            handles.push(tokio::spawn(worker.run(stop.clone())));
        }
        if let Some(worker) = self.draw_worker.clone() {
            handles.push(tokio::spawn(worker.run(stop.clone())));
        }
        // Every replica keeps its own search index in step.
        handles.push(tokio::spawn(self.search.clone().run(stop.clone())));
        // Every replica trains its own recommendation model (reading only).
        handles.push(tokio::spawn(self.recommend.clone().run(stop.clone())));
        // Ads housekeeping (old click de-duplication rows) runs on every replica: deletes are
        // idempotent.
        handles.push(tokio::spawn(
            self.ads
                .clone()
                .run_housekeeping(std::time::Duration::from_secs(60), stop.clone()),
        ));
        // The anchoring backlog gauge, sampled on every replica so that a scrape runs no query.
        let app = self.clone();
        let mut ticks = Ticks::new(Duration::from_secs(15), stop.clone());
        handles.push(tokio::spawn(async move {
            while ticks.next().await {
                if let Err(e) = app.sample_anchor_backlog().await {
                    tracing::debug!(error = format!("{e:#}"), "anchoring backlog not sampled");
                }
            }
        }));
        // Rate-limit counters whose window is long over, chat send buckets that have refilled,
        // and label scans older than the clone window are deleted (idempotent, every replica).
        let db = self.db.clone();
        let chat = self.chat.clone();
        let units = self.units.clone();
        let mut ticks = Ticks::new(Duration::from_secs(600), stop.clone());
        handles.push(tokio::spawn(async move {
            while ticks.next().await {
                match crate::ratelimit::purge(&db, crate::config::MAX_LIMIT_WINDOW).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(rows = n, "purged old rate-limit counters"),
                    Err(e) => tracing::warn!(error = %e, "rate-limit purge failed"),
                }
                match chat.purge_send_buckets().await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(rows = n, "purged refilled chat send buckets"),
                    Err(e) => tracing::warn!(error = %e, "chat send bucket purge failed"),
                }
                match units.purge_scans().await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(rows = n, "purged label scans past the clone window"),
                    Err(e) => tracing::warn!(error = %e, "label scan purge failed"),
                }
            }
        }));
        // The order clock runs on every replica: it locks the rows it takes (SKIP LOCKED).
        let orders = self.orders.clone();
        let mut ticks = Ticks::new(Duration::from_secs(5), stop);
        handles.push(tokio::spawn(async move {
            while ticks.next().await {
                if let Err(e) = orders.pass().await {
                    tracing::warn!(error = format!("{e:#}"), "order clock pass failed");
                }
            }
        }));
        handles
    }
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hub = state.chat.hub.clone();
    let router = crate::router::router(state);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // Upgraded sockets are not requests in flight: ask them to close (1001) so that their
        // clients move to another replica and resume.
        hub.close_all();
    })
    .await
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
