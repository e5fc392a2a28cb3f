//! Analytics against hand-computed fixtures (time-zone edges included),
//! status mappings applied and hidden, the cache (hit, invalidation by a
//! real sync, prewarm, stale fallback with the simulator in an outage),
//! the BI views and the read-only BI role.

use chrono::{DateTime, Duration, TimeZone, Utc};
use pagerlens::analytics::metrics::{Analytics, Granularity, Settings};
use pagerlens::analytics::{Answer, Params, Target};
use pagerlens::auth::Role;
use pagerlens::cache::Cache;
use pagerlens::entities::*;
use pagerlens::scope::Scope;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait,
    Set, Statement,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::common::fixtures::seed_catalog;
use crate::common::{Backend, TestApp, assert_error, respawn_with};
use crate::on_both_databases;
use crate::sync::{client, start_sim};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Fixture {
    id: &'static str,
    service: &'static str,
    created: &'static str,
    ack_after_min: Option<i64>,
    resolve_after_min: Option<i64>,
    escalations: i32,
    deleted: bool,
}

/// March 2026 seen from Paris (CET, then CEST from 29 March 01:00 UTC):
/// - H PS_CHK 2026-02-28T23:30Z = 1 March 00:30 in Paris (a Sunday)
/// - A PS_API 2026-03-01T23:30Z = 2 March 00:30 (Monday, before 08:00)
/// - B PS_API 2026-03-02T10:00Z = 2 March 11:00 (business hours)
/// - C PS_CHK 2026-03-03T07:30Z = 3 March 08:30 (business hours)
/// - D PS_API 2026-03-07T12:00Z = Saturday
/// - E PS_LDG 2026-03-29T00:30Z = 29 March 01:30 CET (the DST day)
/// - F PS_LDG 2026-03-29T22:30Z = 30 March 00:30 CEST
/// - G PS_API deleted upstream
const FIXTURES: [Fixture; 8] = [
    Fixture {
        id: "H",
        service: "PS_CHK",
        created: "2026-02-28T23:30:00Z",
        ack_after_min: None,
        resolve_after_min: None,
        escalations: 0,
        deleted: false,
    },
    Fixture {
        id: "A",
        service: "PS_API",
        created: "2026-03-01T23:30:00Z",
        ack_after_min: Some(10),
        resolve_after_min: Some(60),
        escalations: 1,
        deleted: false,
    },
    Fixture {
        id: "B",
        service: "PS_API",
        created: "2026-03-02T10:00:00Z",
        ack_after_min: Some(20),
        resolve_after_min: Some(120),
        escalations: 0,
        deleted: false,
    },
    Fixture {
        id: "C",
        service: "PS_CHK",
        created: "2026-03-03T07:30:00Z",
        ack_after_min: Some(30),
        resolve_after_min: None,
        escalations: 2,
        deleted: false,
    },
    Fixture {
        id: "D",
        service: "PS_API",
        created: "2026-03-07T12:00:00Z",
        ack_after_min: None,
        resolve_after_min: None,
        escalations: 0,
        deleted: false,
    },
    Fixture {
        id: "E",
        service: "PS_LDG",
        created: "2026-03-29T00:30:00Z",
        ack_after_min: None,
        resolve_after_min: None,
        escalations: 0,
        deleted: false,
    },
    Fixture {
        id: "F",
        service: "PS_LDG",
        created: "2026-03-29T22:30:00Z",
        ack_after_min: None,
        resolve_after_min: None,
        escalations: 0,
        deleted: false,
    },
    Fixture {
        id: "G",
        service: "PS_API",
        created: "2026-03-05T12:00:00Z",
        ack_after_min: Some(1),
        resolve_after_min: Some(2),
        escalations: 5,
        deleted: true,
    },
];

async fn seed(db: &DatabaseConnection) {
    seed_catalog(db).await;
    let now = Utc::now();
    for f in FIXTURES {
        let created = at(f.created);
        let acked = f.ack_after_min.map(|m| created + Duration::minutes(m));
        let resolved = f.resolve_after_min.map(|m| created + Duration::minutes(m));
        let status = if resolved.is_some() {
            "resolved"
        } else if acked.is_some() {
            "acknowledged"
        } else {
            "triggered"
        };
        incident::ActiveModel {
            id: Set(f.id.into()),
            incident_number: Set(None),
            title: Set(format!("Incident {}", f.id)),
            description: Set(None),
            status: Set(status.into()),
            urgency: Set("high".into()),
            priority_id: Set(None),
            service_id: Set(Some(f.service.into())),
            escalation_policy_id: Set(None),
            incident_key: Set(None),
            html_url: Set(None),
            source: Set("pagerduty".into()),
            pd_updated_at: Set(None),
            last_status_change_at: Set(None),
            acknowledged_at: Set(acked),
            acknowledged_by_user_id: Set(None),
            resolved_at: Set(resolved),
            resolved_by_user_id: Set(None),
            escalation_count: Set(f.escalations),
            incident_type: Set(None),
            custom_fields_fetched: Set(true),
            deleted_at: Set(f.deleted.then_some(now)),
            created_at: Set(created),
            updated_at: Set(now),
        }
        .insert(db)
        .await
        .unwrap();
    }
}

