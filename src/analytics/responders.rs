//! `responderMetrics`: PagerDuty's responder metrics
//! (`/analytics/metrics/responders/*`) per user, summed in SQL from each
//! user's stored part in each incident ([`crate::incidents::facts`]), with
//! their time on call from the synced on-call entries.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, JoinType, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

use super::metrics::{Analytics, incident_filter};
use super::oncall::union_hours;
use super::{AnalyticsError, Params};
use crate::entities::{incident, incident_responder_analytics as ira, team_member};

/// One `responderMetrics` question.
#[derive(Clone, Debug)]
pub struct ResponderQuestion {
    pub params: Params,
    /// Only these users.
    pub user_ids: Vec<String>,
    /// Only members of these teams.
    pub team_ids: Vec<String>,
    /// Only incidents of these services.
    pub service_ids: Vec<String>,
    pub urgency: Option<String>,
}

impl ResponderQuestion {
    pub fn cache_key(&self) -> String {
        let rest = serde_json::to_string(&(
            &self.user_ids,
            &self.team_ids,
            &self.service_ids,
            &self.urgency,
        ))
        .unwrap_or_default();
        format!(
            "{}|{rest}",
            self.params.cache_key(super::Answer::ResponderMetrics)
        )
    }
}

/// One responder's metrics, PagerDuty's fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponderRow {
    pub responder_id: String,
    pub responder_name: Option<String>,
    /// Incidents the user was assigned (notified about).
    pub total_incident_count: i64,
    /// First notification → their first acknowledgement, over the incidents
    /// they acknowledged.
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
    pub total_seconds_on_call: i64,
    pub total_seconds_on_call_level_1: i64,
    pub total_seconds_on_call_level_2_plus: i64,
}

fn part(c: &str) -> Expr {
    Expr::col((ira::Entity, Alias::new(c)))
}

fn big_sum(e: Expr) -> Expr {
    Func::cast_as(
        Func::coalesce([Func::sum(e).into(), Expr::val(0)]),
        Alias::new("BIGINT"),
    )
    .into()
}

/// Summed per user: (alias, expression).
fn sums() -> Vec<(&'static str, Expr)> {
    let with = |c: &str| -> Expr { Expr::case(part(c).gt(0), 1).finally(0).into() };
    vec![
        ("n", Func::count(Expr::val(1)).into()),
        ("ack_sum", big_sum(part("seconds_to_first_ack"))),
        ("ack_n", Func::count(part("seconds_to_first_ack")).into()),
        ("acknowledged", big_sum(with("acknowledgements"))),
        ("manual_from", big_sum(with("manual_escalations_from"))),
        ("manual_to", big_sum(with("manual_escalations_to"))),
        ("timeout_from", big_sum(with("timeout_escalations_from"))),
        ("timeout_to", big_sum(with("timeout_escalations_to"))),
        ("reassigned_from", big_sum(with("reassignments_from"))),
        ("reassigned_to", big_sum(with("reassignments_to"))),
        ("notifications", big_sum(part("notifications"))),
        ("interruptions", big_sum(part("interruptions"))),
        ("business", big_sum(part("business_hour_interruptions"))),
        ("off", big_sum(part("off_hour_interruptions"))),
        ("sleep", big_sum(part("sleep_hour_interruptions"))),
        ("engaged_sum", big_sum(part("engaged_seconds"))),
        ("engaged_n", Func::count(part("engaged_seconds")).into()),
    ]
}

