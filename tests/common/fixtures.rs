//! A small, fixed PagerDuty catalogue and generated incidents for tests.
//!
//! Teams: PT1 Platform, PT2 Payments, PT3 Data.
//! Users: PU1 Alice (PT1 manager), PU2 Bob (PT1), PU3 Carol (PT2), PU4 Dan (PT2, PT3), PU5 Erin (no team).
//! Schedules: PS1 Platform primary (Alice, Bob), PS2 Payments primary (Carol, Dan).
//! Escalation policies: PE1 Platform EP (PT1): level 1 PS1, level 2 Erin;
//!                      PE2 Payments EP (PT2): level 1 PS2, level 2 Alice.
//! Services: PS_API API gateway (PE1, PT1), PS_CHK Checkout (PE2, PT2),
//!           PS_LDG Ledger (PE2, PT2 + PT3), PS_OLD Legacy batch (PE1, PT1, deleted).
//! Priorities: PR1 P1, PR2 P2, PR3 P3.

#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use pagerlens::entities::*;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

pub async fn seed_catalog(db: &DatabaseConnection) {
    let n = now();
    priority::Entity::insert_many((0..3).map(|i| priority::ActiveModel {
        id: Set(format!("PR{}", i + 1)),
        name: Set(format!("P{}", i + 1)),
        description: Set(Some(format!("Priority {}", i + 1))),
        position: Set(i),
        deleted_at: Set(None),
        created_at: Set(n),
        updated_at: Set(n),
    }))
    .exec(db)
    .await
    .unwrap();

    let teams = [("PT1", "Platform"), ("PT2", "Payments"), ("PT3", "Data")];
    team::Entity::insert_many(teams.iter().map(|(id, name)| team::ActiveModel {
        id: Set(id.to_string()),
        name: Set(name.to_string()),
        description: Set(Some(format!("The {name} team"))),
        html_url: Set(None),
        deleted_at: Set(None),
        created_at: Set(n),
        updated_at: Set(n),
    }))
    .exec(db)
    .await
    .unwrap();

    let users = [
        ("PU1", "Alice"),
        ("PU2", "Bob"),
        ("PU3", "Carol"),
        ("PU4", "Dan"),
        ("PU5", "Erin"),
    ];
    user::Entity::insert_many(users.iter().map(|(id, name)| user::ActiveModel {
        id: Set(id.to_string()),
        name: Set(name.to_string()),
        email: Set(Some(format!("{}@example.com", name.to_lowercase()))),
        time_zone: Set(Some("Europe/Berlin".into())),
        role: Set(Some("user".into())),
        job_title: Set(None),
        invitation_sent: Set(false),
        html_url: Set(None),
        deleted_at: Set(None),
        created_at: Set(n),
        updated_at: Set(n),
    }))
    .exec(db)
    .await
    .unwrap();

    let members = [
        ("PT1", "PU1", "manager"),
        ("PT1", "PU2", "responder"),
        ("PT2", "PU3", "responder"),
        ("PT2", "PU4", "responder"),
        ("PT3", "PU4", "observer"),
    ];
    team_member::Entity::insert_many(members.iter().map(|(t, u, r)| team_member::ActiveModel {
        team_id: Set(t.to_string()),
        user_id: Set(u.to_string()),
        role: Set(Some(r.to_string())),
        created_at: Set(n),
        updated_at: Set(n),
    }))
    .exec(db)
    .await
    .unwrap();

    let schedules = [("PS1", "Platform primary"), ("PS2", "Payments primary")];
    schedule::Entity::insert_many(schedules.iter().map(|(id, name)| schedule::ActiveModel {
        id: Set(id.to_string()),
        name: Set(name.to_string()),
        description: Set(None),
        time_zone: Set(Some("Europe/Berlin".into())),
        html_url: Set(None),
        deleted_at: Set(None),
        created_at: Set(n),
        updated_at: Set(n),
    }))
    .exec(db)
    .await
    .unwrap();
    let su = [
        ("PS1", "PU1"),
        ("PS1", "PU2"),
        ("PS2", "PU3"),
        ("PS2", "PU4"),
    ];
    schedule_user::Entity::insert_many(su.iter().map(|(s, u)| schedule_user::ActiveModel {
        schedule_id: Set(s.to_string()),
        user_id: Set(u.to_string()),
        created_at: Set(n),
        updated_at: Set(n),
    }))
    .exec(db)
    .await
    .unwrap();

    let eps = [("PE1", "Platform EP"), ("PE2", "Payments EP")];
    escalation_policy::Entity::insert_many(eps.iter().map(|(id, name)| {
        escalation_policy::ActiveModel {
            id: Set(id.to_string()),
            name: Set(name.to_string()),
            description: Set(None),
            num_loops: Set(1),
            html_url: Set(None),
            deleted_at: Set(None),
            created_at: Set(n),
            updated_at: Set(n),
        }
    }))
    .exec(db)
    .await
    .unwrap();
    let rules = [
        ("PR_E1_1", "PE1", 0),
        ("PR_E1_2", "PE1", 1),
        ("PR_E2_1", "PE2", 0),
        ("PR_E2_2", "PE2", 1),
    ];
    escalation_rule::Entity::insert_many(rules.iter().map(|(id, ep, pos)| {
        escalation_rule::ActiveModel {
            id: Set(id.to_string()),
            escalation_policy_id: Set(ep.to_string()),
            position: Set(*pos),
            escalation_delay_in_minutes: Set(30),
            created_at: Set(n),
            updated_at: Set(n),
        }
    }))
    .exec(db)
    .await
    .unwrap();
    let targets = [
        ("PR_E1_1", "schedule", "PS1"),
        ("PR_E1_2", "user", "PU5"),
        ("PR_E2_1", "schedule", "PS2"),
        ("PR_E2_2", "user", "PU1"),
    ];
    escalation_rule_target::Entity::insert_many(targets.iter().map(|(r, t, id)| {
        escalation_rule_target::ActiveModel {
            rule_id: Set(r.to_string()),
            target_type: Set(t.to_string()),
            target_id: Set(id.to_string()),
            position: Set(0),
            created_at: Set(n),
            updated_at: Set(n),
        }
    }))
    .exec(db)
    .await
    .unwrap();
    let ep_teams = [("PE1", "PT1"), ("PE2", "PT2")];
    escalation_policy_team::Entity::insert_many(ep_teams.iter().map(|(e, t)| {
        escalation_policy_team::ActiveModel {
            escalation_policy_id: Set(e.to_string()),
            team_id: Set(t.to_string()),
            created_at: Set(n),
            updated_at: Set(n),
        }
    }))
    .exec(db)
    .await
    .unwrap();

    let services = [
        ("PS_API", "API gateway", "PE1", false),
        ("PS_CHK", "Checkout", "PE2", false),
        ("PS_LDG", "Ledger", "PE2", false),
        ("PS_OLD", "Legacy batch", "PE1", true),
    ];
    service::Entity::insert_many(services.iter().map(|(id, name, ep, deleted)| {
        service::ActiveModel {
            id: Set(id.to_string()),
            name: Set(name.to_string()),
            description: Set(None),
            status: Set("active".into()),
            escalation_policy_id: Set(Some(ep.to_string())),
            html_url: Set(Some(format!(
                "https://example.pagerduty.com/service-directory/{id}"
            ))),
            pd_created_at: Set(Some(t0() - Duration::days(365))),
            deleted_at: Set(deleted.then(now)),
            created_at: Set(n),
            updated_at: Set(n),
        }
    }))
    .exec(db)
    .await
    .unwrap();
    let st = [
        ("PS_API", "PT1"),
        ("PS_CHK", "PT2"),
        ("PS_LDG", "PT2"),
        ("PS_LDG", "PT3"),
        ("PS_OLD", "PT1"),
    ];
    service_team::Entity::insert_many(st.iter().map(|(s, t)| service_team::ActiveModel {
        service_id: Set(s.to_string()),
        team_id: Set(t.to_string()),
        created_at: Set(n),
        updated_at: Set(n),
    }))
    .exec(db)
    .await
    .unwrap();
    let eps_services = [
        ("PE1", "PS_API"),
        ("PE2", "PS_CHK"),
        ("PE2", "PS_LDG"),
        ("PE1", "PS_OLD"),
    ];
    escalation_policy_service::Entity::insert_many(eps_services.iter().map(|(e, s)| {
        escalation_policy_service::ActiveModel {
            escalation_policy_id: Set(e.to_string()),
            service_id: Set(s.to_string()),
            created_at: Set(n),
            updated_at: Set(n),
        }
    }))
    .exec(db)
    .await
    .unwrap();
}

