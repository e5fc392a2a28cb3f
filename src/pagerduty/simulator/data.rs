//! A deterministic PagerDuty organisation generated from a seed and sizes:
//! teams, users, schedules (some with members who no longer exist), escalation
//! policies, services, priorities, and incidents over a period with realistic
//! log entries (trigger, notify, escalate, reassign, acknowledge, resolve) and
//! custom fields. The same seed, sizes and `now` always give the same data.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::pagerduty::wire::*;

#[derive(Clone, Debug)]
pub struct Sizes {
    pub teams: usize,
    pub users: usize,
    pub schedules: usize,
    pub escalation_policies: usize,
    pub services: usize,
    pub incidents: usize,
    pub days: u32,
}

impl Default for Sizes {
    fn default() -> Self {
        Self {
            teams: 4,
            users: 24,
            schedules: 6,
            escalation_policies: 6,
            services: 10,
            incidents: 500,
            days: 30,
        }
    }
}

/// The organisation the simulator serves.
#[derive(Clone, Debug, Default)]
pub struct Org {
    pub priorities: Vec<Priority>,
    pub teams: Vec<Team>,
    pub members: HashMap<String, Vec<TeamMember>>,
    pub users: Vec<User>,
    pub schedules: Vec<Schedule>,
    pub escalation_policies: Vec<EscalationPolicy>,
    pub services: Vec<Service>,
    /// Sorted by `created_at`.
    pub incidents: Vec<Incident>,
    pub incident_index: HashMap<String, usize>,
    /// Sorted by `created_at`; `incident` holds a reference.
    pub log_entries: Vec<LogEntry>,
    /// The values generated for each incident; it shows them while its type
    /// has fields (see `fields`).
    pub custom_fields: HashMap<String, Vec<FieldValue>>,
    /// Which custom fields are defined.
    pub field_setup: super::fields::FieldSetup,
    pub next_log_id: u64,
    pub next_incident_number: i64,
}

const FIRST: &[&str] = &[
    "Ada", "Bo", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena", "Mo",
    "Nia", "Omar", "Pia", "Quinn", "Ravi", "Sara", "Tom", "Uma", "Vik", "Wen", "Yara",
];
const LAST: &[&str] = &[
    "Smith", "Okafor", "Ng", "Garcia", "Müller", "Rossi", "Kim", "Novak", "Silva", "Haddad",
];
const SERVICES: &[&str] = &[
    "API gateway",
    "Checkout",
    "Payments",
    "Search",
    "Ledger",
    "Identity",
    "Notifications",
    "Data pipeline",
    "Billing",
    "Web frontend",
    "Mobile backend",
    "Inventory",
];
const TEAMS: &[&str] = &[
    "Platform", "Payments", "Data", "Identity", "Web", "Mobile", "SRE", "Storage",
];
const PROBLEMS: &[&str] = &[
    "High latency",
    "Error rate above 5%",
    "Disk almost full",
    "Pod crash looping",
    "Certificate expiring",
    "Queue backlog growing",
    "Database connections exhausted",
    "Health check failing",
];

pub fn id(prefix: char, n: usize) -> String {
    format!("P{prefix}{n:05X}")
}

fn reference(id: &str, kind: &str, summary: &str) -> Reference {
    Reference::new(id, kind, summary)
}

impl Org {
    pub fn user_ref(&self, user_id: &str) -> Reference {
        let name = self
            .users
            .iter()
            .find(|u| u.id == user_id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| user_id.to_owned());
        reference(user_id, "user_reference", &name)
    }

    pub fn incident(&self, id: &str) -> Option<&Incident> {
        self.incident_index.get(id).map(|i| &self.incidents[*i])
    }

    fn new_log_id(&mut self) -> String {
        self.next_log_id += 1;
        format!("Q{:013X}", self.next_log_id)
    }

    /// Appends a log entry for an incident (kept sorted by time).
    pub fn push_log(
        &mut self,
        incident: &Incident,
        kind: &str,
        at: DateTime<Utc>,
        agent: Option<Reference>,
        channel: &str,
        user: Option<Reference>,
    ) {
        let entry = LogEntry {
            id: self.new_log_id(),
            kind: kind.to_owned(),
            created_at: at,
            summary: Some(summary(kind, agent.as_ref())),
            agent,
            channel: Some(Channel {
                kind: Some(channel.to_owned()),
                summary: None,
            }),
            note: None,
            user,
            incident: crate::pagerduty::wire::EmbeddedIncident::from_value(
                &json!({"id": incident.id, "type": "incident_reference", "summary": format!("[#{}] {}", incident.incident_number.unwrap_or(0), incident.title)}),
            ),
            service: incident.service.clone(),
        };
        let pos = self.log_entries.partition_point(|e| e.created_at <= at);
        self.log_entries.insert(pos, entry);
    }

