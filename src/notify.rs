//! Delivery of the notification outbox (SLA breaches and warnings, …) to a
//! Slack-compatible incoming webhook and a generic JSON webhook. Each due
//! row is claimed with a conditional update (a lease), sent, and marked
//! `sent`; a failing endpoint never blocks the check that queued it and
//! never loses the notification: the row is retried with back-off and only
//! marked `failed` after [`MAX_ATTEMPTS`]. Delivery is at least once per
//! endpoint (a retry after a partial failure may repeat a message).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::config::NotifyEndpoints;
use crate::entities::notification;

/// Attempts before a notification is given up (`failed`).
pub const MAX_ATTEMPTS: i32 = 10;

/// How long a claimed notification is kept from other senders.
const LEASE: i64 = 300;

/// What one delivery pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Delivered {
    pub sent: u64,
    pub retrying: u64,
    pub failed: u64,
}

/// The delay before attempt `attempts + 1`: 30 s, 1 min, 2 min, … at most 1 h.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 16) - 1;
    Duration::seconds(std::cmp::Ord::min(30i64 << exp, 3600))
}

/// The one-line text of a notification (Slack's `text`).
pub fn text(n: &notification::Model) -> String {
    let p: serde_json::Value = serde_json::from_str(&n.payload).unwrap_or_default();
    let s = |k: &str| p[k].as_str().unwrap_or("?").to_owned();
    match n.kind.as_str() {
        "sla_breached" => format!(
            "SLA breached: the {} target of incident {} (policy {}) passed its deadline {}",
            s("target"),
            s("incident_id"),
            s("policy"),
            s("deadline")
        ),
        "sla_at_risk" => format!(
            "SLA at risk: {:.0}% of the {} target of incident {} (policy {}) is used; deadline {}",
            p["share"].as_f64().unwrap_or(0.0) * 100.0,
            s("target"),
            s("incident_id"),
            s("policy"),
            s("deadline")
        ),
        "incident_created" => format!(
            "Incident {} created by {}: {} ({} urgency)",
            s("incident_id"),
            s("by"),
            s("title"),
            s("urgency")
        ),
        "incident_resolved" => format!(
            "Incident {} resolved by {}: {}",
            s("incident_id"),
            s("by"),
            s("title")
        ),
        other => format!("pagerlens {other}: {}", n.payload),
    }
}

/// Why a notification was not delivered (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the {what} could not be reached")]
    Post {
        what: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("the {what} answered {status}")]
    Status {
        what: &'static str,
        status: reqwest::StatusCode,
    },
    #[error("email")]
    Mail(#[from] crate::mail::MailError),
}

/// Where notifications go, with the HTTP client and SMTP transport that
/// reach them, built once.
#[derive(Clone, Debug)]
pub struct Notifier {
    endpoints: NotifyEndpoints,
    mailer: Option<crate::mail::Mailer>,
    http: reqwest::Client,
}

impl Notifier {
    /// # Errors
    /// The SMTP URL cannot be used.
    pub fn new(endpoints: &NotifyEndpoints) -> Result<Self, crate::mail::MailError> {
        Ok(Self {
            endpoints: endpoints.clone(),
            mailer: endpoints
                .email
                .as_ref()
                .map(|e| crate::mail::Mailer::new(&e.smtp))
                .transpose()?,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        })
    }

    /// Whether any endpoint is configured.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }
}

