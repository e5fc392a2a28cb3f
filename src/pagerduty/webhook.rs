//! PagerDuty webhooks v3: signature verification (pure) and event handling.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// True when any `v1=` signature in `header` is the HMAC-SHA256 of `body`
/// under any of `secrets`. Compared in constant time.
pub fn verify_signature(header: Option<&str>, body: &[u8], secrets: &[String]) -> bool {
    let Some(header) = header else { return false };
    let signatures: Vec<Vec<u8>> = header
        .split(',')
        .filter_map(|s| s.trim().strip_prefix("v1="))
        .filter_map(|hex_sig| hex::decode(hex_sig).ok())
        .collect();
    secrets.iter().filter(|s| !s.is_empty()).any(|secret| {
        signatures.iter().any(|sig| {
            let mut mac =
                HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
            mac.update(body);
            mac.verify_slice(sig).is_ok()
        })
    })
}

/// The `X-PagerDuty-Signature` value for `body` under `secret`.
pub fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_with_any_current_secret() {
        let body = br#"{"event":{"id":"1"}}"#;
        let secrets = vec!["old".to_owned(), "new".to_owned()];
        assert!(verify_signature(Some(&sign(body, "new")), body, &secrets));
        let rotated = format!("{}, {}", sign(body, "other"), sign(body, "old"));
        assert!(verify_signature(Some(&rotated), body, &secrets));
        assert!(!verify_signature(
            Some(&sign(body, "wrong")),
            body,
            &secrets
        ));
        assert!(!verify_signature(
            Some(&sign(b"tampered", "new")),
            body,
            &secrets
        ));
        assert!(!verify_signature(None, body, &secrets));
        assert!(!verify_signature(Some("v1=zz"), body, &secrets));
        assert!(!verify_signature(
            Some(&sign(body, "")),
            body,
            &["".to_owned()]
        ));
    }
}

use sea_orm::{DatabaseConnection, EntityTrait, Set};
use serde::Deserialize;

use super::{Client, Error, sync, wire};
use crate::entities::webhook_event;
use crate::events::EventBus;

/// The largest webhook body accepted (PagerDuty drops anything over 256 KB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What happened to a delivered event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Applied to our copy.
    Processed,
    /// Already processed (a redelivery).
    Duplicate,
    /// Not an event we act on; acknowledged.
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("the body is not a PagerDuty v3 webhook event: {0}")]
    BadPayload(String),
    #[error(transparent)]
    Sync(#[from] Error),
}

impl From<sea_orm::DbErr> for WebhookError {
    fn from(e: sea_orm::DbErr) -> Self {
        WebhookError::Sync(Error::Db(e))
    }
}

#[derive(Deserialize)]
struct Envelope {
    event: Event,
}

#[derive(Deserialize)]
struct Event {
    id: String,
    event_type: String,
    #[serde(default)]
    occurred_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    data: serde_json::Value,
}

/// The v3 incident payload: `number` and `assignees` where the REST API says
/// `incident_number` and `assignments`.
#[derive(Deserialize)]
struct IncidentData {
    id: String,
    #[serde(default)]
    number: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    status: String,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    incident_key: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    service: Option<wire::Reference>,
    #[serde(default)]
    escalation_policy: Option<wire::Reference>,
    #[serde(default)]
    priority: Option<wire::Reference>,
    #[serde(default)]
    assignees: Vec<wire::Reference>,
}

/// Applies one verified webhook delivery: idempotent by event id; an
/// incident event re-reads that incident through the API when a client is
/// configured (payloads are partial), or applies the payload otherwise;
/// anything else is acknowledged and ignored.
///
/// # Errors
/// A body that is not a v3 event, or a failure to apply it (the sender
/// should retry).
pub async fn handle(
    db: &DatabaseConnection,
    client: Option<&Client>,
    events: &EventBus,
    body: &[u8],
) -> Result<Outcome, WebhookError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
    let event = envelope.event;
    // Claimed before it is applied, so a redelivery racing this one (on this
    // replica or another) is a duplicate rather than a second application.
    let now = chrono::Utc::now();
    let claimed = webhook_event::Entity::insert(webhook_event::ActiveModel {
        id: Set(event.id.clone()),
        event_type: Set(event.event_type.clone()),
        resource_id: Set(event
            .data
            .get("id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)),
        occurred_at: Set(event.occurred_at),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(webhook_event::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if claimed == 0 {
        return Ok(Outcome::Duplicate);
    }
    let id = event.id.clone();
    match apply(db, client, events, event).await {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            // Released, so PagerDuty's retry of this delivery applies it.
            if let Err(d) = webhook_event::Entity::delete_by_id(id.clone())
                .exec(db)
                .await
            {
                tracing::error!(error = %d, event = %id, "releasing a failed webhook event failed");
            }
            Err(e)
        }
    }
}

async fn apply(
    db: &DatabaseConnection,
    client: Option<&Client>,
    events: &EventBus,
    event: Event,
) -> Result<Outcome, WebhookError> {
    let is_incident = event.event_type.starts_with("incident.")
        && event
            .data
            .get("type")
            .and_then(|t| t.as_str())
            .is_some_and(|t| t.starts_with("incident"));
    let incident_id = if event.data.get("type").and_then(|t| t.as_str()) == Some("incident") {
        event
            .data
            .get("id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    } else {
        event
            .data
            .get("incident")
            .and_then(|i| i.get("id"))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let outcome = match (is_incident, incident_id) {
        (true, Some(id)) => {
            match client {
                Some(client) => {
                    let fields = event.event_type == "incident.custom_field_values.updated";
                    sync::refresh_incident(db, client, &id, fields, Some(events.clone())).await?;
                }
                None => {
                    if event.data.get("type").and_then(|t| t.as_str()) != Some("incident") {
                        return Ok(Outcome::Ignored);
                    }
                    let d: IncidentData = serde_json::from_value(event.data.clone())
                        .map_err(|e| WebhookError::BadPayload(e.to_string()))?;
                    let incident = wire::Incident {
                        id: d.id,
                        incident_number: d.number,
                        title: d.title.unwrap_or_default(),
                        description: None,
                        created_at: d.created_at,
                        updated_at: event.occurred_at,
                        status: d.status,
                        urgency: d.urgency,
                        incident_key: d.incident_key,
                        html_url: d.html_url,
                        service: d.service,
                        escalation_policy: d.escalation_policy,
                        priority: d.priority,
                        assignments: d
                            .assignees
                            .into_iter()
                            .map(|assignee| wire::Assignment { at: None, assignee })
                            .collect(),
                        last_status_change_at: event.occurred_at,
                        resolved_at: None,
                        incident_type: None,
                    };
                    sync::write_incident(db, incident, Some(events.clone())).await?;
                }
            }
            Outcome::Processed
        }
        _ => Outcome::Ignored,
    };
    Ok(outcome)
}
