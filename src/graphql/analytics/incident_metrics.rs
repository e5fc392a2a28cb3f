//! `incidentMetrics(input)`: PagerDuty's incident metrics, and
//! `Incident.analytics`: PagerDuty's per-incident facts (docs/metrics.md,
//! "Incident analytics").

use super::*;
use crate::analytics::metrics::{MetricFilters, MetricsQuestion, MetricsRow};
use crate::entities::incident_analytics;

/// What `incidentMetrics` groups by. PagerDuty groups by service, team or
/// escalation policy; pagerlens also by priority, urgency and a
/// custom-field flag.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(remote = "crate::analytics::metrics::GroupBy")]
pub enum MetricsGroupBy {
    #[default]
    All,
    Service,
    Team,
    EscalationPolicy,
    Priority,
    Urgency,
    /// The flag rule named by `flag` (`PAGERLENS_CUSTOM_FIELD_FLAGS`):
    /// groups `true` and `false`.
    Flag,
}

/// PagerDuty's `aggregate_unit`: buckets of local days, weeks (from
/// Monday) or months.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::analytics::metrics::Granularity")]
pub enum AggregateUnit {
    Day,
    Week,
    Month,
}

/// An `incidentMetrics` question: PagerDuty's body, camelCased.
#[derive(InputObject, Default)]
pub struct IncidentMetricsInput {
    /// Start (inclusive), with `to`: PagerDuty's `created_at_start`.
    pub from: Option<DateTime<Utc>>,
    /// End (exclusive), with `from`: `created_at_end`. At most a year.
    pub to: Option<DateTime<Utc>>,
    /// The last N whole local days up to today (default 30 without
    /// `from`/`to`; at most 366).
    pub last_days: Option<i32>,
    /// IANA time zone of buckets (default `PAGERLENS_REPORT_TZ`).
    pub time_zone: Option<String>,
    #[graphql(default_with = "MetricsGroupBy::All")]
    pub group_by: MetricsGroupBy,
    /// The flag rule's name, with `groupBy: FLAG`.
    pub flag: Option<String>,
    /// Buckets; none for one row per group over the whole period.
    pub aggregate_unit: Option<AggregateUnit>,
    pub urgency: Option<crate::graphql::types::IncidentUrgency>,
    /// Major incidents only (true) or none of them (false).
    pub major: Option<bool>,
    pub service_ids: Option<Vec<ID>>,
    pub team_ids: Option<Vec<ID>>,
    pub escalation_policy_ids: Option<Vec<ID>>,
    pub priority_ids: Option<Vec<ID>>,
    /// At least this many acknowledgements (PagerDuty's
    /// `min_ackowledgements`).
    pub min_acknowledgements: Option<i32>,
    pub min_timeout_escalations: Option<i32>,
    pub min_manual_escalations: Option<i32>,
}

fn ids(v: &Option<Vec<ID>>) -> Vec<String> {
    v.iter().flatten().map(|i| i.to_string()).collect()
}

fn at_least(name: &str, v: Option<i32>) -> Result<Option<i64>, ApiError> {
    match v {
        Some(n) if n < 0 => Err(ApiError::bad_input(format!(
            "{name}: must be 0 or more, not {n}"
        ))),
        other => Ok(other.map(i64::from)),
    }
}

