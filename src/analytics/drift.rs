//! The drift check: PagerDuty's own raw incident analytics
//! (`POST /analytics/raw/incidents`) against the facts pagerlens derived
//! ([`crate::incidents::facts`]), field by field, per incident.
//!
//! PagerDuty's rows are fetched incrementally (`updated_after` the newest
//! one kept, 1,000 per call, through the sync's client and its request
//! budget) into `pagerduty_incident_analytics`; every run, from the CLI or
//! the `analytics_drift` job, stores its report in `analytics_drift_runs`.
//! A mismatch says its likely cause; causes that are PagerDuty's refresh
//! lag do not fail the check.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, Func, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::FactsSettings;
use crate::entities::{
    analytics_drift_run, incident, incident_analytics, incident_log_entry,
    pagerduty_incident_analytics as pia,
};
use crate::pagerduty::Client;

/// The raw fields compared, by PagerDuty's names.
pub const FIELDS: [&str; 25] = [
    "status",
    "urgency",
    "priority_id",
    "service_id",
    "escalation_policy_id",
    "seconds_to_first_ack",
    "seconds_to_resolve",
    "seconds_to_engage",
    "seconds_to_mobilize",
    "engaged_seconds",
    "engaged_user_count",
    "acknowledgement_count",
    "assignment_count",
    "escalation_count",
    "manual_escalation_count",
    "timeout_escalation_count",
    "reassignment_count",
    "auto_resolved",
    "snoozed_seconds",
    "total_notifications",
    "total_interruptions",
    "business_hour_interruptions",
    "off_hour_interruptions",
    "sleep_hour_interruptions",
    "major",
];

/// Counts that a log entry missing from pagerlens's copy would lower.
const LOG_COUNTS: [&str; 10] = [
    "acknowledgement_count",
    "assignment_count",
    "escalation_count",
    "manual_escalation_count",
    "timeout_escalation_count",
    "reassignment_count",
    "total_notifications",
    "total_interruptions",
    "engaged_user_count",
    "snoozed_seconds",
];

/// Longest range checked: PagerDuty's one-year filter span.
pub const MAX_DAYS: i64 = 365;

/// Page size: PagerDuty's largest.
const PAGE: usize = 1000;

pub const NOT_REFRESHED: &str = "PagerDuty not yet refreshed";
pub const CHANGED_AFTER: &str = "incident changed after PagerDuty's snapshot";
pub const LOG_MISSING: &str = "log entry missing";
pub const NOT_SYNCED: &str = "incident not yet synced to pagerlens";
pub const MAJOR_CONFIG: &str = "PAGERLENS_MAJOR_PRIORITIES differs from PagerDuty's rule";
pub const DEFINITIONS: &str = "definitions differ";

/// One field of one incident that differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    pub incident_id: String,
    /// PagerDuty's field name, or `incident` for an incident one side lacks.
    pub field: String,
    pub ours: Value,
    pub pagerduty: Value,
    pub cause: String,
    /// The cause is PagerDuty's refresh lag: it does not fail the check.
    pub lag: bool,
}

/// One run's report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub id: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub range_from: DateTime<Utc>,
    pub range_to: DateTime<Utc>,
    pub incidents_compared: i64,
    pub fields_compared: i64,
    pub api_calls: i64,
    pub mismatches: Vec<Mismatch>,
    /// Nothing differs beyond PagerDuty's refresh lag.
    pub ok: bool,
    /// `cli` or `schedule` (the job).
    pub trigger: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    PagerDuty(#[from] crate::pagerduty::Error),
    #[error("PagerDuty's raw analytics could not be read: {0}")]
    Decode(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default)]
    data: Vec<Value>,
    #[serde(default)]
    more: bool,
    #[serde(default)]
    last: Option<String>,
}

/// A time of a raw row: RFC 3339, or (as the OpenAPI document's own
/// examples send) without an offset, in the time zone asked for: UTC.
fn time_of(v: &Value, field: &str) -> Option<DateTime<Utc>> {
    let s = v.get(field)?.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// What the check reads of a raw row: its id, creation and PagerDuty's
/// analytics `updated_at` (the creation when absent).
///
/// # Errors
/// A row without an id or a readable `created_at`.
pub fn read_row(raw: &Value) -> Result<(String, DateTime<Utc>, DateTime<Utc>), DriftError> {
    let id = raw
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| DriftError::Decode("a row without an id".into()))?;
    let created = time_of(raw, "created_at")
        .ok_or_else(|| DriftError::Decode(format!("{id}: no readable created_at")))?;
    Ok((
        id.to_owned(),
        created,
        time_of(raw, "updated_at").unwrap_or(created),
    ))
}

