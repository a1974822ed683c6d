//! The KakaoTalk chatbot (product description §8, `docs/PRODUCT.md`): `POST /v1/kakao/skill` answers Kakao i
//! Open Builder skill requests in the "2.0" response format, in Korean — product search, open
//! raffles, one raffle, and, for a Kakao user linked to an account with a one-time code, their
//! entries and results. The domain owns the link codes and the links; it reads products, raffles
//! and search results through those domains. `docs/KAKAO.md` has the Open Builder set-up and
//! the decisions.

pub mod answers;
pub mod request;
pub mod response;
pub mod routes;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::catalogue::Catalogue;
use crate::config::{KakaoConfig, RateLimit};
use crate::crypto::hmac_sha256;
use crate::http::error::unique_violation;
use crate::raffles::Raffles;
use crate::search::{Search, SearchRequest};
use answers::Links;
use request::{Command, SkillRequest};
use response::SkillResponse;

/// The header Open Builder sends the shared secret in ("헤더값 입력" on the skill).
pub const SECRET_HEADER: &str = "x-skill-secret";
/// Cards in a search answer (a carousel holds ten).
const SEARCH_CARDS: usize = 10;
/// Open raffles listed (five listCards of four in a carousel).
const OPEN_RAFFLES: i64 = 20;
/// Entries in "내 응모" (one listCard).
const MY_ENTRIES: i64 = 5;
/// Longest search text taken from a message.
const MAX_QUERY_CHARS: usize = 100;
/// Link attempts per Kakao user and window.
const LINK_ATTEMPTS: RateLimit = RateLimit {
    max: 10,
    window: Duration::from_secs(600),
};
/// The rate-limit key of the failure budget every Kakao user shares
/// (`KAKAO_LINK_FAILURE_BUDGET`): rotating `userRequest.user.id` gives no new budget.
const LINK_BUDGET_KEY: &str = "kakao-link:all";

#[derive(Clone)]
pub struct Kakao(Arc<KakaoInner>);

pub struct KakaoInner {
    db: PgPool,
    search: Search,
    raffles: Raffles,
    catalogue: Catalogue,
    secret: Option<SecretString>,
    bot_id: Option<String>,
    timeout: Duration,
    code_ttl: Duration,
    failure_budget: RateLimit,
    links: Links,
    /// HMAC key for link codes and rate-limit keys.
    key: Vec<u8>,
}

impl std::ops::Deref for Kakao {
    type Target = KakaoInner;
    fn deref(&self) -> &KakaoInner {
        &self.0
    }
}

/// The key that hashes link codes, derived from a server secret under its own label.
pub fn derive_code_key(server_secret: &[u8]) -> Vec<u8> {
    hmac_sha256(server_secret, &[b"truffle.kakao.link/1"])
}

/// A new link code: what the user types into KakaoTalk, and until when it works.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LinkCode {
    /// Eight digits; send "연결 12345678" to the Truffle KakaoTalk channel. Works once.
    #[schema(example = "04291735")]
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// Whether the caller's account is linked to a KakaoTalk user.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LinkStatus {
    pub linked: bool,
    pub linked_at: Option<DateTime<Utc>>,
}

/// Why a skill request is refused (401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No secret is configured: the skill is off.
    #[error("the skill is not configured")]
    NotConfigured,
    /// The header is missing or wrong.
    #[error("the skill secret header is missing or wrong")]
    BadSecret,
    /// Another bot's request.
    #[error("the request is another bot's")]
    OtherBot,
}