impl IncidentMetricsInput {
    pub(super) fn question(
        &self,
        default_tz: Tz,
        scope: crate::scope::Scope,
        now: DateTime<Utc>,
    ) -> Result<MetricsQuestion, ApiError> {
        if let Some(d) = self.last_days
            && !(1..=m::METRICS_MAX_DAYS as i32).contains(&d)
        {
            return Err(ApiError::bad_input(format!(
                "lastDays: from 1 to {} (PagerDuty's one year), not {d}",
                m::METRICS_MAX_DAYS
            )));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to - from > chrono::Duration::days(m::METRICS_MAX_DAYS)
        {
            return Err(ApiError::bad_input(format!(
                "to: a period is at most {} days long (PagerDuty's one year)",
                m::METRICS_MAX_DAYS
            )));
        }
        let window = AnalyticsInput {
            from: self.from,
            to: self.to,
            last_days: self.last_days,
            time_zone: self.time_zone.clone(),
            ..AnalyticsInput::default()
        };
        let params = params_of(&window, default_tz, scope, now)?;
        Ok(MetricsQuestion {
            params,
            group_by: self.group_by.into(),
            flag: self.flag.clone(),
            unit: self.aggregate_unit.map(Into::into),
            filters: MetricFilters {
                urgency: self
                    .urgency
                    .map(|u| crate::incidents::Urgency::from(u).as_str().to_owned()),
                major: self.major,
                service_ids: ids(&self.service_ids),
                team_ids: ids(&self.team_ids),
                escalation_policy_ids: ids(&self.escalation_policy_ids),
                priority_ids: ids(&self.priority_ids),
                min_acknowledgements: at_least("minAcknowledgements", self.min_acknowledgements)?,
                min_timeout_escalations: at_least(
                    "minTimeoutEscalations",
                    self.min_timeout_escalations,
                )?,
                min_manual_escalations: at_least(
                    "minManualEscalations",
                    self.min_manual_escalations,
                )?,
            },
        })
    }
}

/// One group in one bucket: PagerDuty's `/analytics/metrics/incidents/*`
/// fields (docs/metrics.md). Means are fractional; PagerDuty rounds them.
/// PagerDuty's user-defined effort fields are absent: the REST API does
/// not carry that effort.
#[derive(SimpleObject, Clone)]
pub struct IncidentMetricsRow {
    /// The group: a service, team, escalation policy or priority id, an
    /// urgency, `true`/`false` for a flag; null for `ALL` (and for
    /// incidents without one, such as a service in no team).
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    /// The bucket's first instant; null without `aggregateUnit`.
    pub range_start: Option<DateTime<Utc>>,
    pub total_incident_count: i64,
    pub mean_seconds_to_first_ack: Option<f64>,
    pub p50_seconds_to_first_ack: Option<i64>,
    pub p75_seconds_to_first_ack: Option<i64>,
    pub p90_seconds_to_first_ack: Option<i64>,
    pub p95_seconds_to_first_ack: Option<i64>,
    pub mean_seconds_to_resolve: Option<f64>,
    pub p50_seconds_to_resolve: Option<i64>,
    pub p75_seconds_to_resolve: Option<i64>,
    pub p90_seconds_to_resolve: Option<i64>,
    pub p95_seconds_to_resolve: Option<i64>,
    pub mean_seconds_to_engage: Option<f64>,
    pub mean_seconds_to_mobilize: Option<f64>,
    pub mean_engaged_seconds: Option<f64>,
    pub total_engaged_seconds: i64,
    pub mean_engaged_user_count: Option<f64>,
    pub mean_assignment_count: Option<f64>,
    pub total_incidents_acknowledged: i64,
    pub total_incidents_auto_resolved: i64,
    pub total_incidents_manual_escalated: i64,
    pub total_incidents_timeout_escalated: i64,
    pub total_incidents_reassigned: i64,
    pub total_escalation_count: i64,
    pub total_notifications: i64,
    pub total_interruptions: i64,
    pub total_business_hour_interruptions: i64,
    pub total_off_hour_interruptions: i64,
    pub total_sleep_hour_interruptions: i64,
    pub total_snoozed_seconds: i64,
    pub up_time_pct: f64,
}

impl From<MetricsRow> for IncidentMetricsRow {
    fn from(r: MetricsRow) -> Self {
        Self {
            group_id: r.group_id,
            group_name: r.group_name,
            range_start: r.range_start,
            total_incident_count: r.total_incident_count,
            mean_seconds_to_first_ack: r.mean_seconds_to_first_ack,
            p50_seconds_to_first_ack: r.p50_seconds_to_first_ack,
            p75_seconds_to_first_ack: r.p75_seconds_to_first_ack,
            p90_seconds_to_first_ack: r.p90_seconds_to_first_ack,
            p95_seconds_to_first_ack: r.p95_seconds_to_first_ack,
            mean_seconds_to_resolve: r.mean_seconds_to_resolve,
            p50_seconds_to_resolve: r.p50_seconds_to_resolve,
            p75_seconds_to_resolve: r.p75_seconds_to_resolve,
            p90_seconds_to_resolve: r.p90_seconds_to_resolve,
            p95_seconds_to_resolve: r.p95_seconds_to_resolve,
            mean_seconds_to_engage: r.mean_seconds_to_engage,
            mean_seconds_to_mobilize: r.mean_seconds_to_mobilize,
            mean_engaged_seconds: r.mean_engaged_seconds,
            total_engaged_seconds: r.total_engaged_seconds,
            mean_engaged_user_count: r.mean_engaged_user_count,
            mean_assignment_count: r.mean_assignment_count,
            total_incidents_acknowledged: r.total_incidents_acknowledged,
            total_incidents_auto_resolved: r.total_incidents_auto_resolved,
            total_incidents_manual_escalated: r.total_incidents_manual_escalated,
            total_incidents_timeout_escalated: r.total_incidents_timeout_escalated,
            total_incidents_reassigned: r.total_incidents_reassigned,
            total_escalation_count: r.total_escalation_count,
            total_notifications: r.total_notifications,
            total_interruptions: r.total_interruptions,
            total_business_hour_interruptions: r.total_business_hour_interruptions,
            total_off_hour_interruptions: r.total_off_hour_interruptions,
            total_sleep_hour_interruptions: r.total_sleep_hour_interruptions,
            total_snoozed_seconds: r.total_snoozed_seconds,
            up_time_pct: r.up_time_pct,
        }
    }
}

/// An `incidentMetrics` answer.
#[derive(SimpleObject)]
pub struct IncidentMetrics {
    pub cache: CacheInfo,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub time_zone: String,
    /// The interruption windows the interruption counts used.
    pub interruption_windows: String,
    /// Groups in order of id, each bucket in order of time.
    pub rows: Vec<IncidentMetricsRow>,
}

#[derive(Default)]
pub struct IncidentMetricsQuery;

#[Object]
impl IncidentMetricsQuery {
    /// PagerDuty's incident metrics (`/analytics/metrics/incidents/*`) per
    /// group and time bucket, from pagerlens's copy: minutes old rather
    /// than PagerDuty's day. Definitions: docs/metrics.md.
    async fn incident_metrics(
        &self,
        ctx: &Context<'_>,
        input: IncidentMetricsInput,
    ) -> async_graphql::Result<IncidentMetrics> {
        let who = caller(ctx)?;
        let now = Utc::now();
        let q = input
            .question(config(ctx).reports.time_zone, who.scope.clone(), now)
            .api()?;
        let a = engine(ctx);
        let c = cache(ctx)
            .get_or_compute(
                &q.cache_key(),
                analytics::Answer::IncidentMetrics.name(),
                None,
                || async { a.incident_metrics(&q, now).await },
            )
            .await
            .api()?;
        Ok(IncidentMetrics {
            cache: (&c).into(),
            from: q.params.from,
            to: q.params.to,
            time_zone: q.params.tz.name().to_owned(),
            interruption_windows: windows_described(ctx).await?,
            rows: c.value.into_iter().map(Into::into).collect(),
        })
    }
}

/// The interruption windows in force, in a line (answers say which they
/// used).
pub(super) async fn windows_described(ctx: &Context<'_>) -> async_graphql::Result<String> {
    Ok(crate::incidents::facts::Windows::load(
        &engine(ctx).db,
        &config(ctx).analytics.facts.windows,
    )
    .await
    .api()?
    .describe())
}

/// PagerDuty's raw analytics of one incident (`/analytics/raw/incidents`),
/// derived from its synced log (docs/metrics.md).
#[derive(SimpleObject)]
pub struct IncidentAnalytics {
    pub seconds_to_first_ack: Option<i64>,
    pub seconds_to_resolve: Option<i64>,
    pub seconds_to_engage: Option<i64>,
    pub seconds_to_mobilize: Option<i64>,
    pub engaged_seconds: Option<i64>,
    pub engaged_user_count: i64,
    pub acknowledgement_count: i64,
    pub assignment_count: i64,
    pub escalation_count: i64,
    pub manual_escalation_count: i64,
    pub timeout_escalation_count: i64,
    pub reassignment_count: i64,
    pub auto_resolved: bool,
    pub snoozed_seconds: i64,
    pub total_notifications: i64,
    pub total_interruptions: i64,
    pub business_hour_interruptions: i64,
    pub off_hour_interruptions: i64,
    pub sleep_hour_interruptions: i64,
    pub major: bool,
    /// Users who acknowledged, in order of engagement.
    pub joined_user_ids: Vec<ID>,
    /// The interruption window sets its notifications were counted in
    /// (`pagerduty`, `configured`, `global`, `team:ID`; see
    /// `interruptionWindows`), comma-separated; empty without any.
    pub interruption_windows: String,
    /// When pagerlens derived these facts.
    pub computed_at: DateTime<Utc>,
}

impl From<incident_analytics::Model> for IncidentAnalytics {
    fn from(r: incident_analytics::Model) -> Self {
        Self {
            seconds_to_first_ack: r.seconds_to_first_ack,
            seconds_to_resolve: r.seconds_to_resolve,
            seconds_to_engage: r.seconds_to_engage,
            seconds_to_mobilize: r.seconds_to_mobilize,
            engaged_seconds: r.engaged_seconds,
            engaged_user_count: r.engaged_user_count,
            acknowledgement_count: r.acknowledgement_count,
            assignment_count: r.assignment_count,
            escalation_count: r.escalation_count,
            manual_escalation_count: r.manual_escalation_count,
            timeout_escalation_count: r.timeout_escalation_count,
            reassignment_count: r.reassignment_count,
            auto_resolved: r.auto_resolved,
            snoozed_seconds: r.snoozed_seconds,
            total_notifications: r.total_notifications,
            total_interruptions: r.total_interruptions,
            business_hour_interruptions: r.business_hour_interruptions,
            off_hour_interruptions: r.off_hour_interruptions,
            sleep_hour_interruptions: r.sleep_hour_interruptions,
            major: r.major,
            joined_user_ids: r
                .joined_user_ids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| ID(s.to_owned()))
                .collect(),
            interruption_windows: r.windows,
            computed_at: r.computed_at,
        }
    }
}

