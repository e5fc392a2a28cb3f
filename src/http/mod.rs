//! The axum router: a thin adapter over the domain modules.

pub mod auth;
mod graphql;
mod health;
pub mod middleware;
mod playground;
mod reports;
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
    /// The OAuth login provider, when one is configured.
    pub oauth: Option<crate::auth::oauth::Provider>,
    pub jobs: crate::jobs::Runner,
}

pub fn router(state: AppState) -> Router {
    let demo_idp = state
        .config
        .demo_identity_provider
        .then(|| crate::auth::demo_idp::router(state.config.oauth_redirect_url()));
    let router = Router::new()
        .route("/", get(|| async { Redirect::temporary("/playground") }))
        .route("/playground", get(playground::page))
        .route(
            "/graphql",
            get(graphql::get)
                .post(graphql::post)
                .layer(axum::extract::DefaultBodyLimit::max(graphql::max_body(
                    &state.config,
                ))),
        )
        .route("/graphql/ws", get(graphql::websocket))
        .route(
            "/webhooks/pagerduty",
            axum::routing::post(webhooks::pagerduty).layer(axum::extract::DefaultBodyLimit::max(
                crate::pagerduty::webhook::MAX_BODY_BYTES,
            )),
        )
        .route("/auth/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/logout", get(auth::logout_page).post(auth::logout))
        .route("/auth/status", get(auth::status))
        .route("/reports/{job_id}/download", get(reports::download))
        .route("/attachments/{id}/download", get(reports::attachment))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(middleware::metrics_with_token))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!({"error": "not found"})),
            )
                .into_response()
        })
        .with_state(state);
    match demo_idp {
        Some(idp) => router.merge(idp),
        None => router,
    }
}
