//! The PagerDuty catalogue as pagerlens keeps it: services, teams, escalation
//! policies (with rules and targets), users, schedules and priorities.
//!
//! Read functions only; the sync writes. Every list takes a filter, a sort and
//! a [`PageRequest`]; every entity has a `find_many(ids)` and each relation a
//! batched `*_of(ids)` so GraphQL can load them without N+1 queries. Deleted
//! objects (deleted upstream) are kept and hidden unless asked for. Every
//! function takes the caller's [`Scope`] and shows only what it allows.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Select};

use crate::entities::{
    escalation_policy, escalation_policy_service, escalation_policy_team, escalation_rule,
    escalation_rule_target, priority, schedule, schedule_user, service, service_team, team,
    team_member, user,
};
use crate::paging::{Page, PageRequest, contains_pattern, fetch_page};
use crate::scope::Scope;

/// Sort direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

impl From<Direction> for sea_orm::Order {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Asc => sea_orm::Order::Asc,
            Direction::Desc => sea_orm::Order::Desc,
        }
    }
}

/// Sort field for catalogue lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CatalogSort {
    #[default]
    Name,
    Id,
    UpdatedAt,
}

/// Filter for services.
#[derive(Clone, Debug, Default)]
pub struct ServiceFilter {
    pub ids: Option<Vec<String>>,
    pub team_ids: Option<Vec<String>>,
    pub escalation_policy_ids: Option<Vec<String>>,
    pub search: Option<String>,
    pub include_deleted: bool,
}

/// Filter shared by teams, escalation policies, users and schedules.
#[derive(Clone, Debug, Default)]
pub struct CatalogFilter {
    pub ids: Option<Vec<String>>,
    /// Only objects belonging to one of these teams (not used for teams).
    pub team_ids: Option<Vec<String>>,
    pub search: Option<String>,
    pub include_deleted: bool,
}

fn name_search<E: EntityTrait>(
    select: Select<E>,
    column: E::Column,
    search: Option<&str>,
) -> Select<E> {
    match search.map(str::trim).filter(|s| !s.is_empty()) {
        Some(q) => select.filter(
            Func::lower(Expr::col(column)).like(LikeExpr::new(contains_pattern(q)).escape('\\')),
        ),
        None => select,
    }
}

fn sorted<E: EntityTrait>(
    select: Select<E>,
    sort: CatalogSort,
    dir: Direction,
    name: E::Column,
    id: E::Column,
    updated: E::Column,
) -> Select<E> {
    let col = match sort {
        CatalogSort::Name => name,
        CatalogSort::Id => id,
        CatalogSort::UpdatedAt => updated,
    };
    // The id makes the order total, so pages never overlap or skip.
    select
        .order_by(col, dir.into())
        .order_by(id, sea_orm::Order::Asc)
}

macro_rules! common_filters {
    ($select:expr, $entity:ident, $filter:expr) => {{
        let mut s = $select;
        if let Some(ids) = &$filter.ids {
            s = s.filter($entity::Column::Id.is_in(ids.clone()));
        }
        if !$filter.include_deleted {
            s = s.filter($entity::Column::DeletedAt.is_null());
        }
        name_search(s, $entity::Column::Name, $filter.search.as_deref())
    }};
}

/// Lists services.
///
/// # Errors
/// Database errors only.
pub async fn list_services<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    filter: &ServiceFilter,
    sort: CatalogSort,
    dir: Direction,
    page: PageRequest,
) -> Result<Page<service::Model>, DbErr> {
    let mut s = common_filters!(service::Entity::find(), service, filter);
    if let Some(c) = scope.services_condition(service::Column::Id) {
        s = s.filter(c);
    }
    if let Some(teams) = &filter.team_ids {
        s = s.filter(
            service::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(service_team::Column::ServiceId)
                    .from(service_team::Entity)
                    .and_where(service_team::Column::TeamId.is_in(teams.clone()))
                    .to_owned(),
            ),
        );
    }
    if let Some(eps) = &filter.escalation_policy_ids {
        s = s.filter(service::Column::EscalationPolicyId.is_in(eps.clone()));
    }
    let s = sorted(
        s,
        sort,
        dir,
        service::Column::Name,
        service::Column::Id,
        service::Column::UpdatedAt,
    );
    fetch_page(db, s, page).await
}

