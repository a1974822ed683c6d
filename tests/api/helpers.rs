//! The test harness: each test gets its own database (cloned from a migrated template), its own
//! app on a free port, and the dev identity provider whose codes the test can read.

use std::collections::HashMap;

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;
use truffle::app::{AppState, Providers};
use truffle::config::Config;
use truffle::providers::identity::{DevIdentityVerifier, IdentityVerifier};

/// The access-token key the tests use (`truffle-testkit`'s), so they can forge tokens with it
/// or without it.
pub use truffle_testkit::{JWT_SECRET, admin_url};
pub const JWT_KID: &str = "test1";

/// The admin URL pointed at another database.
pub fn url_for(db: &str) -> String {
    truffle_testkit::url_for(&admin_url(), db).expect("TEST_DATABASE_URL has a database path")
}

/// A migrated template database, made once per migration set and reused across runs.
async fn template() -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let mut hasher = Sha256::new();
            let mut entries: Vec<_> =
                std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
                    .expect("migrations dir")
                    .map(|e| e.expect("entry").path())
                    .collect();
            entries.sort();
            for path in entries {
                hasher.update(path.file_name().unwrap().as_encoded_bytes());
                hasher.update(std::fs::read(&path).expect("migration file"));
            }
            let name = format!("truffle_tpl_{}", &hex::encode(hasher.finalize())[..12]);
            let mut admin = PgConnection::connect(&admin_url())
                .await
                .expect("connect to Postgres (is it running? scripts/setup-postgres.sh)");
            sqlx::query("SELECT pg_advisory_lock(4242)")
                .execute(&mut admin)
                .await
                .unwrap();
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(&name)
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
            if !exists {
                let tmp = format!("{name}_building");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {tmp} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {tmp}")))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let pool = PgPool::connect(&url_for(&tmp)).await.unwrap();
                truffle::db::migrate(&pool).await.expect("migrations apply");
                pool.close().await;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "ALTER DATABASE {tmp} RENAME TO {name}"
                )))
                .execute(&mut admin)
                .await
                .unwrap();
            }
            sqlx::query("SELECT pg_advisory_unlock(4242)")
                .execute(&mut admin)
                .await
                .unwrap();
            name
        })
        .await
}

/// A fresh database cloned from the template; dropped when the guard goes.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let template = template().await;
        let name = format!("truffle_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {template}"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
        TestDb { name }
    }

    pub fn url(&self) -> String {
        url_for(&self.name)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread with its own to reach Postgres.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join();
    }
}

/// The shared development configuration (`truffle_testkit::dev_env`), with a small pool and a
/// search index that refreshes quickly.
pub fn base_env(db_url: &str) -> HashMap<String, String> {
    let mut env = truffle_testkit::dev_env(db_url, JWT_KID);
    env.insert("DB_MAX_CONNECTIONS".into(), "5".into());
    env.insert("SEARCH_REFRESH_INTERVAL".into(), "100ms".into());
    // The tests read what they just wrote; the one that tests the snapshots turns them back on.
    env.insert("PUBLIC_SNAPSHOT_TTL".into(), "0s".into());
    env
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub db: PgPool,
    pub dev_identity: Arc<DevIdentityVerifier>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// The search worker, which every app runs (as `serve` does), and its stop switch.
    search_stop: tokio::sync::watch::Sender<bool>,
    search_worker: Option<tokio::task::JoinHandle<()>>,
    /// This app's search index directory, unless the test chose one.
    _index_tmp: Option<tempfile::TempDir>,
    // Last, so the database is dropped after the app's pool is closed.
    _db: Arc<TestDb>,
}

