//! Test harness: starts the real server on 127.0.0.1:0 against a fresh
//! SQLite file in a temporary directory, or against a fresh, uniquely named
//! PostgreSQL database (when `TEST_POSTGRES_URL` is set) that is dropped when
//! the test ends. Every statement the server runs is counted, so tests can
//! prove the absence of N+1 queries.

#![allow(dead_code)]

pub mod fixtures;
pub mod smtp;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pagerlens::App;
use pagerlens::config::Config;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn NAME(app: TestApp)` once per database:
/// `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::common::spawn($crate::common::Backend::Sqlite).await.expect("sqlite");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(app) = $crate::common::spawn($crate::common::Backend::Postgres).await else {
                        return;
                    };
                    super::$name(app).await;
                }
            }
        )*
    };
}

static SKIP_NOTICE: std::sync::Once = std::sync::Once::new();

/// The PostgreSQL server to create test databases on, if any. Prints, once
/// and past the test harness's output capture, that PostgreSQL runs are
/// skipped when it is not set; with `PAGERLENS_REQUIRE_POSTGRES` set (as
/// `.ci/run` does) a missing server fails the test instead.
pub fn postgres_url() -> Option<String> {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("PAGERLENS_REQUIRE_POSTGRES").is_none(),
                "PAGERLENS_REQUIRE_POSTGRES is set but TEST_POSTGRES_URL is not: \
                 the PostgreSQL runs cannot be skipped here"
            );
            SKIP_NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\nNOTE: TEST_POSTGRES_URL is not set: the PostgreSQL runs of the integration tests are SKIPPED \
                     (they pass without running). Set TEST_POSTGRES_URL=postgres://USER@HOST:5432/postgres to run them.\n"
                );
            });
            None
        }
    }
}

/// Whether an outside tool a test needs (a browser, LibreOffice, Node) is
/// there. When it is not, the test is skipped with a note, unless
/// `PAGERLENS_REQUIRE_TOOLS` is set (as `.ci/run` does): then it fails.
pub fn outside_tool(what: &str, check: impl FnOnce() -> Result<(), String>) -> bool {
    match check() {
        Ok(()) => true,
        Err(why) => {
            if std::env::var_os("PAGERLENS_REQUIRE_TOOLS").is_some() {
                panic!("{what} is required but cannot run: {why}");
            }
            let _ = writeln!(std::io::stderr(), "\nNOTE: {what} SKIPPED: {why}\n");
            false
        }
    }
}

/// Keeps the test database alive and removes it afterwards.
pub enum DbGuard {
    None,
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// A fresh, migrated database and its config.
pub async fn fresh_database(backend: Backend) -> Option<(Config, DbGuard)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}/pagerlens.db?mode=rwc", dir.path().display());
            Some((Config::for_database(&url), DbGuard::Sqlite(dir)))
        }
        Backend::Postgres => {
            let admin_url = postgres_url()?;
            let name = format!("pagerlens_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to TEST_POSTGRES_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let _ = admin.close().await;
            let mut url = url::Url::parse(&admin_url).expect("TEST_POSTGRES_URL is a URL");
            url.set_path(&format!("/{name}"));
            let mut config = Config::for_database(url.as_str());
            config.db_max_connections = 5;
            Some((config, DbGuard::Postgres { admin_url, name }))
        }
    }
}

/// The demo admin the default client acts as.
pub const ADMIN_EMAIL: &str = "admin@demo.pagerlens.test";

/// A running server with its database.
pub struct TestApp {
    pub backend: Backend,
    pub addr: SocketAddr,
    pub base: String,
    pub app: App,
    pub db: DatabaseConnection,
    /// Sends the demo admin's API token with every request.
    pub client: reqwest::Client,
    /// Sends no credentials.
    pub anon: reqwest::Client,
    pub admin_token: String,
    statements: Arc<AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// Where this app's report files go.
    pub reports_dir: Arc<tempfile::TempDir>,
    // Dropped last: the database outlives the server.
    _guard: DbGuard,
}

/// Starts the server on a fresh database; `None` when that backend is not
/// configured (PostgreSQL without `TEST_POSTGRES_URL`).
pub async fn spawn(backend: Backend) -> Option<TestApp> {
    let (config, guard) = fresh_database(backend).await?;
    spawn_with(backend, config, guard).await
}

pub async fn spawn_with(backend: Backend, config: Config, guard: DbGuard) -> Option<TestApp> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    spawn_on(backend, config, guard, listener).await
}

