//! The incidents report: incidents read in keyset pages of (created_at,
//! id), with the names of what they refer to.

use super::*;

/// `(created_at, id) > (t, id)`: a row-value comparison both databases
/// answer from the `(created_at, id)` index. (The equivalent `a > t OR (a = t
/// AND id > …)` made SQLite sort every remaining row for each page.)
pub(super) fn after_key(t: DateTime<Utc>, id: &str) -> Expr {
    use incident::Column as I;
    Expr::tuple([Expr::col(I::CreatedAt), Expr::col(I::Id)])
        .gt(Expr::tuple([Expr::value(t), Expr::value(id.to_owned())]))
}

/// Names by id, for the lookups every incident row needs.
pub(super) struct Names {
    pub(super) services: HashMap<String, String>,
    pub(super) service_teams: HashMap<String, String>,
    pub(super) priorities: HashMap<String, String>,
    pub(super) users: HashMap<String, String>,
    pub(super) policies: HashMap<String, String>,
}

impl Names {
    pub(super) async fn load(db: &DatabaseConnection) -> Result<Self, DbErr> {
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

    pub(super) fn of(map: &HashMap<String, String>, id: &Option<String>) -> Cell {
        match id {
            None => Cell::Empty,
            Some(id) => Cell::Text(map.get(id).cloned().unwrap_or_else(|| id.clone())),
        }
    }
}

#[derive(FromQueryResult)]
pub(super) struct IncidentRow {
    pub(super) id: String,
    pub(super) incident_number: Option<i64>,
    pub(super) title: String,
    pub(super) status: String,
    pub(super) urgency: String,
    pub(super) priority_id: Option<String>,
    pub(super) service_id: Option<String>,
    pub(super) escalation_policy_id: Option<String>,
    pub(super) html_url: Option<String>,
    pub(super) source: String,
    pub(super) acknowledged_at: Option<DateTime<Utc>>,
    pub(super) acknowledged_by_user_id: Option<String>,
    pub(super) resolved_at: Option<DateTime<Utc>>,
    pub(super) resolved_by_user_id: Option<String>,
    pub(super) escalation_count: i32,
    pub(super) created_at: DateTime<Utc>,
}

pub(super) fn minutes(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Cell {
    Cell::opt_float(to.map(|t| (t - from).num_milliseconds() as f64 / 60_000.0))
}

pub(super) struct IncidentCursor {
    pub(super) select: Select<incident::Entity>,
    pub(super) mapper: Mapper,
    pub(super) after: Option<(DateTime<Utc>, String)>,
    pub(super) names: Names,
    pub(super) total: u64,
    pub(super) done: bool,
    /// Rows read so far per service id.
    pub(super) per_service: HashMap<String, i64>,
}

impl IncidentCursor {
    pub(super) async fn open(
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

    pub(super) async fn next_page(
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