/// One field of one incident where PagerDuty's analytics and pagerlens's
/// differ.
#[derive(SimpleObject)]
pub struct AnalyticsMismatch {
    pub incident_id: ID,
    /// PagerDuty's field name (`total_notifications` …), or `incident` when
    /// one side lacks the incident.
    pub field: String,
    /// Ours, as JSON.
    pub ours: async_graphql::Json<serde_json::Value>,
    /// PagerDuty's, as JSON.
    pub pagerduty: async_graphql::Json<serde_json::Value>,
    /// The likely cause: "PagerDuty not yet refreshed", "incident changed
    /// after PagerDuty's snapshot", "log entry missing", …
    pub cause: String,
    /// The cause is PagerDuty's refresh lag (it does not fail the check).
    pub lag: bool,
}

/// The latest drift check (`pagerlens verify-analytics` or the
/// `analytics_drift` job).
#[derive(SimpleObject)]
pub struct AnalyticsDrift {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Incidents created from (inclusive) …
    pub range_from: DateTime<Utc>,
    /// … to (exclusive).
    pub range_to: DateTime<Utc>,
    pub incidents_compared: i64,
    pub fields_compared: i64,
    /// Calls made to PagerDuty's analytics.
    pub api_calls: i64,
    /// Nothing differs beyond PagerDuty's refresh lag.
    pub ok: bool,
    /// `cli` or `schedule`.
    pub trigger: String,
    /// The mismatches of incidents the caller may see.
    pub mismatches: Vec<AnalyticsMismatch>,
}

