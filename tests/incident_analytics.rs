//! PagerDuty's incident analytics: the per-incident facts derived from the
//! log (hand-computed), `incidentMetrics` agreeing with them figure for
//! figure, the BI view, team scoping and bad questions.

use chrono::{DateTime, Duration, Utc};
use pagerlens::entities::*;
use pagerlens::incidents::facts::{self, FactsSettings};
use sea_orm::{ConnectionTrait, EntityTrait, Set, Statement};
use serde_json::{Value, json};

use crate::common::fixtures::{seed_catalog, seed_incidents, t0};
use crate::common::{TestApp, assert_error};
use crate::on_both_databases;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A log entry: id, kind, time, agent, channel, notified user.
type LogRow<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    Option<&'a str>,
);

/// One incident on PS_API (priority P3, not major by priority), Monday
/// 2 March 2026: two responders, a timeout and a manual escalation, a
/// reassignment, a 30-minute snooze, notifications in Berlin (business
/// hours) and New York (sleep hours), resolved by a person at 11:00.
async fn seed_multi_responder(db: &sea_orm::DatabaseConnection) {
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        "UPDATE users SET time_zone = 'America/New_York' WHERE id = 'PU2'",
    ))
    .await
    .unwrap();
    let created = at("2026-03-02T09:00:00Z");
    let resolved = at("2026-03-02T11:00:00Z");
    incident::Entity::insert(incident::ActiveModel {
        id: Set("PMULTI".into()),
        incident_number: Set(Some(9001)),
        title: Set("Checkout down".into()),
        description: Set(None),
        status: Set("resolved".into()),
        urgency: Set("high".into()),
        priority_id: Set(Some("PR3".into())),
        service_id: Set(Some("PS_API".into())),
        escalation_policy_id: Set(Some("PE1".into())),
        incident_key: Set(None),
        html_url: Set(None),
        source: Set("pagerduty".into()),
        pd_updated_at: Set(Some(resolved)),
        last_status_change_at: Set(Some(resolved)),
        acknowledged_at: Set(Some(at("2026-03-02T09:40:00Z"))),
        acknowledged_by_user_id: Set(Some("PU2".into())),
        resolved_at: Set(Some(resolved)),
        resolved_by_user_id: Set(Some("PU2".into())),
        escalation_count: Set(2),
        incident_type: Set(None),
        custom_fields_fetched: Set(true),
        deleted_at: Set(None),
        created_at: Set(created),
        updated_at: Set(resolved),
    })
    .exec(db)
    .await
    .unwrap();
    // (id, kind, time, agent, channel, notified user)
    let log: [LogRow; 13] = [
        (
            "M01",
            "trigger_log_entry",
            "09:00:00",
            Some("PS_API"),
            "api",
            None,
        ),
        (
            "M02",
            "notify_log_entry",
            "09:00:01",
            None,
            "sms",
            Some("PU1"),
        ),
        (
            "M03",
            "notify_log_entry",
            "09:00:01",
            None,
            "push_notification",
            Some("PU1"),
        ),
        (
            "M04",
            "escalate_log_entry",
            "09:30:00",
            None,
            "timeout",
            None,
        ),
        (
            "M05",
            "notify_log_entry",
            "09:30:01",
            None,
            "phone",
            Some("PU2"),
        ),
        (
            "M06",
            "acknowledge_log_entry",
            "09:40:00",
            Some("PU2"),
            "website",
            None,
        ),
        (
            "M07",
            "escalate_log_entry",
            "09:50:00",
            Some("PU2"),
            "website",
            None,
        ),
        (
            "M08",
            "assign_log_entry",
            "09:55:00",
            Some("PU2"),
            "website",
            None,
        ),
        (
            "M09",
            "acknowledge_log_entry",
            "10:00:00",
            Some("PU1"),
            "mobile",
            None,
        ),
        (
            "M10",
            "snooze_log_entry",
            "10:10:00",
            Some("PU1"),
            "mobile",
            None,
        ),
        (
            "M11",
            "unacknowledge_log_entry",
            "10:40:00",
            None,
            "timeout",
            None,
        ),
        (
            "M12",
            "acknowledge_log_entry",
            "10:45:00",
            Some("PU2"),
            "website",
            None,
        ),
        (
            "M13",
            "resolve_log_entry",
            "11:00:00",
            Some("PU2"),
            "website",
            None,
        ),
    ];
    incident_log_entry::Entity::insert_many(log.iter().map(
        |(id, kind, time, agent, channel, user)| incident_log_entry::ActiveModel {
            id: Set((*id).into()),
            incident_id: Set("PMULTI".into()),
            kind: Set((*kind).into()),
            summary: Set(None),
            agent_type: Set(agent.map(|a| {
                if a.starts_with("PU") {
                    "user_reference"
                } else {
                    "service_reference"
                }
                .into()
            })),
            agent_id: Set(agent.map(Into::into)),
            channel_type: Set(Some((*channel).into())),
            user_id: Set(user.map(Into::into)),
            note: Set(None),
            created_at: Set(at(&format!("2026-03-02T{time}Z"))),
            updated_at: Set(resolved),
        },
    ))
    .exec(db)
    .await
    .unwrap();
}

