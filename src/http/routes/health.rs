use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{error::Error, http::AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// A check that passed (a failed one answers 503 problem+json instead).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    Postgres,
    Sqlite,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StateStoreKind {
    /// Shared by every replica.
    Redis,
    /// In this process only (one replica).
    Memory,
}

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    status: CheckStatus,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    status: CheckStatus,
    database: DatabaseKind,
    state_store: StateStoreKind,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "The process is alive", body = Liveness)))]
async fn healthz() -> axum::Json<Liveness> {
    axum::Json(Liveness {
        status: CheckStatus::Ok,
    })
}

/// Readiness: the database and the state store (Redis when configured) answer.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "A dependency is unreachable", body = crate::http::problem::Problem,
            content_type = "application/problem+json"),
    ))]
async fn readyz(State(state): State<AppState>) -> Result<axum::Json<Readiness>, Error> {
    // Each check answers within its own bound, so a probe with a short timeout gets an answer.
    let bound = std::time::Duration::from_millis(900);
    let database = tokio::time::timeout(bound, state.db.ping()).await;
    if !matches!(database, Ok(Ok(()))) {
        return Err(
            Error::unavailable("database_unavailable", "The database is not reachable.")
                .with_retry_after(5),
        );
    }
    let store = tokio::time::timeout(bound, state.state.ping()).await;
    if !matches!(store, Ok(Ok(()))) {
        return Err(Error::unavailable(
            "state_store_unavailable",
            "The state store (Redis) is not reachable.",
        )
        .with_retry_after(5));
    }
    Ok(axum::Json(Readiness {
        status: CheckStatus::Ok,
        database: if state.settings.is_postgres() {
            DatabaseKind::Postgres
        } else {
            DatabaseKind::Sqlite
        },
        state_store: if state.state.backend() == "redis" {
            StateStoreKind::Redis
        } else {
            StateStoreKind::Memory
        },
    }))
}

/// Prometheus text exposition format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