    pub fn reindex(&mut self) {
        self.incidents
            .sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        self.incident_index = self
            .incidents
            .iter()
            .enumerate()
            .map(|(i, x)| (x.id.clone(), i))
            .collect();
    }
}

fn summary(kind: &str, agent: Option<&Reference>) -> String {
    let who = agent
        .and_then(|a| a.summary.clone())
        .unwrap_or_else(|| "PagerDuty".into());
    match kind {
        "trigger_log_entry" => format!("Triggered through the API by {who}"),
        "acknowledge_log_entry" => format!("Acknowledged by {who}"),
        "resolve_log_entry" => format!("Resolved by {who}"),
        "escalate_log_entry" => "Escalated to the next level".into(),
        "assign_log_entry" => format!("Reassigned by {who}"),
        "notify_log_entry" => "Notification sent".into(),
        _ => kind.replace('_', " "),
    }
}

fn exp(rng: &mut StdRng, mean_secs: f64) -> Duration {
    let u: f64 = rng.random_range(0.0001..1.0);
    Duration::seconds((-u.ln() * mean_secs).clamp(1.0, mean_secs * 20.0) as i64)
}

/// Generates the organisation.
pub fn generate(seed: u64, sizes: &Sizes, now: DateTime<Utc>) -> Org {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut org = Org {
        priorities: (1..=5)
            .map(|i| Priority {
                id: id('R', i),
                name: format!("P{i}"),
                description: Some(format!("Severity {i}")),
            })
            .collect(),
        ..Org::default()
    };
    org.teams = (0..sizes.teams.max(1))
        .map(|i| Team {
            id: id('T', i),
            name: format!(
                "{}{}",
                TEAMS[i % TEAMS.len()],
                if i >= TEAMS.len() {
                    format!(" {}", i / TEAMS.len() + 1)
                } else {
                    String::new()
                }
            ),
            description: Some("Generated by the pagerlens simulator".into()),
            html_url: None,
        })
        .collect();
    org.users = (0..sizes.users.max(2))
        .map(|i| {
            let name = format!(
                "{} {}",
                FIRST[i % FIRST.len()],
                LAST[(i / FIRST.len() + i) % LAST.len()]
            );
            User {
                id: id('U', i),
                email: Some(format!(
                    "{}.{}@example.com",
                    FIRST[i % FIRST.len()].to_lowercase(),
                    i
                )),
                name,
                time_zone: Some(
                    ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"][i % 4].into(),
                ),
                role: Some(
                    if i == 0 {
                        "owner"
                    } else if i % 7 == 0 {
                        "observer"
                    } else {
                        "user"
                    }
                    .into(),
                ),
                job_title: Some("Engineer".into()),
                invitation_sent: i % 11 == 10,
                html_url: None,
                teams: vec![],
            }
        })
        .collect();
    let nteams = org.teams.len();
    let nusers = org.users.len();
    for (i, u) in org.users.iter_mut().enumerate() {
        let t = &org.teams[i % nteams];
        u.teams = vec![reference(&t.id, "team_reference", &t.name)];
    }
    for (i, u) in org.users.iter().enumerate() {
        let t = &org.teams[i % nteams];
        let role = if i < nteams { "manager" } else { "responder" };
        org.members
            .entry(t.id.clone())
            .or_default()
            .push(TeamMember {
                user: reference(&u.id, "user_reference", &u.name),
                role: Some(role.into()),
            });
    }
    // Schedules: 3 members each; every third also lists a user who no longer
    // exists in the account (an inactive member).
    org.schedules = (0..sizes.schedules.max(1))
        .map(|i| {
            let mut users: Vec<Reference> = (0..3)
                .map(|k| {
                    let u = &org.users[(i * 3 + k) % nusers];
                    reference(&u.id, "user_reference", &u.name)
                })
                .collect();
            if i % 3 == 2 {
                users.push(reference(&id('X', i), "user_reference", "Former Employee"));
            }
            Schedule {
                id: id('S', i),
                name: format!("{} primary", org.teams[i % nteams].name),
                description: None,
                time_zone: Some("UTC".into()),
                html_url: None,
                schedule_layers: vec![ScheduleLayer {
                    id: Some(format!("L{i}")),
                    name: Some("Layer 1".into()),
                    users: users
                        .iter()
                        .cloned()
                        .map(|user| ScheduleLayerUser { user: Some(user) })
                        .collect(),
                }],
                users,
            }
        })
        .collect();
    let nsched = org.schedules.len();
    org.escalation_policies = (0..sizes.escalation_policies.max(1))
        .map(|i| {
            let s = &org.schedules[i % nsched];
            let u = &org.users[(i * 5 + 1) % nusers];
            let t = &org.teams[i % nteams];
            EscalationPolicy {
                id: id('E', i),
                name: format!("{} escalation", t.name),
                description: None,
                num_loops: (i % 3) as i64,
                html_url: None,
                escalation_rules: vec![
                    EscalationRule {
                        id: Some(format!("R{i:05X}A")),
                        escalation_delay_in_minutes: 30,
                        targets: vec![reference(&s.id, "schedule_reference", &s.name)],
                    },
                    EscalationRule {
                        id: Some(format!("R{i:05X}B")),
                        escalation_delay_in_minutes: 15,
                        targets: vec![reference(&u.id, "user_reference", &u.name)],
                    },
                ],
                services: vec![],
                teams: vec![reference(&t.id, "team_reference", &t.name)],
            }
        })
        .collect();
    let neps = org.escalation_policies.len();
    org.services = (0..sizes.services.max(1))
        .map(|i| {
            let ep = &org.escalation_policies[i % neps];
            let mut teams = vec![reference(
                &org.teams[i % nteams].id,
                "team_reference",
                &org.teams[i % nteams].name,
            )];
            if i % 4 == 3 && nteams > 1 {
                let t = &org.teams[(i + 1) % nteams];
                teams.push(reference(&t.id, "team_reference", &t.name));
            }
            Service {
                id: id('V', i),
                name: format!(
                    "{}{}",
                    SERVICES[i % SERVICES.len()],
                    if i >= SERVICES.len() {
                        format!(" {}", i / SERVICES.len() + 1)
                    } else {
                        String::new()
                    }
                ),
                description: None,
                status: Some("active".into()),
                created_at: Some(now - Duration::days(400)),
                html_url: None,
                escalation_policy: Some(reference(&ep.id, "escalation_policy_reference", &ep.name)),
                teams,
            }
        })
        .collect();
    for s in org.services.clone() {
        let ep_id = s.escalation_policy.as_ref().unwrap().id.clone();
        let ep = org
            .escalation_policies
            .iter_mut()
            .find(|e| e.id == ep_id)
            .unwrap();
        ep.services
            .push(reference(&s.id, "service_reference", &s.name));
    }

    let start = now - Duration::days(i64::from(sizes.days.max(1)));
    let span = (now - start).num_seconds().max(1);
    let mut times: Vec<i64> = (0..sizes.incidents)
        .map(|_| rng.random_range(0..span))
        .collect();
    times.sort_unstable();
    for (n, offset) in times.into_iter().enumerate() {
        let created = start + Duration::seconds(offset);
        let service = org.services[rng.random_range(0..org.services.len())].clone();
        let title = format!(
            "{} on {}",
            PROBLEMS[rng.random_range(0..PROBLEMS.len())],
            service.name
        );
        let priority = (rng.random::<f64>() < 0.8).then(|| {
            let p = &org.priorities[rng.random_range(0..org.priorities.len())];
            reference(&p.id, "priority_reference", &p.name)
        });
        let incident = Incident {
            id: id('I', n),
            incident_number: Some(n as i64 + 1),
            title,
            description: None,
            created_at: created,
            updated_at: Some(created),
            status: "triggered".into(),
            urgency: Some(
                if rng.random::<f64>() < 0.7 {
                    "high"
                } else {
                    "low"
                }
                .into(),
            ),
            incident_key: Some(format!("key-{n}")),
            html_url: None,
            service: Some(reference(&service.id, "service_reference", &service.name)),
            escalation_policy: service.escalation_policy.clone(),
            priority,
            assignments: vec![],
            last_status_change_at: Some(created),
            resolved_at: None,
            incident_type: Some(super::fields::type_for(n as i64 + 1)),
        };
        org.incidents.push(incident.clone());
        // Indexed as it is pushed (events below find it by id); `reindex`
        // sorts and rebuilds the index at the end.
        org.incident_index
            .insert(incident.id.clone(), org.incidents.len() - 1);
        // The lifecycle, clipped at `now`.
        let ep_id = service.escalation_policy.as_ref().unwrap().id.clone();
        let ep = org
            .escalation_policies
            .iter()
            .find(|e| e.id == ep_id)
            .unwrap()
            .clone();
        let sched_id = ep.escalation_rules[0].targets[0].id.clone();
        let sched = org
            .schedules
            .iter()
            .find(|s| s.id == sched_id)
            .unwrap()
            .clone();
        let first = sched.users[rng.random_range(0..3)].id.clone();
        let second = ep.escalation_rules[1].targets[0].id.clone();
        let mut events: Vec<(DateTime<Utc>, &str, Option<String>)> = vec![
            (created, "trigger_log_entry", None),
            (
                created + Duration::seconds(1),
                "notify_log_entry",
                Some(first.clone()),
            ),
        ];
        let mut t = created;
        let mut responder = first.clone();
        if rng.random::<f64>() < 0.3 {
            t += Duration::minutes(30);
            events.push((t, "escalate_log_entry", None));
            events.push((
                t + Duration::seconds(1),
                "notify_log_entry",
                Some(second.clone()),
            ));
            responder = second.clone();
        }
        if rng.random::<f64>() < 0.08 {
            t += exp(&mut rng, 300.0);
            let other = org.users[rng.random_range(0..nusers)].id.clone();
            events.push((t, "assign_log_entry", Some(other.clone())));
            responder = other;
        }
        let acked = rng.random::<f64>() < 0.85;
        if acked {
            t += exp(&mut rng, 600.0);
            events.push((t, "acknowledge_log_entry", Some(responder.clone())));
        }
        if rng.random::<f64>() < 0.92 {
            t += exp(&mut rng, 3600.0);
            events.push((
                t,
                "resolve_log_entry",
                if acked || rng.random::<f64>() < 0.5 {
                    Some(responder.clone())
                } else {
                    None
                },
            ));
        }
        let mut fields = vec![
            FieldValue {
                id: Some("F1".into()),
                name: "resolution".into(),
                display_name: Some("Resolution".into()),
                data_type: Some("string".into()),
                value: match rng.random_range(0..4) {
                    0 => json!("ccoe"),
                    1 => json!("vendor"),
                    2 => json!("app_team"),
                    _ => serde_json::Value::Null,
                },
            },
            FieldValue {
                id: Some("F2".into()),
                name: "prelim_root_cause".into(),
                display_name: Some("Preliminary root cause".into()),
                data_type: Some("string".into()),
                value: match rng.random_range(0..3) {
                    0 => json!("network"),
                    1 => json!("disk"),
                    _ => serde_json::Value::Null,
                },
            },
        ];
        if rng.random::<f64>() < 0.5 {
            fields.push(FieldValue {
                id: Some("F3".into()),
                name: "impacted_regions".into(),
                display_name: Some("Impacted regions".into()),
                data_type: Some("string".into()),
                value: json!(["eu-west-1", "us-east-1"]),
            });
        }
        org.custom_fields.insert(incident.id.clone(), fields);
        org.next_incident_number = n as i64 + 2;
        for (at, kind, who) in events {
            if at > now {
                break;
            }
            apply_event(&mut org, &incident.id, kind, at, who.as_deref());
        }
    }
    org.reindex();
    org
}

