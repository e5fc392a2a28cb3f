//! What each report kind reads: its columns and its rows. Incidents stream
//! in keyset pages of (created_at, id); catalog and aggregate reports are
//! small (one row per service, team or policy) and are computed at once.

mod aggregates;
mod catalog;
mod columns;
mod incidents;

pub use aggregates::*;
use catalog::*;
pub use columns::*;
use incidents::*;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};

use super::cells::{Cell, Column, ColumnType as T};
use super::{Filter, ReportKind};
use crate::entities::{
    escalation_policy, escalation_policy_service, escalation_policy_team, incident,
    incident_sla_target, priority, service, service_team, team, user,
};
use crate::incidents::status::Mapper;
use crate::scope::Scope;

/// Rows per page read from the database.
const PAGE: u64 = 5_000;

pub struct Source {
    pub columns: Vec<Column>,
    /// Rows expected (for progress).
    pub total: u64,
    rows: Rows,
}

enum Rows {
    Ready(std::vec::IntoIter<Vec<Cell>>),
    Incidents(Box<IncidentCursor>),
}

impl Source {
    pub async fn open(
        db: &DatabaseConnection,
        kind: ReportKind,
        filter: &Filter,
        scope: &Scope,
        status_field: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, DbErr> {
        let services = allowed_services(db, filter, scope).await?;
        let mapper = Mapper::load(db, status_field).await?;
        if kind == ReportKind::Incidents {
            let cursor = IncidentCursor::open(db, filter, services, mapper).await?;
            return Ok(Self {
                columns: columns(kind).to_vec(),
                total: cursor.total,
                rows: Rows::Incidents(Box::new(cursor)),
            });
        }
        let rows = match kind {
            ReportKind::Incidents => unreachable!("streamed above"),
            ReportKind::Services => services_rows(db, &services).await?,
            ReportKind::Teams => teams_rows(db, filter, scope).await?,
            ReportKind::ServiceTeams => service_teams_rows(db, &services).await?,
            ReportKind::EscalationPolicies
            | ReportKind::EscalationPolicyTeams
            | ReportKind::EscalationPolicyServices => {
                policy_rows(db, kind, &services, filter, scope).await?
            }
            ReportKind::IncidentsPerService
            | ReportKind::IncidentStatusPerService
            | ReportKind::ServiceSummary => {
                per_service_rows(db, kind, filter, services, &mapper).await?
            }
            ReportKind::SlaCompliance => sla_rows(db, filter, services, &mapper, now).await?,
        };
        Ok(Self {
            columns: columns(kind).to_vec(),
            total: rows.len() as u64,
            rows: Rows::Ready(rows.into_iter()),
        })
    }

    /// The next page of rows, `None` at the end.
    pub async fn next_page(
        &mut self,
        db: &DatabaseConnection,
    ) -> Result<Option<Vec<Vec<Cell>>>, DbErr> {
        match &mut self.rows {
            Rows::Ready(it) => {
                let page: Vec<_> = it.take(PAGE as usize).collect();
                Ok((!page.is_empty()).then_some(page))
            }
            Rows::Incidents(c) => c.next_page(db).await,
        }
    }

    /// Incidents per service (name, count), most first, of the rows read so
    /// far: known for an incidents report, whose rows are its incidents
    /// (counted as they stream, so the summary needs no second pass over
    /// them); `None` for the other kinds.
    pub fn incidents_per_service(&self, label: ServiceLabel) -> Option<Vec<(String, i64)>> {
        match &self.rows {
            Rows::Ready(_) => None,
            Rows::Incidents(c) => Some(ranked_services(
                c.per_service.iter().map(|(s, n)| (s.clone(), *n)).collect(),
                &c.names.services,
                label,
            )),
        }
    }
}

/// How the summary sheet names services: by name, or by id when the
/// report's service-name column is left out, or not at all when its id
/// column is too, or when the report's own count of incidents per service
/// is (a column left out must not come back through the summary).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceLabel {
    Name,
    Id,
    Hidden,
}

