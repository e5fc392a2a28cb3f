//! SLA fields: an incident's SLA, breaches and at-risk targets, policies,
//! pause and resume, the breach check and deliberate recomputes.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::analytics::{AnalyticsInput, params_of};
use super::auth::{RoleGuard, caller};
use super::error::{ApiError, ApiResultExt};
use super::loaders::{SlaEventsOfIncident, SlaTargetsOfIncident};
use super::types::{Incident, load_one};
use crate::analytics::compliance::{ComplianceGroup, TargetCompliance};
use crate::analytics::metrics::Analytics;
use crate::auth::Role;
use crate::config::Config;
use crate::entities::{business_calendar, incident_sla_target, sla_event, sla_policy};
use crate::sla::{self, SlaError, State};

impl From<SlaError> for ApiError {
    fn from(e: SlaError) -> Self {
        match e {
            SlaError::BadInput(m) => ApiError::BadUserInput(m),
            SlaError::NotFound(m) => ApiError::NotFound(m),
            SlaError::Db(e) => e.into(),
            SlaError::Stopped { .. } => ApiError::Internal(e.to_string().into()),
        }
    }
}

fn settings<'a>(ctx: &Context<'a>) -> &'a crate::config::SlaSettings {
    &ctx.data_unchecked::<std::sync::Arc<Config>>().sla
}

fn db<'a>(ctx: &Context<'a>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

/// A target's state.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "SlaState")]
#[graphql(remote = "crate::sla::State")]
pub enum SlaStateGql {
    Active,
    Paused,
    Met,
    Breached,
}

/// One SLA target (response: time to first acknowledgement; resolution: time to resolve).
pub struct SlaTarget(pub incident_sla_target::Model);

#[Object]
impl SlaTarget {
    async fn incident_id(&self) -> ID {
        ID(self.0.incident_id.clone())
    }
    /// `response` or `resolution`.
    async fn target(&self) -> &str {
        &self.0.target
    }
    /// 1 for the incident's first life; a reopened incident starts the next.
    async fn cycle(&self) -> i32 {
        self.0.cycle
    }
    /// The policy it is measured by.
    async fn policy_name(&self) -> &str {
        &self.0.policy_name
    }
    async fn target_seconds(&self) -> i64 {
        self.0.target_secs
    }
    /// Counted around the clock or in a business-hours calendar.
    async fn business_hours(&self) -> bool {
        self.0.calendar_id.is_some()
    }
    /// The state now: an active target past its deadline reads `BREACHED`
    /// even before the breach check has recorded it.
    async fn state(&self) -> SlaStateGql {
        let s = State::parse(&self.0.state).unwrap_or(State::Active);
        if s == State::Active && self.0.deadline.is_some_and(|d| d <= Utc::now()) {
            SlaStateGql::Breached
        } else {
            s.into()
        }
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// When the target is (or was) due; null while paused.
    async fn deadline(&self) -> Option<DateTime<Utc>> {
        self.0.deadline
    }
    /// While running: the predicted breach time (the deadline if nothing changes).
    async fn predicted_breach_at(&self) -> Option<DateTime<Utc>> {
        (self.0.state == State::Active.as_str())
            .then_some(self.0.deadline)
            .flatten()
    }
    async fn met_at(&self) -> Option<DateTime<Utc>> {
        self.0.met_at
    }
    async fn breached_at(&self) -> Option<DateTime<Utc>> {
        self.0.breached_at
    }
    async fn breach_notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.breach_notified_at
    }
    async fn paused_at(&self) -> Option<DateTime<Utc>> {
        self.0.paused_at
    }
    /// Seconds spent paused so far.
    async fn paused_seconds(&self) -> i64 {
        self.0.paused_secs
    }
    /// Seconds used on the policy's clock (business time for business-hours
    /// policies), pauses excluded, as of `computedAt`.
    async fn used_seconds(&self) -> i64 {
        self.0.used_secs
    }
    /// Wall-clock seconds used, pauses excluded, as of `computedAt`.
    async fn wall_seconds_used(&self) -> i64 {
        self.0.wall_used_secs
    }
    /// Target minus used (negative: overdue), as of `computedAt`.
    async fn remaining_seconds(&self) -> i64 {
        self.0.target_secs - self.0.used_secs
    }
    /// The highest at-risk share already announced (0: none).
    async fn warned_share(&self) -> f64 {
        self.0.warned_share
    }
    async fn computed_at(&self) -> DateTime<Utc> {
        self.0.computed_at
    }
}

