//! `responderMetrics(input)`: PagerDuty's responder metrics per user
//! (docs/metrics.md, "Responder metrics").

use super::*;
use crate::analytics::responders::{ResponderQuestion, ResponderRow};

/// A `responderMetrics` question: PagerDuty's body, camelCased.
#[derive(InputObject, Default)]
pub struct ResponderMetricsInput {
    /// Start (inclusive) of the incidents' creation, with `to`.
    pub from: Option<DateTime<Utc>>,
    /// End (exclusive), with `from`. At most a year.
    pub to: Option<DateTime<Utc>>,
    /// The last N whole local days up to today (default 30; at most 366).
    pub last_days: Option<i32>,
    /// IANA time zone of the days (default `PAGERLENS_REPORT_TZ`).
    pub time_zone: Option<String>,
    /// Only these users.
    pub user_ids: Option<Vec<ID>>,
    /// Only members of these teams.
    pub team_ids: Option<Vec<ID>>,
    /// Only incidents of these services.
    pub service_ids: Option<Vec<ID>>,
    pub urgency: Option<crate::graphql::types::IncidentUrgency>,
}

/// One responder: PagerDuty's `/analytics/metrics/responders/*` fields.
#[derive(SimpleObject, Clone)]
pub struct ResponderMetricsRow {
    pub responder_id: ID,
    pub responder_name: Option<String>,
    /// Incidents the user was assigned (notified about) in the period.
    pub total_incident_count: i64,
    /// First notification → the user's first acknowledgement, over the
    /// incidents they acknowledged.
    pub mean_time_to_acknowledge_seconds: Option<f64>,
    pub total_incidents_acknowledged: i64,
    pub total_incidents_manual_escalated_from: i64,
    pub total_incidents_manual_escalated_to: i64,
    pub total_incidents_timeout_escalated_from: i64,
    pub total_incidents_timeout_escalated_to: i64,
    pub total_incidents_reassigned_from: i64,
    pub total_incidents_reassigned_to: i64,
    pub total_notifications: i64,
    pub total_interruptions: i64,
    pub total_business_hour_interruptions: i64,
    pub total_off_hour_interruptions: i64,
    pub total_sleep_hour_interruptions: i64,
    pub mean_engaged_seconds: Option<f64>,
    pub total_engaged_seconds: i64,
    /// Seconds on call in the period (any level; both at once count once).
    pub total_seconds_on_call: i64,
    pub total_seconds_on_call_level_1: i64,
    pub total_seconds_on_call_level_2_plus: i64,
}

impl From<ResponderRow> for ResponderMetricsRow {
    fn from(r: ResponderRow) -> Self {
        Self {
            responder_id: ID(r.responder_id),
            responder_name: r.responder_name,
            total_incident_count: r.total_incident_count,
            mean_time_to_acknowledge_seconds: r.mean_time_to_acknowledge_seconds,
            total_incidents_acknowledged: r.total_incidents_acknowledged,
            total_incidents_manual_escalated_from: r.total_incidents_manual_escalated_from,
            total_incidents_manual_escalated_to: r.total_incidents_manual_escalated_to,
            total_incidents_timeout_escalated_from: r.total_incidents_timeout_escalated_from,
            total_incidents_timeout_escalated_to: r.total_incidents_timeout_escalated_to,
            total_incidents_reassigned_from: r.total_incidents_reassigned_from,
            total_incidents_reassigned_to: r.total_incidents_reassigned_to,
            total_notifications: r.total_notifications,
            total_interruptions: r.total_interruptions,
            total_business_hour_interruptions: r.total_business_hour_interruptions,
            total_off_hour_interruptions: r.total_off_hour_interruptions,
            total_sleep_hour_interruptions: r.total_sleep_hour_interruptions,
            mean_engaged_seconds: r.mean_engaged_seconds,
            total_engaged_seconds: r.total_engaged_seconds,
            total_seconds_on_call: r.total_seconds_on_call,
            total_seconds_on_call_level_1: r.total_seconds_on_call_level_1,
            total_seconds_on_call_level_2_plus: r.total_seconds_on_call_level_2_plus,
        }
    }
}

/// A `responderMetrics` answer.
#[derive(SimpleObject)]
pub struct ResponderMetrics {
    pub cache: CacheInfo,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub time_zone: String,
    /// The interruption windows the interruption counts used.
    pub interruption_windows: String,
    /// Responders in order of id.
    pub rows: Vec<ResponderMetricsRow>,
}

#[derive(Default)]
pub struct ResponderMetricsQuery;

#[Object]
impl ResponderMetricsQuery {
    /// PagerDuty's responder metrics (`/analytics/metrics/responders/*`)
    /// per user, over the incidents created in the period that the caller
    /// may see. Definitions: docs/metrics.md.
    async fn responder_metrics(
        &self,
        ctx: &Context<'_>,
        input: ResponderMetricsInput,
    ) -> async_graphql::Result<ResponderMetrics> {
        let who = caller(ctx)?;
        let window = IncidentMetricsInput {
            from: input.from,
            to: input.to,
            last_days: input.last_days,
            time_zone: input.time_zone.clone(),
            ..IncidentMetricsInput::default()
        };
        let ids = |v: &Option<Vec<ID>>| -> Vec<String> {
            v.iter().flatten().map(|i| i.to_string()).collect()
        };
        let q = ResponderQuestion {
            params: window
                .question(config(ctx).reports.time_zone, who.scope.clone(), Utc::now())
                .api()?
                .params,
            user_ids: ids(&input.user_ids),
            team_ids: ids(&input.team_ids),
            service_ids: ids(&input.service_ids),
            urgency: input
                .urgency
                .map(|u| crate::incidents::Urgency::from(u).as_str().to_owned()),
        };
        let a = engine(ctx);
        let c = cache(ctx)
            .get_or_compute(
                &q.cache_key(),
                analytics::Answer::ResponderMetrics.name(),
                None,
                || async { a.responder_metrics(&q).await },
            )
            .await
            .api()?;
        Ok(ResponderMetrics {
            cache: (&c).into(),
            from: q.params.from,
            to: q.params.to,
            time_zone: q.params.tz.name().to_owned(),
            interruption_windows: windows_described(ctx).await?,
            rows: c.value.into_iter().map(Into::into).collect(),
        })
    }
}