const RAW_FIELDS: &str = "secondsToFirstAck secondsToResolve secondsToEngage \
    secondsToMobilize engagedSeconds engagedUserCount acknowledgementCount assignmentCount \
    escalationCount manualEscalationCount timeoutEscalationCount reassignmentCount autoResolved \
    snoozedSeconds totalNotifications totalInterruptions businessHourInterruptions \
    offHourInterruptions sleepHourInterruptions major joinedUserIds interruptionWindows";

pub const ROW_FIELDS: &str = "groupId groupName rangeStart totalIncidentCount \
    meanSecondsToFirstAck p50SecondsToFirstAck p75SecondsToFirstAck p90SecondsToFirstAck \
    p95SecondsToFirstAck meanSecondsToResolve p50SecondsToResolve p75SecondsToResolve \
    p90SecondsToResolve p95SecondsToResolve meanSecondsToEngage meanSecondsToMobilize \
    meanEngagedSeconds totalEngagedSeconds meanEngagedUserCount meanAssignmentCount \
    totalIncidentsAcknowledged totalIncidentsAutoResolved totalIncidentsManualEscalated \
    totalIncidentsTimeoutEscalated totalIncidentsReassigned totalEscalationCount \
    totalNotifications totalInterruptions totalBusinessHourInterruptions \
    totalOffHourInterruptions totalSleepHourInterruptions totalSnoozedSeconds upTimePct";

async fn metrics(app: &TestApp, input: Value) -> Value {
    app.data(
        &format!(
            "query($i: IncidentMetricsInput!) {{ incidentMetrics(input: $i) {{
                timeZone interruptionWindows cache {{ fromCache }} rows {{ {ROW_FIELDS} }} }} }}"
        ),
        json!({ "i": input }),
    )
    .await["incidentMetrics"]
        .clone()
}

