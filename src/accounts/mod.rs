//! Accounts: identity verification, sign-up, login and tokens, the profile (MyPage), deletion,
//! and roles (buyer, seller after an admin's approval, admin from the CLI).
//!
//! Other domains use [`CurrentUser`] to know who calls, and the functions here, never the tables.

pub mod auth;
pub mod identity;
pub mod password;
pub mod person;
pub mod profile;
pub mod routes;
pub mod sellers;
pub mod sessions;
pub mod states;
pub mod store;
pub mod tokens;
pub mod types;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use crate::config::{AuthConfig, IdentityConfig};
use crate::cpu::CpuPool;
use crate::http::{ApiError, ErrorCode};
use crate::providers::identity::IdentityVerifier;
pub use store::{Demographic, demographics};
pub use types::{DeliveryAddress, Profile, Role, TokenPair};

/// What can go wrong in the accounts domain. The HTTP boundary (`routes/mod.rs`) gives each its
/// code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of the request is not acceptable.
    #[error(transparent)]
    Invalid(#[from] crate::http::Invalid),
    /// The account is deleted (or being deleted): its sessions are over.
    #[error("the account is not active")]
    NotActive,
    /// The password given to confirm something is not the account's.
    #[error("the password is wrong")]
    WrongPassword,
    /// Too many attempts from this address or with this verification; again after this long.
    #[error("rate limited for {0:?}")]
    RateLimited(std::time::Duration),
    /// Too many failed logins on this account from all addresses together.
    #[error("too many login attempts on this account for {0:?}")]
    AccountLocked(std::time::Duration),
    #[error("the email belongs to another account")]
    EmailTaken,
    #[error("the verified person already has an account")]
    PersonAlreadyRegistered,
    /// The person deleted an account within `REJOIN_COOLDOWN`.
    #[error("the person left too recently to join again")]
    RejoinCooldown,
    /// Wrong email or password (which of the two is not told).
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("unknown refresh token")]
    InvalidRefreshToken,
    /// A refresh token came back a second time: its session is ended.
    #[error("refresh token reused")]
    RefreshTokenReused,
    /// The session is past `SESSION_MAX_LIFETIME`.
    #[error("the session is past its lifetime")]
    SessionExpired,
    #[error("the session has ended")]
    SessionRevoked,
    /// No active account belongs to the verified person.
    #[error("no account for this person")]
    AccountNotFoundForPerson,
    /// The CPU pool's queue is full (argon2 runs on it).
    #[error(transparent)]
    Overloaded(#[from] crate::cpu::Overloaded),
    /// Argon2 could not hash a password.
    #[error("argon2 hash: {0}")]
    Hash(String),
    /// An access token could not be signed.
    #[error("issuing an access token: {0:#}")]
    Token(anyhow::Error),
    #[error(transparent)]
    Identity(#[from] identity::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The accounts domain's state: its database handle, token keys, provider and settings.
#[derive(Clone)]
pub struct Accounts(Arc<AccountsInner>);

pub struct AccountsInner {
    pub db: PgPool,
    pub keys: tokens::TokenKeys,
    pub auth: AuthConfig,
    pub identity: IdentityConfig,
    pub verifier: Arc<dyn IdentityVerifier>,
    /// The app's CPU pool: every argon2 hash and verification runs on it.
    pub cpu: CpuPool,
    /// Live sessions, so that authenticated requests need no query (`sessions.rs`).
    pub sessions: Arc<sessions::SessionCache>,
}

impl std::ops::Deref for Accounts {
    type Target = AccountsInner;
    fn deref(&self) -> &AccountsInner {
        &self.0
    }
}

impl Accounts {
    pub fn new(
        db: PgPool,
        auth: AuthConfig,
        identity: IdentityConfig,
        verifier: Arc<dyn IdentityVerifier>,
        cpu: CpuPool,
    ) -> Self {
        let keys = tokens::TokenKeys::new(&auth);
        Accounts(Arc::new(AccountsInner {
            db,
            keys,
            auth,
            identity,
            verifier,
            cpu,
            sessions: Default::default(),
        }))
    }

    fn person_secret(&self) -> &[u8] {
        use secrecy::ExposeSecret;
        self.identity.person_key_secret.expose_secret()
    }

    /// Opens a session for `user_id` and returns its first token pair.
    pub async fn open_session(
        &self,
        conn: &mut PgConnection,
        user_id: Uuid,
    ) -> Result<TokenPair, Error> {
        let session_id = Uuid::now_v7();
        let ends = store::insert_session(
            &mut *conn,
            session_id,
            user_id,
            self.keys.refresh_ttl,
            self.auth.guards.session_max_lifetime,
        )
        .await?;
        self.token_pair(conn, user_id, session_id, ends).await
    }

    /// Issues an access token and a fresh refresh token for an existing session that ends at
    /// `session_ends` unless refreshed.
    pub(crate) async fn token_pair(
        &self,
        db: impl PgExecutor<'_>,
        user_id: Uuid,
        session_id: Uuid,
        session_ends: chrono::DateTime<chrono::Utc>,
    ) -> Result<TokenPair, Error> {
        let refresh = tokens::new_refresh_token();
        store::insert_refresh_token(db, &tokens::refresh_token_hash(&refresh), session_id).await?;
        Ok(TokenPair {
            access_token: self
                .keys
                .issue_access(user_id, session_id)
                .map_err(Error::Token)?,
            token_type: "Bearer".into(),
            expires_in: self.keys.access_ttl.as_secs(),
            refresh_token: refresh,
            refresh_expires_in: (session_ends - chrono::Utc::now()).num_seconds().max(0) as u64,
        })
    }
}

/// The caller, from a valid access token whose session is still live.
///
/// Checking the session on every request is what makes logout and revocation take effect at once.
#[derive(Debug, Clone, Copy)]
pub struct CurrentUser {
    pub id: Uuid,
    pub session_id: Uuid,
    pub role: Role,
    /// Signed up with an identity verification (admins made by the CLI are not).
    pub identity_verified: bool,
}

impl CurrentUser {
    /// Sellers only (`403 seller_required`).
    pub fn require_seller(&self) -> Result<(), ApiError> {
        if self.role == Role::Seller {
            Ok(())
        } else {
            Err(ErrorCode::SellerRequired.into())
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::with_message(
                ErrorCode::Forbidden,
                "Only an admin may do this.",
            ))
        }
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    Accounts: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let accounts = Accounts::from_ref(state);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(ErrorCode::AuthenticationRequired)?;
        accounts.authenticate(bearer_token(header)?).await
    }
}

/// The token of an `Authorization: Bearer <token>` header (`invalid_token` for another scheme).
pub fn bearer_token(header: &axum::http::HeaderValue) -> Result<&str, ApiError> {
    header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| ErrorCode::InvalidToken.into())
}

