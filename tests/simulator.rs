//! The simulator answers with the shapes of PagerDuty's official OpenAPI
//! document (a subset extracted by `scripts/openapi-subset.py`), and follows
//! its rules: authentication, page caps, window limits; and serves
//! PagerDuty's analytics of its own incidents, computed from their log
//! entries, perturbed where asked.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use pagerlens::pagerduty::simulator::{self, SimConfig, SimHandle};
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

/// The OpenAPI subset as JSON Schema, with the analytics objects' fields
/// nullable: PagerDuty's own examples send null for fields the schemas type
/// as plain integers or strings (`total_interruptions`, `priority_id`), as
/// the simulator does for what is undefined (no acknowledgement: no
/// `seconds_to_first_ack`).
fn spec_doc() -> Value {
    fn nullable_fields(schema: &mut Value) {
        for prop in schema["properties"].as_object_mut().unwrap().values_mut() {
            if let Some(Value::String(t)) = prop.get("type").cloned() {
                prop["type"] = json!([t, "null"]);
            }
        }
    }
    let mut doc: Value =
        serde_json::from_str(include_str!("fixtures/pagerduty-openapi-subset.json")).unwrap();
    to_json_schema(&mut doc);
    let schemas = &mut doc["components"]["schemas"];
    for name in ["AnalyticsRawIncident", "AnalyticsIncidentMetrics"] {
        nullable_fields(&mut schemas[name]);
    }
    nullable_fields(&mut schemas["AnalyticsIncidentMetricsEscalationPolicy"]);
    // `/all` declares its rows inline.
    let all = &mut doc["responses"]["/analytics/metrics/incidents/all"];
    nullable_fields(&mut all["allOf"][0]["properties"]["data"]["items"]);
    doc
}

fn assert_matches_spec(doc: &Value, route: &str, body: &Value) {
    let response = &doc["responses"][route];
    assert!(response.is_object(), "{route}: not in the subset");
    let schema = json!({
        "components": doc["components"].clone(),
        "x-response": response.clone(),
        "$ref": "#/x-response",
    });
    let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{route}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{route} does not match: {errors:#?}");
}

#[tokio::test]
async fn simulator_answers_match_the_openapi_document() {
    let sim = start_sim(Default::default(), Utc::now() - Duration::minutes(1)).await;
    let doc = spec_doc();
    let (incident, team) = {
        let org = sim.sim.org.read().await;
        (org.incidents[3].id.clone(), org.teams[0].id.clone())
    };
    let since = (Utc::now() - Duration::days(30)).to_rfc3339();
    let until = Utc::now().to_rfc3339();
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
        assert_matches_spec(&doc, route, &body);
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
    let sim = start_sim(Default::default(), Utc::now() - Duration::minutes(1)).await;
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
    let mut config = SimConfig::new(1, Default::default());
    config.rate_limit_per_minute = 3;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = simulator::spawn(config, listener).await.unwrap();
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
    let sim = simulator::spawn(SimConfig::new(1, Default::default()), listener)
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

// ---- Analytics (`/analytics/raw/incidents`, `/analytics/metrics/incidents/*`)

const RAW: &str = "/analytics/raw/incidents";

/// The sync tests' organisation (seed 42, 300 incidents) generated up to
/// `now`, with a share of its raw analytics perturbed.
async fn analytics_sim(now: DateTime<Utc>, perturb: f64) -> SimHandle {
    let mut config = SimConfig::new(42, crate::sync::sizes());
    (config.now, config.perturb_analytics) = (now, perturb);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    simulator::spawn(config, listener).await.unwrap()
}

/// A whole second a minute ago (the generated data ends there).
fn sim_now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp() - 60, 0).unwrap()
}

/// The filter of the 30 days before `now`.
fn last_30_days(now: DateTime<Utc>) -> Value {
    let start = (now - Duration::days(30)).to_rfc3339();
    json!({"created_at_start": start, "created_at_end": now.to_rfc3339()})
}

async fn call(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = req.header("Authorization", "Token token=simulator-token");
    let resp = resp.send().await.unwrap();
    (resp.status(), resp.json().await.unwrap())
}

async fn post(sim: &SimHandle, path: &str, body: Value) -> (StatusCode, Value) {
    let url = format!("{}{path}", sim.base_url());
    call(reqwest::Client::new().post(url).json(&body)).await
}