/// Every raw field of a multi-responder incident, by hand, through
/// `Incident.analytics`, the BI view and `incidentMetrics`.
async fn a_multi_responder_incident_by_hand(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_multi_responder(&app.db).await;
    let n = facts::refresh_stale(&app.db, &FactsSettings::default(), Utc::now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let data = app
        .data(
            &format!("{{ incident(id: \"PMULTI\") {{ analytics {{ {RAW_FIELDS} }} }} }}"),
            json!({}),
        )
        .await;
    let a = &data["incident"]["analytics"];
    let expected = json!({
        "secondsToFirstAck": 2400,
        "secondsToResolve": 7200,
        // PU2 engaged at 09:40, PU1 at 10:00.
        "secondsToEngage": 1200,
        "secondsToMobilize": 3600,
        // PU2 09:40 → 11:00, PU1 10:00 → 11:00.
        "engagedSeconds": 4800 + 3600,
        "engagedUserCount": 2,
        "acknowledgementCount": 3,
        // The trigger's, two escalations and a reassignment.
        "assignmentCount": 4,
        "escalationCount": 2,
        "manualEscalationCount": 1,
        "timeoutEscalationCount": 1,
        "reassignmentCount": 1,
        "autoResolved": false,
        "snoozedSeconds": 1800,
        "totalNotifications": 3,
        // PU1's SMS and push in the same second are one interruption.
        "totalInterruptions": 2,
        // 10:00 in Berlin on a Monday.
        "businessHourInterruptions": 1,
        "offHourInterruptions": 0,
        // 04:30 in New York.
        "sleepHourInterruptions": 1,
        // Two users engaged.
        "major": true,
        "joinedUserIds": ["PU2", "PU1"],
        "interruptionWindows": "pagerduty",
    });
    assert_eq!(a, &expected);

    // The BI view carries the same facts.
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT seconds_to_engage, engaged_seconds, snoozed_seconds, \
             sleep_hour_interruptions, service_name FROM bi_incident_analytics \
             WHERE incident_id = 'PMULTI'",
        ))
        .await
        .unwrap()
        .expect("a row in bi_incident_analytics");
    assert_eq!(
        row.try_get::<Option<i64>>("", "seconds_to_engage").unwrap(),
        Some(1200)
    );
    assert_eq!(
        row.try_get::<Option<i64>>("", "engaged_seconds").unwrap(),
        Some(8400)
    );
    assert_eq!(row.try_get::<i64>("", "snoozed_seconds").unwrap(), 1800);
    assert_eq!(
        row.try_get::<i64>("", "sleep_hour_interruptions").unwrap(),
        1
    );

    // One incident: the aggregates are its facts.
    let m = metrics(
        &app,
        json!({ "from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z",
                "timeZone": "UTC", "groupBy": "SERVICE", "aggregateUnit": "DAY" }),
    )
    .await;
    let rows = m["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{m}");
    let r = &rows[0];
    assert_eq!(r["groupId"], "PS_API");
    assert_eq!(r["rangeStart"], "2026-03-02T00:00:00+00:00");
    assert_eq!(r["totalIncidentCount"], 1);
    assert_eq!(r["meanSecondsToFirstAck"], 2400.0);
    assert_eq!(r["p95SecondsToFirstAck"], 2400);
    assert_eq!(r["meanSecondsToEngage"], 1200.0);
    assert_eq!(r["totalEngagedSeconds"], 8400);
    assert_eq!(r["meanAssignmentCount"], 4.0);
    assert_eq!(r["totalIncidentsManualEscalated"], 1);
    assert_eq!(r["totalIncidentsReassigned"], 1);
    assert_eq!(r["totalSnoozedSeconds"], 1800);
    // A major incident open 09:00–11:00 of a 24-hour day.
    let up = r["upTimePct"].as_f64().unwrap();
    assert!((up - 100.0 * 22.0 / 24.0).abs() < 1e-9, "{up}");
    // Per responder: PU1 notified twice in one second at 09:00:01 and timed
    // out to PU2 (notified 09:30:01), who acknowledged at 09:40, escalated
    // by hand and reassigned; PU1 acknowledged at 10:00.
    let r = app
        .data(
            "query($i: ResponderMetricsInput!) { responderMetrics(input: $i) { interruptionWindows rows {
               responderId responderName totalIncidentCount meanTimeToAcknowledgeSeconds
               totalIncidentsAcknowledged totalIncidentsManualEscalatedFrom totalIncidentsManualEscalatedTo
               totalIncidentsTimeoutEscalatedFrom totalIncidentsTimeoutEscalatedTo
               totalIncidentsReassignedFrom totalIncidentsReassignedTo totalNotifications
               totalInterruptions totalBusinessHourInterruptions totalOffHourInterruptions
               totalSleepHourInterruptions meanEngagedSeconds totalEngagedSeconds
               totalSecondsOnCall totalSecondsOnCallLevel1 totalSecondsOnCallLevel2Plus } } }",
            json!({ "i": { "from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z" } }),
        )
        .await;
    let rows = r["responderMetrics"]["rows"].clone();
    assert_eq!(
        rows,
        json!([
            {
                "responderId": "PU1", "responderName": "Alice", "totalIncidentCount": 1,
                "meanTimeToAcknowledgeSeconds": 3599.0, "totalIncidentsAcknowledged": 1,
                "totalIncidentsManualEscalatedFrom": 0, "totalIncidentsManualEscalatedTo": 0,
                "totalIncidentsTimeoutEscalatedFrom": 1, "totalIncidentsTimeoutEscalatedTo": 0,
                "totalIncidentsReassignedFrom": 0, "totalIncidentsReassignedTo": 0,
                "totalNotifications": 2, "totalInterruptions": 1,
                "totalBusinessHourInterruptions": 1, "totalOffHourInterruptions": 0,
                "totalSleepHourInterruptions": 0, "meanEngagedSeconds": 3600.0,
                "totalEngagedSeconds": 3600, "totalSecondsOnCall": 0,
                "totalSecondsOnCallLevel1": 0, "totalSecondsOnCallLevel2Plus": 0
            },
            {
                "responderId": "PU2", "responderName": "Bob", "totalIncidentCount": 1,
                "meanTimeToAcknowledgeSeconds": 599.0, "totalIncidentsAcknowledged": 1,
                "totalIncidentsManualEscalatedFrom": 1, "totalIncidentsManualEscalatedTo": 0,
                "totalIncidentsTimeoutEscalatedFrom": 0, "totalIncidentsTimeoutEscalatedTo": 1,
                "totalIncidentsReassignedFrom": 1, "totalIncidentsReassignedTo": 0,
                "totalNotifications": 1, "totalInterruptions": 1,
                "totalBusinessHourInterruptions": 0, "totalOffHourInterruptions": 0,
                "totalSleepHourInterruptions": 1, "meanEngagedSeconds": 4800.0,
                "totalEngagedSeconds": 4800, "totalSecondsOnCall": 0,
                "totalSecondsOnCallLevel1": 0, "totalSecondsOnCallLevel2Plus": 0
            }
        ]),
        "{r}"
    );
    // Major filter: none that are not major.
    let m = metrics(
        &app,
        json!({ "from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z", "major": false }),
    )
    .await;
    assert_eq!(m["rows"], json!([]));
}

