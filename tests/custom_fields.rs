//! Custom-field calls only where custom fields can exist: the sync reads the
//! account's field definitions first and asks for an incident's values only
//! when its type has fields, against simulated organisations with fields on
//! every incident type, on none, and on some types only; a field defined
//! later is picked up and the incidents synced before get their values once.

use std::collections::{BTreeMap, BTreeSet};

use pagerlens::entities::{incident, incident_custom_field_value};
use pagerlens::pagerduty::simulator::{self, FieldSetup, SimConfig, SimHandle};
use pagerlens::pagerduty::sync::{self, SyncKind, SyncOptions};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::common::TestApp;
use crate::on_both_databases;
use crate::sync::{client, sizes};

const VALUES: &str = "/incidents/{id}/custom_fields/values";
const DEFINITIONS: [&str; 3] = [
    "/incidents/custom_fields",
    "/incidents/types",
    "/incidents/types/{type_id_or_name}/custom_fields",
];

async fn start(setup: FieldSetup) -> SimHandle {
    let mut config = SimConfig::new(42, sizes());
    config.now = chrono::Utc::now() - chrono::Duration::minutes(1);
    config.custom_fields = setup;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    simulator::spawn(config, listener).await.unwrap()
}

async fn calls(sim: &SimHandle, route: &str) -> u64 {
    sim.sim.calls(route).await
}

/// The values the simulator shows, per incident (those without none).
async fn upstream(sim: &SimHandle) -> BTreeMap<String, BTreeSet<(String, Option<String>)>> {
    let org = sim.sim.org.read().await;
    org.incidents
        .iter()
        .map(|i| {
            let values: BTreeSet<(String, Option<String>)> = org
                .field_values(&i.id)
                .iter()
                .map(|f| (f.name.clone(), f.value_text()))
                .collect();
            (i.id.clone(), values)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// The values we hold, per incident (non-null ones, as the simulator lists
/// a null value too: compared by name and text).
async fn stored(db: &DatabaseConnection) -> BTreeMap<String, BTreeSet<(String, Option<String>)>> {
    let mut out: BTreeMap<String, BTreeSet<(String, Option<String>)>> = BTreeMap::new();
    for v in incident_custom_field_value::Entity::find()
        .all(db)
        .await
        .unwrap()
    {
        out.entry(v.incident_id)
            .or_default()
            .insert((v.name, v.value_text));
    }
    out
}

/// Incidents of each type, as the simulator has them.
async fn of_type(sim: &SimHandle, name: &str) -> Vec<String> {
    sim.sim
        .org
        .read()
        .await
        .incidents
        .iter()
        .filter(|i| i.incident_type.as_ref().and_then(|t| t.name.as_deref()) == Some(name))
        .map(|i| i.id.clone())
        .collect()
}

fn full() -> SyncOptions {
    SyncOptions::new(SyncKind::Full { days: 30 }, "test")
}

async fn an_account_without_custom_fields_costs_no_per_incident_call(app: TestApp) {
    let sim = start(FieldSetup::None).await;
    let report = sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    assert_eq!(calls(&sim, VALUES).await, 0, "no value is asked for");
    for route in DEFINITIONS {
        assert!(calls(&sim, route).await >= 1, "{route} is read");
    }
    assert!(stored(&app.db).await.is_empty());
    // Every incident is stored, with its type, and not marked as fetched.
    let incidents = incident::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(incidents.len(), sizes().incidents);
    assert!(
        incidents
            .iter()
            .all(|i| i.incident_type.is_some() && !i.custom_fields_fetched)
    );
    // The calls: the reference lists, the incident and log pages and the
    // definitions; far fewer than one per incident.
    assert!(
        report.api.api_calls < sizes().incidents as u64 / 4,
        "{} calls",
        report.api.api_calls
    );
}

async fn values_are_fetched_only_for_the_types_that_have_fields(app: TestApp) {
    let sim = start(FieldSetup::SomeTypes).await;
    sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    let security = of_type(&sim, "security").await;
    assert!(!security.is_empty() && security.len() < sizes().incidents / 4);
    assert_eq!(calls(&sim, VALUES).await, security.len() as u64);
    assert_eq!(stored(&app.db).await, upstream(&sim).await);
    let fetched: BTreeSet<String> = incident::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.custom_fields_fetched)
        .map(|i| i.id)
        .collect();
    assert_eq!(fetched, security.into_iter().collect());

    // An incremental sync fetches the values of changed incidents that have
    // fields (a change of a value is logged only for those) and nothing else.
    let before = calls(&sim, VALUES).await;
    let touched = sim
        .sim
        .mutate(16, 0, chrono::Utc::now() - chrono::Duration::seconds(30))
        .await;
    let with_fields: Vec<&String> = {
        let org = sim.sim.org.read().await;
        touched
            .iter()
            .filter(|id| !org.field_values(id).is_empty())
            .collect()
    };
    assert!(!with_fields.is_empty() && with_fields.len() < touched.len());
    sync::run(
        &app.db,
        &client(&sim, 3),
        &SyncOptions::new(SyncKind::Incremental, "test"),
    )
    .await
    .unwrap();
    assert_eq!(calls(&sim, VALUES).await - before, with_fields.len() as u64);
    assert_eq!(stored(&app.db).await, upstream(&sim).await);
}

async fn every_incident_is_asked_when_every_type_has_fields(app: TestApp) {
    let sim = start(FieldSetup::All).await;
    sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    assert_eq!(calls(&sim, VALUES).await, sizes().incidents as u64);
    assert_eq!(stored(&app.db).await, upstream(&sim).await);
}

async fn a_field_defined_later_is_picked_up_and_backfilled(app: TestApp) {
    let sim = start(FieldSetup::None).await;
    sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    assert_eq!(calls(&sim, VALUES).await, 0);
    // The admin defines fields on the security type: its incidents, synced
    // while the account had none, show values now.
    sim.sim.set_field_setup(FieldSetup::SomeTypes).await;
    let security = of_type(&sim, "security").await;
    let incremental = SyncOptions::new(SyncKind::Incremental, "test");
    sync::run(&app.db, &client(&sim, 3), &incremental)
        .await
        .unwrap();
    assert_eq!(
        calls(&sim, VALUES).await,
        security.len() as u64,
        "each security incident's values are fetched once"
    );
    assert_eq!(stored(&app.db).await, upstream(&sim).await);
    // Once is enough: the next run asks for none.
    sync::run(&app.db, &client(&sim, 3), &incremental)
        .await
        .unwrap();
    assert_eq!(calls(&sim, VALUES).await, security.len() as u64);
    // Fields on every type: the other incidents follow, once each.
    sim.sim.set_field_setup(FieldSetup::All).await;
    sync::run(&app.db, &client(&sim, 3), &incremental)
        .await
        .unwrap();
    assert_eq!(calls(&sim, VALUES).await, sizes().incidents as u64);
    assert_eq!(stored(&app.db).await, upstream(&sim).await);
}

on_both_databases!(
    an_account_without_custom_fields_costs_no_per_incident_call,
    values_are_fetched_only_for_the_types_that_have_fields,
    every_incident_is_asked_when_every_type_has_fields,
    a_field_defined_later_is_picked_up_and_backfilled,
);
