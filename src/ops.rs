//! Operations endpoints: liveness, readiness and metrics. Anyone may call them.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json};

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
/// this; keep it off the public load balancer in production. The series are bounded (methods
/// from a fixed set, else `other`; matched route templates, else `unmatched`), and a scrape
/// reads the worker gauges from memory: it never runs a query.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics in the OpenMetrics text format",
        content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.render_metrics(),
    )
}

pub async fn not_found() -> ApiError {
    ErrorCode::NotFound.into()
}

pub async fn method_not_allowed() -> ApiError {
    ErrorCode::MethodNotAllowed.into()
}