impl ServiceLabel {
    /// The label for a report of `kind` whose kept columns are `kept`.
    pub fn of(kind: ReportKind, kept: &[Column]) -> Self {
        let (id, name) = match kind {
            ReportKind::Services => ("id", "name"),
            ReportKind::Incidents
            | ReportKind::ServiceTeams
            | ReportKind::EscalationPolicyServices
            | ReportKind::IncidentsPerService
            | ReportKind::IncidentStatusPerService
            | ReportKind::ServiceSummary => ("service_id", "service"),
            _ => return Self::Name,
        };
        let kept = |key: &str| kept.iter().any(|c| c.key == key);
        let count = match kind {
            ReportKind::IncidentsPerService => Some("incidents"),
            ReportKind::IncidentStatusPerService | ReportKind::ServiceSummary => Some("total"),
            _ => None,
        };
        if count.is_some_and(|c| !kept(c)) {
            Self::Hidden
        } else if kept(name) {
            Self::Name
        } else if kept(id) {
            Self::Id
        } else {
            Self::Hidden
        }
    }
}

/// The services a report may cover: those asked for, those of the teams
/// asked for, and those the requester's scope allows. `None`: every service.
async fn allowed_services(
    db: &DatabaseConnection,
    filter: &Filter,
    scope: &Scope,
) -> Result<Option<BTreeSet<String>>, DbErr> {
    let mut set: Option<BTreeSet<String>> = None;
    let mut narrow = |s: BTreeSet<String>| {
        set = Some(match set.take() {
            None => s,
            Some(prev) => prev.intersection(&s).cloned().collect(),
        });
    };
    if !filter.service_ids.is_empty() {
        narrow(filter.service_ids.iter().cloned().collect());
    }
    if !filter.team_ids.is_empty() {
        narrow(services_of_teams(db, &filter.team_ids).await?);
    }
    if let Some(teams) = scope.team_ids() {
        narrow(services_of_teams(db, teams).await?);
    }
    Ok(set)
}

async fn services_of_teams(
    db: &DatabaseConnection,
    teams: &[String],
) -> Result<BTreeSet<String>, DbErr> {
    Ok(service_team::Entity::find()
        .select_only()
        .column(service_team::Column::ServiceId)
        .filter(service_team::Column::TeamId.is_in(teams.to_vec()))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The incidents a filter selects (not deleted, and not hidden by an
/// inactive status mapping).
fn incident_select(
    filter: &Filter,
    services: &Option<BTreeSet<String>>,
    mapper: &Mapper,
) -> Select<incident::Entity> {
    use incident::Column as I;
    let mut select = incident::Entity::find().filter(I::DeletedAt.is_null());
    if let Some(visible) = mapper.visible_condition() {
        select = select.filter(visible);
    }
    if let Some(s) = services {
        select = select.filter(I::ServiceId.is_in(s.iter().cloned()));
    }
    if !filter.statuses.is_empty() {
        select = select.filter(I::Status.is_in(filter.statuses.clone()));
    }
    if !filter.urgencies.is_empty() {
        select = select.filter(I::Urgency.is_in(filter.urgencies.clone()));
    }
    if let Some(from) = filter.from {
        select = select.filter(I::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(I::CreatedAt.lt(to));
    }
    select
}

/// The status-field value of each of these incidents that has one (empty
/// when no status field is configured): mapped statuses follow it.
async fn status_values(
    db: &DatabaseConnection,
    mapper: &Mapper,
    ids: impl Iterator<Item = String>,
) -> Result<HashMap<String, String>, DbErr> {
    use crate::entities::incident_custom_field_value as cf;
    let Some(field) = &mapper.field else {
        return Ok(HashMap::new());
    };
    let ids: Vec<String> = ids.collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(5_000) {
        let rows: Vec<(String, Option<String>)> = cf::Entity::find()
            .select_only()
            .columns([cf::Column::IncidentId, cf::Column::ValueText])
            .filter(cf::Column::Name.eq(field.as_str()))
            .filter(cf::Column::IncidentId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().filter_map(|(id, v)| Some((id, v?))));
    }
    Ok(out)
}
