//! The drift check end to end against the simulator's own analytics
//! (computed by its own code): zero drift after a sync; with the
//! simulator's perturbation on, exactly the perturbed incidents and fields;
//! incremental fetching; the report through GraphQL; the CLI's exit codes.

use std::collections::BTreeSet;

use chrono::Utc;
use pagerlens::analytics::drift;
use pagerlens::entities::*;
use pagerlens::pagerduty::simulator::{self, SimConfig, SimHandle};
use pagerlens::pagerduty::sync::{self, SyncKind, SyncOptions};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::on_both_databases;
use crate::sync::{client, sizes};

async fn sim_with(perturb: f64, now: chrono::DateTime<Utc>) -> SimHandle {
    let mut config = SimConfig::new(42, sizes());
    config.now = now;
    config.perturb_analytics = perturb;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    simulator::spawn(config, listener).await.unwrap()
}

async fn perturbed(sim: &SimHandle) -> BTreeSet<(String, String)> {
    let list: Vec<Value> = reqwest::Client::new()
        .get(format!("{}/_simulator/perturbed", sim.base_url()))
        .header("Authorization", "Token token=simulator-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.iter()
        .map(|p| {
            (
                p["incident_id"].as_str().unwrap().to_owned(),
                p["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn drift_is_zero_and_perturbations_are_found_exactly(app: TestApp) {
    let now = Utc::now() - chrono::Duration::minutes(1);
    let sim = sim_with(0.0, now).await;
    let c = client(&sim, 2);
    let mut opts = SyncOptions::new(SyncKind::Full { days: 30 }, "test");
    opts.fetch_custom_fields = false;
    sync::run(&app.db, &c, &opts).await.unwrap();
    let settings = Default::default();

    let report = drift::run(&app.db, &c, &settings, 30, "test", Utc::now())
        .await
        .unwrap();
    assert_eq!(report.mismatches, vec![], "{}", drift::table(&report));
    assert!(report.ok);
    assert_eq!(report.incidents_compared, 300);
    assert_eq!(report.fields_compared, 300 * drift::FIELDS.len() as i64);
    // 300 incidents fit one page of 1,000.
    assert_eq!(report.api_calls, 1);
    // Again: only what PagerDuty changed since is fetched (nothing), and the
    // comparison still covers every incident.
    let again = drift::run(&app.db, &c, &settings, 30, "test", Utc::now())
        .await
        .unwrap();
    assert_eq!(again.api_calls, 1);
    assert_eq!(again.incidents_compared, 300);
    assert!(again.mismatches.is_empty());

    // The per-user parts add up to the incidents' figures, and people were
    // on call (the simulator's on-call entries).
    let range = json!({ "from": Utc::now() - chrono::Duration::days(30), "to": Utc::now() });
    let m = app
        .data(
            "query($i: IncidentMetricsInput!) { incidentMetrics(input: $i) { rows {
               totalIncidentCount totalNotifications totalInterruptions totalSleepHourInterruptions } } }",
            json!({ "i": range }),
        )
        .await;
    let all = &m["incidentMetrics"]["rows"][0];
    assert_eq!(all["totalIncidentCount"], 300, "{m}");
    let r = app
        .data(
            "query($i: ResponderMetricsInput!) { responderMetrics(input: $i) { rows {
               totalNotifications totalInterruptions totalSleepHourInterruptions totalSecondsOnCall
               totalSecondsOnCallLevel1 totalSecondsOnCallLevel2Plus } } }",
            json!({ "i": range }),
        )
        .await;
    let people = r["responderMetrics"]["rows"].as_array().unwrap();
    let sum = |f: &str| people.iter().map(|p| p[f].as_i64().unwrap()).sum::<i64>();
    for f in [
        "totalNotifications",
        "totalInterruptions",
        "totalSleepHourInterruptions",
    ] {
        assert_eq!(sum(f), all[f].as_i64().unwrap(), "{f}");
    }
    assert!(sum("totalSecondsOnCall") > 0, "{r}");
    for p in people {
        let total = p["totalSecondsOnCall"].as_i64().unwrap();
        assert!(p["totalSecondsOnCallLevel1"].as_i64().unwrap() <= total);
        assert!(p["totalSecondsOnCallLevel2Plus"].as_i64().unwrap() <= total);
    }

    // The same organisation with a tenth of its raw analytics altered.
    let bent = sim_with(0.1, now).await;
    let expected = perturbed(&bent).await;
    assert_eq!(expected.len(), 30);
    // A fresh check (nothing of PagerDuty's kept, no earlier run).
    pagerduty_incident_analytics::Entity::delete_many()
        .exec(&app.db)
        .await
        .unwrap();
    analytics_drift_run::Entity::delete_many()
        .exec(&app.db)
        .await
        .unwrap();
    let report = drift::run(
        &app.db,
        &client(&bent, 2),
        &settings,
        30,
        "test",
        Utc::now(),
    )
    .await
    .unwrap();
    let found: BTreeSet<(String, String)> = report
        .mismatches
        .iter()
        .map(|m| (m.incident_id.clone(), m.field.clone()))
        .collect();
    assert_eq!(found, expected, "{}", drift::table(&report));
    assert_eq!(report.mismatches.len(), expected.len());
    assert!(!report.ok);
    assert!(
        report
            .mismatches
            .iter()
            .all(|m| !m.lag && m.ours != m.pagerduty)
    );
    assert_eq!(
        analytics_drift_run::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1
    );

    // GraphQL shows the latest report.
    let data = app
        .data(
            "{ analyticsDrift { incidentsCompared fieldsCompared ok trigger
               mismatches { incidentId field ours pagerduty cause lag } } }",
            json!({}),
        )
        .await;
    let d = &data["analyticsDrift"];
    assert_eq!(d["incidentsCompared"], 300);
    assert_eq!(d["ok"], false);
    assert_eq!(d["mismatches"].as_array().unwrap().len(), expected.len());
    let first = &d["mismatches"][0];
    assert!(first["cause"].as_str().unwrap().len() > 3, "{first}");

    // A token limited to one team sees the mismatches of its incidents only.
    let services_of = |team: String| {
        let db = app.db.clone();
        async move {
            service_team::Entity::find()
                .filter(service_team::Column::TeamId.eq(team))
                .all(&db)
                .await
                .unwrap()
                .into_iter()
                .map(|st| st.service_id)
                .collect::<BTreeSet<String>>()
        }
    };
    let some_team = service_team::Entity::find()
        .order_by_asc(service_team::Column::TeamId)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .team_id;
    let visible = services_of(some_team.clone()).await;
    let (account, token) = app
        .account_with_token("scoped@example.com", pagerlens::auth::Role::Viewer)
        .await;
    app.limit_account_to_teams(account, &[some_team.as_str()])
        .await;
    let (_, body) = app
        .gql_as(
            &token,
            "{ analyticsDrift { mismatches { incidentId } } }",
            json!({}),
        )
        .await;
    let seen: Vec<String> = body["data"]["analyticsDrift"]["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["incidentId"].as_str().unwrap().to_owned())
        .collect();
    let expected_seen: Vec<&(String, String)> = expected
        .iter()
        .filter(|(id, _)| {
            let service = incident_service(&app, id);
            visible.contains(&service)
        })
        .collect();
    assert_eq!(seen.len(), expected_seen.len(), "{body}");
    assert!(seen.len() < expected.len(), "the team sees fewer than all");
}

