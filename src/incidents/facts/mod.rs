//! PagerDuty's per-incident analytics (`/analytics/raw/incidents`), derived
//! from an incident's log entries: the one definition of every such fact
//! (docs/metrics.md, "Incident analytics"). [`compute`] is pure; [`refresh`]
//! derives and stores the facts of some incidents (the sync calls it with
//! the incidents whose log changed), [`refresh_stale`] those never derived
//! or derived under other settings. Every consumer (GraphQL, the BI view,
//! `incidentMetrics`, the drift check) reads the stored rows.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, Iterable, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::entities::{
    incident, incident_analytics, incident_log_entry, incident_responder_analytics as ira,
    priority, user,
};

mod responders;
use crate::tz::Window;
pub use responders::ResponderFacts;
mod windows;
pub use windows::Windows;

/// Bumped whenever a definition below changes, so stored rows are derived
/// again.
const DEFINITIONS: u32 = 1;

pub use crate::config::FactsSettings;

/// The version stored with each row: the definitions, the settings and
/// the interruption windows in force.
pub fn version(settings: &FactsSettings, windows: &Windows) -> String {
    let mut names = settings.major_priorities.clone();
    names.sort();
    format!(
        "{DEFINITIONS};{};{}",
        names.join(","),
        windows.fingerprint()
    )
}

/// Which window an instant falls in for a user.
pub type WindowOf<'a> = &'a dyn Fn(&str, DateTime<Utc>) -> Window;

/// The ids of the major priorities, from the synced priority list (in
/// PagerDuty's order, most severe first).
async fn major_ids<C: ConnectionTrait>(
    settings: &FactsSettings,
    db: &C,
) -> Result<HashSet<String>, DbErr> {
    {
        let all = priority::Entity::find()
            .order_by_asc(priority::Column::Position)
            .order_by_asc(priority::Column::Id)
            .all(db)
            .await?;
        Ok(if settings.major_priorities.is_empty() {
            all.into_iter()
                .filter(|p| p.deleted_at.is_none())
                .take(2)
                .map(|p| p.id)
                .collect()
        } else {
            all.into_iter()
                .filter(|p| settings.major_priorities.iter().any(|n| n == &p.name))
                .map(|p| p.id)
                .collect()
        })
    }
}

/// The parts of an incident the facts use.
#[derive(Clone, Debug)]
pub struct FactIncident {
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub priority_id: Option<String>,
}

/// The parts of a log entry the facts use.
#[derive(Clone, Debug)]
pub struct FactEntry {
    pub id: String,
    pub kind: String,
    pub agent_type: Option<String>,
    pub agent_id: Option<String>,
    pub channel_type: Option<String>,
    /// The notified user of a notification.
    pub user_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl FactEntry {
    fn by_user(&self) -> Option<&str> {
        self.agent_type
            .as_deref()
            .filter(|a| a.starts_with("user"))
            .and(self.agent_id.as_deref())
    }
}

/// One incident's analytics, PagerDuty's raw fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub seconds_to_first_ack: Option<i64>,
    pub seconds_to_resolve: Option<i64>,
    pub seconds_to_engage: Option<i64>,
    pub seconds_to_mobilize: Option<i64>,
    pub engaged_seconds: Option<i64>,
    pub engaged_user_count: i64,
    pub acknowledgement_count: i64,
    pub assignment_count: i64,
    pub escalation_count: i64,
    pub manual_escalation_count: i64,
    pub timeout_escalation_count: i64,
    pub reassignment_count: i64,
    pub snoozed_seconds: i64,
    pub total_notifications: i64,
    pub total_interruptions: i64,
    pub business_hour_interruptions: i64,
    pub off_hour_interruptions: i64,
    pub sleep_hour_interruptions: i64,
    pub auto_resolved: bool,
    pub major: bool,
    /// Users who engaged (acknowledged), in order of engagement.
    pub joined_user_ids: Vec<String>,
}

pub(super) fn secs(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds()
}