/// A response's status and JSON body (`Null` when empty or not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(
            self.status.is_success(),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        self.body
    }

    #[track_caller]
    pub fn expect(self, status: u16, code: &str) -> Self {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "unexpected answer: {}",
            self.body
        );
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no message: {}",
            self.body
        );
        self
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
        let db = Arc::new(TestDb::new().await);
        Self::spawn_on(db, tweak).await
    }

    /// Another app on the same database (a second replica, or a restart with new settings).
    pub async fn spawn_on(
        db: Arc<TestDb>,
        tweak: impl FnOnce(&mut HashMap<String, String>),
    ) -> TestApp {
        let dev = Arc::new(DevIdentityVerifier::new());
        Self::spawn_full(
            db,
            tweak,
            dev.clone() as Arc<dyn IdentityVerifier>,
            dev,
            None,
        )
        .await
    }

    pub async fn spawn_full(
        db: Arc<TestDb>,
        tweak: impl FnOnce(&mut HashMap<String, String>),
        identity: Arc<dyn IdentityVerifier>,
        dev_identity: Arc<DevIdentityVerifier>,
        payments: Option<Arc<dyn truffle::providers::payments::PaymentProvider>>,
    ) -> TestApp {
        let payments =
            payments.unwrap_or_else(|| Arc::new(truffle::providers::payments::DevPayments::new()));
        let mut env = base_env(&db.url());
        let index_tmp = tempfile::tempdir().expect("a temporary index directory");
        env.insert(
            "SEARCH_INDEX_DIR".into(),
            index_tmp.path().display().to_string(),
        );
        tweak(&mut env);
        let chosen = std::path::Path::new(&env["SEARCH_INDEX_DIR"]) != index_tmp.path();
        let index_tmp = (!chosen).then_some(index_tmp);
        let config = Config::from_env_map(&env).expect("test config is valid");
        let state = AppState::start(config, Providers { identity, payments })
            .await
            .expect("app starts");
        let pool = state.db.clone();
        let kept = state.clone();
        let (search_stop, stopped) = tokio::sync::watch::channel(false);
        let search_worker = tokio::spawn(state.search.clone().run(stopped));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            truffle::app::serve(state, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            base: format!("http://{addr}"),
            state: kept,

            http: reqwest::Client::new(),
            db: pool,
            dev_identity,
            shutdown: Some(tx),
            server: Some(server),
            search_stop,
            search_worker: Some(search_worker),
            _index_tmp: index_tmp,
            _db: db,
        }
    }

    pub fn database(&self) -> Arc<TestDb> {
        self._db.clone()
    }

    /// Stops the server and waits for it (graceful shutdown).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
        let _ = self.search_stop.send(true);
        if let Some(worker) = self.search_worker.take() {
            worker.await.unwrap();
        }
        self.db.close().await;
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        Resp {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Starts a verification, reads the code the dev provider "sent", and confirms it.
    pub async fn verify(&self, purpose: &str, person: &Person) -> String {
        let id = self.start_verification(purpose, person).await;
        let code = self.dev_identity.code_for(&id).expect("a code was sent");
        self.post(
            &format!("/v1/identity-verifications/{id}/confirm"),
            None,
            json!({"code": code}),
        )
        .await
        .ok();
        id
    }

    pub async fn start_verification(&self, purpose: &str, person: &Person) -> String {
        let body = self
            .post(
                "/v1/identity-verifications",
                None,
                json!({
                    "purpose": purpose,
                    "name": person.name,
                    "phone": person.phone,
                    "identity_number": person.identity_number,
                    "carrier": "SKT",
                }),
            )
            .await
            .ok();
        body["id"].as_str().unwrap().to_owned()
    }

    /// Signs a person up and returns (user, tokens).
    pub async fn signup(&self, email: &str, password: &str, person: &Person) -> (Value, Value) {
        let id = self.verify("signup", person).await;
        let body = self
            .post(
                "/v1/auth/signup",
                None,
                json!({"identity_verification_id": id, "email": email, "password": password}),
            )
            .await
            .ok();
        (body["user"].clone(), body["tokens"].clone())
    }

    /// A fresh verified buyer with a delivery address (paying needs one); returns their access
    /// token.
    pub async fn buyer(&self) -> String {
        let token = self.buyer_without_address().await;
        self.call(
            Method::PATCH,
            "/v1/me",
            Some(&token),
            Some(
                json!({"delivery_address": {"recipient": "김민수", "phone": "010-1234-5678",
                "postal_code": "06236", "address": "서울특별시 강남구 테헤란로 152"}}),
            ),
        )
        .await
        .ok();
        token
    }

    /// A fresh verified buyer who has not given a delivery address yet.
    pub async fn buyer_without_address(&self) -> String {
        let person = Person::random();
        let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
        let (_, tokens) = self.signup(&email, "a-good-password-1", &person).await;
        tokens["access_token"].as_str().unwrap().to_owned()
    }

    /// An admin made the way `truffle create-admin` makes one; returns the access token.
    pub async fn admin(&self) -> String {
        let email = format!("admin-{}@example.com", uuid::Uuid::new_v4().simple());
        truffle::accounts::create_unverified_user(
            &self.db,
            &email,
            "admin-password-1",
            truffle::accounts::Role::Admin,
        )
        .await
        .unwrap();
        self.login(&email, "admin-password-1").await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A verified buyer turned seller the way the product does it: apply, an admin approves.
    /// Returns (user id, access token).
    pub async fn seller(&self) -> (String, String) {
        let token = self.buyer().await;
        let admin = self.admin().await;
        let app_id = self
            .post(
                "/v1/me/seller-application",
                Some(&token),
                json!({"business_name": "트러플 스토어", "business_registration_number": business_number()}),
            )
            .await
            .ok()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.post(
            &format!("/v1/admin/seller-applications/{app_id}/approve"),
            Some(&admin),
            json!({}),
        )
        .await
        .ok();
        let me = self.get("/v1/me", Some(&token)).await.ok();
        (me["id"].as_str().unwrap().to_owned(), token)
    }

    /// The app's anchoring worker (the app must have been started with a chain).
    pub fn worker(&self) -> truffle::chain::worker::AnchorWorker {
        self.state
            .anchor_worker
            .clone()
            .expect("this app has a chain configured")
    }

    /// Anchors everything waiting and confirms it: a batch sent and mined, one block more, so
    /// that the 2 confirmations of [`TestChain::configure`] are reached.
    pub async fn anchor_and_confirm(&self, chain: &TestChain) {
        let worker = self.worker();
        worker.pass(true).await.unwrap();
        chain.mine(1).await;
        worker.pass(false).await.unwrap();
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.post(
            "/v1/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
        .ok()["tokens"]
            .clone()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.search_stop.send(true);
    }
}

/// A fresh, valid 사업자등록번호 (`XXX-XX-XXXXX`): nine random digits and their check digit, as
/// `normalize_registration_number` checks it. One number belongs to one seller.
pub fn business_number() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let mut digits: Vec<u32> = (0..9).map(|_| rng.random_range(0..10)).collect();
    const WEIGHTS: [u32; 9] = [1, 3, 7, 1, 3, 7, 1, 3, 5];
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum::<u32>() + digits[8] * 5 / 10;
    digits.push((10 - sum % 10) % 10);
    let s: String = digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect();
    let number = format!("{}-{}-{}", &s[0..3], &s[3..5], &s[5..10]);
    assert_eq!(
        truffle::accounts::sellers::normalize_registration_number(&number).as_deref(),
        Some(number.as_str())
    );
    number
}

/// Someone who can pass an identity verification.
#[derive(Clone, Debug)]
pub struct Person {
    pub name: String,
    pub phone: String,
    pub identity_number: String,
}

impl Person {
    pub fn random() -> Person {
        use rand::Rng;
        let mut rng = rand::rng();
        Person {
            name: format!("테스트{}", rng.random_range(1000..9999)),
            phone: format!("010{:08}", rng.random_range(0..100_000_000u32)),
            identity_number: format!(
                "{:02}{:02}{:02}{}",
                rng.random_range(70..99),
                rng.random_range(1..13),
                rng.random_range(1..29),
                rng.random_range(1..3)
            ),
        }
    }
}

/// A local anvil for one test, with the registry deployed: key 0 deploys, key 1 anchors.
/// Automine: every transaction is mined at once; more blocks come only from [`TestChain::mine`].
pub struct TestChain {
    /// Kept so that anvil lives as long as the test.
    pub anvil: truffle_testkit::DevAnvil,
    pub rpc: String,
    pub registry: alloy::primitives::Address,
    pub anchor_key: String,
    pub client: truffle::chain::ChainClient,
}

impl TestChain {
    pub async fn start() -> TestChain {
        let anvil = truffle_testkit::DevAnvil::start()
            .expect("anvil starts (scripts/test.sh installs it with npm)");
        let registry =
            truffle::chain::deploy_registry(&anvil.rpc, &anvil.deployer_key, anvil.anchorer)
                .await
                .unwrap();
        let client = truffle::chain::ChainClient::with_signer(
            &anvil.rpc,
            registry,
            truffle_testkit::CHAIN_ID,
            &anvil.anchor_key,
        )
        .unwrap();
        TestChain {
            rpc: anvil.rpc.clone(),
            anchor_key: anvil.anchor_key.clone(),
            anvil,
            registry,
            client,
        }
    }

    /// Settings for an app anchoring on this chain (2 confirmations, manual batches).
    pub fn configure(&self, env: &mut HashMap<String, String>) {
        self.anvil.configure(env, self.registry, 2);
    }

    pub fn trust(&self) -> truffle::chain::verify::Trust {
        truffle::chain::verify::Trust {
            rpc_url: self.rpc.clone(),
            chain_id: truffle_testkit::CHAIN_ID,
            confirmations: 1,
            registry: self.registry,
        }
    }

    pub async fn mine(&self, blocks: u64) {
        use alloy::providers::ext::AnvilApi;
        self.client
            .provider()
            .anvil_mine(Some(blocks), None)
            .await
            .unwrap();
    }

    /// How many Anchored events the registry holds for `root`.
    pub async fn anchored_events(&self, root: alloy::primitives::B256) -> usize {
        use alloy::providers::Provider;
        use alloy::rpc::types::Filter;
        use alloy::sol_types::SolEvent;
        let filter = Filter::new()
            .address(self.registry)
            .event_signature(truffle::chain::TruffleRegistry::Anchored::SIGNATURE_HASH)
            .topic1(root)
            .from_block(0);
        self.client
            .provider()
            .get_logs(&filter)
            .await
            .unwrap()
            .len()
    }
}
