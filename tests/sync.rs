//! The PagerDuty sync against the simulator over real HTTP: a faithful copy,
//! idempotence, faults, crashes, outages, and incremental syncs whose cost
//! follows the change.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pagerlens::entities::*;
use pagerlens::pagerduty::simulator::{self, Faults, SimConfig, SimHandle, Sizes};
use pagerlens::pagerduty::sync::{self, SyncKind, SyncOptions};
use pagerlens::pagerduty::{Client, ClientConfig, Error};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, QueryOrder};

use crate::common::{Backend, TestApp, fresh_database};
use crate::on_both_databases;

pub fn sizes() -> Sizes {
    Sizes {
        teams: 3,
        users: 12,
        schedules: 4,
        escalation_policies: 4,
        services: 6,
        incidents: 300,
        days: 20,
    }
}

pub async fn start_sim(faults: Faults, now: DateTime<Utc>) -> SimHandle {
    let mut config = SimConfig::new(42, sizes());
    config.faults = faults;
    config.now = now;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    simulator::spawn(config, listener).await.unwrap()
}

pub fn client(sim: &SimHandle, retries: u32) -> Client {
    let mut c = ClientConfig::new(&sim.base_url(), "simulator-token");
    c.requests_per_minute = 0;
    c.max_concurrency = 4;
    c.max_retries = retries;
    c.backoff_base = Duration::from_millis(2);
    c.backoff_max = Duration::from_millis(20);
    c.read_timeout = Duration::from_secs(5);
    Client::new(c).unwrap()
}

fn full() -> SyncOptions {
    SyncOptions::new(SyncKind::Full { days: 30 }, "test")
}

fn now() -> DateTime<Utc> {
    // Whole seconds, a little in the past, so generated data is all before
    // the sync's own clock.
    DateTime::from_timestamp(Utc::now().timestamp() - 60, 0).unwrap()
}

/// Every synced table, in a canonical order, without our own bookkeeping
/// timestamps: equal snapshots mean equal content.
async fn snapshot(db: &DatabaseConnection) -> Vec<String> {
    macro_rules! dump {
        ($out:expr, $module:ident, $order:expr, |$m:ident| $clean:expr) => {
            for mut $m in $module::Entity::find()
                .order_by_asc($order)
                .all(db)
                .await
                .unwrap()
            {
                $clean;
                $out.push(format!("{:?}", $m));
            }
        };
    }
    let epoch = DateTime::<Utc>::from_timestamp(0, 0).unwrap();
    let mut out = Vec::new();
    dump!(out, priority, priority::Column::Id, |m| {
        m.created_at = epoch;
        m.updated_at = epoch;
        if m.deleted_at.is_some() {
            m.deleted_at = Some(epoch)
        }
    });
    dump!(out, team, team::Column::Id, |m| {
        m.created_at = epoch;
        m.updated_at = epoch;
        if m.deleted_at.is_some() {
            m.deleted_at = Some(epoch)
        }
    });
    dump!(out, user, user::Column::Id, |m| {
        m.created_at = epoch;
        m.updated_at = epoch;
        if m.deleted_at.is_some() {
            m.deleted_at = Some(epoch)
        }
    });
    dump!(out, service, service::Column::Id, |m| {
        m.created_at = epoch;
        m.updated_at = epoch;
        if m.deleted_at.is_some() {
            m.deleted_at = Some(epoch)
        }
    });
    dump!(out, escalation_policy, escalation_policy::Column::Id, |m| {
        m.created_at = epoch;
        m.updated_at = epoch
    });
    dump!(out, escalation_rule, escalation_rule::Column::Id, |m| {
        m.created_at = epoch;
        m.updated_at = epoch
    });
    dump!(out, schedule, schedule::Column::Id, |m| {
        m.created_at = epoch;
        m.updated_at = epoch
    });
    dump!(out, incident, incident::Column::Id, |m| {
        m.updated_at = epoch
    });
    dump!(
        out,
        incident_log_entry,
        incident_log_entry::Column::Id,
        |m| { m.updated_at = epoch }
    );
    let mut fields: Vec<String> = incident_custom_field_value::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|mut m| {
            m.created_at = epoch;
            m.updated_at = epoch;
            format!("{m:?}")
        })
        .collect();
    fields.sort();
    out.extend(fields);
    let mut links = Vec::new();
    for m in service_team::Entity::find().all(db).await.unwrap() {
        links.push(format!("st {} {}", m.service_id, m.team_id));
    }
    for m in team_member::Entity::find().all(db).await.unwrap() {
        links.push(format!("tm {} {} {:?}", m.team_id, m.user_id, m.role));
    }
    for m in schedule_user::Entity::find().all(db).await.unwrap() {
        links.push(format!("su {} {}", m.schedule_id, m.user_id));
    }
    for m in escalation_rule_target::Entity::find()
        .all(db)
        .await
        .unwrap()
    {
        links.push(format!(
            "rt {} {} {} {}",
            m.rule_id, m.target_type, m.target_id, m.position
        ));
    }
    for m in escalation_policy_service::Entity::find()
        .all(db)
        .await
        .unwrap()
    {
        links.push(format!("es {} {}", m.escalation_policy_id, m.service_id));
    }
    for m in incident_assignee::Entity::find().all(db).await.unwrap() {
        links.push(format!("ia {} {}", m.incident_id, m.user_id));
    }
    links.sort();
    out.extend(links);
    // SLAs: what the data decides (states and times used depend on when
    // they were computed).
    for t in incident_sla_target::Entity::find()
        .order_by_asc(incident_sla_target::Column::IncidentId)
        .order_by_asc(incident_sla_target::Column::Target)
        .order_by_asc(incident_sla_target::Column::Cycle)
        .all(db)
        .await
        .unwrap()
    {
        out.push(format!(
            "sla {} {} {} {:?} {:?} {:?} {:?}",
            t.incident_id, t.target, t.cycle, t.policy_name, t.started_at, t.deadline, t.met_at
        ));
    }
    out
}

