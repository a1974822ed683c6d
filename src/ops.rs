//! Operations endpoints: liveness, readiness and metrics. Anyone may call them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json};
use crate::metrics::Metrics;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
    #[schema(example = "0.1.0")]
    pub version: String,
}

/// Liveness: the process answers. Anyone may call this.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Readiness: PostgreSQL is reachable. Anyone may call this.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "`unavailable`: the database cannot be reached", body = ErrorBody)))]
pub async fn ready(State(db): State<PgPool>) -> ApiResult<Json<Health>> {
    if crate::db::ping(&db).await {
        Ok(Json(Health {
            status: "ready".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }))
    } else {
        Err(ApiError::with_message(
            ErrorCode::Unavailable,
            "The database cannot be reached.",
        ))
    }
}

/// Prometheus metrics in the text exposition format. Anyone who can reach the port may call
/// this; keep it off the public load balancer in production.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics", content_type = "text/plain")))]
pub async fn metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
}

pub async fn not_found() -> ApiError {
    ErrorCode::NotFound.into()
}

pub async fn method_not_allowed() -> ApiError {
    ErrorCode::MethodNotAllowed.into()
}