/// Lists teams.
///
/// # Errors
/// Database errors only.
pub async fn list_teams<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    filter: &CatalogFilter,
    sort: CatalogSort,
    dir: Direction,
    page: PageRequest,
) -> Result<Page<team::Model>, DbErr> {
    let mut s = common_filters!(team::Entity::find(), team, filter);
    if let Some(c) = scope.teams_condition(team::Column::Id) {
        s = s.filter(c);
    }
    let s = sorted(
        s,
        sort,
        dir,
        team::Column::Name,
        team::Column::Id,
        team::Column::UpdatedAt,
    );
    fetch_page(db, s, page).await
}

/// Lists escalation policies.
///
/// # Errors
/// Database errors only.
pub async fn list_escalation_policies<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    filter: &CatalogFilter,
    sort: CatalogSort,
    dir: Direction,
    page: PageRequest,
) -> Result<Page<escalation_policy::Model>, DbErr> {
    let mut s = common_filters!(escalation_policy::Entity::find(), escalation_policy, filter);
    if let Some(c) = scope.escalation_policies_condition(escalation_policy::Column::Id) {
        s = s.filter(c);
    }
    if let Some(teams) = &filter.team_ids {
        s = s.filter(
            escalation_policy::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(escalation_policy_team::Column::EscalationPolicyId)
                    .from(escalation_policy_team::Entity)
                    .and_where(escalation_policy_team::Column::TeamId.is_in(teams.clone()))
                    .to_owned(),
            ),
        );
    }
    let s = sorted(
        s,
        sort,
        dir,
        escalation_policy::Column::Name,
        escalation_policy::Column::Id,
        escalation_policy::Column::UpdatedAt,
    );
    fetch_page(db, s, page).await
}

/// Lists PagerDuty users (directory data: not limited by a team scope).
///
/// # Errors
/// Database errors only.
pub async fn list_users<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    filter: &CatalogFilter,
    sort: CatalogSort,
    dir: Direction,
    page: PageRequest,
) -> Result<Page<user::Model>, DbErr> {
    let _ = scope;
    let mut s = common_filters!(user::Entity::find(), user, filter);
    if let Some(teams) = &filter.team_ids {
        s = s.filter(
            user::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(team_member::Column::UserId)
                    .from(team_member::Entity)
                    .and_where(team_member::Column::TeamId.is_in(teams.clone()))
                    .to_owned(),
            ),
        );
    }
    let s = sorted(
        s,
        sort,
        dir,
        user::Column::Name,
        user::Column::Id,
        user::Column::UpdatedAt,
    );
    fetch_page(db, s, page).await
}

/// Lists schedules (directory data: not limited by a team scope).
///
/// # Errors
/// Database errors only.
pub async fn list_schedules<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    filter: &CatalogFilter,
    sort: CatalogSort,
    dir: Direction,
    page: PageRequest,
) -> Result<Page<schedule::Model>, DbErr> {
    let _ = scope;
    let s = common_filters!(schedule::Entity::find(), schedule, filter);
    let s = sorted(
        s,
        sort,
        dir,
        schedule::Column::Name,
        schedule::Column::Id,
        schedule::Column::UpdatedAt,
    );
    fetch_page(db, s, page).await
}

/// Lists priorities, most severe first.
///
/// # Errors
/// Database errors only.
pub async fn list_priorities<C: ConnectionTrait>(db: &C) -> Result<Vec<priority::Model>, DbErr> {
    priority::Entity::find()
        .filter(priority::Column::DeletedAt.is_null())
        .order_by_asc(priority::Column::Position)
        .all(db)
        .await
}

/// The scope condition on an entity's id column, per entity.
trait Scoped: EntityTrait {
    fn scope_condition(scope: &Scope) -> Option<sea_orm::Condition>;
}

