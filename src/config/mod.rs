//! Typed configuration, read from an environment map and validated at start-up.
//!
//! Every mistake is reported at once, one line each, so an operator fixes them in one pass.
//! Secrets are wrapped in [`SecretString`]/[`SecretBox`] and never printed.
//!
//! - [`areas`]: one reading function per area (server, auth, identity, chain, payments, …).
//! - [`production`]: what production refuses.
//! - `read`: the reader that remembers every mistake.

mod areas;
mod production;
mod read;

pub use production::production_problems;
use read::Reader;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretBox, SecretString};

/// The longest window a limit may have: counters older than this are purged.
pub const MAX_LIMIT_WINDOW: Duration = Duration::from_secs(7 * 86_400);

/// A limit of `max` events per `window`, written `10/15m` in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}

impl FromStr for RateLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (max, window) = s
            .split_once('/')
            .ok_or_else(|| format!("expected COUNT/WINDOW such as 10/15m, got {s:?}"))?;
        let max: u32 = max
            .trim()
            .parse()
            .map_err(|_| format!("{max:?} is not a whole number"))?;
        let window = humantime::parse_duration(window.trim())
            .map_err(|e| format!("bad window {window:?}: {e}"))?;
        if max == 0 || window.is_zero() {
            return Err("count and window must both be above zero".into());
        }
        if window > MAX_LIMIT_WINDOW {
            // Counters are purged a week after their window began.
            return Err("the window must be at most 7 days".into());
        }
        Ok(RateLimit { max, window })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// `TRUFFLE_ENV`: how strict start-up is. There is no default: an operator says which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local runs and tests: `dev` providers and the example secrets are allowed, each named in a
    /// warning at start-up.
    Development,
    /// Real people: the service refuses to start on a `dev` provider, a published or short
    /// secret, a devnet chain or no chain at all (see [`production_problems`]).
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Production => "production",
        }
    }
}

/// Which identity-verification provider the service talks to.
pub enum IdentityProviderConfig {
    /// Completes locally; the one-time code is written to the log.
    Dev,
    /// PortOne V2 identity verification, API-only (SMS) flow.
    PortOne {
        api_base: String,
        api_secret: SecretString,
        store_id: Option<String>,
        channel_key: String,
    },
}

impl fmt::Debug for IdentityProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dev => f.write_str("Dev"),
            Self::PortOne {
                api_base,
                store_id,
                channel_key,
                ..
            } => f
                .debug_struct("PortOne")
                .field("api_base", api_base)
                .field("store_id", store_id)
                .field("channel_key", channel_key)
                .field("api_secret", &"[redacted]")
                .finish(),
        }
    }
}

/// One HMAC key that signs or checks access tokens, named by its `kid`.
pub struct JwtKey {
    pub kid: String,
    pub secret: SecretBox<Vec<u8>>,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwtKey({}, [redacted])", self.kid)
    }
}

#[derive(Debug)]
pub struct AuthConfig {
    /// Every key that may check a token; the first listed key named by `active_kid` signs.
    pub jwt_keys: Vec<JwtKey>,
    pub active_kid: String,
    pub issuer: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub login_limit_per_account: RateLimit,
    pub login_limit_per_ip: RateLimit,
    pub guards: AuthGuards,
}

/// Limits that keep anonymous clients from buying CPU or locking others out, and the sessions'
/// absolute lifetime (docs/ACCOUNTS.md, "Abuse").
#[derive(Debug, Clone, Copy)]
pub struct AuthGuards {
    /// Login attempts per account from one address prefix (the lockout a stranger elsewhere
    /// cannot trigger); `LOGIN_LIMIT_PER_ACCOUNT` caps the account from all addresses together.
    pub login_limit_per_account_address: RateLimit,
    /// Sign-ups and password resets per client address prefix.
    pub signup_limit_per_ip: RateLimit,
    pub password_reset_limit_per_ip: RateLimit,
    /// Sign-up or reset attempts with one identity verification.
    pub verification_use_limit: RateLimit,
    /// A session ends this long after it was opened, however often it is refreshed.
    pub session_max_lifetime: Duration,
}