impl Accounts {
    /// The caller behind an access token whose session is still live (what [`CurrentUser`]
    /// checks; the chat socket also takes the token from elsewhere than the header).
    pub async fn authenticate(&self, token: &str) -> Result<CurrentUser, ApiError> {
        let claims = self.keys.check_access(token).map_err(|e| match e {
            tokens::TokenError::Expired => ErrorCode::TokenExpired,
            tokens::TokenError::Invalid => ErrorCode::InvalidToken,
        })?;
        let principal = self
            .principal(claims.sid, claims.sub)
            .await?
            .ok_or(ErrorCode::SessionRevoked)?;
        if principal.past_lifetime {
            return Err(ErrorCode::SessionExpired.into());
        }
        Ok(CurrentUser {
            id: claims.sub,
            session_id: claims.sid,
            role: principal.role,
            identity_verified: principal.identity_verified,
        })
    }

    /// Whether the user's session is still live (long-lived sockets check it now and then).
    pub async fn session_is_live(&self, user: &CurrentUser) -> Result<bool, Error> {
        Ok(self
            .principal(user.session_id, user.id)
            .await?
            .is_some_and(|p| !p.past_lifetime))
    }

    /// A live session's principal: from the cache while its listener hears every change, else
    /// from the database (and then cached).
    async fn principal(
        &self,
        session_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<store::Principal>, sqlx::Error> {
        use sessions::Hit;
        self.sessions.ensure_listening(&self.db);
        match self.sessions.get(session_id, user_id) {
            Some(Hit::Live(p)) => return Ok(Some(p)),
            Some(Hit::Expired) => return Ok(None),
            // Asked again: the database says whether it is past its lifetime or was refreshed.
            Some(Hit::PastLifetime) | None => {}
        }
        let generation = self.sessions.generation();
        let max = self.auth.guards.session_max_lifetime;
        let found = store::session_principal(&self.db, session_id, user_id, max).await?;
        if let Some(p) = &found {
            self.sessions
                .put(generation, session_id, user_id, p.clone());
        }
        Ok(found)
    }
}

/// The caller if they sent a token (pages anyone may open, which do more for a signed-in
/// caller). No `Authorization` header is no user; a bad or expired token is still refused, so a
/// client never mistakes itself for signed in.
impl<S> axum::extract::OptionalFromRequestParts<S> for CurrentUser
where
    Accounts: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, ApiError> {
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Ok(None);
        }
        <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

/// Creates an account without an identity verification: the CLI's admins and the demo data.
pub async fn create_unverified_user(
    db: &PgPool,
    email: &str,
    password: &str,
    role: Role,
) -> anyhow::Result<Uuid> {
    let email = person::normalize_email(email)
        .ok_or_else(|| anyhow::anyhow!("{email:?} is not a valid email address"))?;
    password::check_policy(password, Some(&email))
        .map_err(|why| anyhow::anyhow!("the password {why}"))?;
    let hash = password::hash(password.to_owned()).await?;
    let user = store::insert_user(
        db,
        store::NewUser {
            id: Uuid::now_v7(),
            email: &email,
            password_hash: &hash,
            person_key_hash: None,
            verified_name: None,
            nickname: None,
            phone: None,
            birth_date: None,
            gender: None,
            role,
            marketing_consent: false,
        },
    )
    .await
    .map_err(|e| match crate::http::error::unique_violation(&e) {
        Some(_) => anyhow::anyhow!("an account with {email} already exists"),
        None => e.into(),
    })?;
    Ok(user.id)
}

/// A person as the demo data and benchmarks seed them: already verified, no provider involved.
pub struct SeedPerson<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
    pub birth_date: chrono::NaiveDate,
    pub gender: &'a str,
    pub role: Role,
}

