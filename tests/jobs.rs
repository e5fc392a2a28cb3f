//! The job queue: a job whose worker died is re-queued and completes (or
//! fails saying why once attempts run out); two workers never run one job
//! twice; a cron tick fired by two replicas enqueues once; cancellation;
//! retries after a transient failure and no retry after a permanent one;
//! `jobUpdated` pushes progress; `schedules` and `runJobNow`; scheduled
//! reports posting their link to a webhook.

use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use pagerlens::auth::Role;
use pagerlens::entities::{job, job_log};
use pagerlens::jobs::queue::{self, Beat, Cancel, NewJob};
use pagerlens::jobs::{JobKind, Runner, scheduler};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::common::fixtures::{seed_catalog, seed_incidents};
use crate::common::{TestApp, assert_error};
use crate::on_both_databases;
use crate::subscriptions::{next_json, send_subscribe, subscribe};

const JOB: &str = "query($id: ID!) { job(id: $id) { status progress message error attempts
    logs { level line } file { name } } }";

fn new_job(kind: JobKind, max_attempts: i32) -> NewJob {
    NewJob {
        kind,
        params: json!({}),
        trigger: "api".into(),
        requested_by: None,
        dedupe_key: None,
        max_attempts,
    }
}

async fn job_of(app: &TestApp, id: i32) -> Value {
    app.data(JOB, json!({"id": id.to_string()})).await["job"].clone()
}

async fn request_report(app: &TestApp) -> i32 {
    let d = app
        .data(
            "mutation { requestReport(input: {kind: INCIDENTS, format: CSV}) { id } }",
            json!({}),
        )
        .await;
    d["requestReport"]["id"].as_str().unwrap().parse().unwrap()
}

