//! The `pagerlens` binary: zero-configuration start on SQLite, the schema
//! command, migrations from the CLI, and configuration errors.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_pagerlens");

fn command(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `pagerlens serve` on a free port and waits for its address.
fn start(dir: &std::path::Path) -> (Server, String) {
    start_with(dir, &[])
}

/// [`start`] with extra environment variables.
fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> (Server, String) {
    let mut child = command(dir)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("PAGERLENS_LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split('/').next().unwrap().to_owned();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server announced its address");
    (Server(child), format!("http://{addr}"))
}

#[tokio::test]
async fn serve_with_no_configuration_uses_embedded_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    // Accounts and tokens from the command line, on the same embedded database.
    let out = command(dir.path())
        .args(["user", "add", "Ops@Example.com", "--role", "admin"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = command(dir.path())
        .args(["user", "add", "ops@example.com", "--role", "viewer"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a second account for the same email is refused"
    );
    let out = command(dir.path())
        .args([
            "token",
            "create",
            "--user",
            "ops@example.com",
            "--name",
            "ci",
            "--expires",
            "30d",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        token.starts_with("plt_"),
        "only the token on stdout: {token:?}"
    );
    let out = command(dir.path()).args(["user", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("ops@example.com"));
    let out = command(dir.path())
        .args([
            "token",
            "create",
            "--user",
            "nobody@example.com",
            "--name",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no account"));

    let (_server, base) = start(dir.path());
    assert!(
        dir.path().join("data/pagerlens.db").exists(),
        "creates ./data/pagerlens.db"
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let query = json!({"query": "{ services(first: 10) { totalCount } }"});
    let resp = client
        .post(format!("{base}/graphql"))
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "nothing is served to strangers");
    let body: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .json(&query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"data": {"services": {"totalCount": 0}}}));
    // Revoked from the command line, the token stops working at once.
    let out = command(dir.path())
        .args(["token", "revoke", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resp = client
        .post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(resp.status(), 307);
    assert_eq!(resp.headers()["location"], "/playground");
    let resp = client
        .get(format!("{base}/playground"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn schema_command_matches_the_committed_schema() {
    let out = Command::new(BIN).arg("schema").output().unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert!(
        printed == committed,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql` and commit it"
    );
}

#[test]
fn migrate_commands_apply_list_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = command(dir.path()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run(&["migrate", "up"]).contains("applied"));
    let status = run(&["migrate", "status"]);
    assert!(status.lines().all(|l| l.starts_with("applied")), "{status}");
    run(&["migrate", "down"]);
    let status = run(&["migrate", "status"]);
    assert!(status.lines().any(|l| l.starts_with("pending")), "{status}");
    run(&["migrate", "up"]);
}

#[test]
fn bad_configuration_fails_at_start_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .args(["serve"])
        .env("PAGERLENS_GRAPHQL_MAX_DEPTH", "deep")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PAGERLENS_GRAPHQL_MAX_DEPTH") && err.contains("whole number"),
        "{err}"
    );

    let out = command(dir.path())
        .args(["serve"])
        .env(
            "DATABASE_URL",
            "postgres://pagerlens:s3cret@127.0.0.1:1/nowhere",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open database") && !err.contains("s3cret"),
        "{err}"
    );
}

#[test]
fn help_describes_every_command() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in ["serve", "migrate", "schema"] {
        assert!(help.contains(cmd), "{help}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("--bind"));
}

#[tokio::test]
async fn sync_and_cleanup_commands_work_against_the_simulator() {
    let sim = crate::sync::start_sim(
        Default::default(),
        chrono::Utc::now() - chrono::Duration::minutes(1),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let base = sim.base_url();
    let run = move |args: &[&str]| {
        let out = command(&path)
            .args(args)
            .env("PAGERDUTY_API_URL", &base)
            .env("PAGERDUTY_TOKEN", "simulator-token")
            .env("PAGERDUTY_REQUESTS_PER_MINUTE", "0")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let sync_args = ["sync", "--days", "30"];
    let (ok, stdout, stderr) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&sync_args)
    })
    .await
    .unwrap();
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("incidents") && stdout.contains("inserted     300"),
        "{stdout}"
    );
    assert!(
        stderr.contains("sync phase"),
        "plain progress lines when not on a terminal: {stderr}"
    );
    let (ok, stdout, stderr) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&["sync"])
    })
    .await
    .unwrap();
    assert!(ok, "{stderr}");
    assert!(stdout.contains("API calls"), "{stdout}");
    let (ok, stdout, _) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&["cleanup", "--older-than", "10d"])
    })
    .await
    .unwrap();
    assert!(ok);
    let n: u64 = stdout.split_whitespace().nth(1).unwrap().parse().unwrap();
    let expected = sim
        .sim
        .org
        .read()
        .await
        .incidents
        .iter()
        .filter(|i| {
            i.status == "resolved"
                && i.resolved_at.unwrap() < chrono::Utc::now() - chrono::Duration::days(10)
        })
        .count() as u64;
    assert_eq!(n, expected, "{stdout}");
    let (ok, _, stderr) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&["cleanup", "--older-than", "soon"])
    })
    .await
    .unwrap();
    assert!(!ok && stderr.contains("--older-than"), "{stderr}");

    // SLAs from the command line: the open ones re-evaluated as a policy
    // change does, a range recomputed, and bad arguments refused.
    let (open, range, both, neither, bad_date) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || {
            (
                run(&["sla-recompute", "--open"]),
                run(&[
                    "sla-recompute",
                    "--from",
                    "2020-01-01",
                    "--to",
                    "2100-01-01",
                ]),
                run(&["sla-recompute", "--open", "--from", "2020-01-01"]),
                run(&["sla-recompute"]),
                run(&["sla-recompute", "--from", "yesterday", "--to", "2100-01-01"]),
            )
        }
    })
    .await
    .unwrap();
    let written = |out: &str| -> u64 {
        out.split(": ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{out}"))
    };
    let open_incidents = sim
        .sim
        .org
        .read()
        .await
        .incidents
        .iter()
        .filter(|i| i.status != "resolved")
        .count() as u64;
    assert!(open.0, "{}", open.2);
    assert!(
        open.1.starts_with("sla re-evaluation of open incidents"),
        "{}",
        open.1
    );
    // Every open incident has a running resolution clock, rewritten now.
    assert!(
        written(&open.1) >= open_incidents && open_incidents > 0,
        "{}",
        open.1
    );
    assert!(
        range.0 && range.1.starts_with("sla recompute"),
        "{}",
        range.2
    );
    assert!(written(&range.1) >= written(&open.1), "{}", range.1);
    assert!(!both.0 && both.2.contains("--open"), "{}", both.2);
    assert!(!neither.0 && neither.2.contains("--from"), "{}", neither.2);
    assert!(
        !bad_date.0 && bad_date.2.contains("--from"),
        "{}",
        bad_date.2
    );

    // Reports from the command line: the same code as `requestReport`.
    let (csv, xlsx, bad_kind, bad_status) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || {
            (
                run(&[
                    "report",
                    "incidents",
                    "-o",
                    "resolved.csv",
                    "--status",
                    "resolved",
                ]),
                run(&["report", "service-summary", "-o", "summary.xlsx"]),
                run(&["report", "payroll", "-o", "x.csv"]),
                run(&["report", "incidents", "-o", "y.csv", "--status", "open"]),
            )
        }
    })
    .await
    .unwrap();
    assert!(csv.0 && csv.1.contains("wrote"), "{}", csv.2);
    let mut reader = csv::Reader::from_path(dir.path().join("resolved.csv")).unwrap();
    let status = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "Status")
        .unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty() && rows.iter().all(|r| &r[status] == "resolved"));
    assert!(xlsx.0, "{}", xlsx.2);
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(dir.path().join("summary.xlsx")).unwrap();
    use calamine::Reader as _;
    assert!(book.worksheet_range("Service summary").unwrap().height() > 1);
    assert!(
        !bad_kind.0 && bad_kind.2.contains("payroll"),
        "{}",
        bad_kind.2
    );
    assert!(
        !bad_status.0 && bad_status.2.contains("open"),
        "{}",
        bad_status.2
    );
    assert!(
        !dir.path().join("y.csv").exists(),
        "bad input writes nothing"
    );

    // Team scopes from the command line, against the synced teams.
    let team = sim.sim.org.read().await.teams[0].id.clone();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking({
        let (run, team) = (run.clone(), team.clone());
        move || {
            let added = run(&["user", "add", "scoped@example.com", "--team", &team]);
            let refused = run(&["user", "add", "typo@example.com", "--team", "PNOPE"]);
            let token = run(&[
                "token",
                "create",
                "--user",
                "scoped@example.com",
                "--name",
                "bi",
                "--team",
                &team,
            ]);
            let list = run(&["user", "list"]);
            assert!(added.0, "{}", added.2);
            assert!(!refused.0 && refused.2.contains("PNOPE"), "{}", refused.2);
            assert!(token.0 && token.1.starts_with("plt_"), "{}", token.2);
            list
        }
    })
    .await
    .unwrap();
    assert!(ok, "{stderr}");
    let scoped = stdout
        .lines()
        .find(|l| l.contains("scoped@example.com"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(scoped.trim_end().ends_with(&team), "{scoped}");
    assert!(
        !stdout.contains("typo@example.com"),
        "a refused account is not created: {stdout}"
    );
}

#[test]
fn demo_mode_refuses_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .args(["serve", "--demo", "--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn sync_without_a_token_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).args(["sync"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PAGERDUTY_TOKEN"));
}

/// The container image runs as a non-root user with a health check, and the
/// compose file is accepted by Compose (`docker compose` or `docker-compose`,
/// whichever this machine has; skipped with a note when neither).
#[test]
fn packaging_files_are_sound() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let stages = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .count();
    assert!(stages >= 2, "a multi-stage build");
    let user = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("a USER line");
    assert!(!["root", "0"].contains(&user.trim()), "runs as {user}");
    assert!(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("/healthz"));

    let compose = root.join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    for service in ["pagerlens:", "postgres:", "metabase:"] {
        assert!(
            text.contains(&format!("\n  {service}")),
            "{service} missing"
        );
    }
    let attempts: [&[&str]; 2] = [&["docker", "compose"], &["docker-compose"]];
    for cmd in attempts {
        let out = Command::new(cmd[0])
            .args(&cmd[1..])
            .args(["-f", compose.to_str().unwrap(), "config", "-q"])
            .output();
        match out {
            Ok(o) if o.status.success() => return,
            // This Compose is missing (`docker compose` without the plugin).
            Ok(o) if String::from_utf8_lossy(&o.stderr).contains("unknown") => {}
            Ok(o) => panic!(
                "{cmd:?} config refused docker-compose.yml: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(_) => {}
        }
    }
    // Past the harness's capture, so the skip is seen.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        b"NOTE: neither `docker compose` nor `docker-compose` is installed: docker-compose.yml was not checked by Compose\n",
    );
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT`, request spans reach an OTLP/HTTP
/// collector (here a local one that records what it is sent); SIGTERM
/// flushes them before the process exits.
#[tokio::test]
async fn traces_are_exported_over_otlp() {
    /// Each export: its content type and body.
    type Exports = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;
    let received: Exports = Default::default();
    let sink = received.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    let kind = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    sink.lock().unwrap().push((kind, body.to_vec()));
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let dir = tempfile::tempdir().unwrap();
    let (mut server, base) = start_with(
        dir.path(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
    );
    let resp = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let ok = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = received.lock().unwrap().clone();
    assert!(!got.is_empty(), "the collector received nothing");
    let (kind, body) = &got[0];
    assert_eq!(kind, "application/x-protobuf");
    let contains = |needle: &[u8]| {
        got.iter()
            .any(|(_, b)| b.windows(needle.len()).any(|w| w == needle))
    };
    assert!(
        contains(b"pagerlens"),
        "service name missing ({} bytes)",
        body.len()
    );
    assert!(contains(b"/healthz"), "the request span is missing");
}

/// Human-format logs written to a pipe (or a file) carry no terminal colour
/// codes; only a terminal gets them, and never with `NO_COLOR` (unit-tested
/// in `telemetry`).
#[tokio::test]
async fn logs_to_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("PAGERLENS_LOG_FORMAT", "human")
        .env("PAGERLENS_LOG", "debug")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let done = line.contains("listening on http://");
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    })
    .await
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines.iter().any(|l| l.contains("listening on")),
        "{lines:?}"
    );
    assert!(lines.len() > 3, "several log lines to look at: {lines:?}");
    for line in &lines {
        assert!(!line.contains('\x1b'), "a colour code in {line:?}");
    }
}