/// Fetches PagerDuty's raw rows of incidents created in `[from, to)` and
/// updated after what is kept (all of them when the last complete run
/// covered less), keeping each. Returns the calls made.
async fn fetch<C: ConnectionTrait>(
    db: &C,
    client: &Client,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<i64, DriftError> {
    let covered = analytics_drift_run::Entity::find()
        .filter(analytics_drift_run::Column::RangeFrom.lte(from))
        .order_by_desc(analytics_drift_run::Column::Id)
        .one(db)
        .await?
        .is_some();
    let watermark: Option<DateTime<Utc>> = if covered {
        pia::Entity::find()
            .select_only()
            .expr(Func::max(Expr::col(pia::Column::PdUpdatedAt)))
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(db)
            .await?
            .flatten()
    } else {
        None
    };
    let mut filters = json!({
        "created_at_start": from.to_rfc3339(),
        "created_at_end": to.to_rfc3339(),
    });
    // A minute of overlap: a row updated in the same instant as the newest
    // one kept, after it was fetched, is not lost (rows are upserted).
    if let Some(w) = watermark {
        filters["updated_after"] = json!((w - Duration::minutes(1)).to_rfc3339());
    }
    let mut cursor: Option<String> = None;
    let mut calls = 0;
    loop {
        let mut body = json!({
            "filters": filters,
            "limit": PAGE,
            "order": "asc",
            "order_by": "created_at",
            "time_zone": "Etc/UTC",
        });
        if let Some(c) = &cursor {
            body["starting_after"] = json!(c);
        }
        let page: RawPage = client
            .send_as("/analytics/raw/incidents", |http, url| {
                http.post(url).json(&body)
            })
            .await?;
        calls += 1;
        let mut rows = Vec::with_capacity(page.data.len());
        for raw in &page.data {
            let (id, created, updated) = read_row(raw)?;
            rows.push(
                pia::Model {
                    incident_id: id,
                    pd_updated_at: updated,
                    created_at: created,
                    raw: raw.to_string(),
                    fetched_at: now,
                }
                .into_active_model(),
            );
        }
        crate::db::bulk::insert(
            db,
            rows,
            Some(
                OnConflict::column(pia::Column::IncidentId)
                    .update_columns([
                        pia::Column::PdUpdatedAt,
                        pia::Column::CreatedAt,
                        pia::Column::Raw,
                        pia::Column::FetchedAt,
                    ])
                    .to_owned(),
            ),
            100,
        )
        .await?;
        match (page.more, page.last) {
            (true, Some(last)) if !page.data.is_empty() => cursor = Some(last),
            _ => return Ok(calls),
        }
    }
}

/// Our value of each compared field.
fn ours(inc: &incident::Model, f: &incident_analytics::Model) -> BTreeMap<&'static str, Value> {
    let pairs: [(&str, Value); 25] = [
        ("status", json!(inc.status)),
        ("urgency", json!(inc.urgency)),
        ("priority_id", json!(inc.priority_id)),
        ("service_id", json!(inc.service_id)),
        ("escalation_policy_id", json!(inc.escalation_policy_id)),
        ("seconds_to_first_ack", json!(f.seconds_to_first_ack)),
        ("seconds_to_resolve", json!(f.seconds_to_resolve)),
        ("seconds_to_engage", json!(f.seconds_to_engage)),
        ("seconds_to_mobilize", json!(f.seconds_to_mobilize)),
        ("engaged_seconds", json!(f.engaged_seconds)),
        ("engaged_user_count", json!(f.engaged_user_count)),
        ("acknowledgement_count", json!(f.acknowledgement_count)),
        ("assignment_count", json!(f.assignment_count)),
        ("escalation_count", json!(f.escalation_count)),
        ("manual_escalation_count", json!(f.manual_escalation_count)),
        (
            "timeout_escalation_count",
            json!(f.timeout_escalation_count),
        ),
        ("reassignment_count", json!(f.reassignment_count)),
        ("auto_resolved", json!(f.auto_resolved)),
        ("snoozed_seconds", json!(f.snoozed_seconds)),
        ("total_notifications", json!(f.total_notifications)),
        ("total_interruptions", json!(f.total_interruptions)),
        (
            "business_hour_interruptions",
            json!(f.business_hour_interruptions),
        ),
        ("off_hour_interruptions", json!(f.off_hour_interruptions)),
        (
            "sleep_hour_interruptions",
            json!(f.sleep_hour_interruptions),
        ),
        ("major", json!(f.major)),
    ];
    pairs.into_iter().collect()
}