/// An incident's facts and every user's part in it, from its log (any
/// order).
pub fn derive(
    inc: &FactIncident,
    entries: &[FactEntry],
    window_of: WindowOf<'_>,
    major_ids: &HashSet<String>,
) -> (Facts, Vec<ResponderFacts>) {
    let mut sorted: Vec<&FactEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    (
        compute(inc, entries, window_of, major_ids),
        responders::derive(inc, &sorted, window_of),
    )
}

/// Derives an incident's facts from its log (any order). `window_of` gives
/// the window of an instant for a user; `major_ids` are the major priorities' ids.
pub fn compute(
    inc: &FactIncident,
    entries: &[FactEntry],
    window_of: WindowOf<'_>,
    major_ids: &HashSet<String>,
) -> Facts {
    let mut sorted: Vec<&FactEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut f = Facts {
        assignment_count: 1,
        ..Facts::default()
    };
    let mut engaged: Vec<(String, DateTime<Utc>)> = Vec::new();
    let mut interrupted: HashSet<(&str, i64)> = HashSet::new();
    let mut snoozed_since: Option<DateTime<Utc>> = None;
    let mut last_resolve: Option<&FactEntry> = None;
    for e in &sorted {
        let kind = e.kind.as_str();
        if let Some(since) = snoozed_since
            && matches!(
                kind,
                "acknowledge_log_entry"
                    | "unacknowledge_log_entry"
                    | "resolve_log_entry"
                    | "snooze_log_entry"
            )
        {
            f.snoozed_seconds += secs(since, e.created_at).max(0);
            snoozed_since = None;
        }
        match kind {
            "acknowledge_log_entry" => {
                f.acknowledgement_count += 1;
                if f.seconds_to_first_ack.is_none() {
                    f.seconds_to_first_ack = Some(secs(inc.created_at, e.created_at));
                }
                if let Some(u) = e.by_user()
                    && !engaged.iter().any(|(id, _)| id == u)
                {
                    engaged.push((u.to_owned(), e.created_at));
                }
            }
            "escalate_log_entry" => {
                f.escalation_count += 1;
                if e.channel_type.as_deref() == Some("timeout") {
                    f.timeout_escalation_count += 1;
                } else {
                    f.manual_escalation_count += 1;
                }
            }
            "assign_log_entry" => f.reassignment_count += 1,
            "snooze_log_entry" => snoozed_since = Some(e.created_at),
            "resolve_log_entry" => last_resolve = Some(e),
            "notify_log_entry" => {
                f.total_notifications += 1;
                if let Some(u) = e.user_id.as_deref()
                    && interrupted.insert((u, e.created_at.timestamp()))
                {
                    match window_of(u, e.created_at) {
                        Window::Business => f.business_hour_interruptions += 1,
                        Window::Off => f.off_hour_interruptions += 1,
                        Window::Sleep => f.sleep_hour_interruptions += 1,
                    }
                }
            }
            _ => {}
        }
    }
    f.total_interruptions =
        f.business_hour_interruptions + f.off_hour_interruptions + f.sleep_hour_interruptions;
    f.assignment_count += f.escalation_count + f.reassignment_count;
    f.engaged_user_count = engaged.len() as i64;
    if engaged.len() >= 2 {
        let first = engaged.first().map(|e| e.1).unwrap_or(inc.created_at);
        let last = engaged.last().map(|e| e.1).unwrap_or(inc.created_at);
        f.seconds_to_engage = Some(secs(first, last));
        f.seconds_to_mobilize = Some(secs(inc.created_at, last));
    }
    if let Some(resolved) = inc.resolved_at {
        f.seconds_to_resolve = Some(secs(inc.created_at, resolved));
        f.engaged_seconds = Some(
            engaged
                .iter()
                .map(|(_, at)| secs(*at, resolved).max(0))
                .sum(),
        );
        f.auto_resolved = last_resolve.is_some_and(|e| e.by_user().is_none());
    }
    f.major = inc
        .priority_id
        .as_ref()
        .is_some_and(|p| major_ids.contains(p))
        || engaged.len() >= 2;
    f.joined_user_ids = engaged.into_iter().map(|(u, _)| u).collect();
    f
}

