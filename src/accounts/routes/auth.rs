use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::identity::{self, Purpose};
use crate::accounts::{Accounts, CurrentUser, Profile, Role, TokenPair};
use crate::accounts::{password, person, store, tokens};
use crate::config::RateLimit;
use crate::http::error::unique_violation;
use crate::http::{ApiError, ApiResult, ClientIp, ErrorBody, ErrorCode, Json};
use crate::ratelimit;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// A confirmed verification started with purpose `signup`.
    pub identity_verification_id: String,
    /// At most 64 characters before the `@`; the domain has a dot.
    #[schema(
        example = "minsu@example.com",
        max_length = 254,
        pattern = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
    )]
    pub email: String,
    #[schema(schema_with = password::policy_schema, example = "덩크로우-좋아요-2026")]
    pub password: String,
    /// 2 to 20 characters once trimmed.
    #[schema(example = "스니커헤드", min_length = 2, max_length = 20)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub marketing_consent: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthResponse {
    pub user: Profile,
    pub tokens: TokenPair,
}

fn check_nickname(nickname: Option<&str>) -> Result<Option<String>, ApiError> {
    nickname
        .map(|n| {
            person::clean_text(n, 2, 20)
                .ok_or_else(|| ApiError::validation("nickname", "must be 2 to 20 characters."))
        })
        .transpose()
}

/// Sign up with email, password and a confirmed identity verification.
///
/// Anyone may call this. One person, one account: a second sign-up by the same verified person
/// is refused with `person_already_registered`. Nothing is hashed until the verification has
/// been checked (exists, confirmed, unexpired, unused, for sign-up) and the attempt has passed
/// the limits per client address (`SIGNUP_LIMIT_PER_IP`) and per verification
/// (`VERIFICATION_USE_LIMIT`); the verification is used up only by the account's creation.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created and logged in", body = AuthResponse),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 404, description = "`verification_not_found`", body = ErrorBody),
        (status = 409, description = "`email_taken`, `person_already_registered`, `rejoin_cooldown`, `verification_not_confirmed`, `verification_already_used`, `verification_purpose_mismatch`", body = ErrorBody),
        (status = 410, description = "`verification_expired`, `verification_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full, nothing was used up; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn signup(
    State(accounts): State<Accounts>,
    ClientIp(ip): ClientIp,
    Json(req): Json<SignupRequest>,
) -> ApiResult<(StatusCode, Json<AuthResponse>)> {
    let email = person::normalize_email(&req.email)
        .ok_or_else(|| ApiError::validation("email", "not a valid email address."))?;
    password::check_policy(&req.password, Some(&email))
        .map_err(|why| ApiError::validation("password", &format!("{why}.")))?;
    let nickname = check_nickname(req.nickname.as_deref())?;

    // Everything that can refuse cheaply comes before argon2.
    let verification = req.identity_verification_id.trim();
    limit(
        &accounts,
        &format!("signup:ip:{}", ratelimit::address_key(ip)),
        accounts.auth.guards.signup_limit_per_ip,
    )
    .await?;
    let person_key = identity::check_usable(&accounts, verification, Purpose::Signup).await?;
    limit(
        &accounts,
        &format!("idv-use:{verification}"),
        accounts.auth.guards.verification_use_limit,
    )
    .await?;
    if store::email_exists(&accounts.db, &email).await? {
        return Err(ErrorCode::EmailTaken.into());
    }
    if store::find_by_person(&accounts.db, &person_key)
        .await?
        .is_some()
    {
        return Err(ErrorCode::PersonAlreadyRegistered.into());
    }
    if store::withdrawn_within(&accounts.db, &person_key, accounts.identity.rejoin_cooldown).await?
    {
        return Err(ErrorCode::RejoinCooldown.into());
    }
    let hash = password::hash_on(&accounts.cpu, req.password).await?;

    let mut tx = accounts.db.begin().await?;
    let person = identity::consume(&accounts, &mut tx, verification, Purpose::Signup).await?;
    if store::find_by_person(&mut *tx, &person.person_key_hash)
        .await?
        .is_some()
    {
        return Err(ErrorCode::PersonAlreadyRegistered.into());
    }
    if store::withdrawn_within(
        &mut *tx,
        &person.person_key_hash,
        accounts.identity.rejoin_cooldown,
    )
    .await?
    {
        return Err(ErrorCode::RejoinCooldown.into());
    }
    let user = store::insert_user(
        &mut *tx,
        store::NewUser {
            id: Uuid::now_v7(),
            email: &email,
            password_hash: &hash,
            person_key_hash: Some(&person.person_key_hash),
            verified_name: Some(&person.verified_name),
            nickname: nickname.as_deref(),
            phone: person.phone.as_deref(),
            birth_date: person.birth_date,
            gender: person.gender.as_deref(),
            role: Role::Buyer,
            marketing_consent: req.marketing_consent,
        },
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        Some("users_email_key") => ErrorCode::EmailTaken.into(),
        Some("users_person_key_hash_key") => ErrorCode::PersonAlreadyRegistered.into(),
        _ => ApiError::from(e),
    })?;
    let tokens = accounts.open_session(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(AuthResponse {
            user: user.into(),
            tokens,
        }),
    ))
}