/// Compares snapshots, reporting the first difference only.
fn assert_same(actual: &[String], expected: &[String]) {
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(a, e, "first difference at row {i}");
    }
    assert_eq!(actual.len(), expected.len(), "row counts differ");
}

/// A second database of the same backend, synced without faults: the
/// content every other run must converge to.
async fn reference_snapshot(backend: Backend, sim: &SimHandle) -> Vec<String> {
    let (config, _guard) = fresh_database(backend).await.unwrap();
    let db = pagerlens::db::connect(&config).await.unwrap();
    pagerlens::db::migrate_up(&db).await.unwrap();
    sync::run(&db, &client(sim, 3), &full()).await.unwrap();
    let snap = snapshot(&db).await;
    db.close().await.unwrap();
    snap
}

async fn full_sync_copies_everything_and_is_idempotent(app: TestApp) {
    let sim = start_sim(Faults::default(), now()).await;
    let report = sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    let org = sim.sim.org.read().await.clone();
    assert_eq!(
        incident::Entity::find().count(&app.db).await.unwrap() as usize,
        org.incidents.len()
    );
    assert_eq!(
        incident_log_entry::Entity::find()
            .count(&app.db)
            .await
            .unwrap() as usize,
        org.log_entries.len()
    );
    assert_eq!(
        service::Entity::find().count(&app.db).await.unwrap() as usize,
        org.services.len()
    );
    assert_eq!(
        team::Entity::find().count(&app.db).await.unwrap() as usize,
        org.teams.len()
    );
    // Every incident got its two SLA targets, and resolved ones are closed.
    let targets = pagerlens::entities::incident_sla_target::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(targets.len(), 2 * org.incidents.len());
    let resolved: std::collections::HashSet<&str> = org
        .incidents
        .iter()
        .filter(|i| i.status == "resolved")
        .map(|i| i.id.as_str())
        .collect();
    for t in targets
        .iter()
        .filter(|t| t.target == "resolution" && resolved.contains(t.incident_id.as_str()))
    {
        assert!(t.state == "MET" || t.state == "BREACHED", "{t:?}");
    }
    assert_eq!(priority::Entity::find().count(&app.db).await.unwrap(), 5);
    let fields: usize = org.custom_fields.values().map(|v| v.len()).sum();
    assert_eq!(
        incident_custom_field_value::Entity::find()
            .count(&app.db)
            .await
            .unwrap() as usize,
        fields
    );
    assert!(report.api.api_calls > 0);
    if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        use sea_orm::ConnectionTrait;
        // The run refreshed the planner statistics of the tables it filled
        // past `ANALYZE_FIRST` rows (a table never analyzed has -1), so
        // PostgreSQL planned its statements again for their size.
        for table in ["incident_log_entries", "incident_custom_field_values"] {
            let row = app
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    format!(
                        "SELECT reltuples::float8 AS n FROM pg_class WHERE relname = '{table}'"
                    ),
                ))
                .await
                .unwrap()
                .unwrap();
            let n: f64 = row.try_get("", "n").unwrap();
            assert!(n >= 500.0, "{table}: {n} rows in its statistics");
        }
    }
    assert!(
        !sync_state::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .is_empty(),
        "a watermark is stored"
    );
    assert!(oncall_entry::Entity::find().count(&app.db).await.unwrap() > 0);

    // Users referenced by schedules but gone from the account are kept as
    // deleted placeholders.
    let gone = user::Entity::find_by_id("PX00002")
        .one(&app.db)
        .await
        .unwrap()
        .expect("placeholder");
    assert!(gone.deleted_at.is_some());

    // Derived timing follows the log: first explicit acknowledgement, number
    // of escalate entries, who resolved.
    for inc in org.incidents.iter().take(80) {
        let entries: Vec<_> = org
            .log_entries
            .iter()
            .filter(|e| e.incident_id() == Some(inc.id.as_str()))
            .collect();
        let first_ack = entries.iter().find(|e| e.kind == "acknowledge_log_entry");
        let escalations = entries
            .iter()
            .filter(|e| e.kind == "escalate_log_entry")
            .count() as i32;
        let row = incident::Entity::find_by_id(inc.id.clone())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.acknowledged_at,
            first_ack.map(|e| e.created_at),
            "{}",
            inc.id
        );
        assert_eq!(
            row.acknowledged_by_user_id,
            first_ack.and_then(|e| e.agent.as_ref().map(|a| a.id.clone())),
            "{}",
            inc.id
        );
        assert_eq!(row.escalation_count, escalations, "{}", inc.id);
        assert_eq!(row.status, inc.status);
        assert_eq!(row.resolved_at, inc.resolved_at);
    }

    // A second identical sync changes nothing, not even `updated_at`.
    let before: Vec<incident::Model> = incident::Entity::find()
        .order_by_asc(incident::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let report = sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    for (kind, c) in &report.counts {
        assert_eq!(
            (c.inserted, c.updated),
            (0, 0),
            "{kind} changed on an identical sync: {c:?}"
        );
    }
    let after: Vec<incident::Model> = incident::Entity::find()
        .order_by_asc(incident::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(before, after);

    // The run is recorded.
    let runs = sync_run::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(
        runs.iter()
            .all(|r| r.status == "succeeded" && r.api_calls > 0 && r.finished_at.is_some())
    );
}

async fn faults_in_many_requests_end_in_the_same_content(app: TestApp) {
    let at = now();
    let clean = start_sim(
        Faults {
            unknown_fields: true,
            ..Faults::default()
        },
        at,
    )
    .await;
    let expected = reference_snapshot(app.backend, &clean).await;
    // Unknown fields are ignored and unknown enum values kept as sent, so the
    // reference serves them too.
    let faulty = start_sim(Faults::mixed(0.15), at).await;
    let report = sync::run(&app.db, &client(&faulty, 25), &full())
        .await
        .unwrap();
    let injected = faulty
        .sim
        .faults_injected
        .load(std::sync::atomic::Ordering::Relaxed);
    let requests = faulty
        .sim
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        injected * 100 >= requests * 10,
        "only {injected} faults in {requests} requests"
    );
    assert_same(&snapshot(&app.db).await, &expected);
    assert!(
        report.api.retries > 0 && report.api.rate_limited > 0,
        "{:?}",
        report.api
    );
    let run = sync_run::Entity::find_by_id(report.run_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.retries as u64, report.api.retries);
    assert_eq!(run.rate_limited as u64, report.api.rate_limited);
}

