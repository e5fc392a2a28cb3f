//! The metric output objects, each built `From` its domain result.

use super::*;

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