#[derive(Default)]
pub struct AnalyticsDriftQuery;

#[Object]
impl AnalyticsDriftQuery {
    /// The latest comparison of PagerDuty's own analytics with pagerlens's;
    /// null before the first.
    async fn analytics_drift(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<AnalyticsDrift>> {
        let who = caller(ctx)?;
        let db = &engine(ctx).db;
        let Some(r) = crate::analytics::drift::latest(db).await.api()? else {
            return Ok(None);
        };
        let visible: Option<std::collections::HashSet<String>> = match who.scope.team_ids() {
            None => None,
            Some(_) => {
                let ids: Vec<String> = r.mismatches.iter().map(|m| m.incident_id.clone()).collect();
                Some(
                    crate::incidents::find_many(db, &who.scope, &ids)
                        .await
                        .api()?
                        .into_keys()
                        .collect(),
                )
            }
        };
        Ok(Some(AnalyticsDrift {
            started_at: r.started_at,
            finished_at: r.finished_at,
            range_from: r.range_from,
            range_to: r.range_to,
            incidents_compared: r.incidents_compared,
            fields_compared: r.fields_compared,
            api_calls: r.api_calls,
            ok: r.ok,
            trigger: r.trigger,
            mismatches: r
                .mismatches
                .into_iter()
                .filter(|m| visible.as_ref().is_none_or(|v| v.contains(&m.incident_id)))
                .map(|m| AnalyticsMismatch {
                    incident_id: ID(m.incident_id),
                    field: m.field,
                    ours: async_graphql::Json(m.ours),
                    pagerduty: async_graphql::Json(m.pagerduty),
                    cause: m.cause,
                    lag: m.lag,
                })
                .collect(),
        }))
    }
}
