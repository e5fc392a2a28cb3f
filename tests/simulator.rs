//! The simulator answers with the shapes of PagerDuty's official OpenAPI
//! document (a subset extracted by `scripts/openapi-subset.py`), and follows
//! its rules: authentication, page caps, window limits.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::sync::start_sim;

/// OpenAPI 3.0 marks nullability with `nullable: true`; JSON Schema with a
/// `null` type.
fn to_json_schema(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                }
                if let Some(Value::Array(e)) = map.get_mut("enum") {
                    e.push(Value::Null);
                }
            }
            map.values_mut().for_each(to_json_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

#[tokio::test]
async fn simulator_answers_match_the_openapi_document() {
    let sim = start_sim(
        Default::default(),
        chrono::Utc::now() - chrono::Duration::minutes(1),
    )
    .await;
    let mut doc: Value =
        serde_json::from_str(include_str!("fixtures/pagerduty-openapi-subset.json")).unwrap();
    to_json_schema(&mut doc);
    let (incident, team) = {
        let org = sim.sim.org.read().await;
        (org.incidents[3].id.clone(), org.teams[0].id.clone())
    };
    let since = (chrono::Utc::now() - chrono::Duration::days(30)).to_rfc3339();
    let until = chrono::Utc::now().to_rfc3339();
    let calls: Vec<(&str, String)> = vec![
        ("/priorities", "/priorities".into()),
        ("/teams", "/teams".into()),
        ("/teams/{id}/members", format!("/teams/{team}/members")),
        ("/users", "/users".into()),
        ("/services", "/services".into()),
        ("/escalation_policies", "/escalation_policies".into()),
        ("/schedules", "/schedules".into()),
        ("/oncalls", "/oncalls".into()),
        ("/incidents", "/incidents?limit=100".into()),
        ("/incidents/{id}", format!("/incidents/{incident}")),
        (
            "/incidents/custom_fields",
            "/incidents/custom_fields".into(),
        ),
        ("/incidents/types", "/incidents/types".into()),
        (
            "/incidents/types/{type_id_or_name}/custom_fields",
            "/incidents/types/PTYPE00/custom_fields".into(),
        ),
        // The spec's own log-entry and custom-field schemas are known to be
        // self-contradictory (see the API notes): checked below by hand.
    ];
    let client = reqwest::Client::new();
    for (route, path) in calls {
        let body: Value = client
            .get(format!("{}{path}", sim.base_url()))
            .query(&[("since", since.as_str()), ("until", until.as_str())])
            .header("Authorization", "Token token=simulator-token")
            .header("Accept", "application/vnd.pagerduty+json;version=2")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let schema = json!({
            "components": doc["components"].clone(),
            "x-response": doc["responses"][route].clone(),
            "$ref": "#/x-response",
        });
        let validator =
            jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{route}: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .take(5)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{route} does not match the OpenAPI document: {errors:#?}"
        );
    }

    // Log entries: the fields the client relies on, with PagerDuty's names.
    let body: Value = client
        .get(format!("{}/log_entries", sim.base_url()))
        .query(&[
            ("since", since.as_str()),
            ("until", until.as_str()),
            ("include[]", "incidents"),
            ("limit", "100"),
        ])
        .header("Authorization", "Token token=simulator-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = body["log_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 100);
    assert_eq!(body["more"], true);
    let kinds = [
        "trigger_log_entry",
        "notify_log_entry",
        "acknowledge_log_entry",
        "resolve_log_entry",
        "escalate_log_entry",
        "assign_log_entry",
    ];
    for e in entries {
        assert!(kinds.contains(&e["type"].as_str().unwrap()), "{e}");
        assert!(e["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(
            e["incident"]["type"], "incident",
            "include[]=incidents embeds the incident"
        );
        assert!(e["incident"]["summary"].as_str().unwrap().starts_with("[#"));
    }
    let fields: Value = client
        .get(format!(
            "{}/incidents/{incident}/custom_fields/values",
            sim.base_url()
        ))
        .header("Authorization", "Token token=simulator-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for f in fields["custom_fields"].as_array().unwrap() {
        assert_eq!(f["type"], "field_value");
        assert!(f["name"].is_string() && f["data_type"].is_string() && f.get("value").is_some());
    }
}

#[tokio::test]
async fn simulator_enforces_the_api_rules() {
    let sim = start_sim(
        Default::default(),
        chrono::Utc::now() - chrono::Duration::minutes(1),
    )
    .await;
    let client = reqwest::Client::new();
    let get = |path: &str, token: &str| {
        client
            .get(format!("{}{path}", sim.base_url()))
            .header("Authorization", format!("Token token={token}"))
            .send()
    };
    let resp = get("/teams", "wrong").await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], 2006);
    let resp = get("/incidents?offset=9950&limit=100", "simulator-token")
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = get(
        "/incidents?since=2025-01-01T00:00:00Z&until=2025-12-31T00:00:00Z",
        "simulator-token",
    )
    .await
    .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "windows over 6 months are refused"
    );
    let body: Value = get("/users?limit=1000", "simulator-token")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["limit"], 100, "limit is capped at 100");
    assert_eq!(body["total"], Value::Null, "total only when asked for");
    let body: Value = get("/users?limit=5&total=true", "simulator-token")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 12);
    assert_eq!(body["more"], true);
    let resp = get("/incidents/NOPE", "simulator-token").await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn simulator_rate_limits_with_headers() {
    let mut config = pagerlens::pagerduty::simulator::SimConfig::new(1, Default::default());
    config.rate_limit_per_minute = 3;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = pagerlens::pagerduty::simulator::spawn(config, listener)
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let mut limited = None;
    // Enough requests to exceed the budget even across a minute boundary.
    for _ in 0..8 {
        let resp = client
            .get(format!("{}/teams", sim.base_url()))
            .header("Authorization", "Token token=simulator-token")
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("a 429 after the budget");
    assert!(
        resp.headers()["ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= 60
    );
    assert_eq!(resp.headers()["ratelimit-remaining"], "0");
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], 2020);
}

#[tokio::test]
async fn simulator_outage_is_switched_from_another_process() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = pagerlens::pagerduty::simulator::spawn(
        pagerlens::pagerduty::simulator::SimConfig::new(1, Default::default()),
        listener,
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let control = format!("{}/_simulator/outage", sim.base_url());
    let teams = || {
        client
            .get(format!("{}/teams", sim.base_url()))
            .header("Authorization", "Token token=simulator-token")
            .send()
    };
    // The control needs the API token, and a clear body.
    let resp = client
        .post(&control)
        .json(&json!({"down": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = client
        .post(&control)
        .header("Authorization", "Token token=simulator-token")
        .json(&json!({"down": "yes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(teams().await.unwrap().status(), StatusCode::OK);

    for (down, status) in [
        (true, StatusCode::SERVICE_UNAVAILABLE),
        (false, StatusCode::OK),
    ] {
        let resp = client
            .post(&control)
            .header("Authorization", "Token token=simulator-token")
            .json(&json!({"down": down}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.json::<Value>().await.unwrap()["down"], down);
        assert_eq!(teams().await.unwrap().status(), status);
    }
}
