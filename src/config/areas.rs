//! Configuration read per area: one function an area, each reading its variables (every
//! mistake pushed to the reader) and returning its settings only when all of them are good.

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::{SecretBox, SecretString};

use super::production::MIN_PROVIDER_SECRET;
use super::read::Reader;
use super::*;

/// `TRUFFLE_ENV`: there is no default.
pub(super) fn environment(r: &mut Reader<'_>) -> Option<Environment> {
    match r.raw("TRUFFLE_ENV") {
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
    }
}

/// The server's own settings: database, address, logs, CORS, body and time limits, proxies.
pub(super) struct Server {
    pub database_url: SecretString,
    pub db_max_connections: u32,
    pub listen_addr: SocketAddr,
    pub log_format: LogFormat,
    pub cors_allowed_origins: Vec<String>,
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
    pub trusted_proxies: Vec<IpNet>,
    pub public_snapshot_ttl: Duration,
}

pub(super) fn server(r: &mut Reader<'_>) -> Option<Server> {
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
    let public_snapshot_ttl =
        r.duration_or_zero("PUBLIC_SNAPSHOT_TTL", "1s", Duration::from_secs(60));
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
    Some(Server {
        database_url: SecretString::from(database_url?),
        db_max_connections: db_max_connections?,
        listen_addr: listen_addr?,
        log_format: log_format?,
        cors_allowed_origins,
        body_limit_bytes: body_limit_bytes?,
        request_timeout: request_timeout?,
        trusted_proxies,
        public_snapshot_ttl: public_snapshot_ttl?,
    })
}

/// Access tokens (`JWT_KEYS`, `JWT_ACTIVE_KEY`, lifetimes) and the login limits; `guards` are
/// read apart ([`auth_guards`]).
pub(super) fn auth(r: &mut Reader<'_>, guards: Option<AuthGuards>) -> Option<AuthConfig> {
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
    Some(AuthConfig {
        jwt_keys,
        active_kid: active_kid?,
        issuer,
        access_ttl: access_ttl?,
        refresh_ttl: refresh_ttl?,
        login_limit_per_account: login_limit_per_account?,
        login_limit_per_ip: login_limit_per_ip?,
        guards: guards?,
    })
}

/// Identity verification: the provider (no default) and the rules of codes and people.
pub(super) fn identity(r: &mut Reader<'_>) -> Option<IdentityConfig> {
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
                (Some(api_secret), Some(channel_key)) => Some(IdentityProviderConfig::PortOne {
                    api_base,
                    api_secret: SecretString::from(api_secret),
                    store_id,
                    channel_key,
                }),
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
    let send_limit_per_ip = r.parse::<RateLimit>("IDENTITY_SEND_LIMIT_PER_IP", "30/1h", "a limit");
    let person_key_secret = r
        .required(
            "PERSON_KEY_SECRET",
            "base64 key (32+ bytes) that hashes each person's CI or phone",
        )
        .and_then(|v| r.secret_bytes("PERSON_KEY_SECRET", &v, 32));
    let rejoin_cooldown = r.duration("REJOIN_COOLDOWN", "30d");
    Some(IdentityConfig {
        provider: provider?,
        code_ttl: code_ttl?,
        max_attempts: max_attempts?,
        use_window: use_window?,
        send_limit_per_phone: send_limit_per_phone?,
        send_limit_per_ip: send_limit_per_ip?,
        person_key_secret: SecretBox::new(Box::new(person_key_secret?)),
        rejoin_cooldown: rejoin_cooldown?,
    })
}

