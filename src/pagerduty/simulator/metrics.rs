//! PagerDuty's aggregated incident metrics
//! (`POST /analytics/metrics/incidents/{all,services,teams,escalation_policies}`),
//! aggregated from the simulator's own raw analytics (`analytics`, never
//! perturbed) by the definitions of `docs/metrics.md` ("Aggregates"): per
//! group and, with `aggregate_unit`, per local day, week (from Monday) or
//! month of creation; means rounded down, percentiles nearest-rank.

use std::collections::BTreeMap;

use axum::body::Bytes;
use chrono::{Datelike, Days, Months, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

use super::analytics::{RawIncident, Stamp, all_incidents};
use super::gate::{error, gate, respond};
use super::request::{Filter, invalid, parse_body, time_zone};
use super::*;

const PARAMS: [&str; 5] = [
    "filters",
    "time_zone",
    "aggregate_unit",
    "order",
    "order_by",
];
const FILTERS: [&str; 13] = [
    "created_at_start",
    "created_at_end",
    "urgency",
    "major",
    "team_ids",
    "service_ids",
    "escalation_policy_ids",
    "priority_ids",
    "priority_names",
    "min_ackowledgements",
    "min_timeout_escalations",
    "min_manual_escalations",
    "pd_advance_used",
];

/// One group's (and bucket's) aggregates: PagerDuty's
/// `AnalyticsIncidentMetrics`, without the user-defined effort ones.
#[derive(Debug, Default, Serialize)]
pub(super) struct Metrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    range_start: Option<Stamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    escalation_policy_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    escalation_policy_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team_name: Option<String>,
    total_incident_count: i64,
    mean_seconds_to_first_ack: Option<i64>,
    p50_seconds_to_first_ack: Option<i64>,
    p75_seconds_to_first_ack: Option<i64>,
    p90_seconds_to_first_ack: Option<i64>,
    p95_seconds_to_first_ack: Option<i64>,
    mean_seconds_to_resolve: Option<i64>,
    p50_seconds_to_resolve: Option<i64>,
    p75_seconds_to_resolve: Option<i64>,
    p90_seconds_to_resolve: Option<i64>,
    p95_seconds_to_resolve: Option<i64>,
    mean_seconds_to_engage: Option<i64>,
    mean_seconds_to_mobilize: Option<i64>,
    mean_engaged_seconds: Option<i64>,
    mean_engaged_user_count: i64,
    mean_assignment_count: i64,
    total_engaged_seconds: i64,
    total_snoozed_seconds: i64,
    total_notifications: i64,
    total_interruptions: i64,
    total_business_hour_interruptions: i64,
    total_off_hour_interruptions: i64,
    total_sleep_hour_interruptions: i64,
    total_escalation_count: i64,
    total_incidents_acknowledged: i64,
    total_incidents_auto_resolved: i64,
    total_incidents_manual_escalated: i64,
    total_incidents_timeout_escalated: i64,
    total_incidents_reassigned: i64,
    up_time_pct: f64,
}

/// The mean, rounded down; none without values.
pub(super) fn mean(values: &[i64]) -> Option<i64> {
    (!values.is_empty()).then(|| values.iter().sum::<i64>().div_euclid(values.len() as i64))
}

