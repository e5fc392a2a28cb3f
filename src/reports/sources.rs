//! What each report kind reads: its columns and its rows. Incidents stream
//! in keyset pages of (created_at, id); catalog and aggregate reports are
//! small (one row per service, team or policy) and are computed at once.

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
            ReportKind::SlaCompliance => sla_rows(db, filter, services, &mapper).await?,
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

/// (service label, count) from (service id, count), most first, then by label.
fn ranked_services(
    counts: Vec<(String, i64)>,
    names: &HashMap<String, String>,
    label: ServiceLabel,
) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = match label {
        ServiceLabel::Hidden => Vec::new(),
        ServiceLabel::Id => counts,
        ServiceLabel::Name => counts
            .into_iter()
            .map(|(s, n)| (names.get(&s).cloned().unwrap_or(s), n))
            .collect(),
    };
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
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

/// `(created_at, id) > (t, id)`: a row-value comparison both databases
/// answer from the `(created_at, id)` index. (The equivalent `a > t OR (a = t
/// AND id > …)` made SQLite sort every remaining row for each page.)
fn after_key(t: DateTime<Utc>, id: &str) -> Expr {
    use incident::Column as I;
    Expr::tuple([Expr::col(I::CreatedAt), Expr::col(I::Id)])
        .gt(Expr::tuple([Expr::value(t), Expr::value(id.to_owned())]))
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

/// Two text columns of every row of a table (ids and names, or links).
async fn pairs<E: EntityTrait>(
    db: &DatabaseConnection,
    a: E::Column,
    b: E::Column,
) -> Result<Vec<(String, String)>, DbErr> {
    E::find()
        .select_only()
        .columns([a, b])
        .into_tuple::<(String, String)>()
        .all(db)
        .await
}

/// `id → name` of every row of a table.
async fn id_names<E: EntityTrait>(
    db: &DatabaseConnection,
    id: E::Column,
    name: E::Column,
) -> Result<HashMap<String, String>, DbErr> {
    Ok(pairs::<E>(db, id, name).await?.into_iter().collect())
}

/// Names by id, for the lookups every incident row needs.
struct Names {
    services: HashMap<String, String>,
    service_teams: HashMap<String, String>,
    priorities: HashMap<String, String>,
    users: HashMap<String, String>,
    policies: HashMap<String, String>,
}

impl Names {
    async fn load(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let services: HashMap<String, String> =
            id_names::<service::Entity>(db, service::Column::Id, service::Column::Name).await?;
        let teams: HashMap<String, String> =
            id_names::<team::Entity>(db, team::Column::Id, team::Column::Name).await?;
        let mut service_teams: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (s, t) in pairs::<service_team::Entity>(
            db,
            service_team::Column::ServiceId,
            service_team::Column::TeamId,
        )
        .await?
        {
            service_teams
                .entry(s)
                .or_default()
                .push(teams.get(&t).cloned().unwrap_or(t));
        }
        Ok(Self {
            services,
            service_teams: service_teams
                .into_iter()
                .map(|(s, mut t)| {
                    t.sort();
                    (s, t.join(", "))
                })
                .collect(),
            priorities: id_names::<priority::Entity>(
                db,
                priority::Column::Id,
                priority::Column::Name,
            )
            .await?,
            users: id_names::<user::Entity>(db, user::Column::Id, user::Column::Name).await?,
            policies: id_names::<escalation_policy::Entity>(
                db,
                escalation_policy::Column::Id,
                escalation_policy::Column::Name,
            )
            .await?,
        })
    }

    fn of(map: &HashMap<String, String>, id: &Option<String>) -> Cell {
        match id {
            None => Cell::Empty,
            Some(id) => Cell::Text(map.get(id).cloned().unwrap_or_else(|| id.clone())),
        }
    }
}

const INCIDENT_COLUMNS: [Column; 22] = [
    Column::new("incident_number", "Number", T::Int),
    Column::new("id", "Incident ID", T::Text),
    Column::new("title", "Title", T::Text),
    Column::new("status", "Status", T::Text),
    Column::new("status_name", "Status (mapped)", T::Text),
    Column::new("urgency", "Urgency", T::Text),
    Column::new("priority", "Priority", T::Text),
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
    Column::new("teams", "Teams", T::Text),
    Column::new("escalation_policy", "Escalation policy", T::Text),
    Column::new("created_at", "Created", T::DateTime),
    Column::new("acknowledged_at", "First acknowledged", T::DateTime),
    Column::new("acknowledged_by", "Acknowledged by", T::Text),
    Column::new("resolved_at", "Resolved", T::DateTime),
    Column::new("resolved_by", "Resolved by", T::Text),
    Column::new("escalated", "Escalated", T::Bool),
    Column::new("escalations", "Escalations", T::Int),
    Column::new(
        "minutes_to_acknowledge",
        "Minutes to acknowledge",
        T::Decimal,
    ),
    Column::new("minutes_to_resolve", "Minutes to resolve", T::Decimal),
    Column::new("source", "Source", T::Text),
    Column::new("html_url", "PagerDuty URL", T::Text),
];

const SERVICE_COLUMNS: [Column; 8] = [
    Column::new("id", "Service ID", T::Text),
    Column::new("name", "Service", T::Text),
    Column::new("status", "Status", T::Text),
    Column::new("description", "Description", T::Text),
    Column::new("teams", "Teams", T::Text),
    Column::new("escalation_policy", "Escalation policy", T::Text),
    Column::new("created_at", "Created", T::DateTime),
    Column::new("html_url", "PagerDuty URL", T::Text),
];

const TEAM_COLUMNS: [Column; 5] = [
    Column::new("id", "Team ID", T::Text),
    Column::new("name", "Team", T::Text),
    Column::new("description", "Description", T::Text),
    Column::new("services", "Services", T::Int),
    Column::new("html_url", "PagerDuty URL", T::Text),
];

const SERVICE_TEAM_COLUMNS: [Column; 4] = [
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
    Column::new("team_id", "Team ID", T::Text),
    Column::new("team", "Team", T::Text),
];

const POLICY_COLUMNS: [Column; 7] = [
    Column::new("id", "Escalation policy ID", T::Text),
    Column::new("name", "Escalation policy", T::Text),
    Column::new("description", "Description", T::Text),
    Column::new("num_loops", "Loops", T::Int),
    Column::new("teams", "Teams", T::Text),
    Column::new("services", "Services", T::Int),
    Column::new("html_url", "PagerDuty URL", T::Text),
];

const POLICY_TEAM_COLUMNS: [Column; 4] = [
    Column::new("escalation_policy_id", "Escalation policy ID", T::Text),
    Column::new("escalation_policy", "Escalation policy", T::Text),
    Column::new("team_id", "Team ID", T::Text),
    Column::new("team", "Team", T::Text),
];

const POLICY_SERVICE_COLUMNS: [Column; 4] = [
    Column::new("escalation_policy_id", "Escalation policy ID", T::Text),
    Column::new("escalation_policy", "Escalation policy", T::Text),
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
];

const PER_SERVICE_COLUMNS: [Column; 3] = [
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
    Column::new("incidents", "Incidents", T::Int),
];

const STATUS_PER_SERVICE_COLUMNS: [Column; 10] = [
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
    Column::new("triggered", "Triggered", T::Int),
    Column::new("acknowledged", "Acknowledged", T::Int),
    Column::new("resolved", "Resolved", T::Int),
    Column::new("total", "Total", T::Int),
    Column::new("open_mapped", "Open (mapped)", T::Int),
    Column::new("in_progress_mapped", "In progress (mapped)", T::Int),
    Column::new("waiting_mapped", "Waiting (mapped)", T::Int),
    Column::new("resolved_mapped", "Resolved (mapped)", T::Int),
];

const SERVICE_SUMMARY_COLUMNS: [Column; 9] = [
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
    Column::new("total", "Incidents", T::Int),
    Column::new("acknowledged", "Acknowledged", T::Int),
    Column::new("escalated", "Escalated", T::Int),
    Column::new("escalations", "Escalations", T::Int),
    Column::new("resolved", "Resolved", T::Int),
    Column::new("mtta_minutes", "MTTA (minutes)", T::Decimal),
    Column::new("mttr_minutes", "MTTR (minutes)", T::Decimal),
];

const SLA_COLUMNS: [Column; 7] = [
    Column::new("policy", "SLA policy", T::Text),
    Column::new("target", "Target", T::Text),
    Column::new("total", "SLAs", T::Int),
    Column::new("met", "Met", T::Int),
    Column::new("breached", "Breached", T::Int),
    Column::new("open", "Open", T::Int),
    Column::new("compliance", "Compliance", T::Percent),
];

/// A report kind's columns, in file order: the keys
/// `PAGERLENS_REPORT_EXCLUDE_COLUMNS` names, the headers and the types.
pub fn columns(kind: ReportKind) -> &'static [Column] {
    match kind {
        ReportKind::Incidents => &INCIDENT_COLUMNS,
        ReportKind::Services => &SERVICE_COLUMNS,
        ReportKind::Teams => &TEAM_COLUMNS,
        ReportKind::ServiceTeams => &SERVICE_TEAM_COLUMNS,
        ReportKind::EscalationPolicies => &POLICY_COLUMNS,
        ReportKind::EscalationPolicyTeams => &POLICY_TEAM_COLUMNS,
        ReportKind::EscalationPolicyServices => &POLICY_SERVICE_COLUMNS,
        ReportKind::IncidentsPerService => &PER_SERVICE_COLUMNS,
        ReportKind::IncidentStatusPerService => &STATUS_PER_SERVICE_COLUMNS,
        ReportKind::ServiceSummary => &SERVICE_SUMMARY_COLUMNS,
        ReportKind::SlaCompliance => &SLA_COLUMNS,
    }
}