fn sum_of(rows: &[Value], field: &str) -> i64 {
    rows.iter().map(|r| r[field].as_i64().unwrap_or(0)).sum()
}

/// Over 400 seeded incidents: every group and bucket of `incidentMetrics`
/// equals the per-incident facts summed by hand, groupings partition the
/// incidents, and the answer is cached.
async fn metrics_agree_with_the_per_incident_facts(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 400).await;
    facts::refresh_stale(&app.db, &FactsSettings::default(), Utc::now())
        .await
        .unwrap();
    let rows = incident_analytics::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 400);
    let incidents: std::collections::HashMap<String, incident::Model> = incident::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    let from = t0();
    let to = t0() + Duration::days(14);
    let input = json!({ "from": from, "to": to, "timeZone": "UTC",
                        "groupBy": "SERVICE", "aggregateUnit": "WEEK" });
    let m = metrics(&app, input.clone()).await;
    let got = m["rows"].as_array().unwrap().clone();
    // Expected per (service, week start).
    let mut expected: std::collections::BTreeMap<
        (String, String),
        Vec<&incident_analytics::Model>,
    > = Default::default();
    for f in &rows {
        let inc = &incidents[&f.incident_id];
        if inc.created_at < from || inc.created_at >= to {
            continue;
        }
        let day = inc.created_at.date_naive();
        let week = day
            - Duration::days(i64::from(
                chrono::Datelike::weekday(&day).num_days_from_monday(),
            ));
        let start = week.and_hms_opt(0, 0, 0).unwrap().and_utc().to_rfc3339();
        expected
            .entry((inc.service_id.clone().unwrap(), start))
            .or_default()
            .push(f);
    }
    assert_eq!(got.len(), expected.len(), "{m}");
    for r in &got {
        let key = (
            r["groupId"].as_str().unwrap().to_owned(),
            r["rangeStart"].as_str().unwrap().to_owned(),
        );
        let fs = &expected[&key];
        let n = fs.len() as i64;
        assert_eq!(r["totalIncidentCount"], n);
        let acks: Vec<i64> = fs.iter().filter_map(|f| f.seconds_to_first_ack).collect();
        let mean_ack = acks.iter().sum::<i64>() as f64 / acks.len() as f64;
        assert!((r["meanSecondsToFirstAck"].as_f64().unwrap() - mean_ack).abs() < 1e-6);
        let resolves: Vec<i64> = fs.iter().filter_map(|f| f.seconds_to_resolve).collect();
        assert_eq!(r["p90SecondsToResolve"].is_null(), resolves.is_empty());
        assert_eq!(
            r["totalIncidentsAcknowledged"],
            fs.iter().filter(|f| f.acknowledgement_count > 0).count() as i64
        );
        assert_eq!(
            r["totalEscalationCount"],
            fs.iter().map(|f| f.escalation_count).sum::<i64>()
        );
        assert_eq!(
            r["totalIncidentsAutoResolved"],
            fs.iter().filter(|f| f.auto_resolved).count() as i64
        );
        let mean_assign = fs.iter().map(|f| f.assignment_count).sum::<i64>() as f64 / n as f64;
        assert!((r["meanAssignmentCount"].as_f64().unwrap() - mean_assign).abs() < 1e-9);
        assert!(r["groupName"].as_str().is_some());
    }
    // Every grouping partitions the same incidents.
    let total = sum_of(&got, "totalIncidentCount");
    assert_eq!(total, 14 * 24);
    for by in ["ALL", "ESCALATION_POLICY", "PRIORITY", "URGENCY"] {
        let m = metrics(
            &app,
            json!({ "from": from, "to": to, "timeZone": "UTC", "groupBy": by }),
        )
        .await;
        let rows = m["rows"].as_array().unwrap();
        assert_eq!(sum_of(rows, "totalIncidentCount"), total, "{by}: {m}");
        assert_eq!(
            sum_of(rows, "totalEscalationCount"),
            sum_of(&got, "totalEscalationCount"),
            "{by}"
        );
    }
    // Filters: high urgency is every other incident; at least one
    // acknowledgement leaves out the triggered ones (k % 4 == 0).
    let high = metrics(&app, json!({ "from": from, "to": to, "urgency": "HIGH" })).await;
    assert_eq!(
        sum_of(high["rows"].as_array().unwrap(), "totalIncidentCount"),
        total / 2
    );
    let acked = metrics(
        &app,
        json!({ "from": from, "to": to, "minAcknowledgements": 1 }),
    )
    .await;
    assert_eq!(
        sum_of(acked["rows"].as_array().unwrap(), "totalIncidentCount"),
        total * 3 / 4
    );
    let api = metrics(
        &app,
        json!({ "from": from, "to": to, "serviceIds": ["PS_API"] }),
    )
    .await;
    assert_eq!(
        sum_of(api["rows"].as_array().unwrap(), "totalIncidentCount"),
        total / 3
    );
    // Asked again: from the cache, the same figures.
    let again = metrics(&app, input).await;
    assert_eq!(again["cache"]["fromCache"], true);
    assert_eq!(again["rows"], m["rows"]);
}