impl Facts {
    fn into_row(
        self,
        incident_id: String,
        version: &str,
        now: DateTime<Utc>,
    ) -> incident_analytics::Model {
        incident_analytics::Model {
            incident_id,
            version: version.to_owned(),
            seconds_to_first_ack: self.seconds_to_first_ack,
            seconds_to_resolve: self.seconds_to_resolve,
            seconds_to_engage: self.seconds_to_engage,
            seconds_to_mobilize: self.seconds_to_mobilize,
            engaged_seconds: self.engaged_seconds,
            engaged_user_count: self.engaged_user_count,
            acknowledgement_count: self.acknowledgement_count,
            assignment_count: self.assignment_count,
            escalation_count: self.escalation_count,
            manual_escalation_count: self.manual_escalation_count,
            timeout_escalation_count: self.timeout_escalation_count,
            reassignment_count: self.reassignment_count,
            snoozed_seconds: self.snoozed_seconds,
            total_notifications: self.total_notifications,
            total_interruptions: self.total_interruptions,
            business_hour_interruptions: self.business_hour_interruptions,
            off_hour_interruptions: self.off_hour_interruptions,
            sleep_hour_interruptions: self.sleep_hour_interruptions,
            auto_resolved: self.auto_resolved,
            major: self.major,
            joined_user_ids: self.joined_user_ids.join(","),
            windows: String::new(),
            computed_at: now,
        }
    }
}

/// Derives and stores the facts of `ids` (unknown ids are skipped), in
/// chunks, in the caller's transaction. Returns how many rows were written.
///
/// # Errors
/// Database errors only.
pub async fn refresh<C: ConnectionTrait>(
    db: &C,
    settings: &FactsSettings,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let windows = Windows::load(db, &settings.windows).await?;
    let version = version(settings, &windows);
    let major = major_ids(settings, db).await?;
    let zones: HashMap<String, Tz> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::TimeZone])
        .into_tuple::<(String, Option<String>)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(id, tz)| Some((id, tz?.parse().ok()?)))
        .collect();
    let window_of = |u: &str, t: DateTime<Utc>| {
        windows.window_of(u, zones.get(u).copied().unwrap_or(Tz::UTC), t)
    };
    let mut written = 0;
    for chunk in ids.chunks(500) {
        let incidents = incident::Entity::find()
            .select_only()
            .columns([
                incident::Column::Id,
                incident::Column::CreatedAt,
                incident::Column::ResolvedAt,
                incident::Column::PriorityId,
                incident::Column::Status,
            ])
            .filter(incident::Column::Id.is_in(chunk.to_vec()))
            .into_tuple::<(
                String,
                DateTime<Utc>,
                Option<DateTime<Utc>>,
                Option<String>,
                String,
            )>()
            .all(db)
            .await?;
        let mut by_incident: HashMap<String, Vec<FactEntry>> = HashMap::new();
        let rows = incident_log_entry::Entity::find()
            .select_only()
            .columns([
                incident_log_entry::Column::IncidentId,
                incident_log_entry::Column::Id,
                incident_log_entry::Column::Kind,
                incident_log_entry::Column::AgentType,
                incident_log_entry::Column::AgentId,
                incident_log_entry::Column::ChannelType,
                incident_log_entry::Column::UserId,
                incident_log_entry::Column::CreatedAt,
            ])
            .filter(incident_log_entry::Column::IncidentId.is_in(chunk.to_vec()))
            .into_tuple::<(
                String,
                String,
                String,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                DateTime<Utc>,
            )>()
            .all(db)
            .await?;
        for (incident_id, id, kind, agent_type, agent_id, channel_type, user_id, created_at) in rows
        {
            by_incident.entry(incident_id).or_default().push(FactEntry {
                id,
                kind,
                agent_type,
                agent_id,
                channel_type,
                user_id,
                created_at,
            });
        }
        let mut out = Vec::with_capacity(incidents.len());
        let mut people = Vec::new();
        for (id, created_at, resolved_at, priority_id, status) in incidents {
            let entries = by_incident.remove(&id).unwrap_or_default();
            let inc = FactIncident {
                created_at,
                resolved_at: resolved_at.filter(|_| status == "resolved"),
                priority_id,
            };
            let mut labels: Vec<&str> = entries
                .iter()
                .filter(|e| e.kind == "notify_log_entry")
                .filter_map(|e| e.user_id.as_deref())
                .map(|u| windows.label_of(u))
                .collect();
            labels.sort_unstable();
            labels.dedup();
            let used = labels.join(",");
            let (facts, parts) = derive(&inc, &entries, &window_of, &major);
            people.extend(
                parts
                    .into_iter()
                    .map(|r| r.into_row(&id).into_active_model()),
            );
            let mut row = facts.into_row(id, &version, now);
            row.windows = used;
            out.push(row.into_active_model());
        }
        // Every user's part is derived again: the rows of these incidents
        // are replaced.
        ira::Entity::delete_many()
            .filter(ira::Column::IncidentId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
        // An upsert: a re-derivation running beside this one (an admin's
        // window change while a sync runs) writes the same rows.
        crate::db::bulk::insert(
            db,
            people,
            Some(
                OnConflict::columns([ira::Column::IncidentId, ira::Column::UserId])
                    .update_columns(
                        <ira::Entity as EntityTrait>::Column::iter().filter(|c| {
                            !matches!(c, ira::Column::IncidentId | ira::Column::UserId)
                        }),
                    )
                    .to_owned(),
            ),
            200,
        )
        .await?;
        written += out.len() as u64;
        crate::db::bulk::insert(
            db,
            out,
            Some(
                OnConflict::column(incident_analytics::Column::IncidentId)
                    .update_columns(
                        <incident_analytics::Entity as EntityTrait>::Column::iter()
                            .filter(|c| !matches!(c, incident_analytics::Column::IncidentId)),
                    )
                    .to_owned(),
            ),
            200,
        )
        .await?;
    }
    Ok(written)
}

