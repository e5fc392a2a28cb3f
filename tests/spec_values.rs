//! Values as wide as PagerDuty's OpenAPI document allows, end to end: read
//! from the simulator's answers, stored, and served back over GraphQL, on
//! both databases.

use pagerlens::entities::{escalation_policy, escalation_rule, oncall_entry};
use pagerlens::pagerduty::simulator::Faults;
use pagerlens::pagerduty::sync::{self, SyncKind, SyncOptions};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::on_both_databases;
use crate::sync::{client, start_sim};

/// Beyond 32 bits, and the largest the spec's `integer` allows.
const WIDE: i64 = 3_000_000_000;

async fn integers_beyond_32_bits_are_kept_not_skipped(app: TestApp) {
    let now = chrono::Utc::now() - chrono::Duration::minutes(1);
    let sim = start_sim(Faults::default(), now).await;
    let (first, last) = {
        let mut org = sim.sim.org.write().await;
        let n = org.escalation_policies.len();
        let first = &mut org.escalation_policies[0];
        first.num_loops = WIDE;
        first.escalation_rules[0].escalation_delay_in_minutes = WIDE;
        // A rule without an id (the spec does not require one) is left
        // out; its policy is not.
        first.escalation_rules[1].id = None;
        let first_id = first.id.clone();
        let last = &mut org.escalation_policies[n - 1];
        last.num_loops = i64::MAX;
        (first_id, last.id.clone())
    };
    let opts = SyncOptions::new(SyncKind::Full { days: 5 }, "test");
    let report = sync::run(&app.db, &client(&sim, 3), &opts).await.unwrap();
    assert!(
        !report.skipped_ids.contains(&first) && !report.skipped_ids.contains(&last),
        "{:?}",
        report.skipped_ids
    );
    let stored = escalation_policy::Entity::find_by_id(first.clone())
        .one(&app.db)
        .await
        .unwrap()
        .expect("the policy is stored");
    assert_eq!(stored.num_loops, WIDE);
    let widest = escalation_policy::Entity::find_by_id(last.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(widest.num_loops, i64::MAX);
    let rules = escalation_rule::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.escalation_policy_id == first)
        .collect::<Vec<_>>();
    assert_eq!(
        rules.len(),
        1,
        "the rule without an id is left out: {rules:?}"
    );
    assert_eq!(rules[0].escalation_delay_in_minutes, WIDE);

    // GraphQL sends them as they are.
    let data = app
        .data(
            "query($id: ID!) { escalationPolicy(id: $id) { numLoops rules { escalationDelayInMinutes } } }",
            json!({"id": first}),
        )
        .await;
    assert_eq!(
        data["escalationPolicy"],
        json!({"numLoops": WIDE, "rules": [{"escalationDelayInMinutes": WIDE}]})
    );

    // An on-call entry's escalation level is as wide.
    let t = chrono::Utc::now();
    oncall_entry::ActiveModel {
        id: Set("wide".into()),
        escalation_policy_id: Set(Some(first.clone())),
        escalation_level: Set(WIDE),
        schedule_id: Set(None),
        user_id: Set(rules_user(&app).await),
        start_at: Set(None),
        end_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let back = oncall_entry::Entity::find_by_id("wide".to_owned())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.escalation_level, WIDE);
}