/// One clock event on an incident's SLA timeline.
pub struct SlaEvent(pub sla_event::Model);

#[Object]
impl SlaEvent {
    /// `started`, `paused`, `resumed`, `warned`, `breached`, `met` or `policy_changed`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// `response`, `resolution`, or null for both.
    async fn target(&self) -> Option<&str> {
        self.0.target.as_deref()
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
}

/// An incident's SLA.
pub struct IncidentSla {
    pub incident_id: String,
    pub targets: Vec<incident_sla_target::Model>,
}

#[Object]
impl IncidentSla {
    async fn response(&self) -> Option<SlaTarget> {
        self.target("response")
    }
    async fn resolution(&self) -> Option<SlaTarget> {
        self.target("resolution")
    }
    /// Whether the clocks are paused now.
    async fn paused(&self) -> bool {
        self.targets
            .iter()
            .any(|t| t.state == State::Paused.as_str())
    }
    /// Every clock event, oldest first, with its reason.
    async fn timeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SlaEvent>> {
        Ok(load_one(ctx, SlaEventsOfIncident(self.incident_id.clone()))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(SlaEvent)
            .collect())
    }
}

impl IncidentSla {
    fn target(&self, name: &str) -> Option<SlaTarget> {
        self.targets
            .iter()
            .find(|t| t.target == name)
            .cloned()
            .map(SlaTarget)
    }
}

/// The SLA of an incident (null when no policy matches it).
pub async fn incident_sla(
    ctx: &Context<'_>,
    incident_id: &str,
) -> async_graphql::Result<Option<IncidentSla>> {
    let targets = load_one(ctx, SlaTargetsOfIncident(incident_id.to_owned()))
        .await?
        .unwrap_or_default();
    Ok((!targets.is_empty()).then(|| IncidentSla {
        incident_id: incident_id.to_owned(),
        targets,
    }))
}

/// An SLA policy.
pub struct SlaPolicy(pub sla_policy::Model);

#[Object]
impl SlaPolicy {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// PagerDuty priority names it matches (null: any).
    async fn priority_names(&self) -> Option<Vec<String>> {
        self.0
            .priority_names
            .as_ref()
            .map(|p| p.split(',').map(str::to_owned).collect())
    }
    async fn urgency(&self) -> Option<&str> {
        self.0.urgency.as_deref()
    }
    async fn service_id(&self) -> Option<ID> {
        self.0.service_id.clone().map(ID)
    }
    async fn team_id(&self) -> Option<ID> {
        self.0.team_id.clone().map(ID)
    }
    async fn response_target_seconds(&self) -> i64 {
        self.0.response_target_secs
    }
    async fn resolution_target_seconds(&self) -> i64 {
        self.0.resolution_target_secs
    }
    /// Business-hours calendar (null: around the clock).
    async fn calendar_id(&self) -> Option<ID> {
        self.0.calendar_id.map(|c| ID(c.to_string()))
    }
}

/// A policy to create or replace. Conditions left null match anything; the
/// most specific matching policy wins (ties: the oldest).
#[derive(InputObject)]
pub struct SlaPolicyInput {
    pub name: String,
    pub priority_names: Option<Vec<String>>,
    pub urgency: Option<String>,
    pub service_id: Option<ID>,
    pub team_id: Option<ID>,
    pub response_target_seconds: i64,
    pub resolution_target_seconds: i64,
    pub calendar_id: Option<ID>,
}

impl SlaPolicyInput {
    fn into_domain(self) -> async_graphql::Result<sla::PolicyInput> {
        Ok(sla::PolicyInput {
            name: self.name,
            priority_names: self.priority_names,
            urgency: self.urgency,
            service_id: self.service_id.map(|i| i.0),
            team_id: self.team_id.map(|i| i.0),
            response_target_secs: self.response_target_seconds,
            resolution_target_secs: self.resolution_target_seconds,
            calendar_id: self.calendar_id.as_ref().map(parse_int).transpose()?,
        })
    }
}

/// A business-hours calendar: a time zone, weekly working hours and
/// holidays. A policy with a calendar counts business time only.
pub struct BusinessCalendar(pub business_calendar::Model);

/// Working windows of one weekday.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "WeeklyHoursInput")]
pub struct WeeklyHours {
    /// `mon`, `tue`, `wed`, `thu`, `fri`, `sat` or `sun`.
    pub day: String,
    /// `HH:MM-HH:MM` windows, local time.
    pub windows: Vec<String>,
}

#[Object]
impl BusinessCalendar {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// IANA time zone.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    async fn weekly_hours(&self) -> Vec<WeeklyHours> {
        let map: std::collections::BTreeMap<String, Vec<String>> =
            serde_json::from_str(&self.0.weekly_hours).unwrap_or_default();
        let order = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let mut days: Vec<WeeklyHours> = map
            .into_iter()
            .map(|(day, windows)| WeeklyHours { day, windows })
            .collect();
        days.sort_by_key(|d| order.iter().position(|o| *o == d.day).unwrap_or(7));
        days
    }
    /// Local dates without working hours.
    async fn holidays(&self) -> Vec<chrono::NaiveDate> {
        serde_json::from_str(&self.0.holidays).unwrap_or_default()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct BusinessCalendarInput {
    pub name: String,
    /// IANA time zone, such as Europe/Paris.
    pub time_zone: String,
    /// Days not listed have no working hours.
    pub weekly_hours: Vec<WeeklyHours>,
    #[graphql(default)]
    pub holidays: Vec<chrono::NaiveDate>,
}

impl From<BusinessCalendarInput> for sla::CalendarInput {
    fn from(i: BusinessCalendarInput) -> Self {
        Self {
            name: i.name,
            time_zone: i.time_zone,
            weekly_hours: i
                .weekly_hours
                .into_iter()
                .map(|w| (w.day, w.windows))
                .collect(),
            holidays: i.holidays,
        }
    }
}

fn parse_int(id: &ID) -> async_graphql::Result<i32> {
    id.parse::<i32>()
        .map_err(|_| ApiError::bad_input(format!("{:?} is not a valid id", id.0)))
        .api()
}

/// What a breach check did.
#[derive(SimpleObject)]
pub struct SlaCheckResult {
    pub breached: i32,
    pub warned: i32,
}

#[derive(Default)]
pub struct SlaQuery;

#[Object]
impl SlaQuery {
    /// Business-hours calendars, by name.
    async fn business_calendars(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<BusinessCalendar>> {
        Ok(sla::list_calendars(db(ctx))
            .await
            .api()?
            .into_iter()
            .map(BusinessCalendar)
            .collect())
    }

    /// SLA policies, by name.
    async fn sla_policies(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SlaPolicy>> {
        Ok(sla::list_policies(db(ctx))
            .await
            .api()?
            .into_iter()
            .map(SlaPolicy)
            .collect())
    }

    /// Breached targets (recorded by the breach check or closed late), soonest deadline first.
    async fn sla_breaches(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100, validator(minimum = 1, maximum = 1000))] first: i32,
        filter: Option<SlaTargetFilter>,
    ) -> async_graphql::Result<Vec<SlaTarget>> {
        let c = caller(ctx)?;
        let filter = filter.unwrap_or_default().into_filter().api()?;
        Ok(sla::list_targets(
            db(ctx),
            &c.scope,
            &[State::Breached],
            &filter,
            u64::try_from(first)?,
        )
        .await
        .api()?
        .into_iter()
        .map(SlaTarget)
        .collect())
    }

    /// Met and breached SLA targets per service, team, priority or local
    /// month, with percentages and the mean time used, for the incidents
    /// created in `range` (default: the last 30 days).
    async fn sla_compliance(
        &self,
        ctx: &Context<'_>,
        group_by: SlaGroupByGql,
        #[graphql(default)] range: AnalyticsInput,
    ) -> async_graphql::Result<SlaCompliance> {
        let c = caller(ctx)?;
        let config = ctx.data_unchecked::<std::sync::Arc<Config>>();
        let params = params_of(
            &range,
            config.reports.time_zone,
            c.scope.clone(),
            Utc::now(),
        )
        .api()?;
        let (groups, overall) = ctx
            .data_unchecked::<Analytics>()
            .sla_compliance_with_overall(&params, group_by.into(), Utc::now())
            .await
            .api()?;
        let group = |g: &ComplianceGroup| SlaComplianceGroup {
            key: g.key.clone(),
            name: g.name.clone(),
            response: (&g.response).into(),
            resolution: (&g.resolution).into(),
        };
        Ok(SlaCompliance {
            from: params.from,
            to: params.to,
            time_zone: params.tz.name().to_owned(),
            overall: group(&overall),
            groups: groups.iter().map(group).collect(),
        })
    }

    /// Running targets past their first warning share, soonest deadline first.
    async fn sla_at_risk(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100, validator(minimum = 1, maximum = 1000))] first: i32,
        filter: Option<SlaTargetFilter>,
    ) -> async_graphql::Result<Vec<SlaTarget>> {
        let c = caller(ctx)?;
        let filter = filter.unwrap_or_default().into_filter().api()?;
        let first_share = settings(ctx).warning_shares.first().copied().unwrap_or(1.0);
        Ok(
            sla::list_targets(db(ctx), &c.scope, &[State::Active], &filter, 10_000)
                .await
                .api()?
                .into_iter()
                .filter(|t| {
                    let used = clock_used(t);
                    #[allow(clippy::cast_precision_loss)]
                    let share = used as f64 / t.target_secs.max(1) as f64;
                    share >= first_share
                })
                .take(usize::try_from(first)?)
                .map(SlaTarget)
                .collect(),
        )
    }
}