/// Derives the facts of incidents that have none or were derived under
/// other settings, `batch` at a time; returns how many. Idempotent.
///
/// # Errors
/// Database errors only.
pub async fn refresh_stale<C: ConnectionTrait>(
    db: &C,
    settings: &FactsSettings,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let windows = Windows::load(db, &settings.windows).await?;
    let version = version(settings, &windows);
    let current = Query::select()
        .column(incident_analytics::Column::IncidentId)
        .from(incident_analytics::Entity)
        .and_where(Expr::col(incident_analytics::Column::Version).eq(version))
        .to_owned();
    let mut total = 0;
    loop {
        let ids: Vec<String> = incident::Entity::find()
            .select_only()
            .column(incident::Column::Id)
            .filter(incident::Column::Id.not_in_subquery(current.clone()))
            .order_by_asc(incident::Column::Id)
            .limit(5000)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            return Ok(total);
        }
        total += refresh(db, settings, &ids, now).await?;
    }
}

/// The stored facts of some incidents, for a caller who may see those
/// incidents (the loader behind `Incident.analytics`: the incident was
/// read through the scope already).
///
/// # Errors
/// Database errors only.
pub async fn load_scoped<C: ConnectionTrait>(
    db: &C,
    _scope: &crate::scope::Scope,
    ids: &[String],
) -> Result<HashMap<String, incident_analytics::Model>, DbErr> {
    load(db, ids).await
}

/// The stored facts of some incidents.
///
/// # Errors
/// Database errors only.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<HashMap<String, incident_analytics::Model>, DbErr> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        for row in incident_analytics::Entity::find()
            .filter(incident_analytics::Column::IncidentId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            out.insert(row.incident_id.clone(), row);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
