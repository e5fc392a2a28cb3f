//! The catalog reports: services, teams, escalation policies and the pairs
//! between them.

use super::*;

/// Two text columns of every row of a table (ids and names, or links).
pub(super) async fn pairs<E: EntityTrait>(
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
pub(super) async fn id_names<E: EntityTrait>(
    db: &DatabaseConnection,
    id: E::Column,
    name: E::Column,
) -> Result<HashMap<String, String>, DbErr> {
    Ok(pairs::<E>(db, id, name).await?.into_iter().collect())
}

pub(super) type Built = Vec<Vec<Cell>>;

pub(super) async fn live_services(
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

pub(super) async fn services_rows(
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

pub(super) async fn teams_rows(
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

pub(super) async fn service_teams_rows(
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

pub(super) async fn policy_rows(
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