/// Which of an incident's targets.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "SlaTargetKind")]
pub enum SlaTargetKind {
    /// Time to first acknowledgement.
    Response,
    /// Time to resolve.
    Resolution,
}

/// Narrows `slaBreaches` and `slaAtRisk`; every field given must hold.
#[derive(InputObject, Default)]
pub struct SlaTargetFilter {
    /// Incidents of these services (at most 100).
    pub service_ids: Option<Vec<ID>>,
    /// Incidents of the services of these teams (at most 100).
    pub team_ids: Option<Vec<ID>>,
    /// Incidents with these priorities (at most 100).
    pub priority_ids: Option<Vec<ID>>,
    pub target: Option<SlaTargetKind>,
    /// Breached at or after (breaches only).
    pub breached_after: Option<DateTime<Utc>>,
    /// Breached before (breaches only).
    pub breached_before: Option<DateTime<Utc>>,
}

impl SlaTargetFilter {
    fn into_filter(self) -> Result<sla::TargetFilter, ApiError> {
        let ids = |v: Option<Vec<ID>>| v.map(|v| v.into_iter().map(|i| i.0).collect());
        let f = sla::TargetFilter {
            service_ids: ids(self.service_ids),
            team_ids: ids(self.team_ids),
            priority_ids: ids(self.priority_ids),
            target: self.target.map(|t| match t {
                SlaTargetKind::Response => sla::Target::Response,
                SlaTargetKind::Resolution => sla::Target::Resolution,
            }),
            breached_after: self.breached_after,
            breached_before: self.breached_before,
        };
        f.check()?;
        Ok(f)
    }
}

