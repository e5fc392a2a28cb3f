//! GraphQL output and input types. Output types wrap domain models and are
//! built `From` them, so renaming a column never changes the API by accident.
//! Relations resolve through the per-request DataLoaders.

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::catalog::{self, CatalogSort, Direction};
use crate::entities::{
    escalation_policy, incident, incident_custom_field_value, incident_log_entry, priority,
    schedule, service, team, user,
};
use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::error::{ApiError, ApiResultExt};
use crate::graphql::loaders::*;
use crate::incidents::{self, IncidentSort, Source, Status, Urgency};

/// Loads one value through the request's loaders.
pub async fn load_one<K>(
    ctx: &Context<'_>,
    key: K,
) -> async_graphql::Result<Option<<DbLoader as Loader<K>>::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    DbLoader: Loader<K, Error = std::sync::Arc<sea_orm::DbErr>>,
{
    ctx.data_unchecked::<Loaders>().load_one(key).await.api()
}

/// Loads a one-to-many relation (empty when there is none).
async fn load_list<K, V>(ctx: &Context<'_>, key: K) -> async_graphql::Result<Vec<V>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    DbLoader: Loader<K, Value = Vec<V>, Error = std::sync::Arc<sea_orm::DbErr>>,
{
    Ok(load_one(ctx, key).await?.unwrap_or_default())
}

fn wrap<M, T: From<M>>(items: Vec<M>) -> Vec<T> {
    items.into_iter().map(T::from).collect()
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(remote = "crate::catalog::Direction")]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// Field to sort catalogue lists by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum CatalogOrderField {
    #[default]
    Name,
    Id,
    UpdatedAt,
}

/// Sort order for services, teams, escalation policies, users and schedules.
#[derive(InputObject, Clone, Copy, Default)]
pub struct CatalogOrder {
    #[graphql(default)]
    pub field: CatalogOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

impl CatalogOrder {
    pub fn parts(self) -> (CatalogSort, Direction) {
        let sort = match self.field {
            CatalogOrderField::Name => CatalogSort::Name,
            CatalogOrderField::Id => CatalogSort::Id,
            CatalogOrderField::UpdatedAt => CatalogSort::UpdatedAt,
        };
        (sort, self.direction.into())
    }
}

/// At most this many ids in one filter list.
const MAX_FILTER_IDS: usize = 1000;
const MAX_SEARCH_LEN: usize = 200;

fn ids(field: &str, v: Option<Vec<ID>>) -> Result<Option<Vec<String>>, ApiError> {
    match v {
        Some(v) if v.len() > MAX_FILTER_IDS => Err(ApiError::bad_input(format!(
            "`{field}` lists {} ids; at most {MAX_FILTER_IDS} are allowed",
            v.len()
        ))),
        v => Ok(v.map(|v| v.into_iter().map(|id| id.0).collect())),
    }
}

fn search(v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if s.chars().count() > MAX_SEARCH_LEN => Err(ApiError::bad_input(format!(
            "`search` is longer than {MAX_SEARCH_LEN} characters"
        ))),
        v => Ok(v),
    }
}

/// Which services to list.
#[derive(InputObject, Default)]
pub struct ServiceFilter {
    pub ids: Option<Vec<ID>>,
    /// Services owned by any of these teams.
    pub team_ids: Option<Vec<ID>>,
    pub escalation_policy_ids: Option<Vec<ID>>,
    /// Case-insensitive part of the name.
    pub search: Option<String>,
    /// Include services deleted in PagerDuty (kept, marked deleted).
    #[graphql(default)]
    pub include_deleted: bool,
}

impl ServiceFilter {
    pub fn into_domain(self) -> Result<catalog::ServiceFilter, ApiError> {
        Ok(catalog::ServiceFilter {
            ids: ids("ids", self.ids)?,
            team_ids: ids("teamIds", self.team_ids)?,
            escalation_policy_ids: ids("escalationPolicyIds", self.escalation_policy_ids)?,
            search: search(self.search)?,
            include_deleted: self.include_deleted,
        })
    }
}

