//! PagerDuty REST v2 wire models: what the API sends, kept apart from our
//! entities. They tolerate unknown fields (ignored), unknown enum values
//! (kept as strings) and absent or null optional fields (defaults). The
//! simulator serialises the same types, so client and simulator agree.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A reference to another object (`service_reference`, `user_reference`, …).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Reference {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
}

impl Reference {
    pub fn new(id: &str, kind: &str, summary: &str) -> Self {
        Self {
            id: id.to_owned(),
            kind: kind.to_owned(),
            summary: Some(summary.to_owned()),
            self_url: None,
            html_url: None,
        }
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Priority {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Team {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct TeamMember {
    pub user: Reference,
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct User {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub invitation_sent: bool,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub teams: Vec<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Service {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub escalation_policy: Option<Reference>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub teams: Vec<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct EscalationRule {
    /// Not required by the spec: a rule without one cannot be stored and is
    /// left out, its policy is not.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub escalation_delay_in_minutes: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub targets: Vec<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct EscalationPolicy {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub num_loops: i64,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub escalation_rules: Vec<EscalationRule>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub services: Vec<Reference>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub teams: Vec<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ScheduleLayerUser {
    /// Absent, the entry names nobody and is left out.
    #[serde(default)]
    pub user: Option<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ScheduleLayer {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub users: Vec<ScheduleLayerUser>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Schedule {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub users: Vec<Reference>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub schedule_layers: Vec<ScheduleLayer>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Oncall {
    #[serde(default)]
    pub escalation_policy: Option<Reference>,
    #[serde(default)]
    pub user: Option<Reference>,
    #[serde(default)]
    pub schedule: Option<Reference>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub escalation_level: i64,
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Assignment {
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    pub assignee: Reference,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Incident {
    pub id: String,
    #[serde(default)]
    pub incident_number: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Not required by the spec, but an incident is counted, windowed and
    /// measured from it: one without it cannot be stored.
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// `triggered`, `acknowledged`, `resolved` (kept as sent; empty when absent).
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(default)]
    pub urgency: Option<String>,
    #[serde(default)]
    pub incident_key: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub service: Option<Reference>,
    #[serde(default)]
    pub escalation_policy: Option<Reference>,
    #[serde(default)]
    pub priority: Option<Reference>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub assignments: Vec<Assignment>,
    #[serde(default)]
    pub last_status_change_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// The incident's type (`{"name": …}`), where the account has types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_type: Option<IncidentTypeName>,
}

/// An incident's `incident_type`: PagerDuty sends its name only.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct IncidentTypeName {
    #[serde(default)]
    pub name: Option<String>,
}

/// An incident type (`GET /incidents/types`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IncidentType {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Absent means enabled.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The type it inherits fields from.
    #[serde(default)]
    pub parent: Option<Reference>,
}

/// A custom field's definition (`GET /incidents/custom_fields`, or an
/// incident type's `GET /incidents/types/{type}/custom_fields`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct FieldDefinition {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub field_type: Option<String>,
    /// Absent means enabled.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// On an incident type's list: the id of the type it belongs to.
    #[serde(default)]
    pub incident_type: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Channel {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct LogEntry {
    pub id: String,
    /// e.g. `acknowledge_log_entry`; unknown types are kept as sent (empty
    /// when absent).
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub kind: String,
    /// Not required by the spec, but entries are ordered and the watermark
    /// moves by it: one without it cannot be stored.
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub agent: Option<Reference>,
    #[serde(default)]
    pub channel: Option<Channel>,
    #[serde(default)]
    pub note: Option<String>,
    /// The notified user of a `notify_log_entry`.
    #[serde(default)]
    pub user: Option<Reference>,
    /// A reference, or the full incident with `include[]=incidents`; an
    /// entry without one names no incident and is left out.
    #[serde(default)]
    pub incident: EmbeddedIncident,
    #[serde(default)]
    pub service: Option<Reference>,
}

impl LogEntry {
    /// The incident id, whether the entry carries a reference or a full object.
    pub fn incident_id(&self) -> Option<&str> {
        self.incident.id.as_deref()
    }

    /// The text of a note: the entry's `note` (the OpenAPI document's field
    /// for it) or, for an `annotate_log_entry` without one, the summary of
    /// its `note` channel, where some payloads carry the note's content.
    pub fn note_text(&self) -> Option<String> {
        self.note.clone().filter(|n| !n.is_empty()).or_else(|| {
            let channel = self.channel.as_ref()?;
            (self.kind == "annotate_log_entry" && channel.kind.as_deref() == Some("note"))
                .then(|| channel.summary.clone())
                .flatten()
                .filter(|n| !n.is_empty())
        })
    }

    /// The embedded full incident (with `include[]=incidents`), if readable.
    pub fn full_incident(&self) -> Option<Incident> {
        match self.incident.kind.as_deref() {
            Some("incident") => serde_json::from_str(self.incident.raw.get()).ok(),
            _ => None,
        }
    }
}

/// A log entry's incident, kept as the JSON it came as: a reference, or
/// with `include[]=incidents` the whole incident. Its id, type and service
/// are read at once; the whole incident only when asked for
/// ([`LogEntry::full_incident`]), which a sync needs only for incidents it
/// does not have yet. Anything that is not an object has no id.
#[derive(Clone, Debug)]
pub struct EmbeddedIncident {
    pub id: Option<String>,
    pub kind: Option<String>,
    pub service_id: Option<String>,
    raw: Box<serde_json::value::RawValue>,
}

impl EmbeddedIncident {
    /// From a JSON value (a reference the caller builds).
    pub fn from_value(v: &serde_json::Value) -> Self {
        let raw = serde_json::value::to_raw_value(v)
            .unwrap_or_else(|_| serde_json::value::to_raw_value(&()).expect("null"));
        Self::from_raw(raw)
    }

    fn from_raw(raw: Box<serde_json::value::RawValue>) -> Self {
        use serde_json::Value;
        /// The fields read at once (others are skipped, not built).
        #[derive(Default, Deserialize)]
        struct Head {
            #[serde(default)]
            id: Option<Value>,
            #[serde(default, rename = "type")]
            kind: Option<Value>,
            #[serde(default)]
            service: Option<Value>,
        }
        let head: Head = serde_json::from_str(raw.get()).unwrap_or_default();
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        Self {
            id: text(head.id.as_ref()),
            kind: text(head.kind.as_ref()),
            service_id: text(head.service.as_ref().and_then(|s| s.get("id"))),
            raw,
        }
    }
}

impl Default for EmbeddedIncident {
    fn default() -> Self {
        Self::from_value(&serde_json::Value::Null)
    }
}

impl Serialize for EmbeddedIncident {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for EmbeddedIncident {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_raw(
            Box::<serde_json::value::RawValue>::deserialize(d)?,
        ))
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct FieldValue {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub value: serde_json::Value,
}

impl FieldValue {
    /// The text form of the value: scalars as text, lists joined by ", ".
    pub fn value_text(&self) -> Option<String> {
        match &self.value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(items) => Some(
                items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            other => Some(other.to_string()),
        }
    }
}

/// PagerDuty's error body: `{"error": {"message", "code", "errors"}}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_unknown_fields_enum_values_and_nulls() {
        let json = r#"{"id":"P1","type":"incident","title":null,"created_at":"2026-01-01T00:00:00-05:00",
            "status":"snoozed_forever","urgency":"medium","assignments":null,"brand_new_field":{"x":1},
            "service":{"id":"S1","type":"service_reference","summary":null,"extra":true}}"#;
        let i: Incident = serde_json::from_str(json).unwrap();
        assert_eq!(i.title, "");
        assert_eq!(i.status, "snoozed_forever");
        assert!(i.assignments.is_empty());
        assert_eq!(i.created_at.to_rfc3339(), "2026-01-01T05:00:00+00:00");
        assert_eq!(i.service.unwrap().id, "S1");
    }

    #[test]
    fn log_entries_carry_a_reference_or_a_full_incident() {
        let reference = r#"{"id":"L1","type":"acknowledge_log_entry","created_at":"2026-01-01T00:00:00Z",
            "incident":{"id":"P1","type":"incident_reference"}}"#;
        let e: LogEntry = serde_json::from_str(reference).unwrap();
        assert_eq!(e.incident_id(), Some("P1"));
        assert!(e.full_incident().is_none());
        let full = r#"{"id":"L1","type":"trigger_log_entry","created_at":"2026-01-01T00:00:00Z",
            "incident":{"id":"P1","type":"incident","created_at":"2026-01-01T00:00:00Z","status":"triggered","title":"t"}}"#;
        let e: LogEntry = serde_json::from_str(full).unwrap();
        assert_eq!(e.full_incident().unwrap().title, "t");
    }

    #[test]
    fn an_embedded_incident_is_read_lazily_and_written_back_as_it_came() {
        let full = r#"{"id":"L1","type":"trigger_log_entry","created_at":"2026-01-01T00:00:00Z",
            "incident":{"id":"P1","type":"incident","created_at":"2026-01-01T00:00:00Z","status":"triggered",
            "title":"t","service":{"id":"S1","type":"service_reference"},"unknown":[1,{"x":null}]}}"#;
        let e: LogEntry = serde_json::from_str(full).unwrap();
        assert_eq!(e.incident.service_id.as_deref(), Some("S1"));
        let again: LogEntry = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(again.incident_id(), Some("P1"));
        assert_eq!(again.full_incident().unwrap().title, "t");
        assert_eq!(
            serde_json::to_value(&again).unwrap()["incident"]["unknown"],
            serde_json::json!([1, {"x": null}])
        );
        // Whatever is not an object with a text id names no incident, and
        // the entry is still read.
        for incident in [
            "null",
            "\"P1\"",
            r#"{"id":7}"#,
            r#"{"service":"S1","id":"P2"}"#,
        ] {
            let json = format!(
                r#"{{"id":"L2","type":"notify_log_entry","created_at":"2026-01-01T00:00:00Z","incident":{incident}}}"#
            );
            let e: LogEntry = serde_json::from_str(&json).unwrap();
            assert_eq!(
                e.incident_id().is_some(),
                incident.contains("P2"),
                "{incident}"
            );
            assert!(e.full_incident().is_none());
        }
    }

    #[test]
    fn a_note_is_read_from_its_field_or_its_note_channel() {
        let entry = |json: &str| serde_json::from_str::<LogEntry>(json).unwrap().note_text();
        let head = r#""id":"L1","created_at":"2026-01-01T00:00:00Z","incident":{"id":"P1"}"#;
        assert_eq!(
            entry(&format!(
                r#"{{{head},"type":"annotate_log_entry","note":"disk full","channel":{{"type":"note","summary":"other"}}}}"#
            )),
            Some("disk full".into())
        );
        assert_eq!(
            entry(&format!(
                r#"{{{head},"type":"annotate_log_entry","channel":{{"type":"note","summary":"disk full"}}}}"#
            )),
            Some("disk full".into())
        );
        // Another entry's channel summary is not a note.
        assert_eq!(
            entry(&format!(
                r#"{{{head},"type":"trigger_log_entry","channel":{{"type":"api","summary":"CPU high"}}}}"#
            )),
            None
        );
        assert_eq!(
            entry(&format!(
                r#"{{{head},"type":"annotate_log_entry","note":null}}"#
            )),
            None
        );
    }

    #[test]
    fn field_values_have_a_text_form() {
        let f = |v: serde_json::Value| {
            FieldValue {
                name: "f".into(),
                value: v,
                ..Default::default()
            }
            .value_text()
        };
        assert_eq!(f(serde_json::json!("ccoe")), Some("ccoe".into()));
        assert_eq!(f(serde_json::json!(["a", "b"])), Some("a, b".into()));
        assert_eq!(f(serde_json::json!(3)), Some("3".into()));
        assert_eq!(f(serde_json::Value::Null), None);
    }
}