impl Analytics {
    /// PagerDuty's responder metrics per user over the incidents created
    /// in the period (and the caller's scope), with seconds on call in the
    /// period. Users in order of id.
    ///
    /// # Errors
    /// Database errors only.
    pub async fn responder_metrics(
        &self,
        q: &ResponderQuestion,
    ) -> Result<Vec<ResponderRow>, AnalyticsError> {
        let p = &q.params;
        let mapper = self.mapper().await?;
        let mut stmt = Query::select();
        stmt.from(incident::Entity)
            .join(
                JoinType::InnerJoin,
                ira::Entity,
                Expr::col((ira::Entity, ira::Column::IncidentId))
                    .equals((incident::Entity, incident::Column::Id)),
            )
            .cond_where(incident_filter(p, &mapper))
            .expr_as(part("user_id"), Alias::new("u"));
        if !q.user_ids.is_empty() {
            stmt.and_where(part("user_id").is_in(q.user_ids.clone()));
        }
        if !q.team_ids.is_empty() {
            stmt.and_where(
                part("user_id").in_subquery(
                    Query::select()
                        .column(team_member::Column::UserId)
                        .from(team_member::Entity)
                        .and_where(Expr::col(team_member::Column::TeamId).is_in(q.team_ids.clone()))
                        .to_owned(),
                ),
            );
        }
        if !q.service_ids.is_empty() {
            stmt.and_where(
                Expr::col((incident::Entity, incident::Column::ServiceId))
                    .is_in(q.service_ids.clone()),
            );
        }
        if let Some(u) = &q.urgency {
            stmt.and_where(Expr::col((incident::Entity, incident::Column::Urgency)).eq(u.clone()));
        }
        for (alias, e) in sums() {
            stmt.expr_as(e, Alias::new(alias));
        }
        stmt.add_group_by([Expr::col(Alias::new("u"))]);
        let mut rows: BTreeMap<String, ResponderRow> = BTreeMap::new();
        for row in self.db.query_all(&stmt).await? {
            let g = |n: &str| -> Result<i64, DbErr> { row.try_get::<i64>("", n) };
            let mean = |s: i64, n: i64| (n > 0).then(|| s as f64 / n as f64);
            let user: String = row.try_get("", "u")?;
            rows.insert(
                user.clone(),
                ResponderRow {
                    responder_id: user,
                    responder_name: None,
                    total_incident_count: g("n")?,
                    mean_time_to_acknowledge_seconds: mean(g("ack_sum")?, g("ack_n")?),
                    total_incidents_acknowledged: g("acknowledged")?,
                    total_incidents_manual_escalated_from: g("manual_from")?,
                    total_incidents_manual_escalated_to: g("manual_to")?,
                    total_incidents_timeout_escalated_from: g("timeout_from")?,
                    total_incidents_timeout_escalated_to: g("timeout_to")?,
                    total_incidents_reassigned_from: g("reassigned_from")?,
                    total_incidents_reassigned_to: g("reassigned_to")?,
                    total_notifications: g("notifications")?,
                    total_interruptions: g("interruptions")?,
                    total_business_hour_interruptions: g("business")?,
                    total_off_hour_interruptions: g("off")?,
                    total_sleep_hour_interruptions: g("sleep")?,
                    mean_engaged_seconds: mean(g("engaged_sum")?, g("engaged_n")?),
                    total_engaged_seconds: g("engaged_sum")?,
                    ..ResponderRow::default()
                },
            );
        }
        // Time on call in the period, for the users answered: in all, at
        // level 1, at level 2 and above (a stretch on both levels counts
        // once in all).
        type Spans = Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>;
        let mut spans: BTreeMap<String, [Spans; 3]> = BTreeMap::new();
        for e in self.entries(p).await? {
            if !rows.contains_key(&e.user_id) {
                continue;
            }
            let span = (e.start_at.unwrap_or(p.from), e.end_at.unwrap_or(p.to));
            let three = spans.entry(e.user_id.clone()).or_default();
            three[0].push(span);
            three[if e.escalation_level <= 1 { 1 } else { 2 }].push(span);
        }
        let secs = |v: Spans| (union_hours(v, p.from, p.to) * 3600.0).round() as i64;
        for (user, [all, first, later]) in spans {
            if let Some(r) = rows.get_mut(&user) {
                r.total_seconds_on_call = secs(all);
                r.total_seconds_on_call_level_1 = secs(first);
                r.total_seconds_on_call_level_2_plus = secs(later);
            }
        }
        let names = self.user_names(rows.keys().cloned()).await?;
        for r in rows.values_mut() {
            r.responder_name = names.get(&r.responder_id).map(|(n, _)| n.clone());
        }
        Ok(rows.into_values().collect())
    }
}