/// Any synced user, for an on-call entry.
async fn rules_user(app: &TestApp) -> String {
    pagerlens::entities::user::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

on_both_databases!(integers_beyond_32_bits_are_kept_not_skipped);

/// Reads every item of a list answer through `T`, as the sync does.
fn read_all<T: serde::de::DeserializeOwned>(
    answer: &serde_json::Value,
    wrapper: &str,
) -> (usize, Vec<String>) {
    let items: Vec<Box<serde_json::value::RawValue>> = answer[wrapper]
        .as_array()
        .unwrap_or_else(|| panic!("no {wrapper} in {answer}"))
        .iter()
        .map(|v| serde_json::value::to_raw_value(v).unwrap())
        .collect();
    let (read, skipped): (Vec<T>, _) = pagerlens::pagerduty::client::decode_items(wrapper, items);
    (read.len(), skipped)
}

/// The OpenAPI document's own example answers (extracted by
/// `scripts/openapi-subset.py`) read through the wire models without
/// skipping an object.
#[test]
fn the_spec_examples_read_through_the_wire_models() {
    use pagerlens::pagerduty::wire::*;
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/pagerduty-openapi-examples.json")).unwrap();
    let mut read = 0;
    for (path, examples) in fixture["examples"].as_object().unwrap() {
        for answer in examples.as_array().unwrap() {
            let (n, skipped) = match path.as_str() {
                "/priorities" => read_all::<Priority>(answer, "priorities"),
                "/teams" => read_all::<Team>(answer, "teams"),
                "/teams/{id}/members" => read_all::<TeamMember>(answer, "members"),
                "/users" => read_all::<User>(answer, "users"),
                "/services" => read_all::<Service>(answer, "services"),
                "/escalation_policies" => {
                    read_all::<EscalationPolicy>(answer, "escalation_policies")
                }
                "/schedules" => read_all::<Schedule>(answer, "schedules"),
                "/oncalls" => read_all::<Oncall>(answer, "oncalls"),
                "/incidents" => read_all::<Incident>(answer, "incidents"),
                "/incidents/{id}" => {
                    let wrapped = json!({"incidents": [answer["incident"]]});
                    read_all::<Incident>(&wrapped, "incidents")
                }
                "/log_entries" | "/incidents/{id}/log_entries" => {
                    read_all::<LogEntry>(answer, "log_entries")
                }
                "/incidents/{id}/custom_fields/values" => {
                    read_all::<FieldValue>(answer, "custom_fields")
                }
                "/incidents/custom_fields" | "/incidents/types/{type_id_or_name}/custom_fields" => {
                    read_all::<FieldDefinition>(answer, "fields")
                }
                "/incidents/types" => read_all::<IncidentType>(answer, "incident_types"),
                // The drift check reads raw rows as JSON: their id and times.
                "/analytics/raw/incidents" | "/analytics/raw/incidents/{id}" => {
                    let rows: Vec<Value> = match &answer["data"] {
                        Value::Array(a) => a.clone(),
                        one => vec![one.clone()],
                    };
                    let skipped: Vec<String> = rows
                        .iter()
                        .filter_map(|r| pagerlens::analytics::drift::read_row(r).err())
                        .map(|e| e.to_string())
                        .collect();
                    (rows.len() - skipped.len(), skipped)
                }
                // Aggregates pagerlens computes itself; the simulator's are
                // checked against their schemas in tests/simulator.rs.
                p if p.starts_with("/analytics/metrics/") => continue,
                other => panic!("no wire model for the examples of {other}"),
            };
            assert!(skipped.is_empty(), "{path}: skipped {skipped:?}");
            assert!(n > 0, "{path}: an example with items");
            read += n;
        }
    }
    assert!(read >= 20, "{read} objects read");
}

/// Edge values the spec allows: 64-bit integers, absent and null optional
/// fields, and the fields it does not require left out.
#[test]
fn edge_values_the_spec_allows_are_read() {
    use pagerlens::pagerduty::wire::*;
    let ep: EscalationPolicy = serde_json::from_value(json!({
        "id": "PE1", "type": "escalation_policy", "name": "Wide",
        "num_loops": i64::MAX,
        "escalation_rules": [
            {"id": "R1", "escalation_delay_in_minutes": 3_000_000_000i64, "targets": []},
            {"escalation_delay_in_minutes": 0, "targets": null},
            {"id": "R3", "escalation_delay_in_minutes": null, "targets": [{"id": "PU1", "type": "user_reference"}]}
        ],
        "services": null, "teams": null, "description": null
    }))
    .unwrap();
    assert_eq!(ep.num_loops, i64::MAX);
    assert_eq!(ep.escalation_rules[0].escalation_delay_in_minutes, WIDE);
    assert_eq!(ep.escalation_rules[1].id, None);
    assert_eq!(ep.escalation_rules[2].escalation_delay_in_minutes, 0);

    let oncall: Oncall =
        serde_json::from_value(json!({"escalation_level": i64::MAX, "start": null, "end": null}))
            .unwrap();
    assert_eq!(oncall.escalation_level, i64::MAX);

    let schedule: Schedule = serde_json::from_value(json!({
        "id": "PS1", "type": "schedule", "time_zone": "UTC",
        "schedule_layers": [{"users": [{"user": {"id": "PU1", "type": "user_reference"}}, {}]}]
    }))
    .unwrap();
    assert_eq!(schedule.schedule_layers[0].users.len(), 2);
    assert!(schedule.schedule_layers[0].users[1].user.is_none());

    // An incident needs its id and creation time (it is counted and
    // windowed by it); its status, type and number may be absent.
    let incident: Incident = serde_json::from_value(json!({
        "id": "PI1", "created_at": "2026-01-01T00:00:00Z",
        "incident_number": i64::MAX, "status": null
    }))
    .unwrap();
    assert_eq!(incident.status, "");
    assert_eq!(incident.incident_number, Some(i64::MAX));
    assert!(serde_json::from_value::<Incident>(json!({"id": "PI2"})).is_err());

    let entry: LogEntry = serde_json::from_value(json!({
        "id": "L1", "created_at": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    assert_eq!(entry.kind, "");
    assert_eq!(
        entry.incident_id(),
        None,
        "an entry without an incident names none"
    );
}
