//! Analytics: every metric the dashboards, reports and analysts use, defined
//! once here and computed in SQL on both databases.
//!
//! # Definitions
//! Following PagerDuty's own analytics where it defines a metric:
//! - An incident belongs to the period in which it was **created** (first
//!   triggered), as in PagerDuty's analytics filters (`created_at_start`,
//!   `created_at_end`, end exclusive). Deleted incidents and incidents whose
//!   status mapping is inactive are left out.
//! - **Acknowledged**: the incident has an explicit first acknowledgement.
//!   **MTTA** (mean time to acknowledge) is the mean of *creation → first
//!   acknowledgement* over acknowledged incidents (PagerDuty's
//!   `seconds_to_first_ack`); a reassignment, escalation or resolve without
//!   acknowledgement is not an acknowledgement.
//! - **Resolved**: the incident has a resolve time. **MTTR** (mean time to
//!   resolve) is the mean of *creation → resolve* over resolved incidents
//!   (PagerDuty's `seconds_to_resolve`).
//! - **p50 / p90**: nearest-rank percentiles, the smallest duration such
//!   that at least 50 % (90 %) of the durations are at most it.
//! - **Escalated**: the incident has at least one `escalate_log_entry`
//!   (moved to another responder of its escalation policy, manually or by
//!   timeout), PagerDuty's `escalation_count > 0`; its status never counts.
//! - **Outside business hours**: created outside 08:00–18:00 Monday to
//!   Friday in the reporting time zone.
//! - **Day, week, month** buckets are local to the reporting time zone
//!   (`PAGERLENS_REPORT_TZ`, or the one asked for); weeks begin on Monday.
//!   An incident created at 23:30 UTC on the 1st is on the 2nd in Paris.
//! - **Interruptions** (on-call load): notifications sent to a person,
//!   counted in PagerDuty's windows in the person's own time zone: business
//!   hours 08:00–18:00 Monday to Friday, sleep hours 22:00–08:00, off hours
//!   the rest.
//! - **Inactive user in schedules**: a member of at least one schedule who
//!   is deleted (deactivated) in PagerDuty, or who in the period had no
//!   on-call shift and no incident activity (no log entry by or about them:
//!   acknowledgement, resolve, notification, assignment, note).
//! - **Schedule gap**: a stretch of the period in which a schedule's
//!   synced on-call entries name nobody.

pub mod bi;
pub mod compliance;
pub mod drift;
pub mod live;
pub mod metrics;
pub mod oncall;
pub mod prewarm;
pub mod responders;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::DbErr;
use serde::{Deserialize, Serialize};

use crate::scope::Scope;
use crate::tz;

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// What a metric covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    /// Every service the caller may see.
    All,
    Service(String),
    /// The services of a team.
    Team(String),
}

impl Target {
    fn key(&self) -> String {
        match self {
            Target::All => "all".into(),
            Target::Service(s) => format!("service:{s}"),
            Target::Team(t) => format!("team:{t}"),
        }
    }

    /// The one service a result depends on, for cache invalidation.
    pub fn service(&self) -> Option<&str> {
        match self {
            Target::Service(s) => Some(s),
            _ => None,
        }
    }
}

/// Longest period a query covers (PagerDuty's analytics allow one year; a
/// local copy can afford more).
pub const MAX_DAYS: i64 = 3 * 366;

/// A metric's question: what, when (`[from, to)`, UTC), bucketed in which
/// time zone, seen by whom.
#[derive(Clone, Debug)]
pub struct Params {
    pub target: Target,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tz: Tz,
    pub scope: Scope,
}

impl Params {
    /// A period, checked.
    ///
    /// # Errors
    /// `Invalid` when `from` is not before `to` or the span is too long.
    pub fn new(
        target: Target,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
        scope: Scope,
    ) -> Result<Self, AnalyticsError> {
        if from >= to {
            return Err(AnalyticsError::Invalid(format!(
                "from ({from}) must be before to ({to})"
            )));
        }
        if to - from > Duration::days(MAX_DAYS) {
            return Err(AnalyticsError::Invalid(format!(
                "a period is at most {MAX_DAYS} days long"
            )));
        }
        Ok(Self {
            target,
            from,
            to,
            tz,
            scope,
        })
    }