async fn a_killed_sync_converges_when_run_again(app: TestApp) {
    let sim = start_sim(Faults::default(), now()).await;
    let expected = reference_snapshot(app.backend, &sim).await;
    let db = app.db.clone();
    let c = client(&sim, 3);
    let task = tokio::spawn(async move { sync::run(&db, &c, &full()).await });
    // Kill it in the middle of the incident pages.
    while sim.sim.calls("/log_entries").await < 2 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    task.abort();
    let _ = task.await;
    sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    assert_same(&snapshot(&app.db).await, &expected);
}

async fn incremental_sync_fetches_only_what_changed(app: TestApp) {
    let sim = start_sim(Faults::default(), now()).await;
    sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    // 1% of the incidents change and two are new.
    let touched = sim
        .sim
        .mutate(3, 2, now() + chrono::Duration::seconds(30))
        .await;
    let c = client(&sim, 3);
    let values_before = sim.sim.calls("/incidents/{id}/custom_fields/values").await;
    let report = sync::run(
        &app.db,
        &c,
        &SyncOptions::new(SyncKind::Incremental, "test"),
    )
    .await
    .unwrap();
    // One page of log entries, the custom fields of the five incidents, and
    // the field definitions read again (the account's list, the incident
    // types and each type's fields: three types).
    let definitions = 2 + 3;
    assert!(
        report.api.api_calls <= 2 + touched.len() as u64 + definitions,
        "{} calls for {} changed incidents",
        report.api.api_calls,
        touched.len()
    );
    assert_eq!(
        sim.sim.calls("/incidents/{id}/custom_fields/values").await - values_before,
        touched.len() as u64
    );
    let expected = reference_snapshot(app.backend, &sim).await;
    assert_same(&snapshot(&app.db).await, &expected);
    for id in &touched {
        let row = incident::Entity::find_by_id(id.clone())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let upstream = sim
            .sim
            .org
            .read()
            .await
            .incident(id)
            .unwrap()
            .status
            .clone();
        assert_eq!(row.status, upstream);
    }
}

