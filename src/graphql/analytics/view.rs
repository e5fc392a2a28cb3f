//! `AnalyticsView`: the metrics of one `analytics(input)` scope.

use super::*;
use crate::analytics::Answer;

/// The analytics of one question (see `AnalyticsInput`).
pub struct AnalyticsView(pub Params);

impl AnalyticsView {
    async fn cached<T, F, Fut>(
        &self,
        ctx: &Context<'_>,
        answer: Answer,
        compute: F,
    ) -> async_graphql::Result<Cached<T>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, AnalyticsError>>,
    {
        cache(ctx)
            .get_or_compute(
                &self.0.cache_key(answer),
                answer.name(),
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
        let key = crate::analytics::counts_cache_key(&scope);
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
            .cached(ctx, Answer::Summary, || a.summary(&self.0))
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
            .cached(ctx, Answer::PerService, || a.incidents_per_service(&self.0))
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
            .cached(ctx, Answer::Statuses, || a.status_counts(&self.0))
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
            .cached(ctx, Answer::ServiceStatuses, || {
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
            .cached(ctx, Answer::TopService, || a.top_service(&self.0))
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
            .cached(ctx, Answer::Calendar, || a.calendar(&view.0))
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
            .cached(ctx, Answer::Trends(g), || a.trends(&self.0, g))
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
            .cached(ctx, Answer::OncallLoad, || a.oncall_load(&self.0))
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
            .cached(ctx, Answer::ScheduleGaps, || a.schedule_gaps(&self.0))
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
            .cached(ctx, Answer::InactiveUsers, || a.inactive_users(&self.0))
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

pub(super) fn check_first(first: i32) -> async_graphql::Result<u64> {
    if !(1..=1000).contains(&first) {
        return Err(ApiError::bad_input("first must be from 1 to 1000").extend());
    }
    Ok(first as u64)
}

pub(super) fn parse_month(s: &str) -> Result<(i32, u32), ApiError> {
    let bad = || ApiError::bad_input(format!("month {s:?}: expected YYYY-MM, such as 2026-11"));
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) {
        return Err(bad());
    }
    Ok((y, m))
}
