//! Extractors whose rejections are [`ApiError`]s, so bad input always gets a JSON 4xx with a code.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use super::error::{ApiError, ErrorCode};

/// JSON body in, JSON body out. The body must say it is JSON, fit the body limit, parse, pass
/// the text rule ([`super::text`]: every string and key, before any field is typed) and then
/// deserialise into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ErrorCode::UnsupportedMediaType.into());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::from(JsonRejection::from(e)))?;
        Ok(Json(typed_json(&bytes)?))
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Whether the request says its body is JSON: `application/json` or `application/*+json`.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.split_once('/').is_some_and(|(kind, sub)| {
        kind == "application" && (sub == "json" || sub.ends_with("+json"))
    })
}

/// Checks the text rule on the parsed document, then reads it as `T`; syntax and type errors
/// keep the messages axum gives them.
fn typed_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let parsed = serde_json::from_slice::<serde_json::Value>(bytes).ok();
    if let Some(value) = &parsed {
        super::text::check_json(value)?;
        // Every request body is an object; serde would also fill a struct from an array.
        if !value.is_object() {
            return Err(ApiError::with_message(
                ErrorCode::InvalidBody,
                "The body must be a JSON object.",
            ));
        }
    }
    match axum::Json::<T>::from_bytes(bytes) {
        Ok(axum::Json(value)) => Ok(value),
        Err(rejection) => {
            // JSON has one number type: `5.0` is the integer 5 to JSON Schema, so to us too.
            if let Some(mut value) = parsed
                && integral_floats_to_integers(&mut value)
                && let Ok(typed) = serde_json::from_value::<T>(value)
            {
                return Ok(typed);
            }
            Err(rejection.into())
        }
    }
}

/// Rewrites numbers such as `5.0` or `1e3` as the integers they are; whether any changed.
fn integral_floats_to_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Within ±2^53 a float names one integer exactly.
            if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                *value = Value::from(f as i64);
                true
            } else {
                false
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, v| integral_floats_to_integers(v) | any),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |any, v| integral_floats_to_integers(v) | any),
        _ => false,
    }
}

/// A JSON body that may be left out: an empty body (or `null`) is `T::default()`; anything else is read as
/// [`Json`] reads it (content type, syntax, text rule, fields), with the same rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: serde::de::DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let json = is_json(req.headers());
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::from(JsonRejection::from(e)))?;
        if bytes.is_empty() {
            return Ok(OptionalJson(T::default()));
        }
        if !json {
            return Err(ErrorCode::UnsupportedMediaType.into());
        }
        if bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        Ok(OptionalJson(typed_json(&bytes)?))
    }
}

/// Path parameters: each raw value passes the text rule (named after its parameter) before it
/// is parsed into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // Undecodable parameters are left to `Path`, which refuses them with its own message.
        if let Ok(raw) = RawPathParams::from_request_parts(parts, state).await {
            for (name, value) in raw.iter() {
                super::text::check(name, value)?;
            }
        }
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

/// Query parameters: every name and value passes the text rule before the query is parsed
/// into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            super::text::check(&name, &value)?;
        }
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType.into(),
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::with_message(ErrorCode::MalformedJson, short(&e.body_text()))
            }
            JsonRejection::JsonDataError(e) => {
                ApiError::with_message(ErrorCode::InvalidBody, short(&e.body_text()))
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ErrorCode::PayloadTooLarge.into()
            }
            other => ApiError::with_message(ErrorCode::MalformedJson, short(&other.body_text())),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::with_message(ErrorCode::InvalidPathParameter, short(&r.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::with_message(ErrorCode::InvalidQueryParameter, short(&r.body_text()))
    }
}

/// Serde's messages name fields and types, which helps the client; keep them short and one line.
fn short(text: &str) -> String {
    let mut s: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// The client's address: the TCP peer, or, when the peer is a configured trusted proxy, the
/// nearest untrusted address in `X-Forwarded-For`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The proxies whose `X-Forwarded-For` we believe; kept in request extensions by the router.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub std::sync::Arc<Vec<IpNet>>);

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Resolves the client address from the peer and the forwarded-for chain.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let Some(chain) = forwarded_for else {
            return peer;
        };
        let hops: Vec<IpAddr> = chain
            .split(',')
            .filter_map(|h| h.trim().parse::<IpAddr>().ok())
            .collect();
        // Walk from the nearest hop outwards; the first address we do not trust is the client.
        hops.iter()
            .rev()
            .copied()
            .find(|ip| !self.trusts(*ip))
            .or_else(|| hops.first().copied())
            .unwrap_or(peer)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let trusted = parts
            .extensions
            .get::<TrustedProxies>()
            .cloned()
            .unwrap_or_default();
        let xff = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(ClientIp(trusted.client_ip(peer, xff)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies(std::sync::Arc::new(
            list.iter().map(|s| s.parse().unwrap()).collect(),
        ))
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let p = proxies(&["10.0.0.0/8"]);
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(p.client_ip(peer, Some("1.2.3.4")), peer);
    }

    #[test]
    fn nearest_untrusted_hop_is_the_client() {
        let p = proxies(&["10.0.0.0/8"]);
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        // A client cannot spoof by prepending: the spoofed hop is further out than the real one.
        assert_eq!(
            p.client_ip(peer, Some("6.6.6.6, 198.51.100.7, 10.0.0.5")),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(p.client_ip(peer, None), peer);
        assert_eq!(p.client_ip(peer, Some("garbage")), peer);
    }
}
