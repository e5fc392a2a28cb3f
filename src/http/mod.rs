//! The axum router: a thin adapter over the domain modules.

mod graphql;
mod health;
mod playground;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::graphql::AppSchema;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub events: crate::events::EventBus,
    pub pagerduty: Option<crate::pagerduty::Client>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/playground") }))
        .route("/playground", get(playground::page))
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(graphql::websocket))
        .route(
            "/webhooks/pagerduty",
            axum::routing::post(webhooks::pagerduty).layer(axum::extract::DefaultBodyLimit::max(
                crate::pagerduty::webhook::MAX_BODY_BYTES,
            )),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!({"error": "not found"})),
            )
                .into_response()
        })
        .with_state(state)
}