/// The chain: its id, and the RPC with the registry and anchoring key when anchoring runs.
pub(super) fn chain(r: &mut Reader<'_>) -> Option<ChainConfig> {
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
                            "CHAIN_CONFIRMATIONS and ANCHOR_BATCH_MAX must be at least 1".into(),
                        );
                    }
                    let public_url = r
                        .raw("CHAIN_PUBLIC_RPC_URL")
                        .map_or_else(|| url.clone(), str::to_owned);
                    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
                        r.errors.push(format!(
                            "CHAIN_PUBLIC_RPC_URL={public_url:?} must be an http(s) URL"
                        ));
                    }
                    Some(ChainRpc {
                        public_url,
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
    Some(ChainConfig {
        chain_id: chain_id?,
        rpc,
    })
}

/// The catalogue: the master key that seals custodial signing keys.
pub(super) fn catalogue(r: &mut Reader<'_>) -> Option<CatalogueConfig> {
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
    let public_base_url = r
        .raw("PUBLIC_BASE_URL")
        .unwrap_or("http://127.0.0.1:8080")
        .trim_end_matches('/')
        .to_owned();
    if !(public_base_url.starts_with("https://") || public_base_url.starts_with("http://"))
        || public_base_url.contains(['?', '#'])
    {
        r.errors.push(format!(
            "PUBLIC_BASE_URL={public_base_url:?} must be an http(s) URL without query or fragment"
        ));
    }
    let unit_clone_places = r.parse::<u32>("UNIT_CLONE_PLACES", "5", "a whole number");
    let unit_clone_window = r.duration("UNIT_CLONE_WINDOW", "24h");
    if unit_clone_places.is_some_and(|n| n < 2) {
        r.errors
            .push("UNIT_CLONE_PLACES must be at least 2: one place is every genuine scan".into());
    }
    Some(CatalogueConfig {
        custody_master_key: SecretBox::new(Box::new(custody_master_key?)),
        public_base_url,
        unit_clone_places: unit_clone_places?,
        unit_clone_window: unit_clone_window?,
    })
}

/// Payments: the provider (no default).
pub(super) fn payments(r: &mut Reader<'_>) -> Option<PaymentProviderConfig> {
    match r
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
    }
}

/// Search: where the index lives and how it follows the database.
pub(super) fn search(r: &mut Reader<'_>) -> Option<SearchConfig> {
    let index_dir = std::path::PathBuf::from(r.raw("SEARCH_INDEX_DIR").unwrap_or("search-index"));
    let refresh_interval = r.duration("SEARCH_REFRESH_INTERVAL", "500ms");
    let feed_retention = r.duration("SEARCH_FEED_RETENTION", "7d");
    Some(SearchConfig {
        index_dir,
        refresh_interval: refresh_interval?,
        feed_retention: feed_retention?,
    })
}

/// Recommendations: how often the model is retrained and refreshed, its size, the views read.
pub(super) fn recommend(r: &mut Reader<'_>) -> Option<RecoConfig> {
    let reco_rebuild = r.duration("RECO_REBUILD_INTERVAL", "10m");
    let reco_refresh = r.duration("RECO_REFRESH_INTERVAL", "5s");
    let reco_candidates: Option<usize> = r.parse("RECO_CANDIDATES", "5000", "a number of products");
    if reco_candidates.is_some_and(|k| !(1..=20_000).contains(&k)) {
        r.errors
            .push("RECO_CANDIDATES must be between 1 and 20000 (4·K² bytes of weights)".into());
    }
    let reco_view_window = r.duration("RECO_VIEW_WINDOW", "90d");
    Some(RecoConfig {
        rebuild_interval: reco_rebuild?,
        refresh_interval: reco_refresh?,
        candidates: reco_candidates?,
        view_window: reco_view_window?,
    })
}

/// Ads: the windows that de-duplicate clicks and impressions.
pub(super) fn ads(r: &mut Reader<'_>) -> Option<AdsConfig> {
    let click_dedup_window = r.duration("ADS_CLICK_DEDUP_WINDOW", "30m");
    let impression_dedup_window = r.duration("ADS_IMPRESSION_DEDUP_WINDOW", "30m");
    Some(AdsConfig {
        click_dedup_window: click_dedup_window?,
        impression_dedup_window: impression_dedup_window?,
    })
}

/// Chat: message size and rate, connections, queue, keep-alive.
pub(super) fn chat(r: &mut Reader<'_>) -> Option<ChatConfig> {
    let chat_max_chars: Option<usize> =
        r.parse("CHAT_MAX_MESSAGE_CHARS", "2000", "a number of characters");
    let chat_rate: Option<f64> = r.parse("CHAT_MESSAGES_PER_SECOND", "5", "a number of messages");
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
    Some(ChatConfig {
        max_message_chars: chat_max_chars?,
        messages_per_second: chat_rate?,
        message_burst: chat_burst?,
        max_connections_per_user: chat_conns?,
        send_queue: chat_queue?,
        ping_interval: chat_ping?,
        idle_timeout: chat_idle?,
    })
}

/// The KakaoTalk skill's settings; a secret without a bot id (or the reverse) is a mistake.
pub(super) fn kakao(r: &mut Reader<'_>) -> Option<KakaoConfig> {
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
pub(super) fn auth_guards(r: &mut Reader<'_>) -> Option<AuthGuards> {
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
pub(super) fn cpu(r: &mut Reader<'_>) -> Option<CpuConfig> {
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
