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

use crate::entities::notification;

/// Attempts before a notification is given up (`failed`).
pub const MAX_ATTEMPTS: i32 = 10;

/// How long a claimed notification is kept from other senders.
const LEASE: i64 = 300;

/// Where notifications go (`PAGERLENS_NOTIFY_SLACK_URL`,
/// `PAGERLENS_NOTIFY_WEBHOOK_URL`, and `PAGERLENS_NOTIFY_EMAIL_TO` over
/// `PAGERLENS_SMTP_URL`).
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub slack: Option<String>,
    pub webhook: Option<String>,
    pub email: Option<EmailEndpoint>,
}

/// Email recipients and the SMTP server that reaches them.
#[derive(Clone, Debug)]
pub struct EmailEndpoint {
    pub smtp: crate::mail::MailSettings,
    pub to: Vec<lettre::message::Mailbox>,
}

impl Endpoints {
    pub fn is_empty(&self) -> bool {
        self.slack.is_none() && self.webhook.is_none() && self.email.is_none()
    }
}

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

/// Sends every due notification once.
///
/// # Errors
/// Database errors (a failing endpoint is not an error: the row is retried).
pub async fn deliver_due<C: ConnectionTrait>(
    db: &C,
    endpoints: &Endpoints,
    now: DateTime<Utc>,
) -> Result<Delivered, DbErr> {
    use notification::Column as N;
    let mut done = Delivered::default();
    if endpoints.is_empty() {
        return Ok(done);
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| DbErr::Custom(e.to_string()))?;
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
        match send(&client, endpoints, &n).await {
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
                tracing::error!(notification = n.id, error = %e, "notification given up");
                update
                    .col_expr(N::Status, Expr::value("failed"))
                    .col_expr(N::LastError, Expr::value(e))
                    .exec(db)
                    .await?;
                done.failed += 1;
            }
            Err(e) => {
                tracing::warn!(notification = n.id, error = %e, "notification will be retried");
                update
                    .col_expr(N::NextAttemptAt, Expr::value(now + backoff(attempts)))
                    .col_expr(N::LastError, Expr::value(e))
                    .exec(db)
                    .await?;
                done.retrying += 1;
            }
        }
    }
    Ok(done)
}

async fn send(
    client: &reqwest::Client,
    endpoints: &Endpoints,
    n: &notification::Model,
) -> Result<(), String> {
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
        let resp = client
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("{what}: {}", e.without_url()))?;
        if !resp.status().is_success() {
            return Err(format!("{what} answered {}", resp.status()));
        }
    }
    if let Some(email) = &endpoints.email {
        let text = text(n);
        let subject: String = format!("pagerlens: {}", text.lines().next().unwrap_or(&n.kind))
            .chars()
            .take(150)
            .collect();
        crate::mail::send(&email.smtp, &email.to, &subject, &text, None)
            .await
            .map_err(|e| format!("email: {e}"))?;
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