/// A successful POST's answer.
async fn post_ok(sim: &SimHandle, path: &str, body: Value) -> Value {
    let (status, answer) = post(sim, path, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer
}

async fn get(sim: &SimHandle, path: &str) -> (StatusCode, Value) {
    call(reqwest::Client::new().get(format!("{}{path}", sim.base_url()))).await
}

fn ids(page: &Value) -> BTreeSet<String> {
    let rows = page["data"].as_array().unwrap().iter();
    rows.map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// Every raw incident (one page of up to 1000), by id.
async fn raw_by_id(sim: &SimHandle) -> BTreeMap<String, Value> {
    let page = post_ok(sim, RAW, json!({"limit": 1000})).await;
    assert_eq!(page["more"], false);
    let rows = page["data"].as_array().unwrap().iter();
    rows.map(|r| (r["id"].as_str().unwrap().into(), r.clone()))
        .collect()
}

fn instant(v: &Value) -> DateTime<Utc> {
    let text = v.as_str().unwrap_or_else(|| panic!("a time: {v}"));
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

#[tokio::test]
async fn simulator_analytics_match_the_openapi_document() {
    let sim = analytics_sim(sim_now(), 0.0).await;
    let doc = spec_doc();
    let (services, priority) = {
        let org = sim.sim.org.read().await;
        let services = [&org.services[0].id, &org.services[1].id];
        (json!(services), org.priorities[2].id.clone())
    };
    let raw = post_ok(&sim, RAW, json!({"limit": 50})).await;
    assert_eq!(raw["data"].as_array().unwrap().len(), 50);
    assert_matches_spec(&doc, RAW, &raw);
    // Every filter, echoed back; times in the zone asked for.
    let mut filters = last_30_days(sim_now());
    filters["updated_after"] = filters["created_at_start"].clone();
    let more = json!({"urgency": "high", "major": false, "service_ids": services, "team_ids": [],
        "priority_ids": [priority], "priority_names": ["P3", "P4"], "incident_type_ids": ["PTYPE00"]});
    filters
        .as_object_mut()
        .unwrap()
        .extend(more.as_object().unwrap().clone());
    let body = json!({"filters": filters, "order": "asc", "order_by": "seconds_to_resolve",
                      "time_zone": "Asia/Tokyo"});
    let filtered = post_ok(&sim, RAW, body).await;
    assert_eq!(filtered["filters"], filters);
    assert_eq!(filtered["time_zone"], "Asia/Tokyo");
    assert_matches_spec(&doc, RAW, &filtered);
    assert!(!ids(&filtered).is_empty());
    for r in filtered["data"].as_array().unwrap() {
        assert_eq!(
            (r["urgency"].as_str(), r["priority_id"].as_str()),
            (Some("high"), Some(&*priority))
        );
        assert!(r["created_at"].as_str().unwrap().ends_with("+09:00"), "{r}");
    }
    let id = raw["data"][0]["id"].as_str().unwrap();
    let (status, one) = get(&sim, &format!("{RAW}/{id}")).await;
    assert_eq!(
        (status, &one),
        (StatusCode::OK, &raw["data"][0]),
        "as listed"
    );
    assert_matches_spec(&doc, "/analytics/raw/incidents/{id}", &one);
    for (group, unit) in [
        ("all", json!(null)),
        ("all", json!("week")),
        ("services", json!("day")),
        ("teams", json!(null)),
        ("escalation_policies", json!("month")),
    ] {
        let route = format!("/analytics/metrics/incidents/{group}");
        let body = json!({"filters": last_30_days(sim_now()), "aggregate_unit": unit,
                          "time_zone": "Europe/Berlin"});
        let body = post_ok(&sim, &route, body).await;
        assert!(!body["data"].as_array().unwrap().is_empty(), "{route}");
        assert_eq!(body["aggregate_unit"], unit);
        assert_matches_spec(&doc, &route, &body);
    }
}

#[tokio::test]
async fn simulator_analytics_pages_walk_every_incident_once_and_filter_by_time() {
    let sim = analytics_sim(sim_now(), 0.0).await;
    let all: BTreeSet<String> = {
        let org = sim.sim.org.read().await;
        org.incidents.iter().map(|i| i.id.clone()).collect()
    };
    assert_eq!(all.len(), 300);
    for (order, order_by) in [
        ("asc", "created_at"),
        ("desc", "created_at"),
        ("asc", "seconds_to_resolve"),
        ("desc", "updated_at"),
    ] {
        let mut rows = Vec::new();
        let mut body = json!({"order": order, "order_by": order_by, "limit": 37});
        loop {
            let page = post_ok(&sim, RAW, body.clone()).await;
            rows.extend(page["data"].as_array().unwrap().iter().cloned());
            if page["more"] == false {
                break;
            }
            body["starting_after"] = page["last"].clone();
        }
        assert_eq!(rows.len(), all.len(), "{order} {order_by}: each once");
        assert_eq!(ids(&json!({ "data": rows })), all);
        // In the order asked for, nulls after every number.
        let key = |r: &Value| match order_by {
            "seconds_to_resolve" => r[order_by].as_i64().unwrap_or(i64::MAX),
            _ => instant(&r[order_by]).timestamp(),
        };
        for w in rows.windows(2) {
            let (a, b) = (key(&w[0]), key(&w[1]));
            let in_order = if order == "asc" { a <= b } else { a >= b };
            assert!(in_order, "{order_by}: {w:?}");
        }
    }
    // `ending_before` the second page's first goes back to the first page.
    let first = post_ok(&sim, RAW, json!({"limit": 10})).await;
    let body = json!({"limit": 10, "starting_after": first["last"]});
    let second = post_ok(&sim, RAW, body).await;
    let body = json!({"limit": 10, "ending_before": second["first"]});
    let back = post_ok(&sim, RAW, body).await;
    assert_eq!(back["data"], first["data"]);
    assert_eq!(back["more"], false, "nothing before the first page");

    // `updated_after` is strictly after; the created range takes its start
    // and leaves out its end.
    let rows = raw_by_id(&sim).await;
    let times = |field: &str| -> Vec<(DateTime<Utc>, String)> {
        let mut t: Vec<_> = rows
            .iter()
            .map(|(id, r)| (instant(&r[field]), id.clone()))
            .collect();
        t.sort();
        t
    };
    let updated = times("updated_at");
    let threshold = updated[updated.len() / 2].0;
    let filters = json!({"updated_after": threshold.to_rfc3339()});
    let page = post_ok(&sim, RAW, json!({"limit": 1000, "filters": filters})).await;
    let after: BTreeSet<String> = updated
        .into_iter()
        .filter(|x| x.0 > threshold)
        .map(|x| x.1)
        .collect();
    assert!(!after.is_empty() && after.len() <= rows.len() / 2);
    assert_eq!(ids(&page), after);
    let created = times("created_at");
    let (from, to) = (created[10].0, created[20].0);
    let filters = json!({"created_at_start": from.to_rfc3339(), "created_at_end": to.to_rfc3339()});
    let page = post_ok(&sim, RAW, json!({"filters": filters})).await;
    let inside = created.into_iter().filter(|(t, _)| *t >= from && *t < to);
    assert_eq!(ids(&page), inside.map(|x| x.1).collect());
    assert_eq!(ids(&page).len(), 10);
}

#[tokio::test]
async fn simulator_analytics_of_an_incident_follow_its_log_entries() {
    let sim = analytics_sim(sim_now(), 0.0).await;
    let since = (Utc::now() - Duration::days(30)).to_rfc3339();
    let since: String = url::form_urlencoded::byte_serialize(since.as_bytes()).collect();
    let mut entries: Vec<Value> = Vec::new();
    for offset in (0..).step_by(100) {
        let path = format!("/log_entries?limit=100&offset={offset}&since={since}");
        let (_, page) = get(&sim, &path).await;
        entries.extend(page["log_entries"].as_array().unwrap().iter().cloned());
        if page["more"] == false {
            break;
        }
    }
    let of = |id: &str, kind: &str| -> Vec<&Value> {
        let es = entries.iter().filter(|e| e["incident"]["id"] == id);
        es.filter(|e| e["type"] == kind).collect()
    };
    // An incident escalated, then acknowledged and resolved once each.
    let mut triggers = entries.iter().filter(|e| e["type"] == "trigger_log_entry");
    let id = triggers
        .find_map(|e| {
            let id = e["incident"]["id"].as_str().unwrap();
            let once = |k| of(id, k).len() == 1;
            let escalated = !of(id, "escalate_log_entry").is_empty();
            (escalated && once("acknowledge_log_entry") && once("resolve_log_entry")).then_some(id)
        })
        .expect("an escalated, acknowledged and resolved incident");
    let (_, row) = get(&sim, &format!("{RAW}/{id}")).await;
    let (_, incident) = get(&sim, &format!("/incidents/{id}")).await;
    let incident = &incident["incident"];
    let created = instant(&incident["created_at"]);
    let trigger = of(id, "trigger_log_entry")[0];
    assert_eq!(instant(&trigger["created_at"]), created);
    let ack = of(id, "acknowledge_log_entry")[0];
    let resolve = of(id, "resolve_log_entry")[0];
    let (acked, resolved) = (instant(&ack["created_at"]), instant(&resolve["created_at"]));
    assert_eq!(ack["agent"]["type"], "user_reference");
    let escalations = of(id, "escalate_log_entry");
    let timeout = |e: &&&Value| e["channel"]["type"] == "timeout";
    let (timeouts, escalations) = (
        escalations.iter().filter(timeout).count(),
        escalations.len(),
    );
    let reassignments = of(id, "assign_log_entry").len();
    // Interruptions: one per (user, second), in the user's own time zone.
    let (_, users) = get(&sim, "/users?limit=100").await;
    let zone = |user: &str| -> chrono_tz::Tz {
        let mut users = users["users"].as_array().unwrap().iter();
        let zone = users.find(|u| u["id"] == user).unwrap()["time_zone"].as_str();
        zone.map_or(chrono_tz::UTC, |z| z.parse().unwrap())
    };
    let notifies = of(id, "notify_log_entry");
    let unique: BTreeSet<(&str, DateTime<Utc>)> = notifies
        .iter()
        .map(|n| (n["user"]["id"].as_str().unwrap(), instant(&n["created_at"])))
        .collect();
    let (mut business, mut off, mut sleep) = (0, 0, 0);
    for (user, at) in &unique {
        use chrono::{Datelike, Timelike};
        let local = at.with_timezone(&zone(user));
        match local.hour() {
            22.. | 0..8 => sleep += 1,
            8..18 if local.weekday().number_from_monday() <= 5 => business += 1,
            _ => off += 1,
        }
    }
    // Major: one of the two first priorities (one responder only).
    let (_, priorities) = get(&sim, "/priorities").await;
    let top = &priorities["priorities"].as_array().unwrap()[..2];
    let major = top.iter().any(|p| p["id"] == incident["priority"]["id"]);
    // The team: the service's first.
    let (_, services) = get(&sim, "/services?limit=100").await;
    let mut services = services["services"].as_array().unwrap().iter();
    let service = services.find(|s| s["id"] == incident["service"]["id"]);
    let service = service.unwrap();
    let acker = &ack["agent"]["id"];
    let expected = json!({
        "id": id, "incident_number": incident["incident_number"], "status": "resolved",
        "urgency": incident["urgency"], "priority_id": incident["priority"]["id"], "major": major,
        "service_id": service["id"], "service_name": service["name"],
        "team_id": service["teams"][0]["id"],
        "escalation_policy_id": incident["escalation_policy"]["id"],
        "seconds_to_first_ack": (acked - created).num_seconds(),
        "seconds_to_resolve": (resolved - created).num_seconds(),
        "engaged_seconds": (resolved - acked).num_seconds(),
        "engaged_user_count": 1, "seconds_to_engage": null, "seconds_to_mobilize": null,
        "acknowledged_user_ids": [acker], "joined_user_ids": [acker],
        "resolved_by_user_id": resolve["agent"]["id"], "auto_resolved": false,
        "acknowledgement_count": 1, "escalation_count": escalations,
        "timeout_escalation_count": timeouts, "manual_escalation_count": escalations - timeouts,
        "reassignment_count": reassignments,
        "assignment_count": 1 + escalations + reassignments, "snoozed_seconds": 0,
        "total_notifications": notifies.len(), "total_interruptions": unique.len(),
        "business_hour_interruptions": business, "off_hour_interruptions": off,
        "sleep_hour_interruptions": sleep,
    });
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&row[field], value, "{id}: {field}");
    }
    let updated = instant(&incident["updated_at"]);
    let times = [("created_at", created), ("resolved_at", resolved)];
    for (field, at) in times.into_iter().chain([("updated_at", updated)]) {
        assert_eq!(instant(&row[field]), at, "{field}");
    }
    assert!(row.get("user_defined_effort_seconds").is_none());
}

#[tokio::test]
async fn simulator_perturbs_exactly_the_incidents_it_lists() {
    let now = sim_now();
    let (plain, perturbed) = (analytics_sim(now, 0.0).await, analytics_sim(now, 0.1).await);
    // A control route: it needs the token.
    let url = format!("{}/_simulator/perturbed", perturbed.base_url());
    let resp = reqwest::Client::new().get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get(&plain, "/_simulator/perturbed").await.1, json!([]));
    let (status, listed) = get(&perturbed, "/_simulator/perturbed").await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<BTreeMap<String, String>> = serde_json::from_value(listed).unwrap();
    let listed: Vec<(String, String)> = listed
        .into_iter()
        .map(|mut p| (p.remove("incident_id").unwrap(), p.remove("field").unwrap()))
        .collect();
    assert_eq!(listed.len(), 30, "round(0.1 × 300)");
    assert!(listed.windows(2).all(|w| w[0].0 < w[1].0), "sorted by id");
    let fields: BTreeSet<&str> = listed.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(fields.len(), 6, "the fields rotate");
    // Exactly the listed incidents differ, each in its listed field.
    let (a, b) = (raw_by_id(&plain).await, raw_by_id(&perturbed).await);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let mut differing = Vec::new();
    for (id, row) in &a {
        let keys = row.as_object().unwrap().keys();
        let changed: Vec<&String> = keys.filter(|k| row[*k] != b[id][*k]).collect();
        assert!(changed.len() <= 1, "{id}: {changed:?}");
        differing.extend(changed.iter().map(|f| (id.clone(), (*f).clone())));
    }
    assert_eq!(differing, listed);
    // The single answer is perturbed as well; the aggregates are not.
    let (id, field) = &listed[0];
    let (_, one) = get(&perturbed, &format!("{RAW}/{id}")).await;
    assert_eq!(one, b[id]);
    assert_ne!(one[field], a[id][field]);
    let path = "/analytics/metrics/incidents/services";
    let body = json!({"filters": last_30_days(now)});
    let aggregates = post_ok(&plain, path, body.clone()).await;
    assert_eq!(aggregates, post_ok(&perturbed, path, body).await);
}