/// A server killed in the middle of a report leaves its job RUNNING with a
/// heartbeat that stops; the next server re-queues it and completes it.
async fn a_job_whose_worker_died_is_requeued_and_completes(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 20).await;
    let id = request_report(&app).await;
    let claimed = queue::claim(&app.db, "killed-server", Utc::now())
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!((claimed.id, claimed.attempts), (id, 1));
    // Within the stall timeout nothing happens.
    let r = queue::recover_stalled(&app.db, Duration::seconds(30), Utc::now())
        .await
        .unwrap();
    assert!(r.requeued.is_empty());
    assert_eq!(
        app.app.jobs.run_pending().await.unwrap(),
        0,
        "still owned by the dead worker"
    );
    // After it, the job goes back to the queue, saying why.
    let later = Utc::now() + Duration::seconds(31);
    let r = queue::recover_stalled(&app.db, Duration::seconds(30), later)
        .await
        .unwrap();
    assert_eq!(r.requeued, vec![id]);
    let j = job_of(&app, id).await;
    assert_eq!(j["status"], "QUEUED");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("no heartbeat for 30 s"),
        "{j}"
    );
    // The dead worker's late heartbeat learns it lost the job.
    assert_eq!(
        queue::beat(&app.db, id, "killed-server", None, Utc::now())
            .await
            .unwrap(),
        Beat::Lost
    );
    assert_eq!(app.app.jobs.run_pending().await.unwrap(), 1);
    let j = job_of(&app, id).await;
    assert_eq!(j["status"], "SUCCEEDED", "{j}");
    assert_eq!(j["attempts"], 2);
    let resp = app
        .client
        .get(app.url(&format!("/reports/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap().lines().count(), 21);
}

async fn a_stalled_job_without_attempts_left_fails_saying_why(app: TestApp) {
    let j = queue::enqueue(&app.db, new_job(JobKind::SlaCheck, 1), Utc::now())
        .await
        .unwrap()
        .unwrap();
    queue::claim(&app.db, "killed-server", Utc::now())
        .await
        .unwrap()
        .unwrap();
    let r = queue::recover_stalled(
        &app.db,
        Duration::seconds(30),
        Utc::now() + Duration::minutes(5),
    )
    .await
    .unwrap();
    assert_eq!(r.failed, vec![j.id]);
    let j = job_of(&app, j.id).await;
    assert_eq!(j["status"], "FAILED");
    assert!(
        j["error"].as_str().unwrap().contains("no attempts left"),
        "{j}"
    );
}

async fn two_workers_never_run_one_job_twice(app: TestApp) {
    for _ in 0..24 {
        queue::enqueue(&app.db, new_job(JobKind::SlaCheck, 3), Utc::now())
            .await
            .unwrap();
    }
    let config = app.app.config.clone();
    let a = Runner::new(app.db.clone(), config.clone(), app.app.events.clone(), None);
    let b = Runner::new(app.db.clone(), config, app.app.events.clone(), None);
    let (na, nb) = tokio::join!(a.run_pending(), b.run_pending());
    let (na, nb) = (na.unwrap(), nb.unwrap());
    assert_eq!(na + nb, 24);
    let jobs = job::Entity::find().all(&app.db).await.unwrap();
    assert!(
        jobs.iter()
            .all(|j| j.status == "SUCCEEDED" && j.attempts == 1),
        "{jobs:?}"
    );
    for j in &jobs {
        let starts = job_log::Entity::find()
            .filter(job_log::Column::JobId.eq(j.id))
            .filter(job_log::Column::Line.starts_with("started on"))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(starts, 1, "job {} started once", j.id);
    }
}

async fn a_cron_tick_fired_by_two_replicas_enqueues_once(app: TestApp) {
    let config = app.app.config.clone();
    let (_, cron) = pagerlens::cron::parse("0 */5 * * * *").unwrap();
    let tick = pagerlens::cron::tick_at(&cron, Utc::now()).unwrap();
    let (a, b) = tokio::join!(
        scheduler::enqueue_tick(&app.db, JobKind::SlaCheck, config.jobs.max_attempts, tick),
        scheduler::enqueue_tick(&app.db, JobKind::SlaCheck, config.jobs.max_attempts, tick),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.is_some() as u8 + b.is_some() as u8,
        1,
        "exactly one replica enqueued"
    );
    assert_eq!(job::Entity::find().count(&app.db).await.unwrap(), 1);
    let next = tick + Duration::minutes(5);
    assert!(
        scheduler::enqueue_tick(&app.db, JobKind::SlaCheck, config.jobs.max_attempts, next)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(job::Entity::find().count(&app.db).await.unwrap(), 2);
}

async fn cancelling_jobs(app: TestApp) {
    seed_catalog(&app.db).await;
    let (_, user) = app.account_with_token("user@example.com", Role::User).await;
    let (_, other) = app
        .account_with_token("other@example.com", Role::User)
        .await;
    let (_, body) = app
        .gql_as(
            &user,
            "mutation { requestReport(input: {kind: TEAMS, format: CSV}) { id } }",
            json!({}),
        )
        .await;
    let id = body["data"]["requestReport"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Not someone else's to cancel.
    let cancel = format!("mutation {{ cancelJob(id: \"{id}\") {{ status message }} }}");
    let (_, body) = app.gql_as(&other, &cancel, json!({})).await;
    assert_error(&body, "FORBIDDEN");
    // Queued: cancelled at once, and never runs.
    let (_, body) = app.gql_as(&user, &cancel, json!({})).await;
    assert_eq!(body["data"]["cancelJob"]["status"], "CANCELLED", "{body}");
    assert_eq!(app.app.jobs.run_pending().await.unwrap(), 0);
    // Finished: refused, unchanged.
    let (_, body) = app.gql_as(&user, &cancel, json!({})).await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("already finished"));
    // Running elsewhere: its worker is told at its next heartbeat.
    let j = queue::enqueue(&app.db, new_job(JobKind::SlaCheck, 3), Utc::now())
        .await
        .unwrap()
        .unwrap();
    queue::claim(&app.db, "other-server", Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        queue::cancel(&app.db, j.id, Utc::now()).await.unwrap(),
        Cancel::Requested
    );
    assert_eq!(
        queue::beat(
            &app.db,
            j.id,
            "other-server",
            Some((40, Some("x".into()))),
            Utc::now()
        )
        .await
        .unwrap(),
        Beat::CancelRequested
    );
    // If that server died meanwhile, recovery cancels instead of re-queueing.
    let r = queue::recover_stalled(
        &app.db,
        Duration::seconds(30),
        Utc::now() + Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(r.cancelled, vec![j.id]);
}

async fn failures_retry_with_backoff_unless_permanent(app: TestApp) {
    // Permanent: a sync without PagerDuty fails at once, saying why.
    let j = queue::enqueue(&app.db, new_job(JobKind::Sync, 3), Utc::now())
        .await
        .unwrap()
        .unwrap();
    app.app.jobs.run_pending().await.unwrap();
    let v = job_of(&app, j.id).await;
    assert_eq!(
        (v["status"].as_str(), v["attempts"].as_i64()),
        (Some("FAILED"), Some(1)),
        "{v}"
    );
    assert!(v["error"].as_str().unwrap().contains("PAGERDUTY_TOKEN"));
    // Transient: a report whose directory cannot be created is retried
    // later (not at once), with the error kept.
    seed_catalog(&app.db).await;
    let blocker = app.reports_dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let mut config = (*app.app.config).clone();
    config.reports.dir = blocker.join("reports");
    let runner = Runner::new(
        app.db.clone(),
        Arc::new(config),
        app.app.events.clone(),
        None,
    );
    let id = request_report(&app).await;
    assert_eq!(runner.run_pending().await.unwrap(), 1);
    let v = job_of(&app, id).await;
    assert_eq!(v["status"], "QUEUED", "{v}");
    assert_eq!(v["attempts"], 1);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("cannot create the report directory"),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().starts_with("will retry at"),
        "{v}"
    );
    assert_eq!(
        runner.run_pending().await.unwrap(),
        0,
        "not before its back-off"
    );
    let run_after = job::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .run_after;
    assert!(run_after > Utc::now() + Duration::seconds(5));
}

async fn job_updated_pushes_progress_until_the_end(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 10).await;
    let id = request_report(&app).await;
    let mut ws = subscribe(
        &app,
        &app.admin_token,
        &format!("subscription {{ jobUpdated(id: \"{id}\") {{ status progress message }} }}"),
    )
    .await;
    let first = next_json(&mut ws).await;
    assert_eq!(
        first["payload"]["data"]["jobUpdated"]["status"], "QUEUED",
        "{first}"
    );
    app.app.jobs.run_pending().await.unwrap();
    let mut last = Value::Null;
    for _ in 0..20 {
        let msg = next_json(&mut ws).await;
        if msg["type"] == "complete" {
            break;
        }
        last = msg["payload"]["data"]["jobUpdated"].clone();
    }
    assert_eq!(last["status"], "SUCCEEDED", "{last}");
    assert_eq!(last["progress"], 100);
    // Someone else's job cannot be watched.
    let (_, viewer) = app
        .account_with_token("viewer@example.com", Role::Viewer)
        .await;
    let mut ws = send_subscribe(
        &app,
        &viewer,
        &format!("subscription {{ jobUpdated(id: \"{id}\") {{ status }} }}"),
    )
    .await;
    let msg = next_json(&mut ws).await;
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{msg}"
    );
}

async fn schedules_and_run_job_now(app: TestApp) {
    let d = app
        .data("{ schedules { kind variable expression enabled disabledReason nextRunAt lastJob { id } } }", json!({}))
        .await;
    let list = d["schedules"].as_array().unwrap();
    let sla = list.iter().find(|s| s["kind"] == "SLA_CHECK").unwrap();
    assert_eq!(sla["variable"], "PAGERLENS_CRON_SLA_CHECK");
    assert_eq!(sla["expression"], "0 */5 * * * *");
    assert!(sla["nextRunAt"].is_string());
    let sync = list.iter().find(|s| s["kind"] == "SYNC").unwrap();
    assert_eq!(sync["enabled"], false);
    assert!(
        sync["disabledReason"]
            .as_str()
            .unwrap()
            .contains("PAGERDUTY_TOKEN")
    );

    let (_, user) = app.account_with_token("user@example.com", Role::User).await;
    let run = "mutation { runJobNow(kind: SLA_CHECK) { id status kind } }";
    let (_, body) = app.gql_as(&user, run, json!({})).await;
    assert_error(&body, "FORBIDDEN");
    let d = app.data(run, json!({})).await;
    assert_eq!(d["runJobNow"]["kind"], "sla_check");
    let body = app
        .gql("mutation { runJobNow(kind: REPORT) { id } }", json!({}))
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    app.app.jobs.run_pending().await.unwrap();
    let d = app
        .data(
            "{ schedules { kind lastJob { status result } } }",
            json!({}),
        )
        .await;
    let sla = d["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "SLA_CHECK")
        .unwrap()
        .clone();
    assert_eq!(sla["lastJob"]["status"], "SUCCEEDED");
    assert_eq!(
        sla["lastJob"]["result"],
        json!({"breached": 0, "warned": 0})
    );
}

/// A tiny webhook receiver on loopback.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

async fn scheduled_reports_run_once_per_tick_and_post_their_link(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 6).await;
    let (hook, got) = webhook_receiver().await;
    let (_, user) = app
        .account_with_token("auditor@example.com", Role::User)
        .await;
    let create = "mutation($i: ReportScheduleInput!) { createReportSchedule(input: $i) { id cron timeZone nextRunAt } }";
    let bad = json!({"i": {"name": "weekly", "kind": "INCIDENTS", "format": "XLSX",
        "cron": "every monday", "timeZone": "Europe/Paris"}});
    let (_, body) = app.gql_as(&user, create, bad).await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("cron"));
    let good = json!({"i": {"name": "hourly incidents", "kind": "INCIDENTS", "format": "CSV",
        "cron": "0 * * * *", "timeZone": "Europe/Paris", "webhookUrl": hook}});
    let (_, body) = app.gql_as(&user, create, good).await;
    let s = &body["data"]["createReportSchedule"];
    assert_eq!(s["cron"], "0 0 * * * *", "{body}");
    assert!(s["nextRunAt"].is_string());
    let sid: i32 = s["id"].as_str().unwrap().parse().unwrap();
    // Make the schedule two hours old, so the latest hourly tick is due.
    crate::common::fixtures::age_report_schedule(&app.db, sid, Duration::hours(2)).await;
    let due = || queue::enqueue(&app.db, new_job(JobKind::ScheduledReports, 1), Utc::now());
    due().await.unwrap();
    due().await.unwrap();
    // Two passes over the schedules, one report.
    assert_eq!(app.app.jobs.run_pending().await.unwrap(), 3);
    let reports = job::Entity::find()
        .filter(job::Column::Kind.eq("report"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].status, "SUCCEEDED");
    assert_eq!(reports[0].trigger, "schedule");
    let posts = got.lock().unwrap().clone();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(
        posts[0]["download_url"],
        app.url(&format!("/reports/{}/download", reports[0].id))
    );
    // The owner may download it.
    let resp = app
        .anon
        .get(posts[0]["download_url"].as_str().unwrap())
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// An endpoint that fails once and then accepts: the notification is retried
/// after its back-off, sent once, and never lost.
async fn notifications_are_retried_until_sent(app: TestApp) {
    use pagerlens::entities::notification;
    use std::sync::atomic::{AtomicBool, Ordering};
    let got = Arc::new(Mutex::new(Vec::<Value>::new()));
    let fail = Arc::new(AtomicBool::new(true));
    let (sink, fail2) = (got.clone(), fail.clone());
    let router = axum::Router::new().route(
        "/slack",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let (sink, fail) = (sink.clone(), fail2.clone());
            async move {
                if fail.swap(false, Ordering::SeqCst) {
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                }
                sink.lock().unwrap().push(v);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slack", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let row = crate::common::fixtures::pending_breach_notification(&app.db, "PI0001").await;
    let mut config = (*app.app.config).clone();
    config.notify.slack = Some(url);
    let endpoints = pagerlens::notify::Notifier::new(&config.notify).unwrap();
    let runner = Runner::new(
        app.db.clone(),
        Arc::new(config),
        app.app.events.clone(),
        None,
    );
    queue::enqueue(&app.db, new_job(JobKind::Notify, 1), Utc::now())
        .await
        .unwrap();
    assert_eq!(runner.run_pending().await.unwrap(), 1);
    let n = notification::Entity::find_by_id(row.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (n.status.as_str(), n.attempts),
        ("pending", 1),
        "kept for a retry"
    );
    assert!(n.last_error.as_deref().unwrap().contains("500"), "{n:?}");
    // Not before its back-off; then sent, once.
    let later = Utc::now();
    let d = pagerlens::notify::deliver_due(&app.db, &endpoints, later)
        .await
        .unwrap();
    assert_eq!(d, Default::default());
    let d = pagerlens::notify::deliver_due(&app.db, &endpoints, later + Duration::seconds(31))
        .await
        .unwrap();
    assert_eq!(d.sent, 1);
    let d = pagerlens::notify::deliver_due(&app.db, &endpoints, later + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(d.sent, 0, "sent once");
    let n = notification::Entity::find_by_id(row.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((n.status.as_str(), n.attempts), ("sent", 2));
    let posts = got.lock().unwrap().clone();
    assert_eq!(posts.len(), 1);
    let text = posts[0]["text"].as_str().unwrap();
    assert!(
        text.contains("SLA breached") && text.contains("PI0001"),
        "{text}"
    );
}

/// `startSync` queues a sync job and answers with its run, `queued`; the job
/// takes that run over. A sync asked for while another runs is recorded as
/// skipped; a run whose job was cancelled before it started, or whose
/// earlier attempt died, is closed saying so; none stays `running`.
async fn start_sync_runs_as_a_job(app: TestApp) {
    let sim = crate::sync::start_sim(Default::default(), Utc::now() - Duration::minutes(1)).await;
    let app = crate::common::respawn_with(app, |c| {
        c.pagerduty.api_url = sim.base_url();
        c.pagerduty.token = Some(secrecy::SecretString::from("simulator-token".to_owned()));
        c.pagerduty.requests_per_minute = 0;
    })
    .await;
    let start = "mutation { startSync(kind: FULL, days: 30) { id status jobId } }";
    let first = app.data(start, json!({})).await["startSync"].clone();
    assert_eq!(first["status"], "queued", "{first}");
    let first_job: i32 = first["jobId"].as_str().unwrap().parse().unwrap();
    let second = app.data(start, json!({})).await["startSync"].clone();
    let second_job: i32 = second["jobId"].as_str().unwrap().parse().unwrap();
    let run_of = |id: &Value| {
        let id: i32 = id.as_str().unwrap().parse().unwrap();
        let db = app.db.clone();
        async move {
            pagerlens::entities::sync_run::Entity::find_by_id(id)
                .one(&db)
                .await
                .unwrap()
                .unwrap()
        }
    };

    // The first job is taken by a server that then dies; meanwhile the
    // second finds it running and steps aside.
    let claimed = queue::claim(&app.db, "killed-server", Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, first_job);
    // That server's attempt took over the run before it died; a stray run
    // of the same job (from before runs were taken over) is open too.
    let mut opts = pagerlens::pagerduty::sync::SyncOptions::new(
        pagerlens::pagerduty::sync::SyncKind::Full { days: 30 },
        "api",
    );
    opts.job_id = Some(first_job);
    let adopted = pagerlens::pagerduty::sync::adopt(&app.db, &opts)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(adopted.id.to_string(), first["id"].as_str().unwrap());
    assert_eq!(adopted.status, "running");
    let orphan = pagerlens::pagerduty::sync::start(&app.db, &opts)
        .await
        .unwrap();
    assert_eq!(app.app.jobs.run_pending().await.unwrap(), 1);
    assert_eq!(job_of(&app, second_job).await["status"], "SUCCEEDED");
    let skipped = run_of(&second["id"]).await;
    assert_eq!(skipped.status, "failed");
    assert_eq!(
        skipped.error.as_deref(),
        Some(format!("skipped: sync job {first_job} was still running").as_str())
    );

    // Re-queued after the stall timeout, it runs here: the run it answered
    // with goes on and succeeds, and the stray one is closed.
    let r = queue::recover_stalled(
        &app.db,
        Duration::seconds(30),
        Utc::now() + Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(r.requeued, vec![first_job]);
    assert_eq!(app.app.jobs.run_pending().await.unwrap(), 1);
    let j = job_of(&app, first_job).await;
    assert_eq!(j["status"], "SUCCEEDED", "{j}");
    let done = run_of(&first["id"]).await;
    assert_eq!(done.status, "succeeded", "{done:?}");
    assert_eq!(done.job_id, Some(first_job));
    assert!(done.api_calls > 0);
    assert!(
        pagerlens::entities::incident::Entity::find()
            .count(&app.db)
            .await
            .unwrap()
            > 0
    );
    let orphan = pagerlens::entities::sync_run::Entity::find_by_id(orphan.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(orphan.status, "failed");
    assert!(orphan.error.unwrap().starts_with("abandoned"));

    // Cancelled before it started: closed by the next sync job.
    let third = app.data(start, json!({})).await["startSync"].clone();
    let cancel = format!(
        "mutation {{ cancelJob(id: \"{}\") {{ status }} }}",
        third["jobId"].as_str().unwrap()
    );
    assert_eq!(
        app.data(&cancel, json!({})).await["cancelJob"]["status"],
        "CANCELLED"
    );
    assert_eq!(run_of(&third["id"]).await.status, "queued");
    let incremental = app
        .data("mutation { startSync { id jobId } }", json!({}))
        .await["startSync"]
        .clone();
    assert_eq!(app.app.jobs.run_pending().await.unwrap(), 1);
    assert_eq!(run_of(&third["id"]).await.status, "failed");
    let last = run_of(&incremental["id"]).await;
    assert_eq!(
        (last.kind.as_str(), last.status.as_str()),
        ("incremental", "succeeded")
    );
    let runs = app
        .data("{ syncRuns(first: 10) { nodes { status } } }", json!({}))
        .await;
    assert!(
        !runs.to_string().contains("running") && !runs.to_string().contains("queued"),
        "{runs}"
    );
}

on_both_databases!(
    start_sync_runs_as_a_job,
    notifications_are_retried_until_sent,
    a_job_whose_worker_died_is_requeued_and_completes,
    a_stalled_job_without_attempts_left_fails_saying_why,
    two_workers_never_run_one_job_twice,
    a_cron_tick_fired_by_two_replicas_enqueues_once,
    cancelling_jobs,
    failures_retry_with_backoff_unless_permanent,
    job_updated_pushes_progress_until_the_end,
    schedules_and_run_job_now,
    scheduled_reports_run_once_per_tick_and_post_their_link,
);