/// Inserts a verified person unless the email exists; returns the user id either way.
pub async fn seed_person(accounts: &Accounts, p: SeedPerson<'_>) -> anyhow::Result<Uuid> {
    if let Some(existing) = store::find_login(&accounts.db, p.email).await? {
        return Ok(existing.id);
    }
    let hash = person::person_key_hash(
        accounts.person_secret(),
        None,
        Some(&person::to_e164(p.phone)),
    );
    let user = store::insert_user(
        &accounts.db,
        store::NewUser {
            id: Uuid::now_v7(),
            email: p.email,
            password_hash: p.password_hash,
            person_key_hash: hash.as_deref(),
            verified_name: Some(p.name),
            nickname: None,
            phone: Some(p.phone),
            birth_date: Some(p.birth_date),
            gender: Some(p.gender),
            role: p.role,
            marketing_consent: false,
        },
    )
    .await?;
    Ok(user.id)
}

/// Seeds where a person wants their wins shipped (paying needs an address), unless they have
/// one already.
pub async fn seed_delivery_address(
    accounts: &Accounts,
    user_id: Uuid,
    address: DeliveryAddress,
) -> anyhow::Result<()> {
    let mut conn = accounts.db.acquire().await?;
    if delivery_address(&mut *conn, user_id).await?.is_some() {
        return Ok(());
    }
    store::update_profile(
        &accounts.db,
        user_id,
        store::ProfileChange {
            delivery_address: Some(Some(address)),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

/// Locks an active account for its erasure (`session_revoked` if it is not active). Product and
/// raffle creation hold the same row ([`hold_active`]), so nothing of the account's appears
/// between the erasure's checks and its commit.
pub async fn lock_for_erasure(tx: &mut PgConnection, user_id: Uuid) -> Result<(), Error> {
    if store::lock_for_deletion(&mut *tx, user_id).await? {
        Ok(())
    } else {
        Err(Error::NotActive)
    }
}

/// Account erasure's step in accounts, the last one (`lifecycle::erasure` runs every domain's):
/// sessions revoked, seller applications closed (the business registration number is free
/// again), personal data erased, the person remembered only for the re-join cool-down.
pub async fn erase(tx: &mut PgConnection, user_id: Uuid) -> Result<(), Error> {
    store::revoke_sessions(&mut *tx, user_id, None, "account_deleted").await?;
    store::close_applications(&mut *tx, user_id).await?;
    let person = store::anonymise_user(&mut *tx, user_id)
        .await?
        .ok_or(Error::NotActive)?;
    if let Some(hash) = person {
        store::record_withdrawal(&mut *tx, &hash).await?;
    }
    Ok(())
}

/// Checks a signed-in user's password again before something they cannot undo
/// (`wrong_password` otherwise). Argon2 runs on the CPU pool.
pub async fn confirm_password(
    accounts: &Accounts,
    user_id: Uuid,
    password: String,
) -> Result<(), Error> {
    let current = store::password_hash(&accounts.db, user_id).await?;
    if password::verify_on(&accounts.cpu, password, current).await? {
        Ok(())
    } else {
        Err(Error::WrongPassword)
    }
}

/// Holds an active account in the caller's transaction, so that its deletion waits for it (or it
/// for the deletion): a deleted account creates nothing. `session_revoked` if it is not active.
pub async fn hold_active(tx: &mut PgConnection, user_id: Uuid) -> Result<(), Error> {
    if store::hold_active(&mut *tx, user_id).await? {
        Ok(())
    } else {
        Err(Error::NotActive)
    }
}

/// A person's delivery address (orders snapshot it at payment).
pub async fn delivery_address(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> Result<Option<DeliveryAddress>, Error> {
    Ok(store::find_user(db, user_id)
        .await?
        .and_then(|u| u.delivery_address.map(|j| j.0)))
}

/// The names other people see (the other side of a chat): the nickname, else the verified name
/// with all but its first letter masked (`김**`); deleted accounts are `탈퇴한 회원`.
pub async fn public_names(
    db: impl PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, Error> {
    let rows = store::public_names(db, ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let name = if r.status == states::UserStatus::Deleted {
                "탈퇴한 회원".to_owned()
            } else if let Some(nick) = r.nickname.filter(|n| !n.trim().is_empty()) {
                nick
            } else if let Some(real) = r.verified_name {
                let mut chars = real.chars();
                let first: String = chars.next().into_iter().collect();
                first + &"*".repeat(chars.count().max(1))
            } else {
                "회원".to_owned()
            };
            (r.id, name)
        })
        .collect())
}

/// Whether an account is active (not deleted).
pub async fn is_active(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<bool, Error> {
    Ok(store::find_user(db, user_id).await?.is_some())
}