macro_rules! scoped {
    ($entity:ident, $method:ident) => {
        impl Scoped for $entity::Entity {
            fn scope_condition(scope: &Scope) -> Option<sea_orm::Condition> {
                scope.$method($entity::Column::Id)
            }
        }
    };
    ($entity:ident) => {
        impl Scoped for $entity::Entity {
            fn scope_condition(_: &Scope) -> Option<sea_orm::Condition> {
                None
            }
        }
    };
}

scoped!(service, services_condition);
scoped!(team, teams_condition);
scoped!(escalation_policy, escalation_policies_condition);
scoped!(user);
scoped!(schedule);
scoped!(priority);

/// `select` limited to what `scope` allows of `E`.
fn in_scope<E: Scoped>(select: Select<E>, scope: &Scope) -> Select<E> {
    match E::scope_condition(scope) {
        Some(c) => select.filter(c),
        None => select,
    }
}

macro_rules! find_many {
    ($fn:ident, $entity:ident) => {
        /// Loads the given ids (deleted ones included) that the scope
        /// allows; missing or hidden ids are absent.
        ///
        /// # Errors
        /// Database errors only.
        pub async fn $fn<C: ConnectionTrait>(
            db: &C,
            scope: &Scope,
            ids: &[String],
        ) -> Result<HashMap<String, $entity::Model>, DbErr> {
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            Ok(in_scope($entity::Entity::find(), scope)
                .filter($entity::Column::Id.is_in(ids.to_vec()))
                .all(db)
                .await?
                .into_iter()
                .map(|m| (m.id.clone(), m))
                .collect())
        }
    };
}

find_many!(find_services, service);
find_many!(find_teams, team);
find_many!(find_escalation_policies, escalation_policy);
find_many!(find_users, user);
find_many!(find_schedules, schedule);
find_many!(find_priorities, priority);

/// Groups `(key, value)` rows into a map of vectors, keeping row order.
fn group<V>(rows: impl IntoIterator<Item = (String, V)>) -> HashMap<String, Vec<V>> {
    let mut map: HashMap<String, Vec<V>> = HashMap::new();
    for (k, v) in rows {
        map.entry(k).or_default().push(v);
    }
    map
}