impl AuthGuards {
    /// The defaults, as `.env.example` has them.
    pub fn defaults() -> AuthGuards {
        let limit = |s: &str| s.parse::<RateLimit>().expect("a valid default limit");
        AuthGuards {
            login_limit_per_account_address: limit("10/15m"),
            signup_limit_per_ip: limit("30/1h"),
            password_reset_limit_per_ip: limit("30/1h"),
            verification_use_limit: limit("5/30m"),
            session_max_lifetime: Duration::from_secs(90 * 86_400),
        }
    }
}

#[derive(Debug)]
pub struct IdentityConfig {
    pub provider: IdentityProviderConfig,
    /// How long a sent code stays valid.
    pub code_ttl: Duration,
    pub max_attempts: u32,
    /// How long a completed verification may be used for sign-up or password reset.
    pub use_window: Duration,
    pub send_limit_per_phone: RateLimit,
    pub send_limit_per_ip: RateLimit,
    /// Keys the person hash (CI or phone) so that the database alone cannot be reversed.
    pub person_key_secret: SecretBox<Vec<u8>>,
    /// How long a person who deleted their account waits before signing up again.
    pub rejoin_cooldown: Duration,
}

/// The EVM chain that anchors product records.
pub struct ChainConfig {
    /// The chain id records are signed for (EIP-712 domain) and that verification trusts.
    pub chain_id: u64,
    /// Where to send anchors; without it records are kept pending and nothing is anchored.
    pub rpc: Option<ChainRpc>,
}

pub struct ChainRpc {
    pub url: String,
    /// The RPC endpoint the verification page tells visitors' browsers to read the chain from
    /// (`CHAIN_PUBLIC_RPC_URL`; `CHAIN_RPC_URL` unless set). Visitors may change it.
    pub public_url: String,
    /// The `TruffleRegistry` contract.
    pub registry: alloy::primitives::Address,
    /// The anchoring key (allowed by the registry to anchor and revoke).
    pub anchor_key: SecretString,
    /// Blocks on top of the anchoring block before a batch counts as confirmed (1 = mined).
    pub confirmations: u64,
    /// A batch closes after this long, or sooner at `batch_max` records.
    pub batch_interval: Duration,
    pub batch_max: usize,
}

impl fmt::Debug for ChainConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ChainConfig");
        d.field("chain_id", &self.chain_id);
        if let Some(rpc) = &self.rpc {
            d.field("rpc_url", &rpc.url)
                .field("registry", &rpc.registry)
                .field("anchor_key", &"[redacted]")
                .field("confirmations", &rpc.confirmations)
                .field("batch_interval", &rpc.batch_interval)
                .field("batch_max", &rpc.batch_max);
        }
        d.finish()
    }
}

/// Which payment provider the service talks to.
pub enum PaymentProviderConfig {
    /// Completes locally: any payment key beginning with `dev_` is a paid payment.
    Dev,
    /// Toss Payments core API v1.
    Toss {
        api_base: String,
        secret_key: SecretString,
    },
}

impl fmt::Debug for PaymentProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dev => f.write_str("Dev"),
            Self::Toss { api_base, .. } => write!(f, "Toss({api_base}, [redacted])"),
        }
    }
}

#[derive(Debug)]
pub struct CatalogueConfig {
    /// Encrypts the custodial signing keys the platform holds for sellers (AES-256-GCM).
    pub custody_master_key: SecretBox<Vec<u8>>,
    /// Where buyers reach this service (no trailing slash): unit labels' QR codes point there.
    pub public_base_url: String,
    /// A unit scanned from this many address prefixes within `unit_clone_window` is flagged as
    /// a likely copied label.
    pub unit_clone_places: u32,
    pub unit_clone_window: Duration,
}

#[derive(Debug)]
pub struct SearchConfig {
    /// Where this process keeps its Tantivy index (one directory per process).
    pub index_dir: std::path::PathBuf,
    /// How often the index looks for catalogue changes.
    pub refresh_interval: Duration,
    /// How long the change feed is kept; an index further behind is rebuilt.
    pub feed_retention: Duration,
}