/// Sends every due notification once.
///
/// # Errors
/// Database errors (a failing endpoint is not an error: the row is retried).
pub async fn deliver_due<C: ConnectionTrait>(
    db: &C,
    notifier: &Notifier,
    now: DateTime<Utc>,
) -> Result<Delivered, DbErr> {
    use notification::Column as N;
    let mut done = Delivered::default();
    if notifier.is_empty() {
        return Ok(done);
    }
    let due = notification::Entity::find()
        .filter(N::Status.eq("pending"))
        .filter(N::NextAttemptAt.lte(now))
        .order_by_asc(N::Id)
        .limit(500)
        .all(db)
        .await?;
    for n in due {
        // Claim it: only the sender whose update matched sends it.
        let claimed = notification::Entity::update_many()
            .col_expr(
                N::NextAttemptAt,
                Expr::value(now + Duration::seconds(LEASE)),
            )
            .filter(N::Id.eq(n.id))
            .filter(N::Status.eq("pending"))
            .filter(N::NextAttemptAt.eq(n.next_attempt_at))
            .exec(db)
            .await?;
        if claimed.rows_affected == 0 {
            continue;
        }
        let attempts = n.attempts + 1;
        let update = notification::Entity::update_many()
            .col_expr(N::Attempts, Expr::value(attempts))
            .col_expr(N::UpdatedAt, Expr::value(now))
            .filter(N::Id.eq(n.id));
        match send(notifier, &n).await {
            Ok(()) => {
                update
                    .col_expr(N::Status, Expr::value("sent"))
                    .col_expr(N::SentAt, Expr::value(now))
                    .col_expr(N::LastError, Expr::value(Option::<String>::None))
                    .exec(db)
                    .await?;
                done.sent += 1;
            }
            Err(e) if attempts >= MAX_ATTEMPTS => {
                let error = crate::telemetry::error_chain(&e);
                tracing::error!(notification = n.id, error = %error, "notification given up");
                update
                    .col_expr(N::Status, Expr::value("failed"))
                    .col_expr(N::LastError, Expr::value(error))
                    .exec(db)
                    .await?;
                done.failed += 1;
            }
            Err(e) => {
                let error = crate::telemetry::error_chain(&e);
                tracing::warn!(notification = n.id, error = %error, "notification will be retried");
                update
                    .col_expr(N::NextAttemptAt, Expr::value(now + backoff(attempts)))
                    .col_expr(N::LastError, Expr::value(error))
                    .exec(db)
                    .await?;
                done.retrying += 1;
            }
        }
    }
    Ok(done)
}

async fn send(notifier: &Notifier, n: &notification::Model) -> Result<(), SendError> {
    let endpoints = &notifier.endpoints;
    let payload: serde_json::Value = serde_json::from_str(&n.payload).unwrap_or_default();
    let mut posts = Vec::new();
    if let Some(url) = &endpoints.slack {
        posts.push(("Slack webhook", url, serde_json::json!({"text": text(n)})));
    }
    if let Some(url) = &endpoints.webhook {
        posts.push((
            "webhook",
            url,
            serde_json::json!({"id": n.id, "kind": n.kind, "created_at": n.created_at,
                "text": text(n), "data": payload}),
        ));
    }
    for (what, url, body) in posts {
        let resp = notifier
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::Post {
                what,
                source: e.without_url(),
            })?;
        if !resp.status().is_success() {
            return Err(SendError::Status {
                what,
                status: resp.status(),
            });
        }
    }
    if let (Some(email), Some(mailer)) = (&endpoints.email, &notifier.mailer) {
        let text = text(n);
        let subject: String = format!("pagerlens: {}", text.lines().next().unwrap_or(&n.kind))
            .chars()
            .take(150)
            .collect();
        mailer.send(&email.to, &subject, &text, None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(9), Duration::seconds(3600));
        assert!(backoff(2) > backoff(1));
    }

    #[test]
    fn texts_say_what_happened() {
        let n = notification::Model {
            id: 1,
            kind: "sla_breached".into(),
            incident_id: Some("PI1".into()),
            payload: r#"{"target":"response","incident_id":"PI1","policy":"critical","deadline":"2026-11-23T10:00:00Z"}"#.into(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: Utc::now(),
            last_error: None,
            sent_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let t = text(&n);
        assert!(
            t.contains("breached") && t.contains("PI1") && t.contains("critical"),
            "{t}"
        );
    }
}
