//! PagerDuty's responder metrics per incident and user
//! (`/analytics/metrics/responders/*`), derived from the same log as the
//! incident's facts. The REST log names who was notified, not who was
//! assigned: a user's first notification on an incident stands for their
//! assignment, and an escalation or a reassignment goes *from* the user
//! notified last before it *to* the first user notified after it.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};

use super::WindowOf;
use super::{FactEntry, FactIncident, secs};
use crate::tz::Window;

/// One user's part in one incident.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponderFacts {
    pub user_id: String,
    /// Their first notification: the trace of their assignment.
    pub first_notified_at: Option<DateTime<Utc>>,
    /// First notification → their first acknowledgement.
    pub seconds_to_first_ack: Option<i64>,
    pub acknowledgements: i64,
    pub notifications: i64,
    pub interruptions: i64,
    pub business_hour_interruptions: i64,
    pub off_hour_interruptions: i64,
    pub sleep_hour_interruptions: i64,
    pub manual_escalations_from: i64,
    pub timeout_escalations_from: i64,
    pub manual_escalations_to: i64,
    pub timeout_escalations_to: i64,
    pub reassignments_from: i64,
    pub reassignments_to: i64,
    /// Their first acknowledgement → resolve; null unless both happened.
    pub engaged_seconds: Option<i64>,
}

fn of<'m>(users: &'m mut BTreeMap<String, ResponderFacts>, u: &str) -> &'m mut ResponderFacts {
    users.entry(u.to_owned()).or_insert_with(|| ResponderFacts {
        user_id: u.to_owned(),
        ..ResponderFacts::default()
    })
}

impl ResponderFacts {
    pub(super) fn into_row(
        self,
        incident_id: &str,
    ) -> crate::entities::incident_responder_analytics::Model {
        crate::entities::incident_responder_analytics::Model {
            incident_id: incident_id.to_owned(),
            user_id: self.user_id,
            first_notified_at: self.first_notified_at,
            seconds_to_first_ack: self.seconds_to_first_ack,
            acknowledgements: self.acknowledgements,
            notifications: self.notifications,
            interruptions: self.interruptions,
            business_hour_interruptions: self.business_hour_interruptions,
            off_hour_interruptions: self.off_hour_interruptions,
            sleep_hour_interruptions: self.sleep_hour_interruptions,
            manual_escalations_from: self.manual_escalations_from,
            timeout_escalations_from: self.timeout_escalations_from,
            manual_escalations_to: self.manual_escalations_to,
            timeout_escalations_to: self.timeout_escalations_to,
            reassignments_from: self.reassignments_from,
            reassignments_to: self.reassignments_to,
            engaged_seconds: self.engaged_seconds,
        }
    }
}

#[derive(Clone, Copy)]
enum Handover {
    Manual,
    Timeout,
    Reassign,
}

/// Every user's part in an incident, by user id. `entries` in log order.
pub fn derive(
    inc: &FactIncident,
    entries: &[&FactEntry],
    window_of: WindowOf<'_>,
) -> Vec<ResponderFacts> {
    let mut users: BTreeMap<String, ResponderFacts> = BTreeMap::new();
    let mut first_ack: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut interrupted: HashSet<(&str, i64)> = HashSet::new();
    let mut current: Option<&str> = None;
    let mut pending: Option<Handover> = None;
    for e in entries {
        match e.kind.as_str() {
            "notify_log_entry" => {
                let Some(u) = e.user_id.as_deref() else {
                    continue;
                };
                let r = of(&mut users, u);
                r.notifications += 1;
                r.first_notified_at.get_or_insert(e.created_at);
                if interrupted.insert((u, e.created_at.timestamp())) {
                    r.interruptions += 1;
                    match window_of(u, e.created_at) {
                        Window::Business => r.business_hour_interruptions += 1,
                        Window::Off => r.off_hour_interruptions += 1,
                        Window::Sleep => r.sleep_hour_interruptions += 1,
                    }
                }
                if let Some(h) = pending.take()
                    && current != Some(u)
                {
                    match h {
                        Handover::Manual => r.manual_escalations_to += 1,
                        Handover::Timeout => r.timeout_escalations_to += 1,
                        Handover::Reassign => r.reassignments_to += 1,
                    }
                }
                current = Some(u);
            }
            "escalate_log_entry" | "assign_log_entry" => {
                let h = if e.kind == "assign_log_entry" {
                    Handover::Reassign
                } else if e.channel_type.as_deref() == Some("timeout") {
                    Handover::Timeout
                } else {
                    Handover::Manual
                };
                if let Some(from) = current {
                    let r = of(&mut users, from);
                    match h {
                        Handover::Manual => r.manual_escalations_from += 1,
                        Handover::Timeout => r.timeout_escalations_from += 1,
                        Handover::Reassign => r.reassignments_from += 1,
                    }
                }
                pending = Some(h);
            }
            "acknowledge_log_entry" => {
                if let Some(u) = e.by_user() {
                    let r = of(&mut users, u);
                    r.acknowledgements += 1;
                    first_ack.entry(u.to_owned()).or_insert(e.created_at);
                }
            }
            _ => {}
        }
    }
    users
        .into_values()
        .map(|mut r| {
            if let Some(ack) = first_ack.get(&r.user_id) {
                r.seconds_to_first_ack = r.first_notified_at.map(|n| secs(n, *ack).max(0));
                r.engaged_seconds = inc.resolved_at.map(|t| secs(*ack, t).max(0));
            }
            r
        })
        .collect()
}
