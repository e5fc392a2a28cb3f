//! Analytics fields: `analytics(input)` and its metrics (cached answers
//! say so with `generatedAt`, `fromCache` and `stale`), status mappings,
//! and live PagerDuty look-ups that fall back to the cache.

use std::sync::Arc;

use async_graphql::{Context, Enum, ErrorExtensions, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::{RoleGuard, caller};
use super::error::{ApiError, ApiResultExt};
use super::types::Incident;
use crate::analytics::live::LiveError;
use crate::analytics::metrics::{self as m, Analytics, Granularity};
use crate::analytics::oncall as oc;
use crate::analytics::{self, AnalyticsError, Params, Target};
use crate::auth::Role;
use crate::cache::{Cache, Cached};
use crate::config::Config;
use crate::entities::status_mapping;
use crate::incidents::status::{self, MappingError};

impl From<AnalyticsError> for ApiError {
    fn from(e: AnalyticsError) -> Self {
        match e {
            AnalyticsError::Invalid(m) => ApiError::BadUserInput(m),
            AnalyticsError::Db(e) => e.into(),
        }
    }
}

impl From<MappingError> for ApiError {
    fn from(e: MappingError) -> Self {
        match e {
            MappingError::Invalid(m) => ApiError::BadUserInput(m),
            MappingError::Db(e) => e.into(),
        }
    }
}

impl From<LiveError> for ApiError {
    fn from(e: LiveError) -> Self {
        match e {
            LiveError::Upstream(crate::pagerduty::Error::Api { status: 404, .. }) => {
                ApiError::NotFound("PagerDuty has no such object".into())
            }
            LiveError::Upstream(crate::pagerduty::Error::Api {
                status, message, ..
            }) => ApiError::BadUserInput(format!(
                "PagerDuty refused the look-up (HTTP {status}): {message}"
            )),
            LiveError::Hidden(m) => ApiError::NotFound(m),
            LiveError::Db(e) => e.into(),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

fn config<'a>(ctx: &Context<'a>) -> &'a Config {
    ctx.data_unchecked::<Arc<Config>>()
}

fn cache<'a>(ctx: &Context<'a>) -> &'a Cache {
    ctx.data_unchecked::<Arc<Cache>>()
}

fn engine<'a>(ctx: &Context<'a>) -> &'a Analytics {
    ctx.data_unchecked::<Analytics>()
}

/// Where an answer came from.
#[derive(SimpleObject, Clone)]
pub struct CacheInfo {
    /// When it was computed.
    pub generated_at: DateTime<Utc>,
    /// Served from the cache.
    pub from_cache: bool,
    /// Past its time to live, served because the source could not answer.
    pub stale: bool,
}

impl<T> From<&Cached<T>> for CacheInfo {
    fn from(c: &Cached<T>) -> Self {
        Self {
            generated_at: c.generated_at,
            from_cache: c.from_cache,
            stale: c.stale,
        }
    }
}

/// What an analytics question covers.
#[derive(InputObject, Default)]
pub struct AnalyticsInput {
    /// One service.
    pub service_id: Option<ID>,
    /// The services of one team.
    pub team_id: Option<ID>,
    /// Start of the period (inclusive); with `to`.
    pub from: Option<DateTime<Utc>>,
    /// End of the period (exclusive); with `from`.
    pub to: Option<DateTime<Utc>>,
    /// The last N whole local days up to today (default 30 when no
    /// `from`/`to`). Stable for a day, so these answers are cached and
    /// prewarmed.
    pub last_days: Option<i32>,
    /// IANA time zone for days, weeks and months (default
    /// `PAGERLENS_REPORT_TZ`).
    pub time_zone: Option<String>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "TrendGranularity")]
#[graphql(remote = "crate::analytics::metrics::Granularity")]
pub enum GranularityGql {
    Day,
    Week,
    Month,
}

fn parse_tz(name: Option<&str>, default: Tz) -> Result<Tz, ApiError> {
    match name {
        None => Ok(default),
        Some(n) => n.parse::<Tz>().map_err(|_| {
            ApiError::bad_input(format!(
                "unknown time zone {n:?}: expected an IANA name such as Europe/Paris or UTC"
            ))
        }),
    }
}