/// A team-scoped token sees its teams' incidents and groups only, in every
/// new field.
async fn metrics_and_facts_respect_team_scope(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 60).await;
    facts::refresh_stale(&app.db, &FactsSettings::default(), Utc::now())
        .await
        .unwrap();
    let (account, token) = app
        .account_with_token("scoped@example.com", pagerlens::auth::Role::Viewer)
        .await;
    // PT1 (Platform) owns PS_API in the fixture catalog.
    app.limit_account_to_teams(account, &["PT1"]).await;
    let q = format!(
        "query($i: IncidentMetricsInput!) {{ incidentMetrics(input: $i) {{ rows {{ {ROW_FIELDS} }} }} }}"
    );
    let input = json!({ "from": t0(), "to": t0() + Duration::days(3), "groupBy": "SERVICE" });
    let (status, body) = app.gql_as(&token, &q, json!({ "i": input })).await;
    assert_eq!(status, 200, "{body}");
    let rows = body["data"]["incidentMetrics"]["rows"]
        .as_array()
        .unwrap()
        .clone();
    let services: Vec<&str> = rows
        .iter()
        .map(|r| r["groupId"].as_str().unwrap())
        .collect();
    assert_eq!(services, vec!["PS_API"], "{body}");
    let input = json!({ "from": t0(), "to": t0() + Duration::days(3), "groupBy": "TEAM" });
    let (_, body) = app.gql_as(&token, &q, json!({ "i": input })).await;
    let teams: Vec<&str> = body["data"]["incidentMetrics"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["groupId"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(teams, vec!["PT1"], "{body}");
    // Responders: PU1 acknowledged every acknowledged incident, but the
    // scoped token counts only PS_API's (k % 3 == 0 and k % 4 != 0: 15 of
    // the 60 seeded; 45 in all).
    let rq = "query($i: ResponderMetricsInput!) { responderMetrics(input: $i) { rows { responderId totalIncidentCount } } }";
    let range = json!({ "i": { "from": t0(), "to": t0() + Duration::days(3) } });
    let (_, body) = app.gql_as(&token, rq, range.clone()).await;
    assert_eq!(
        body["data"]["responderMetrics"]["rows"],
        json!([{ "responderId": "PU1", "totalIncidentCount": 15 }]),
        "{body}"
    );
    let all = app.data(rq, range).await;
    assert_eq!(
        all["responderMetrics"]["rows"],
        json!([{ "responderId": "PU1", "totalIncidentCount": 45 }])
    );
    // Another team's incident has no analytics to show: it is not found.
    let (_, body) = app
        .gql_as(
            &token,
            "{ incident(id: \"PI0001\") { analytics { major } } }",
            json!({}),
        )
        .await;
    assert_error(&body, "NOT_FOUND");
}

/// Bad questions get BAD_USER_INPUT naming the field, and change nothing.
async fn bad_metric_questions_name_the_field(app: TestApp) {
    let q = "query($i: IncidentMetricsInput!) { incidentMetrics(input: $i) { rows { groupId } } }";
    let cases = [
        (
            json!({ "from": "2026-01-01T00:00:00Z", "to": "2027-01-03T00:00:00Z" }),
            "to",
        ),
        (json!({ "lastDays": 367 }), "lastDays"),
        (json!({ "lastDays": 0 }), "lastDays"),
        (json!({ "groupBy": "FLAG" }), "flag"),
        (json!({ "groupBy": "FLAG", "flag": "no-such-flag" }), "flag"),
        (json!({ "groupBy": "SERVICE", "flag": "x" }), "flag"),
        (json!({ "groupBy": "REGION" }), "groupBy"),
        (json!({ "minAcknowledgements": -1 }), "minAcknowledgements"),
        (json!({ "timeZone": "Mars/Olympus" }), "time zone"),
        (json!({ "aggregateUnit": "YEAR" }), "aggregateUnit"),
    ];
    for (input, field) in cases {
        let body = app.gql(q, json!({ "i": input })).await;
        let message = assert_error(&body, "BAD_USER_INPUT");
        assert!(message.contains(field), "{input}: {message}");
    }
    assert_eq!(
        incident_analytics::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len(),
        0
    );
}

const SET_WINDOWS: &str = "mutation($team: ID, $rules: [InterruptionWindowRuleInput!]!, $cal: Int) {
    setInterruptionWindows(teamId: $team, rules: $rules, calendarId: $cal) { label default description } }";

