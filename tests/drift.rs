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
use sea_orm::{EntityTrait, PaginatorTrait};
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

on_both_databases!(
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