/// The question an input asks, for this caller.
pub fn params_of(
    input: &AnalyticsInput,
    default_tz: Tz,
    scope: crate::scope::Scope,
    now: DateTime<Utc>,
) -> Result<Params, ApiError> {
    let target = match (&input.service_id, &input.team_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_input("give serviceId or teamId, not both"));
        }
        (Some(s), None) => Target::Service(s.to_string()),
        (None, Some(t)) => Target::Team(t.to_string()),
        (None, None) => Target::All,
    };
    let tz = parse_tz(input.time_zone.as_deref(), default_tz)?;
    let params = match (input.from, input.to, input.last_days) {
        (Some(from), Some(to), None) => Params::new(target, from, to, tz, scope)?,
        (None, None, days) => {
            Params::last_days(target, i64::from(days.unwrap_or(30)), now, tz, scope)?
        }
        _ => {
            return Err(ApiError::bad_input(
                "give from and to together, or lastDays, not both",
            ));
        }
    };
    Ok(params)
}

#[derive(Default)]
pub struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// Analytics over a period for one service, a team or everything the
    /// caller may see. Metric definitions: README, "Analytics".
    async fn analytics(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] input: AnalyticsInput,
    ) -> async_graphql::Result<AnalyticsView> {
        let who = caller(ctx)?;
        let params = params_of(
            &input,
            config(ctx).reports.time_zone,
            who.scope.clone(),
            Utc::now(),
        )
        .api()?;
        Ok(AnalyticsView(params))
    }

    /// Every status mapping (admins change them).
    async fn status_mappings(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<StatusMapping>> {
        caller(ctx)?;
        Ok(status::list(&engine(ctx).db)
            .await
            .api()?
            .into_iter()
            .map(StatusMapping)
            .collect())
    }

    /// Who is on call now, asked of PagerDuty (cached briefly; the last
    /// good answer, marked stale, while PagerDuty is down).
    async fn on_call_now(
        &self,
        ctx: &Context<'_>,
        escalation_policy_id: Option<ID>,
        schedule_id: Option<ID>,
    ) -> async_graphql::Result<LiveOnCalls> {
        let who = caller(ctx)?;
        if escalation_policy_id.is_none() && schedule_id.is_none() {
            return Err(ApiError::bad_input("give escalationPolicyId or scheduleId").extend());
        }
        let client = live_client(ctx)?;
        let found = analytics::live::oncalls_now(
            &client,
            cache(ctx),
            config(ctx).analytics.live_ttl,
            (&engine(ctx).db, &who.scope),
            escalation_policy_id.as_ref().map(|i| i.as_str()),
            schedule_id.as_ref().map(|i| i.as_str()),
        )
        .await
        .api()?;
        Ok(LiveOnCalls {
            cache: (&found).into(),
            entries: found
                .value
                .into_iter()
                .filter_map(|o| {
                    Some(LiveOnCall {
                        user_id: ID(o.user.as_ref()?.id.clone()),
                        user_name: o.user.as_ref().and_then(|u| u.summary.clone()),
                        escalation_policy_id: o.escalation_policy.map(|r| ID(r.id)),
                        schedule_id: o.schedule.map(|r| ID(r.id)),
                        escalation_level: o.escalation_level,
                        start: o.start,
                        end: o.end,
                    })
                })
                .collect(),
        })
    }

    /// One incident as PagerDuty has it now (for one not yet synced).
    async fn live_incident(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<LiveIncident> {
        let who = caller(ctx)?;
        let client = live_client(ctx)?;
        let found = analytics::live::incident(
            &client,
            cache(ctx),
            config(ctx).analytics.live_ttl,
            (&engine(ctx).db, &who.scope),
            id.as_str(),
        )
        .await
        .api()?;
        let service_id = found.value.service.as_ref().map(|s| s.id.clone());
        let i = found.value.clone();
        Ok(LiveIncident {
            cache: (&found).into(),
            id: ID(i.id),
            incident_number: i.incident_number,
            title: i.title,
            status: i.status,
            urgency: i.urgency,
            service_id: service_id.map(ID),
            created_at: i.created_at,
            html_url: i.html_url,
        })
    }
}

fn live_client(ctx: &Context<'_>) -> async_graphql::Result<crate::pagerduty::Client> {
    ctx.data_unchecked::<Option<crate::pagerduty::Client>>()
        .as_ref()
        .map(|c| c.with_max_retries(1))
        .ok_or_else(|| {
            ApiError::bad_input("no PagerDuty API token is configured (PAGERDUTY_TOKEN)").extend()
        })
}

#[derive(Default)]
pub struct AnalyticsMutation;

#[Object]
impl AnalyticsMutation {
    /// Creates or changes the mapping of one raw status (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn upsert_status_mapping(
        &self,
        ctx: &Context<'_>,
        input: StatusMappingInput,
    ) -> async_graphql::Result<StatusMapping> {
        let db = &engine(ctx).db;
        let m = status::upsert(
            db,
            status::MappingInput {
                source: input.source,
                field: input.field,
                raw_value: input.raw_value,
                display_name: input.display_name,
                category: input.category,
                active: input.active.unwrap_or(true),
                position: input.position,
            },
        )
        .await
        .api()?;
        cache(ctx).invalidate_all().await.api()?;
        Ok(StatusMapping(m))
    }

    /// Deletes a mapping (its value then shows as itself).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn delete_status_mapping(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bool> {
        let id: i32 = id.parse().map_err(|_| {
            ApiError::bad_input(format!("{:?} is not a mapping id", id.as_str())).extend()
        })?;
        let deleted = status::delete(&engine(ctx).db, id).await.api()?;
        if !deleted {
            return Err(ApiError::NotFound(format!("no status mapping {id}")).extend());
        }
        cache(ctx).invalidate_all().await.api()?;
        Ok(true)
    }

    /// Adds a mapping, named after itself, for every raw status seen in the
    /// data that has none. Returns how many were added.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn refresh_status_mappings(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let a = engine(ctx);
        let added = status::refresh(&a.db, a.settings.status_field.as_deref())
            .await
            .api()?;
        if added > 0 {
            cache(ctx).invalidate_all().await.api()?;
        }
        Ok(added as i32)
    }
}