/// What SLA compliance is grouped by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "SlaGroupBy")]
#[graphql(remote = "crate::analytics::compliance::GroupBy")]
pub enum SlaGroupByGql {
    Service,
    Team,
    Priority,
    /// The local month of the incident's creation.
    Month,
}

/// One target's outcome in a group (see the README's SLA compliance definitions).
#[derive(SimpleObject)]
pub struct SlaTargetCompliance {
    /// Every SLA counted: met, breached and open.
    pub total: i64,
    pub met: i64,
    /// Recorded as breached, or still running past the deadline.
    pub breached: i64,
    /// Running or paused within the target: not decided yet.
    pub open: i64,
    /// Met ÷ (met + breached), in percent; null before anything is decided.
    pub met_percent: Option<f64>,
    pub breached_percent: Option<f64>,
    /// Mean time counted by the policy's clock over closed targets, in seconds.
    pub mean_seconds_used: Option<f64>,
    /// Mean share of the target used over closed targets (1.0 = all of it).
    pub mean_share_used: Option<f64>,
}

impl From<&TargetCompliance> for SlaTargetCompliance {
    fn from(c: &TargetCompliance) -> Self {
        Self {
            total: c.total(),
            met: c.met,
            breached: c.breached,
            open: c.open,
            met_percent: c.met_percent(),
            breached_percent: c.breached_percent(),
            mean_seconds_used: c.mean_used_secs(),
            mean_share_used: c.mean_used_share(),
        }
    }
}

