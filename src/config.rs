//! Typed configuration, read from an environment map and validated at start-up.
//!
//! Every mistake is reported at once, one line each, so an operator fixes them in one pass.
//! Secrets are wrapped in [`SecretString`]/[`SecretBox`] and never printed.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
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

/// Reads variables out of the map, remembering every mistake.
struct Reader<'a> {
    env: &'a HashMap<String, String>,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn raw(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    fn required(&mut self, name: &str, what: &str) -> Option<String> {
        match self.raw(name) {
            Some(v) => Some(v.to_owned()),
            None => {
                self.errors.push(format!("{name} is not set ({what})"));
                None
            }
        }
    }

    fn parse<T: FromStr>(&mut self, name: &str, default: &str, what: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        let raw = self.raw(name).unwrap_or(default).to_owned();
        match raw.parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors
                    .push(format!("{name}={raw:?} is not {what}: {e}"));
                None
            }
        }
    }

    fn duration(&mut self, name: &str, default: &str) -> Option<Duration> {
        let raw = self.raw(name).unwrap_or(default).to_owned();
        match humantime::parse_duration(&raw) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                self.errors.push(format!("{name} must be above zero"));
                None
            }
            Err(e) => {
                self.errors.push(format!(
                    "{name}={raw:?} is not a duration such as 15m or 30d: {e}"
                ));
                None
            }
        }
    }

    /// A secret given as base64 (standard or URL-safe), at least `min_len` bytes once decoded.
    fn secret_bytes(&mut self, name: &str, value: &str, min_len: usize) -> Option<Vec<u8>> {
        match decode_base64(value) {
            Some(bytes) if bytes.len() >= min_len => Some(bytes),
            Some(bytes) => {
                self.errors.push(format!(
                    "{name} decodes to {} bytes; at least {min_len} are needed (try `openssl rand -base64 32`)",
                    bytes.len()
                ));
                None
            }
            None => {
                self.errors.push(format!("{name} is not valid base64"));
                None
            }
        }
    }
}

fn decode_base64(value: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    STANDARD
        .decode(value)
        .ok()
        .or_else(|| URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok())
}

/// Shortest API secret accepted from a payment or identity provider's console.
const MIN_PROVIDER_SECRET: usize = 16;

/// The example configuration, whose secrets anyone who reads the repository knows.
const EXAMPLE_ENV: &str = include_str!("../.env.example");

/// anvil's (and Hardhat's) default accounts: their private keys are printed by every devnet.
const DEVNET_KEYS: [&str; 10] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// The secrets production checks against the published values.
const SECRETS: [&str; 6] = [
    "PERSON_KEY_SECRET",
    "CUSTODY_MASTER_KEY",
    "ANCHOR_PRIVATE_KEY",
    "KAKAO_SKILL_SECRET",
    "PORTONE_API_SECRET",
    "TOSS_SECRET_KEY",
];

/// The ways one secret may be written (as is, base64, hex), as bytes, so that a published key
/// re-encoded is still recognised. Short forms are left out: they are refused as too short anyway.
fn secret_forms(value: &str) -> Vec<Vec<u8>> {
    let value = value.trim();
    let mut forms = vec![value.as_bytes().to_vec()];
    forms.extend(decode_base64(value));
    forms.extend(hex::decode(value.trim_start_matches("0x").to_ascii_lowercase()).ok());
    forms.retain(|f| f.len() >= MIN_PROVIDER_SECRET);
    forms
}

/// Every value printed in `.env.example` (commented-out ones too, and each secret of a
/// `KID=SECRET` list), and the devnet's well-known keys, in all their forms.
fn published_secrets() -> std::collections::HashSet<Vec<u8>> {
    let mut values: Vec<&str> = DEVNET_KEYS.to_vec();
    for line in EXAMPLE_ENV.lines() {
        let line = line.trim_start_matches('#').trim();
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            continue;
        }
        values.push(value);
        for item in value.split(',') {
            if let Some((_, secret)) = item.split_once('=') {
                values.push(secret);
            }
        }
    }
    values.into_iter().flat_map(secret_forms).collect()
}

