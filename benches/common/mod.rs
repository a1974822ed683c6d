//! What every benchmark needs: its own database next to the tests', and the names of transport
//! errors. Each benchmark is its own crate and includes this file with `#[path]`; not every one
//! uses every item.
#![allow(dead_code)]

use anyhow::Context as _;
use sqlx::{Connection as _, PgConnection};

/// The PostgreSQL admin URL the tests use too (`TEST_DATABASE_URL`).
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres:///postgres?user=root".into())
}

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

/// A private key as the 0x-hex that configuration takes.
pub fn key_hex(key: &alloy::signers::k256::SecretKey) -> String {
    format!("0x{}", alloy::primitives::hex::encode(key.to_bytes()))
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
