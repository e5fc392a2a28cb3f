//! The incident writes pagerlens makes, answered as PagerDuty does:
//! `PUT /incidents/{id}` (status) and `POST /incidents/{id}/notes`. Both need
//! the `From` header naming a user of the account (400 otherwise) and a JSON
//! body of the documented shape; they change the organisation, so the
//! change shows in the incident, its log entries and the global log.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use super::gate::{error, gate, respond};
use super::incidents::incident_json;
use super::{Sim, data};

fn invalid(message: &str) -> Response {
    let mut r = error(StatusCode::BAD_REQUEST, 2001, "Invalid Input Provided");
    if let Ok(v) = axum::http::HeaderValue::from_str(message) {
        r.headers_mut().insert("x-simulator-reason", v);
    }
    r
}

/// The user the `From` header names.
fn from_user(org: &data::Org, headers: &HeaderMap) -> Result<String, Response> {
    let Some(from) = headers.get("from").and_then(|v| v.to_str().ok()) else {
        return Err(invalid("the From header is required"));
    };
    org.users
        .iter()
        .find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(from.trim()))
        })
        .map(|u| u.id.clone())
        .ok_or_else(|| invalid("the From header names no user of this account"))
}

fn body_json(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|_| invalid("the body is not JSON"))
}

/// `PUT /incidents/{id}` with `{"incident": {"type", "status"}}`.
pub(super) async fn update_incident(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = match gate(&sim, &headers, "PUT /incidents/{id}").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let inc = &body["incident"];
    if !matches!(
        inc["type"].as_str(),
        Some("incident_reference" | "incident")
    ) {
        return invalid("incident.type must be incident_reference or incident");
    }
    let status = match inc.get("status") {
        None => None,
        Some(Value::String(s))
            if ["acknowledged", "resolved", "triggered"].contains(&s.as_str()) =>
        {
            Some(s.clone())
        }
        Some(_) => return invalid("incident.status must be acknowledged, resolved or triggered"),
    };
    let answer = {
        let mut org = sim.org.write().await;
        let who = match from_user(&org, &headers) {
            Ok(w) => w,
            Err(r) => return r,
        };
        let Some(current) = org.incident(&id).map(|i| i.status.clone()) else {
            return error(StatusCode::NOT_FOUND, 5001, "Incident Not Found");
        };
        let now = Utc::now();
        match status.as_deref() {
            // The same status again changes nothing (a retried write).
            Some(s) if s == current => {}
            Some("acknowledged") => {
                if current == "resolved"
                    && let Some(idx) = org.incident_index.get(&id).copied()
                {
                    // Acknowledging a resolved incident reopens it.
                    org.incidents[idx].resolved_at = None;
                }
                data::apply_event(&mut org, &id, "acknowledge_log_entry", now, Some(&who));
            }
            Some("resolved") => {
                data::apply_event(&mut org, &id, "resolve_log_entry", now, Some(&who));
            }
            Some(_) => return invalid("re-triggering is not simulated"),
            None => {}
        }
        let i = org.incident(&id).expect("exists");
        json!({"incident": incident_json(i)})
    };
    respond(&sim, answer, fault).await
}

/// `POST /incidents/{id}/notes` with `{"note": {"content"}}`.
pub(super) async fn create_note(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = match gate(&sim, &headers, "POST /incidents/{id}/notes").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(content) = body["note"]["content"].as_str().map(str::to_owned) else {
        return invalid("note.content is required");
    };
    if content.trim().is_empty() {
        return invalid("note.content must not be empty");
    }
    let answer = {
        let mut org = sim.org.write().await;
        let who = match from_user(&org, &headers) {
            Ok(w) => w,
            Err(r) => return r,
        };
        let Some(inc) = org.incident(&id).cloned() else {
            return error(StatusCode::NOT_FOUND, 5001, "Incident Not Found");
        };
        let now = Utc::now();
        let user = org.user_ref(&who);
        org.push_log(
            &inc,
            "annotate_log_entry",
            now,
            Some(user.clone()),
            "note",
            None,
        );
        // The entry just added carries the note.
        let entry = org
            .log_entries
            .iter_mut()
            .rev()
            .find(|e| e.kind == "annotate_log_entry" && e.incident_id() == Some(id.as_str()))
            .expect("just added");
        entry.note = Some(content.clone());
        let note_id = entry.id.clone();
        json!({"note": {
            "id": note_id,
            "user": user,
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": content,
            "created_at": now,
            "updated_at": now,
        }})
    };
    respond(&sim, answer, fault).await
}