/// The nearest-rank percentile `q` (in %): the smallest value that at least
/// q % of the values do not exceed; none without values.
pub(super) fn percentile(sorted: &[i64], q: usize) -> Option<i64> {
    let rank = (q * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Seconds of `[start, end)` covered by the union of `spans`.
pub(super) fn covered(mut spans: Vec<(i64, i64)>, start: i64, end: i64) -> i64 {
    spans.retain_mut(|(s, e)| {
        *s = (*s).max(start);
        *e = (*e).min(end);
        s < e
    });
    spans.sort_unstable();
    let mut total = 0;
    let mut reach = i64::MIN;
    for (s, e) in spans {
        let s = s.max(reach);
        if e > s {
            total += e - s;
            reach = e;
        }
    }
    total
}

/// The aggregates of `rows` (not empty) over the bucket `[start, end)`; an
/// open major incident counts until `now`.
fn aggregate(rows: &[&RawIncident], start: i64, end: i64, now: i64) -> Metrics {
    let values = |f: fn(&RawIncident) -> Option<i64>| {
        let mut v: Vec<i64> = rows.iter().filter_map(|r| f(r)).collect();
        v.sort_unstable();
        v
    };
    let sum = |f: fn(&RawIncident) -> i64| rows.iter().map(|r| f(r)).sum::<i64>();
    let count = |f: fn(&RawIncident) -> bool| rows.iter().filter(|r| f(r)).count() as i64;
    let ack = values(|r| r.seconds_to_first_ack);
    let resolve = values(|r| r.seconds_to_resolve);
    let engaged = values(|r| r.engaged_seconds);
    let majors: Vec<(i64, i64)> = rows
        .iter()
        .filter(|r| r.major)
        .map(|r| {
            let from = r.created_at.at.timestamp();
            (
                from,
                r.resolved_at.map_or(end.min(now), |t| t.at.timestamp()),
            )
        })
        .collect();
    let length = end - start;
    let up_time_pct = if length > 0 {
        100.0 * (length - covered(majors, start, end)) as f64 / length as f64
    } else {
        100.0
    };
    Metrics {
        total_incident_count: rows.len() as i64,
        mean_seconds_to_first_ack: mean(&ack),
        p50_seconds_to_first_ack: percentile(&ack, 50),
        p75_seconds_to_first_ack: percentile(&ack, 75),
        p90_seconds_to_first_ack: percentile(&ack, 90),
        p95_seconds_to_first_ack: percentile(&ack, 95),
        mean_seconds_to_resolve: mean(&resolve),
        p50_seconds_to_resolve: percentile(&resolve, 50),
        p75_seconds_to_resolve: percentile(&resolve, 75),
        p90_seconds_to_resolve: percentile(&resolve, 90),
        p95_seconds_to_resolve: percentile(&resolve, 95),
        mean_seconds_to_engage: mean(&values(|r| r.seconds_to_engage)),
        mean_seconds_to_mobilize: mean(&values(|r| r.seconds_to_mobilize)),
        mean_engaged_seconds: mean(&engaged),
        mean_engaged_user_count: sum(|r| r.engaged_user_count).div_euclid(rows.len() as i64),
        mean_assignment_count: sum(|r| r.assignment_count).div_euclid(rows.len() as i64),
        total_engaged_seconds: engaged.iter().sum(),
        total_snoozed_seconds: sum(|r| r.snoozed_seconds),
        total_notifications: sum(|r| r.total_notifications),
        total_interruptions: sum(|r| r.total_interruptions),
        total_business_hour_interruptions: sum(|r| r.business_hour_interruptions),
        total_off_hour_interruptions: sum(|r| r.off_hour_interruptions),
        total_sleep_hour_interruptions: sum(|r| r.sleep_hour_interruptions),
        total_escalation_count: sum(|r| r.escalation_count),
        total_incidents_acknowledged: count(|r| r.acknowledgement_count > 0),
        total_incidents_auto_resolved: count(|r| r.auto_resolved),
        total_incidents_manual_escalated: count(|r| r.manual_escalation_count > 0),
        total_incidents_timeout_escalated: count(|r| r.timeout_escalation_count > 0),
        total_incidents_reassigned: count(|r| r.reassignment_count > 0),
        up_time_pct,
        ..Metrics::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    Day,
    Week,
    Month,
}

/// The first instant of local day `d` (or its first hour that exists).
fn local_start(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    (0..24)
        .find_map(|h| tz.from_local_datetime(&d.and_hms_opt(h, 0, 0)?).earliest())
        .map_or_else(
            || d.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
            |t| t.with_timezone(&Utc),
        )
}

/// The local day, week (from Monday) or month `t` falls in: its first
/// instant and the next bucket's.
pub(super) fn bucket(t: DateTime<Utc>, unit: Unit, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let d = t.with_timezone(&tz).date_naive();
    let (first, next) = match unit {
        Unit::Day => (d, d + Days::new(1)),
        Unit::Week => {
            let monday = d - Days::new(u64::from(d.weekday().num_days_from_monday()));
            (monday, monday + Days::new(7))
        }
        Unit::Month => {
            let first = d.with_day(1).expect("day 1 exists");
            (first, first + Months::new(1))
        }
    };
    (local_start(first, tz), local_start(next, tz))
}

/// A bucket's end and its incidents.
type Bucket<'a> = (DateTime<Utc>, Vec<&'a RawIncident>);

/// The grouping an endpoint asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    All,
    Services,
    Teams,
    EscalationPolicies,
}

/// `POST /analytics/metrics/incidents/{group}`.
pub(super) async fn incident_metrics(
    State(sim): State<Arc<Sim>>,
    Path(group): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let fault = match gate(&sim, &headers, "/analytics/metrics/incidents/{group}").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let group = match group.as_str() {
        "all" => Group::All,
        "services" => Group::Services,
        "teams" => Group::Teams,
        "escalation_policies" => Group::EscalationPolicies,
        _ => return error(StatusCode::NOT_FOUND, 2100, "Not Found"),
    };
    match metrics_answer(&sim, group, &bytes).await {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

async fn metrics_answer(sim: &Sim, group: Group, bytes: &Bytes) -> Result<Value, Response> {
    let body = parse_body(bytes, &PARAMS, &FILTERS)?;
    let (zone, tz) = time_zone(body.time_zone.as_deref())?;
    let filter = Filter::parse(&body.filters, tz)?;
    let unit = match body.aggregate_unit.as_deref() {
        None => None,
        Some("day") => Some(Unit::Day),
        Some("week") => Some(Unit::Week),
        Some("month") => Some(Unit::Month),
        Some(_) => return Err(invalid("aggregate_unit must be day, week or month")),
    };
    if let Some(o) = body.order.as_deref()
        && !["asc", "desc"].contains(&o)
    {
        return Err(invalid("order must be asc or desc"));
    }
    let now = sim.config.read().await.now.timestamp();
    let org = sim.org.read().await;
    let rows: Vec<RawIncident> = all_incidents(&org, tz)
        .into_iter()
        .filter(|r| filter.matches(r))
        .collect();
    // Without a unit, the one bucket is the period asked for (from the
    // first incident, to now, where it is open-ended).
    let period = (
        filter
            .created_start
            .or_else(|| rows.iter().map(|r| r.created_at.at).min())
            .unwrap_or_else(Utc::now),
        filter.created_end.unwrap_or_else(Utc::now),
    );
    // (group, bucket start) → (bucket end, its incidents)
    let mut groups: BTreeMap<(String, i64), Bucket> = BTreeMap::new();
    for r in &rows {
        let key = match group {
            Group::All => Some(String::new()),
            Group::Services => r.service_id.clone(),
            Group::Teams => r.team_id.clone(),
            Group::EscalationPolicies => r.escalation_policy_id.clone(),
        };
        let Some(key) = key else { continue };
        let (start, end) = unit.map_or(period, |u| bucket(r.created_at.at, u, tz));
        groups
            .entry((key, start.timestamp()))
            .or_insert_with(|| (end, Vec::new()))
            .1
            .push(r);
    }
    let data: Vec<Metrics> = groups
        .into_iter()
        .map(|((key, start), (end, members))| {
            let mut m = aggregate(&members, start, end.timestamp(), now);
            let sample = members[0];
            if unit.is_some() {
                m.range_start = DateTime::from_timestamp(start, 0).map(|t| Stamp::new(t, tz));
            }
            match group {
                Group::All => {}
                Group::Services => {
                    m.service_id = Some(key);
                    m.service_name = sample.service_name.clone();
                    m.team_id = sample.team_id.clone();
                    m.team_name = sample.team_name.clone();
                }
                Group::Teams => {
                    m.team_id = Some(key);
                    m.team_name = sample.team_name.clone();
                }
                Group::EscalationPolicies => {
                    let team = org
                        .escalation_policies
                        .iter()
                        .find(|p| p.id == key)
                        .and_then(|p| p.teams.first());
                    m.team_id = team.map(|t| t.id.clone());
                    m.team_name = team.and_then(|t| t.summary.clone());
                    m.escalation_policy_id = Some(key);
                    m.escalation_policy_name = sample.escalation_policy_name.clone();
                }
            }
            m
        })
        .collect();
    let mut answer = json!({
        "data": data,
        "filters": filter.echo(),
        "time_zone": zone,
        "aggregate_unit": body.aggregate_unit,
    });
    for (name, value) in [("order", &body.order), ("order_by", &body.order_by)] {
        if let Some(v) = value {
            answer[name] = json!(v);
        }
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn percentiles_are_nearest_rank_and_means_round_down() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 75), Some(8));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 95), Some(10));
        assert_eq!(percentile(&[7], 50), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(mean(&[1, 2]), Some(1));
        assert_eq!(mean(&[]), None);
    }

    #[test]
    fn coverage_merges_overlaps_and_clips_to_the_bucket() {
        assert_eq!(covered(vec![(0, 10), (5, 20), (30, 40)], 0, 100), 30);
        assert_eq!(covered(vec![(-5, 10), (90, 200)], 0, 100), 20);
        assert_eq!(covered(vec![(0, 50), (10, 20)], 0, 100), 50);
        assert_eq!(covered(vec![], 0, 100), 0);
    }

    #[test]
    fn buckets_are_local_days_weeks_from_monday_and_months() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // 23:30 UTC on Sunday 2024-03-03 is Monday 00:30 in Paris.
        let t = at("2024-03-03T23:30:00Z");
        assert_eq!(
            bucket(t, Unit::Day, paris),
            (at("2024-03-03T23:00:00Z"), at("2024-03-04T23:00:00Z"))
        );
        assert_eq!(bucket(t, Unit::Week, paris).0, at("2024-03-03T23:00:00Z"));
        assert_eq!(bucket(t, Unit::Week, Tz::UTC).0, at("2024-02-26T00:00:00Z"));
        // March in Paris has 31 days less the hour daylight saving takes.
        let (s, e) = bucket(t, Unit::Month, paris);
        assert_eq!(s, at("2024-02-29T23:00:00Z"));
        assert_eq!((e - s).num_hours(), 31 * 24 - 1);
    }
}