async fn an_outage_fails_the_run_keeps_data_and_the_next_run_continues(app: TestApp) {
    let sim = start_sim(Faults::default(), now()).await;
    sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    let watermark = sync_state::Entity::find_by_id("log_entries")
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .watermark;
    sim.sim
        .mutate(5, 1, now() + chrono::Duration::seconds(30))
        .await;
    sim.sim
        .outage
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let err = sync::run(
        &app.db,
        &client(&sim, 2),
        &SyncOptions::new(SyncKind::Incremental, "test"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Exhausted { .. }), "{err}");
    assert!(err.to_string().contains("did not answer"), "{err}");
    let failed = sync_run::Entity::find()
        .order_by_desc(sync_run::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, "failed");
    assert!(failed.error.unwrap().contains("Service Unavailable"));
    assert!(failed.retries >= 2);
    // Nothing committed before was lost, and the watermark did not move.
    assert_eq!(incident::Entity::find().count(&app.db).await.unwrap(), 300);
    let after = sync_state::Entity::find_by_id("log_entries")
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .watermark;
    assert_eq!(watermark, after);
    sim.sim
        .outage
        .store(false, std::sync::atomic::Ordering::Relaxed);
    sync::run(
        &app.db,
        &client(&sim, 2),
        &SyncOptions::new(SyncKind::Incremental, "test"),
    )
    .await
    .unwrap();
    let expected_now = reference_snapshot(app.backend, &sim).await;
    assert_same(&snapshot(&app.db).await, &expected_now);
}