#[derive(InputObject)]
pub struct StatusMappingInput {
    /// `PAGERDUTY`, `LOCAL` or `CUSTOM_FIELD`.
    pub source: String,
    /// The custom field (only for `CUSTOM_FIELD`).
    pub field: Option<String>,
    pub raw_value: String,
    pub display_name: String,
    /// `OPEN`, `IN_PROGRESS`, `WAITING` or `RESOLVED`.
    pub category: String,
    /// Inactive mappings hide their incidents from analytics and reports.
    pub active: Option<bool>,
    pub position: Option<i32>,
}

pub struct StatusMapping(pub status_mapping::Model);

#[Object]
impl StatusMapping {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `PAGERDUTY`, `LOCAL` or `CUSTOM_FIELD`.
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// The custom field, for `CUSTOM_FIELD` mappings.
    async fn field(&self) -> Option<&str> {
        (!self.0.field.is_empty()).then_some(self.0.field.as_str())
    }
    async fn raw_value(&self) -> &str {
        &self.0.raw_value
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// `OPEN`, `IN_PROGRESS`, `WAITING` or `RESOLVED`.
    async fn category(&self) -> &str {
        &self.0.category
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The analytics of one question (see `AnalyticsInput`).
pub struct AnalyticsView(pub Params);

impl AnalyticsView {
    async fn cached<T, F, Fut>(
        &self,
        ctx: &Context<'_>,
        name: &str,
        extra: &str,
        compute: F,
    ) -> async_graphql::Result<Cached<T>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, AnalyticsError>>,
    {
        cache(ctx)
            .get_or_compute(
                &self.0.cache_key(name, extra),
                name,
                self.0.target.service(),
                compute,
            )
            .await
            .api()
    }
}

#[Object]
impl AnalyticsView {
    /// Start of the period (inclusive).
    async fn from(&self) -> DateTime<Utc> {
        self.0.from
    }
    /// End of the period (exclusive).
    async fn to(&self) -> DateTime<Utc> {
        self.0.to
    }
    async fn time_zone(&self) -> &str {
        self.0.tz.name()
    }

    /// Services, teams and escalation policies the caller may see.
    async fn counts(&self, ctx: &Context<'_>) -> async_graphql::Result<CatalogCounts> {
        let a = engine(ctx);
        let scope = self.0.scope.clone();
        let key = format!(
            "counts|{}",
            scope.team_ids().map_or("*".to_owned(), |t| t.join(","))
        );
        let c = cache(ctx)
            .get_or_compute(&key, "counts", None, || async move {
                a.catalog_counts(&scope).await
            })
            .await
            .api()?;
        Ok(CatalogCounts {
            cache: (&c).into(),
            services: c.value.services,
            teams: c.value.teams,
            escalation_policies: c.value.escalation_policies,
        })
    }

    /// Total, acknowledged, escalated and resolved incidents, MTTA and MTTR
    /// (mean, p50, p90), incidents outside business hours and per flag.
    async fn summary(&self, ctx: &Context<'_>) -> async_graphql::Result<Summary> {
        let a = engine(ctx);
        let c = self
            .cached(ctx, "summary", "", || a.summary(&self.0))
            .await?;
        Ok(Summary::from(c))
    }

    /// Incidents per service, most first (quiet services with zero).
    async fn incidents_per_service(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<IncidentsPerService> {
        let a = engine(ctx);
        let c = self
            .cached(ctx, "per_service", "", || a.incidents_per_service(&self.0))
            .await?;
        Ok(IncidentsPerService {
            cache: (&c).into(),
            services: c.value.into_iter().map(ServiceCount::from).collect(),
        })
    }

    /// Incidents per mapped status.
    async fn status_counts(&self, ctx: &Context<'_>) -> async_graphql::Result<StatusCounts> {
        let a = engine(ctx);
        let c = self
            .cached(ctx, "statuses", "", || a.status_counts(&self.0))
            .await?;
        Ok(StatusCounts {
            cache: (&c).into(),
            statuses: c.value.into_iter().map(StatusCount::from).collect(),
        })
    }

    /// Incidents per service and mapped status.
    async fn service_status_counts(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<ServiceStatusCountsList> {
        let a = engine(ctx);
        let c = self
            .cached(ctx, "service_statuses", "", || {
                a.service_status_counts(&self.0)
            })
            .await?;
        Ok(ServiceStatusCountsList {
            cache: (&c).into(),
            services: c
                .value
                .into_iter()
                .map(|s| ServiceStatusCounts {
                    service_id: ID(s.service_id),
                    service_name: s.service_name,
                    total: s.total,
                    statuses: s.statuses.into_iter().map(StatusCount::from).collect(),
                })
                .collect(),
        })
    }

    /// The service with the most incidents, its statuses and daily series.
    async fn top_service(&self, ctx: &Context<'_>) -> async_graphql::Result<TopServiceResult> {
        let a = engine(ctx);
        let c = self
            .cached(ctx, "top_service", "", || a.top_service(&self.0))
            .await?;
        Ok(TopServiceResult {
            cache: (&c).into(),
            service: c.value.map(|t| TopService {
                service_id: ID(t.service_id),
                service_name: t.service_name,
                total: t.total,
                statuses: t.statuses.into_iter().map(StatusCount::from).collect(),
                series: t.series.into_iter().map(DayCount::from).collect(),
            }),
        })
    }

    /// Every day of a month (`YYYY-MM`, default the current month in the
    /// time zone): incidents and escalated incidents. The month replaces
    /// the period.
    async fn calendar(
        &self,
        ctx: &Context<'_>,
        month: Option<String>,
    ) -> async_graphql::Result<Calendar> {
        let (year, mon) = match &month {
            Some(s) => parse_month(s).api()?,
            None => {
                let today = crate::tz::local_date(self.0.tz, Utc::now());
                (today.year(), today.month())
            }
        };
        let p = Params::month(
            self.0.target.clone(),
            year,
            mon,
            self.0.tz,
            self.0.scope.clone(),
        )
        .api()?;
        let a = engine(ctx);
        let view = AnalyticsView(p);
        let c = view
            .cached(ctx, "calendar", "", || a.calendar(&view.0))
            .await?;
        Ok(Calendar {
            cache: (&c).into(),
            month: format!("{year:04}-{mon:02}"),
            days: c
                .value
                .into_iter()
                .map(|d| CalendarDay {
                    date: d.date,
                    incidents: d.incidents,
                    escalated: d.escalated,
                })
                .collect(),
        })
    }

    /// The incidents created on one local day of the period (newest first).
    async fn day_incidents(
        &self,
        ctx: &Context<'_>,
        date: NaiveDate,
        #[graphql(default = 50)] first: i32,
    ) -> async_graphql::Result<Vec<Incident>> {
        let limit = check_first(first)?;
        Ok(engine(ctx)
            .day_incidents(&self.0, date, limit)
            .await
            .api()?
            .into_iter()
            .map(Incident)
            .collect())
    }

    /// The metrics per day, week (from Monday) or month, zeros kept.
    async fn trends(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "GranularityGql::Day")] granularity: GranularityGql,
    ) -> async_graphql::Result<Trends> {
        let g: Granularity = granularity.into();
        let a = engine(ctx);
        let c = self
            .cached(ctx, "trends", g.as_str(), || a.trends(&self.0, g))
            .await?;
        Ok(Trends {
            cache: (&c).into(),
            points: c.value.into_iter().map(TrendPoint::from).collect(),
        })
    }

    /// Escalated incidents of the period, newest first. (For "the last N
    /// days", ask with `lastDays: N`.)
    async fn escalated_incidents(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: i32,
    ) -> async_graphql::Result<Vec<Incident>> {
        let limit = check_first(first)?;
        Ok(engine(ctx)
            .escalated_incidents(&self.0, limit)
            .await
            .api()?
            .into_iter()
            .map(Incident)
            .collect())
    }

    /// Hours on call per person and per escalation level, and
    /// interruptions by business, off and sleep hours.
    async fn on_call_load(&self, ctx: &Context<'_>) -> async_graphql::Result<OnCallLoad> {
        let a = engine(ctx);
        let c = self
            .cached(ctx, "oncall_load", "", || a.oncall_load(&self.0))
            .await?;
        Ok(OnCallLoad {
            cache: (&c).into(),
            people: c
                .value
                .into_iter()
                .map(|p| PersonLoad {
                    user_id: ID(p.user_id),
                    user_name: p.user_name,
                    hours: p.hours,
                    levels: p
                        .levels
                        .into_iter()
                        .map(|l| LevelHours {
                            level: l.level,
                            hours: l.hours,
                        })
                        .collect(),
                    business_hour_interruptions: p.interruptions.business,
                    off_hour_interruptions: p.interruptions.off,
                    sleep_hour_interruptions: p.interruptions.sleep,
                })
                .collect(),
        })
    }

    /// Stretches of the period in which a schedule has nobody on call.
    async fn schedule_gaps(&self, ctx: &Context<'_>) -> async_graphql::Result<ScheduleGaps> {
        let a = engine(ctx);
        let c = self
            .cached(ctx, "schedule_gaps", "", || a.schedule_gaps(&self.0))
            .await?;
        Ok(ScheduleGaps {
            cache: (&c).into(),
            gaps: c
                .value
                .into_iter()
                .map(|g: oc::ScheduleGap| ScheduleGap {
                    schedule_id: ID(g.schedule_id),
                    schedule_name: g.schedule_name,
                    hours: (g.end - g.start).num_seconds() as f64 / 3600.0,
                    start: g.start,
                    end: g.end,
                })
                .collect(),
        })
    }

    /// Schedule members who are deleted in PagerDuty, or had no on-call
    /// shift and no incident activity in the period.
    async fn inactive_users(&self, ctx: &Context<'_>) -> async_graphql::Result<InactiveUsers> {
        let a = engine(ctx);
        let c = self
            .cached(ctx, "inactive_users", "", || a.inactive_users(&self.0))
            .await?;
        Ok(InactiveUsers {
            cache: (&c).into(),
            users: c
                .value
                .into_iter()
                .map(|u| InactiveUser {
                    user_id: ID(u.user_id),
                    user_name: u.user_name,
                    reason: u.reason,
                    schedule_ids: u.schedule_ids.into_iter().map(ID).collect(),
                })
                .collect(),
        })
    }
}

fn check_first(first: i32) -> async_graphql::Result<u64> {
    if !(1..=1000).contains(&first) {
        return Err(ApiError::bad_input("first must be from 1 to 1000").extend());
    }
    Ok(first as u64)
}

fn parse_month(s: &str) -> Result<(i32, u32), ApiError> {
    let bad = || ApiError::bad_input(format!("month {s:?}: expected YYYY-MM, such as 2026-11"));
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) {
        return Err(bad());
    }
    Ok((y, m))
}

#[derive(SimpleObject)]
pub struct CatalogCounts {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub services: i64,
    pub teams: i64,
    pub escalation_policies: i64,
}

/// Durations in seconds: mean and nearest-rank percentiles.
#[derive(SimpleObject)]
pub struct DurationStats {
    /// Incidents measured.
    pub count: i64,
    pub mean_seconds: Option<f64>,
    pub p50_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

impl From<m::Durations> for DurationStats {
    fn from(d: m::Durations) -> Self {
        Self {
            count: d.count,
            mean_seconds: d.mean,
            p50_seconds: d.p50,
            p90_seconds: d.p90,
        }
    }
}

#[derive(SimpleObject)]
pub struct FlagCount {
    pub flag: String,
    pub incidents: i64,
}

#[derive(SimpleObject)]
pub struct Summary {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub total: i64,
    pub acknowledged: i64,
    pub escalated: i64,
    pub resolved: i64,
    /// Creation → first acknowledgement (MTTA is its mean).
    pub time_to_acknowledge: DurationStats,
    /// Creation → resolve (MTTR is its mean).
    pub time_to_resolve: DurationStats,
    /// Created outside 08:00–18:00 Monday to Friday in the time zone.
    pub outside_business_hours: i64,
    /// Incidents per configured custom-field flag.
    pub flags: Vec<FlagCount>,
}

impl From<Cached<m::Summary>> for Summary {
    fn from(c: Cached<m::Summary>) -> Self {
        let cache = (&c).into();
        let s = c.value;
        Self {
            cache,
            total: s.total,
            acknowledged: s.acknowledged,
            escalated: s.escalated,
            resolved: s.resolved,
            time_to_acknowledge: s.time_to_acknowledge.into(),
            time_to_resolve: s.time_to_resolve.into(),
            outside_business_hours: s.outside_business_hours,
            flags: s
                .flags
                .into_iter()
                .map(|f| FlagCount {
                    flag: f.flag,
                    incidents: f.incidents,
                })
                .collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct ServiceCount {
    pub service_id: ID,
    pub service_name: String,
    pub incidents: i64,
}

impl From<m::ServiceCount> for ServiceCount {
    fn from(s: m::ServiceCount) -> Self {
        Self {
            service_id: ID(s.service_id),
            service_name: s.service_name,
            incidents: s.incidents,
        }
    }
}

#[derive(SimpleObject)]
pub struct IncidentsPerService {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub services: Vec<ServiceCount>,
}

#[derive(SimpleObject)]
pub struct StatusCount {
    /// The mapped status's display name.
    pub status: String,
    /// `OPEN`, `IN_PROGRESS`, `WAITING` or `RESOLVED`.
    pub category: String,
    pub incidents: i64,
}

impl From<m::StatusCount> for StatusCount {
    fn from(s: m::StatusCount) -> Self {
        Self {
            status: s.status,
            category: s.category,
            incidents: s.incidents,
        }
    }
}

#[derive(SimpleObject)]
pub struct StatusCounts {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub statuses: Vec<StatusCount>,
}

#[derive(SimpleObject)]
pub struct ServiceStatusCounts {
    pub service_id: ID,
    pub service_name: String,
    pub total: i64,
    pub statuses: Vec<StatusCount>,
}

#[derive(SimpleObject)]
pub struct ServiceStatusCountsList {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub services: Vec<ServiceStatusCounts>,
}

#[derive(SimpleObject)]
pub struct DayCount {
    pub date: NaiveDate,
    pub incidents: i64,
}

impl From<m::DayCount> for DayCount {
    fn from(d: m::DayCount) -> Self {
        Self {
            date: d.date,
            incidents: d.incidents,
        }
    }
}

#[derive(SimpleObject)]
pub struct TopService {
    pub service_id: ID,
    pub service_name: String,
    pub total: i64,
    pub statuses: Vec<StatusCount>,
    /// Incidents per local day of the period, zeros kept (chart-ready).
    pub series: Vec<DayCount>,
}

#[derive(SimpleObject)]
pub struct TopServiceResult {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    /// `null` when the period has no incident.
    pub service: Option<TopService>,
}

#[derive(SimpleObject)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub incidents: i64,
    pub escalated: i64,
}

#[derive(SimpleObject)]
pub struct Calendar {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    /// `YYYY-MM`.
    pub month: String,
    pub days: Vec<CalendarDay>,
}

#[derive(SimpleObject)]
pub struct TrendPoint {
    /// The bucket's first local day (clipped to the period).
    pub start: NaiveDate,
    pub incidents: i64,
    pub acknowledged: i64,
    pub escalated: i64,
    pub resolved: i64,
    /// Mean seconds to first acknowledgement.
    pub mtta_seconds: Option<f64>,
    /// Mean seconds to resolve.
    pub mttr_seconds: Option<f64>,
}

impl From<m::TrendPoint> for TrendPoint {
    fn from(t: m::TrendPoint) -> Self {
        Self {
            start: t.start,
            incidents: t.incidents,
            acknowledged: t.acknowledged,
            escalated: t.escalated,
            resolved: t.resolved,
            mtta_seconds: t.mtta,
            mttr_seconds: t.mttr,
        }
    }
}

#[derive(SimpleObject)]
pub struct Trends {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub points: Vec<TrendPoint>,
}

#[derive(SimpleObject)]
pub struct LevelHours {
    pub level: i64,
    pub hours: f64,
}

#[derive(SimpleObject)]
pub struct PersonLoad {
    pub user_id: ID,
    pub user_name: String,
    /// Hours on call in the period (overlapping shifts counted once).
    pub hours: f64,
    pub levels: Vec<LevelHours>,
    /// Notifications 08:00–18:00 Monday to Friday, in the person's zone.
    pub business_hour_interruptions: i64,
    /// Notifications on weekday evenings (18:00–22:00) and weekend days.
    pub off_hour_interruptions: i64,
    /// Notifications 22:00–08:00.
    pub sleep_hour_interruptions: i64,
}

#[derive(SimpleObject)]
pub struct OnCallLoad {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub people: Vec<PersonLoad>,
}

#[derive(SimpleObject)]
pub struct ScheduleGap {
    pub schedule_id: ID,
    pub schedule_name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub hours: f64,
}

#[derive(SimpleObject)]
pub struct ScheduleGaps {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub gaps: Vec<ScheduleGap>,
}

#[derive(SimpleObject)]
pub struct InactiveUser {
    pub user_id: ID,
    pub user_name: String,
    /// `DELETED` (deactivated in PagerDuty) or `NO_ACTIVITY`.
    pub reason: String,
    pub schedule_ids: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct InactiveUsers {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub users: Vec<InactiveUser>,
}

#[derive(SimpleObject)]
pub struct LiveOnCall {
    pub user_id: ID,
    pub user_name: Option<String>,
    pub escalation_policy_id: Option<ID>,
    pub schedule_id: Option<ID>,
    pub escalation_level: i64,
    /// `null` for a permanent entry.
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct LiveOnCalls {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub entries: Vec<LiveOnCall>,
}

#[derive(SimpleObject)]
pub struct LiveIncident {
    #[graphql(flatten)]
    pub cache: CacheInfo,
    pub id: ID,
    pub incident_number: Option<i64>,
    pub title: String,
    pub status: String,
    pub urgency: Option<String>,
    pub service_id: Option<ID>,
    pub created_at: DateTime<Utc>,
    pub html_url: Option<String>,
}
