//! Per-request middleware: a client's request id only when it is well formed, a span carrying
//! the request id, one access-log line, metrics, and the request timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::error::{ApiError, ErrorCode};
use crate::metrics::Metrics;

/// Opens the request's span (request id, method, matched route), runs the request, then writes
/// one access-log line and records the metrics.
pub async fn observe(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let method_label = crate::metrics::method_label(&method);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let span = tracing::info_span!("request", request_id = %request_id, method = method_label, route = %route);
    let response = next.run(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            target: "access",
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "{method_label} {route} {status}"
        );
    });
    metrics.observe_request(&method, &route, status, elapsed);
    response
}

/// The longest request id taken from a client.
const MAX_REQUEST_ID: usize = 128;

/// Whether a client's `x-request-id` is one we keep (and echo, and log): 1 to 128 characters
/// from a small ASCII set that covers UUIDs and the usual trace ids.
pub fn is_valid_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:=+/@".contains(b))
}

/// Drops a client's `x-request-id` that is not well formed (or sent more than once), so that a
/// new one is made for the request instead of echoing the client's.
pub async fn client_request_id(mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let mut ids = headers.get_all("x-request-id").iter();
    let keep = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => is_valid_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !keep {
        req.headers_mut().remove("x-request-id");
    }
    next.run(req).await
}

/// Ends a request that runs past the configured time with `503 timeout`.
pub async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(ErrorCode::Timeout).into_response(),
    }
}

/// Turns a panic in a handler into the usual JSON 500; the panic itself is logged.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    ApiError::new(ErrorCode::Internal).into_response()
}

#[cfg(test)]
mod tests {
    use super::is_valid_request_id as ok;

    #[test]
    fn request_ids_are_short_and_plain() {
        assert!(ok(b"0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162"));
        assert!(ok(b"Root=1-67891233-abcdef012345678912345678"));
        assert!(!ok(b""));
        assert!(!ok(&[b'a'; 129]));
        for bad in [
            &b"a b"[..],
            b"a\x00b",
            b"a\nb",
            b"\xe2\x80\xae",
            b"<script>",
            b"a\"b",
        ] {
            assert!(!ok(bad), "{bad:?}");
        }
    }
}
