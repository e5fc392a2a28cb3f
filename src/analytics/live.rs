//! Live PagerDuty look-ups (who is on call now; an incident not yet
//! synced), through [`crate::cache::Cache::fetch_or_cached`]: when
//! PagerDuty is down the last good answer is served, marked stale.

use chrono::Duration;

use sea_orm::DatabaseConnection;

use crate::cache::{Availability, Cache, Cached};
use crate::pagerduty::{Client, Error, wire};
use crate::scope::Scope;

/// Why a live PagerDuty look-up has no answer.
pub type LiveError = crate::cache::LiveError<Error>;

impl Availability for Error {
    /// Down or unreachable (5xx, timeouts, dropped connections, rate limits
    /// that outlasted the retries): a cached answer may stand in.
    fn unavailable(&self) -> bool {
        self.upstream_unavailable()
    }

    fn service_unavailable(&self) -> bool {
        self.is_service_unavailable()
    }
}

/// Who is on call now for an escalation policy and/or a schedule (every
/// level, earliest entry per user and level, as PagerDuty's `earliest`).
/// A caller limited to some teams asks only about their policies.
///
/// # Errors
/// `Hidden` for a policy outside the scope; PagerDuty's refusal, or
/// unavailability with nothing cached.
pub async fn oncalls_now(
    client: &Client,
    cache: &Cache,
    ttl: Duration,
    (db, scope): (&DatabaseConnection, &Scope),
    escalation_policy: Option<&str>,
    schedule: Option<&str>,
) -> Result<Cached<Vec<wire::Oncall>>, LiveError> {
    if let (Some(ep), false) = (escalation_policy, scope.is_all()) {
        let visible = crate::catalog::find_escalation_policies(db, scope, &[ep.to_owned()])
            .await?
            .contains_key(ep);
        if !visible {
            return Err(LiveError::Hidden(format!("no escalation policy {ep}")));
        }
    }
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
                    source: e.into(),
                }
            })
        })
        .await
}

/// One incident as PagerDuty has it now. A caller limited to some teams
/// sees it only when its service is theirs.
///
/// # Errors
/// `Hidden` outside the scope; PagerDuty's refusal (404 for an unknown
/// id), or unavailability with nothing cached.
pub async fn incident(
    client: &Client,
    cache: &Cache,
    ttl: Duration,
    (db, scope): (&DatabaseConnection, &Scope),
    id: &str,
) -> Result<Cached<wire::Incident>, LiveError> {
    let path = format!("/incidents/{}", urlencoding(id));
    let found = cache
        .fetch_or_cached(&format!("incident|{id}"), "incident", ttl, || async move {
            let v = client.get(&path, &[]).await?;
            serde_json::from_value::<wire::Incident>(v["incident"].clone()).map_err(|e| {
                Error::Decode {
                    path: path.clone(),
                    source: e.into(),
                }
            })
        })
        .await?;
    if !scope.is_all() {
        let visible = match &found.value.service {
            Some(s) => crate::catalog::find_services(db, scope, std::slice::from_ref(&s.id))
                .await?
                .contains_key(&s.id),
            None => false,
        };
        if !visible {
            return Err(LiveError::Hidden(format!("no incident {id}")));
        }
    }
    Ok(found)
}

/// Percent-encodes an id for a path segment.
fn urlencoding(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