/// The service, status and urgency of generated incident `k`.
pub fn incident_shape(k: usize) -> (&'static str, &'static str, &'static str) {
    let service = ["PS_API", "PS_CHK", "PS_LDG"][k % 3];
    let status = ["triggered", "acknowledged", "resolved", "resolved"][k % 4];
    let urgency = if k % 2 == 0 { "high" } else { "low" };
    (service, status, urgency)
}

/// Inserts `count` incidents `PI0000…`, one an hour from [`t0`], each with
/// three log entries and one custom field value. Titles contain the words
/// "disk" (k % 5 == 0) or "latency".
pub async fn seed_incidents(db: &DatabaseConnection, count: usize) {
    let n = now();
    let mut incidents = Vec::new();
    let mut entries = Vec::new();
    let mut fields = Vec::new();
    let mut assignees = Vec::new();
    for k in 0..count {
        let id = format!("PI{k:04}");
        let (service, status, urgency) = incident_shape(k);
        let created = t0() + Duration::hours(k as i64);
        let acked = (status != "triggered").then(|| created + Duration::minutes(5));
        let resolved = (status == "resolved").then(|| created + Duration::minutes(60));
        incidents.push(incident::ActiveModel {
            id: Set(id.clone()),
            incident_number: Set(Some(1000 + k as i64)),
            title: Set(if k % 5 == 0 {
                format!("Disk full on host-{k}")
            } else {
                format!("High latency on endpoint {k}")
            }),
            description: Set(None),
            status: Set(status.into()),
            urgency: Set(urgency.into()),
            priority_id: Set(Some(format!("PR{}", k % 3 + 1))),
            service_id: Set(Some(service.into())),
            escalation_policy_id: Set(Some(if service == "PS_API" { "PE1" } else { "PE2" }.into())),
            incident_key: Set(Some(format!("key-{k}"))),
            html_url: Set(None),
            source: Set("pagerduty".into()),
            pd_updated_at: Set(Some(created)),
            last_status_change_at: Set(Some(resolved.or(acked).unwrap_or(created))),
            acknowledged_at: Set(acked),
            acknowledged_by_user_id: Set(acked.map(|_| "PU1".to_owned())),
            resolved_at: Set(resolved),
            resolved_by_user_id: Set(resolved.map(|_| "PU2".to_owned())),
            escalation_count: Set((k % 3) as i32),
            incident_type: Set(None),
            custom_fields_fetched: Set(true),
            deleted_at: Set(None),
            created_at: Set(created),
            updated_at: Set(n),
        });
        for (j, (kind, at)) in [
            ("trigger_log_entry", Some(created)),
            ("acknowledge_log_entry", acked),
            ("resolve_log_entry", resolved),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(at) = at {
                entries.push(incident_log_entry::ActiveModel {
                    id: Set(format!("L{k:04}{j}")),
                    incident_id: Set(id.clone()),
                    kind: Set(kind.into()),
                    summary: Set(Some(format!("{kind} for {id}"))),
                    agent_type: Set(Some("user_reference".into())),
                    agent_id: Set(Some("PU1".into())),
                    channel_type: Set(Some("website".into())),
                    user_id: Set(None),
                    note: Set(None),
                    created_at: Set(at),
                    updated_at: Set(n),
                });
            }
        }
        fields.push(incident_custom_field_value::ActiveModel {
            incident_id: Set(id.clone()),
            name: Set("resolution".into()),
            display_name: Set(Some("Resolution".into())),
            data_type: Set(Some("string".into())),
            value: Set(Some(serde_json::json!(if k % 2 == 0 {
                "ccoe"
            } else {
                "vendor"
            }))),
            value_text: Set(Some(if k % 2 == 0 { "ccoe" } else { "vendor" }.into())),
            created_at: Set(n),
            updated_at: Set(n),
        });
        if status != "resolved" {
            assignees.push(incident_assignee::ActiveModel {
                incident_id: Set(id.clone()),
                user_id: Set("PU3".into()),
                created_at: Set(n),
                updated_at: Set(n),
            });
        }
    }
    for chunk in incidents.chunks(200) {
        incident::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await
            .unwrap();
    }
    for chunk in entries.chunks(200) {
        incident_log_entry::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await
            .unwrap();
    }
    for chunk in fields.chunks(200) {
        incident_custom_field_value::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await
            .unwrap();
    }
    for chunk in assignees.chunks(200) {
        if !chunk.is_empty() {
            incident_assignee::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await
                .unwrap();
        }
    }
}

/// A pending "SLA breached" notification for `incident`, due now.
pub async fn pending_breach_notification(
    db: &DatabaseConnection,
    incident: &str,
) -> notification::Model {
    use sea_orm::ActiveModelTrait;
    let now = Utc::now();
    notification::ActiveModel {
        kind: Set("sla_breached".into()),
        incident_id: Set(Some(incident.into())),
        payload: Set(
            serde_json::json!({"kind": "sla_breached", "incident_id": incident,
            "target": "response", "policy": "critical", "deadline": now})
            .to_string(),
        ),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

/// Makes a report schedule `age` old, so its latest ticks are due.
pub async fn age_report_schedule(db: &DatabaseConnection, id: i32, age: Duration) {
    use sea_orm::ActiveModelTrait;
    let mut m: report_schedule::ActiveModel = report_schedule::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into();
    m.created_at = Set(Utc::now() - age);
    m.update(db).await.unwrap();
}