fn incident_service(app: &TestApp, id: &str) -> String {
    let db = app.db.clone();
    let id = id.to_owned();
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async move {
            incident::Entity::find_by_id(id)
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .service_id
                .unwrap()
        })
    })
}

/// A range over PagerDuty's year is refused before any call.
async fn a_range_over_a_year_is_refused(app: TestApp) {
    let sim = sim_with(0.0, Utc::now()).await;
    let err = drift::run(
        &app.db,
        &client(&sim, 0),
        &Default::default(),
        366,
        "test",
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("days"), "{err}");
    assert_eq!(sim.sim.calls("/analytics/raw/incidents").await, 0);
    let data = app.data("{ analyticsDrift { ok } }", json!({})).await;
    assert_eq!(data["analyticsDrift"], Value::Null);
}

/// `incidentMetrics` per service equals the simulator's own
/// `/analytics/metrics/incidents/services` (computed by its own code) field
/// for field; PagerDuty rounds means down.
async fn incident_metrics_equal_pagerdutys_per_service(app: TestApp) {
    let now = Utc::now() - chrono::Duration::minutes(1);
    let sim = sim_with(0.0, now).await;
    let c = client(&sim, 2);
    let mut opts = SyncOptions::new(SyncKind::Full { days: 30 }, "test");
    opts.fetch_custom_fields = false;
    sync::run(&app.db, &c, &opts).await.unwrap();
    let day = |d: i64| {
        (now - chrono::Duration::days(d))
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
    };
    let (from, to) = (day(25), day(-1));
    let theirs: Value = reqwest::Client::new()
        .post(format!(
            "{}/analytics/metrics/incidents/services",
            sim.base_url()
        ))
        .header("Authorization", "Token token=simulator-token")
        .json(&json!({ "filters": { "created_at_start": from.to_rfc3339(),
                                     "created_at_end": to.to_rfc3339() },
                       "time_zone": "Etc/UTC" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fields = crate::incident_analytics::ROW_FIELDS;
    let ours = app
        .data(
            &format!(
                "query($i: IncidentMetricsInput!) {{ incidentMetrics(input: $i) {{ rows {{ {fields} }} }} }}"
            ),
            json!({ "i": { "from": from, "to": to, "timeZone": "UTC", "groupBy": "SERVICE" } }),
        )
        .await;
    let ours = ours["incidentMetrics"]["rows"].as_array().unwrap().clone();
    let theirs = theirs["data"].as_array().unwrap().clone();
    assert_eq!(ours.len(), theirs.len(), "{theirs:?}");
    assert!(ours.len() >= 3);
    let camel = |snake: &str| {
        let mut out = String::new();
        let mut up = false;
        for ch in snake.chars() {
            if ch == '_' {
                up = true;
            } else if up {
                out.extend(ch.to_uppercase());
                up = false;
            } else {
                out.push(ch);
            }
        }
        out
    };
    let mut compared = 0;
    for t in &theirs {
        let service = t["service_id"].as_str().unwrap();
        let o = ours
            .iter()
            .find(|o| o["groupId"] == service)
            .unwrap_or_else(|| panic!("no row of ours for {service}"));
        for (key, value) in t.as_object().unwrap() {
            if key.ends_with("_id") || key.ends_with("_name") {
                continue;
            }
            let mine = o[camel(key)].clone();
            let same = match (mine.as_f64(), value.as_f64()) {
                (Some(m), Some(v)) if key.starts_with("mean_") => m.floor() == v,
                (Some(m), Some(v)) if key == "up_time_pct" => (m - v).abs() < 0.01,
                (Some(m), Some(v)) => m == v,
                _ => mine == *value,
            };
            assert!(same, "{service} {key}: ours {mine}, PagerDuty's {value}");
            compared += 1;
        }
    }
    assert!(compared > 60, "{compared}");
}

on_both_databases!(
    incident_metrics_equal_pagerdutys_per_service,
    drift_is_zero_and_perturbations_are_found_exactly,
    a_range_over_a_year_is_refused,
);

/// `pagerlens verify-analytics` exits 0 without drift and 1 with it,
/// printing one line per mismatch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_exits_by_what_it_found() {
    let now = Utc::now() - chrono::Duration::minutes(1);
    for (share, success) in [(0.0, true), (0.05, false)] {
        let sim = sim_with(share, now).await;
        let expected = perturbed(&sim).await;
        let dir = tempfile::tempdir().unwrap();
        let base = sim.base_url();
        let path = dir.path().to_owned();
        let run = move |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_pagerlens"))
                .current_dir(&path)
                .args(args)
                .env("PAGERDUTY_API_URL", &base)
                .env("PAGERDUTY_TOKEN", "simulator-token")
                .env("PAGERDUTY_REQUESTS_PER_MINUTE", "0")
                .env("PAGERLENS_SYNC_CUSTOM_FIELDS", "false")
                .output()
                .unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (code, _, stderr) = tokio::task::spawn_blocking({
            let run = run.clone();
            move || run(&["sync", "--days", "30"])
        })
        .await
        .unwrap();
        assert_eq!(code, Some(0), "{stderr}");
        let (code, stdout, stderr) =
            tokio::task::spawn_blocking(move || run(&["verify-analytics", "--days", "30"]))
                .await
                .unwrap();
        assert!(
            stdout.contains("compared 300 incidents"),
            "{stdout}{stderr}"
        );
        if success {
            assert_eq!(code, Some(0), "{stdout}{stderr}");
        } else {
            assert_eq!(code, Some(1), "{stdout}{stderr}");
            assert_eq!(expected.len(), 15);
            for (id, field) in &expected {
                assert!(
                    stdout
                        .lines()
                        .any(|l| l.starts_with(id.as_str()) && l.contains(field.as_str())),
                    "{id} {field} missing from:\n{stdout}"
                );
            }
        }
    }
}
