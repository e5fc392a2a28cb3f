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
use crate::tz::{Window, window};
pub use responders::ResponderFacts;

/// Bumped whenever a definition below changes, so stored rows are derived
/// again.
const DEFINITIONS: u32 = 1;

pub use crate::config::FactsSettings;

/// The version stored with each row: the definitions and the settings.
pub fn version(settings: &FactsSettings) -> String {
    let mut names = settings.major_priorities.clone();
    names.sort();
    format!("{DEFINITIONS};{}", names.join(","))
}

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
    tz_of: &dyn Fn(&str) -> Tz,
    major_ids: &HashSet<String>,
) -> (Facts, Vec<ResponderFacts>) {
    let mut sorted: Vec<&FactEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    (
        compute(inc, entries, tz_of, major_ids),
        responders::derive(inc, &sorted, tz_of),
    )
}

/// Derives an incident's facts from its log (any order). `tz_of` gives a
/// user's time zone; `major_ids` are the major priorities' ids.
pub fn compute(
    inc: &FactIncident,
    entries: &[FactEntry],
    tz_of: &dyn Fn(&str) -> Tz,
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
                    let local = e.created_at.with_timezone(&tz_of(u)).naive_local();
                    match window(local) {
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
    let version = version(settings);
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
    let tz_of = |u: &str| zones.get(u).copied().unwrap_or(Tz::UTC);
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
            let (facts, parts) = derive(&inc, &entries, &tz_of, &major);
            people.extend(
                parts
                    .into_iter()
                    .map(|r| r.into_row(&id).into_active_model()),
            );
            out.push(facts.into_row(id, &version, now).into_active_model());
        }
        // Every user's part is derived again: the rows of these incidents
        // are replaced.
        ira::Entity::delete_many()
            .filter(ira::Column::IncidentId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
        crate::db::bulk::insert(db, people, None, 200).await?;
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
    let version = version(settings);
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn entry(n: usize, kind: &str, at: &str, agent: Option<&str>) -> FactEntry {
        FactEntry {
            id: format!("L{n:03}"),
            kind: kind.into(),
            agent_type: agent.map(|a| {
                if a.starts_with('U') {
                    "user_reference"
                } else {
                    "service_reference"
                }
                .into()
            }),
            agent_id: agent.map(Into::into),
            channel_type: None,
            user_id: None,
            created_at: t(at),
        }
    }

    fn notify(n: usize, at: &str, user: &str) -> FactEntry {
        FactEntry {
            user_id: Some(user.into()),
            channel_type: Some("auto".into()),
            ..entry(n, "notify_log_entry", at, None)
        }
    }

    fn zones(u: &str) -> Tz {
        match u {
            "UPARIS" => "Europe/Paris".parse().unwrap(),
            "UNY" => "America/New_York".parse().unwrap(),
            _ => Tz::UTC,
        }
    }

    /// Two responders (one reassignment, one timeout and one manual
    /// escalation), snoozed once, resolved by a person: every field by hand.
    #[test]
    fn a_multi_responder_incident_by_hand() {
        let inc = FactIncident {
            created_at: t("2026-03-02T09:00:00Z"),
            resolved_at: Some(t("2026-03-02T11:00:00Z")),
            priority_id: Some("P3".into()),
        };
        let mut esc_timeout = entry(3, "escalate_log_entry", "2026-03-02T09:30:00Z", None);
        esc_timeout.channel_type = Some("timeout".into());
        let mut esc_manual = entry(6, "escalate_log_entry", "2026-03-02T09:50:00Z", Some("UB"));
        esc_manual.channel_type = Some("website".into());
        let entries = vec![
            entry(1, "trigger_log_entry", "2026-03-02T09:00:00Z", Some("PSVC")),
            // Monday 10:00 in Paris: business hours.
            notify(2, "2026-03-02T09:00:01Z", "UPARIS"),
            // The same second by another channel: the same interruption.
            notify(22, "2026-03-02T09:00:01Z", "UPARIS"),
            esc_timeout,
            // 04:30 in New York: sleep hours.
            notify(4, "2026-03-02T09:30:01Z", "UNY"),
            entry(
                5,
                "acknowledge_log_entry",
                "2026-03-02T09:40:00Z",
                Some("UNY"),
            ),
            esc_manual,
            entry(7, "assign_log_entry", "2026-03-02T09:55:00Z", Some("UB")),
            entry(
                8,
                "acknowledge_log_entry",
                "2026-03-02T10:00:00Z",
                Some("UPARIS"),
            ),
            entry(
                9,
                "snooze_log_entry",
                "2026-03-02T10:10:00Z",
                Some("UPARIS"),
            ),
            entry(10, "unacknowledge_log_entry", "2026-03-02T10:40:00Z", None),
            // A second acknowledgement by the same user engages nobody new.
            entry(
                11,
                "acknowledge_log_entry",
                "2026-03-02T10:45:00Z",
                Some("UNY"),
            ),
            entry(12, "resolve_log_entry", "2026-03-02T11:00:00Z", Some("UNY")),
        ];
        let major: HashSet<String> = ["P1".into(), "P2".into()].into();
        let f = compute(&inc, &entries, &zones, &major);
        assert_eq!(
            f,
            Facts {
                seconds_to_first_ack: Some(40 * 60),
                seconds_to_resolve: Some(2 * 3600),
                seconds_to_engage: Some(20 * 60),
                seconds_to_mobilize: Some(3600),
                // UNY 09:40 → 11:00 and UPARIS 10:00 → 11:00.
                engaged_seconds: Some(80 * 60 + 60 * 60),
                engaged_user_count: 2,
                acknowledgement_count: 3,
                assignment_count: 4,
                escalation_count: 2,
                manual_escalation_count: 1,
                timeout_escalation_count: 1,
                reassignment_count: 1,
                snoozed_seconds: 30 * 60,
                total_notifications: 3,
                total_interruptions: 2,
                business_hour_interruptions: 1,
                off_hour_interruptions: 0,
                sleep_hour_interruptions: 1,
                auto_resolved: false,
                // Two users engaged.
                major: true,
                joined_user_ids: vec!["UNY".into(), "UPARIS".into()],
            }
        );
    }

    /// The same incident, per user: UPARIS notified first at 09:00:01 and
    /// timed out to UNY (notified 09:30:01), who acked at 09:40, escalated
    /// manually and reassigned (nobody notified after either).
    #[test]
    fn each_users_part_by_hand() {
        let inc = FactIncident {
            created_at: t("2026-03-02T09:00:00Z"),
            resolved_at: Some(t("2026-03-02T11:00:00Z")),
            priority_id: None,
        };
        let mut esc = entry(3, "escalate_log_entry", "2026-03-02T09:30:00Z", None);
        esc.channel_type = Some("timeout".into());
        let mut manual = entry(6, "escalate_log_entry", "2026-03-02T09:50:00Z", Some("UNY"));
        manual.channel_type = Some("website".into());
        let entries = vec![
            notify(2, "2026-03-02T09:00:01Z", "UPARIS"),
            esc,
            notify(4, "2026-03-02T09:30:01Z", "UNY"),
            entry(
                5,
                "acknowledge_log_entry",
                "2026-03-02T09:40:00Z",
                Some("UNY"),
            ),
            manual,
            entry(7, "assign_log_entry", "2026-03-02T09:55:00Z", Some("UNY")),
            entry(
                8,
                "acknowledge_log_entry",
                "2026-03-02T10:00:00Z",
                Some("UPARIS"),
            ),
        ];
        let (_, people) = derive(&inc, &entries, &zones, &HashSet::new());
        let uny = people.iter().find(|p| p.user_id == "UNY").unwrap();
        let paris = people.iter().find(|p| p.user_id == "UPARIS").unwrap();
        assert_eq!(uny.seconds_to_first_ack, Some(600 - 1));
        assert_eq!(uny.timeout_escalations_to, 1);
        assert_eq!(uny.manual_escalations_from, 1);
        assert_eq!(uny.reassignments_from, 1);
        assert_eq!(uny.sleep_hour_interruptions, 1);
        assert_eq!(uny.engaged_seconds, Some(80 * 60));
        assert_eq!(paris.timeout_escalations_from, 1);
        assert_eq!(paris.business_hour_interruptions, 1);
        // Acknowledged an hour after their one notification.
        assert_eq!(paris.seconds_to_first_ack, Some(3600 - 1));
        assert_eq!(paris.engaged_seconds, Some(3600));
    }

    #[test]
    fn an_open_incident_and_an_auto_resolved_one() {
        let major: HashSet<String> = ["P1".into()].into();
        let open = FactIncident {
            created_at: t("2026-03-07T12:00:00Z"),
            resolved_at: None,
            priority_id: Some("P1".into()),
        };
        let entries = vec![
            entry(1, "trigger_log_entry", "2026-03-07T12:00:00Z", Some("PSVC")),
            // Saturday 12:00 UTC: off hours.
            notify(2, "2026-03-07T12:00:01Z", "UX"),
            entry(
                3,
                "acknowledge_log_entry",
                "2026-03-07T12:05:00Z",
                Some("UX"),
            ),
            // A snooze still running counts nothing yet.
            entry(4, "snooze_log_entry", "2026-03-07T12:06:00Z", Some("UX")),
        ];
        let f = compute(&open, &entries, &zones, &major);
        assert_eq!(f.seconds_to_first_ack, Some(300));
        assert_eq!(f.seconds_to_resolve, None);
        assert_eq!(f.engaged_seconds, None);
        assert_eq!(f.seconds_to_engage, None);
        assert_eq!(f.seconds_to_mobilize, None);
        assert_eq!(f.snoozed_seconds, 0);
        assert_eq!(f.off_hour_interruptions, 1);
        assert!(f.major, "P1 is a major priority");
        assert!(!f.auto_resolved);

        let auto = FactIncident {
            created_at: t("2026-03-07T22:00:00Z"),
            resolved_at: Some(t("2026-03-07T22:10:00Z")),
            priority_id: None,
        };
        let entries = vec![
            entry(1, "trigger_log_entry", "2026-03-07T22:00:00Z", Some("PSVC")),
            // 22:00:00 exactly is the first second of sleep hours.
            notify(2, "2026-03-07T22:00:00Z", "UX"),
            entry(3, "resolve_log_entry", "2026-03-07T22:10:00Z", Some("PSVC")),
        ];
        let f = compute(&auto, &entries, &zones, &major);
        assert!(f.auto_resolved);
        assert!(!f.major);
        assert_eq!(f.engaged_seconds, Some(0));
        assert_eq!(f.seconds_to_first_ack, None);
        assert_eq!(f.sleep_hour_interruptions, 1);
        assert_eq!(f.assignment_count, 1);
    }

    /// A user's own time zone across a daylight-saving change: 07:59 and
    /// 08:00 local on the Monday after New York moves its clocks.
    #[test]
    fn windows_edges_in_the_users_zone_across_dst() {
        let inc = FactIncident {
            created_at: t("2026-03-09T11:00:00Z"),
            resolved_at: None,
            priority_id: None,
        };
        // 2026-03-08 is the US change; on the 9th New York is UTC−4.
        let entries = vec![
            notify(1, "2026-03-09T11:59:59Z", "UNY"),
            notify(2, "2026-03-09T12:00:00Z", "UNY"),
            notify(3, "2026-03-09T21:59:59Z", "UNY"),
            notify(4, "2026-03-09T22:00:00Z", "UNY"),
        ];
        let f = compute(&inc, &entries, &zones, &HashSet::new());
        assert_eq!(f.sleep_hour_interruptions, 1);
        assert_eq!(f.business_hour_interruptions, 2);
        assert_eq!(f.off_hour_interruptions, 1);
    }

    fn arb_entries() -> impl Strategy<Value = Vec<FactEntry>> {
        let kinds = prop::sample::select(vec![
            "acknowledge_log_entry",
            "escalate_log_entry",
            "assign_log_entry",
            "notify_log_entry",
            "snooze_log_entry",
            "unacknowledge_log_entry",
            "resolve_log_entry",
        ]);
        let users = prop::sample::select(vec!["UA", "UB", "UNY", "UPARIS"]);
        prop::collection::vec((kinds, users, 0i64..86_400 * 3), 0..40).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(n, (kind, user, at))| {
                    let created_at = t("2026-03-01T00:00:00Z") + chrono::Duration::seconds(at);
                    FactEntry {
                        id: format!("L{n:03}"),
                        kind: kind.into(),
                        agent_type: Some("user_reference".into()),
                        agent_id: Some(user.into()),
                        channel_type: Some(if n % 2 == 0 { "timeout" } else { "website" }.into()),
                        user_id: (kind == "notify_log_entry").then(|| user.into()),
                        created_at,
                    }
                })
                .collect()
        })
    }

    proptest! {
        /// Whatever the log: the windows add up to the total, escalations
        /// split into manual and timeout, assignments count the trigger's,
        /// engagement needs two users, nothing is negative, and the order
        /// the entries come in changes nothing.
        #[test]
        fn invariants_hold_for_any_log(entries in arb_entries(), resolved in proptest::bool::ANY) {
            let inc = FactIncident {
                created_at: t("2026-03-01T00:00:00Z"),
                resolved_at: resolved.then(|| t("2026-03-04T00:00:00Z")),
                priority_id: None,
            };
            let f = compute(&inc, &entries, &zones, &HashSet::new());
            prop_assert_eq!(f.total_interruptions,
                f.business_hour_interruptions + f.off_hour_interruptions + f.sleep_hour_interruptions);
            prop_assert!(f.total_interruptions <= f.total_notifications);
            prop_assert_eq!(f.escalation_count, f.manual_escalation_count + f.timeout_escalation_count);
            prop_assert_eq!(f.assignment_count, 1 + f.escalation_count + f.reassignment_count);
            prop_assert_eq!(f.seconds_to_engage.is_some(), f.engaged_user_count >= 2);
            prop_assert_eq!(f.major, f.engaged_user_count >= 2);
            prop_assert!(f.engaged_user_count <= f.acknowledgement_count);
            prop_assert!(f.snoozed_seconds >= 0);
            if let (Some(engage), Some(mobilize)) = (f.seconds_to_engage, f.seconds_to_mobilize) {
                prop_assert!(engage <= mobilize);
            }
            let mut reversed = entries.clone();
            reversed.reverse();
            prop_assert_eq!(compute(&inc, &reversed, &zones, &HashSet::new()), f.clone());
            // Users' parts add up to the incident's.
            let (_, people) = derive(&inc, &entries, &zones, &HashSet::new());
            let sum = |g: fn(&ResponderFacts) -> i64| people.iter().map(g).sum::<i64>();
            prop_assert_eq!(sum(|p| p.interruptions), f.total_interruptions);
            prop_assert_eq!(sum(|p| p.sleep_hour_interruptions), f.sleep_hour_interruptions);
            prop_assert_eq!(sum(|p| p.notifications), f.total_notifications);
            prop_assert_eq!(sum(|p| p.acknowledgements), f.acknowledgement_count);
            prop_assert!(sum(|p| p.manual_escalations_from + p.timeout_escalations_from) <= f.escalation_count);
            prop_assert!(sum(|p| p.reassignments_to) <= f.reassignment_count);
        }
    }
}