/// Applies a lifecycle event: a log entry plus the incident's new state.
pub fn apply_event(
    org: &mut Org,
    incident_id: &str,
    kind: &str,
    at: DateTime<Utc>,
    who: Option<&str>,
) {
    let idx = match org.incident_index.get(incident_id) {
        Some(i) => *i,
        None => org
            .incidents
            .iter()
            .position(|i| i.id == incident_id)
            .expect("incident exists"),
    };
    let who_ref = who.map(|w| org.user_ref(w));
    let service_ref = org.incidents[idx].service.clone();
    let (agent, channel, user) = match kind {
        "trigger_log_entry" => (
            service_ref.map(|s| Reference {
                kind: "service_reference".into(),
                ..s
            }),
            "api",
            None,
        ),
        "notify_log_entry" => (None, "auto", who_ref.clone()),
        "escalate_log_entry" => (None, "timeout", None),
        "resolve_log_entry" if who_ref.is_none() => (
            service_ref.map(|s| Reference {
                kind: "service_reference".into(),
                ..s
            }),
            "api",
            None,
        ),
        _ => (who_ref.clone(), "website", None),
    };
    {
        let inc = &mut org.incidents[idx];
        match kind {
            "acknowledge_log_entry" => {
                inc.status = "acknowledged".into();
                inc.last_status_change_at = Some(at);
            }
            "resolve_log_entry" => {
                inc.status = "resolved".into();
                inc.resolved_at = Some(at);
                inc.last_status_change_at = Some(at);
                inc.assignments.clear();
            }
            "trigger_log_entry" | "notify_log_entry" | "escalate_log_entry"
            | "assign_log_entry" => {
                if let Some(w) = &who_ref
                    && inc.status != "resolved"
                {
                    inc.assignments = vec![Assignment {
                        at: Some(at),
                        assignee: w.clone(),
                    }];
                }
            }
            _ => {}
        }
        inc.updated_at = Some(at);
    }
    let snapshot = org.incidents[idx].clone();
    org.push_log(&snapshot, kind, at, agent, channel, user);
}