/// Gives incident `id` a text custom field.
async fn set_field(db: &DatabaseConnection, id: &str, name: &str, value: &str) {
    let now = Utc::now();
    incident_custom_field_value::ActiveModel {
        incident_id: Set(id.into()),
        name: Set(name.into()),
        display_name: Set(None),
        data_type: Set(Some("string".into())),
        value: Set(Some(json!(value))),
        value_text: Set(Some(value.into())),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
}

const PARIS_MARCH: &str =
    r#"{"from": "2026-02-28T23:00:00Z", "to": "2026-03-31T22:00:00Z", "timeZone": "Europe/Paris"}"#;

fn paris_march() -> Value {
    serde_json::from_str(PARIS_MARCH).unwrap()
}

async fn metrics_match_hand_computed_fixtures(app: TestApp) {
    seed(&app.db).await;
    let d = app
        .data(
            "query($i: AnalyticsInput!) { analytics(input: $i) {
                timeZone
                counts { services teams escalationPolicies }
                summary { total acknowledged escalated resolved outsideBusinessHours fromCache stale generatedAt
                  timeToAcknowledge { count meanSeconds p50Seconds p90Seconds }
                  timeToResolve { count meanSeconds p50Seconds p90Seconds } }
                incidentsPerService { services { serviceId incidents } }
                statusCounts { statuses { status category incidents } }
                serviceStatusCounts { services { serviceId total statuses { status incidents } } }
                topService { service { serviceId total series { date incidents } } }
                calendar(month: \"2026-03\") { month days { date incidents escalated } }
                weekly: trends(granularity: WEEK) { points { start incidents escalated mttaSeconds } }
                escalatedIncidents { id }
                dayIncidents(date: \"2026-03-02\") { id }
            } }",
            json!({"i": paris_march()}),
        )
        .await;
    let a = &d["analytics"];
    assert_eq!(a["timeZone"], "Europe/Paris");
    // Deleted PS_OLD is not counted.
    assert_eq!(
        a["counts"],
        json!({"services": 3, "teams": 3, "escalationPolicies": 2})
    );
    let s = &a["summary"];
    assert_eq!(s["total"], 7, "{s}");
    assert_eq!(s["acknowledged"], 3);
    assert_eq!(s["escalated"], 2);
    assert_eq!(s["resolved"], 2);
    // H, A, D, E, F are outside 08:00–18:00 Monday–Friday in Paris.
    assert_eq!(s["outsideBusinessHours"], 5);
    assert_eq!(s["fromCache"], false);
    let close = |v: &Value, want: f64| {
        let got = v.as_f64().unwrap_or(f64::NAN);
        assert!((got - want).abs() < 0.01, "{got} != {want}");
    };
    let tta = &s["timeToAcknowledge"];
    assert_eq!(tta["count"], 3);
    close(&tta["meanSeconds"], 1200.0);
    close(&tta["p50Seconds"], 1200.0);
    close(&tta["p90Seconds"], 1800.0);
    let ttr = &s["timeToResolve"];
    close(&ttr["meanSeconds"], 5400.0);
    close(&ttr["p50Seconds"], 3600.0);
    close(&ttr["p90Seconds"], 7200.0);

    assert_eq!(
        a["incidentsPerService"]["services"],
        json!([
            {"serviceId": "PS_API", "incidents": 3},
            {"serviceId": "PS_CHK", "incidents": 2},
            {"serviceId": "PS_LDG", "incidents": 2},
        ])
    );
    assert_eq!(
        a["statusCounts"]["statuses"],
        json!([
            {"status": "Triggered", "category": "OPEN", "incidents": 4},
            {"status": "Acknowledged", "category": "IN_PROGRESS", "incidents": 1},
            {"status": "Resolved", "category": "RESOLVED", "incidents": 2},
        ])
    );
    let chk = a["serviceStatusCounts"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["serviceId"] == "PS_CHK")
        .unwrap()
        .clone();
    assert_eq!(
        chk,
        json!({"serviceId": "PS_CHK", "total": 2, "statuses": [
            {"status": "Triggered", "incidents": 1}, {"status": "Acknowledged", "incidents": 1}]})
    );
    let top = &a["topService"]["service"];
    assert_eq!(top["serviceId"], "PS_API");
    assert_eq!(top["total"], 3);
    let series = top["series"].as_array().unwrap();
    assert_eq!(series.len(), 31);
    assert_eq!(series[1], json!({"date": "2026-03-02", "incidents": 2}));
    assert_eq!(series[6], json!({"date": "2026-03-07", "incidents": 1}));

    let days = a["calendar"]["days"].as_array().unwrap();
    assert_eq!(a["calendar"]["month"], "2026-03");
    assert_eq!(days.len(), 31);
    let day = |n: usize| {
        (
            days[n - 1]["incidents"].as_i64().unwrap(),
            days[n - 1]["escalated"].as_i64().unwrap(),
        )
    };
    assert_eq!(day(1), (1, 0), "H is on 1 March in Paris");
    assert_eq!(day(2), (2, 1), "A (23:30 UTC) lands on 2 March");
    assert_eq!(day(3), (1, 1));
    assert_eq!(day(7), (1, 0));
    assert_eq!(day(29), (1, 0), "E on the DST day");
    assert_eq!(
        day(30),
        (1, 0),
        "F, 22:30 UTC after the change, is on the 30th"
    );
    assert_eq!(
        days.iter()
            .map(|d| d["incidents"].as_i64().unwrap())
            .sum::<i64>(),
        7
    );

    let weeks = a["weekly"]["points"].as_array().unwrap();
    let starts: Vec<&str> = weeks.iter().map(|w| w["start"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "2026-03-01",
            "2026-03-02",
            "2026-03-09",
            "2026-03-16",
            "2026-03-23",
            "2026-03-30"
        ]
    );
    let counts: Vec<i64> = weeks
        .iter()
        .map(|w| w["incidents"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [1, 4, 0, 0, 1, 1]);
    close(&weeks[1]["mttaSeconds"], 1200.0);
    assert!(weeks[2]["mttaSeconds"].is_null());

    let escalated: Vec<&str> = a["escalatedIncidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(escalated, ["C", "A"]);
    let on_day: Vec<&str> = a["dayIncidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(on_day, ["B", "A"]);

    // The same month in UTC: H falls in February, E and F on the 29th.
    let d = app
        .data(
            "{ analytics(input: {from: \"2026-03-01T00:00:00Z\", to: \"2026-04-01T00:00:00Z\", timeZone: \"UTC\"}) {
                summary { total } calendar(month: \"2026-03\") { days { date incidents } } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["analytics"]["summary"]["total"], 6);
    let days = d["analytics"]["calendar"]["days"].as_array().unwrap();
    assert_eq!(days[0]["incidents"], 1, "A is on 1 March in UTC");
    assert_eq!(
        days[28]["incidents"], 2,
        "E and F are both on 29 March in UTC"
    );

    // A team: Payments owns Checkout and Ledger.
    let d = app
        .data(
            "query($i: AnalyticsInput!) { analytics(input: $i) { summary { total escalated } } }",
            json!({"i": {"teamId": "PT2", "from": "2026-02-28T23:00:00Z", "to": "2026-03-31T22:00:00Z"}}),
        )
        .await;
    assert_eq!(
        d["analytics"]["summary"],
        json!({"total": 4, "escalated": 1})
    );

    // A caller limited to Platform sees Platform's service only.
    let (account, token) = app
        .account_with_token("scoped@example.com", Role::Viewer)
        .await;
    app.limit_account_to_teams(account, &["PT1"]).await;
    let (_, body) = app
        .gql_as(
            &token,
            "query($i: AnalyticsInput!) { analytics(input: $i) { counts { services teams } summary { total }
                incidentsPerService { services { serviceId } } } }",
            json!({"i": paris_march()}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let a = &body["data"]["analytics"];
    assert_eq!(a["summary"]["total"], 3);
    assert_eq!(a["counts"], json!({"services": 1, "teams": 1}));
    assert_eq!(
        a["incidentsPerService"]["services"],
        json!([{"serviceId": "PS_API"}])
    );
}

async fn bad_questions_get_clear_errors(app: TestApp) {
    for (input, needle) in [
        (
            json!({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}),
            "before",
        ),
        (json!({"from": "2026-03-02T00:00:00Z"}), "together"),
        (json!({"lastDays": 0}), "lastDays"),
        (
            json!({"lastDays": 7, "from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}),
            "not both",
        ),
        (json!({"timeZone": "Mars/Olympus"}), "time zone"),
        (json!({"serviceId": "PS_API", "teamId": "PT1"}), "not both"),
        (
            json!({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
            "at most",
        ),
    ] {
        let body = app
            .gql(
                "query($i: AnalyticsInput!) { analytics(input: $i) { summary { total } } }",
                json!({"i": input}),
            )
            .await;
        let message = assert_error(&body, "BAD_USER_INPUT");
        assert!(message.contains(needle), "{input}: {message}");
    }
    let body = app
        .gql(
            "{ analytics { calendar(month: \"2026-13\") { month } } }",
            json!({}),
        )
        .await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("YYYY-MM"));
    let body = app
        .gql(
            "{ analytics { dayIncidents(date: \"2026-03-01\", first: 0) { id } } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
}

async fn status_mappings_rename_regroup_and_hide(app: TestApp) {
    seed(&app.db).await;
    let q = "query($i: AnalyticsInput!) { analytics(input: $i) { summary { total } statusCounts { statuses { status category incidents } } } }";
    // Warm the cache; a mapping change must not be hidden by it.
    app.data(q, json!({"i": paris_march()})).await;
    let set = "mutation($m: StatusMappingInput!) { upsertStatusMapping(input: $m) { id displayName category active } }";
    let d = app
        .data(
            set,
            json!({"m": {"source": "PAGERDUTY", "rawValue": "triggered", "displayName": "New", "category": "OPEN"}}),
        )
        .await;
    assert_eq!(d["upsertStatusMapping"]["displayName"], "New");
    app.data(
        set,
        json!({"m": {"source": "PAGERDUTY", "rawValue": "acknowledged", "displayName": "Working", "category": "IN_PROGRESS", "active": false}}),
    )
    .await;
    let d = app.data(q, json!({"i": paris_march()})).await;
    assert_eq!(
        d["analytics"]["summary"]["total"], 6,
        "C (acknowledged) is hidden"
    );
    assert_eq!(
        d["analytics"]["statusCounts"]["statuses"],
        json!([
            {"status": "New", "category": "OPEN", "incidents": 4},
            {"status": "Resolved", "category": "RESOLVED", "incidents": 2},
        ])
    );
    // Hidden, not deleted.
    assert!(
        incident::Entity::find_by_id("C")
            .one(&app.db)
            .await
            .unwrap()
            .is_some()
    );
    // Reports hide it too, and show the mapped name beside the raw status.
    let (headers, rows) = csv_report(
        &app,
        pagerlens::reports::ReportKind::Incidents,
        "mapped.csv",
        &Default::default(),
    )
    .await;
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, raw, mapped) = (col("Incident ID"), col("Status"), col("Status (mapped)"));
    let rows: Vec<(String, String, String)> = rows
        .into_iter()
        .map(|r| (r[id].clone(), r[raw].clone(), r[mapped].clone()))
        .collect();
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(rows.iter().all(|(i, _, _)| i != "C"));
    assert!(rows.contains(&("D".to_owned(), "triggered".to_owned(), "New".to_owned())));
    let d = app
        .data("{ statusMappings { rawValue active } }", json!({}))
        .await;
    assert_eq!(d["statusMappings"].as_array().unwrap().len(), 6);

    // Bad input changes nothing; only admins change mappings.
    for bad in [
        json!({"source": "PAGERDUTY", "rawValue": "x", "displayName": "X", "category": "LATER"}),
        json!({"source": "JIRA", "rawValue": "x", "displayName": "X", "category": "OPEN"}),
        json!({"source": "CUSTOM_FIELD", "rawValue": "x", "displayName": "X", "category": "OPEN"}),
        json!({"source": "PAGERDUTY", "rawValue": " ", "displayName": "X", "category": "OPEN"}),
    ] {
        assert_error(&app.gql(set, json!({"m": bad})).await, "BAD_USER_INPUT");
    }
    let d = app.data("{ statusMappings { id } }", json!({})).await;
    assert_eq!(d["statusMappings"].as_array().unwrap().len(), 6);
    let (_, viewer) = app
        .account_with_token("viewer@example.com", Role::Viewer)
        .await;
    let (_, body) = app
        .gql_as(&viewer, "mutation { refreshStatusMappings }", json!({}))
        .await;
    assert_error(&body, "FORBIDDEN");
    let d = app
        .data("mutation { refreshStatusMappings }", json!({}))
        .await;
    assert_eq!(
        d["refreshStatusMappings"], 0,
        "every seen status is mapped already"
    );

    // A custom field carrying a workflow status: its mapping wins, and a
    // WAITING value is grouped as such.
    for (id, value) in [("H", "waiting on vendor"), ("D", "investigating")] {
        set_field(&app.db, id, "workflow", value).await;
    }
    let added = pagerlens::incidents::status::refresh(&app.db, Some("workflow"))
        .await
        .unwrap();
    assert_eq!(added, 2);
    pagerlens::incidents::status::upsert(
        &app.db,
        pagerlens::incidents::status::MappingInput {
            source: "CUSTOM_FIELD".into(),
            field: Some("workflow".into()),
            raw_value: "waiting on vendor".into(),
            display_name: "Waiting".into(),
            category: "WAITING".into(),
            active: true,
            position: None,
        },
    )
    .await
    .unwrap();
    let engine = Analytics::new(
        app.db.clone(),
        Settings {
            flags: Vec::new(),
            status_field: Some("workflow".into()),
        },
    );
    let p = Params::new(
        Target::All,
        at("2026-02-28T23:00:00Z"),
        at("2026-03-31T22:00:00Z"),
        "Europe/Paris".parse().unwrap(),
        Scope::All,
    )
    .unwrap();
    let counts: Vec<(String, String, i64)> = engine
        .status_counts(&p)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.status, s.category, s.incidents))
        .collect();
    assert_eq!(
        counts,
        [
            ("New".to_owned(), "OPEN".to_owned(), 2),
            ("investigating".to_owned(), "OPEN".to_owned(), 1),
            ("Waiting".to_owned(), "WAITING".to_owned(), 1),
            ("Resolved".to_owned(), "RESOLVED".to_owned(), 2),
        ]
    );
    // Reports follow the status field too: the incidents report names the
    // mapped status, and the service summary counts it in its category.
    let options = pagerlens::reports::Options {
        status_field: Some("workflow".into()),
        ..Default::default()
    };
    let (headers, rows) = csv_report(
        &app,
        pagerlens::reports::ReportKind::Incidents,
        "field.csv",
        &options,
    )
    .await;
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mapped: std::collections::BTreeMap<String, String> = rows
        .iter()
        .map(|r| {
            (
                r[col("Incident ID")].clone(),
                r[col("Status (mapped)")].clone(),
            )
        })
        .collect();
    assert_eq!(mapped["H"], "Waiting", "{mapped:?}");
    assert_eq!(mapped["D"], "investigating", "{mapped:?}");
    let (headers, rows) = csv_report(
        &app,
        pagerlens::reports::ReportKind::IncidentStatusPerService,
        "status.csv",
        &options,
    )
    .await;
    let waiting = headers.iter().position(|h| h.contains("Waiting")).unwrap();
    let total: i64 = rows
        .iter()
        .map(|r| r[waiting].parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, 1, "{headers:?} {rows:?}");
}

async fn flags_are_counted_in_the_summary(app: TestApp) {
    seed(&app.db).await;
    for (id, value) in [("A", "network"), ("C", "disk"), ("D", "")] {
        set_field(&app.db, id, "prelim_root_cause", value).await;
    }
    let flags = pagerlens::config::parse_rules(
        "infra = prelim_root_cause is_set; disk = prelim_root_cause equals disk",
    )
    .unwrap();
    let engine = Analytics::new(
        app.db.clone(),
        Settings {
            flags,
            status_field: None,
        },
    );
    let p = Params::month(
        Target::All,
        2026,
        3,
        "Europe/Paris".parse().unwrap(),
        Scope::All,
    )
    .unwrap();
    let s = engine.summary(&p).await.unwrap();
    let got: Vec<(String, i64)> = s.flags.into_iter().map(|f| (f.flag, f.incidents)).collect();
    assert_eq!(got, [("infra".to_owned(), 2), ("disk".to_owned(), 1)]);
    // Monthly trends roll days up; the period's first local day starts the bucket.
    let t = engine.trends(&p, Granularity::Month).await.unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].incidents, 7);
}

async fn cached_answers_say_so_and_a_sync_invalidates_them(app: TestApp) {
    let sim_now = DateTime::from_timestamp(Utc::now().timestamp() - 60, 0).unwrap();
    let sim = start_sim(Default::default(), sim_now).await;
    let c = client(&sim, 3);
    pagerlens::pagerduty::sync::run(
        &app.db,
        &c,
        &pagerlens::pagerduty::sync::SyncOptions::new(
            pagerlens::pagerduty::sync::SyncKind::Full { days: 30 },
            "test",
        ),
    )
    .await
    .unwrap();
    let q =
        "{ analytics(input: {lastDays: 30}) { summary { total generatedAt fromCache stale } } }";
    let first = app.data(q, json!({})).await["analytics"]["summary"].clone();
    assert_eq!(first["fromCache"], false);
    assert!(first["total"].as_i64().unwrap() > 0);
    let second = app.data(q, json!({})).await["analytics"]["summary"].clone();
    assert_eq!(second["fromCache"], true);
    assert_eq!(second["stale"], false);
    assert_eq!(second["generatedAt"], first["generatedAt"]);
    assert_eq!(second["total"], first["total"]);

    // Entries per service, then an incremental sync that changes some.
    let cache = Cache::new(
        app.db.clone(),
        Duration::minutes(15),
        std::time::Duration::from_secs(60),
    );
    let engine = Analytics::new(app.db.clone(), Settings::default());
    let services: Vec<String> = service::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    for s in &services {
        let p = Params::last_days(
            Target::Service(s.clone()),
            30,
            Utc::now(),
            chrono_tz::UTC,
            Scope::All,
        )
        .unwrap();
        cache
            .get_or_compute(
                &p.cache_key(Answer::Summary),
                Answer::Summary.name(),
                Some(s),
                || engine.summary(&p),
            )
            .await
            .unwrap();
    }
    let before = analytics_cache::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(before as usize, services.len() + 1);
    let touched = sim.sim.mutate(3, 1, sim_now + Duration::seconds(30)).await;
    let changed_services: std::collections::BTreeSet<String> = {
        let org = sim.sim.org.read().await;
        touched
            .iter()
            .filter_map(|id| {
                org.incident(id)
                    .and_then(|i| i.service.as_ref())
                    .map(|s| s.id.clone())
            })
            .collect()
    };
    // The sync tells the app's event bus, on which the cache hears it.
    let mut incremental = pagerlens::pagerduty::sync::SyncOptions::new(
        pagerlens::pagerduty::sync::SyncKind::Incremental,
        "test",
    );
    incremental.events = Some(app.app.events.clone());
    pagerlens::pagerduty::sync::run(&app.db, &c, &incremental)
        .await
        .unwrap();
    let left: Vec<analytics_cache::Model> =
        analytics_cache::Entity::find().all(&app.db).await.unwrap();
    assert!(
        left.iter().all(|e| e.service_id.is_some()),
        "the all-services entry is gone"
    );
    for e in &left {
        assert!(
            !changed_services.contains(e.service_id.as_ref().unwrap()),
            "{e:?} survived"
        );
    }
    assert_eq!(left.len(), services.len() - changed_services.len());
    let third = app.data(q, json!({})).await["analytics"]["summary"].clone();
    assert_eq!(third["fromCache"], false, "recomputed after the sync");
}

async fn prewarm_fills_the_dashboard_set(app: TestApp) {
    seed(&app.db).await;
    let d = app
        .data(
            "mutation { runJobNow(kind: PREWARM) { id status } }",
            json!({}),
        )
        .await;
    assert_eq!(d["runJobNow"]["status"], "QUEUED");
    app.app.jobs.run_pending().await.unwrap();
    let d = app
        .data(
            "{ jobs(first: 1) { nodes { kind status message } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["jobs"]["nodes"][0]["status"], "SUCCEEDED", "{d}");
    // Everything plus three live services, six answers each.
    assert_eq!(
        analytics_cache::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        4 * 6
    );
    let d = app
        .data(
            "{ analytics(input: {serviceId: \"PS_API\", lastDays: 30}) {
                summary { fromCache } calendar { fromCache } trends { fromCache } } }",
            json!({}),
        )
        .await;
    let a = &d["analytics"];
    assert_eq!(a["summary"]["fromCache"], true);
    assert_eq!(a["calendar"]["fromCache"], true);
    let d = app
        .data(
            "{ analytics(input: {serviceId: \"PS_API\", lastDays: 90}) { trends { fromCache points { start } } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["analytics"]["trends"]["fromCache"], true);
    assert_eq!(
        d["analytics"]["trends"]["points"].as_array().unwrap().len(),
        90
    );
}

async fn live_look_ups_fall_back_to_the_last_good_answer(app: TestApp) {
    let sim = start_sim(Default::default(), Utc::now() - Duration::minutes(1)).await;
    let app = respawn_with(app, |c| {
        c.pagerduty.api_url = sim.base_url();
        c.pagerduty.token = Some(SecretString::from("simulator-token".to_owned()));
        c.analytics.live_ttl = Duration::zero();
        c.analytics.live_cooldown = Duration::seconds(300);
    })
    .await;
    let (policy, incident) = {
        let org = sim.sim.org.read().await;
        (
            org.escalation_policies[0].id.clone(),
            org.incidents[3].id.clone(),
        )
    };
    let q = "query($ep: ID, $i: ID!) { onCallNow(escalationPolicyId: $ep) { stale fromCache entries { userId escalationLevel } }
               liveIncident(id: $i) { id title status stale } }";
    let vars = json!({"ep": policy, "i": incident});
    let fresh = app.data(q, vars.clone()).await;
    assert_eq!(fresh["onCallNow"]["stale"], false);
    assert!(!fresh["onCallNow"]["entries"].as_array().unwrap().is_empty());
    assert_eq!(fresh["liveIncident"]["id"], incident);

    // A caller limited to a team sees neither another team's policy nor an
    // incident of a service outside its teams.
    seed_catalog(&app.db).await;
    let (account, scoped) = app
        .account_with_token("scoped@example.com", Role::Viewer)
        .await;
    app.limit_account_to_teams(account, &["PT1"]).await;
    let (_, body) = app.gql_as(&scoped, q, vars.clone()).await;
    let codes = crate::common::error_codes(&body);
    assert_eq!(codes, ["NOT_FOUND", "NOT_FOUND"], "{body}");

    // PagerDuty goes down: the last good answers, marked stale.
    sim.sim
        .outage
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let down = app.data(q, vars.clone()).await;
    assert_eq!(down["onCallNow"]["stale"], true);
    assert_eq!(down["onCallNow"]["entries"], fresh["onCallNow"]["entries"]);
    assert_eq!(down["liveIncident"]["stale"], true);
    assert_eq!(
        down["liveIncident"]["title"],
        fresh["liveIncident"]["title"]
    );
    // After the 503 the server waits out its cooldown: no more calls.
    let calls = sim.sim.calls("/oncalls").await;
    let again = app.data(q, vars.clone()).await;
    assert_eq!(again["onCallNow"]["stale"], true);
    assert_eq!(
        sim.sim.calls("/oncalls").await,
        calls,
        "no call during the cooldown"
    );
    // Something never fetched cannot be answered while down.
    let body = app
        .gql("{ liveIncident(id: \"PNEVERSEEN\") { id } }", json!({}))
        .await;
    assert_error(&body, "INTERNAL");
    // A bad request is refused clearly.
    let body = app.gql("{ onCallNow { stale } }", json!({})).await;
    assert_error(&body, "BAD_USER_INPUT");
}

async fn bi_views_read_the_data(app: TestApp) {
    seed(&app.db).await;
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT incident_id, service_name, status_name, status_category, seconds_to_first_ack, escalated FROM bi_incidents WHERE incident_id = 'A'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<String>("", "service_name").unwrap(),
        "API gateway"
    );
    assert_eq!(
        row.try_get::<String>("", "status_name").unwrap(),
        "Resolved"
    );
    assert_eq!(
        row.try_get::<String>("", "status_category").unwrap(),
        "RESOLVED"
    );
    let ack: f64 = row.try_get("", "seconds_to_first_ack").unwrap();
    assert!((ack - 600.0).abs() < 0.01, "{ack}");
    for view in pagerlens::analytics::bi::VIEWS {
        app.db
            .query_all_raw(Statement::from_string(
                backend,
                format!("SELECT * FROM {view}"),
            ))
            .await
            .unwrap_or_else(|e| panic!("{view}: {e}"));
    }
    let n = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM bi_incidents",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(n, 7, "the deleted incident is left out");
}

/// Each day and service of `bi_daily_service_stats` (what dashboards in a
/// BI tool read) shows the figures GraphQL's summary gives for that service
/// over that UTC day: counts exactly, mean times to the nanosecond.
async fn bi_daily_service_stats_agree_with_graphql(app: TestApp) {
    use sea_orm::ActiveModelTrait;
    seed(&app.db).await;
    // Uneven times, to the millisecond.
    for (k, i) in incident::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .enumerate()
    {
        let (created, ack, resolved) = (i.created_at, i.acknowledged_at, i.resolved_at);
        let k = i64::try_from(k).unwrap();
        let mut m: incident::ActiveModel = i.into();
        if ack.is_some() {
            m.acknowledged_at =
                sea_orm::Set(Some(created + Duration::milliseconds(61_237 * (k + 1) + 1)));
        }
        if resolved.is_some() {
            m.resolved_at = sea_orm::Set(Some(
                created + Duration::milliseconds(977_001 * (k + 2) + 7),
            ));
        }
        m.update(&app.db).await.unwrap();
    }
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT day, service_id, incidents, acknowledged, escalated, resolved, \
             mean_seconds_to_first_ack, mean_seconds_to_resolve FROM bi_daily_service_stats",
        ))
        .await
        .unwrap();
    assert!(rows.len() >= 3, "{} rows", rows.len());
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        (a, b) => a == b,
    };
    for row in rows {
        let day: chrono::NaiveDate = row.try_get("", "day").unwrap();
        let service: String = row.try_get("", "service_id").unwrap();
        let from = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
        let d = app
            .data(
                "query($s: ID, $f: DateTime, $t: DateTime) { analytics(input: {serviceId: $s, from: $f, to: $t, timeZone: \"UTC\"}) {
                   summary { total acknowledged escalated resolved
                     timeToAcknowledge { meanSeconds } timeToResolve { meanSeconds } } } }",
                json!({"s": service, "f": from, "t": from + Duration::days(1)}),
            )
            .await;
        let g = &d["analytics"]["summary"];
        let n = |c: &str| row.try_get::<i64>("", c).unwrap();
        let what = format!("{service} on {day}");
        assert_eq!(n("incidents"), g["total"].as_i64().unwrap(), "{what}");
        assert_eq!(
            n("acknowledged"),
            g["acknowledged"].as_i64().unwrap(),
            "{what}"
        );
        assert_eq!(n("escalated"), g["escalated"].as_i64().unwrap(), "{what}");
        assert_eq!(n("resolved"), g["resolved"].as_i64().unwrap(), "{what}");
        for (column, field) in [
            ("mean_seconds_to_first_ack", "timeToAcknowledge"),
            ("mean_seconds_to_resolve", "timeToResolve"),
        ] {
            let bi: Option<f64> = row.try_get("", column).unwrap();
            let api = g[field]["meanSeconds"].as_f64();
            assert!(
                close(bi, api),
                "{what} {column}: BI {bi:?}, GraphQL {api:?}"
            );
        }
    }
}