/// The log pages of a run leave acknowledgements, escalations and resolves
/// to be derived a batch at a time; a run that fails between pages still
/// derives what it stored, and stores no watermark past it.
async fn an_outage_between_log_pages_leaves_what_was_stored_derived(app: TestApp) {
    let mut config = SimConfig::new(42, sizes());
    config.now = now();
    // Slow enough answers that the outage starts among the log pages.
    config.latency = Duration::from_millis(15);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = simulator::spawn(config, listener).await.unwrap();
    let db = app.db.clone();
    let c = client(&sim, 1);
    let task = tokio::spawn(async move { sync::run(&db, &c, &full()).await });
    while sim.sim.calls("/log_entries").await < 2 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    sim.sim
        .outage
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Exhausted { .. }), "{err}");
    let entries = incident_log_entry::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        !entries.is_empty(),
        "no log page was written before the outage"
    );
    let mut first_ack: std::collections::BTreeMap<String, DateTime<Utc>> =
        std::collections::BTreeMap::new();
    for e in entries.iter().filter(|e| e.kind == "acknowledge_log_entry") {
        let at = first_ack
            .entry(e.incident_id.clone())
            .or_insert(e.created_at);
        *at = (*at).min(e.created_at);
    }
    assert!(
        !first_ack.is_empty(),
        "no acknowledgement was written before the outage"
    );
    for (id, at) in &first_ack {
        let row = incident::Entity::find_by_id(id.clone())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.acknowledged_at, Some(*at), "{id}");
    }
    // No window was completed, so no watermark covers the entries.
    assert!(
        sync_state::Entity::find_by_id("log_entries")
            .one(&app.db)
            .await
            .unwrap()
            .is_none()
    );
    sim.sim
        .outage
        .store(false, std::sync::atomic::Ordering::Relaxed);
    sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    let expected = reference_snapshot(app.backend, &sim).await;
    assert_same(&snapshot(&app.db).await, &expected);
}

async fn a_bad_token_is_refused_without_retrying(app: TestApp) {
    let sim = start_sim(Faults::default(), now()).await;
    let c = Client::new(ClientConfig::new(&sim.base_url(), "wrong")).unwrap();
    let err = sync::run(&app.db, &c, &full()).await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 401, .. }), "{err}");
    assert_eq!(c.stats.snapshot().api_calls, 1);
}

async fn a_service_sync_fetches_one_service(app: TestApp) {
    let sim = start_sim(Faults::default(), now()).await;
    let opts = SyncOptions::new(
        SyncKind::Service {
            id: "PV00001".into(),
            since: None,
        },
        "test",
    );
    sync::run(&app.db, &client(&sim, 3), &opts).await.unwrap();
    let org = sim.sim.org.read().await.clone();
    let expected = org
        .incidents
        .iter()
        .filter(|i| i.service.as_ref().unwrap().id == "PV00001")
        .count();
    let rows = incident::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), expected);
    assert!(
        rows.iter()
            .all(|r| r.service_id.as_deref() == Some("PV00001"))
    );
    assert!(
        incident_log_entry::Entity::find()
            .count(&app.db)
            .await
            .unwrap()
            > 0
    );
    // Each incident was copied before its log: measured once, after it.
    assert!(assert_each_outcome_once(&app.db, &org).await > 0);
}