fn all_week(window: &str) -> Value {
    json!([{ "window": window, "days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY",
             "SATURDAY", "SUNDAY"], "from": "00:00", "to": "24:00" }])
}

/// Windows set for a team count its members' interruptions in them; a
/// global set with a calendar turns its holidays' business hours off; bad
/// sets are refused naming the field; answers name the sets they used.
async fn interruption_windows_fit_the_team(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_multi_responder(&app.db).await;
    let settings = FactsSettings::default();
    facts::refresh_stale(&app.db, &settings, Utc::now())
        .await
        .unwrap();
    let analytics = "{ incident(id: \"PMULTI\") { analytics {
        businessHourInterruptions offHourInterruptions sleepHourInterruptions interruptionWindows } } }";
    // PU1 and PU2 are both in PT1: all of PT1's week is business hours.
    let sets = app
        .data(
            SET_WINDOWS,
            json!({ "team": "PT1", "rules": all_week("BUSINESS") }),
        )
        .await;
    let labels: Vec<&str> = sets["setInterruptionWindows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["pagerduty", "team:PT1"]);
    facts::refresh_stale(&app.db, &settings, Utc::now())
        .await
        .unwrap();
    let a = app.data(analytics, json!({})).await;
    assert_eq!(
        a["incident"]["analytics"],
        json!({ "businessHourInterruptions": 2, "offHourInterruptions": 0,
                "sleepHourInterruptions": 0, "interruptionWindows": "team:PT1" })
    );
    let m = metrics(
        &app,
        json!({ "from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z" }),
    )
    .await;
    let described = m["interruptionWindows"].as_str().unwrap();
    assert!(
        described.contains("members of PT1: business"),
        "{described}"
    );

    // Without the team's set, a global set like PagerDuty's whose calendar
    // makes Monday 2 March a holiday: PU1's 10:00 in Berlin is off hours.
    assert_eq!(
        app.data(
            "mutation { deleteInterruptionWindows(teamId: \"PT1\") }",
            json!({})
        )
        .await["deleteInterruptionWindows"],
        true
    );
    let cal = app
        .data(
            "mutation { createBusinessCalendar(input: { name: \"Holidays\", timeZone: \"UTC\",
               weeklyHours: [{ day: \"mon\", windows: [\"09:00-17:00\"] }], holidays: [\"2026-03-02\"] }) { id } }",
            json!({}),
        )
        .await;
    let cal_id: i64 = cal["createBusinessCalendar"]["id"].as_str().map_or_else(
        || cal["createBusinessCalendar"]["id"].as_i64().unwrap(),
        |s| s.parse().unwrap(),
    );
    let pd_like = json!([
        { "window": "BUSINESS", "days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"], "from": "08:00", "to": "18:00" },
        { "window": "OFF", "days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"], "from": "18:00", "to": "22:00" },
        { "window": "OFF", "days": ["SATURDAY", "SUNDAY"], "from": "08:00", "to": "22:00" },
        { "window": "SLEEP", "days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"], "from": "22:00", "to": "08:00" },
    ]);
    app.data(SET_WINDOWS, json!({ "rules": pd_like, "cal": cal_id }))
        .await;
    facts::refresh_stale(&app.db, &settings, Utc::now())
        .await
        .unwrap();
    let a = app.data(analytics, json!({})).await;
    assert_eq!(
        a["incident"]["analytics"],
        json!({ "businessHourInterruptions": 0, "offHourInterruptions": 1,
                "sleepHourInterruptions": 1, "interruptionWindows": "global" })
    );

    // Bad sets change nothing and name what is wrong.
    let gap = json!([{ "window": "BUSINESS", "days": ["MONDAY"], "from": "00:00", "to": "24:00" }]);
    let overlap = json!([
        { "window": "BUSINESS", "days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"], "from": "00:00", "to": "24:00" },
        { "window": "SLEEP", "days": ["SUNDAY"], "from": "22:00", "to": "08:00" },
    ]);
    let bad_time = json!([{ "window": "OFF", "days": ["MONDAY"], "from": "8am", "to": "24:00" }]);
    for (vars, needle) in [
        (
            json!({ "rules": gap }),
            "rules: tuesday at 00:00 is in no window",
        ),
        (
            json!({ "rules": overlap }),
            "rules[0] and rules[1] overlap on sunday at 22:00",
        ),
        (json!({ "rules": bad_time }), "rules[0].from"),
        (
            json!({ "team": "PT404", "rules": all_week("OFF") }),
            "teamId",
        ),
        (
            json!({ "rules": all_week("OFF"), "cal": 9999 }),
            "calendarId",
        ),
    ] {
        let body = app.gql(SET_WINDOWS, vars).await;
        let message = assert_error(&body, "BAD_USER_INPUT");
        assert!(message.contains(needle), "{message}");
    }
    let sets = app
        .data("{ interruptionWindows { label default } }", json!({}))
        .await;
    assert_eq!(
        sets["interruptionWindows"],
        json!([{ "label": "global", "default": true }, { "label": "pagerduty", "default": false }])
    );
    // Only admins set windows.
    let (_, token) = app
        .account_with_token("viewer@example.com", pagerlens::auth::Role::Viewer)
        .await;
    let (_, body) = app
        .gql_as(&token, SET_WINDOWS, json!({ "rules": all_week("OFF") }))
        .await;
    assert_error(&body, "FORBIDDEN");
}

on_both_databases!(
    a_multi_responder_incident_by_hand,
    metrics_agree_with_the_per_incident_facts,
    metrics_and_facts_respect_team_scope,
    bad_metric_questions_name_the_field,
    interruption_windows_fit_the_team,
);