/// A workflow status in the `WAITING` category pauses the SLA clocks, and
/// leaving it resumes them; a pause made by hand is left alone.
async fn a_waiting_status_pauses_the_sla(app: TestApp) {
    use pagerlens::entities::{incident_sla_target as target, sla_event, sla_pause};
    use sea_orm::{ColumnTrait, QueryFilter};
    seed(&app.db).await;
    crate::common::map_as_waiting(&app.db, "workflow", "waiting on vendor").await;
    let settings = pagerlens::config::SlaSettings {
        status_field: Some("workflow".into()),
        ..Default::default()
    };
    let ids = ["D".to_owned(), "E".to_owned()];
    pagerlens::sla::refresh(&app.db, &settings, &ids, false, Utc::now())
        .await
        .unwrap();
    let open = |db: DatabaseConnection, id: &'static str| async move {
        sla_pause::Entity::find()
            .filter(sla_pause::Column::IncidentId.eq(id))
            .filter(sla_pause::Column::EndedAt.is_null())
            .one(&db)
            .await
            .unwrap()
    };
    assert!(open(app.db.clone(), "D").await.is_none());

    set_field(&app.db, "D", "workflow", "waiting on vendor").await;
    pagerlens::sla::refresh(&app.db, &settings, &ids, false, Utc::now())
        .await
        .unwrap();
    let pause = open(app.db.clone(), "D")
        .await
        .expect("paused while waiting");
    assert_eq!(pause.reason, "waiting: Waiting on vendor");
    assert!(pause.paused_by_account_id.is_none());
    assert!(open(app.db.clone(), "E").await.is_none(), "E does not wait");
    let states: Vec<String> = target::Entity::find()
        .filter(target::Column::IncidentId.eq("D"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.state)
        .collect();
    assert!(
        !states.is_empty() && states.iter().all(|s| s == "PAUSED"),
        "{states:?}"
    );
    let reasons: Vec<String> = sla_event::Entity::find()
        .filter(sla_event::Column::IncidentId.eq("D"))
        .filter(sla_event::Column::Kind.eq("paused"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.reason)
        .collect();
    assert!(
        reasons.iter().any(|r| r == "waiting: Waiting on vendor"),
        "{reasons:?}"
    );
    // Refreshing again changes nothing.
    pagerlens::sla::refresh(&app.db, &settings, &ids, false, Utc::now())
        .await
        .unwrap();
    assert_eq!(sla_pause::Entity::find().count(&app.db).await.unwrap(), 1);

    // No longer waiting: the clocks run again.
    let mut v: incident_custom_field_value::ActiveModel =
        incident_custom_field_value::Entity::find()
            .filter(incident_custom_field_value::Column::IncidentId.eq("D"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .into();
    v.value_text = Set(Some("investigating".into()));
    v.update(&app.db).await.unwrap();
    pagerlens::sla::refresh(&app.db, &settings, &ids, false, Utc::now())
        .await
        .unwrap();
    assert!(open(app.db.clone(), "D").await.is_none(), "resumed");

    // A pause made by hand stays until someone resumes it.
    pagerlens::sla::pause(
        &app.db,
        &settings,
        &Scope::All,
        None,
        "E",
        "customer call",
        Utc::now(),
    )
    .await
    .unwrap();
    pagerlens::sla::refresh(&app.db, &settings, &ids, false, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        open(app.db.clone(), "E").await.unwrap().reason,
        "customer call"
    );
}

on_both_databases!(
    a_waiting_status_pauses_the_sla,
    metrics_match_hand_computed_fixtures,
    bad_questions_get_clear_errors,
    status_mappings_rename_regroup_and_hide,
    flags_are_counted_in_the_summary,
    cached_answers_say_so_and_a_sync_invalidates_them,
    prewarm_fills_the_dashboard_set,
    live_look_ups_fall_back_to_the_last_good_answer,
    bi_views_read_the_data,
    bi_daily_service_stats_agree_with_graphql,
);

/// The read-only role reads the BI views and nothing else (PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bi_role_reads_views_and_nothing_else() {
    let Some(app) = crate::common::spawn(Backend::Postgres).await else {
        return;
    };
    seed(&app.db).await;
    let role = format!(
        "pagerlens_bi_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    pagerlens::analytics::bi::ensure_role(
        &app.db,
        &role,
        &SecretString::from("a long secret".to_owned()),
    )
    .await
    .unwrap();
    // Idempotent.
    pagerlens::analytics::bi::ensure_role(
        &app.db,
        &role,
        &SecretString::from("a long secret".to_owned()),
    )
    .await
    .unwrap();
    let db_name: String = app
        .db
        .query_one_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT current_database() AS d",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "d")
        .unwrap();
    let admin_url = crate::common::postgres_url().unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_username(&role).unwrap();
    url.set_password(Some("a long secret")).unwrap();
    url.set_path(&db_name);
    let bi = Database::connect(url.as_str()).await.unwrap();
    let run = |sql: &str| {
        let bi = bi.clone();
        let sql = sql.to_owned();
        async move { bi.execute_unprepared(&sql).await.map(|_| ()) }
    };
    let n = bi
        .query_one_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT COUNT(*) AS n FROM bi_incidents",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(n, 7);
    for forbidden in [
        "SELECT * FROM sessions",
        "SELECT * FROM api_tokens",
        "SELECT * FROM accounts",
        "SELECT * FROM incidents",
        "INSERT INTO bi_teams (team_id, name) VALUES ('X', 'x')",
        "UPDATE incidents SET title = 'x'",
        "DELETE FROM bi_incidents",
        "CREATE TABLE sneaky (id int)",
    ] {
        let err = run(forbidden).await.expect_err(forbidden).to_string();
        // Reads of tables are refused by privilege; writes by privilege or
        // because a joined view cannot be written at all.
        assert!(
            err.contains("permission denied")
                || (!forbidden.starts_with("SELECT") && err.contains("cannot")),
            "{forbidden}: {err}"
        );
    }
    bi.close().await.unwrap();
    // Clean up the cluster-wide role.
    app.db
        .execute_unprepared(&format!("DROP OWNED BY {role}"))
        .await
        .unwrap();
    let admin = Database::connect(&admin_url).await.unwrap();
    drop(app);
    // The database is dropped with the app, and its grants with it; until
    // then the role cannot go.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while admin
        .execute_unprepared(&format!("DROP ROLE IF EXISTS {role}"))
        .await
        .is_err()
        && std::time::Instant::now() < deadline
    {
        tokio::task::yield_now().await;
    }
}

#[test]
fn fixtures_are_what_the_comments_say() {
    let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    let local = |s: &str| {
        at(s)
            .with_timezone(&paris)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    assert_eq!(local("2026-02-28T23:30:00Z"), "2026-03-01 00:30");
    assert_eq!(local("2026-03-29T00:30:00Z"), "2026-03-29 01:30");
    assert_eq!(local("2026-03-29T22:30:00Z"), "2026-03-30 00:30");
    assert_eq!(
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
            .unwrap()
            .with_timezone(&paris)
            .format("%a")
            .to_string(),
        "Sun"
    );
}

/// Writes a CSV report of everything and reads it back: headers and rows.
async fn csv_report(
    app: &TestApp,
    kind: pagerlens::reports::ReportKind,
    name: &str,
    options: &pagerlens::reports::Options,
) -> (Vec<String>, Vec<Vec<String>>) {
    let path = app.reports_dir.path().join(name);
    let req = pagerlens::reports::Request {
        kind,
        format: pagerlens::reports::Format::Csv,
        filter: Default::default(),
        time_zone: None,
        scope: None,
        schedule_id: None,
    };
    pagerlens::reports::generate(
        &app.db,
        &req,
        options,
        chrono::Utc::now(),
        &path,
        &pagerlens::reports::NoProgress,
        &Default::default(),
    )
    .await
    .unwrap();
    let mut csv = csv::Reader::from_path(&path).unwrap();
    let headers = csv.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = csv
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (headers, rows)
}