/// A full sync writes custom fields after the log entries have computed the
/// SLAs: a status field whose value maps to `WAITING` must still pause the
/// clocks of the open incidents that carry it, and only theirs.
async fn a_waiting_status_field_pauses_clocks_in_a_full_sync(app: TestApp) {
    use sea_orm::{ColumnTrait, QueryFilter};
    let sim = start_sim(Faults::default(), now()).await;
    crate::common::map_as_waiting(&app.db, "resolution", "vendor").await;
    let mut opts = full();
    opts.sla.status_field = Some("resolution".into());
    sync::run(&app.db, &client(&sim, 3), &opts).await.unwrap();
    let org = sim.sim.org.read().await.clone();
    let mut expected: Vec<String> = org
        .incidents
        .iter()
        .filter(|i| i.status != "resolved")
        .filter(|i| {
            org.custom_fields.get(&i.id).is_some_and(|fields| {
                fields
                    .iter()
                    .any(|f| f.name == "resolution" && f.value == serde_json::json!("vendor"))
            })
        })
        .map(|i| i.id.clone())
        .collect();
    expected.sort();
    assert!(
        !expected.is_empty(),
        "the fixture has open incidents waiting on a vendor"
    );
    let mut paused: Vec<String> = sla_pause::Entity::find()
        .filter(sla_pause::Column::EndedAt.is_null())
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| {
            assert!(p.automatic && p.reason.starts_with("waiting: "), "{p:?}");
            p.incident_id
        })
        .collect();
    paused.sort();
    assert_eq!(paused, expected);
    let open_resolution_targets = incident_sla_target::Entity::find()
        .filter(incident_sla_target::Column::IncidentId.is_in(expected.clone()))
        .filter(incident_sla_target::Column::Target.eq("resolution"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(open_resolution_targets.len(), expected.len());
    assert!(
        open_resolution_targets
            .iter()
            .all(|t| t.state == "PAUSED" || t.state == "BREACHED"),
        "{open_resolution_targets:?}"
    );
}

/// An incident copied before its log (a full sync writes the incident pages
/// first) is measured once its log has caught up with its status: its
/// timeline never shows a breach that its acknowledgement, still on its
/// way, contradicts ("resolved without an acknowledgement", then "met").
async fn a_full_sync_records_each_sla_outcome_once(app: TestApp) {
    let sim = start_sim(Faults::default(), now()).await;
    sync::run(&app.db, &client(&sim, 3), &full()).await.unwrap();
    let org = sim.sim.org.read().await.clone();
    let checked = assert_each_outcome_once(&app.db, &org).await;
    assert!(checked > 10, "acknowledged, resolved incidents: {checked}");
}

/// Every SLA target has at most one outcome (met or breached) per cycle,
/// and the response target of a resolved incident that was acknowledged is
/// met, with that one outcome. Returns how many such incidents were seen.
async fn assert_each_outcome_once(db: &DatabaseConnection, org: &simulator::Org) -> usize {
    use sea_orm::{ColumnTrait, QueryFilter};
    let targets = incident_sla_target::Entity::find().all(db).await.unwrap();
    let stored: std::collections::HashSet<&str> =
        targets.iter().map(|t| t.incident_id.as_str()).collect();
    let acked_then_resolved: Vec<&str> = org
        .incidents
        .iter()
        .filter(|i| i.status == "resolved" && stored.contains(i.id.as_str()))
        .filter(|i| {
            org.log_entries.iter().any(|e| {
                e.incident_id() == Some(i.id.as_str()) && e.kind == "acknowledge_log_entry"
            })
        })
        .map(|i| i.id.as_str())
        .collect();
    let events = sla_event::Entity::find()
        .filter(sla_event::Column::Kind.is_in(["met", "breached"]))
        .all(db)
        .await
        .unwrap();
    let mut outcomes: std::collections::HashMap<(String, String), Vec<String>> =
        std::collections::HashMap::new();
    for e in events {
        if let Some(target) = e.target {
            outcomes
                .entry((e.incident_id, target))
                .or_default()
                .push(e.kind);
        }
    }
    for t in &targets {
        let kinds = outcomes
            .get(&(t.incident_id.clone(), t.target.clone()))
            .cloned()
            .unwrap_or_default();
        assert!(
            kinds.len() <= t.cycle as usize,
            "{} {}: outcomes {kinds:?} in {} cycle(s)",
            t.incident_id,
            t.target,
            t.cycle
        );
        if acked_then_resolved.contains(&t.incident_id.as_str()) && t.target == "response" {
            assert_eq!(t.state, "MET", "{t:?}");
            assert_eq!(kinds, ["met"], "{}", t.incident_id);
        }
    }
    acked_then_resolved.len()
}

on_both_databases!(
    a_waiting_status_field_pauses_clocks_in_a_full_sync,
    a_full_sync_records_each_sla_outcome_once,
    full_sync_copies_everything_and_is_idempotent,
    faults_in_many_requests_end_in_the_same_content,
    a_killed_sync_converges_when_run_again,
    incremental_sync_fetches_only_what_changed,
    an_outage_fails_the_run_keeps_data_and_the_next_run_continues,
    an_outage_between_log_pages_leaves_what_was_stored_derived,
    a_bad_token_is_refused_without_retrying,
    a_service_sync_fetches_one_service,
);