/// One group of an SLA compliance answer.
#[derive(SimpleObject)]
pub struct SlaComplianceGroup {
    /// The service, team or priority id (null for incidents without one), or
    /// the month's first day (`YYYY-MM-DD`).
    pub key: Option<String>,
    /// Its name, or the month as `YYYY-MM`.
    pub name: String,
    /// Time to first acknowledgement.
    pub response: SlaTargetCompliance,
    /// Time to resolve.
    pub resolution: SlaTargetCompliance,
}

/// SLA compliance over a period.
#[derive(SimpleObject)]
pub struct SlaCompliance {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub time_zone: String,
    pub groups: Vec<SlaComplianceGroup>,
    /// All groups together (by team, an incident of a service in two teams counts once).
    pub overall: SlaComplianceGroup,
}

/// Used seconds now for an active target: as computed, plus the wall time
/// since (an upper bound for business-hours clocks until the next refresh).
fn clock_used(t: &incident_sla_target::Model) -> i64 {
    match t.deadline {
        Some(d) if d <= Utc::now() => t.target_secs,
        _ => {
            t.used_secs
                + (Utc::now() - t.computed_at)
                    .num_seconds()
                    .max(0)
                    .min(t.target_secs)
        }
    }
}

#[derive(Default)]
pub struct SlaMutation;

