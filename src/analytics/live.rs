//! Live PagerDuty look-ups (who is on call now; an incident not yet
//! synced), through [`crate::cache::Cache::fetch_or_cached`]: when
//! PagerDuty is down the last good answer is served, marked stale.

use chrono::Duration;

use crate::cache::{Cache, Cached, LiveError};
use crate::pagerduty::{Client, Error, wire};

/// Who is on call now for an escalation policy and/or a schedule (every
/// level, earliest entry per user and level, as PagerDuty's `earliest`).
///
/// # Errors
/// PagerDuty's refusal, or unavailability with nothing cached.
pub async fn oncalls_now(
    client: &Client,
    cache: &Cache,
    ttl: Duration,
    escalation_policy: Option<&str>,
    schedule: Option<&str>,
) -> Result<Cached<Vec<wire::Oncall>>, LiveError> {
    let key = format!(
        "oncalls|{}|{}",
        escalation_policy.unwrap_or("*"),
        schedule.unwrap_or("*")
    );
    let mut query: Vec<(String, String)> = vec![
        ("earliest".into(), "true".into()),
        ("time_zone".into(), "UTC".into()),
        ("limit".into(), "100".into()),
    ];
    if let Some(ep) = escalation_policy {
        query.push(("escalation_policy_ids[]".into(), ep.to_owned()));
    }
    if let Some(s) = schedule {
        query.push(("schedule_ids[]".into(), s.to_owned()));
    }
    cache
        .fetch_or_cached(&key, "oncalls", ttl, || async move {
            let v = client.get("/oncalls", &query).await?;
            serde_json::from_value::<Vec<wire::Oncall>>(v["oncalls"].clone()).map_err(|e| {
                Error::Decode {
                    path: "/oncalls".into(),
                    message: e.to_string(),
                }
            })
        })
        .await
}

/// One incident as PagerDuty has it now.
///
/// # Errors
/// PagerDuty's refusal (404 for an unknown id), or unavailability with
/// nothing cached.
pub async fn incident(
    client: &Client,
    cache: &Cache,
    ttl: Duration,
    id: &str,
) -> Result<Cached<wire::Incident>, LiveError> {
    let path = format!("/incidents/{}", urlencoding(id));
    cache
        .fetch_or_cached(&format!("incident|{id}"), "incident", ttl, || async move {
            let v = client.get(&path, &[]).await?;
            serde_json::from_value::<wire::Incident>(v["incident"].clone()).map_err(|e| {
                Error::Decode {
                    path: path.clone(),
                    message: e.to_string(),
                }
            })
        })
        .await
}

/// Percent-encodes an id for a path segment.
fn urlencoding(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