/// Counts a hit on `key`; `429 rate_limited` with `Retry-After` past `limit`.
async fn limit(accounts: &Accounts, key: &str, limit: RateLimit) -> Result<(), ApiError> {
    match ratelimit::hit(&accounts.db, key, limit).await? {
        Ok(()) => Ok(()),
        Err(retry_after) => Err(ApiError::rate_limited(retry_after)),
    }
}

/// The rate-limit keys of an account's logins: a keyed hash of the email (so that the table
/// holds no emails), alone and with the client's address prefix.
struct LoginKeys {
    account: String,
    /// The start of every per-address key of the account.
    pairs: String,
}

fn login_keys(accounts: &Accounts, email: &str) -> LoginKeys {
    let who = hex::encode(&person::keyed_hash(accounts.person_secret(), "rl-login", email)[..16]);
    LoginKeys {
        account: format!("login:account:{who}"),
        pairs: format!("login:pair:{who}:"),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "buyer@demo.truffle.kr")]
    pub email: String,
    #[schema(example = "truffle-demo-buyer")]
    pub password: String,
}

/// Log in with email and password.
///
/// Anyone may call this. Attempts are limited, before any password is checked, per client
/// address prefix (`LOGIN_LIMIT_PER_IP`), per account and address prefix
/// (`LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS`: a stranger's failures elsewhere do not lock the owner
/// out) and per account from all addresses together (`LOGIN_LIMIT_PER_ACCOUNT`, against
/// guessing from many addresses; a password reset clears it). Past a limit: 429 with
/// `Retry-After`. The limits are shared by every replica. An unknown email costs the same
/// argon2 verification as a wrong password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AuthResponse),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn login(
    State(accounts): State<Accounts>,
    ClientIp(ip): ClientIp,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<AuthResponse>> {
    let email = req.email.trim().to_lowercase();
    if email.len() > 320 || req.password.len() > 1024 {
        return Err(ErrorCode::InvalidCredentials.into());
    }
    let address = ratelimit::address_key(ip);
    let keys = login_keys(&accounts, &email);
    let pair = format!("{}{address}", keys.pairs);
    let guards = &accounts.auth.guards;
    limit(
        &accounts,
        &format!("login:ip:{address}"),
        accounts.auth.login_limit_per_ip,
    )
    .await?;
    limit(&accounts, &pair, guards.login_limit_per_account_address).await?;
    if let Err(retry_after) = ratelimit::hit(
        &accounts.db,
        &keys.account,
        accounts.auth.login_limit_per_account,
    )
    .await?
    {
        return Err(ApiError::with_message(
            ErrorCode::RateLimited,
            "Too many login attempts on this account; try again later, or reset the password \
             with an identity verification.",
        )
        .with_retry_after(retry_after));
    }
    let found = store::find_login(&accounts.db, &email).await?;
    let ok = password::verify_on(
        &accounts.cpu,
        req.password,
        found.as_ref().and_then(|f| f.password_hash.clone()),
    )
    .await?;
    let Some(found) = found.filter(|_| ok) else {
        return Err(ErrorCode::InvalidCredentials.into());
    };
    ratelimit::reset(&accounts.db, &pair).await?;
    ratelimit::reset(&accounts.db, &keys.account).await?;

    let mut tx = accounts.db.begin().await?;
    let tokens = accounts.open_session(&mut tx, found.id).await?;
    let user = store::find_user(&mut *tx, found.id)
        .await?
        .ok_or(ErrorCode::InvalidCredentials)?;
    tx.commit().await?;
    Ok(Json(AuthResponse {
        user: user.into(),
        tokens,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Trade a refresh token for a new token pair.
///
/// Whoever holds a live refresh token may call this. Each refresh token works once; presenting
/// one again ends its session (`refresh_token_reused`), since only a thief would do that. A
/// refresh never extends a session past `SESSION_MAX_LIFETIME` after its login; after that,
/// `session_expired`.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenPair),
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_reused`, `session_revoked`, `session_expired`", body = ErrorBody)))]
pub async fn refresh(
    State(accounts): State<Accounts>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    let hash = tokens::refresh_token_hash(req.refresh_token.trim());
    let mut tx = accounts.db.begin().await?;
    let max = accounts.auth.guards.session_max_lifetime;
    let row = store::lock_refresh_token(&mut *tx, &hash, max)
        .await?
        .ok_or(ErrorCode::InvalidRefreshToken)?;
    if row.already_used {
        store::revoke_session(&mut *tx, row.session_id, "refresh_token_reused").await?;
        tx.commit().await?;
        tracing::warn!(session_id = %row.session_id, "refresh token reused; session revoked");
        return Err(ErrorCode::RefreshTokenReused.into());
    }
    if row.past_lifetime {
        return Err(ErrorCode::SessionExpired.into());
    }
    if !row.session_live {
        return Err(ErrorCode::SessionRevoked.into());
    }
    store::mark_refresh_token_used(&mut *tx, &hash).await?;
    let ends =
        store::extend_session(&mut *tx, row.session_id, accounts.keys.refresh_ttl, max).await?;
    let pair = accounts
        .token_pair(&mut *tx, row.user_id, row.session_id, ends)
        .await?;
    tx.commit().await?;
    Ok(Json(pair))
}

/// Log out: end this session. Its access and refresh tokens stop working at once.
///
/// Any logged-in user, for their own session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "`authentication_required`, `invalid_token`, `session_revoked`", body = ErrorBody)))]
pub async fn logout(State(accounts): State<Accounts>, user: CurrentUser) -> ApiResult<StatusCode> {
    store::revoke_session(&accounts.db, user.session_id, "logout").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// A confirmed verification started with purpose `password_reset`.
    pub identity_verification_id: String,
    #[schema(schema_with = password::policy_schema)]
    pub new_password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PasswordResetResponse {
    /// The account's email, masked, so the person knows which account it was.
    #[schema(example = "m***u@example.com")]
    pub email_hint: String,
}

/// Reset a forgotten password by verifying one's identity again. No email is needed.
///
/// Anyone holding a confirmed `password_reset` verification of the account's person. Every
/// session of the account is revoked and its login limits are cleared, so the owner can always
/// get back in. As with sign-up, nothing is hashed before the verification has been checked
/// and the attempt has passed `PASSWORD_RESET_LIMIT_PER_IP` and `VERIFICATION_USE_LIMIT`.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 200, description = "Password changed; log in again", body = PasswordResetResponse),
        (status = 400, description = "`validation_failed`", body = ErrorBody),
        (status = 404, description = "`verification_not_found`", body = ErrorBody),
        (status = 409, description = "`account_not_found_for_person`, `verification_not_confirmed`, `verification_already_used`, `verification_purpose_mismatch`", body = ErrorBody),
        (status = 410, description = "`verification_expired`, `verification_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full, nothing was used up; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn password_reset(
    State(accounts): State<Accounts>,
    ClientIp(ip): ClientIp,
    Json(req): Json<PasswordResetRequest>,
) -> ApiResult<Json<PasswordResetResponse>> {
    password::check_policy(&req.new_password, None)
        .map_err(|why| ApiError::validation("new_password", &format!("{why}.")))?;
    let verification = req.identity_verification_id.trim();
    limit(
        &accounts,
        &format!("password-reset:ip:{}", ratelimit::address_key(ip)),
        accounts.auth.guards.password_reset_limit_per_ip,
    )
    .await?;
    let person_key =
        identity::check_usable(&accounts, verification, Purpose::PasswordReset).await?;
    limit(
        &accounts,
        &format!("idv-use:{verification}"),
        accounts.auth.guards.verification_use_limit,
    )
    .await?;
    if store::find_by_person(&accounts.db, &person_key)
        .await?
        .is_none()
    {
        return Err(ErrorCode::AccountNotFoundForPerson.into());
    }
    let hash = password::hash_on(&accounts.cpu, req.new_password).await?;

    let mut tx = accounts.db.begin().await?;
    let person =
        identity::consume(&accounts, &mut tx, verification, Purpose::PasswordReset).await?;
    let (user_id, email) = store::find_by_person(&mut *tx, &person.person_key_hash)
        .await?
        .ok_or(ErrorCode::AccountNotFoundForPerson)?;
    store::set_password(&mut *tx, user_id, &hash).await?;
    store::revoke_sessions(&mut *tx, user_id, None, "password_reset").await?;
    if let Some(email) = &email {
        // Whoever was locking the account out, its owner is back in.
        let keys = login_keys(&accounts, email);
        ratelimit::reset(&mut *tx, &keys.account).await?;
        ratelimit::reset_prefix(&mut *tx, &keys.pairs).await?;
    }
    tx.commit().await?;
    Ok(Json(PasswordResetResponse {
        email_hint: person::mask_email(email.as_deref().unwrap_or_default()),
    }))
}