#[tokio::test]
async fn simulator_metrics_aggregate_the_raw_incidents() {
    let now = sim_now();
    let sim = analytics_sim(now, 0.0).await;
    let rows: Vec<Value> = raw_by_id(&sim).await.into_values().collect();
    let sum = |f: &str| rows.iter().map(|r| r[f].as_i64().unwrap_or(0)).sum::<i64>();
    let count = |f: &dyn Fn(&Value) -> bool| rows.iter().filter(|r| f(r)).count() as i64;
    let acked = |r: &Value| r["acknowledgement_count"].as_i64() > Some(0);
    let metrics = "/analytics/metrics/incidents/all";
    let all = post_ok(&sim, metrics, json!({"filters": last_30_days(now)})).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    let m = &all["data"][0];
    assert!(m.get("range_start").is_none() && m.get("service_id").is_none());
    let resolve = rows.iter().filter_map(|r| r["seconds_to_resolve"].as_i64());
    let mut resolve: Vec<i64> = resolve.collect();
    resolve.sort_unstable();
    let n = resolve.len();
    let expected = json!({
        "total_incident_count": rows.len(),
        "total_notifications": sum("total_notifications"),
        "total_interruptions": sum("total_interruptions"),
        "total_escalation_count": sum("escalation_count"),
        "total_engaged_seconds": sum("engaged_seconds"),
        "total_incidents_auto_resolved": count(&|r| r["auto_resolved"] == true),
        "total_incidents_acknowledged": count(&acked),
        "mean_assignment_count": sum("assignment_count") / rows.len() as i64,
        "mean_seconds_to_resolve": resolve.iter().sum::<i64>() / n as i64,
    });
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&m[field], value, "{field}");
    }
    // Nearest rank: the smallest value at least q % of them do not exceed.
    for q in [50, 75, 90, 95] {
        let v = m[format!("p{q}_seconds_to_resolve")].as_i64().unwrap();
        let at_most = resolve.partition_point(|x| *x <= v);
        let below = resolve.partition_point(|x| *x < v);
        assert!(at_most * 100 >= q * n && below * 100 < q * n, "p{q}");
    }
    let up = m["up_time_pct"].as_f64().unwrap();
    assert!((0.0..100.0).contains(&up), "majors take time: {up}");
    // Per service and per local day: the counts add up.
    let body = json!({"filters": last_30_days(now)});
    let by_service = post_ok(&sim, "/analytics/metrics/incidents/services", body).await;
    for s in by_service["data"].as_array().unwrap() {
        let expected = count(&|r| r["service_id"] == s["service_id"]);
        assert_eq!(s["total_incident_count"], expected, "{}", s["service_id"]);
        assert!(s["service_name"].is_string() && s["team_id"].is_string());
    }
    let body = json!({"filters": last_30_days(now), "aggregate_unit": "day",
                      "time_zone": "America/New_York"});
    let by_day = post_ok(&sim, metrics, body).await;
    let days = by_day["data"].as_array().unwrap();
    let total: i64 = days
        .iter()
        .map(|d| d["total_incident_count"].as_i64().unwrap())
        .sum();
    assert_eq!((total, days.len() > 15), (rows.len() as i64, true));
    for d in days {
        let start = d["range_start"].as_str().unwrap();
        assert!(start.contains("T00:00:00-0"), "local midnight: {start}");
    }
    // Filters narrow the incidents counted.
    let filters = json!({"urgency": "high", "min_ackowledgements": 1});
    let high = post_ok(&sim, metrics, json!({"filters": filters})).await;
    let expected = count(&|r| r["urgency"] == "high" && acked(r));
    assert_eq!(high["data"][0]["total_incident_count"], expected);
}