/// Which teams or schedules to list.
#[derive(InputObject, Default)]
pub struct NamedFilter {
    pub ids: Option<Vec<ID>>,
    /// Case-insensitive part of the name.
    pub search: Option<String>,
    /// Include objects deleted in PagerDuty.
    #[graphql(default)]
    pub include_deleted: bool,
}

impl NamedFilter {
    pub fn into_domain(self) -> Result<catalog::CatalogFilter, ApiError> {
        Ok(catalog::CatalogFilter {
            ids: ids("ids", self.ids)?,
            team_ids: None,
            search: search(self.search)?,
            include_deleted: self.include_deleted,
        })
    }
}

/// Which escalation policies or users to list.
#[derive(InputObject, Default)]
pub struct TeamScopedFilter {
    pub ids: Option<Vec<ID>>,
    /// Only those belonging to any of these teams.
    pub team_ids: Option<Vec<ID>>,
    /// Case-insensitive part of the name.
    pub search: Option<String>,
    /// Include objects deleted in PagerDuty.
    #[graphql(default)]
    pub include_deleted: bool,
}

impl TeamScopedFilter {
    pub fn into_domain(self) -> Result<catalog::CatalogFilter, ApiError> {
        Ok(catalog::CatalogFilter {
            ids: ids("ids", self.ids)?,
            team_ids: ids("teamIds", self.team_ids)?,
            search: search(self.search)?,
            include_deleted: self.include_deleted,
        })
    }
}

/// An incident's status.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::incidents::Status")]
pub enum IncidentStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

/// An incident's urgency.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::incidents::Urgency")]
pub enum IncidentUrgency {
    High,
    Low,
}

/// Where an incident comes from.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum IncidentSource {
    /// Synced from PagerDuty.
    Pagerduty,
    /// Created in pagerlens.
    Manual,
}

/// Which incidents to list. Lists are unions; different fields intersect.
#[derive(InputObject, Default)]
pub struct IncidentFilter {
    pub ids: Option<Vec<ID>>,
    pub service_ids: Option<Vec<ID>>,
    /// Incidents of services owned by any of these teams.
    pub team_ids: Option<Vec<ID>>,
    pub statuses: Option<Vec<IncidentStatus>>,
    pub urgencies: Option<Vec<IncidentUrgency>>,
    pub priority_ids: Option<Vec<ID>>,
    /// Created at or after this instant (RFC 3339).
    pub created_after: Option<DateTime<Utc>>,
    /// Created strictly before this instant (RFC 3339).
    pub created_before: Option<DateTime<Utc>>,
    /// Case-insensitive part of the title.
    pub search: Option<String>,
    /// Custom-field flags (`PAGERLENS_CUSTOM_FIELD_FLAGS`) that must all hold.
    pub flags: Option<Vec<String>>,
    /// Include incidents deleted locally.
    #[graphql(default)]
    pub include_deleted: bool,
}

impl IncidentFilter {
    pub fn into_domain(
        self,
        rules: &[crate::config::FlagRule],
    ) -> Result<incidents::IncidentFilter, ApiError> {
        let mut flags = Vec::new();
        for name in self.flags.iter().flatten() {
            match rules.iter().find(|r| &r.name == name) {
                Some(r) => flags.push(r.clone()),
                None => {
                    let known: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
                    return Err(ApiError::bad_input(format!(
                        "unknown flag {name:?}; configured flags: {known:?}"
                    )));
                }
            }
        }
        if let (Some(a), Some(b)) = (self.created_after, self.created_before)
            && a >= b
        {
            return Err(ApiError::bad_input(
                "`createdAfter` must be earlier than `createdBefore`",
            ));
        }
        Ok(incidents::IncidentFilter {
            ids: ids("ids", self.ids)?,
            service_ids: ids("serviceIds", self.service_ids)?,
            team_ids: ids("teamIds", self.team_ids)?,
            statuses: self
                .statuses
                .map(|v| v.into_iter().map(Into::into).collect()),
            urgencies: self
                .urgencies
                .map(|v| v.into_iter().map(Into::into).collect()),
            priority_ids: ids("priorityIds", self.priority_ids)?,
            created_from: self.created_after,
            created_to: self.created_before,
            search: search(self.search)?,
            flags,
            include_deleted: self.include_deleted,
        })
    }
}

