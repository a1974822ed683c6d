//! The set-up that the integration tests (`tests/api/helpers.rs`) and the benchmarks
//! (`benches/common/`) share: the PostgreSQL admin connection and a database of one's own, the
//! development configuration every in-process app starts from, and the npm-installed anvil with
//! the settings of an app anchoring on it.
//! A dev-dependency of the service only: no binary links it.

use std::collections::HashMap;

use anyhow::Context as _;
use sqlx::{Connection as _, PgConnection};

/// The access-token key of every test and benchmark app, so tests can forge tokens with it or
/// without it.
pub const JWT_SECRET: [u8; 32] = [7u8; 32];

/// The PostgreSQL admin URL (`TEST_DATABASE_URL`, else the local `root` role).
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres:///postgres?user=root".into())
}

/// The admin URL pointed at another database (keeps the query string, e.g. `?user=root`).
pub fn url_for(admin_url: &str, db: &str) -> anyhow::Result<String> {
    let (base, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let (prefix, _) = base
        .rsplit_once('/')
        .context("TEST_DATABASE_URL has no database path")?;
    Ok(if query.is_empty() {
        format!("{prefix}/{db}")
    } else {
        format!("{prefix}/{db}?{query}")
    })
}

/// Runs one statement (CREATE/DROP DATABASE) on the admin connection.
pub async fn admin_sql(admin_url: &str, sql: String) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(admin_url)
        .await
        .context("connect to PostgreSQL (is it running? scripts/setup-postgres.sh)")?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}

/// The configuration an in-process app in development mode needs, on `db_url`: a free port,
/// fixed keys (the access-token key [`JWT_SECRET`] under `jwt_kid`) and the `dev` providers.
/// Callers add what they measure or test.
pub fn dev_env(db_url: &str, jwt_kid: &str) -> HashMap<String, String> {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    [
        ("DATABASE_URL", db_url.to_owned()),
        ("LISTEN_ADDR", "127.0.0.1:0".into()),
        ("JWT_KEYS", format!("{jwt_kid}={}", b64(&JWT_SECRET))),
        ("PERSON_KEY_SECRET", b64(&[9u8; 32])),
        ("CUSTODY_MASTER_KEY", b64(&[5u8; 32])),
        ("TRUFFLE_ENV", "development".into()),
        ("IDENTITY_PROVIDER", "dev".into()),
        ("PAYMENT_PROVIDER", "dev".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The anvil that `scripts/lib.sh` (`ensure_chain_tools`) installs with npm.
pub fn anvil_path() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    )
    .to_owned()
}

/// A private key's bytes as the 0x-hex that configuration takes.
pub fn key_hex(key: &[u8]) -> String {
    format!("0x{}", hex::encode(key))
}

/// The chain id of every local anvil.
pub const CHAIN_ID: u64 = 31337;

/// A private anvil on 127.0.0.1 and a free port, stopped when dropped (SIGTERM, then SIGKILL
/// after 10 s), with the two roles the tests and benchmarks give its keys: key 0 deploys (and
/// owns) the registry, key 1 anchors and runs the draws.
pub struct DevAnvil {
    pub instance: alloy::node_bindings::AnvilInstance,
    pub rpc: String,
    /// The deployer's key as configuration takes it.
    pub deployer_key: String,
    /// The anchoring key as `ANCHOR_PRIVATE_KEY` takes it.
    pub anchor_key: String,
    /// The anchoring key's address (the registry's anchorer).
    pub anchorer: alloy::primitives::Address,
}

impl DevAnvil {
    /// Starts the anvil at `path` ([`anvil_path`] unless `ANVIL` says otherwise).
    pub fn start() -> anyhow::Result<DevAnvil> {
        let path = std::env::var("ANVIL").unwrap_or_else(|_| anvil_path());
        let instance = alloy::node_bindings::Anvil::at(&path)
            .host("127.0.0.1")
            .port(0u16)
            .try_spawn()
            .with_context(|| {
                format!(
                    "start anvil at {path} (install it: bash -c 'source scripts/lib.sh; ensure_chain_tools')"
                )
            })?;
        Ok(DevAnvil {
            rpc: instance.endpoint(),
            deployer_key: key_hex(&instance.keys()[0].to_bytes()),
            anchor_key: key_hex(&instance.keys()[1].to_bytes()),
            anchorer: instance.addresses()[1],
            instance,
        })
    }

    /// The settings of an app anchoring on this anvil with `registry`, `confirmations` deep,
    /// batches only when forced (a test or benchmark that wants them sooner says so after).
    pub fn configure(
        &self,
        env: &mut HashMap<String, String>,
        registry: alloy::primitives::Address,
        confirmations: u64,
    ) {
        set(
            env,
            [
                ("CHAIN_RPC_URL", self.rpc.clone()),
                ("CHAIN_ID", CHAIN_ID.to_string()),
                ("CHAIN_REGISTRY_ADDRESS", format!("{registry:#x}")),
                ("ANCHOR_PRIVATE_KEY", self.anchor_key.clone()),
                ("CHAIN_CONFIRMATIONS", confirmations.to_string()),
                ("ANCHOR_BATCH_INTERVAL", "1h".into()),
            ],
        );
    }
}

/// Sets each `(name, value)` in `env`, replacing what was there.
pub fn set<'a>(
    env: &mut HashMap<String, String>,
    pairs: impl IntoIterator<Item = (&'a str, String)>,
) {
    env.extend(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)));
}
