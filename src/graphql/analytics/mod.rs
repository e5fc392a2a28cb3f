//! Analytics fields: `analytics(input)` and its metrics (cached answers
//! say so with `generatedAt`, `fromCache` and `stale`), status mappings,
//! and live PagerDuty look-ups that fall back to the cache.

mod incident_metrics;
mod mappings;
mod outputs;
mod responder_metrics;
mod view;
mod windows;

pub use incident_metrics::*;
pub use mappings::*;
pub use outputs::*;
pub use responder_metrics::*;
pub use view::*;
pub use windows::*;

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