#[derive(Debug)]
pub struct RecoConfig {
    /// How often each replica retrains its recommendation model from the database.
    pub rebuild_interval: Duration,
    /// How often the list of raffles a buyer can act on (open or scheduled) is read again.
    pub refresh_interval: Duration,
    /// K: the most interacted products the history part covers (4·K² bytes of weights).
    pub candidates: usize,
    /// How far back product views count; older views are deleted.
    pub view_window: Duration,
}

#[derive(Debug)]
pub struct AdsConfig {
    /// Repeated clicks of one viewer on one banner within this window count once.
    pub click_dedup_window: Duration,
    /// A banner shown again to one viewer within this window counts one impression.
    pub impression_dedup_window: Duration,
}

/// The KakaoTalk chatbot skill (docs/KAKAO.md).
#[derive(Debug)]
pub struct KakaoConfig {
    /// The value Open Builder sends in the `X-Skill-Secret` header. Unset: the skill refuses
    /// every request (401).
    pub skill_secret: Option<SecretString>,
    /// The bot whose requests are answered (`bot.id`); required with the secret.
    pub bot_id: Option<String>,
    /// How long a skill answer may take before the polite fallback goes out instead (Kakao
    /// waits 5 s in all).
    pub skill_timeout: Duration,
    /// How long a link code from `POST /v1/me/kakao-link` stays valid.
    pub link_code_ttl: Duration,
    /// Wrong link codes allowed from all Kakao users together per window; past it, linking
    /// pauses for everyone until the window ends.
    pub link_failure_budget: RateLimit,
    /// The web front end cards link to (`{base}/products/{id}`, `{base}/raffles/{id}`).
    pub web_base_url: String,
    /// The thumbnail of every card (Kakao requires one on a basicCard).
    pub card_image_url: String,
}

/// Chat over WebSocket: the limits that keep one person or one slow client from hurting others.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// Longest message body, in characters (after NFC normalisation).
    pub max_message_chars: usize,
    /// Token bucket per person (REST and sockets, every replica) for sends, and per socket for
    /// resumes: messages per second refilled, and the burst it holds.
    pub messages_per_second: f64,
    pub message_burst: u32,
    /// Open sockets one person may hold on one replica.
    pub max_connections_per_user: usize,
    /// Frames waiting for one connection; a client that lets it fill is disconnected (4008).
    pub send_queue: usize,
    /// How often the server pings each socket (and re-checks its session).
    pub ping_interval: Duration,
    /// A socket that sends nothing, not even a pong, for this long is closed.
    pub idle_timeout: Duration,
}

/// The app's CPU pool (`crate::cpu`): threads, and how many request jobs may wait for them.
#[derive(Debug, Clone, Copy)]
pub struct CpuConfig {
    pub threads: usize,
    /// Request jobs waiting beyond those running; past it, `503 overloaded`.
    pub queue_depth: usize,
}

#[derive(Debug)]
pub struct Config {
    pub environment: Environment,
    /// What would stop a production start, found in a development one: logged as warnings.
    pub development_warnings: Vec<String>,
    pub database_url: SecretString,
    pub db_max_connections: u32,
    pub listen_addr: SocketAddr,
    pub log_format: LogFormat,
    pub cors_allowed_origins: Vec<String>,
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
    pub trusted_proxies: Vec<IpNet>,
    /// How long a replica serves a raffle's or a product's public answer, and search hits' products
    /// and raffles, from memory (0: never).
    pub public_snapshot_ttl: Duration,
    pub auth: AuthConfig,
    pub identity: IdentityConfig,
    pub chain: ChainConfig,
    pub catalogue: CatalogueConfig,
    pub payments: PaymentProviderConfig,
    pub search: SearchConfig,
    pub recommend: RecoConfig,
    pub ads: AdsConfig,
    pub kakao: KakaoConfig,
    pub chat: ChatConfig,
    pub cpu: CpuConfig,
}

