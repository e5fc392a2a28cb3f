//! Limits and error hygiene: page sizes, depth, complexity, bad variables,
//! and internal errors that leak nothing.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::common::fixtures::{seed_catalog, seed_incidents};
use crate::common::{TestApp, assert_error};
use crate::on_both_databases;

async fn absurd_page_sizes_and_cursors_are_refused(app: TestApp) {
    for first in ["501", "-1"] {
        let body = app
            .gql(
                &format!("{{ incidents(first: {first}) {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        let message = assert_error(&body, "BAD_USER_INPUT");
        assert!(
            message.contains("first") && message.contains("500"),
            "{message}"
        );
    }
    // So large that the complexity limit refuses it first.
    let body = app
        .gql(
            "{ incidents(first: 100000000) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let body = app
        .gql(
            "{ incidents(first: 99999999999) { totalCount } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let body = app
        .gql("{ services(after: \"garbage\") { totalCount } }", json!({}))
        .await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("cursor"));
    let body = app
        .gql("{ incidents(filter: {createdAfter: \"2026-02-01T00:00:00Z\", createdBefore: \"2026-01-01T00:00:00Z\"}) { totalCount } }", json!({}))
        .await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("createdAfter"));
    let body = app
        .gql(
            "{ incidents(filter: {createdAfter: \"yesterday\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let long = "x".repeat(500);
    let body = app
        .gql(
            "query($s: String) { incidents(filter: {search: $s}) { totalCount } }",
            json!({"s": long}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
}

async fn invalid_variables_and_unknown_fields(app: TestApp) {
    let body = app
        .gql(
            "query($n: Int) { services(first: $n) { totalCount } }",
            json!({"n": "ten"}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let body = app
        .gql(
            "query($n: Int!) { services(first: $n) { totalCount } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let body = app
        .gql(
            "{ incidents(filter: {statuses: [EXPLODED]}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let body = app
        .gql("{ services { edges { node { secretField } } } }", json!({}))
        .await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("secretField"));
    let body = app
        .gql("{ services(first: 1 { totalCount } }", json!({}))
        .await;
    assert_error(&body, "BAD_USER_INPUT");
}

async fn deep_and_complex_queries_are_refused(app: TestApp) {
    let mut deep = String::from("{ services { edges { node { id ");
    for _ in 0..8 {
        deep.push_str("teams { services { ");
    }
    deep.push_str("id");
    deep.push_str(&" } }".repeat(8));
    deep.push_str(" } } } }");
    let body = app.gql(&deep, json!({})).await;
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(
        message.to_lowercase().contains("depth") || message.to_lowercase().contains("nested"),
        "{message}"
    );

    let complex = "{ incidents(first: 500) { edges { node { service { incidents(first: 500) { edges { node { id title } } } } } } } }";
    let body = app.gql(complex, json!({})).await;
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(message.to_lowercase().contains("complex"), "{message}");

    // Still serving.
    let d = app.data("{ services { totalCount } }", json!({})).await;
    assert_eq!(d["services"]["totalCount"], 0);
}

async fn internal_errors_leak_nothing(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 3).await;
    // Break the database under the server's feet.
    app.db
        .execute_unprepared("DROP TABLE incident_custom_field_values")
        .await
        .unwrap();
    let body = app
        .gql(
            "{ incidents { edges { node { id customFields { name } } } } }",
            json!({}),
        )
        .await;
    let message = assert_error(&body, "INTERNAL");
    assert_eq!(message, "Internal server error; it has been logged.");
    let text = body.to_string().to_lowercase();
    for leak in [
        "select",
        "incident_custom_field_values",
        "sqlite",
        "postgres",
        "relation",
        "/src/",
        ".rs",
    ] {
        assert!(!text.contains(leak), "response leaks {leak:?}: {body}");
    }
    // Other fields still work.
    let d = app.data("{ incidents { totalCount } }", json!({})).await;
    assert_eq!(d["incidents"]["totalCount"], 3);
}

on_both_databases!(
    absurd_page_sizes_and_cursors_are_refused,
    invalid_variables_and_unknown_fields,
    deep_and_complex_queries_are_refused,
    internal_errors_leak_nothing,
);