/// What can go wrong in the KakaoTalk domain. The HTTP boundary (`routes.rs`) gives each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A skill request that is not from our bot, or the skill is off.
    #[error("skill request refused: {0}")]
    Refused(#[from] Refusal),
    /// Every link code drawn was another user's live code.
    #[error("no link code is free")]
    NoFreeCode,
    /// A search for an answer failed.
    #[error(transparent)]
    Search(#[from] crate::search::Error),
    /// Reading raffles or entries for an answer failed.
    #[error(transparent)]
    Raffles(#[from] crate::raffles::Error),
    /// Reading products for an answer failed.
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::Error),
    /// The "linked" notification could not be added.
    #[error(transparent)]
    Notify(#[from] crate::notify::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Kakao {
    pub fn new(
        db: PgPool,
        search: Search,
        raffles: Raffles,
        catalogue: Catalogue,
        config: KakaoConfig,
        key: Vec<u8>,
    ) -> Kakao {
        Kakao(Arc::new(KakaoInner {
            db,
            search,
            raffles,
            catalogue,
            secret: config.skill_secret,
            bot_id: config.bot_id,
            timeout: config.skill_timeout,
            code_ttl: config.link_code_ttl,
            failure_budget: config.link_failure_budget,
            links: Links {
                web_base_url: config.web_base_url,
                card_image_url: config.card_image_url,
            },
            key,
        }))
    }

    /// Checks the secret header, in constant time.
    pub fn check_secret(&self, header: Option<&[u8]>) -> Result<(), Error> {
        let secret = self.secret.as_ref().ok_or(Refusal::NotConfigured)?;
        let given = header.ok_or(Refusal::BadSecret)?;
        // Comparing MACs keeps the time independent of the secret's length too.
        let want = hmac_sha256(&self.key, &[secret.expose_secret().as_bytes()]);
        let got = hmac_sha256(&self.key, &[given]);
        if bool::from(want.ct_eq(&got)) {
            Ok(())
        } else {
            Err(Refusal::BadSecret.into())
        }
    }

    /// Refuses another bot's request. A payload without a readable `bot.id` is not refused here:
    /// it gets the fallback answer and nothing else ([`Kakao::answer`]).
    pub fn check_bot(&self, req: &SkillRequest) -> Result<(), Error> {
        match (&req.bot_id, &self.bot_id) {
            (Some(given), Some(ours)) if given != ours => Err(Refusal::OtherBot.into()),
            (Some(_), None) => Err(Refusal::NotConfigured.into()),
            _ => Ok(()),
        }
    }

    /// The answer to a checked request, always: failures and slowness get the polite fallback.
    pub async fn answer(&self, req: SkillRequest) -> SkillResponse {
        if req.bot_id.is_none() {
            return answers::fallback();
        }
        let command = req.command();
        let name = command.name();
        match tokio::time::timeout(self.timeout, self.run(&req, command)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                tracing::warn!(error = ?e, command = name, "kakao skill failed; sent the fallback");
                answers::fallback()
            }
            Err(_) => {
                tracing::warn!(command = name, timeout = ?self.timeout, "kakao skill ran out of time; sent the fallback");
                answers::fallback()
            }
        }
    }

    async fn run(&self, req: &SkillRequest, command: Command) -> Result<SkillResponse, Error> {
        match command {
            Command::Help => Ok(answers::help()),
            Command::Search(None) => Ok(answers::ask_search()),
            Command::Search(Some(text)) => self.search_answer(&text).await,
            Command::OpenRaffles => self.open_raffles_answer().await,
            Command::Raffle(None) => self.open_raffles_answer().await,
            Command::Raffle(Some(id)) => self.raffle_answer(id).await,
            Command::MyEntries => match &req.user_key {
                Some(key) => self.my_entries_answer(key).await,
                None => Ok(answers::fallback()),
            },
            Command::Link(None) => Ok(answers::ask_code()),
            Command::Link(Some(code)) => match &req.user_key {
                Some(key) => self.link(key, &code).await,
                None => Ok(answers::fallback()),
            },
            Command::Unlink => match &req.user_key {
                Some(key) => Ok(answers::unlinked(
                    store::unlink_kakao_user(&self.db, key).await?,
                )),
                None => Ok(answers::fallback()),
            },
        }
    }

    async fn search_answer(&self, text: &str) -> Result<SkillResponse, Error> {
        use unicode_normalization::UnicodeNormalization;
        let text: String = text.nfc().take(MAX_QUERY_CHARS).collect();
        let text = text.trim().to_owned();
        let results = self
            .search
            .search(SearchRequest {
                text: Some(text.clone()),
                limit: SEARCH_CARDS,
                ..SearchRequest::default()
            })
            .await?;
        let hits = self.search.hits(&results, true).await?;
        let hits: Vec<_> = hits.into_iter().map(|h| (h.product, h.raffle)).collect();
        Ok(answers::search_results(
            &self.links,
            &text,
            results.total,
            &hits,
        ))
    }

    async fn open_raffles_answer(&self) -> Result<SkillResponse, Error> {
        let raffles = self.raffles.open_closing_soonest(OPEN_RAFFLES).await?;
        let ids: Vec<Uuid> = raffles.iter().map(|r| r.product_id).collect();
        let products = self.catalogue.products(&ids).await?;
        Ok(answers::open_raffles(&self.links, &raffles, &products))
    }

    async fn raffle_answer(&self, id: Uuid) -> Result<SkillResponse, Error> {
        let raffle = match self.raffles.raffle(id).await {
            Ok(r) => r,
            Err(crate::raffles::Error::NotFound) => return Ok(answers::raffle_not_found()),
            Err(e) => return Err(e.into()),
        };
        let product = self.catalogue.products(&[raffle.product_id]).await?;
        Ok(answers::raffle(&self.links, &raffle, product.first()))
    }

    async fn my_entries_answer(&self, bot_user_key: &str) -> Result<SkillResponse, Error> {
        let Some(user) = store::linked_user(&self.db, bot_user_key).await? else {
            return Ok(answers::link_first());
        };
        let (entries, _) = self.raffles.my_entries(user, None, MY_ENTRIES).await?;
        let raffles =
            futures::future::try_join_all(entries.iter().map(|e| self.raffles.raffle(e.raffle_id)))
                .await?;
        let ids: Vec<Uuid> = raffles.iter().map(|r| r.product_id).collect();
        let products = self.catalogue.products(&ids).await?;
        let rows: Vec<_> = entries
            .into_iter()
            .zip(raffles.into_iter().map(Some))
            .collect();
        Ok(answers::my_entries(&self.links, &rows, &products))
    }

    /// Links the Kakao user with a code from `POST /v1/me/kakao-link`. A code that matches is
    /// used up, whatever comes of it; a link never replaces another silently: a Kakao user
    /// linked to another account must unlink first, and an account linked to another Kakao
    /// user is relinked only if its owner asked for the code with `replace`.
    async fn link(&self, bot_user_key: &str, code: &str) -> Result<SkillResponse, Error> {
        let limit_key = format!(
            "kakao-link:{}",
            hex::encode(&hmac_sha256(&self.key, &[bot_user_key.as_bytes()])[..16])
        );
        if crate::ratelimit::hit(&self.db, &limit_key, LINK_ATTEMPTS)
            .await?
            .is_err()
        {
            return Ok(answers::too_many_attempts());
        }
        // Every attempt is counted against the shared budget before the code is looked up (so
        // that parallel guesses cannot slip past it); a code that matches gives its back.
        if crate::ratelimit::hit(&self.db, LINK_BUDGET_KEY, self.failure_budget)
            .await?
            .is_err()
        {
            tracing::warn!("kakao link failure budget spent: linking paused for everyone");
            return Ok(answers::linking_paused());
        }
        let hash = self.code_hash(code);
        let mut tx = self.db.begin().await?;
        let Some(taken) = store::take_code(&mut *tx, &hash).await? else {
            return Ok(answers::code_refused());
        };
        crate::ratelimit::refund(&mut *tx, LINK_BUDGET_KEY).await?;
        let user = taken.user_id;
        let answer = match store::linked_user(&mut *tx, bot_user_key).await? {
            Some(linked) if linked == user => answers::already_linked(),
            Some(_) => answers::kakao_linked_elsewhere(),
            None => {
                let current = store::lock_link_of_user(&mut *tx, user).await?;
                if current.is_some() && !taken.replace_link {
                    answers::account_linked_elsewhere()
                } else {
                    store::link(&mut tx, bot_user_key, user).await?;
                    crate::notify::push(
                        &mut *tx,
                        user,
                        "kakao_linked",
                        "카카오톡이 연결되었어요",
                        "트러플 계정에 카카오톡이 연결되었어요. 직접 연결하지 않았다면 마이페이지 > 카카오톡 연결에서 연결을 해제해 주세요.",
                        serde_json::json!({"replaced": current.is_some()}),
                    )
                    .await?;
                    tracing::info!(%user, replaced = current.is_some(), "kakao user linked");
                    answers::linked()
                }
            }
        };
        tx.commit().await?;
        Ok(answer)
    }

    fn code_hash(&self, code: &str) -> Vec<u8> {
        hmac_sha256(&self.key, &[code.as_bytes()])
    }

    /// A new one-time link code for the user, replacing any older one. `replace`: the owner
    /// agrees that the code replaces the account's existing link, if it has one.
    pub async fn issue_code(&self, user: Uuid, replace: bool) -> Result<LinkCode, Error> {
        store::delete_expired_codes(&self.db).await?;
        let ttl_ms = i64::try_from(self.code_ttl.as_millis()).unwrap_or(i64::MAX);
        // Another user's live code may be the same digits: draw again.
        for _ in 0..8 {
            let n: u32 = rand::rng().random_range(0..10u32.pow(request::LINK_CODE_DIGITS as u32));
            let code = format!("{n:0width$}", width = request::LINK_CODE_DIGITS);
            match store::put_code(&self.db, user, &self.code_hash(&code), ttl_ms, replace).await {
                Ok(expires_at) => return Ok(LinkCode { code, expires_at }),
                Err(e) if unique_violation(&e).is_some() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::NoFreeCode)
    }

    pub async fn status(&self, user: Uuid) -> Result<LinkStatus, Error> {
        let linked_at = store::link_of_user(&self.db, user).await?;
        Ok(LinkStatus {
            linked: linked_at.is_some(),
            linked_at,
        })
    }

    /// Unlinks the user's Kakao account and drops their code; whether one was linked.
    pub async fn unlink(&self, user: Uuid) -> Result<bool, Error> {
        let mut conn = self.db.acquire().await?;
        Ok(store::forget(&mut conn, user).await?)
    }
}

/// Deletes the account's Kakao link and link code, inside the account deletion's transaction:
/// the Kakao user then reads the "link first" answer.
pub async fn forget(tx: &mut sqlx::PgConnection, user: Uuid) -> Result<(), Error> {
    store::forget(tx, user).await?;
    Ok(())
}