/// Loads a many-to-many relation through a join table in one statement:
/// the join rows whose `$key` is in `ids`, joined to `$target` (deleted
/// targets and targets outside the scope left out), grouped by key.
macro_rules! related_many {
    ($(#[$doc:meta])* $fn:ident, $join:ident . $key:ident / $col:ident, $target:ident) => {
        $(#[$doc])*
        ///
        /// # Errors
        /// Database errors only.
        pub async fn $fn<C: ConnectionTrait>(
            db: &C,
            scope: &Scope,
            ids: &[String],
        ) -> Result<HashMap<String, Vec<$target::Model>>, DbErr> {
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            let mut select = $join::Entity::find()
                .filter($join::Column::$col.is_in(ids.to_vec()))
                .find_also_related($target::Entity)
                .filter($target::Column::DeletedAt.is_null());
            if let Some(c) = <$target::Entity as Scoped>::scope_condition(scope) {
                select = select.filter(c);
            }
            let rows = select
                .order_by_asc($target::Column::Name)
                .all(db)
                .await?;
            Ok(group(rows.into_iter().filter_map(|(j, t)| t.map(|t| (j.$key, t)))))
        }
    };
}

related_many!(/// Teams of each service.
    teams_of_services, service_team.service_id / ServiceId, team);
related_many!(/// Services of each team.
    services_of_teams, service_team.team_id / TeamId, service);
related_many!(/// Teams each user is a member of.
    teams_of_users, team_member.user_id / UserId, team);
related_many!(/// Teams of each escalation policy.
    teams_of_escalation_policies, escalation_policy_team.escalation_policy_id / EscalationPolicyId, team);
related_many!(/// Escalation policies of each team.
    escalation_policies_of_teams, escalation_policy_team.team_id / TeamId, escalation_policy);
related_many!(/// Services using each escalation policy.
    services_of_escalation_policies, escalation_policy_service.escalation_policy_id / EscalationPolicyId, service);
related_many!(/// Members of each schedule.
    users_of_schedules, schedule_user.schedule_id / ScheduleId, user);
related_many!(/// Schedules each user belongs to.
    schedules_of_users, schedule_user.user_id / UserId, schedule);

/// A member of a team with their team role (`manager`, `responder`, …).
#[derive(Clone, Debug)]
pub struct TeamMember {
    pub user: user::Model,
    pub role: Option<String>,
}

/// Members of each team, with their role.
///
/// # Errors
/// Database errors only.
pub async fn members_of_teams<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<TeamMember>>, DbErr> {
    let ids: Vec<String> = ids
        .iter()
        .filter(|t| scope.allows_team(t))
        .cloned()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = team_member::Entity::find()
        .filter(team_member::Column::TeamId.is_in(ids))
        .find_also_related(user::Entity)
        .filter(user::Column::DeletedAt.is_null())
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?;
    Ok(group(rows.into_iter().filter_map(|(m, u)| {
        u.map(|user| (m.team_id, TeamMember { user, role: m.role }))
    })))
}

/// An escalation rule with its targets, in order.
#[derive(Clone, Debug)]
pub struct EscalationRule {
    pub rule: escalation_rule::Model,
    pub targets: Vec<escalation_rule_target::Model>,
}

/// The rules of each escalation policy, in escalation order, with targets.
/// Two statements for any number of policies.
///
/// # Errors
/// Database errors only.
pub async fn rules_of_escalation_policies<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<EscalationRule>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut rules = escalation_rule::Entity::find()
        .filter(escalation_rule::Column::EscalationPolicyId.is_in(ids.to_vec()));
    if let Some(c) =
        scope.escalation_policies_condition(escalation_rule::Column::EscalationPolicyId)
    {
        rules = rules.filter(c);
    }
    let rules = rules
        .order_by_asc(escalation_rule::Column::Position)
        .all(db)
        .await?;
    let rule_ids: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
    let mut targets = if rule_ids.is_empty() {
        HashMap::new()
    } else {
        group(
            escalation_rule_target::Entity::find()
                .filter(escalation_rule_target::Column::RuleId.is_in(rule_ids))
                .order_by_asc(escalation_rule_target::Column::Position)
                .all(db)
                .await?
                .into_iter()
                .map(|t| (t.rule_id.clone(), t)),
        )
    };
    Ok(group(rules.into_iter().map(|rule| {
        let targets = targets.remove(&rule.id).unwrap_or_default();
        (
            rule.escalation_policy_id.clone(),
            EscalationRule { rule, targets },
        )
    })))
}

/// Who and what an escalation policy covers: the users it can page (directly
/// or through a schedule) and the schedules it targets.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    pub user_ids: Vec<String>,
    pub schedule_ids: Vec<String>,
}

/// The coverage of each escalation policy; three statements for any number.
///
/// # Errors
/// Database errors only.
pub async fn coverage_of_escalation_policies<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Coverage>, DbErr> {
    let rules = rules_of_escalation_policies(db, scope, ids).await?;
    let schedule_ids: Vec<String> = rules
        .values()
        .flatten()
        .flat_map(|r| &r.targets)
        .filter(|t| t.target_type == "schedule")
        .map(|t| t.target_id.clone())
        .collect();
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    if !schedule_ids.is_empty() {
        for su in schedule_user::Entity::find()
            .filter(schedule_user::Column::ScheduleId.is_in(schedule_ids))
            .all(db)
            .await?
        {
            members.entry(su.schedule_id).or_default().push(su.user_id);
        }
    }
    let mut out = HashMap::new();
    for (ep, rules) in rules {
        let mut cov = Coverage::default();
        for t in rules.iter().flat_map(|r| &r.targets) {
            match t.target_type.as_str() {
                "user" => cov.user_ids.push(t.target_id.clone()),
                "schedule" => {
                    cov.schedule_ids.push(t.target_id.clone());
                    cov.user_ids
                        .extend(members.get(&t.target_id).into_iter().flatten().cloned());
                }
                _ => {}
            }
        }
        cov.user_ids.sort();
        cov.user_ids.dedup();
        cov.schedule_ids.sort();
        cov.schedule_ids.dedup();
        out.insert(ep, cov);
    }
    Ok(out)
}
