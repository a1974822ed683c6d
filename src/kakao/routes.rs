//! HTTP handlers of the KakaoTalk domain. Each handler's doc says who may call it.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};

use super::request::SkillRequest;
use super::response::SkillResponse;
use super::{Kakao, LinkCode, LinkStatus, Refusal, SECRET_HEADER, answers};
use crate::accounts::CurrentUser;
use crate::http::extract::OptionalJson;
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json};

/// Answers a Kakao i Open Builder skill request (every block of the Truffle bot calls this one
/// skill) in the skill response format version "2.0", in Korean: product search, open raffles
/// closing soonest, one raffle, and — for a Kakao user linked with a code from
/// `POST /v1/me/kakao-link` — their entries and results. docs/KAKAO.md lists the block names and
/// parameters.
///
/// Once authenticated, the body is read leniently: unknown fields are ignored, and a body that
/// is not JSON, has fields of the wrong type or lacks `bot.id` gets a polite Korean fallback
/// with 200, as does an answer that would take longer than `KAKAO_SKILL_TIMEOUT`. The one 4xx
/// after that is the text rule: a control character, line separator or bidi control in any
/// string or key is `400 validation_failed` naming it (`userRequest.utterance` may span lines).
///
/// Kakao's bot system only: the `X-Skill-Secret` header must equal `KAKAO_SKILL_SECRET` and
/// `bot.id` must be `KAKAO_BOT_ID`. Without a configured secret every request is refused.
#[utoipa::path(post, path = "/v1/kakao/skill", tag = "kakao",
    params(("X-Skill-Secret" = String, Header, description = "The configured skill secret")),
    request_body(content = Object, description = "A SkillPayload (intent, userRequest, bot, action, …)"),
    extensions(("x-lenient-body" = json!(true))),
    responses(
        (status = 200, description = "A SkillResponse, version 2.0", body = Object),
        (status = 401, description = "`skill_unauthorized`: secret missing or wrong, another bot, or the skill is not configured", body = ErrorBody)))]
pub async fn skill(
    State(kakao): State<Kakao>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<SkillResponse>> {
    kakao.check_secret(headers.get(SECRET_HEADER).map(|v| v.as_bytes()))?;
    let Ok(body) = body else {
        return Ok(axum::Json(answers::fallback()));
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        tracing::debug!("kakao skill request is not JSON; sent the fallback");
        return Ok(axum::Json(answers::fallback()));
    };
    // The text rule holds here too, once the request is known to come from Kakao.
    crate::http::text::check_json(&value)?;
    let req = SkillRequest::from_json(&value);
    kakao.check_bot(&req)?;
    Ok(axum::Json(kakao.answer(req).await))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLinkCode {
    /// Let the code replace the account's existing KakaoTalk link, if it has one. Without it,
    /// a linked account is not relinked to another Kakao user. Default false.
    #[serde(default)]
    pub replace: bool,
}

/// A new one-time code that links a KakaoTalk user to the caller's account: send
/// "연결 12345678" to the Truffle KakaoTalk channel within `KAKAO_LINK_CODE_TTL` (10 minutes by
/// default). A code works once; a new one replaces the previous. A link never replaces another
/// silently: a Kakao user already linked to another account must unlink first, and an account
/// already linked is relinked only with a code asked for with `{"replace": true}`. The body
/// may be left out.
///
/// Any signed-in user.
#[utoipa::path(post, path = "/v1/me/kakao-link", tags = ["me", "kakao"],
    security(("bearer" = [])),
    request_body(content = Option<NewLinkCode>, description = "Optional; `{}` or no body is `{\"replace\": false}`"),
    responses(
        (status = 201, description = "The code", body = LinkCode),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "`authentication_required` and the other token codes", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: a body that is not JSON", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody)))]
pub async fn create_code(
    State(kakao): State<Kakao>,
    user: CurrentUser,
    OptionalJson(req): OptionalJson<NewLinkCode>,
) -> ApiResult<(StatusCode, Json<LinkCode>)> {
    Ok((
        StatusCode::CREATED,
        Json(kakao.issue_code(user.id, req.replace).await?),
    ))
}

/// Whether the caller's account is linked to a KakaoTalk user.
///
/// Any signed-in user.
#[utoipa::path(get, path = "/v1/me/kakao-link", tags = ["me", "kakao"],
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The link's status", body = LinkStatus),
        (status = 401, description = "`authentication_required` and the other token codes", body = ErrorBody)))]
pub async fn status(State(kakao): State<Kakao>, user: CurrentUser) -> ApiResult<Json<LinkStatus>> {
    Ok(Json(kakao.status(user.id).await?))
}

/// Unlinks the caller's KakaoTalk user (and drops an unused code). Unlinking when nothing is
/// linked changes nothing. The Kakao user can also send "연결 해제".
///
/// Any signed-in user.
#[utoipa::path(delete, path = "/v1/me/kakao-link", tags = ["me", "kakao"],
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "`authentication_required` and the other token codes", body = ErrorBody)))]
pub async fn unlink(State(kakao): State<Kakao>, user: CurrentUser) -> ApiResult<StatusCode> {
    kakao.unlink(user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        use super::Error;
        match e {
            Error::Refused(r) => {
                let message = match r {
                    Refusal::NotConfigured => {
                        "The KakaoTalk skill is not configured on this server."
                    }
                    Refusal::BadSecret => "The skill secret header is missing or wrong.",
                    Refusal::OtherBot => "This skill answers another bot.",
                };
                ApiError::with_message(ErrorCode::SkillUnauthorized, message)
            }
            Error::NoFreeCode => ApiError::with_message(
                ErrorCode::Unavailable,
                "No link code is free right now; try again.",
            ),
            Error::Search(e) => ApiError::from(e),
            Error::Raffles(e) => ApiError::from(e),
            Error::Catalogue(e) => ApiError::from(e),
            Error::Notify(e) => e.into(),
            Error::Db(e) => e.into(),
        }
    }
}
