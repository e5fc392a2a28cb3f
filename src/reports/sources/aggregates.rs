//! The aggregate reports: incidents and their statuses per service, the
//! service summary, SLA compliance, and incidents per service for the
//! summary sheet.

use super::*;

/// (service label, count) from (service id, count), most first, then by label.
pub(super) fn ranked_services(
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

#[derive(Default)]
pub(super) struct ServiceStats {
    pub(super) total: i64,
    pub(super) triggered: i64,
    pub(super) acknowledged_now: i64,
    pub(super) resolved_now: i64,
    /// By mapped status category: `OPEN`, `IN_PROGRESS`, `WAITING`, `RESOLVED`.
    pub(super) categories: [i64; 4],
}

/// The status-mapping categories, in report column order.
pub(super) const CATEGORIES: [&str; 4] = ["OPEN", "IN_PROGRESS", "WAITING", "RESOLVED"];

/// Per-service counts by status and mapped category over the filtered
/// incidents, as analytics groups and maps them.
pub(super) async fn service_stats(
    db: &DatabaseConnection,
    filter: &Filter,
    services: &Option<BTreeSet<String>>,
    mapper: &Mapper,
) -> Result<HashMap<String, ServiceStats>, DbErr> {
    let ids = incident_select(filter, services, mapper)
        .select_only()
        .column(incident::Column::Id)
        .into_query();
    let mut stats: HashMap<String, ServiceStats> = HashMap::new();
    for g in crate::analytics::metrics::service_statuses(db, mapper, ids).await? {
        let Some(service) = g.service else {
            continue;
        };
        let s = stats.entry(service).or_default();
        s.total += g.incidents;
        if let Some(m) = &g.mapped
            && let Some(i) = CATEGORIES.iter().position(|c| *c == m.category)
        {
            s.categories[i] += g.incidents;
        }
        match g.status.as_str() {
            "triggered" => s.triggered += g.incidents,
            "acknowledged" => s.acknowledged_now += g.incidents,
            "resolved" => s.resolved_now += g.incidents,
            _ => {}
        }
    }
    Ok(stats)
}

pub(super) async fn per_service_rows(
    db: &DatabaseConnection,
    kind: ReportKind,
    filter: &Filter,
    services: Option<BTreeSet<String>>,
    mapper: &Mapper,
) -> Result<Built, DbErr> {
    // Counts and means come from analytics (the definitions `summary`
    // uses); the status report counts mapped categories itself.
    let (outcomes, stats) = if kind == ReportKind::IncidentStatusPerService {
        let stats = service_stats(db, filter, &services, mapper).await?;
        (HashMap::new(), stats)
    } else {
        let ids = incident_select(filter, &services, mapper)
            .select_only()
            .column(incident::Column::Id)
            .into_query();
        let outcomes = crate::analytics::metrics::service_outcomes(db, ids).await?;
        (outcomes, HashMap::new())
    };
    let list = live_services(db, &services).await?;
    let mut rows = Vec::new();
    for s in list {
        let st = stats.get(&s.id);
        let get = |f: fn(&ServiceStats) -> i64| Cell::Int(st.map_or(0, f));
        let o = outcomes.get(&s.id).cloned().unwrap_or_default();
        let id = Cell::Text(s.id.clone());
        let name = Cell::Text(s.name.clone());
        let minutes = |secs: Option<f64>| Cell::opt_float(secs.map(|s| s / 60.0));
        rows.push(match kind {
            ReportKind::IncidentsPerService => vec![id, name, Cell::Int(o.incidents)],
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
                Cell::Int(o.incidents),
                Cell::Int(o.acknowledged),
                Cell::Int(o.escalated),
                Cell::Int(o.escalations),
                Cell::Int(o.resolved),
                minutes(o.mtta),
                minutes(o.mttr),
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

/// Per policy and target, the SLA outcomes as of `now`, counted by
/// `analytics::compliance` (the definition `slaCompliance` uses: an overdue
/// target not yet marked breached counts as breached).
pub(super) async fn sla_rows(
    db: &DatabaseConnection,
    filter: &Filter,
    services: Option<BTreeSet<String>>,
    mapper: &Mapper,
    now: DateTime<Utc>,
) -> Result<Built, DbErr> {
    use crate::analytics::compliance::{outcomes_of, select_outcomes};
    use incident_sla_target::Column as S;
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Query};
    let incidents = incident_select(filter, &services, mapper)
        .select_only()
        .column(incident::Column::Id)
        .into_query();
    let mut stmt = Query::select()
        .from(incident_sla_target::Entity)
        .inner_join(
            incident::Entity,
            Expr::col((incident_sla_target::Entity, S::IncidentId))
                .equals((incident::Entity, incident::Column::Id)),
        )
        .and_where(Expr::col((incident_sla_target::Entity, S::IncidentId)).in_subquery(incidents))
        .expr_as(
            Expr::col((incident_sla_target::Entity, S::PolicyName)),
            Alias::new("policy"),
        )
        .expr_as(
            Expr::col((incident_sla_target::Entity, S::Target)),
            Alias::new("target"),
        )
        .add_group_by([
            Expr::col((incident_sla_target::Entity, S::PolicyName)),
            Expr::col((incident_sla_target::Entity, S::Target)),
        ])
        .to_owned();
    select_outcomes(&mut stmt, now);
    let mut by: BTreeMap<(String, String), crate::analytics::compliance::TargetCompliance> =
        BTreeMap::new();
    for row in db.query_all(&stmt).await? {
        let key = (row.try_get("", "policy")?, row.try_get("", "target")?);
        by.entry(key).or_default().add(&outcomes_of(&row)?);
    }
    let rows = by
        .into_iter()
        .map(|((policy, target), c)| {
            vec![
                Cell::Text(policy),
                Cell::Text(target),
                Cell::Int(c.total()),
                Cell::Int(c.met),
                Cell::Int(c.breached),
                Cell::Int(c.open),
                Cell::opt_float(c.met_share()),
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