/// Field to sort incidents by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum IncidentOrderField {
    #[default]
    CreatedAt,
    IncidentNumber,
    Title,
    Status,
    Urgency,
    ResolvedAt,
}

/// Sort order for incidents (default: newest first).
#[derive(InputObject, Clone, Copy)]
pub struct IncidentOrder {
    #[graphql(default)]
    pub field: IncidentOrderField,
    #[graphql(default_with = "SortDirection::Desc")]
    pub direction: SortDirection,
}

impl Default for IncidentOrder {
    fn default() -> Self {
        Self {
            field: IncidentOrderField::CreatedAt,
            direction: SortDirection::Desc,
        }
    }
}

impl IncidentOrder {
    pub fn parts(self) -> (IncidentSort, Direction) {
        let sort = match self.field {
            IncidentOrderField::CreatedAt => IncidentSort::CreatedAt,
            IncidentOrderField::IncidentNumber => IncidentSort::IncidentNumber,
            IncidentOrderField::Title => IncidentSort::Title,
            IncidentOrderField::Status => IncidentSort::Status,
            IncidentOrderField::Urgency => IncidentSort::Urgency,
            IncidentOrderField::ResolvedAt => IncidentSort::ResolvedAt,
        };
        (sort, self.direction.into())
    }
}

/// Lists incidents for a connection field, with an extra restriction.
pub async fn incident_connection(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    filter: Option<IncidentFilter>,
    order_by: Option<IncidentOrder>,
    restrict: impl FnOnce(&mut incidents::IncidentFilter),
) -> async_graphql::Result<Conn<Incident>> {
    let page = page_request(ctx, first, after).api()?;
    let rules = &ctx
        .data_unchecked::<std::sync::Arc<crate::config::Config>>()
        .custom_field_flags;
    let mut filter = filter.unwrap_or_default().into_domain(rules).api()?;
    restrict(&mut filter);
    let (sort, dir) = order_by.unwrap_or_default().parts();
    let db = ctx.data_unchecked::<sea_orm::DatabaseConnection>();
    let scope = &crate::graphql::auth::caller(ctx)?.scope;
    let found = incidents::list(db, scope, &filter, sort, dir, page)
        .await
        .api()?;
    Ok(connection(found, Incident))
}

/// A PagerDuty service.
pub struct Service(pub service::Model);