/// What would make a start unsafe for real people: each a sentence naming its variable. In
/// production every one is an error; in development each is logged as a warning.
pub fn production_problems(env: &HashMap<String, String>) -> Vec<String> {
    let raw = |name: &str| env.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
    let mut problems = Vec::new();
    if raw("IDENTITY_PROVIDER") == Some("dev") {
        problems.push(
            "IDENTITY_PROVIDER=dev verifies nobody (codes go to the log): use `portone`".to_owned(),
        );
    }
    match raw("PAYMENT_PROVIDER") {
        Some("dev") => problems.push(
            "PAYMENT_PROVIDER=dev confirms payments that move no money: use `toss`".to_owned(),
        ),
        Some("toss") if raw("TOSS_SECRET_KEY").is_some_and(|k| k.starts_with("test_")) => problems
            .push(
            "TOSS_SECRET_KEY is a test key (test_…): test payments move no money; use a live key"
                .to_owned(),
        ),
        _ => {}
    }
    if raw("CHAIN_RPC_URL").is_none() {
        problems.push(
            "CHAIN_RPC_URL is not set: nothing would be anchored and no raffle drawn".to_owned(),
        );
    }
    if raw("CHAIN_ID").unwrap_or("31337") == "31337" {
        problems.push("CHAIN_ID is 31337, the local anvil devnet".to_owned());
    }
    let published = published_secrets();
    let is_published = |value: &str| secret_forms(value).iter().any(|f| published.contains(f));
    for name in SECRETS {
        if raw(name).is_some_and(is_published) {
            problems.push(format!(
                "{name} is a published value (from .env.example or a devnet): make your own"
            ));
        }
    }
    if let Some(list) = raw("JWT_KEYS") {
        for item in list.split(',') {
            if let Some((kid, secret)) = item.split_once('=')
                && is_published(secret)
            {
                problems.push(format!(
                    "JWT_KEYS[{}] is a published value (from .env.example): make your own",
                    kid.trim()
                ));
            }
        }
    }
    problems
}

/// The KakaoTalk skill's settings; a secret without a bot id (or the reverse) is a mistake.
fn kakao_config(r: &mut Reader<'_>) -> Option<KakaoConfig> {
    let skill_secret = r.raw("KAKAO_SKILL_SECRET").map(str::to_owned);
    let bot_id = r.raw("KAKAO_BOT_ID").map(str::to_owned);
    if skill_secret.as_ref().is_some_and(|s| s.len() < 16) {
        r.errors.push(
            "KAKAO_SKILL_SECRET must be at least 16 characters (try `openssl rand -hex 24`)".into(),
        );
    }
    match (&skill_secret, &bot_id) {
        (Some(_), None) => r.errors.push(
            "KAKAO_BOT_ID is not set (the Open Builder bot id; needed with KAKAO_SKILL_SECRET)"
                .into(),
        ),
        (None, Some(_)) => r
            .errors
            .push("KAKAO_SKILL_SECRET is not set (needed with KAKAO_BOT_ID)".into()),
        _ => {}
    }
    let skill_timeout = r.duration("KAKAO_SKILL_TIMEOUT", "3s");
    if skill_timeout.is_some_and(|t| t > Duration::from_millis(4500)) {
        r.errors
            .push("KAKAO_SKILL_TIMEOUT must be at most 4.5s: Kakao gives up after 5s".into());
    }
    let link_code_ttl = r.duration("KAKAO_LINK_CODE_TTL", "10m");
    let link_failure_budget =
        r.parse::<RateLimit>("KAKAO_LINK_FAILURE_BUDGET", "100/1h", "a limit");
    let web_base_url = r
        .raw("KAKAO_WEB_BASE_URL")
        .unwrap_or("https://truffle.kr")
        .trim_end_matches('/')
        .to_owned();
    if !web_base_url.starts_with("https://") {
        r.errors.push(format!(
            "KAKAO_WEB_BASE_URL={web_base_url:?} must be an https URL"
        ));
    }
    let card_image_url = r
        .raw("KAKAO_CARD_IMAGE_URL")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{web_base_url}/images/kakao-card.png"));
    if !card_image_url.starts_with("https://") {
        r.errors.push(format!(
            "KAKAO_CARD_IMAGE_URL={card_image_url:?} must be an https URL"
        ));
    }
    Some(KakaoConfig {
        skill_secret: skill_secret.map(SecretString::from),
        bot_id,
        skill_timeout: skill_timeout?,
        link_code_ttl: link_code_ttl?,
        link_failure_budget: link_failure_budget?,
        web_base_url,
        card_image_url,
    })
}