/// Whether two values are the same figure (1 and 1.0 are).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The likely cause of one difference (pure).
pub fn cause(
    field: &str,
    ours: &Value,
    theirs: &Value,
    changed_after_snapshot: bool,
    major_configured: bool,
) -> (&'static str, bool) {
    if changed_after_snapshot {
        return (CHANGED_AFTER, true);
    }
    let lower = matches!((ours.as_f64(), theirs.as_f64()), (Some(o), Some(t)) if o < t);
    if LOG_COUNTS.contains(&field) && lower {
        return (LOG_MISSING, false);
    }
    if field == "major" && major_configured {
        return (MAJOR_CONFIG, false);
    }
    (DEFINITIONS, false)
}

/// Runs one check over the incidents created in the last `days` days:
/// fetches what PagerDuty changed, compares, stores and returns the report.
///
/// # Errors
/// A range out of bounds; PagerDuty or database failures (no report is
/// stored then).
pub async fn run<C: ConnectionTrait>(
    db: &C,
    client: &Client,
    settings: &FactsSettings,
    days: i64,
    trigger: &str,
    now: DateTime<Utc>,
) -> Result<DriftReport, DriftError> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(DriftError::Invalid(format!(
            "days: from 1 to {MAX_DAYS} (PagerDuty's one-year span), not {days}"
        )));
    }
    let started_at = now;
    let (from, to) = (now - Duration::days(days), now);
    let api_calls = fetch(db, client, from, to, now).await?;
    crate::incidents::facts::refresh_stale(db, settings, now).await?;

    let theirs: HashMap<String, pia::Model> = pia::Entity::find()
        .filter(pia::Column::CreatedAt.gte(from))
        .filter(pia::Column::CreatedAt.lt(to))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.incident_id.clone(), r))
        .collect();
    let incidents: HashMap<String, incident::Model> = incident::Entity::find()
        .filter(incident::Column::CreatedAt.gte(from))
        .filter(incident::Column::CreatedAt.lt(to))
        .filter(incident::Column::DeletedAt.is_null())
        .filter(incident::Column::Source.eq("pagerduty"))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    let ids: Vec<String> = incidents.keys().cloned().collect();
    let facts = crate::incidents::facts::load(db, &ids).await?;
    // The last time pagerlens saw each incident change (its log).
    let mut last_change: HashMap<String, DateTime<Utc>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, Option<DateTime<Utc>>)> = incident_log_entry::Entity::find()
            .select_only()
            .column(incident_log_entry::Column::IncidentId)
            .expr(Func::max(Expr::col(incident_log_entry::Column::CreatedAt)))
            .filter(incident_log_entry::Column::IncidentId.is_in(chunk.to_vec()))
            .group_by(incident_log_entry::Column::IncidentId)
            .into_tuple()
            .all(db)
            .await?;
        for (id, at) in rows {
            if let Some(at) = at {
                last_change.insert(id, at);
            }
        }
    }
    let all: BTreeSet<&String> = incidents.keys().chain(theirs.keys()).collect();
    let mut mismatches = Vec::new();
    let mut compared = 0i64;
    let major_configured = !settings.major_priorities.is_empty();
    for id in all {
        let (Some(inc), Some(pd)) = (incidents.get(id), theirs.get(id)) else {
            let ours_present = incidents.contains_key(id);
            mismatches.push(Mismatch {
                incident_id: id.clone(),
                field: "incident".into(),
                ours: json!(ours_present),
                pagerduty: json!(!ours_present),
                cause: if ours_present {
                    NOT_REFRESHED
                } else {
                    NOT_SYNCED
                }
                .into(),
                lag: ours_present,
            });
            continue;
        };
        let Some(f) = facts.get(id) else {
            continue;
        };
        let raw: Value =
            serde_json::from_str(&pd.raw).map_err(|e| DriftError::Decode(format!("{id}: {e}")))?;
        compared += 1;
        let changed_after = inc
            .pd_updated_at
            .into_iter()
            .chain(last_change.get(id).copied())
            .max()
            // PagerDuty's analytics stamps are whole seconds.
            .is_some_and(|t| t.timestamp() > pd.pd_updated_at.timestamp());
        for (field, mine) in ours(inc, f) {
            let other = raw.get(field).cloned().unwrap_or(Value::Null);
            if same(&mine, &other) {
                continue;
            }
            let (why, lag) = cause(field, &mine, &other, changed_after, major_configured);
            mismatches.push(Mismatch {
                incident_id: id.clone(),
                field: field.to_owned(),
                ours: mine,
                pagerduty: other,
                cause: why.to_owned(),
                lag,
            });
        }
    }
    let ok = mismatches.iter().all(|m| m.lag);
    let finished_at = Utc::now().max(started_at);
    let saved = analytics_drift_run::ActiveModel {
        started_at: Set(started_at),
        finished_at: Set(finished_at),
        range_from: Set(from),
        range_to: Set(to),
        incidents_compared: Set(compared),
        fields_compared: Set(compared * FIELDS.len() as i64),
        api_calls: Set(api_calls),
        mismatches: Set(serde_json::to_string(&mismatches).unwrap_or_else(|_| "[]".into())),
        ok: Set(ok),
        trigger: Set(trigger.to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(DriftReport {
        id: saved.id,
        started_at,
        finished_at,
        range_from: from,
        range_to: to,
        incidents_compared: compared,
        fields_compared: saved.fields_compared,
        api_calls,
        mismatches,
        ok,
        trigger: trigger.to_owned(),
    })
}

/// The latest stored report.
///
/// # Errors
/// Database errors only.
pub async fn latest<C: ConnectionTrait>(db: &C) -> Result<Option<DriftReport>, DbErr> {
    let Some(r) = analytics_drift_run::Entity::find()
        .order_by_desc(analytics_drift_run::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(DriftReport {
        id: r.id,
        started_at: r.started_at,
        finished_at: r.finished_at,
        range_from: r.range_from,
        range_to: r.range_to,
        incidents_compared: r.incidents_compared,
        fields_compared: r.fields_compared,
        api_calls: r.api_calls,
        mismatches: serde_json::from_str(&r.mismatches)
            .map_err(|e| DbErr::Custom(format!("a stored drift report: {e}")))?,
        ok: r.ok,
        trigger: r.trigger,
    }))
}

/// The report as the CLI prints it: a summary line and one line per
/// mismatch (incident, field, ours, PagerDuty's, cause).
pub fn table(r: &DriftReport) -> String {
    let mut out = format!(
        "compared {} incidents ({} fields) created {} to {}; {} PagerDuty call(s); {} mismatch(es)\n",
        r.incidents_compared,
        r.fields_compared,
        r.range_from.format("%Y-%m-%d %H:%M"),
        r.range_to.format("%Y-%m-%d %H:%M"),
        r.api_calls,
        r.mismatches.len(),
    );
    if !r.mismatches.is_empty() {
        out.push_str(&format!(
            "{:<16} {:<28} {:>12} {:>12}  {}\n",
            "incident", "field", "ours", "pagerduty", "cause"
        ));
        for m in &r.mismatches {
            out.push_str(&format!(
                "{:<16} {:<28} {:>12} {:>12}  {}\n",
                m.incident_id, m.field, m.ours, m.pagerduty, m.cause
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_by_precedence() {
        assert_eq!(
            cause("total_notifications", &json!(1), &json!(2), true, false),
            (CHANGED_AFTER, true)
        );
        assert_eq!(
            cause("total_notifications", &json!(1), &json!(2), false, false),
            (LOG_MISSING, false)
        );
        assert_eq!(
            cause("total_notifications", &json!(3), &json!(2), false, false),
            (DEFINITIONS, false)
        );
        assert_eq!(
            cause("major", &json!(true), &json!(false), false, true),
            (MAJOR_CONFIG, false)
        );
        assert_eq!(
            cause(
                "seconds_to_first_ack",
                &json!(null),
                &json!(5),
                false,
                false
            ),
            (DEFINITIONS, false)
        );
    }

    #[test]
    fn numbers_compare_as_figures() {
        assert!(same(&json!(1), &json!(1.0)));
        assert!(same(&json!(null), &json!(null)));
        assert!(!same(&json!(null), &json!(0)));
        assert!(!same(&json!("high"), &json!("low")));
    }
}
