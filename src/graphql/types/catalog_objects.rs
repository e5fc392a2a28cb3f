//! The catalogue's output types: services, teams, escalation policies,
//! users, schedules and priorities.

use super::*;

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