    /// The last `days` whole local days up to and including today:
    /// `[midnight of today − days + 1, midnight of tomorrow)`. Stable for a
    /// whole day, so its results cache well.
    ///
    /// # Errors
    /// `Invalid` for a day count out of range.
    pub fn last_days(
        target: Target,
        days: i64,
        now: DateTime<Utc>,
        tz: Tz,
        scope: Scope,
    ) -> Result<Self, AnalyticsError> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(AnalyticsError::Invalid(format!(
                "lastDays must be from 1 to {MAX_DAYS}"
            )));
        }
        let today = tz::local_date(tz, now);
        let first = today - Duration::days(days - 1);
        let from = tz::day_start(tz, first);
        let to = tz::day_start(tz, today + Duration::days(1));
        Self::new(target, from, to, tz, scope)
    }

    /// One local calendar month.
    ///
    /// # Errors
    /// `Invalid` for a month that does not exist.
    pub fn month(
        target: Target,
        year: i32,
        month: u32,
        tz: Tz,
        scope: Scope,
    ) -> Result<Self, AnalyticsError> {
        let first = NaiveDate::from_ymd_opt(year, month, 1)
            .ok_or_else(|| AnalyticsError::Invalid(format!("no month {year}-{month:02}")))?;
        let from = tz::day_start(tz, first);
        let to = tz::day_start(tz, tz::next_month(first));
        Self::new(target, from, to, tz, scope)
    }

    /// The cache key of `answer` with these parameters: the one spelling
    /// of it, for the reads and for the prewarm that writes ahead.
    pub fn cache_key(&self, answer: Answer) -> String {
        let scope = scope_key(&self.scope);
        format!(
            "{}|{}|{}|{}|{}|{scope}|{}",
            answer.name(),
            self.target.key(),
            self.from.timestamp(),
            self.to.timestamp(),
            self.tz.name(),
            answer.extra(),
        )
    }
}

/// The cache key of the catalog counts a caller with `scope` may see (they
/// depend on nothing else).
pub fn counts_cache_key(scope: &Scope) -> String {
    format!("counts|{}", scope_key(scope))
}

/// A scope as keys spell it: `*` for everything, else its teams.
fn scope_key(scope: &Scope) -> String {
    match scope.team_ids() {
        None => "*".to_owned(),
        Some(t) => t.join(","),
    }
}

/// The analytics answers the cache keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Summary,
    PerService,
    Statuses,
    ServiceStatuses,
    TopService,
    Calendar,
    Trends(metrics::Granularity),
    OncallLoad,
    ScheduleGaps,
    InactiveUsers,
    IncidentMetrics,
    ResponderMetrics,
}

impl Answer {
    /// Its name: the first part of its key and the cache's kind.
    pub fn name(self) -> &'static str {
        match self {
            Answer::Summary => "summary",
            Answer::PerService => "per_service",
            Answer::Statuses => "statuses",
            Answer::ServiceStatuses => "service_statuses",
            Answer::TopService => "top_service",
            Answer::Calendar => "calendar",
            Answer::Trends(_) => "trends",
            Answer::OncallLoad => "oncall_load",
            Answer::ScheduleGaps => "schedule_gaps",
            Answer::InactiveUsers => "inactive_users",
            Answer::IncidentMetrics => "incident_metrics",
            Answer::ResponderMetrics => "responder_metrics",
        }
    }

    fn extra(self) -> &'static str {
        match self {
            Answer::Trends(g) => g.as_str(),
            _ => "",
        }
    }
}

/// The first and last local day a period touches.
pub fn local_days(p: &Params) -> (NaiveDate, NaiveDate) {
    let first = tz::local_date(p.tz, p.from);
    let last = tz::local_date(p.tz, p.to - Duration::seconds(1));
    (first, last)
}
