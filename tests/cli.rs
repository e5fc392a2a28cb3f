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
    let mut child = command(dir)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("PAGERLENS_LOG_FORMAT", "json")
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
    let (_server, base) = start(dir.path());
    assert!(
        dir.path().join("data/pagerlens.db").exists(),
        "creates ./data/pagerlens.db"
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let body: Value = client
        .post(format!("{base}/graphql"))
        .json(&json!({"query": "{ services(first: 10) { totalCount } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"data": {"services": {"totalCount": 0}}}));
    let resp = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(resp.status(), 307);
    assert_eq!(resp.headers()["location"], "/playground");
    let resp = client
        .get(format!("{base}/playground"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let started = Instant::now();
    assert_eq!(
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(started.elapsed() < Duration::from_secs(30));
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
