//! The analytics endpoints' request bodies, read as PagerDuty reads them:
//! JSON with only the names each endpoint takes, times in RFC 3339 (or
//! local to `time_zone`), a created range of at most a year; anything else
//! is a 400 in PagerDuty's error shape. `Filter` decides which raw
//! incidents a request covers.

use axum::body::Bytes;
use chrono::{Months, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::analytics::RawIncident;
use super::*;

/// A 400 in PagerDuty's error shape, the reason in `errors`.
pub(super) fn invalid(reason: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": {
            "message": "Invalid Input Provided", "code": 2001, "errors": [reason],
        }})),
    )
        .into_response()
}

/// An analytics request body (raw or metrics: `parse_body` checks which
/// names each accepts).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Body {
    #[serde(default)]
    pub(super) filters: FilterBody,
    pub(super) starting_after: Option<String>,
    pub(super) ending_before: Option<String>,
    pub(super) order: Option<String>,
    pub(super) order_by: Option<String>,
    pub(super) limit: Option<i64>,
    pub(super) time_zone: Option<String>,
    pub(super) aggregate_unit: Option<String>,
}

/// The filters as sent (echoed in the answer, absent ones left out).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(super) struct FilterBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at_end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    urgency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    major: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    escalation_policy_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority_names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_type_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_ackowledgements: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_timeout_escalations: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_manual_escalations: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pd_advance_used: Option<bool>,
}

/// Reads a JSON body (empty: `{}`), refusing names other than `top` at the
/// top level and `filters` among the filters.
pub(super) fn parse_body(bytes: &Bytes, top: &[&str], filters: &[&str]) -> Result<Body, Response> {
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("the body is not UTF-8"))?;
    let value: Value = if text.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(text).map_err(|e| invalid(&format!("the body is not JSON: {e}")))?
    };
    let Some(map) = value.as_object() else {
        return Err(invalid("the body must be a JSON object"));
    };
    if let Some(k) = map.keys().find(|k| !top.contains(&k.as_str())) {
        return Err(invalid(&format!("unknown parameter {k:?}")));
    }
    match map.get("filters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(f)) => {
            if let Some(k) = f.keys().find(|k| !filters.contains(&k.as_str())) {
                return Err(invalid(&format!("unknown filter {k:?}")));
            }
        }
        Some(_) => return Err(invalid("filters must be an object")),
    }
    serde_json::from_value(value).map_err(|e| invalid(&format!("invalid body: {e}")))
}

/// The answer's time zone (default `Etc/UTC`): its name as sent and the zone.
pub(super) fn time_zone(name: Option<&str>) -> Result<(String, Tz), Response> {
    let name = name.unwrap_or("Etc/UTC");
    name.parse::<Tz>()
        .map(|tz| (name.to_owned(), tz))
        .map_err(|_| invalid(&format!("unknown time_zone {name:?}")))
}

/// An instant: RFC 3339, or a local date and time in `tz`.
fn parse_time(name: &str, s: &str, tz: Tz) -> Result<DateTime<Utc>, Response> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .and_then(|n| tz.from_local_datetime(&n).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| invalid(&format!("{name} is not a date-time: {s:?}")))
}

/// The filters, checked and parsed.
#[derive(Debug, Default)]
pub(super) struct Filter {
    pub(super) created_start: Option<DateTime<Utc>>,
    pub(super) created_end: Option<DateTime<Utc>>,
    updated_after: Option<DateTime<Utc>>,
    body: FilterBody,
}

impl Filter {
    pub(super) fn parse(body: &FilterBody, tz: Tz) -> Result<Self, Response> {
        let time = |name: &str, v: &Option<String>| {
            v.as_deref().map(|s| parse_time(name, s, tz)).transpose()
        };
        let created_start = time("created_at_start", &body.created_at_start)?;
        let created_end = time("created_at_end", &body.created_at_end)?;
        let updated_after = time("updated_after", &body.updated_after)?;
        if let (Some(s), Some(e)) = (created_start, created_end) {
            if s > e {
                return Err(invalid("created_at_start is after created_at_end"));
            }
            if s.checked_add_months(Months::new(12))
                .is_some_and(|limit| e > limit)
            {
                return Err(invalid("the created_at range is over one year"));
            }
        }
        if let Some(u) = body.urgency.as_deref()
            && !["high", "low"].contains(&u)
        {
            return Err(invalid("urgency must be high or low"));
        }
        for (name, list) in [
            ("priority_ids", &body.priority_ids),
            ("priority_names", &body.priority_names),
        ] {
            if list.as_ref().is_some_and(|l| l.len() > 5) {
                return Err(invalid(&format!("{name} takes at most 5 values")));
            }
        }
        Ok(Self {
            created_start,
            created_end,
            updated_after,
            body: body.clone(),
        })
    }

    pub(super) fn matches(&self, r: &RawIncident) -> bool {
        fn listed(list: &Option<Vec<String>>, value: &Option<String>) -> bool {
            match list {
                Some(l) if !l.is_empty() => value.as_ref().is_some_and(|v| l.contains(v)),
                _ => true,
            }
        }
        let b = &self.body;
        let at_least = |min: Option<i64>, v: i64| min.is_none_or(|m| v >= m);
        self.created_start.is_none_or(|s| r.created_at.at >= s)
            && self.created_end.is_none_or(|e| r.created_at.at < e)
            && self.updated_after.is_none_or(|u| r.updated_at.at > u)
            && (b.urgency.is_none() || b.urgency == r.urgency)
            && b.major.is_none_or(|m| m == r.major)
            && listed(&b.team_ids, &r.team_id)
            && listed(&b.service_ids, &r.service_id)
            && listed(&b.escalation_policy_ids, &r.escalation_policy_id)
            && listed(&b.priority_ids, &r.priority_id)
            && listed(&b.priority_names, &r.priority_name)
            && listed(&b.incident_type_ids, &r.incident_type_id)
            && at_least(b.min_ackowledgements, r.acknowledgement_count)
            && at_least(b.min_timeout_escalations, r.timeout_escalation_count)
            && at_least(b.min_manual_escalations, r.manual_escalation_count)
            // The simulator's incidents never used PagerDuty Advance.
            && b.pd_advance_used != Some(true)
    }

    pub(super) fn echo(&self) -> &FilterBody {
        &self.body
    }
}