#[tokio::test]
async fn simulator_analytics_refuse_bad_requests() {
    let sim = analytics_sim(sim_now(), 0.0).await;
    let metrics = "/analytics/metrics/incidents/teams";
    let page = post_ok(&sim, RAW, json!({"limit": 5})).await;
    let range = |from: &str, to: &str| {
        let [from, to] = [from, to].map(|d| format!("{d}T00:00:00Z"));
        json!({"filters": {"created_at_start": from, "created_at_end": to}})
    };
    for (path, body) in [
        (RAW, json!({"order": "sideways"})),
        (RAW, json!({"order_by": "title"})),
        (RAW, json!({"limit": 0})),
        (RAW, json!({"limit": 1001})),
        (RAW, json!({"limit": "ten"})),
        (RAW, json!({"filters": {"created_at_start": "yesterday"}})),
        (RAW, range("2024-01-01", "2025-01-02")),
        (RAW, json!({"filters": {"urgency": "urgent"}})),
        (RAW, json!({"filters": {"statuses": ["resolved"]}})),
        (RAW, json!({"starting_after": "not a cursor"})),
        // A cursor of another order.
        (
            RAW,
            json!({"order_by": "updated_at", "starting_after": &page["last"]}),
        ),
        (RAW, json!({"time_zone": "Mars/Olympus_Mons"})),
        (RAW, json!({"sort": "created_at"})),
        (RAW, json!([1, 2])),
        (metrics, json!({"aggregate_unit": "year"})),
        (metrics, json!({"filters": {"updated_after": "2024-01-01"}})),
        (metrics, range("2023-01-01", "2024-06-01")),
    ] {
        let (status, answer) = post(&sim, path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}");
        assert_eq!(answer["error"]["code"], 2001, "{answer}");
        assert!(answer["error"]["message"].is_string());
        assert!(!answer["error"]["errors"].as_array().unwrap().is_empty());
    }
    let url = format!("{}{RAW}", sim.base_url());
    let (status, _) = call(reqwest::Client::new().post(&url).body("{limit: 5")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not JSON");
    // Unknown incidents and groupings; no token.
    let (status, answer) = get(&sim, &format!("{RAW}/NOPE")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["error"]["code"], 5001);
    let (status, _) = post(&sim, "/analytics/metrics/incidents/planets", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let resp = reqwest::Client::new().post(&url).json(&json!({})).send();
    assert_eq!(resp.await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn simulate_pagerduty_refuses_a_perturbation_share_outside_0_to_1() {
    let dir = tempfile::tempdir().unwrap();
    for share in ["1.5", "-0.1", "NaN"] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pagerlens"));
        cmd.current_dir(dir.path()).env_clear();
        cmd.envs(std::env::var_os("PATH").map(|p| ("PATH", p)));
        let flag = format!("--perturb-analytics={share}");
        let args = ["simulate-pagerduty", "--bind", "127.0.0.1:0", &flag];
        let out = cmd.args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{share} is refused");
        let message = "--perturb-analytics must be between 0 and 1";
        assert!(stderr.contains(message), "{stderr}");
    }
}
