//! On-call load and schedule hygiene: hours on call per person and per
//! escalation level, interruptions by PagerDuty's windows in each person's
//! own time zone, gaps where a schedule has nobody on call, and schedule
//! members who are inactive.
//!
//! On-call time is the union of a person's synced on-call entries clipped
//! to the period, so one shift reached through two escalation policies
//! counts once. A permanent entry (no start or end: a user targeted
//! directly by a policy) counts for the whole period.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};

use super::metrics::Analytics;
use super::{AnalyticsError, Params, Target};
use crate::entities::{
    escalation_policy_team, incident, incident_log_entry as log, oncall_entry, schedule,
    schedule_user, service, service_team, user,
};
use crate::tz::{Window, window};

/// An interval `[start, end)`.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruptions {
    pub business: i64,
    pub off: i64,
    pub sleep: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelHours {
    pub level: i64,
    pub hours: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonLoad {
    pub user_id: String,
    pub user_name: String,
    pub hours: f64,
    pub levels: Vec<LevelHours>,
    pub interruptions: Interruptions,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleGap {
    pub schedule_id: String,
    pub schedule_name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InactiveUser {
    pub user_id: String,
    pub user_name: String,
    /// `DELETED` (deactivated in PagerDuty) or `NO_ACTIVITY`.
    pub reason: String,
    pub schedule_ids: Vec<String>,
}

/// Total length in hours of the union of intervals, clipped to `[from, to)`.
pub fn union_hours(mut spans: Vec<Span>, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    merge(&mut spans, from, to)
        .iter()
        .map(|(a, b)| (*b - *a).num_seconds() as f64 / 3600.0)
        .sum()
}

/// Clips, sorts and merges intervals.
fn merge(spans: &mut [Span], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Span> {
    spans.sort();
    let mut out: Vec<Span> = Vec::new();
    for (a, b) in spans.iter() {
        let (a, b) = (std::cmp::max(*a, from), std::cmp::min(*b, to));
        if a >= b {
            continue;
        }
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = std::cmp::max(last.1, b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The parts of `[from, to)` no interval covers.
pub fn gaps(mut spans: Vec<Span>, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Span> {
    let mut out = Vec::new();
    let mut at = from;
    for (a, b) in merge(&mut spans, from, to) {
        if a > at {
            out.push((at, a));
        }
        at = std::cmp::max(at, b);
    }
    if at < to {
        out.push((at, to));
    }
    out
}

impl Analytics {
    /// The escalation policies a target covers (`None`: all of them).
    async fn policies_of(&self, p: &Params) -> Result<Option<BTreeSet<String>>, DbErr> {
        let services = |q: sea_orm::Select<service::Entity>| async {
            q.select_only()
                .column(service::Column::EscalationPolicyId)
                .filter(service::Column::EscalationPolicyId.is_not_null())
                .into_tuple::<Option<String>>()
                .all(&self.db)
                .await
                .map(|v| v.into_iter().flatten().collect::<BTreeSet<String>>())
        };
        if let Target::Service(id) = &p.target {
            // The service's policy, if the scope shows the service.
            let mut q = service::Entity::find().filter(service::Column::Id.eq(id.clone()));
            if let Some(c) = p.scope.services_condition(service::Column::Id) {
                q = q.filter(c);
            }
            return Ok(Some(services(q).await?));
        }
        let teams: Option<Vec<String>> = match (&p.target, p.scope.team_ids()) {
            (Target::Team(t), None) => Some(vec![t.clone()]),
            (Target::Team(t), Some(s)) => Some(s.iter().filter(|x| *x == t).cloned().collect()),
            (_, Some(s)) => Some(s.to_vec()),
            (_, None) => None,
        };
        let mut set: Option<BTreeSet<String>> = None;
        if let Some(teams) = &teams {
            let mut s: BTreeSet<String> = escalation_policy_team::Entity::find()
                .select_only()
                .column(escalation_policy_team::Column::EscalationPolicyId)
                .filter(escalation_policy_team::Column::TeamId.is_in(teams.clone()))
                .into_tuple::<String>()
                .all(&self.db)
                .await?
                .into_iter()
                .collect();
            s.extend(
                services(
                    service::Entity::find().filter(
                        service::Column::Id.in_subquery(
                            Query::select()
                                .column(service_team::Column::ServiceId)
                                .from(service_team::Entity)
                                .and_where(service_team::Column::TeamId.is_in(teams.clone()))
                                .to_owned(),
                        ),
                    ),
                )
                .await?,
            );
            set = Some(s);
        }
        Ok(set)
    }

    pub(super) async fn entries(&self, p: &Params) -> Result<Vec<oncall_entry::Model>, DbErr> {
        let mut q = oncall_entry::Entity::find()
            .filter(
                oncall_entry::Column::StartAt
                    .is_null()
                    .or(oncall_entry::Column::StartAt.lt(p.to)),
            )
            .filter(
                oncall_entry::Column::EndAt
                    .is_null()
                    .or(oncall_entry::Column::EndAt.gt(p.from)),
            );
        if let Some(policies) = self.policies_of(p).await? {
            q = q.filter(
                oncall_entry::Column::EscalationPolicyId
                    .is_in(policies.into_iter().collect::<Vec<_>>()),
            );
        }
        q.all(&self.db).await
    }

    pub(super) async fn user_names(
        &self,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<HashMap<String, (String, Option<String>)>, DbErr> {
        let ids: Vec<String> = ids.into_iter().collect();
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            for u in user::Entity::find()
                .filter(user::Column::Id.is_in(chunk.to_vec()))
                .all(&self.db)
                .await?
            {
                out.insert(u.id, (u.name, u.time_zone));
            }
        }
        Ok(out)
    }

    /// Hours on call and interruptions per person, busiest first.
    pub async fn oncall_load(&self, p: &Params) -> Result<Vec<PersonLoad>, AnalyticsError> {
        let entries = self.entries(p).await?;
        let span =
            |e: &oncall_entry::Model| (e.start_at.unwrap_or(p.from), e.end_at.unwrap_or(p.to));
        let mut per_user: BTreeMap<String, Vec<Span>> = BTreeMap::new();
        let mut per_level: BTreeMap<(String, i64), Vec<Span>> = BTreeMap::new();
        for e in &entries {
            per_user.entry(e.user_id.clone()).or_default().push(span(e));
            per_level
                .entry((e.user_id.clone(), e.escalation_level))
                .or_default()
                .push(span(e));
        }

        // Notifications sent to people about the target's incidents.
        let mut notes = Query::select();
        notes
            .column((log::Entity, log::Column::UserId))
            .column((log::Entity, log::Column::CreatedAt))
            .from(log::Entity)
            .join(
                JoinType::InnerJoin,
                incident::Entity,
                Expr::col((incident::Entity, incident::Column::Id))
                    .equals((log::Entity, log::Column::IncidentId)),
            )
            .and_where(Expr::col((log::Entity, log::Column::Kind)).eq("notify_log_entry"))
            .and_where(Expr::col((log::Entity, log::Column::UserId)).is_not_null())
            .and_where(Expr::col((log::Entity, log::Column::CreatedAt)).gte(p.from))
            .and_where(Expr::col((log::Entity, log::Column::CreatedAt)).lt(p.to))
            .and_where(Expr::col((incident::Entity, incident::Column::DeletedAt)).is_null())
            .cond_where(super::metrics::service_condition(&p.target, &p.scope));
        let mut times: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
        for row in self.db.query_all(&notes).await? {
            let u: String = row.try_get("", "user_id")?;
            let t: DateTime<Utc> = row.try_get("", "created_at")?;
            times.entry(u).or_default().push(t);
        }

        let ids: BTreeSet<String> = per_user.keys().chain(times.keys()).cloned().collect();
        let names = self.user_names(ids.iter().cloned()).await?;
        let mut out: Vec<PersonLoad> = ids
            .into_iter()
            .map(|id| {
                let (name, zone) = names.get(&id).cloned().unwrap_or((id.clone(), None));
                let zone: Tz = zone.and_then(|z| z.parse().ok()).unwrap_or(p.tz);
                let mut interruptions = Interruptions::default();
                for t in times.get(&id).map(Vec::as_slice).unwrap_or_default() {
                    match window(t.with_timezone(&zone).naive_local()) {
                        Window::Business => interruptions.business += 1,
                        Window::Off => interruptions.off += 1,
                        Window::Sleep => interruptions.sleep += 1,
                    }
                }
                let levels = per_level
                    .range((id.clone(), i64::MIN)..=(id.clone(), i64::MAX))
                    .map(|((_, level), spans)| LevelHours {
                        level: *level,
                        hours: union_hours(spans.clone(), p.from, p.to),
                    })
                    .collect();
                PersonLoad {
                    hours: per_user
                        .get(&id)
                        .map_or(0.0, |s| union_hours(s.clone(), p.from, p.to)),
                    user_id: id,
                    user_name: name,
                    levels,
                    interruptions,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.hours
                .total_cmp(&a.hours)
                .then(a.user_name.cmp(&b.user_name))
        });
        Ok(out)
    }

    /// Stretches of the period in which a schedule names nobody on call.
    /// For a service or team, the schedules its escalation policies reach.
    pub async fn schedule_gaps(&self, p: &Params) -> Result<Vec<ScheduleGap>, AnalyticsError> {
        let entries = self.entries(p).await?;
        let mut per: BTreeMap<String, Vec<Span>> = BTreeMap::new();
        for e in &entries {
            if let Some(s) = &e.schedule_id {
                per.entry(s.clone())
                    .or_default()
                    .push((e.start_at.unwrap_or(p.from), e.end_at.unwrap_or(p.to)));
            }
        }
        let mut schedules = schedule::Entity::find().filter(schedule::Column::DeletedAt.is_null());
        if !matches!(p.target, Target::All) || !p.scope.is_all() {
            schedules = schedules
                .filter(schedule::Column::Id.is_in(per.keys().cloned().collect::<Vec<_>>()));
        }
        let mut out = Vec::new();
        for s in schedules.all(&self.db).await? {
            let spans = per.remove(&s.id).unwrap_or_default();
            for (start, end) in gaps(spans, p.from, p.to) {
                out.push(ScheduleGap {
                    schedule_id: s.id.clone(),
                    schedule_name: s.name.clone(),
                    start,
                    end,
                });
            }
        }
        out.sort_by(|a, b| {
            a.schedule_name
                .cmp(&b.schedule_name)
                .then(a.start.cmp(&b.start))
        });
        Ok(out)
    }

    /// Schedule members who are deleted in PagerDuty, or who had no
    /// on-call shift and no incident activity in the period.
    pub async fn inactive_users(&self, p: &Params) -> Result<Vec<InactiveUser>, AnalyticsError> {
        let members = schedule_user::Entity::find().all(&self.db).await?;
        let mut schedules_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in members {
            schedules_of
                .entry(m.user_id)
                .or_default()
                .push(m.schedule_id);
        }
        let ids: Vec<String> = schedules_of.keys().cloned().collect();
        let mut on_call: BTreeSet<String> = BTreeSet::new();
        let mut active: BTreeSet<String> = BTreeSet::new();
        for chunk in ids.chunks(500) {
            on_call.extend(
                oncall_entry::Entity::find()
                    .select_only()
                    .column(oncall_entry::Column::UserId)
                    .distinct()
                    .filter(oncall_entry::Column::UserId.is_in(chunk.to_vec()))
                    .filter(
                        oncall_entry::Column::StartAt
                            .is_null()
                            .or(oncall_entry::Column::StartAt.lt(p.to)),
                    )
                    .filter(
                        oncall_entry::Column::EndAt
                            .is_null()
                            .or(oncall_entry::Column::EndAt.gt(p.from)),
                    )
                    .into_tuple::<String>()
                    .all(&self.db)
                    .await?,
            );
            for column in [log::Column::UserId, log::Column::AgentId] {
                active.extend(
                    log::Entity::find()
                        .select_only()
                        .column(column)
                        .distinct()
                        .filter(column.is_in(chunk.to_vec()))
                        .filter(log::Column::CreatedAt.gte(p.from))
                        .filter(log::Column::CreatedAt.lt(p.to))
                        .into_tuple::<Option<String>>()
                        .all(&self.db)
                        .await?
                        .into_iter()
                        .flatten(),
                );
            }
        }
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            for u in user::Entity::find()
                .filter(user::Column::Id.is_in(chunk.to_vec()))
                .all(&self.db)
                .await?
            {
                let reason = if u.deleted_at.is_some() {
                    "DELETED"
                } else if !on_call.contains(&u.id) && !active.contains(&u.id) {
                    "NO_ACTIVITY"
                } else {
                    continue;
                };
                let mut schedule_ids = schedules_of.get(&u.id).cloned().unwrap_or_default();
                schedule_ids.sort();
                out.push(InactiveUser {
                    user_id: u.id,
                    user_name: u.name,
                    reason: reason.to_owned(),
                    schedule_ids,
                });
            }
        }
        out.sort_by(|a, b| {
            a.user_name
                .cmp(&b.user_name)
                .then(a.user_id.cmp(&b.user_id))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + h * 3600, 0).unwrap()
    }

    #[test]
    fn union_counts_overlaps_once_and_clips() {
        let spans = vec![(t(0), t(4)), (t(2), t(6)), (t(10), t(12)), (t(-5), t(-1))];
        assert!((union_hours(spans.clone(), t(0), t(24)) - 8.0).abs() < 1e-9);
        assert!((union_hours(spans, t(3), t(11)) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn gaps_are_the_uncovered_parts() {
        let spans = vec![(t(1), t(4)), (t(3), t(6)), (t(8), t(30))];
        assert_eq!(gaps(spans, t(0), t(24)), vec![(t(0), t(1)), (t(6), t(8))]);
        assert_eq!(gaps(Vec::new(), t(0), t(1)), vec![(t(0), t(1))]);
    }
}
