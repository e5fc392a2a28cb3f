//! Incidents, their log entries, assignees and custom field values: filters,
//! sorts and batched loaders. Read functions only; the sync and the local
//! incident API write. Every read takes the caller's [`Scope`]: a scoped
//! caller sees only the incidents of its teams' services.

pub mod facts;
pub mod flags;
pub mod status;

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::catalog::Direction;
use crate::entities::{
    incident, incident_assignee, incident_custom_field_value, incident_log_entry, service_team,
    user,
};
use crate::paging::{Page, PageRequest, contains_pattern, fetch_page};
use crate::scope::Scope;

/// An incident's status, as PagerDuty defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Triggered,
    Acknowledged,
    Resolved,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Triggered, Status::Acknowledged, Status::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Triggered => "triggered",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
        }
    }

    /// Parses PagerDuty's spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incident's urgency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Urgency {
    High,
    Low,
}

impl Urgency {
    pub const ALL: [Urgency; 2] = [Urgency::High, Urgency::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::High => "high",
            Urgency::Low => "low",
        }
    }

    /// Parses PagerDuty's spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where an incident comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    PagerDuty,
    Manual,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::PagerDuty => "pagerduty",
            Source::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pagerduty" => Some(Source::PagerDuty),
            "manual" => Some(Source::Manual),
            _ => None,
        }
    }
}

/// Which incidents to list. Every set is a union within itself; different
/// sets intersect. `None` means "no restriction"; an empty set matches nothing.
#[derive(Clone, Debug, Default)]
pub struct IncidentFilter {
    pub ids: Option<Vec<String>>,
    pub service_ids: Option<Vec<String>>,
    pub team_ids: Option<Vec<String>>,
    pub statuses: Option<Vec<Status>>,
    pub urgencies: Option<Vec<Urgency>>,
    pub priority_ids: Option<Vec<String>>,
    /// Created at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Created strictly before this instant.
    pub created_to: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the title.
    pub search: Option<String>,
    /// Custom-field flags that must all hold.
    pub flags: Vec<crate::config::FlagRule>,
    pub include_deleted: bool,
}

/// Sort field for incidents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncidentSort {
    #[default]
    CreatedAt,
    IncidentNumber,
    Title,
    Status,
    Urgency,
    ResolvedAt,
}

fn filtered(filter: &IncidentFilter) -> sea_orm::Select<incident::Entity> {
    use incident::Column as C;
    let mut s = incident::Entity::find();
    if let Some(ids) = &filter.ids {
        s = s.filter(C::Id.is_in(ids.clone()));
    }
    if let Some(v) = &filter.service_ids {
        s = s.filter(C::ServiceId.is_in(v.clone()));
    }
    if let Some(teams) = &filter.team_ids {
        s = s.filter(
            C::ServiceId.in_subquery(
                Query::select()
                    .column(service_team::Column::ServiceId)
                    .from(service_team::Entity)
                    .and_where(service_team::Column::TeamId.is_in(teams.clone()))
                    .to_owned(),
            ),
        );
    }
    if let Some(v) = &filter.statuses {
        s = s.filter(C::Status.is_in(v.iter().map(|x| x.as_str())));
    }
    if let Some(v) = &filter.urgencies {
        s = s.filter(C::Urgency.is_in(v.iter().map(|x| x.as_str())));
    }
    if let Some(v) = &filter.priority_ids {
        s = s.filter(C::PriorityId.is_in(v.clone()));
    }
    if let Some(t) = filter.created_from {
        s = s.filter(C::CreatedAt.gte(t));
    }
    if let Some(t) = filter.created_to {
        s = s.filter(C::CreatedAt.lt(t));
    }
    if let Some(q) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
    {
        s = s.filter(
            Func::lower(Expr::col(C::Title)).like(LikeExpr::new(contains_pattern(q)).escape('\\')),
        );
    }
    for rule in &filter.flags {
        s = s.filter(rule.condition());
    }
    if !filter.include_deleted {
        s = s.filter(C::DeletedAt.is_null());
    }
    s
}

/// Lists incidents.
///
/// # Errors
/// Database errors only.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    filter: &IncidentFilter,
    sort: IncidentSort,
    dir: Direction,
    page: PageRequest,
) -> Result<Page<incident::Model>, DbErr> {
    use incident::Column as C;
    let col = match sort {
        IncidentSort::CreatedAt => C::CreatedAt,
        IncidentSort::IncidentNumber => C::IncidentNumber,
        IncidentSort::Title => C::Title,
        IncidentSort::Status => C::Status,
        IncidentSort::Urgency => C::Urgency,
        IncidentSort::ResolvedAt => C::ResolvedAt,
    };
    let mut s = filtered(filter);
    if let Some(c) = scope.services_condition(C::ServiceId) {
        s = s.filter(c);
    }
    let s = s
        .order_by(col, dir.into())
        .order_by(C::Id, sea_orm::Order::Asc);
    fetch_page(db, s, page).await
}