/// Every problem found in the environment, one per line.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Reads the process environment.
    pub fn from_process_env() -> Result<Config, ConfigErrors> {
        Self::from_env_map(&std::env::vars().collect())
    }

    /// Reads configuration from a map of variables; tests pass their own map.
    pub fn from_env_map(env: &HashMap<String, String>) -> Result<Config, ConfigErrors> {
        let mut r = Reader {
            env,
            errors: Vec::new(),
        };
        let environment = areas::environment(&mut r);
        let server = areas::server(&mut r);
        let guards = areas::auth_guards(&mut r);
        let auth = areas::auth(&mut r, guards);
        let identity = areas::identity(&mut r);
        let chain = areas::chain(&mut r);
        let catalogue = areas::catalogue(&mut r);
        let payments = areas::payments(&mut r);
        let search = areas::search(&mut r);
        let recommend = areas::recommend(&mut r);
        let ads = areas::ads(&mut r);
        let kakao = areas::kakao(&mut r);
        let cpu = areas::cpu(&mut r);
        let chat = areas::chat(&mut r);

        // What production refuses, found in the settings as read: errors in production (all at
        // once, with the rest), warnings in development.
        let problems = production_problems(env);
        let mut development_warnings = Vec::new();
        match environment {
            Some(Environment::Production) => r.errors.extend(problems),
            Some(Environment::Development) => development_warnings = problems,
            None => {}
        }
        // An area is None only after it pushed an error.
        let config = (|| {
            let server = server?;
            Some(Config {
                environment: environment?,
                development_warnings,
                database_url: server.database_url,
                db_max_connections: server.db_max_connections,
                listen_addr: server.listen_addr,
                log_format: server.log_format,
                cors_allowed_origins: server.cors_allowed_origins,
                body_limit_bytes: server.body_limit_bytes,
                request_timeout: server.request_timeout,
                trusted_proxies: server.trusted_proxies,
                public_snapshot_ttl: server.public_snapshot_ttl,
                auth: auth?,
                identity: identity?,
                chain: chain?,
                payments: payments?,
                search: search?,
                recommend: recommend?,
                ads: ads?,
                kakao: kakao?,
                chat: chat?,
                catalogue: catalogue?,
                cpu: cpu?,
            })
        })();
        match config {
            Some(config) if r.errors.is_empty() => Ok(config),
            _ if r.errors.is_empty() => Err(ConfigErrors(vec![
                "internal: a setting was lost while reading".into(),
            ])),
            _ => Err(ConfigErrors(r.errors)),
        }
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::production::{EXAMPLE_ENV, SECRETS};
    use super::read::decode_base64;
    use super::*;
    use base64::Engine as _;

    fn base() -> HashMap<String, String> {
        [
            ("TRUFFLE_ENV", "development"),
            ("IDENTITY_PROVIDER", "dev"),
            ("PAYMENT_PROVIDER", "dev"),
            ("DATABASE_URL", "postgres:///truffle"),
            (
                "JWT_KEYS",
                "k1=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
            (
                "PERSON_KEY_SECRET",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
            (
                "CUSTODY_MASTER_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn minimal_environment_gives_defaults() {
        let c = Config::from_env_map(&base()).unwrap();
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.auth.active_kid, "k1");
        assert_eq!(c.auth.login_limit_per_account.max, 30);
        assert_eq!(c.auth.guards.login_limit_per_account_address.max, 10);
        assert_eq!(
            c.auth.guards.session_max_lifetime,
            Duration::from_secs(90 * 86_400)
        );
        assert_eq!(c.cpu.queue_depth, 4 * c.cpu.threads);
        assert_eq!(c.identity.code_ttl, Duration::from_secs(180));
        assert!(matches!(c.identity.provider, IdentityProviderConfig::Dev));
        assert_eq!(c.ads.click_dedup_window, Duration::from_secs(30 * 60));
        assert!(
            c.kakao.skill_secret.is_none(),
            "the skill is off unless configured"
        );
        assert_eq!(c.kakao.skill_timeout, Duration::from_secs(3));
    }

    #[test]
    fn kakao_needs_secret_and_bot_id_together_and_a_short_timeout() {
        let mut env = base();
        env.insert(
            "KAKAO_SKILL_SECRET".into(),
            "kakao-skill-secret-value".into(),
        );
        env.insert("KAKAO_SKILL_TIMEOUT".into(), "5s".into());
        let text = Config::from_env_map(&env).unwrap_err().to_string();
        assert!(text.contains("KAKAO_BOT_ID"), "{text}");
        assert!(text.contains("KAKAO_SKILL_TIMEOUT"), "{text}");
        assert!(
            !text.contains("kakao-skill-secret-value"),
            "secret leaked:\n{text}"
        );
        env.insert("KAKAO_BOT_ID".into(), "bot-1".into());
        env.remove("KAKAO_SKILL_TIMEOUT");
        let c = Config::from_env_map(&env).unwrap();
        assert_eq!(c.kakao.bot_id.as_deref(), Some("bot-1"));
        assert!(!format!("{c:?}").contains("kakao-skill-secret-value"));
    }

    #[test]
    fn every_mistake_is_reported_and_no_secret_is_printed() {
        let mut env = base();
        env.remove("DATABASE_URL");
        env.insert("JWT_KEYS".into(), "k1=c2hvcnQ=".into());
        env.insert("LOG_FORMAT".into(), "xml".into());
        env.insert("LOGIN_LIMIT_PER_IP".into(), "ten".into());
        env.insert("TRUSTED_PROXIES".into(), "10.0.0.0/8,nonsense".into());
        env.insert("IDENTITY_PROVIDER".into(), "portone".into());
        env.insert("CHAIN_RPC_URL".into(), "http://127.0.0.1:8545".into());
        env.insert("ANCHOR_PRIVATE_KEY".into(), "0xnot-a-key".into());
        let err = Config::from_env_map(&env).unwrap_err();
        let text = err.to_string();
        for needle in [
            "DATABASE_URL",
            "JWT_KEYS[k1]",
            "LOG_FORMAT",
            "LOGIN_LIMIT_PER_IP",
            "nonsense",
            "PORTONE_API_SECRET",
            "PORTONE_CHANNEL_KEY",
            "CHAIN_REGISTRY_ADDRESS",
            "ANCHOR_PRIVATE_KEY",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        assert!(!text.contains("c2hvcnQ"), "secret leaked:\n{text}");
        assert!(!text.contains("0xnot-a-key"), "secret leaked:\n{text}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let mut env = base();
        env.insert("IDENTITY_PROVIDER".into(), "portone".into());
        env.insert("PORTONE_API_SECRET".into(), "very-secret-value".into());
        env.insert("PORTONE_CHANNEL_KEY".into(), "channel-key".into());
        let c = Config::from_env_map(&env).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("very-secret-value"));
        assert!(!dbg.contains("postgres:///truffle"));
        assert!(!dbg.contains("AAAAAAAA"));
    }

    /// `.env.example` as the run command copies it to `.env`.
    fn example() -> HashMap<String, String> {
        EXAMPLE_ENV
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    }

    /// Settings an operator could run production on: their own secrets, real providers, a chain.
    fn production() -> HashMap<String, String> {
        let mut env = base();
        for (k, v) in [
            ("TRUFFLE_ENV", "production"),
            ("IDENTITY_PROVIDER", "portone"),
            ("PORTONE_API_SECRET", "portone-secret-of-our-own-0123456789"),
            ("PORTONE_CHANNEL_KEY", "channel-key-1"),
            ("PAYMENT_PROVIDER", "toss"),
            ("TOSS_SECRET_KEY", "live_sk_OurOwnLiveKey0123456789"),
            ("CHAIN_ID", "8453"),
            ("CHAIN_RPC_URL", "https://rpc.example.net"),
            (
                "CHAIN_REGISTRY_ADDRESS",
                "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            ),
            (
                "ANCHOR_PRIVATE_KEY",
                "0x1111111111111111111111111111111111111111111111111111111111111111",
            ),
        ] {
            env.insert(k.into(), v.into());
        }
        env
    }

    #[test]
    fn the_environment_and_both_providers_must_be_named() {
        let mut env = base();
        for name in ["TRUFFLE_ENV", "IDENTITY_PROVIDER", "PAYMENT_PROVIDER"] {
            env.remove(name);
        }
        let text = Config::from_env_map(&env).unwrap_err().to_string();
        for name in ["TRUFFLE_ENV", "IDENTITY_PROVIDER", "PAYMENT_PROVIDER"] {
            assert!(text.contains(&format!("{name} is not set")), "{text}");
        }
        env.insert("TRUFFLE_ENV".into(), "prod".into());
        let text = Config::from_env_map(&env).unwrap_err().to_string();
        assert!(text.contains("TRUFFLE_ENV=\"prod\""), "{text}");
    }

    #[test]
    fn production_refuses_the_example_configuration_listing_every_reason() {
        let mut env = example();
        env.insert("CHAIN_RPC_URL".into(), String::new());
        env.insert("TRUFFLE_ENV".into(), "production".into());
        let text = Config::from_env_map(&env).unwrap_err().to_string();
        for needle in [
            "IDENTITY_PROVIDER=dev",
            "PAYMENT_PROVIDER=dev",
            "CHAIN_RPC_URL is not set",
            "CHAIN_ID is 31337",
            "JWT_KEYS[dev1] is a published value",
            "PERSON_KEY_SECRET is a published value",
            "CUSTODY_MASTER_KEY is a published value",
            "ANCHOR_PRIVATE_KEY is a published value",
            "KAKAO_SKILL_SECRET is a published value",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        for (name, value) in &env {
            if SECRETS.contains(&name.as_str()) || name == "JWT_KEYS" {
                assert!(
                    value.is_empty() || !text.contains(value.as_str()),
                    "{name} printed"
                );
            }
        }
        // The same file is what development runs on: it starts, naming each problem.
        env.insert("TRUFFLE_ENV".into(), "development".into());
        let c = Config::from_env_map(&env).unwrap();
        assert_eq!(c.environment, Environment::Development);
        assert_eq!(
            c.development_warnings.len(),
            9,
            "{:?}",
            c.development_warnings
        );
    }

    #[test]
    fn production_starts_on_settings_of_its_own() {
        let c = Config::from_env_map(&production()).unwrap();
        assert_eq!(c.environment, Environment::Production);
        assert!(c.development_warnings.is_empty());
        assert!(matches!(
            c.identity.provider,
            IdentityProviderConfig::PortOne { .. }
        ));
        assert!(matches!(c.payments, PaymentProviderConfig::Toss { .. }));
    }

    #[test]
    fn production_sees_through_re_encoded_secrets_devnet_keys_and_test_keys() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let example = example();
        let published_jwt = example["JWT_KEYS"].split_once('=').unwrap().1;
        let bytes = decode_base64(published_jwt).unwrap();
        let mut env = production();
        env.insert(
            "JWT_KEYS".into(),
            format!("mine={}", URL_SAFE_NO_PAD.encode(&bytes)),
        );
        // anvil's first default account.
        env.insert(
            "ANCHOR_PRIVATE_KEY".into(),
            "0xAC0974BEC39A17E36BA4A6B4D238FF944BACB478CBED5EFCAE784D7BF4F2FF80".into(),
        );
        env.insert(
            "TOSS_SECRET_KEY".into(),
            "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R".into(),
        );
        let text = Config::from_env_map(&env).unwrap_err().to_string();
        for needle in [
            "JWT_KEYS[mine] is a published value",
            "ANCHOR_PRIVATE_KEY is a published value",
            "TOSS_SECRET_KEY is a test key",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }

    #[test]
    fn provider_secrets_have_a_minimum_length() {
        let mut env = production();
        env.insert("PORTONE_API_SECRET".into(), "short".into());
        env.insert("TOSS_SECRET_KEY".into(), "live_sk_x".into());
        let text = Config::from_env_map(&env).unwrap_err().to_string();
        assert!(text.contains("PORTONE_API_SECRET is shorter"), "{text}");
        assert!(text.contains("TOSS_SECRET_KEY is shorter"), "{text}");
    }

    #[test]
    fn rate_limits_parse() {
        assert_eq!(
            "5/1h".parse::<RateLimit>().unwrap(),
            RateLimit {
                max: 5,
                window: Duration::from_secs(3600)
            }
        );
        assert!("0/1h".parse::<RateLimit>().is_err());
        assert!("5".parse::<RateLimit>().is_err());
    }
}