#[Object]
impl SlaMutation {
    /// Creates a business-hours calendar (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn create_business_calendar(
        &self,
        ctx: &Context<'_>,
        input: BusinessCalendarInput,
    ) -> async_graphql::Result<BusinessCalendar> {
        sla::save_calendar(db(ctx), settings(ctx), None, input.into())
            .await
            .map(BusinessCalendar)
            .api()
    }

    /// Replaces a calendar and re-evaluates open SLAs; closed ones keep
    /// what they measured (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn update_business_calendar(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: BusinessCalendarInput,
    ) -> async_graphql::Result<BusinessCalendar> {
        sla::save_calendar(db(ctx), settings(ctx), Some(parse_int(&id)?), input.into())
            .await
            .map(BusinessCalendar)
            .api()
    }

    /// Deletes a calendar that no SLA policy uses (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn delete_business_calendar(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bool> {
        sla::delete_calendar(db(ctx), parse_int(&id)?).await.api()?;
        Ok(true)
    }

    /// Pauses an incident's SLA clocks (users and admins).
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn pause_sla(
        &self,
        ctx: &Context<'_>,
        incident_id: ID,
        reason: String,
    ) -> async_graphql::Result<Incident> {
        let c = caller(ctx)?;
        sla::pause(
            db(ctx),
            settings(ctx),
            &c.scope,
            Some(c.account.id),
            &incident_id,
            &reason,
        )
        .await
        .api()?;
        reload(ctx, &incident_id).await
    }

    /// Resumes an incident's paused SLA clocks (users and admins).
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn resume_sla(
        &self,
        ctx: &Context<'_>,
        incident_id: ID,
    ) -> async_graphql::Result<Incident> {
        let c = caller(ctx)?;
        sla::resume(
            db(ctx),
            settings(ctx),
            &c.scope,
            Some(c.account.id),
            &incident_id,
        )
        .await
        .api()?;
        reload(ctx, &incident_id).await
    }

    /// Creates an SLA policy and re-evaluates open SLAs (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn create_sla_policy(
        &self,
        ctx: &Context<'_>,
        input: SlaPolicyInput,
    ) -> async_graphql::Result<SlaPolicy> {
        sla::save_policy(db(ctx), settings(ctx), None, input.into_domain()?)
            .await
            .map(SlaPolicy)
            .api()
    }

    /// Replaces an SLA policy and re-evaluates open SLAs; closed ones keep
    /// the policy they were measured by (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn update_sla_policy(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SlaPolicyInput,
    ) -> async_graphql::Result<SlaPolicy> {
        sla::save_policy(
            db(ctx),
            settings(ctx),
            Some(parse_int(&id)?),
            input.into_domain()?,
        )
        .await
        .map(SlaPolicy)
        .api()
    }

    /// Deletes an SLA policy (admins); open SLAs move to the next match.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn delete_sla_policy(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        sla::delete_policy(db(ctx), settings(ctx), parse_int(&id)?)
            .await
            .api()?;
        Ok(true)
    }

    /// Recomputes the SLAs of incidents created in `[from, to)`, closed ones
    /// included, with today's policies (admins), inside this request, and
    /// returns the targets written. For more than a few thousand incidents
    /// use `startSlaRecompute`, which runs the same work as a job.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn recompute_slas(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<i32> {
        let n = sla::recompute_range(db(ctx), settings(ctx), from, to, |_, _| {
            std::ops::ControlFlow::Continue(())
        })
        .await
        .api()?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// Queues a recompute of the SLAs of incidents created in `[from, to)`,
    /// closed ones included, with today's policies (admins): an
    /// `sla_recompute` job with progress, cancellable, whose result gives
    /// the incidents and targets written.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn start_sla_recompute(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<super::jobs::Job> {
        if to <= from {
            return Err(ApiError::bad_input("the range must end after it starts")).api();
        }
        super::jobs::enqueue(
            ctx,
            caller(ctx)?,
            &crate::jobs::kinds::SlaRecomputeJob { from, to },
        )
        .await
    }

    /// Runs the breach check now (admins; the scheduler runs it every 5 minutes).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn run_sla_check(&self, ctx: &Context<'_>) -> async_graphql::Result<SlaCheckResult> {
        let r = sla::check(db(ctx), settings(ctx), Utc::now()).await.api()?;
        Ok(SlaCheckResult {
            breached: i32::try_from(r.breached).unwrap_or(i32::MAX),
            warned: i32::try_from(r.warned).unwrap_or(i32::MAX),
        })
    }
}

async fn reload(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Incident> {
    let c = caller(ctx)?;
    crate::incidents::find_many(db(ctx), &c.scope, std::slice::from_ref(&id.0))
        .await
        .api()?
        .remove(&id.0)
        .map(Incident)
        .ok_or_else(|| ApiError::NotFound(format!("No incident with id {:?}", id.0)))
        .api()
}