#[derive(FromQueryResult)]
struct IncidentRow {
    id: String,
    incident_number: Option<i64>,
    title: String,
    status: String,
    urgency: String,
    priority_id: Option<String>,
    service_id: Option<String>,
    escalation_policy_id: Option<String>,
    html_url: Option<String>,
    source: String,
    acknowledged_at: Option<DateTime<Utc>>,
    acknowledged_by_user_id: Option<String>,
    resolved_at: Option<DateTime<Utc>>,
    resolved_by_user_id: Option<String>,
    escalation_count: i32,
    created_at: DateTime<Utc>,
}

fn minutes(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Cell {
    Cell::opt_float(to.map(|t| (t - from).num_milliseconds() as f64 / 60_000.0))
}

struct IncidentCursor {
    select: Select<incident::Entity>,
    mapper: Mapper,
    after: Option<(DateTime<Utc>, String)>,
    names: Names,
    total: u64,
    done: bool,
    /// Rows read so far per service id.
    per_service: HashMap<String, i64>,
}

impl IncidentCursor {
    async fn open(
        db: &DatabaseConnection,
        filter: &Filter,
        services: Option<BTreeSet<String>>,
        mapper: Mapper,
    ) -> Result<Self, DbErr> {
        let select = incident_select(filter, &services, &mapper);
        let total = select.clone().count(db).await?;
        Ok(Self {
            select,
            mapper,
            after: None,
            names: Names::load(db).await?,
            total,
            done: false,
            per_service: HashMap::new(),
        })
    }

    async fn next_page(
        &mut self,
        db: &DatabaseConnection,
    ) -> Result<Option<Vec<Vec<Cell>>>, DbErr> {
        use incident::Column as I;
        if self.done {
            return Ok(None);
        }
        let mut select = self.select.clone();
        if let Some((t, id)) = &self.after {
            select = select.filter(after_key(*t, id));
        }
        let rows = select
            .select_only()
            .columns([
                I::Id,
                I::IncidentNumber,
                I::Title,
                I::Status,
                I::Urgency,
                I::PriorityId,
                I::ServiceId,
                I::EscalationPolicyId,
                I::HtmlUrl,
                I::Source,
                I::AcknowledgedAt,
                I::AcknowledgedByUserId,
                I::ResolvedAt,
                I::ResolvedByUserId,
                I::EscalationCount,
                I::CreatedAt,
            ])
            .order_by_asc(I::CreatedAt)
            .order_by_asc(I::Id)
            .limit(PAGE)
            .into_model::<IncidentRow>()
            .all(db)
            .await?;
        if (rows.len() as u64) < PAGE {
            self.done = true;
        }
        if let Some(last) = rows.last() {
            self.after = Some((last.created_at, last.id.clone()));
        }
        if rows.is_empty() {
            return Ok(None);
        }
        for service in rows.iter().filter_map(|r| r.service_id.as_ref()) {
            match self.per_service.get_mut(service) {
                Some(n) => *n += 1,
                None => {
                    self.per_service.insert(service.clone(), 1);
                }
            }
        }
        let values = status_values(db, &self.mapper, rows.iter().map(|r| r.id.clone())).await?;
        let n = &self.names;
        let n_map = &self.mapper;
        Ok(Some(
            rows.into_iter()
                .map(|r| {
                    let mapped = n_map
                        .map(&r.source, &r.status, values.get(&r.id).map(String::as_str))
                        .map_or_else(|| r.status.clone(), |m| m.name);
                    vec![
                        r.incident_number.map_or(Cell::Empty, Cell::Int),
                        Cell::Text(r.id),
                        Cell::Text(r.title),
                        Cell::Text(r.status.clone()),
                        Cell::Text(mapped),
                        Cell::Text(r.urgency),
                        Names::of(&n.priorities, &r.priority_id),
                        Cell::opt_text(r.service_id.clone()),
                        Names::of(&n.services, &r.service_id),
                        r.service_id
                            .as_ref()
                            .and_then(|s| n.service_teams.get(s))
                            .map_or(Cell::Empty, |t| Cell::Text(t.clone())),
                        Names::of(&n.policies, &r.escalation_policy_id),
                        Cell::DateTime(r.created_at),
                        Cell::opt_time(r.acknowledged_at),
                        Names::of(&n.users, &r.acknowledged_by_user_id),
                        Cell::opt_time(r.resolved_at),
                        Names::of(&n.users, &r.resolved_by_user_id),
                        Cell::Bool(r.escalation_count > 0),
                        Cell::Int(i64::from(r.escalation_count)),
                        minutes(r.created_at, r.acknowledged_at),
                        minutes(r.created_at, r.resolved_at),
                        Cell::Text(r.source),
                        Cell::opt_text(r.html_url),
                    ]
                })
                .collect(),
        ))
    }
}

type Built = Vec<Vec<Cell>>;

async fn live_services(
    db: &DatabaseConnection,
    services: &Option<BTreeSet<String>>,
) -> Result<Vec<service::Model>, DbErr> {
    let mut select = service::Entity::find()
        .filter(service::Column::DeletedAt.is_null())
        .order_by_asc(service::Column::Name)
        .order_by_asc(service::Column::Id);
    if let Some(s) = services {
        select = select.filter(service::Column::Id.is_in(s.iter().cloned()));
    }
    select.all(db).await
}

async fn services_rows(
    db: &DatabaseConnection,
    services: &Option<BTreeSet<String>>,
) -> Result<Built, DbErr> {
    let names = Names::load(db).await?;
    let rows = live_services(db, services)
        .await?
        .into_iter()
        .map(|s| {
            let teams = names.service_teams.get(&s.id).cloned();
            vec![
                Cell::Text(s.id.clone()),
                Cell::Text(s.name),
                Cell::Text(s.status),
                Cell::opt_text(s.description),
                Cell::opt_text(teams),
                Names::of(&names.policies, &s.escalation_policy_id),
                Cell::opt_time(s.pd_created_at),
                Cell::opt_text(s.html_url),
            ]
        })
        .collect();
    Ok(rows)
}

async fn teams_rows(
    db: &DatabaseConnection,
    filter: &Filter,
    scope: &Scope,
) -> Result<Built, DbErr> {
    let mut select = team::Entity::find()
        .filter(team::Column::DeletedAt.is_null())
        .order_by_asc(team::Column::Name);
    if !filter.team_ids.is_empty() {
        select = select.filter(team::Column::Id.is_in(filter.team_ids.clone()));
    }
    if let Some(c) = scope.teams_condition(team::Column::Id) {
        select = select.filter(c);
    }
    let mut service_count: HashMap<String, i64> = HashMap::new();
    for (_, t) in pairs::<service_team::Entity>(
        db,
        service_team::Column::ServiceId,
        service_team::Column::TeamId,
    )
    .await?
    {
        *service_count.entry(t).or_default() += 1;
    }
    let rows = select
        .all(db)
        .await?
        .into_iter()
        .map(|t| {
            vec![
                Cell::Text(t.id.clone()),
                Cell::Text(t.name),
                Cell::opt_text(t.description),
                Cell::Int(service_count.get(&t.id).copied().unwrap_or(0)),
                Cell::opt_text(t.html_url),
            ]
        })
        .collect();
    Ok(rows)
}

async fn service_teams_rows(
    db: &DatabaseConnection,
    services: &Option<BTreeSet<String>>,
) -> Result<Built, DbErr> {
    let teams: HashMap<String, String> =
        id_names::<team::Entity>(db, team::Column::Id, team::Column::Name).await?;
    let links = pairs::<service_team::Entity>(
        db,
        service_team::Column::ServiceId,
        service_team::Column::TeamId,
    )
    .await?;
    let mut by_service: HashMap<String, Vec<String>> = HashMap::new();
    for (s, t) in links {
        by_service.entry(s).or_default().push(t);
    }
    let mut rows = Vec::new();
    for s in live_services(db, services).await? {
        let mut ts = by_service.remove(&s.id).unwrap_or_default();
        ts.sort_by_key(|t| teams.get(t).cloned().unwrap_or_default());
        if ts.is_empty() {
            rows.push(vec![
                Cell::Text(s.id.clone()),
                Cell::Text(s.name.clone()),
                Cell::Empty,
                Cell::Empty,
            ]);
        }
        for t in ts {
            rows.push(vec![
                Cell::Text(s.id.clone()),
                Cell::Text(s.name.clone()),
                Cell::Text(t.clone()),
                Cell::opt_text(teams.get(&t).cloned()),
            ]);
        }
    }
    Ok(rows)
}

async fn policy_rows(
    db: &DatabaseConnection,
    kind: ReportKind,
    services: &Option<BTreeSet<String>>,
    filter: &Filter,
    scope: &Scope,
) -> Result<Built, DbErr> {
    let narrowed = services.is_some() || !filter.team_ids.is_empty();
    let mut select = escalation_policy::Entity::find()
        .filter(escalation_policy::Column::DeletedAt.is_null())
        .order_by_asc(escalation_policy::Column::Name)
        .order_by_asc(escalation_policy::Column::Id);
    if let Some(c) = scope.escalation_policies_condition(escalation_policy::Column::Id) {
        select = select.filter(c);
    }
    let policies = select.all(db).await?;
    let team_links = pairs::<escalation_policy_team::Entity>(
        db,
        escalation_policy_team::Column::EscalationPolicyId,
        escalation_policy_team::Column::TeamId,
    )
    .await?;
    let service_links = pairs::<escalation_policy_service::Entity>(
        db,
        escalation_policy_service::Column::EscalationPolicyId,
        escalation_policy_service::Column::ServiceId,
    )
    .await?;
    let names = Names::load(db).await?;
    let team_names: HashMap<String, String> =
        id_names::<team::Entity>(db, team::Column::Id, team::Column::Name).await?;
    let mut teams_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (p, t) in &team_links {
        teams_of.entry(p).or_default().push(t);
    }
    let mut services_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (p, s) in &service_links {
        if services.as_ref().is_none_or(|set| set.contains(s)) {
            services_of.entry(p).or_default().push(s);
        }
    }
    let mut rows = Vec::new();
    for p in policies {
        let ts = teams_of.get(p.id.as_str()).cloned().unwrap_or_default();
        let ss = services_of.get(p.id.as_str()).cloned().unwrap_or_default();
        // With a service or team filter, keep the policies those services
        // use or those teams own.
        if narrowed && ss.is_empty() && !ts.iter().any(|t| filter.team_ids.iter().any(|f| f == t)) {
            continue;
        }
        match kind {
            ReportKind::EscalationPolicyTeams => {
                if ts.is_empty() {
                    rows.push(vec![
                        Cell::Text(p.id.clone()),
                        Cell::Text(p.name.clone()),
                        Cell::Empty,
                        Cell::Empty,
                    ]);
                }
                for t in ts {
                    rows.push(vec![
                        Cell::Text(p.id.clone()),
                        Cell::Text(p.name.clone()),
                        Cell::text(t),
                        Cell::opt_text(team_names.get(t).cloned()),
                    ]);
                }
            }
            ReportKind::EscalationPolicyServices => {
                if ss.is_empty() {
                    rows.push(vec![
                        Cell::Text(p.id.clone()),
                        Cell::Text(p.name.clone()),
                        Cell::Empty,
                        Cell::Empty,
                    ]);
                }
                for s in ss {
                    rows.push(vec![
                        Cell::Text(p.id.clone()),
                        Cell::Text(p.name.clone()),
                        Cell::text(s),
                        Cell::opt_text(names.services.get(s).cloned()),
                    ]);
                }
            }
            _ => {
                let mut tn: Vec<String> = ts
                    .iter()
                    .map(|t| {
                        team_names
                            .get(*t)
                            .cloned()
                            .unwrap_or_else(|| (*t).to_owned())
                    })
                    .collect();
                tn.sort();
                rows.push(vec![
                    Cell::Text(p.id.clone()),
                    Cell::Text(p.name),
                    Cell::opt_text(p.description),
                    Cell::Int(p.num_loops),
                    Cell::Text(tn.join(", ")),
                    Cell::Int(ss.len() as i64),
                    Cell::opt_text(p.html_url),
                ]);
            }
        }
    }
    Ok(rows)
}

#[derive(Default)]
struct ServiceStats {
    total: i64,
    triggered: i64,
    acknowledged_now: i64,
    resolved_now: i64,
    acknowledged: i64,
    escalated: i64,
    escalations: i64,
    resolved: i64,
    ack_secs: f64,
    resolve_secs: f64,
    /// By mapped status category: `OPEN`, `IN_PROGRESS`, `WAITING`, `RESOLVED`.
    categories: [i64; 4],
}

/// The status-mapping categories, in report column order.
const CATEGORIES: [&str; 4] = ["OPEN", "IN_PROGRESS", "WAITING", "RESOLVED"];

#[derive(FromQueryResult)]
struct StatRow {
    id: String,
    service_id: Option<String>,
    source: String,
    status: String,
    created_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    escalation_count: i32,
}

/// Per-service counts and means over the filtered incidents, streamed in
/// pages (memory grows with services, not incidents).
async fn service_stats(
    db: &DatabaseConnection,
    filter: &Filter,
    services: &Option<BTreeSet<String>>,
    mapper: &Mapper,
) -> Result<HashMap<String, ServiceStats>, DbErr> {
    use incident::Column as I;
    let mut stats: HashMap<String, ServiceStats> = HashMap::new();
    let mut after: Option<(DateTime<Utc>, String)> = None;
    loop {
        let mut select = incident_select(filter, services, mapper);
        if let Some((t, id)) = &after {
            select = select.filter(after_key(*t, id));
        }
        let rows: Vec<StatRow> = select
            .select_only()
            .columns([
                I::Id,
                I::ServiceId,
                I::Source,
                I::Status,
                I::CreatedAt,
                I::AcknowledgedAt,
                I::ResolvedAt,
                I::EscalationCount,
            ])
            .order_by_asc(I::CreatedAt)
            .order_by_asc(I::Id)
            .limit(PAGE)
            .into_model::<StatRow>()
            .all(db)
            .await?;
        let n = rows.len() as u64;
        if let Some(last) = rows.last() {
            after = Some((last.created_at, last.id.clone()));
        }
        let values = status_values(db, mapper, rows.iter().map(|r| r.id.clone())).await?;
        for r in rows {
            let Some(service) = r.service_id else {
                continue;
            };
            let s = stats.entry(service).or_default();
            s.total += 1;
            // Hidden (inactive) mappings were filtered out by the query.
            if let Some(m) = mapper.map(&r.source, &r.status, values.get(&r.id).map(String::as_str))
                && let Some(i) = CATEGORIES.iter().position(|c| *c == m.category)
            {
                s.categories[i] += 1;
            }
            match r.status.as_str() {
                "triggered" => s.triggered += 1,
                "acknowledged" => s.acknowledged_now += 1,
                "resolved" => s.resolved_now += 1,
                _ => {}
            }
            if let Some(a) = r.acknowledged_at {
                s.acknowledged += 1;
                s.ack_secs += (a - r.created_at).num_milliseconds() as f64 / 1000.0;
            }
            if let Some(z) = r.resolved_at {
                s.resolved += 1;
                s.resolve_secs += (z - r.created_at).num_milliseconds() as f64 / 1000.0;
            }
            if r.escalation_count > 0 {
                s.escalated += 1;
            }
            s.escalations += i64::from(r.escalation_count);
        }
        if n < PAGE {
            return Ok(stats);
        }
    }
}

async fn per_service_rows(
    db: &DatabaseConnection,
    kind: ReportKind,
    filter: &Filter,
    services: Option<BTreeSet<String>>,
    mapper: &Mapper,
) -> Result<Built, DbErr> {
    let stats = service_stats(db, filter, &services, mapper).await?;
    let list = live_services(db, &services).await?;
    let mut rows = Vec::new();
    for s in list {
        let st = stats.get(&s.id);
        let get = |f: fn(&ServiceStats) -> i64| Cell::Int(st.map_or(0, f));
        let id = Cell::Text(s.id.clone());
        let name = Cell::Text(s.name.clone());
        rows.push(match kind {
            ReportKind::IncidentsPerService => vec![id, name, get(|s| s.total)],
            ReportKind::IncidentStatusPerService => vec![
                id,
                name,
                get(|s| s.triggered),
                get(|s| s.acknowledged_now),
                get(|s| s.resolved_now),
                get(|s| s.total),
                get(|s| s.categories[0]),
                get(|s| s.categories[1]),
                get(|s| s.categories[2]),
                get(|s| s.categories[3]),
            ],
            _ => vec![
                id,
                name,
                get(|s| s.total),
                get(|s| s.acknowledged),
                get(|s| s.escalated),
                get(|s| s.escalations),
                get(|s| s.resolved),
                Cell::opt_float(
                    st.filter(|s| s.acknowledged > 0)
                        .map(|s| s.ack_secs / s.acknowledged as f64 / 60.0),
                ),
                Cell::opt_float(
                    st.filter(|s| s.resolved > 0)
                        .map(|s| s.resolve_secs / s.resolved as f64 / 60.0),
                ),
            ],
        });
    }
    if kind == ReportKind::IncidentsPerService {
        rows.sort_by_key(|r| match r[2] {
            Cell::Int(n) => -n,
            _ => 0,
        });
    }
    Ok(rows)
}

#[derive(FromQueryResult)]
struct SlaCount {
    policy_name: String,
    target: String,
    state: String,
    n: i64,
}

async fn sla_rows(
    db: &DatabaseConnection,
    filter: &Filter,
    services: Option<BTreeSet<String>>,
    mapper: &Mapper,
) -> Result<Built, DbErr> {
    use incident_sla_target::Column as S;
    let incidents = incident_select(filter, &services, mapper)
        .select_only()
        .column(incident::Column::Id)
        .into_query();
    let counts = incident_sla_target::Entity::find()
        .select_only()
        .column(S::PolicyName)
        .column(S::Target)
        .column(S::State)
        .column_as(Expr::col(S::Id).count(), "n")
        .filter(S::IncidentId.in_subquery(incidents))
        .group_by(S::PolicyName)
        .group_by(S::Target)
        .group_by(S::State)
        .into_model::<SlaCount>()
        .all(db)
        .await?;
    let mut by: BTreeMap<(String, String), BTreeMap<String, i64>> = BTreeMap::new();
    for c in counts {
        *by.entry((c.policy_name, c.target))
            .or_default()
            .entry(c.state)
            .or_default() += c.n;
    }
    let rows = by
        .into_iter()
        .map(|((policy, target), states)| {
            let get = |s: &str| states.get(s).copied().unwrap_or(0);
            let (met, breached) = (get("MET"), get("BREACHED"));
            let open = get("ACTIVE") + get("PAUSED");
            vec![
                Cell::Text(policy),
                Cell::Text(target),
                Cell::Int(met + breached + open),
                Cell::Int(met),
                Cell::Int(breached),
                Cell::Int(open),
                Cell::opt_float((met + breached > 0).then(|| met as f64 / (met + breached) as f64)),
            ]
        })
        .collect();
    Ok(rows)
}

/// Incidents per service (name, count), most first, for the summary chart.
pub async fn incidents_per_service(
    db: &DatabaseConnection,
    filter: &Filter,
    scope: &Scope,
    status_field: Option<&str>,
    label: ServiceLabel,
) -> Result<Vec<(String, i64)>, DbErr> {
    use incident::Column as I;
    if label == ServiceLabel::Hidden {
        return Ok(Vec::new());
    }
    let services = allowed_services(db, filter, scope).await?;
    let mapper = Mapper::load(db, status_field).await?;
    let counts: Vec<(Option<String>, i64)> = incident_select(filter, &services, &mapper)
        .select_only()
        .column(I::ServiceId)
        .column_as(Expr::col(I::Id).count(), "n")
        .group_by(I::ServiceId)
        .into_tuple()
        .all(db)
        .await?;
    let names: HashMap<String, String> =
        id_names::<service::Entity>(db, service::Column::Id, service::Column::Name).await?;
    Ok(ranked_services(
        counts
            .into_iter()
            .filter_map(|(s, n)| Some((s?, n)))
            .collect(),
        &names,
        label,
    ))
}
