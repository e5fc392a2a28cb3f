//! Reading SLAs: an incident's targets and timeline, and targets across
//! incidents by filter.

use super::*;

/// The SLA targets of each incident (current cycle), response first.
///
/// # Errors
/// Database errors only.
pub async fn targets_of<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<incident_sla_target::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select = incident_sla_target::Entity::find()
        .filter(incident_sla_target::Column::IncidentId.is_in(ids.to_vec()));
    if let Some(c) = scope.incident_ids_condition(incident_sla_target::Column::IncidentId) {
        select = select.filter(c);
    }
    let mut out: HashMap<String, Vec<incident_sla_target::Model>> = HashMap::new();
    for t in select
        .order_by_desc(incident_sla_target::Column::Cycle)
        .order_by_desc(incident_sla_target::Column::Target)
        .all(db)
        .await?
    {
        let list = out.entry(t.incident_id.clone()).or_default();
        // Only the current (latest) cycle.
        if list.first().is_none_or(|f| f.cycle == t.cycle) {
            list.push(t);
        }
    }
    Ok(out)
}

/// The SLA timeline of each incident, oldest first.
///
/// # Errors
/// Database errors only.
pub async fn events_of<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<sla_event::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select =
        sla_event::Entity::find().filter(sla_event::Column::IncidentId.is_in(ids.to_vec()));
    if let Some(c) = scope.incident_ids_condition(sla_event::Column::IncidentId) {
        select = select.filter(c);
    }
    let mut out: HashMap<String, Vec<sla_event::Model>> = HashMap::new();
    for e in select
        .order_by_asc(sla_event::Column::At)
        .order_by_asc(sla_event::Column::Id)
        .all(db)
        .await?
    {
        out.entry(e.incident_id.clone()).or_default().push(e);
    }
    Ok(out)
}

/// Which targets a list shows (every field narrows it; `None` is any).
#[derive(Clone, Debug, Default)]
pub struct TargetFilter {
    /// Of incidents of these services.
    pub service_ids: Option<Vec<String>>,
    /// Of incidents of services of these teams.
    pub team_ids: Option<Vec<String>>,
    /// Of incidents with these priorities.
    pub priority_ids: Option<Vec<String>>,
    pub target: Option<Target>,
    /// Breached at or after.
    pub breached_after: Option<DateTime<Utc>>,
    /// Breached before.
    pub breached_before: Option<DateTime<Utc>>,
}

impl TargetFilter {
    /// Checks the filter.
    ///
    /// # Errors
    /// `BadInput` for an empty breach range or lists longer than 100.
    pub fn check(&self) -> Result<(), SlaError> {
        if let (Some(a), Some(b)) = (self.breached_after, self.breached_before)
            && a >= b
        {
            return Err(SlaError::BadInput(
                "breachedAfter must be before breachedBefore".into(),
            ));
        }
        for (name, list) in [
            ("serviceIds", &self.service_ids),
            ("teamIds", &self.team_ids),
            ("priorityIds", &self.priority_ids),
        ] {
            if list.as_ref().is_some_and(|l| l.len() > 100) {
                return Err(SlaError::BadInput(format!("{name} takes at most 100 ids")));
            }
        }
        Ok(())
    }

    pub(super) fn condition(&self) -> sea_orm::Condition {
        use incident_sla_target::Column as T;
        use sea_orm::Condition;
        let mut c = Condition::all();
        let mut incidents = Query::select()
            .column(incident::Column::Id)
            .from(incident::Entity)
            .to_owned();
        let mut by_incident = false;
        if let Some(s) = &self.service_ids {
            incidents.and_where(incident::Column::ServiceId.is_in(s.clone()));
            by_incident = true;
        }
        if let Some(p) = &self.priority_ids {
            incidents.and_where(incident::Column::PriorityId.is_in(p.clone()));
            by_incident = true;
        }
        if let Some(t) = &self.team_ids {
            incidents.and_where(
                incident::Column::ServiceId.in_subquery(
                    Query::select()
                        .column(service_team::Column::ServiceId)
                        .from(service_team::Entity)
                        .and_where(service_team::Column::TeamId.is_in(t.clone()))
                        .to_owned(),
                ),
            );
            by_incident = true;
        }
        if by_incident {
            c = c.add(T::IncidentId.in_subquery(incidents));
        }
        if let Some(t) = self.target {
            c = c.add(T::Target.eq(t.as_str()));
        }
        if let Some(a) = self.breached_after {
            c = c.add(T::BreachedAt.gte(a));
        }
        if let Some(b) = self.breached_before {
            c = c.add(T::BreachedAt.lt(b));
        }
        c
    }
}

/// Targets in `states` that pass `filter`, soonest deadline first, limited
/// to the scope.
///
/// # Errors
/// Database errors only.
pub async fn list_targets<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    states: &[State],
    filter: &TargetFilter,
    limit: u64,
) -> Result<Vec<incident_sla_target::Model>, DbErr> {
    use sea_orm::QuerySelect;
    let mut select = incident_sla_target::Entity::find()
        .filter(
            states
                .iter()
                .fold(Condition::any(), |c, s| c.add(state_is(*s))),
        )
        .filter(filter.condition())
        .filter(of_live_incidents());
    if let Some(c) = scope.incident_ids_condition(incident_sla_target::Column::IncidentId) {
        select = select.filter(c);
    }
    select
        .order_by_asc(incident_sla_target::Column::Deadline)
        .order_by_asc(incident_sla_target::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