/// Loads the given incidents (deleted ones included) that the scope allows.
///
/// # Errors
/// Database errors only.
pub async fn find_many<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, incident::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select = incident::Entity::find().filter(incident::Column::Id.is_in(ids.to_vec()));
    if let Some(c) = scope.services_condition(incident::Column::ServiceId) {
        select = select.filter(c);
    }
    Ok(select
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect())
}

fn group<V>(rows: impl IntoIterator<Item = (String, V)>) -> HashMap<String, Vec<V>> {
    let mut map: HashMap<String, Vec<V>> = HashMap::new();
    for (k, v) in rows {
        map.entry(k).or_default().push(v);
    }
    map
}

/// One incident the caller may see, unless it is deleted.
///
/// # Errors
/// Database errors only.
pub async fn find_live<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    id: &str,
) -> Result<Option<incident::Model>, DbErr> {
    Ok(find_many(db, scope, &[id.to_owned()])
        .await?
        .remove(id)
        .filter(|i| i.deleted_at.is_none()))
}

/// Log entries of each incident, oldest first; one statement.
///
/// # Errors
/// Database errors only.
pub async fn log_entries_of<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<incident_log_entry::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select = incident_log_entry::Entity::find()
        .filter(incident_log_entry::Column::IncidentId.is_in(ids.to_vec()));
    if let Some(c) = scope.incident_ids_condition(incident_log_entry::Column::IncidentId) {
        select = select.filter(c);
    }
    let rows = select
        .order_by_asc(incident_log_entry::Column::CreatedAt)
        .order_by_asc(incident_log_entry::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows.into_iter().map(|r| (r.incident_id.clone(), r))))
}

/// Custom field values of each incident, by field name; one statement.
///
/// # Errors
/// Database errors only.
pub async fn custom_fields_of<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<incident_custom_field_value::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select = incident_custom_field_value::Entity::find()
        .filter(incident_custom_field_value::Column::IncidentId.is_in(ids.to_vec()));
    if let Some(c) = scope.incident_ids_condition(incident_custom_field_value::Column::IncidentId) {
        select = select.filter(c);
    }
    let rows = select
        .order_by_asc(incident_custom_field_value::Column::Name)
        .all(db)
        .await?;
    Ok(group(rows.into_iter().map(|r| (r.incident_id.clone(), r))))
}

/// Current assignees of each incident; one statement.
///
/// # Errors
/// Database errors only.
pub async fn assignees_of<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<user::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select = incident_assignee::Entity::find()
        .filter(incident_assignee::Column::IncidentId.is_in(ids.to_vec()));
    if let Some(c) = scope.incident_ids_condition(incident_assignee::Column::IncidentId) {
        select = select.filter(c);
    }
    let rows = select
        .find_also_related(user::Entity)
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?;
    Ok(group(
        rows.into_iter()
            .filter_map(|(a, u)| u.map(|u| (a.incident_id, u))),
    ))
}

/// Retention: deletes resolved incidents resolved (or, lacking that, created)
/// before `cutoff`, with their log entries, assignees and custom field values.
/// Returns how many incidents were deleted.
///
/// # Errors
/// Database errors only; the deletion is one transaction.
pub async fn delete_resolved_before(
    db: &sea_orm::DatabaseConnection,
    cutoff: DateTime<Utc>,
) -> Result<u64, DbErr> {
    use sea_orm::sea_query::Condition;
    let txn = crate::db::begin_write(db).await?;
    let condition = Condition::all()
        .add(incident::Column::Status.eq(Status::Resolved.as_str()))
        .add(
            Condition::any()
                .add(incident::Column::ResolvedAt.lt(cutoff))
                .add(
                    Condition::all()
                        .add(incident::Column::ResolvedAt.is_null())
                        .add(incident::Column::CreatedAt.lt(cutoff)),
                ),
        );
    // Children first, so it also works where foreign keys do not cascade.
    let ids: Vec<String> = {
        use sea_orm::QuerySelect;
        incident::Entity::find()
            .select_only()
            .column(incident::Column::Id)
            .filter(condition)
            .into_tuple()
            .all(&txn)
            .await?
    };
    for chunk in ids.chunks(500) {
        let list = chunk.to_vec();
        incident_log_entry::Entity::delete_many()
            .filter(incident_log_entry::Column::IncidentId.is_in(list.clone()))
            .exec(&txn)
            .await?;
        incident_custom_field_value::Entity::delete_many()
            .filter(incident_custom_field_value::Column::IncidentId.is_in(list.clone()))
            .exec(&txn)
            .await?;
        incident_assignee::Entity::delete_many()
            .filter(incident_assignee::Column::IncidentId.is_in(list.clone()))
            .exec(&txn)
            .await?;
        crate::entities::incident_attachment::Entity::delete_many()
            .filter(crate::entities::incident_attachment::Column::IncidentId.is_in(list.clone()))
            .exec(&txn)
            .await?;
        incident::Entity::delete_many()
            .filter(incident::Column::Id.is_in(list))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(ids.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_reject_unknown_values() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("snoozed"), None);
        assert_eq!(Urgency::parse("high"), Some(Urgency::High));
        assert_eq!(Urgency::parse("HIGH"), None);
        assert_eq!(Source::parse("manual"), Some(Source::Manual));
    }
}
