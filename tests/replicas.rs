//! Two `pagerlens serve` processes on one PostgreSQL database: they migrate
//! in turn, run each cron tick once, claim each job once, accept each
//! other's sessions, process a webhook delivered to both once, and a process
//! stopped by SIGTERM hands its running job back for the next one to finish.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pagerlens::entities::{job, job_log, webhook_event};
use pagerlens::pagerduty::simulator::{self, SimConfig, Sizes};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::common::{Backend, fresh_database};

const BIN: &str = env!("CARGO_BIN_EXE_pagerlens");
const SECRET: &str = "replica-webhook-secret";

struct Replica {
    child: Child,
    base: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    fn start(name: &str, database_url: &str, sim: &str, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOSTNAME", name)
            .env("DATABASE_URL", database_url)
            .env("PAGERLENS_DB_MAX_CONNECTIONS", "4")
            .env("PAGERLENS_LOG_FORMAT", "json")
            .env("PAGERLENS_LOG", "info")
            .env("PAGERDUTY_API_URL", sim)
            .env("PAGERDUTY_TOKEN", "simulator-token")
            .env("PAGERDUTY_WEBHOOK_SECRETS", SECRET)
            .env("PAGERLENS_WORKERS", "1")
            .env("PAGERLENS_SHUTDOWN_GRACE", "10s")
            // Only the retention tick, every second; the rest stay quiet.
            .env("PAGERLENS_CRON_RETENTION", "* * * * * *")
            .env("PAGERLENS_CRON_SYNC", "off")
            .env("PAGERLENS_CRON_SLA_CHECK", "off")
            .env("PAGERLENS_CRON_PREWARM", "off")
            .env("PAGERLENS_CRON_SCHEDULED_REPORTS", "off")
            .env("PAGERLENS_CRON_REPORT_EXPIRY", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start pagerlens");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap().to_owned());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => panic!(
                "{name} did not start:\n{}",
                lines.lock().unwrap().join("\n")
            ),
        };
        Self {
            child,
            base: format!("http://{addr}"),
            lines,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGTERM, then the exit status (within `limit`).
    fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

async fn gql(http: &reqwest::Client, r: &Replica, token: &str, query: &str) -> Value {
    let resp = http
        .post(r.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body
}

/// An admin account and an API token for it, made with the command line.
fn admin_token(database_url: &str) -> String {
    cli(
        database_url,
        &["user", "add", "ops@example.com", "--role", "admin"],
    );
    cli(
        database_url,
        &[
            "token",
            "create",
            "--user",
            "ops@example.com",
            "--name",
            "replicas",
        ],
    )
}

/// The id of the job a mutation answered with.
fn job_id(body: &Value, mutation: &str) -> i32 {
    body["data"][mutation]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn cli(database_url: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_postgres_database() {
    let Some((config, _guard)) = fresh_database(Backend::Postgres).await else {
        return;
    };
    let url = config.database_url().to_owned();
    let reports_dir = tempfile::tempdir().unwrap();
    let reports = reports_dir.path().display().to_string();
    let mut sim_config = SimConfig::new(
        7,
        Sizes {
            incidents: 400,
            ..crate::sync::sizes()
        },
    );
    sim_config.latency = Duration::from_millis(20);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = simulator::spawn(sim_config, listener).await.unwrap();
    let sim_url = sim.base_url();

    // Started together on an empty database: they take turns to migrate.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            Replica::start(
                "replica-a",
                &url,
                &sim_url,
                // A slow PagerDuty budget keeps its sync running long enough
                // to be interrupted below.
                &[
                    // Access log lines (each with its request id).
                    ("PAGERLENS_LOG", "info,tower_http=debug"),
                    ("PAGERDUTY_REQUESTS_PER_MINUTE", "120"),
                    ("PAGERLENS_REPORT_DIR", &reports),
                ],
            )
        });
        let b = s.spawn(|| {
            Replica::start(
                "replica-b",
                &url,
                &sim_url,
                &[("PAGERLENS_REPORT_DIR", &reports)],
            )
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut a = a;
    let mut b = b;
    let db = Database::connect(&url).await.unwrap();

    // One account and token, from the command line; both replicas accept it.
    let token = admin_token(&url);
    let http = reqwest::Client::new();
    for r in [&a, &b] {
        let body = gql(&http, r, &token, "{ me { role } }").await;
        assert_eq!(body["data"]["me"]["role"], "ADMIN");
    }
    // A browser session made on one is valid on the other.
    let account = pagerlens::auth::accounts::find_by_email(&db, "ops@example.com")
        .await
        .unwrap()
        .unwrap();
    let session = pagerlens::auth::sessions::create(&db, account.id, Default::default())
        .await
        .unwrap();
    for r in [&a, &b] {
        let status: Value = http
            .get(r.url("/auth/status"))
            .header("cookie", format!("pagerlens_session={session}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["authenticated"], true, "{status}");
    }

    // Each cron tick runs once, though both schedulers fire every second.
    wait_for("three retention ticks", Duration::from_secs(20), || async {
        job::Entity::find()
            .filter(job::Column::Kind.eq("retention"))
            .count(&db)
            .await
            .unwrap()
            >= 3
    })
    .await;
    let ticks = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT dedupe_key, COUNT(*) AS n FROM jobs WHERE kind = 'retention' GROUP BY dedupe_key",
        ))
        .await
        .unwrap();
    for t in &ticks {
        let n: i64 = t.try_get("", "n").unwrap();
        let key: String = t.try_get("", "dedupe_key").unwrap();
        assert_eq!(n, 1, "tick {key} queued {n} times");
    }

    // Jobs requested on one replica run once, on whichever worker claims them.
    let mut ids = Vec::new();
    for _ in 0..6 {
        let body = gql(
            &http,
            &a,
            &token,
            "mutation { requestReport(input: {kind: SERVICES, format: CSV}) { id } }",
        )
        .await;
        ids.push(
            body["data"]["requestReport"]["id"]
                .as_str()
                .unwrap()
                .parse::<i32>()
                .unwrap(),
        );
    }
    wait_for("the reports", Duration::from_secs(60), || async {
        job::Entity::find()
            .filter(job::Column::Id.is_in(ids.clone()))
            .filter(job::Column::Status.eq("SUCCEEDED"))
            .count(&db)
            .await
            .unwrap()
            == 6
    })
    .await;
    for id in &ids {
        let j = job::Entity::find_by_id(*id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(j.attempts, 1, "job {id} ran {} times", j.attempts);
        let starts = job_log::Entity::find()
            .filter(job_log::Column::JobId.eq(*id))
            .filter(job_log::Column::Line.starts_with("started on"))
            .count(&db)
            .await
            .unwrap();
        assert_eq!(starts, 1, "job {id}");
    }

    // The same webhook delivered to both at once is processed once.
    let incident = sim.sim.org.read().await.incidents[3].clone();
    let body = json!({"event": {"id": "evt-replicas-1", "event_type": "incident.acknowledged", "resource_type": "incident", "occurred_at": "2026-11-01T10:00:00Z", "agent": null, "client": null, "data": {"id": incident.id, "type": "incident", "number": incident.incident_number, "status": "acknowledged", "created_at": incident.created_at, "title": incident.title}}}).to_string();
    let signature = pagerlens::pagerduty::webhook::sign(body.as_bytes(), SECRET);
    let post = |r: &Replica| {
        http.post(r.url("/webhooks/pagerduty"))
            .header("content-type", "application/json")
            .header("x-pagerduty-signature", signature.clone())
            .body(body.clone())
            .send()
    };
    let (ra, rb) = tokio::join!(post(&a), post(&b));
    let mut outcomes = Vec::new();
    for r in [ra.unwrap(), rb.unwrap()] {
        if r.status() != 200 {
            let text = r.text().await.unwrap();
            let logs: Vec<String> = [&a, &b]
                .iter()
                .flat_map(|x| x.lines.lock().unwrap().clone())
                .filter(|l| l.contains("ERROR") || l.contains("WARN"))
                .collect();
            panic!("webhook refused: {text}\n{}", logs.join("\n"));
        }
        let v: Value = r.json().await.unwrap();
        outcomes.push(v["status"].as_str().unwrap().to_owned());
    }
    outcomes.sort();
    assert_eq!(outcomes, ["duplicate", "processed"]);
    assert_eq!(webhook_event::Entity::find().count(&db).await.unwrap(), 1);

    // Every request's log lines carry its request id.
    assert!(
        a.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("\"request_id\":\"")),
        "no request id in the JSON logs"
    );

    // An idle replica stops at once on SIGTERM, and cleanly.
    let status = b.terminate(Duration::from_secs(15));
    assert!(status.success(), "{status}");

    // A's sync is interrupted by SIGTERM: A exits within its grace period
    // and hands the job back without spending an attempt ...
    let incident_pages = sim.sim.calls("/incidents").await;
    let sync_id = job_id(
        &gql(
            &http,
            &a,
            &token,
            "mutation { runJobNow(kind: SYNC) { id } }",
        )
        .await,
        "runJobNow",
    );
    wait_for(
        "the sync to be under way",
        Duration::from_secs(30),
        || async {
            let j = job::Entity::find_by_id(sync_id)
                .one(&db)
                .await
                .unwrap()
                .unwrap();
            j.status == "RUNNING"
        },
    )
    .await;
    // Under way means past the reference data: it pages through incidents.
    wait_for(
        "the sync to page through incidents",
        Duration::from_secs(60),
        || async { sim.sim.calls("/incidents").await > incident_pages },
    )
    .await;
    let j = job::Entity::find_by_id(sync_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        j.status, "RUNNING",
        "the sync must still run when A is stopped"
    );
    let status = a.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    let j = job::Entity::find_by_id(sync_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.status, "QUEUED", "handed back: {j:?}");

    // ... and the replica that starts next finishes it.
    let c = Replica::start(
        "replica-c",
        &url,
        &sim_url,
        &[
            ("PAGERDUTY_REQUESTS_PER_MINUTE", "0"),
            ("PAGERLENS_REPORT_DIR", &reports),
        ],
    );
    wait_for("the handed-back sync", Duration::from_secs(60), || async {
        job::Entity::find_by_id(sync_id)
            .one(&db)
            .await
            .unwrap()
            .unwrap()
            .status
            == "SUCCEEDED"
    })
    .await;
    let j = job::Entity::find_by_id(sync_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        j.worker.as_deref().unwrap_or("").starts_with("replica-c-"),
        "{:?}",
        j.worker
    );
    let incidents = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT COUNT(*) AS n FROM incidents",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert!(incidents >= 300, "{incidents} incidents after the sync");
    drop(c);
    let _ = db.close().await;
}

/// `n` incidents over 20 services, inserted with one SQL statement per table.
async fn seed_report_rows(db: &sea_orm::DatabaseConnection, backend: Backend, n: u32) {
    let (services, incidents) = match backend {
        Backend::Sqlite => (
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 19)
             INSERT INTO services (id, name, status, created_at, updated_at)
             SELECT printf('PKS%02d', i), 'Service ' || i, 'active',
                    '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00' FROM s"
                .to_owned(),
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
                 INSERT INTO incidents (id, incident_number, title, status, urgency, service_id, source,
                                        escalation_count, created_at, updated_at)
                 SELECT printf('PK%07d', i), i + 1, 'Incident ' || i, 'resolved', 'high',
                        printf('PKS%02d', i % 20), 'pagerduty', 0,
                        strftime('%Y-%m-%dT%H:%M:%S+00:00', '2025-01-01', '+' || (i * 30) || ' seconds'),
                        '2026-01-01T00:00:00+00:00'
                 FROM n",
                last = n - 1
            ),
        ),
        Backend::Postgres => (
            "INSERT INTO services (id, name, status, created_at, updated_at)
             SELECT 'PKS' || lpad(i::text, 2, '0'), 'Service ' || i, 'active', now(), now()
             FROM generate_series(0, 19) i"
                .to_owned(),
            format!(
                "INSERT INTO incidents (id, incident_number, title, status, urgency, service_id, source,
                                        escalation_count, created_at, updated_at)
                 SELECT 'PK' || lpad(i::text, 7, '0'), i + 1, 'Incident ' || i, 'resolved', 'high',
                        'PKS' || lpad((i % 20)::text, 2, '0'), 'pagerduty', 0,
                        timestamptz '2025-01-01' + i * interval '30 seconds', now()
                 FROM generate_series(0, {last}) i",
                last = n - 1
            ),
        ),
    };
    db.execute_unprepared(&services).await.unwrap();
    db.execute_unprepared(&incidents).await.unwrap();
}

/// A server killed (SIGKILL: no grace, no hand-back) in the middle of a
/// report leaves its job RUNNING with a heartbeat that stops. The server
/// started next re-queues it once the stall timeout has passed, runs it
/// again and completes it; the file served is the whole report, and the
/// dead attempt leaves nothing behind in the report directory.
async fn a_report_killed_with_its_server_completes_after_a_restart(backend: Backend) {
    const ROWS: u32 = 150_000;
    let Some((config, _guard)) = fresh_database(backend).await else {
        return;
    };
    let url = config.database_url().to_owned();
    let reports_dir = tempfile::tempdir().unwrap();
    let reports = reports_dir.path().display().to_string();
    cli(&url, &["migrate", "up"]);
    let db = Database::connect(&url).await.unwrap();
    seed_report_rows(&db, backend, ROWS).await;
    let token = admin_token(&url);
    let env = [
        ("PAGERLENS_REPORT_DIR", reports.as_str()),
        ("PAGERLENS_JOB_STALL_TIMEOUT", "3s"),
        ("PAGERLENS_CRON_RETENTION", "off"),
    ];
    // Nothing to sync from: the simulator's address is never called.
    let first = Replica::start("first", &url, "http://127.0.0.1:9", &env);
    let http = reqwest::Client::new();
    let id = job_id(
        &gql(
            &http,
            &first,
            &token,
            "mutation { requestReport(input: {kind: INCIDENTS, format: CSV}) { id } }",
        )
        .await,
        "requestReport",
    );
    let find = || async { job::Entity::find_by_id(id).one(&db).await.unwrap().unwrap() };
    wait_for(
        "the report to be under way",
        Duration::from_secs(60),
        || async {
            let j = find().await;
            j.status == "RUNNING" && j.progress > 0
        },
    )
    .await;
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let j = find().await;
    assert_eq!(j.status, "RUNNING", "killed part-way: {j:?}");
    assert!(j.progress < 99, "killed part-way: {j:?}");
    assert_eq!(j.attempts, 1);
    let killed_at = j.heartbeat_at;

    let second = Replica::start("second", &url, "http://127.0.0.1:9", &env);
    wait_for("the re-run report", Duration::from_secs(120), || async {
        find().await.status == "SUCCEEDED"
    })
    .await;
    let j = find().await;
    assert_eq!(j.attempts, 2, "{j:?}");
    assert!(
        j.worker.as_deref().unwrap_or("").starts_with("second-"),
        "{:?}",
        j.worker
    );
    assert!(j.heartbeat_at > killed_at);
    let lines: Vec<String> = job_log::Entity::find()
        .filter(job_log::Column::JobId.eq(id))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("no heartbeat for 3 s")),
        "the log says why it ran again: {lines:?}"
    );

    // The whole report, each incident once.
    let resp = http
        .get(second.url(&format!("/reports/{id}/download")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let id_column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "Incident ID")
        .expect("an ID column");
    let mut ids = std::collections::HashSet::new();
    for record in reader.records() {
        assert!(ids.insert(record.unwrap()[id_column].to_owned()));
    }
    assert_eq!(ids.len(), ROWS as usize);
    // Only the finished file is left in the report directory.
    let files: Vec<String> = std::fs::read_dir(reports_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with(&format!("job-{id}-")), "{files:?}");
    drop(second);
    let _ = db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_killed_with_its_server_completes_after_a_restart_sqlite() {
    a_report_killed_with_its_server_completes_after_a_restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_killed_with_its_server_completes_after_a_restart_postgres() {
    a_report_killed_with_its_server_completes_after_a_restart(Backend::Postgres).await;
}
