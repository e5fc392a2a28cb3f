//! PagerDuty's raw incident analytics (`POST /analytics/raw/incidents`,
//! `GET /analytics/raw/incidents/{id}`), computed by the simulator from its
//! own log entries. The definitions are those of `docs/metrics.md`
//! ("Incident analytics (PagerDuty's fields)"), implemented here on their
//! own, without `crate::analytics` or `crate::incidents`: pagerlens' figures
//! are checked against these. The aggregates (`/analytics/metrics/...`) are
//! in `metrics`.
//!
//! With `SimConfig::perturb_analytics` a seeded set of incidents each has
//! one field of its raw analytics altered in the raw answers;
//! `GET /_simulator/perturbed` lists them (a checker must notice exactly
//! those).

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use base64::Engine as _;
use chrono::{Datelike, SecondsFormat, TimeDelta, Timelike};
use chrono_tz::Tz;
use rand::seq::SliceRandom;
use serde::Serialize;

use super::gate::{control_auth, error, gate, respond};
use super::request::{Filter, invalid, parse_body, time_zone};
use super::*;

/// An instant as the analytics show it: whole seconds (rounded down), in
/// the answer's time zone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Stamp {
    pub(super) at: DateTime<Utc>,
    pub(super) tz: Tz,
}

impl Stamp {
    pub(super) fn new(at: DateTime<Utc>, tz: Tz) -> Self {
        let at = DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at);
        Self { at, tz }
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let local = self.at.with_timezone(&self.tz);
        s.serialize_str(&local.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

/// One incident's raw analytics: PagerDuty's `AnalyticsRawIncident`, without
/// `user_defined_effort_seconds` (effort edited in the web app).
#[derive(Clone, Debug, Serialize)]
pub(super) struct RawIncident {
    pub(super) id: String,
    pub(super) incident_number: Option<i64>,
    pub(super) description: Option<String>,
    pub(super) status: String,
    pub(super) urgency: Option<String>,
    pub(super) created_at: Stamp,
    pub(super) updated_at: Stamp,
    pub(super) resolved_at: Option<Stamp>,
    pub(super) priority_id: Option<String>,
    pub(super) priority_name: Option<String>,
    pub(super) service_id: Option<String>,
    pub(super) service_name: Option<String>,
    pub(super) escalation_policy_id: Option<String>,
    pub(super) escalation_policy_name: Option<String>,
    pub(super) team_id: Option<String>,
    pub(super) team_name: Option<String>,
    pub(super) incident_type_id: Option<String>,
    pub(super) incident_type_name: Option<String>,
    pub(super) acknowledged_user_ids: Vec<String>,
    pub(super) joined_user_ids: Vec<String>,
    pub(super) resolved_by_user_id: Option<String>,
    pub(super) seconds_to_first_ack: Option<i64>,
    pub(super) seconds_to_resolve: Option<i64>,
    pub(super) seconds_to_engage: Option<i64>,
    pub(super) seconds_to_mobilize: Option<i64>,
    pub(super) engaged_seconds: Option<i64>,
    pub(super) engaged_user_count: i64,
    pub(super) active_user_count: i64,
    pub(super) acknowledgement_count: i64,
    pub(super) escalation_count: i64,
    pub(super) timeout_escalation_count: i64,
    pub(super) manual_escalation_count: i64,
    pub(super) reassignment_count: i64,
    pub(super) assignment_count: i64,
    pub(super) auto_resolved: bool,
    pub(super) major: bool,
    pub(super) snoozed_seconds: i64,
    pub(super) total_notifications: i64,
    pub(super) total_interruptions: i64,
    pub(super) business_hour_interruptions: i64,
    pub(super) off_hour_interruptions: i64,
    pub(super) sleep_hour_interruptions: i64,
}

/// A duration in whole seconds, rounded down.
fn whole_seconds(d: TimeDelta) -> i64 {
    let s = d.num_seconds();
    if d < TimeDelta::seconds(s) { s - 1 } else { s }
}

/// The user an agent reference names, if it is a user.
fn user_id(agent: Option<&Reference>) -> Option<&str> {
    agent
        .filter(|a| a.kind.starts_with("user"))
        .map(|a| a.id.as_str())
}

/// PagerDuty's interruption windows, in the notified user's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Window {
    /// 08:00–18:00 Monday to Friday.
    Business,
    /// 22:00–08:00 every day.
    Sleep,
    /// The rest: weekday evenings, weekend days.
    Off,
}

pub(super) fn window(at: DateTime<Utc>, tz: Tz) -> Window {
    let local = at.with_timezone(&tz);
    let hour = local.hour();
    if !(8..22).contains(&hour) {
        Window::Sleep
    } else if hour < 18 && local.weekday().number_from_monday() <= 5 {
        Window::Business
    } else {
        Window::Off
    }
}

/// The time zone of a user of the organisation (UTC when it has none, or
/// one unknown, or the user is not in the account).
fn user_zone(org: &Org, user: &str) -> Tz {
    org.users
        .iter()
        .find(|u| u.id == user)
        .and_then(|u| u.time_zone.as_deref())
        .and_then(|z| z.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// An incident's raw analytics from its log entries (any order: they are
/// taken in order of time, then id); times shown in `tz`.
pub(super) fn raw_incident(org: &Org, i: &Incident, entries: &[&LogEntry], tz: Tz) -> RawIncident {
    let mut entries = entries.to_vec();
    entries.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let created = i.created_at;
    let mut first_ack = None;
    // Each user's engagement: their first acknowledgement, in order.
    let mut engaged: Vec<(&str, DateTime<Utc>)> = Vec::new();
    let (mut acks, mut escalations, mut timeouts, mut reassignments) = (0, 0, 0, 0);
    let mut notifications = 0;
    let mut interruptions: BTreeSet<(&str, i64)> = BTreeSet::new();
    // The resolve in force: its time and the user who did it, if one did.
    let mut resolved: Option<(DateTime<Utc>, Option<&str>)> = None;
    let mut snoozed = TimeDelta::zero();
    for (k, e) in entries.iter().enumerate() {
        match e.kind.as_str() {
            "acknowledge_log_entry" => {
                acks += 1;
                first_ack.get_or_insert(e.created_at);
                if let Some(u) = user_id(e.agent.as_ref())
                    && !engaged.iter().any(|(x, _)| *x == u)
                {
                    engaged.push((u, e.created_at));
                }
                resolved = None;
            }
            "unacknowledge_log_entry" | "trigger_log_entry" => resolved = None,
            "resolve_log_entry" => resolved = Some((e.created_at, user_id(e.agent.as_ref()))),
            "escalate_log_entry" => {
                escalations += 1;
                if e.channel.as_ref().and_then(|c| c.kind.as_deref()) == Some("timeout") {
                    timeouts += 1;
                }
            }
            "assign_log_entry" => reassignments += 1,
            "notify_log_entry" => {
                notifications += 1;
                if let Some(u) = &e.user {
                    interruptions.insert((u.id.as_str(), e.created_at.timestamp()));
                }
            }
            "snooze_log_entry" => {
                let ends = entries[k + 1..].iter().find(|n| {
                    matches!(
                        n.kind.as_str(),
                        "acknowledge_log_entry"
                            | "unacknowledge_log_entry"
                            | "resolve_log_entry"
                            | "snooze_log_entry"
                    )
                });
                if let Some(end) = ends {
                    snoozed += end.created_at - e.created_at;
                }
            }
            _ => {}
        }
    }
    let (mut business, mut sleep, mut off) = (0, 0, 0);
    for (user, second) in &interruptions {
        let at = DateTime::from_timestamp(*second, 0).unwrap_or(created);
        match window(at, user_zone(org, user)) {
            Window::Business => business += 1,
            Window::Sleep => sleep += 1,
            Window::Off => off += 1,
        }
    }
    let first_engaged = engaged.iter().map(|(_, t)| *t).min();
    let last_engaged = engaged.iter().map(|(_, t)| *t).max();
    let several = engaged.len() >= 2;
    let engaged_seconds = resolved.map(|(at, _)| {
        whole_seconds(
            engaged
                .iter()
                .map(|(_, t)| (at - *t).max(TimeDelta::zero()))
                .sum(),
        )
    });
    let priority_id = i.priority.as_ref().map(|p| p.id.clone());
    let priority_name = i.priority.as_ref().map(|p| {
        org.priorities
            .iter()
            .find(|x| x.id == p.id)
            .map(|x| x.name.clone())
            .or_else(|| p.summary.clone())
            .unwrap_or_default()
    });
    let major_priority = priority_id
        .as_deref()
        .is_some_and(|p| org.priorities.iter().take(2).any(|x| x.id == p));
    let service = i
        .service
        .as_ref()
        .and_then(|s| org.services.iter().find(|x| x.id == s.id));
    let team = service.and_then(|s| s.teams.first());
    let policy = i.escalation_policy.as_ref().map(|p| {
        let name = org
            .escalation_policies
            .iter()
            .find(|x| x.id == p.id)
            .map(|x| x.name.clone())
            .or_else(|| p.summary.clone());
        (p.id.clone(), name)
    });
    let type_name = i.incident_type.as_ref().and_then(|t| t.name.clone());
    let users: Vec<String> = engaged.iter().map(|(u, _)| (*u).to_owned()).collect();
    RawIncident {
        id: i.id.clone(),
        incident_number: i.incident_number,
        description: i.description.clone().or_else(|| Some(i.title.clone())),
        status: i.status.clone(),
        urgency: i.urgency.clone(),
        created_at: Stamp::new(created, tz),
        updated_at: Stamp::new(i.updated_at.unwrap_or(created), tz),
        resolved_at: resolved.map(|(at, _)| Stamp::new(at, tz)),
        priority_id,
        priority_name,
        service_id: i.service.as_ref().map(|s| s.id.clone()),
        service_name: service
            .map(|s| s.name.clone())
            .or_else(|| i.service.as_ref().and_then(|s| s.summary.clone())),
        escalation_policy_id: policy.as_ref().map(|p| p.0.clone()),
        escalation_policy_name: policy.and_then(|p| p.1),
        team_id: team.map(|t| t.id.clone()),
        team_name: team.and_then(|t| t.summary.clone()),
        incident_type_id: type_name
            .as_deref()
            .and_then(super::fields::type_id)
            .map(str::to_owned),
        incident_type_name: type_name,
        acknowledged_user_ids: users.clone(),
        joined_user_ids: users,
        resolved_by_user_id: resolved.and_then(|(_, u)| u.map(str::to_owned)),
        seconds_to_first_ack: first_ack.map(|t| whole_seconds(t - created)),
        seconds_to_resolve: resolved.map(|(at, _)| whole_seconds(at - created)),
        seconds_to_engage: first_engaged
            .zip(last_engaged)
            .filter(|_| several)
            .map(|(a, b)| whole_seconds(b - a)),
        seconds_to_mobilize: last_engaged
            .filter(|_| several)
            .map(|t| whole_seconds(t - created)),
        engaged_seconds,
        engaged_user_count: engaged.len() as i64,
        active_user_count: engaged.len() as i64,
        acknowledgement_count: acks,
        escalation_count: escalations,
        timeout_escalation_count: timeouts,
        manual_escalation_count: escalations - timeouts,
        reassignment_count: reassignments,
        assignment_count: 1 + escalations + reassignments,
        auto_resolved: resolved.is_some_and(|(_, u)| u.is_none()),
        major: major_priority || several,
        snoozed_seconds: whole_seconds(snoozed),
        total_notifications: notifications,
        total_interruptions: interruptions.len() as i64,
        business_hour_interruptions: business,
        off_hour_interruptions: off,
        sleep_hour_interruptions: sleep,
    }
}

/// Every incident's raw analytics (unperturbed), in the incidents' order.
pub(super) fn all_incidents(org: &Org, tz: Tz) -> Vec<RawIncident> {
    let mut by_incident: HashMap<&str, Vec<&LogEntry>> = HashMap::new();
    for e in &org.log_entries {
        if let Some(id) = e.incident_id() {
            by_incident.entry(id).or_default().push(e);
        }
    }
    org.incidents
        .iter()
        .map(|i| {
            let entries = by_incident
                .get(i.id.as_str())
                .map_or(&[][..], Vec::as_slice);
            raw_incident(org, i, entries, tz)
        })
        .collect()
}

/// The fields a perturbation alters, in turn.
pub(super) const PERTURBABLE: [&str; 6] = [
    "seconds_to_first_ack",
    "total_notifications",
    "acknowledgement_count",
    "escalation_count",
    "auto_resolved",
    "business_hour_interruptions",
];

/// One incident whose raw analytics the simulator alters.
#[derive(Clone, Debug, Serialize)]
pub(super) struct Perturbation {
    pub(super) incident_id: String,
    pub(super) field: &'static str,
}

/// round(`share` × incidents) incidents drawn with a generator seeded from
/// `seed`, sorted by id; the k-th gets the k-th perturbable field (in turn).
pub(super) fn choose_perturbed(seed: u64, org: &Org, share: f64) -> Vec<Perturbation> {
    let share = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let count = (share * org.incidents.len() as f64).round() as usize;
    let mut ids: Vec<&str> = org.incidents.iter().map(|i| i.id.as_str()).collect();
    ids.sort_unstable();
    ids.shuffle(&mut StdRng::seed_from_u64(seed ^ 0xa7a1_7c5e_9e27_b0b5));
    let mut chosen: Vec<&str> = ids.into_iter().take(count).collect();
    chosen.sort_unstable();
    chosen
        .into_iter()
        .enumerate()
        .map(|(k, id)| Perturbation {
            incident_id: id.to_owned(),
            field: PERTURBABLE[k % PERTURBABLE.len()],
        })
        .collect()
}

/// Alters one field: a number gains 1 (a null becomes 1), a flag flips.
pub(super) fn perturb(row: &mut RawIncident, field: &str) {
    match field {
        "seconds_to_first_ack" => {
            row.seconds_to_first_ack = Some(row.seconds_to_first_ack.map_or(1, |v| v + 1));
        }
        "total_notifications" => row.total_notifications += 1,
        "acknowledgement_count" => row.acknowledgement_count += 1,
        "escalation_count" => row.escalation_count += 1,
        "auto_resolved" => row.auto_resolved = !row.auto_resolved,
        "business_hour_interruptions" => row.business_hour_interruptions += 1,
        _ => {}
    }
}

fn perturbed_row(sim: &Sim, mut row: RawIncident) -> RawIncident {
    if let Some(p) = sim.perturbed.iter().find(|p| p.incident_id == row.id) {
        perturb(&mut row, p.field);
    }
    row
}

/// `GET /_simulator/perturbed` (with the API token): the incidents whose
/// raw analytics are altered, and the field, sorted by incident id.
pub(super) async fn perturbed(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    if let Err(resp) = control_auth(&sim, &headers).await {
        return resp;
    }
    axum::Json(&sim.perturbed).into_response()
}

const RAW_PARAMS: [&str; 7] = [
    "filters",
    "starting_after",
    "ending_before",
    "order",
    "order_by",
    "limit",
    "time_zone",
];
const RAW_FILTERS: [&str; 10] = [
    "created_at_start",
    "created_at_end",
    "updated_after",
    "urgency",
    "major",
    "team_ids",
    "service_ids",
    "priority_ids",
    "priority_names",
    "incident_type_ids",
];

/// A raw incident's place in an order: the sort value (nulls after every
/// number) and the id.
type SortKey = (bool, i64, String);

fn sort_key(r: &RawIncident, order_by: &str) -> SortKey {
    let value = match order_by {
        "seconds_to_resolve" => r.seconds_to_resolve,
        "updated_at" => Some(r.updated_at.at.timestamp()),
        _ => Some(r.created_at.at.timestamp()),
    };
    (value.is_none(), value.unwrap_or(0), r.id.clone())
}

/// The opaque cursor of a position: base64url of `order_by|value|id`
/// (`value` empty for a null).
fn cursor(key: &SortKey, order_by: &str) -> String {
    let value = if key.0 {
        String::new()
    } else {
        key.1.to_string()
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{order_by}|{value}|{}", key.2))
}

fn parse_cursor(name: &str, c: &str, order_by: &str) -> Result<SortKey, Response> {
    let bad = || invalid(&format!("{name} is not a cursor of this order_by"));
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let mut parts = text.splitn(3, '|');
    let (Some(by), Some(value), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if by != order_by {
        return Err(bad());
    }
    if value.is_empty() {
        return Ok((true, 0, id.to_owned()));
    }
    value
        .parse()
        .map(|v| (false, v, id.to_owned()))
        .map_err(|_| bad())
}

/// `POST /analytics/raw/incidents`: the raw analytics of the incidents that
/// match, a page at a time (cursors in `first`/`last`; `starting_after` a
/// `last` continues, `ending_before` a `first` goes back).
pub(super) async fn raw_incidents(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let fault = match gate(&sim, &headers, "/analytics/raw/incidents").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match raw_page(&sim, &bytes).await {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

async fn raw_page(sim: &Sim, bytes: &Bytes) -> Result<Value, Response> {
    let body = parse_body(bytes, &RAW_PARAMS, &RAW_FILTERS)?;
    let order = body.order.as_deref().unwrap_or("desc");
    if !["asc", "desc"].contains(&order) {
        return Err(invalid("order must be asc or desc"));
    }
    let order_by = body.order_by.as_deref().unwrap_or("created_at");
    if !["created_at", "seconds_to_resolve", "updated_at"].contains(&order_by) {
        return Err(invalid(
            "order_by must be created_at, seconds_to_resolve or updated_at",
        ));
    }
    let limit = body.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(invalid("limit must be between 1 and 1000"));
    }
    let (zone, tz) = time_zone(body.time_zone.as_deref())?;
    let filter = Filter::parse(&body.filters, tz)?;
    let after = body
        .starting_after
        .as_deref()
        .map(|c| parse_cursor("starting_after", c, order_by))
        .transpose()?;
    let before = body
        .ending_before
        .as_deref()
        .map(|c| parse_cursor("ending_before", c, order_by))
        .transpose()?;
    let mut rows: Vec<(SortKey, RawIncident)> = {
        let org = sim.org.read().await;
        all_incidents(&org, tz)
            .into_iter()
            .filter(|r| filter.matches(r))
            .map(|r| (sort_key(&r, order_by), r))
            .collect()
    };
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    if order == "desc" {
        rows.reverse();
    }
    // Positions compare in the order asked for.
    let precedes = |a: &SortKey, b: &SortKey| if order == "asc" { a < b } else { a > b };
    let start = after
        .as_ref()
        .map_or(0, |c| rows.partition_point(|(k, _)| !precedes(c, k)));
    let end = before.as_ref().map_or(rows.len(), |c| {
        rows.partition_point(|(k, _)| precedes(k, c))
    });
    let window = &rows[start..end.max(start)];
    let limit_n = limit as usize;
    let more = window.len() > limit_n;
    let page = if before.is_some() && after.is_none() {
        &window[window.len().saturating_sub(limit_n)..]
    } else {
        &window[..window.len().min(limit_n)]
    };
    let first = page.first().map(|(k, _)| cursor(k, order_by));
    let last = page.last().map(|(k, _)| cursor(k, order_by));
    let data: Vec<RawIncident> = page
        .iter()
        .map(|(_, r)| perturbed_row(sim, r.clone()))
        .collect();
    Ok(json!({
        "first": first,
        "last": last,
        "limit": limit,
        "more": more,
        "order": order,
        "order_by": order_by,
        "filters": filter.echo(),
        "time_zone": zone,
        "data": data,
    }))
}

/// `GET /analytics/raw/incidents/{id}`: one incident's raw analytics (UTC).
pub(super) async fn raw_incident_by_id(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match gate(&sim, &headers, "/analytics/raw/incidents/{id}").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let row = {
        let org = sim.org.read().await;
        let Some(i) = org.incident(&id) else {
            return error(StatusCode::NOT_FOUND, 5001, "Incident Not Found");
        };
        let entries: Vec<&LogEntry> = org
            .log_entries
            .iter()
            .filter(|e| e.incident_id() == Some(id.as_str()))
            .collect();
        raw_incident(&org, i, &entries, Tz::UTC)
    };
    respond(&sim, perturbed_row(&sim, row), fault).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Org {
        data::generate(7, &Sizes::default(), Utc::now())
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn windows_follow_the_local_clock() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Monday 2024-01-08: 07:59 UTC is 08:59 in Berlin.
        assert_eq!(window(at("2024-01-08T07:59:00Z"), berlin), Window::Business);
        assert_eq!(window(at("2024-01-08T07:59:00Z"), Tz::UTC), Window::Sleep);
        assert_eq!(window(at("2024-01-08T17:00:00Z"), berlin), Window::Off);
        assert_eq!(window(at("2024-01-08T21:00:00Z"), berlin), Window::Sleep);
        // Saturday daytime is off, Saturday night sleep.
        assert_eq!(window(at("2024-01-13T12:00:00Z"), Tz::UTC), Window::Off);
        assert_eq!(window(at("2024-01-13T23:00:00Z"), Tz::UTC), Window::Sleep);
    }

    #[test]
    fn raw_analytics_agree_with_the_incidents_state() {
        let org = org();
        let rows = all_incidents(&org, Tz::UTC);
        assert_eq!(rows.len(), org.incidents.len());
        for (r, i) in rows.iter().zip(&org.incidents) {
            assert_eq!(r.resolved_at.is_some(), i.status == "resolved", "{}", i.id);
            assert_eq!(r.engaged_seconds.is_some(), r.resolved_at.is_some());
            assert_eq!(
                r.total_interruptions,
                r.business_hour_interruptions
                    + r.off_hour_interruptions
                    + r.sleep_hour_interruptions
            );
            assert_eq!(
                r.assignment_count,
                1 + r.escalation_count + r.reassignment_count
            );
            assert!(!r.auto_resolved || r.resolved_at.is_some());
        }
        assert!(rows.iter().any(|r| r.auto_resolved));
        assert!(rows.iter().any(|r| r.major) && rows.iter().any(|r| !r.major));
    }

    #[test]
    fn perturbations_are_seeded_and_rotate_fields() {
        let org = org();
        let a = choose_perturbed(3, &org, 0.1);
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|w| w[0].incident_id < w[1].incident_id));
        let b = choose_perturbed(3, &org, 0.1);
        assert_eq!(
            a.iter().map(|p| &p.incident_id).collect::<Vec<_>>(),
            b.iter().map(|p| &p.incident_id).collect::<Vec<_>>()
        );
        assert_eq!(a[0].field, PERTURBABLE[0]);
        assert_eq!(a[7].field, PERTURBABLE[1]);
        assert!(choose_perturbed(3, &org, 0.0).is_empty());
        let mut row = all_incidents(&org, Tz::UTC).remove(0);
        let before = serde_json::to_value(&row).unwrap();
        for field in PERTURBABLE {
            let mut changed = row.clone();
            perturb(&mut changed, field);
            assert_ne!(
                serde_json::to_value(&changed).unwrap()[field],
                before[field]
            );
        }
        perturb(&mut row, "auto_resolved");
        perturb(&mut row, "auto_resolved");
        assert_eq!(serde_json::to_value(&row).unwrap(), before);
    }

    #[test]
    fn responders_snoozes_and_manual_escalations_count() {
        let mut org = org();
        let t = DateTime::from_timestamp(Utc::now().timestamp() + 86_400, 0).unwrap();
        let mut incident = org.incidents[0].clone();
        (incident.id, incident.created_at, incident.priority) = ("PTEST01".into(), t, None);
        org.incidents.push(incident);
        org.reindex();
        let (u1, u2) = (org.users[1].id.clone(), org.users[2].id.clone());
        let at = |s: i64| t + TimeDelta::seconds(s);
        for (s, kind, who) in [
            (0, "trigger_log_entry", None),
            (1, "notify_log_entry", Some(&u1)),
            (1, "notify_log_entry", Some(&u1)),
            (1, "notify_log_entry", Some(&u2)),
            (60, "acknowledge_log_entry", Some(&u1)),
            (100, "snooze_log_entry", Some(&u1)),
            (200, "escalate_log_entry", None),
            (400, "acknowledge_log_entry", Some(&u2)),
            (1000, "resolve_log_entry", Some(&u2)),
        ] {
            data::apply_event(&mut org, "PTEST01", kind, at(s), who.map(String::as_str));
        }
        // A manual escalation: not by timeout.
        let escalation = org
            .log_entries
            .iter_mut()
            .rev()
            .find(|e| e.kind == "escalate_log_entry");
        escalation.unwrap().channel.as_mut().unwrap().kind = Some("website".into());
        let row = all_incidents(&org, Tz::UTC).pop().unwrap();
        assert_eq!(row.id, "PTEST01");
        assert_eq!(row.acknowledged_user_ids, [u1.clone(), u2.clone()]);
        assert_eq!(row.resolved_by_user_id.as_ref(), Some(&u2));
        let got = (
            row.seconds_to_first_ack,
            row.seconds_to_engage,
            row.seconds_to_mobilize,
        );
        assert_eq!(got, (Some(60), Some(340), Some(400)));
        assert_eq!(row.engaged_seconds, Some(940 + 600));
        assert_eq!(
            (row.snoozed_seconds, row.major, row.auto_resolved),
            (300, true, false)
        );
        let counts = (
            row.escalation_count,
            row.manual_escalation_count,
            row.assignment_count,
        );
        assert_eq!(counts, (1, 1, 2));
        assert_eq!((row.total_notifications, row.total_interruptions), (3, 2));
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_order() {
        let key = (false, 1_700_000_000, "PI00001".to_owned());
        let c = cursor(&key, "created_at");
        assert_eq!(parse_cursor("x", &c, "created_at").ok(), Some(key));
        assert!(parse_cursor("x", &c, "updated_at").is_err());
        let null = (true, 0, "PI00002".to_owned());
        let c = cursor(&null, "seconds_to_resolve");
        assert_eq!(parse_cursor("x", &c, "seconds_to_resolve").ok(), Some(null));
        assert!(parse_cursor("x", "not a cursor!", "created_at").is_err());
    }
}