impl From<service::Model> for Service {
    fn from(m: service::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Service {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// PagerDuty's status: `active`, `warning`, `critical`, `maintenance` or `disabled`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn html_url(&self) -> Option<&str> {
        self.0.html_url.as_deref()
    }
    /// When the service was created in PagerDuty.
    async fn pagerduty_created_at(&self) -> Option<DateTime<Utc>> {
        self.0.pd_created_at
    }
    /// When our copy last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Deleted in PagerDuty; kept here for history.
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
    async fn teams(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Team>> {
        Ok(wrap(
            load_list(ctx, TeamsOfService(self.0.id.clone())).await?,
        ))
    }
    async fn escalation_policy(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<EscalationPolicy>> {
        match &self.0.escalation_policy_id {
            Some(id) => Ok(load_one(ctx, EscalationPolicyById(id.clone()))
                .await?
                .map(EscalationPolicy)),
            None => Ok(None),
        }
    }
    /// This service's incidents (newest first unless ordered otherwise).
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity + 1")]
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<IncidentFilter>,
        order_by: Option<IncidentOrder>,
    ) -> async_graphql::Result<Conn<Incident>> {
        let id = self.0.id.clone();
        incident_connection(ctx, first, after, filter, order_by, |f| {
            f.service_ids = Some(vec![id])
        })
        .await
    }
}

/// A PagerDuty team.
pub struct Team(pub team::Model);

impl From<team::Model> for Team {
    fn from(m: team::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Team {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn html_url(&self) -> Option<&str> {
        self.0.html_url.as_deref()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    /// Services this team owns.
    async fn services(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Service>> {
        Ok(wrap(
            load_list(ctx, ServicesOfTeam(self.0.id.clone())).await?,
        ))
    }
    /// Users in this team, with their team role.
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TeamMember>> {
        Ok(load_list(ctx, MembersOfTeam(self.0.id.clone()))
            .await?
            .into_iter()
            .map(|m| TeamMember {
                user: User(m.user),
                role: m.role,
            })
            .collect())
    }
    async fn escalation_policies(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<EscalationPolicy>> {
        Ok(wrap(
            load_list(ctx, EscalationPoliciesOfTeam(self.0.id.clone())).await?,
        ))
    }
}

/// A user's membership of a team.
#[derive(SimpleObject)]
pub struct TeamMember {
    pub user: User,
    /// The team role in PagerDuty (`manager`, `responder`, `observer`).
    pub role: Option<String>,
}

/// A PagerDuty escalation policy.
pub struct EscalationPolicy(pub escalation_policy::Model);

impl From<escalation_policy::Model> for EscalationPolicy {
    fn from(m: escalation_policy::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl EscalationPolicy {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// How many times the policy repeats after the last rule.
    async fn num_loops(&self) -> i64 {
        self.0.num_loops
    }
    async fn html_url(&self) -> Option<&str> {
        self.0.html_url.as_deref()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    /// The escalation rules, level 1 first.
    async fn rules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EscalationRule>> {
        Ok(load_list(ctx, RulesOfEscalationPolicy(self.0.id.clone()))
            .await?
            .into_iter()
            .map(EscalationRule)
            .collect())
    }
    async fn teams(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Team>> {
        Ok(wrap(
            load_list(ctx, TeamsOfEscalationPolicy(self.0.id.clone())).await?,
        ))
    }
    /// Services that use this policy.
    async fn services(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Service>> {
        Ok(wrap(
            load_list(ctx, ServicesOfEscalationPolicy(self.0.id.clone())).await?,
        ))
    }
    /// Everyone this policy can page: users targeted directly and the members
    /// of targeted schedules.
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let cov = load_one(ctx, CoverageOfEscalationPolicy(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        let loaded = ctx
            .data_unchecked::<Loaders>()
            .load_many(cov.user_ids.iter().cloned().map(UserById))
            .await
            .api()?;
        Ok(cov
            .user_ids
            .iter()
            .filter_map(|id| loaded.get(&UserById(id.clone())).cloned().map(User))
            .collect())
    }
    /// Schedules this policy targets.
    async fn schedules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Schedule>> {
        let cov = load_one(ctx, CoverageOfEscalationPolicy(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        let loaded = ctx
            .data_unchecked::<Loaders>()
            .load_many(cov.schedule_ids.iter().cloned().map(ScheduleById))
            .await
            .api()?;
        Ok(cov
            .schedule_ids
            .iter()
            .filter_map(|id| loaded.get(&ScheduleById(id.clone())).cloned().map(Schedule))
            .collect())
    }
}

/// One level of an escalation policy.
pub struct EscalationRule(pub catalog::EscalationRule);

#[Object]
impl EscalationRule {
    async fn id(&self) -> ID {
        ID(self.0.rule.id.clone())
    }
    /// The escalation level, starting at 1.
    async fn level(&self) -> i32 {
        self.0.rule.position + 1
    }
    async fn escalation_delay_in_minutes(&self) -> i64 {
        self.0.rule.escalation_delay_in_minutes
    }
    async fn targets(&self) -> Vec<EscalationTarget> {
        self.0
            .targets
            .iter()
            .map(|t| EscalationTarget {
                kind: if t.target_type == "schedule" {
                    EscalationTargetType::Schedule
                } else {
                    EscalationTargetType::User
                },
                id: t.target_id.clone(),
            })
            .collect()
    }
}

/// What an escalation rule pages.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum EscalationTargetType {
    User,
    Schedule,
}

/// A user or schedule an escalation rule pages.
pub struct EscalationTarget {
    kind: EscalationTargetType,
    id: String,
}

#[Object]
impl EscalationTarget {
    #[graphql(name = "type")]
    async fn kind(&self) -> EscalationTargetType {
        self.kind
    }
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    /// The user, when the target is a user.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        if self.kind != EscalationTargetType::User {
            return Ok(None);
        }
        Ok(load_one(ctx, UserById(self.id.clone())).await?.map(User))
    }
    /// The schedule, when the target is a schedule.
    async fn schedule(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Schedule>> {
        if self.kind != EscalationTargetType::Schedule {
            return Ok(None);
        }
        Ok(load_one(ctx, ScheduleById(self.id.clone()))
            .await?
            .map(Schedule))
    }
}

/// A PagerDuty user.
#[derive(Clone)]
pub struct User(pub user::Model);

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// IANA time zone of the user (PagerDuty's account zone when unset).
    async fn time_zone(&self) -> Option<&str> {
        self.0.time_zone.as_deref()
    }
    /// PagerDuty account role (`admin`, `user`, `observer`, …).
    async fn role(&self) -> Option<&str> {
        self.0.role.as_deref()
    }
    async fn job_title(&self) -> Option<&str> {
        self.0.job_title.as_deref()
    }
    /// Invited but has not accepted yet.
    async fn invitation_sent(&self) -> bool {
        self.0.invitation_sent
    }
    async fn html_url(&self) -> Option<&str> {
        self.0.html_url.as_deref()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    async fn teams(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Team>> {
        Ok(wrap(load_list(ctx, TeamsOfUser(self.0.id.clone())).await?))
    }
    async fn schedules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Schedule>> {
        Ok(wrap(
            load_list(ctx, SchedulesOfUser(self.0.id.clone())).await?,
        ))
    }
}

/// A PagerDuty on-call schedule.
pub struct Schedule(pub schedule::Model);

impl From<schedule::Model> for Schedule {
    fn from(m: schedule::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Schedule {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn time_zone(&self) -> Option<&str> {
        self.0.time_zone.as_deref()
    }
    async fn html_url(&self) -> Option<&str> {
        self.0.html_url.as_deref()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    /// Users in the schedule's layers.
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        Ok(wrap(
            load_list(ctx, UsersOfSchedule(self.0.id.clone())).await?,
        ))
    }
}

/// An incident priority (P1 is the most severe).
pub struct Priority(pub priority::Model);

impl From<priority::Model> for Priority {
    fn from(m: priority::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Priority {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Position in PagerDuty's list: 0 is the most severe.
    async fn order(&self) -> i32 {
        self.0.position
    }
}

/// An incident, from PagerDuty or created locally.
pub struct Incident(pub incident::Model);

fn seconds_between(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Option<i64> {
    to.map(|t| (t - from).num_seconds())
}

#[Object]
impl Incident {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The incident's SLA: response and resolution targets, state, deadlines
    /// and timeline (null when no policy matches).
    async fn sla(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::graphql::sla::IncidentSla>> {
        crate::graphql::sla::incident_sla(ctx, &self.0.id).await
    }
    /// PagerDuty's incident number.
    async fn number(&self) -> Option<i64> {
        self.0.incident_number
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn status(&self) -> async_graphql::Result<IncidentStatus> {
        Status::parse(&self.0.status)
            .map(Into::into)
            .ok_or_else(|| {
                ApiError::Internal(
                    format!(
                        "incident {} has unknown status {:?}",
                        self.0.id, self.0.status
                    )
                    .into(),
                )
            })
            .api()
    }
    async fn urgency(&self) -> IncidentUrgency {
        match Urgency::parse(&self.0.urgency) {
            Some(Urgency::Low) => IncidentUrgency::Low,
            _ => IncidentUrgency::High,
        }
    }
    async fn source(&self) -> IncidentSource {
        match Source::parse(&self.0.source) {
            Some(Source::Manual) => IncidentSource::Manual,
            _ => IncidentSource::Pagerduty,
        }
    }
    async fn incident_key(&self) -> Option<&str> {
        self.0.incident_key.as_deref()
    }
    async fn html_url(&self) -> Option<&str> {
        self.0.html_url.as_deref()
    }
    /// When the incident was created (first triggered).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When our copy last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// PagerDuty's own last-updated time.
    async fn pagerduty_updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.pd_updated_at
    }
    async fn last_status_change_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_status_change_at
    }
    /// The first explicit acknowledgement.
    async fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.0.acknowledged_at
    }
    async fn acknowledged_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match &self.0.acknowledged_by_user_id {
            Some(id) => Ok(load_one(ctx, UserById(id.clone())).await?.map(User)),
            None => Ok(None),
        }
    }
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
    async fn resolved_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match &self.0.resolved_by_user_id {
            Some(id) => Ok(load_one(ctx, UserById(id.clone())).await?.map(User)),
            None => Ok(None),
        }
    }
    /// Seconds from creation to the first acknowledgement.
    async fn seconds_to_first_ack(&self) -> Option<i64> {
        seconds_between(self.0.created_at, self.0.acknowledged_at)
    }
    /// Seconds from creation to resolution.
    async fn seconds_to_resolve(&self) -> Option<i64> {
        seconds_between(self.0.created_at, self.0.resolved_at)
    }
    /// How many times it escalated (from escalate log entries).
    async fn escalation_count(&self) -> i32 {
        self.0.escalation_count
    }
    /// Escalated at least once.
    async fn escalated(&self) -> bool {
        self.0.escalation_count > 0
    }
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    async fn service(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Service>> {
        match &self.0.service_id {
            Some(id) => Ok(load_one(ctx, ServiceById(id.clone())).await?.map(Service)),
            None => Ok(None),
        }
    }
    async fn escalation_policy(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<EscalationPolicy>> {
        match &self.0.escalation_policy_id {
            Some(id) => Ok(load_one(ctx, EscalationPolicyById(id.clone()))
                .await?
                .map(EscalationPolicy)),
            None => Ok(None),
        }
    }
    async fn priority(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Priority>> {
        match &self.0.priority_id {
            Some(id) => Ok(load_one(ctx, PriorityById(id.clone())).await?.map(Priority)),
            None => Ok(None),
        }
    }
    /// Current assignees (PagerDuty clears them once resolved).
    async fn assignees(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        Ok(wrap(
            load_list(ctx, AssigneesOfIncident(self.0.id.clone())).await?,
        ))
    }
    /// The incident's log, oldest first.
    async fn log_entries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LogEntry>> {
        Ok(load_list(ctx, LogEntriesOfIncident(self.0.id.clone()))
            .await?
            .into_iter()
            .map(LogEntry)
            .collect())
    }
    /// Files added to the incident, oldest first.
    async fn attachments(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::incidents::IncidentAttachment>> {
        Ok(load_list(ctx, AttachmentsOfIncident(self.0.id.clone()))
            .await?
            .into_iter()
            .map(super::incidents::IncidentAttachment)
            .collect())
    }
    /// The custom-field flags (`PAGERLENS_CUSTOM_FIELD_FLAGS`) that hold.
    async fn flags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let rules = &ctx
            .data_unchecked::<std::sync::Arc<crate::config::Config>>()
            .custom_field_flags;
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        let values = load_list(ctx, CustomFieldsOfIncident(self.0.id.clone())).await?;
        Ok(incidents::flags::flags_of(rules, &values)
            .into_iter()
            .map(str::to_owned)
            .collect())
    }
    /// Custom field values, by field name.
    async fn custom_fields(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<CustomFieldValue>> {
        Ok(load_list(ctx, CustomFieldsOfIncident(self.0.id.clone()))
            .await?
            .into_iter()
            .map(CustomFieldValue)
            .collect())
    }
}

/// One entry of an incident's log.
pub struct LogEntry(pub incident_log_entry::Model);

#[Object]
impl LogEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// PagerDuty's type, e.g. `trigger_log_entry`, `acknowledge_log_entry`.
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// What acted: `user_reference`, `service_reference`, `integration_reference`.
    async fn agent_type(&self) -> Option<&str> {
        self.0.agent_type.as_deref()
    }
    async fn agent_id(&self) -> Option<ID> {
        self.0.agent_id.clone().map(ID)
    }
    /// The acting user, when a user acted.
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match (&self.0.agent_type, &self.0.agent_id) {
            (Some(t), Some(id)) if t.starts_with("user") => {
                Ok(load_one(ctx, UserById(id.clone())).await?.map(User))
            }
            _ => Ok(None),
        }
    }
    /// The channel: `api`, `email`, `website`, `timeout`, `auto`, …
    async fn channel(&self) -> Option<&str> {
        self.0.channel_type.as_deref()
    }
    /// The notified user of a notification entry.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match &self.0.user_id {
            Some(id) => Ok(load_one(ctx, UserById(id.clone())).await?.map(User)),
            None => Ok(None),
        }
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

/// A custom field value on an incident.
pub struct CustomFieldValue(pub incident_custom_field_value::Model);

#[Object]
impl CustomFieldValue {
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }
    /// `string`, `integer`, `float`, `boolean`, `datetime` or `url`.
    async fn data_type(&self) -> Option<&str> {
        self.0.data_type.as_deref()
    }
    /// The value as PagerDuty sent it (a scalar, or a list for multi-value fields).
    async fn value(&self) -> Option<Json<serde_json::Value>> {
        self.0.value.clone().map(Json)
    }
    /// The value as text (list items joined by ", ").
    async fn value_text(&self) -> Option<&str> {
        self.0.value_text.as_deref()
    }
}

/// A configured custom-field flag (`PAGERLENS_CUSTOM_FIELD_FLAGS`).
#[derive(SimpleObject)]
pub struct CustomFieldFlag {
    pub name: String,
    /// The custom field it looks at.
    pub field: String,
    /// `equals`, `not_equals`, `in`, `contains`, `is_set` or `is_not_set`.
    pub operator: String,
    pub values: Vec<String>,
}

impl From<&crate::config::FlagRule> for CustomFieldFlag {
    fn from(r: &crate::config::FlagRule) -> Self {
        use crate::config::FlagOp;
        let (operator, values) = match &r.op {
            FlagOp::Equals(v) => ("equals", vec![v.clone()]),
            FlagOp::NotEquals(v) => ("not_equals", vec![v.clone()]),
            FlagOp::In(vs) => ("in", vs.clone()),
            FlagOp::Contains(v) => ("contains", vec![v.clone()]),
            FlagOp::IsSet => ("is_set", vec![]),
            FlagOp::IsNotSet => ("is_not_set", vec![]),
        };
        Self {
            name: r.name.clone(),
            field: r.field.clone(),
            operator: operator.to_owned(),
            values,
        }
    }
}