/// The account guards: `LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS`, `SIGNUP_LIMIT_PER_IP`,
/// `PASSWORD_RESET_LIMIT_PER_IP`, `VERIFICATION_USE_LIMIT` and `SESSION_MAX_LIFETIME`.
fn auth_guards(r: &mut Reader<'_>) -> Option<AuthGuards> {
    let pair = r.parse::<RateLimit>("LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS", "10/15m", "a limit");
    let signup = r.parse::<RateLimit>("SIGNUP_LIMIT_PER_IP", "30/1h", "a limit");
    let reset = r.parse::<RateLimit>("PASSWORD_RESET_LIMIT_PER_IP", "30/1h", "a limit");
    let uses = r.parse::<RateLimit>("VERIFICATION_USE_LIMIT", "5/30m", "a limit");
    let lifetime = r.duration("SESSION_MAX_LIFETIME", "90d");
    Some(AuthGuards {
        login_limit_per_account_address: pair?,
        signup_limit_per_ip: signup?,
        password_reset_limit_per_ip: reset?,
        verification_use_limit: uses?,
        session_max_lifetime: lifetime?,
    })
}

/// The CPU pool: `CPU_THREADS` (default one per core) and `CPU_QUEUE_DEPTH` (default four per
/// thread).
fn cpu_config(r: &mut Reader<'_>) -> Option<CpuConfig> {
    let cores = crate::cpu::default_threads().to_string();
    let threads: usize = r.parse("CPU_THREADS", &cores, "a number of threads")?;
    if !(1..=1024).contains(&threads) {
        r.errors
            .push("CPU_THREADS must be between 1 and 1024".into());
        return None;
    }
    let depth = crate::cpu::default_queue_depth(threads).to_string();
    let queue_depth: usize = r.parse("CPU_QUEUE_DEPTH", &depth, "a number of jobs")?;
    if queue_depth > 100_000 {
        r.errors
            .push("CPU_QUEUE_DEPTH must be at most 100000".into());
        return None;
    }
    Some(CpuConfig {
        threads,
        queue_depth,
    })
}

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

        let environment = match r.raw("TRUFFLE_ENV") {
            Some("development") => Some(Environment::Development),
            Some("production") => Some(Environment::Production),
            Some(other) => {
                r.errors.push(format!(
                    "TRUFFLE_ENV={other:?} must be `development` or `production`"
                ));
                None
            }
            None => {
                r.errors.push(
                    "TRUFFLE_ENV is not set (`production` for real people, `development` for local runs and tests)"
                        .into(),
                );
                None
            }
        };
        let database_url = r.required(
            "DATABASE_URL",
            "the PostgreSQL URL, e.g. postgres:///truffle?user=root",
        );
        let db_max_connections = r.parse::<u32>("DB_MAX_CONNECTIONS", "20", "a whole number");
        let listen_addr = r.parse::<SocketAddr>("LISTEN_ADDR", "127.0.0.1:8080", "an ip:port");
        let log_format = match r.raw("LOG_FORMAT").unwrap_or("text") {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            other => {
                r.errors
                    .push(format!("LOG_FORMAT={other:?} must be `text` or `json`"));
                None
            }
        };
        let cors_allowed_origins: Vec<String> = r
            .raw("CORS_ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for origin in &cors_allowed_origins {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                r.errors.push(format!(
                    "CORS_ALLOWED_ORIGINS entry {origin:?} must start with http:// or https://"
                ));
            }
        }
        let body_limit_bytes = r.parse::<usize>("BODY_LIMIT_BYTES", "1048576", "a number of bytes");
        let request_timeout = r.duration("REQUEST_TIMEOUT", "30s");
        let mut trusted_proxies = Vec::new();
        if let Some(list) = r.raw("TRUSTED_PROXIES").map(str::to_owned) {
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let parsed = item
                    .parse::<IpNet>()
                    .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from));
                match parsed {
                    Ok(net) => trusted_proxies.push(net),
                    Err(_) => r.errors.push(format!(
                        "TRUSTED_PROXIES entry {item:?} is not an IP address or CIDR range"
                    )),
                }
            }
        }

        // Access-token keys: `kid=base64secret,kid2=base64secret`.
        let mut jwt_keys = Vec::new();
        if let Some(list) = r.required(
            "JWT_KEYS",
            "comma-separated KID=BASE64SECRET pairs that sign access tokens",
        ) {
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let Some((kid, secret)) = item.split_once('=') else {
                    r.errors
                        .push("JWT_KEYS entries must look like KID=BASE64SECRET".into());
                    continue;
                };
                // base64 padding also uses '=', so split at the first one only.
                let kid = kid.trim();
                if kid.is_empty()
                    || !kid
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    r.errors.push(format!(
                        "JWT_KEYS key id {kid:?} must be letters, digits, - or _"
                    ));
                    continue;
                }
                if let Some(bytes) = r.secret_bytes(&format!("JWT_KEYS[{kid}]"), secret, 32) {
                    jwt_keys.push(JwtKey {
                        kid: kid.to_owned(),
                        secret: SecretBox::new(Box::new(bytes)),
                    });
                }
            }
        }
        let active_kid = r
            .raw("JWT_ACTIVE_KEY")
            .map(str::to_owned)
            .or_else(|| jwt_keys.first().map(|k| k.kid.clone()));
        if let Some(kid) = &active_kid
            && !jwt_keys.is_empty()
            && !jwt_keys.iter().any(|k| &k.kid == kid)
        {
            r.errors
                .push(format!("JWT_ACTIVE_KEY={kid:?} is not one of the JWT_KEYS"));
        }
        let issuer = r.raw("JWT_ISSUER").unwrap_or("truffle").to_owned();
        let access_ttl = r.duration("ACCESS_TOKEN_TTL", "15m");
        let refresh_ttl = r.duration("REFRESH_TOKEN_TTL", "30d");
        let login_limit_per_account =
            r.parse::<RateLimit>("LOGIN_LIMIT_PER_ACCOUNT", "30/1h", "a limit");
        let login_limit_per_ip = r.parse::<RateLimit>("LOGIN_LIMIT_PER_IP", "100/15m", "a limit");

        let provider = match r
            .required("IDENTITY_PROVIDER", "`portone`, or `dev` for local runs")
            .as_deref()
        {
            None => None,
            Some("dev") => Some(IdentityProviderConfig::Dev),
            Some("portone") => {
                let api_base = r
                    .raw("PORTONE_API_BASE")
                    .unwrap_or("https://api.portone.io")
                    .trim_end_matches('/')
                    .to_owned();
                let api_secret = r.required("PORTONE_API_SECRET", "the PortOne V2 API secret");
                if api_secret
                    .as_ref()
                    .is_some_and(|s| s.len() < MIN_PROVIDER_SECRET)
                {
                    r.errors.push(format!(
                        "PORTONE_API_SECRET is shorter than {MIN_PROVIDER_SECRET} characters"
                    ));
                }
                let channel_key = r.required(
                    "PORTONE_CHANNEL_KEY",
                    "the PortOne channel key of the identity-verification channel",
                );
                let store_id = r.raw("PORTONE_STORE_ID").map(str::to_owned);
                match (api_secret, channel_key) {
                    (Some(api_secret), Some(channel_key)) => {
                        Some(IdentityProviderConfig::PortOne {
                            api_base,
                            api_secret: SecretString::from(api_secret),
                            store_id,
                            channel_key,
                        })
                    }
                    _ => None,
                }
            }
            Some(other) => {
                r.errors.push(format!(
                    "IDENTITY_PROVIDER={other:?} must be `portone` or `dev`"
                ));
                None
            }
        };
        let code_ttl = r.duration("IDENTITY_CODE_TTL", "3m");
        let max_attempts = r.parse::<u32>("IDENTITY_MAX_ATTEMPTS", "5", "a whole number");
        let use_window = r.duration("IDENTITY_USE_WINDOW", "30m");
        let send_limit_per_phone =
            r.parse::<RateLimit>("IDENTITY_SEND_LIMIT_PER_PHONE", "5/1h", "a limit");
        let send_limit_per_ip =
            r.parse::<RateLimit>("IDENTITY_SEND_LIMIT_PER_IP", "30/1h", "a limit");
        let person_key_secret = r
            .required(
                "PERSON_KEY_SECRET",
                "base64 key (32+ bytes) that hashes each person's CI or phone",
            )
            .and_then(|v| r.secret_bytes("PERSON_KEY_SECRET", &v, 32));
        let rejoin_cooldown = r.duration("REJOIN_COOLDOWN", "30d");

        let chain_id = r.parse::<u64>("CHAIN_ID", "31337", "a chain id");
        let rpc = match r.raw("CHAIN_RPC_URL").map(str::to_owned) {
            None => None,
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    r.errors
                        .push(format!("CHAIN_RPC_URL={url:?} must be an http(s) URL"));
                }
                let registry = r
                    .required(
                        "CHAIN_REGISTRY_ADDRESS",
                        "the TruffleRegistry contract address",
                    )
                    .and_then(|a| match a.parse::<alloy::primitives::Address>() {
                        Ok(a) => Some(a),
                        Err(_) => {
                            r.errors
                                .push(format!("CHAIN_REGISTRY_ADDRESS={a:?} is not an address"));
                            None
                        }
                    });
                let anchor_key = r
                    .required(
                        "ANCHOR_PRIVATE_KEY",
                        "the 0x-hex private key allowed to anchor",
                    )
                    .and_then(|k| {
                        if k.parse::<alloy::signers::local::PrivateKeySigner>().is_ok() {
                            Some(SecretString::from(k))
                        } else {
                            r.errors.push(
                                "ANCHOR_PRIVATE_KEY is not a secp256k1 private key in hex".into(),
                            );
                            None
                        }
                    });
                let confirmations = r.parse::<u64>("CHAIN_CONFIRMATIONS", "2", "a whole number");
                let batch_interval = r.duration("ANCHOR_BATCH_INTERVAL", "5s");
                let batch_max = r.parse::<usize>("ANCHOR_BATCH_MAX", "256", "a whole number");
                match (
                    registry,
                    anchor_key,
                    confirmations,
                    batch_interval,
                    batch_max,
                ) {
                    (
                        Some(registry),
                        Some(anchor_key),
                        Some(confirmations),
                        Some(batch_interval),
                        Some(batch_max),
                    ) => {
                        if confirmations == 0 || batch_max == 0 {
                            r.errors.push(
                                "CHAIN_CONFIRMATIONS and ANCHOR_BATCH_MAX must be at least 1"
                                    .into(),
                            );
                        }
                        Some(ChainRpc {
                            url,
                            registry,
                            anchor_key,
                            confirmations,
                            batch_interval,
                            batch_max,
                        })
                    }
                    _ => None,
                }
            }
        };
        let custody_master_key = r
            .required(
                "CUSTODY_MASTER_KEY",
                "base64 key (32 bytes) that encrypts the sellers' custodial signing keys",
            )
            .and_then(|v| r.secret_bytes("CUSTODY_MASTER_KEY", &v, 32))
            .and_then(|k| {
                if k.len() == 32 {
                    Some(k)
                } else {
                    r.errors
                        .push("CUSTODY_MASTER_KEY must decode to exactly 32 bytes".into());
                    None
                }
            });

        let payments = match r
            .required("PAYMENT_PROVIDER", "`toss`, or `dev` for local runs")
            .as_deref()
        {
            None => None,
            Some("dev") => Some(PaymentProviderConfig::Dev),
            Some("toss") => {
                let api_base = r
                    .raw("TOSS_API_BASE")
                    .unwrap_or("https://api.tosspayments.com")
                    .trim_end_matches('/')
                    .to_owned();
                r.required(
                    "TOSS_SECRET_KEY",
                    "the Toss Payments secret key (test_sk_… or live_sk_…)",
                )
                .filter(|k| {
                    let ok = k.len() >= MIN_PROVIDER_SECRET;
                    if !ok {
                        r.errors.push(format!(
                            "TOSS_SECRET_KEY is shorter than {MIN_PROVIDER_SECRET} characters"
                        ));
                    }
                    ok
                })
                .map(|k| PaymentProviderConfig::Toss {
                    api_base,
                    secret_key: SecretString::from(k),
                })
            }
            Some(other) => {
                r.errors.push(format!(
                    "PAYMENT_PROVIDER={other:?} must be `toss` or `dev`"
                ));
                None
            }
        };

        let index_dir =
            std::path::PathBuf::from(r.raw("SEARCH_INDEX_DIR").unwrap_or("search-index"));
        let refresh_interval = r.duration("SEARCH_REFRESH_INTERVAL", "500ms");
        let feed_retention = r.duration("SEARCH_FEED_RETENTION", "7d");

        let reco_rebuild = r.duration("RECO_REBUILD_INTERVAL", "10m");
        let reco_refresh = r.duration("RECO_REFRESH_INTERVAL", "5s");
        let reco_candidates: Option<usize> =
            r.parse("RECO_CANDIDATES", "5000", "a number of products");
        if reco_candidates.is_some_and(|k| !(1..=20_000).contains(&k)) {
            r.errors
                .push("RECO_CANDIDATES must be between 1 and 20000 (4·K² bytes of weights)".into());
        }
        let reco_view_window = r.duration("RECO_VIEW_WINDOW", "90d");
        let click_dedup_window = r.duration("ADS_CLICK_DEDUP_WINDOW", "30m");
        let impression_dedup_window = r.duration("ADS_IMPRESSION_DEDUP_WINDOW", "30m");
        let kakao = kakao_config(&mut r);
        let cpu = cpu_config(&mut r);
        let guards = auth_guards(&mut r);
        let chat_max_chars: Option<usize> =
            r.parse("CHAT_MAX_MESSAGE_CHARS", "2000", "a number of characters");
        let chat_rate: Option<f64> =
            r.parse("CHAT_MESSAGES_PER_SECOND", "5", "a number of messages");
        let chat_burst: Option<u32> = r.parse("CHAT_MESSAGE_BURST", "20", "a number of messages");
        let chat_conns: Option<usize> = r.parse(
            "CHAT_MAX_CONNECTIONS_PER_USER",
            "10",
            "a number of connections",
        );
        let chat_queue: Option<usize> = r.parse("CHAT_SEND_QUEUE", "256", "a number of frames");
        let chat_ping = r.duration("CHAT_PING_INTERVAL", "30s");
        let chat_idle = r.duration("CHAT_IDLE_TIMEOUT", "75s");
        if chat_max_chars.is_some_and(|n| !(1..=10_000).contains(&n)) {
            r.errors
                .push("CHAT_MAX_MESSAGE_CHARS must be between 1 and 10000".into());
        }
        if chat_rate.is_some_and(|n| !(n > 0.0 && n.is_finite())) {
            r.errors
                .push("CHAT_MESSAGES_PER_SECOND must be above zero".into());
        }
        if chat_burst == Some(0) || chat_conns == Some(0) || chat_queue == Some(0) {
            r.errors.push(
                "CHAT_MESSAGE_BURST, CHAT_MAX_CONNECTIONS_PER_USER and CHAT_SEND_QUEUE must be above zero"
                    .into(),
            );
        }
        if let (Some(ping), Some(idle)) = (chat_ping, chat_idle)
            && idle <= ping
        {
            r.errors
                .push("CHAT_IDLE_TIMEOUT must be longer than CHAT_PING_INTERVAL".into());
        }

        // What production refuses, found in the settings as read: errors in production (all at
        // once, with the rest), warnings in development.
        let problems = production_problems(env);
        let mut development_warnings = Vec::new();
        match environment {
            Some(Environment::Production) => r.errors.extend(problems),
            Some(Environment::Development) => development_warnings = problems,
            None => {}
        }

        if !r.errors.is_empty() {
            return Err(ConfigErrors(r.errors));
        }
        // Every Option below is Some: a None always pushed an error above.
        let missing = || ConfigErrors(vec!["internal: a value was lost while reading".into()]);
        Ok(Config {
            environment: environment.ok_or_else(missing)?,
            development_warnings,
            database_url: SecretString::from(database_url.ok_or_else(missing)?),
            db_max_connections: db_max_connections.ok_or_else(missing)?,
            listen_addr: listen_addr.ok_or_else(missing)?,
            log_format: log_format.ok_or_else(missing)?,
            cors_allowed_origins,
            body_limit_bytes: body_limit_bytes.ok_or_else(missing)?,
            request_timeout: request_timeout.ok_or_else(missing)?,
            trusted_proxies,
            auth: AuthConfig {
                jwt_keys,
                active_kid: active_kid.ok_or_else(missing)?,
                issuer,
                access_ttl: access_ttl.ok_or_else(missing)?,
                refresh_ttl: refresh_ttl.ok_or_else(missing)?,
                login_limit_per_account: login_limit_per_account.ok_or_else(missing)?,
                login_limit_per_ip: login_limit_per_ip.ok_or_else(missing)?,
                guards: guards.ok_or_else(missing)?,
            },
            identity: IdentityConfig {
                provider: provider.ok_or_else(missing)?,
                code_ttl: code_ttl.ok_or_else(missing)?,
                max_attempts: max_attempts.ok_or_else(missing)?,
                use_window: use_window.ok_or_else(missing)?,
                send_limit_per_phone: send_limit_per_phone.ok_or_else(missing)?,
                send_limit_per_ip: send_limit_per_ip.ok_or_else(missing)?,
                person_key_secret: SecretBox::new(Box::new(person_key_secret.ok_or_else(missing)?)),
                rejoin_cooldown: rejoin_cooldown.ok_or_else(missing)?,
            },
            chain: ChainConfig {
                chain_id: chain_id.ok_or_else(missing)?,
                rpc,
            },
            payments: payments.ok_or_else(missing)?,
            search: SearchConfig {
                index_dir,
                refresh_interval: refresh_interval.ok_or_else(missing)?,
                feed_retention: feed_retention.ok_or_else(missing)?,
            },
            recommend: RecoConfig {
                rebuild_interval: reco_rebuild.ok_or_else(missing)?,
                refresh_interval: reco_refresh.ok_or_else(missing)?,
                candidates: reco_candidates.ok_or_else(missing)?,
                view_window: reco_view_window.ok_or_else(missing)?,
            },
            ads: AdsConfig {
                click_dedup_window: click_dedup_window.ok_or_else(missing)?,
                impression_dedup_window: impression_dedup_window.ok_or_else(missing)?,
            },
            kakao: kakao.ok_or_else(missing)?,
            chat: ChatConfig {
                max_message_chars: chat_max_chars.ok_or_else(missing)?,
                messages_per_second: chat_rate.ok_or_else(missing)?,
                message_burst: chat_burst.ok_or_else(missing)?,
                max_connections_per_user: chat_conns.ok_or_else(missing)?,
                send_queue: chat_queue.ok_or_else(missing)?,
                ping_interval: chat_ping.ok_or_else(missing)?,
                idle_timeout: chat_idle.ok_or_else(missing)?,
            },
            catalogue: CatalogueConfig {
                custody_master_key: SecretBox::new(Box::new(
                    custody_master_key.ok_or_else(missing)?,
                )),
            },
            cpu: cpu.ok_or_else(missing)?,
        })
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
