//! One incident re-read or written as a webhook asks, outside a run.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::*;

/// Re-reads one incident from PagerDuty (the incident, its whole log, and
/// optionally its custom fields) and writes it, as a webhook asks.
///
/// # Errors
/// As [`run`], without a run record.
pub async fn refresh_incident(
    db: &DatabaseConnection,
    client: &Client,
    id: &str,
    custom_fields: bool,
    events: Option<EventBus>,
) -> Result<(), Error> {
    let mut opts = SyncOptions::new(SyncKind::Incremental, "webhook");
    opts.events = events;
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    let mut run = Run::new(db, db, client, &opts, now);
    let body = client.get(&format!("/incidents/{id}"), &[]).await?;
    let incident: wire::Incident = serde_json::from_value(
        body.get("incident").cloned().unwrap_or(Value::Null),
    )
    .map_err(|e| Error::Decode {
        path: format!("/incidents/{id}"),
        source: e.into(),
    })?;
    let service = incident.service.as_ref().map(|s| s.id.clone());
    let txn = crate::db::begin_write(db).await?;
    let changed = run.write_incidents(&txn, vec![incident], true).await?;
    txn.commit().await?;
    run.incident_log_entries(&[id.to_owned()]).await?;
    if custom_fields {
        run.custom_fields(vec![id.to_owned()]).await?;
    }
    run.measure_deferred().await?;
    let services: HashMap<String, Option<String>> =
        [(id.to_owned(), service)].into_iter().collect();
    run.announce(&changed, &services);
    Ok(())
}

/// Writes an incident as a webhook payload describes it (when no API token
/// is configured to re-read it).
///
/// # Errors
/// Database errors.
pub async fn write_incident(
    db: &DatabaseConnection,
    incident: wire::Incident,
    events: Option<EventBus>,
) -> Result<(), Error> {
    let mut opts = SyncOptions::new(SyncKind::Incremental, "webhook");
    opts.events = events;
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    // No PagerDuty call is made: the payload is written as it came.
    let client = Client::new(crate::pagerduty::ClientConfig::new(
        "http://127.0.0.1:9",
        "unused",
    ))?;
    let mut run = Run::new(db, db, &client, &opts, now);
    run.deferred = None;
    let id = incident.id.clone();
    let service = incident.service.as_ref().map(|s| s.id.clone());
    let txn = crate::db::begin_write(db).await?;
    let changed = run.write_incidents(&txn, vec![incident], true).await?;
    store::derive_incident_timing(&txn, std::slice::from_ref(&id), now).await?;
    crate::sla::refresh(&txn, &opts.sla, std::slice::from_ref(&id), false, now).await?;
    crate::incidents::facts::refresh(&txn, &opts.facts, std::slice::from_ref(&id), now).await?;
    txn.commit().await?;
    let services: HashMap<String, Option<String>> = [(id, service)].into_iter().collect();
    run.announce(&changed, &services);
    Ok(())
}
