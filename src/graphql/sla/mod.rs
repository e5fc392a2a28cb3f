//! SLA fields: an incident's SLA, breaches and at-risk targets, policies,
//! pause and resume, the breach check and deliberate recomputes.

mod admin;
mod compliance;
mod mutation;
mod objects;

pub use admin::*;
pub use compliance::*;
pub use mutation::*;
pub use objects::*;

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
