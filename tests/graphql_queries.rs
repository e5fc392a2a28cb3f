//! Queries over the catalogue and incidents: lists, filters, sorting,
//! pagination, lookups by id, relations both ways, and no N+1 queries.

use serde_json::{Value, json};

use crate::common::fixtures::{incident_shape, seed_catalog, seed_incidents};
use crate::common::{TestApp, assert_error};
use crate::on_both_databases;

fn names(list: &Value) -> Vec<String> {
    list["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn services_list_filter_sort_and_paginate(app: TestApp) {
    seed_catalog(&app.db).await;
    let d = app
        .data(
            "{ services(first: 10) { totalCount edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["services"]["totalCount"], 3,
        "deleted services are hidden by default"
    );
    assert_eq!(names(&d["services"]), ["API gateway", "Checkout", "Ledger"]);

    let d = app
        .data(
            "{ services(first: 10, filter: {includeDeleted: true}, orderBy: {field: NAME, direction: DESC}) { totalCount edges { node { name deleted } } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["services"]["totalCount"], 4);
    assert_eq!(
        names(&d["services"]),
        ["Legacy batch", "Ledger", "Checkout", "API gateway"]
    );

    let d = app
        .data(
            "{ services(filter: {teamIds: [\"PT3\"]}) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&d["services"]), ["Ledger"]);
    let d = app
        .data(
            "{ services(filter: {search: \"CHECK\"}) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&d["services"]), ["Checkout"]);
    let d = app
        .data(
            "{ services(filter: {search: \"%\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["services"]["totalCount"], 0,
        "LIKE wildcards in a search are literal"
    );

    // Pagination: first/after walk the list without overlap.
    let q = "query($after: String) { services(first: 2, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { name } } } }";
    let p1 = app.data(q, json!({"after": null})).await;
    assert_eq!(names(&p1["services"]), ["API gateway", "Checkout"]);
    assert_eq!(p1["services"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(p1["services"]["pageInfo"]["hasPreviousPage"], false);
    let after = p1["services"]["pageInfo"]["endCursor"].clone();
    let p2 = app.data(q, json!({"after": after})).await;
    assert_eq!(names(&p2["services"]), ["Ledger"]);
    assert_eq!(p2["services"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(p2["services"]["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(p2["services"]["totalCount"], 3);
}

async fn lookups_by_id_and_not_found(app: TestApp) {
    seed_catalog(&app.db).await;
    let d = app
        .data(
            "{ service(id: \"PS_LDG\") { name teams { name } escalationPolicy { name } } team(id: \"PT1\") { name } user(id: \"PU4\") { name } schedule(id: \"PS1\") { name } escalationPolicy(id: \"PE2\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(d["service"]["name"], "Ledger");
    assert_eq!(
        d["service"]["teams"],
        json!([{"name": "Data"}, {"name": "Payments"}])
    );
    assert_eq!(d["service"]["escalationPolicy"]["name"], "Payments EP");
    assert_eq!(d["team"]["name"], "Platform");
    assert_eq!(d["user"]["name"], "Dan");
    assert_eq!(d["schedule"]["name"], "Platform primary");
    assert_eq!(d["escalationPolicy"]["name"], "Payments EP");

    for (field, label) in [
        ("service", "service"),
        ("team", "team"),
        ("user", "user"),
        ("schedule", "schedule"),
        ("escalationPolicy", "escalation policy"),
        ("incident", "incident"),
    ] {
        let body = app
            .gql(&format!("{{ {field}(id: \"NOPE\") {{ id }} }}"), json!({}))
            .await;
        let message = assert_error(&body, "NOT_FOUND");
        assert!(
            message.contains(label) && message.contains("NOPE"),
            "{message}"
        );
        assert_eq!(body["data"], Value::Null);
    }
}

async fn relations_resolve_both_ways(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 6).await;
    let d = app
        .data(
            r#"{
              team(id: "PT2") { services { name } members { role user { name } } escalationPolicies { name } }
              escalationPolicy(id: "PE1") {
                teams { name } services { name }
                rules { level escalationDelayInMinutes targets { type id user { name } schedule { name } } }
                users { name } schedules { name }
              }
              schedule(id: "PS2") { users { name } }
              user(id: "PU4") { teams { name } schedules { name } }
              incident(id: "PI0001") {
                number title status urgency source
                service { name } escalationPolicy { name } priority { name order }
                assignees { name } acknowledgedBy { name } resolvedBy { name }
                logEntries { type agent { name } } customFields { name value valueText }
              }
              s: service(id: "PS_CHK") { incidents(first: 10, orderBy: {field: CREATED_AT, direction: ASC}) { totalCount edges { node { id } } } }
            }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d["team"]["services"],
        json!([{"name": "Checkout"}, {"name": "Ledger"}])
    );
    assert_eq!(
        d["team"]["members"],
        json!([{"role": "responder", "user": {"name": "Carol"}}, {"role": "responder", "user": {"name": "Dan"}}])
    );
    assert_eq!(
        d["team"]["escalationPolicies"],
        json!([{"name": "Payments EP"}])
    );
    let ep = &d["escalationPolicy"];
    assert_eq!(ep["teams"], json!([{"name": "Platform"}]));
    assert_eq!(
        ep["services"],
        json!([{"name": "API gateway"}]),
        "deleted services are left out"
    );
    assert_eq!(
        ep["rules"],
        json!([
            {"level": 1, "escalationDelayInMinutes": 30, "targets": [{"type": "SCHEDULE", "id": "PS1", "user": null, "schedule": {"name": "Platform primary"}}]},
            {"level": 2, "escalationDelayInMinutes": 30, "targets": [{"type": "USER", "id": "PU5", "user": {"name": "Erin"}, "schedule": null}]}
        ])
    );
    let mut covered: Vec<&str> = ep["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    covered.sort();
    assert_eq!(
        covered,
        ["Alice", "Bob", "Erin"],
        "users via the schedule and directly"
    );
    assert_eq!(ep["schedules"], json!([{"name": "Platform primary"}]));
    assert_eq!(
        d["schedule"]["users"],
        json!([{"name": "Carol"}, {"name": "Dan"}])
    );
    assert_eq!(
        d["user"]["teams"],
        json!([{"name": "Data"}, {"name": "Payments"}])
    );
    assert_eq!(
        d["user"]["schedules"],
        json!([{"name": "Payments primary"}])
    );

    let inc = &d["incident"];
    assert_eq!(inc["number"], 1001);
    assert_eq!(inc["status"], "ACKNOWLEDGED");
    assert_eq!(inc["urgency"], "LOW");
    assert_eq!(inc["source"], "PAGERDUTY");
    assert_eq!(inc["service"]["name"], "Checkout");
    assert_eq!(inc["escalationPolicy"]["name"], "Payments EP");
    assert_eq!(inc["priority"], json!({"name": "P2", "order": 1}));
    assert_eq!(inc["assignees"], json!([{"name": "Carol"}]));
    assert_eq!(inc["acknowledgedBy"]["name"], "Alice");
    assert_eq!(inc["resolvedBy"], Value::Null);
    assert_eq!(
        inc["logEntries"],
        json!([{"type": "trigger_log_entry", "agent": {"name": "Alice"}}, {"type": "acknowledge_log_entry", "agent": {"name": "Alice"}}])
    );
    assert_eq!(
        inc["customFields"],
        json!([{"name": "resolution", "value": "vendor", "valueText": "vendor"}])
    );
    assert_eq!(d["s"]["incidents"]["totalCount"], 2);
    assert_eq!(
        d["s"]["incidents"]["edges"],
        json!([{"node": {"id": "PI0001"}}, {"node": {"id": "PI0004"}}])
    );
}

async fn incident_filters_and_sorting(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 40).await;
    let count = |filter: &'static str| {
        let app = &app;
        async move {
            let d = app
                .data(
                    &format!("{{ incidents(filter: {filter}) {{ totalCount }} }}"),
                    json!({}),
                )
                .await;
            d["incidents"]["totalCount"].as_u64().unwrap() as usize
        }
    };
    let expect = |pred: &dyn Fn(usize) -> bool| (0..40).filter(|k| pred(*k)).count();
    assert_eq!(count("{}").await, 40);
    assert_eq!(
        count("{statuses: [RESOLVED]}").await,
        expect(&|k| incident_shape(k).1 == "resolved")
    );
    assert_eq!(
        count("{statuses: [TRIGGERED, ACKNOWLEDGED]}").await,
        expect(&|k| incident_shape(k).1 != "resolved")
    );
    assert_eq!(count("{urgencies: [HIGH]}").await, 20);
    assert_eq!(
        count("{serviceIds: [\"PS_API\"]}").await,
        expect(&|k| incident_shape(k).0 == "PS_API")
    );
    assert_eq!(
        count("{teamIds: [\"PT2\"]}").await,
        expect(&|k| incident_shape(k).0 != "PS_API")
    );
    assert_eq!(
        count("{teamIds: [\"PT3\"], urgencies: [LOW]}").await,
        expect(&|k| incident_shape(k).0 == "PS_LDG" && k % 2 == 1)
    );
    assert_eq!(
        count("{priorityIds: [\"PR1\"]}").await,
        expect(&|k| k % 3 == 0)
    );
    assert_eq!(count("{search: \"disk\"}").await, 8);
    assert_eq!(count("{search: \"DISK FULL\"}").await, 8);
    assert_eq!(
        count("{serviceIds: []}").await,
        0,
        "an empty set matches nothing"
    );
    // Created-at range: [t0 + 10h, t0 + 20h) holds incidents 10..19.
    assert_eq!(
        count("{createdAfter: \"2026-01-01T10:00:00Z\", createdBefore: \"2026-01-01T20:00:00Z\"}")
            .await,
        10
    );
    // Offsets in the input are honoured: 11:00+01:00 is 10:00Z.
    assert_eq!(
        count(
            "{createdAfter: \"2026-01-01T11:00:00+01:00\", createdBefore: \"2026-01-01T20:00:00Z\"}"
        )
        .await,
        10
    );

    let ids = |d: &Value| -> Vec<String> {
        d["incidents"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let d = app
        .data(
            "{ incidents(first: 3) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ids(&d),
        ["PI0039", "PI0038", "PI0037"],
        "newest first by default"
    );
    let d = app.data("{ incidents(first: 3, orderBy: {field: INCIDENT_NUMBER, direction: ASC}) { edges { node { id } } } }", json!({})).await;
    assert_eq!(ids(&d), ["PI0000", "PI0001", "PI0002"]);
    let d = app.data("{ incidents(first: 2, orderBy: {field: TITLE, direction: ASC}) { edges { node { title } } } }", json!({})).await;
    assert_eq!(
        d["incidents"]["edges"][0]["node"]["title"],
        "Disk full on host-0"
    );

    // Walking every page with a small page size sees each incident exactly once.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let d = app
            .data(
                "query($after: String) { incidents(first: 7, after: $after, orderBy: {field: STATUS}) { pageInfo { hasNextPage endCursor } edges { node { id } } } }",
                json!({"after": after}),
            )
            .await;
        seen.extend(ids(&d));
        if d["incidents"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = d["incidents"]["pageInfo"]["endCursor"].clone();
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 40);
}

async fn relations_are_batched_not_n_plus_one(app: TestApp) {
    // A debug build on a busy 2-core machine can take longer than the default
    // 2 ms batching window to resolve 100 rows; a wide window takes timing
    // out of this assertion, which is about how statements are batched.
    let app = crate::common::respawn_with(app, |c| {
        c.graphql_batch_delay = std::time::Duration::from_millis(200)
    })
    .await;
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 120).await;
    let query = "query($n: Int) { incidents(first: $n) { totalCount edges { node { id title service { name teams { name } } logEntries { type } customFields { name } assignees { name } priority { name } attachments { fileName } } } } }";
    let run = |n: u32| {
        let app = &app;
        async move {
            let before = app.statements();
            let d = app.data(query, json!({"n": n})).await;
            assert_eq!(
                d["incidents"]["edges"].as_array().unwrap().len(),
                n as usize
            );
            assert!(
                d["incidents"]["edges"][0]["node"]["service"]["teams"]
                    .as_array()
                    .is_some()
            );
            app.statements() - before
        }
    };
    // The API token's last use is recorded at most once a minute: do it now.
    app.data("{ me { role } }", json!({})).await;
    let small = run(10).await;
    let large = run(100).await;
    // token lookup + team scope + list + count + services + service teams +
    // log entries + custom fields + assignees + priorities + attachments
    assert!(
        large <= 11,
        "100 incidents with relations took {large} statements"
    );
    assert_eq!(
        small, large,
        "the number of statements must not grow with the number of rows"
    );
}

async fn priorities_are_listed_most_severe_first(app: TestApp) {
    seed_catalog(&app.db).await;
    let d = app
        .data("{ priorities { id name order } }", json!({}))
        .await;
    assert_eq!(
        d["priorities"][0],
        json!({"id": "PR1", "name": "P1", "order": 0})
    );
    assert_eq!(d["priorities"].as_array().unwrap().len(), 3);
}

on_both_databases!(
    services_list_filter_sort_and_paginate,
    lookups_by_id_and_not_found,
    relations_resolve_both_ways,
    incident_filters_and_sorting,
    relations_are_batched_not_n_plus_one,
    priorities_are_listed_most_severe_first,
);

async fn custom_field_flags_are_rules_not_code(app: TestApp) {
    let app = crate::common::respawn_with(app, |c| {
        c.custom_field_flags = pagerlens::config::parse_rules(
            "resolved_by_us = resolution equals ccoe; vendor_or_other = resolution in vendor,other; no_root_cause = prelim_root_cause is_not_set",
        )
        .unwrap()
    })
    .await;
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 10).await;
    let d = app
        .data(
            "{ customFieldFlags { name field operator values } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["customFieldFlags"][0],
        json!({"name": "resolved_by_us", "field": "resolution", "operator": "equals", "values": ["ccoe"]})
    );
    let d = app
        .data(
            "{ incident(id: \"PI0002\") { flags } other: incident(id: \"PI0003\") { flags } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["incident"]["flags"],
        json!(["resolved_by_us", "no_root_cause"])
    );
    assert_eq!(
        d["other"]["flags"],
        json!(["vendor_or_other", "no_root_cause"])
    );
    // The same rules in SQL.
    let d = app.data("{ a: incidents(filter: {flags: [\"resolved_by_us\"]}) { totalCount } b: incidents(filter: {flags: [\"vendor_or_other\", \"no_root_cause\"]}) { totalCount } }", json!({})).await;
    assert_eq!(d["a"]["totalCount"], 5);
    assert_eq!(d["b"]["totalCount"], 5);
    let body = app
        .gql(
            "{ incidents(filter: {flags: [\"nope\"]}) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("resolved_by_us"));
}

on_both_databases!(custom_field_flags_are_rules_not_code);
