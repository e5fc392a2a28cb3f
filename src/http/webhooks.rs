//! `POST /webhooks/pagerduty`: PagerDuty v3 webhooks. A missing or bad
//! signature gets 401 and nothing is stored; an oversized body 413; a body
//! that is not an event 400; a failure to apply it 500 (PagerDuty retries).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use crate::pagerduty::webhook::{self, Outcome, WebhookError};

fn reply(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"status": message}))).into_response()
}

pub async fn pagerduty(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return reply(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
        }
        Err(_) => return reply(StatusCode::BAD_REQUEST, "unreadable body"),
    };
    let secrets = state.config.pagerduty.webhook_secrets();
    if secrets.is_empty() {
        return reply(
            StatusCode::UNAUTHORIZED,
            "webhooks are not configured (PAGERDUTY_WEBHOOK_SECRETS)",
        );
    }
    let signature = headers
        .get("x-pagerduty-signature")
        .and_then(|v| v.to_str().ok());
    if !webhook::verify_signature(signature, &body, &secrets) {
        tracing::warn!("refused a webhook with a missing or invalid signature");
        return reply(StatusCode::UNAUTHORIZED, "invalid signature");
    }
    match webhook::handle(&state.db, state.pagerduty.as_ref(), &state.events, &body).await {
        Ok(Outcome::Processed) => reply(StatusCode::OK, "processed"),
        Ok(Outcome::Duplicate) => reply(StatusCode::OK, "duplicate"),
        Ok(Outcome::Ignored) => reply(StatusCode::ACCEPTED, "ignored"),
        Err(WebhookError::BadPayload(e)) => reply(
            StatusCode::BAD_REQUEST,
            &format!("not a PagerDuty v3 webhook event: {e}"),
        ),
        Err(WebhookError::Sync(e)) => {
            tracing::error!(error = %crate::telemetry::error_chain(&e), "applying a webhook failed");
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not apply the event; retry later",
            )
        }
    }
}