/// [`spawn_with`] on a listener the test bound (to know the address before
/// the server starts). Logins go through the demo identity provider unless
/// the configuration names another.
pub async fn spawn_on(
    backend: Backend,
    config: Config,
    guard: DbGuard,
    listener: tokio::net::TcpListener,
) -> Option<TestApp> {
    if std::env::var("TEST_LOG").is_ok() {
        pagerlens::telemetry::init(
            "info,pagerlens=debug",
            pagerlens::config::LogFormat::Human,
            std::io::stderr,
        );
    }
    let mut db = pagerlens::db::connect(&config).await.expect("connect");
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    let trace_sql = std::env::var("TEST_SQL").is_ok();
    db.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        if trace_sql {
            let _ = writeln!(
                std::io::stderr(),
                "SQL: {}",
                info.statement.sql.chars().take(160).collect::<String>()
            );
        }
    });
    let addr = listener.local_addr().unwrap();
    let mut config = config;
    config.public_url = url::Url::parse(&format!("http://{addr}/")).unwrap();
    let reports_dir = Arc::new(tempfile::tempdir().expect("report dir"));
    config.reports.dir = reports_dir.path().to_owned();
    config.attachments.dir = reports_dir.path().join("attachments");
    // Tests log in through the demo identity provider, as `serve --demo`
    // does, unless they configure their own.
    if config.oauth.is_none() {
        config.enable_demo_identity_provider();
    }
    let app = App::with_db(config, db.clone()).await.expect("build app");
    // Requests are made as the demo admin, with an API token, unless a test
    // uses `anon` (no credentials) or its own.
    // (It exists with the demo provider; with another, it is made here.)
    let admin = pagerlens::auth::accounts::ensure(
        &db,
        ADMIN_EMAIL,
        "Demo admin",
        pagerlens::auth::Role::Admin,
    )
    .await
    .expect("demo admin");
    let (admin_token, _) = pagerlens::auth::tokens::create(
        &db,
        None,
        pagerlens::auth::tokens::NewToken {
            account_id: admin.id,
            name: "tests".into(),
            role: None,
            expires_at: None,
            team_ids: Vec::new(),
        },
    )
    .await
    .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {admin_token}").parse().unwrap(),
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server_app = app.clone();
    let server = tokio::spawn(async move {
        server_app
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await
            .expect("server");
    });
    Some(TestApp {
        backend,
        addr,
        base: format!("http://{addr}"),
        app,
        db,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap(),
        anon: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        admin_token,
        statements,
        shutdown: Some(tx),
        server: Some(server),
        reports_dir,
        _guard: guard,
    })
}

/// Restarts the server of `app` on the same (empty) database with a changed
/// configuration.
pub async fn respawn_with(mut app: TestApp, change: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = (*app.app.config).clone();
    change(&mut config);
    let guard = std::mem::replace(&mut app._guard, DbGuard::None);
    let backend = app.backend;
    drop(app);
    spawn_with(backend, config, guard).await.expect("respawn")
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Statements run so far on the server's connection.
    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    /// POSTs a GraphQL request; asserts HTTP 200 and returns the body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let resp = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json body");
        assert_eq!(status, 200, "unexpected status; body: {body}");
        body
    }

    /// POSTs a GraphQL request with this bearer token; returns status and body.
    pub async fn gql_as(&self, token: &str, query: &str, variables: Value) -> (u16, Value) {
        let resp = self
            .anon
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Creates an account with this role and an API token for it.
    pub async fn account_with_token(
        &self,
        email: &str,
        role: pagerlens::auth::Role,
    ) -> (i32, String) {
        let account = pagerlens::auth::accounts::create(&self.db, email, None, role)
            .await
            .unwrap();
        let (token, _) = pagerlens::auth::tokens::create(
            &self.db,
            None,
            pagerlens::auth::tokens::NewToken {
                account_id: account.id,
                name: "test".into(),
                role: None,
                expires_at: None,
                team_ids: Vec::new(),
            },
        )
        .await
        .unwrap();
        (account.id, token)
    }

    /// Limits an account to these teams (as an admin would).
    pub async fn limit_account_to_teams(&self, account: i32, teams: &[&str]) {
        self.data(
            "mutation($id: ID!, $t: [ID!]) { setAccountTeams(id: $id, teamIds: $t) { id } }",
            json!({"id": account.to_string(), "t": teams}),
        )
        .await;
    }

    /// Like [`gql`](Self::gql) but asserts there are no errors and returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }
}

/// The `extensions.code` of each error in a GraphQL response.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("<none>")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts the response failed with exactly this code, and returns the first message.
pub fn assert_error(body: &Value, code: &str) -> String {
    let codes = error_codes(body);
    assert!(
        !codes.is_empty() && codes.iter().all(|c| c == code),
        "expected {code}, got {body}"
    );
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Maps a custom field's value to a status in the `WAITING` category (which
/// pauses SLA clocks when that field is the status field).
pub async fn map_as_waiting(db: &sea_orm::DatabaseConnection, field: &str, raw_value: &str) {
    pagerlens::incidents::status::upsert(
        db,
        pagerlens::incidents::status::MappingInput {
            source: "CUSTOM_FIELD".into(),
            field: Some(field.into()),
            raw_value: raw_value.into(),
            display_name: "Waiting on vendor".into(),
            category: "WAITING".into(),
            active: true,
            position: None,
        },
    )
    .await
    .unwrap();
}
