//! Team scoping: an account or a token limited to some teams sees only their
//! services, escalation policies and incidents, through every path.
//!
//! Fixture: PT1 Platform owns PS_API (and the deleted PS_OLD) and PE1; PT2
//! Payments owns PS_CHK, PS_LDG and PE2; PT3 Data co-owns PS_LDG. Incidents
//! PI0000.. rotate over PS_API, PS_CHK, PS_LDG.

use pagerlens::auth::Role;
use pagerlens::events::Event;
use serde_json::{Value, json};

use crate::common::fixtures::{incident_shape, seed_catalog, seed_incidents};
use crate::common::{TestApp, assert_error};
use crate::on_both_databases;
use crate::subscriptions::{next_json, subscribe};

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn nodes(v: &Value) -> Vec<String> {
    ids(&v["nodes"])
}

async fn ok(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = app.gql_as(token, query, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

async fn set_teams(app: &TestApp, account: i32, teams: Value) -> Value {
    app.gql(
        "mutation($id: ID!, $t: [ID!]) { setAccountTeams(id: $id, teamIds: $t) { id teamIds } }",
        json!({"id": account.to_string(), "t": teams}),
    )
    .await
}

const INCIDENTS: usize = 12;

/// The incident ids of a service in the fixture.
fn incidents_of(service: &str) -> Vec<String> {
    (0..INCIDENTS)
        .filter(|k| incident_shape(*k).0 == service)
        .map(|k| format!("PI{k:04}"))
        .collect()
}

async fn a_scoped_account_sees_only_its_teams(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, INCIDENTS).await;
    let (account, token) = app
        .account_with_token("platform@example.com", Role::User)
        .await;
    let body = set_teams(&app, account, json!(["PT1"])).await;
    assert_eq!(
        body["data"]["setAccountTeams"]["teamIds"],
        json!(["PT1"]),
        "{body}"
    );

    let me = ok(&app, &token, "{ me { teamIds account { teamIds } } }").await;
    assert_eq!(me["me"]["teamIds"], json!(["PT1"]));
    assert_eq!(me["me"]["account"]["teamIds"], json!(["PT1"]));

    // Lists.
    let d = ok(
        &app,
        &token,
        "{ services(filter: {includeDeleted: true}) { nodes { id } }
           teams { nodes { id } }
           escalationPolicies { nodes { id } }
           incidents(first: 100) { nodes { id } totalCount } }",
    )
    .await;
    assert_eq!(nodes(&d["services"]), ["PS_API", "PS_OLD"]);
    assert_eq!(nodes(&d["teams"]), ["PT1"]);
    assert_eq!(nodes(&d["escalationPolicies"]), ["PE1"]);
    assert_eq!(nodes(&d["incidents"]), incidents_of("PS_API"));
    assert_eq!(d["incidents"]["totalCount"], incidents_of("PS_API").len());

    // Filters cannot widen the scope.
    let d = ok(
        &app,
        &token,
        "{ incidents(filter: {serviceIds: [\"PS_CHK\"]}) { nodes { id } }
           services(filter: {teamIds: [\"PT2\"]}) { nodes { id } }
           escalationPolicies(filter: {teamIds: [\"PT2\"]}) { nodes { id } } }",
    )
    .await;
    assert!(nodes(&d["incidents"]).is_empty());
    assert!(nodes(&d["services"]).is_empty());
    assert!(nodes(&d["escalationPolicies"]).is_empty());

    // By id: another team's objects do not exist for this caller.
    let other_incident = &incidents_of("PS_CHK")[0];
    for (query, kind) in [
        ("{ service(id: \"PS_CHK\") { id } }".to_owned(), "service"),
        ("{ team(id: \"PT2\") { id } }".to_owned(), "team"),
        (
            "{ escalationPolicy(id: \"PE2\") { id } }".to_owned(),
            "policy",
        ),
        (
            format!("{{ incident(id: \"{other_incident}\") {{ id }} }}"),
            "incident",
        ),
    ] {
        let (_, body) = app.gql_as(&token, &query, json!({})).await;
        assert_error(&body, "NOT_FOUND");
        assert!(body["data"].is_null(), "{kind}: {body}");
    }

    // Relations: every path back to another team is filtered.
    let d = ok(
        &app,
        &token,
        "{ user(id: \"PU4\") { teams { id } }
           schedule(id: \"PS2\") { users { id teams { id } } }
           team(id: \"PT1\") { services { id } escalationPolicies { id } members { user { id teams { id } } } }
           escalationPolicy(id: \"PE1\") { services { id } teams { id } }
           service(id: \"PS_API\") { teams { id } escalationPolicy { id }
             incidents(first: 100) { nodes { id service { id } escalationPolicy { id } } } } }",
    )
    .await;
    assert!(ids(&d["user"]["teams"]).is_empty(), "{d}");
    for u in d["schedule"]["users"].as_array().unwrap() {
        assert!(ids(&u["teams"]).is_empty(), "{d}");
    }
    assert_eq!(ids(&d["team"]["services"]), ["PS_API"]);
    assert_eq!(ids(&d["team"]["escalationPolicies"]), ["PE1"]);
    for m in d["team"]["members"].as_array().unwrap() {
        assert_eq!(ids(&m["user"]["teams"]), ["PT1"], "{d}");
    }
    assert_eq!(ids(&d["escalationPolicy"]["services"]), ["PS_API"]);
    assert_eq!(ids(&d["escalationPolicy"]["teams"]), ["PT1"]);
    assert_eq!(ids(&d["service"]["teams"]), ["PT1"]);
    assert_eq!(nodes(&d["service"]["incidents"]), incidents_of("PS_API"));

    // The same account, unrestricted again, sees everything.
    let body = set_teams(&app, account, Value::Null).await;
    assert_eq!(
        body["data"]["setAccountTeams"]["teamIds"],
        Value::Null,
        "{body}"
    );
    let d = ok(
        &app,
        &token,
        "{ teams { nodes { id } } incidents(first: 100) { totalCount } me { teamIds } }",
    )
    .await;
    assert_eq!(nodes(&d["teams"]), ["PT1", "PT2", "PT3"]);
    assert_eq!(d["incidents"]["totalCount"], INCIDENTS);
    assert_eq!(d["me"]["teamIds"], Value::Null);
}

async fn a_token_narrows_its_accounts_scope(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, INCIDENTS).await;
    let (account, token) = app
        .account_with_token("two-teams@example.com", Role::User)
        .await;
    set_teams(&app, account, json!(["PT1", "PT2"])).await;

    // The user limits a token of their own to one of their teams…
    let d = ok(
        &app,
        &token,
        "mutation { createApiToken(input: {name: \"payments bi\", teamIds: [\"PT2\"]}) { token apiToken { teamIds } } }",
    )
    .await;
    assert_eq!(d["createApiToken"]["apiToken"]["teamIds"], json!(["PT2"]));
    let narrow = d["createApiToken"]["token"].as_str().unwrap().to_owned();
    let d = ok(
        &app,
        &narrow,
        "{ me { teamIds } services { nodes { id } } incidents(first: 100) { nodes { id } } }",
    )
    .await;
    assert_eq!(d["me"]["teamIds"], json!(["PT2"]));
    assert_eq!(nodes(&d["services"]), ["PS_CHK", "PS_LDG"]);
    let mut expected = incidents_of("PS_CHK");
    expected.extend(incidents_of("PS_LDG"));
    expected.sort();
    assert_eq!(nodes(&d["incidents"]), expected);

    // …but cannot reach beyond them, and an unknown team is refused.
    let before = ok(&app, &token, "{ apiTokens { id } }").await["apiTokens"].clone();
    for (teams, code) in [
        (json!(["PT3"]), "FORBIDDEN"),
        (json!(["NOPE"]), "BAD_USER_INPUT"),
    ] {
        let (_, body) = app
            .gql_as(
                &token,
                "mutation($t: [ID!]) { createApiToken(input: {name: \"x\", teamIds: $t}) { token } }",
                json!({"t": teams}),
            )
            .await;
        assert_error(&body, code);
    }
    assert_eq!(
        ok(&app, &token, "{ apiTokens { id } }").await["apiTokens"],
        before
    );

    // Narrowing the account later narrows the token too (intersection).
    set_teams(&app, account, json!(["PT1"])).await;
    let d = ok(
        &app,
        &narrow,
        "{ me { teamIds } services { nodes { id } } incidents { totalCount } }",
    )
    .await;
    assert_eq!(d["me"]["teamIds"], json!([]));
    assert!(nodes(&d["services"]).is_empty());
    assert_eq!(d["incidents"]["totalCount"], 0);
}

async fn only_admins_set_scopes_and_bad_input_changes_nothing(app: TestApp) {
    seed_catalog(&app.db).await;
    let (account, token) = app.account_with_token("u@example.com", Role::User).await;
    let (_, body) = app
        .gql_as(
            &token,
            "mutation($id: ID!) { setAccountTeams(id: $id, teamIds: []) { id } }",
            json!({"id": account.to_string()}),
        )
        .await;
    assert_error(&body, "FORBIDDEN");

    set_teams(&app, account, json!(["PT1"])).await;
    for (id, teams, code) in [
        (account, json!(["PT1", "NOPE"]), "BAD_USER_INPUT"),
        (999_999, json!(["PT2"]), "NOT_FOUND"),
    ] {
        let body = set_teams(&app, id, teams).await;
        assert_error(&body, code);
    }
    let d = ok(&app, &token, "{ me { teamIds } }").await;
    assert_eq!(
        d["me"]["teamIds"],
        json!(["PT1"]),
        "a refused change left the scope alone"
    );
    let d = app.data("{ accounts { email teamIds } }", json!({})).await;
    let row = d["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "u@example.com")
        .unwrap()
        .clone();
    assert_eq!(row["teamIds"], json!(["PT1"]));
}

async fn subscriptions_only_push_the_scopes_incidents(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 3).await;
    let (account, token) = app
        .account_with_token("sub@example.com", Role::Viewer)
        .await;
    set_teams(&app, account, json!(["PT2"])).await;
    let mut ws = subscribe(&app, &token, "subscription { incidentUpdated { id } }").await;
    // PI0000 is PS_API (Platform): not for this caller. PI0001 is PS_CHK.
    app.app.events.publish(Event::IncidentChanged {
        id: "PI0000".into(),
        service_id: Some("PS_API".into()),
    });
    app.app.events.publish(Event::IncidentChanged {
        id: "PI0001".into(),
        service_id: Some("PS_CHK".into()),
    });
    let msg = next_json(&mut ws).await;
    assert_eq!(
        msg["payload"]["data"]["incidentUpdated"]["id"], "PI0001",
        "{msg}"
    );
}

on_both_databases!(
    a_scoped_account_sees_only_its_teams,
    a_token_narrows_its_accounts_scope,
    only_admins_set_scopes_and_bad_input_changes_nothing,
    subscriptions_only_push_the_scopes_incidents,
);
