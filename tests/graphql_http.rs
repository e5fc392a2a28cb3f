//! GraphQL over HTTP: methods, media types, status codes and malformed input,
//! per the GraphQL-over-HTTP specification.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::common::{TestApp, assert_error};
use crate::on_both_databases;

const GQL_RESPONSE: &str = "application/graphql-response+json";

async fn post_and_get_answer_queries(app: TestApp) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": "{ services(first: 10) { totalCount } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"data": {"services": {"totalCount": 0}}}));

    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            (
                "query",
                "query Q($n: Int) { services(first: $n) { totalCount } }",
            ),
            ("variables", "{\"n\": 5}"),
            ("operationName", "Q"),
        ])
        .header(ACCEPT, GQL_RESPONSE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[CONTENT_TYPE], GQL_RESPONSE);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["services"]["totalCount"], 0);
}

async fn request_errors_follow_the_accepted_media_type(app: TestApp) {
    // application/graphql-response+json: a request error is 400 without `data`.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, GQL_RESPONSE)
        .json(&json!({"query": "{ nope }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()[CONTENT_TYPE], GQL_RESPONSE);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body}");
    assert_error(&body, "BAD_USER_INPUT");

    // application/json (and no Accept at all): 200 with the errors.
    for accept in [Some("application/json"), None] {
        let mut req = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({"query": "{ services(first: 1) { nope } }"}));
        if let Some(a) = accept {
            req = req.header(ACCEPT, a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
        let body: Value = resp.json().await.unwrap();
        let message = assert_error(&body, "BAD_USER_INPUT");
        assert!(message.contains("nope"), "{message}");
    }

    // A field error during execution is 200 with data, in both modes.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, GQL_RESPONSE)
        .json(&json!({"query": "{ service(id: \"X\") { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("data").is_some());
    assert_error(&body, "NOT_FOUND");
}

async fn malformed_requests_get_clear_errors(app: TestApp) {
    let post = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    for (body, ct, status, needle) in [
        ("{not json", "application/json", 400, "not valid JSON"),
        ("[1, 2]", "application/json", 400, "`query` string"),
        ("{\"query\": 42}", "application/json", 400, "`query` string"),
        (
            "{\"query\": \"{ services { totalCount } }\", \"variables\": [1]}",
            "application/json",
            400,
            "`variables` must be a JSON object",
        ),
        (
            "query { services { totalCount } }",
            "text/plain",
            415,
            "Content-Type: application/json",
        ),
    ] {
        let resp = post(body, ct).await.unwrap();
        assert_eq!(resp.status(), status, "body {body}");
        let json: Value = resp.json().await.unwrap();
        let message = assert_error(&json, "BAD_USER_INPUT");
        assert!(message.contains(needle), "{message}");
    }
    // Nothing acceptable.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "text/html")
        .json(&json!({"query": "{ services { totalCount } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 406);
    // GET without a query, with bad variables.
    let resp = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            ("query", "{ services { totalCount } }"),
            ("variables", "[oops"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Mutations are never run over GET.
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { anything }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    // An oversized body is refused.
    let huge = format!(
        "{{\"query\": \"{{ services {{ totalCount }} }}\", \"extensions\": {{\"pad\": \"{}\"}}}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // And the server keeps serving.
    let d = app.data("{ services { totalCount } }", json!({})).await;
    assert_eq!(d["services"]["totalCount"], 0);
}

async fn health_and_readiness(app: TestApp) {
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ok");
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ready");
    // Roll the last migration back: not ready any more, and it says why.
    use migration::MigratorTrait;
    migration::Migrator::down(&app.db, Some(1)).await.unwrap();
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["reason"],
        "migrations pending"
    );
    migration::Migrator::up(&app.db, None).await.unwrap();
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

/// GraphQL-over-HTTP: a POST without a `query` string, or with `variables`,
/// `operationName` or `extensions` of the wrong type, is not a well-formed
/// request: 400 naming the field, whatever the client accepts, and nothing
/// runs.
async fn a_post_without_a_query_string_is_a_bad_request(app: TestApp) {
    let bad = [
        (json!({"qeury": "{ __typename }"}), "`query`"),
        (json!({}), "`query`"),
        (json!({"query": null}), "`query`"),
        (json!({"query": 42}), "`query`"),
        (
            json!({"query": "{ __typename }", "variables": "{}"}),
            "`variables`",
        ),
        (
            json!({"query": "{ __typename }", "variables": [1]}),
            "`variables`",
        ),
        (
            json!({"query": "{ __typename }", "operationName": 7}),
            "`operationName`",
        ),
        (
            json!({"query": "{ __typename }", "extensions": true}),
            "`extensions`",
        ),
        (json!(["{ __typename }"]), "JSON object"),
    ];
    for accept in [None, Some("application/json"), Some(GQL_RESPONSE)] {
        for (body, field) in &bad {
            let mut req = app.client.post(app.url("/graphql")).json(body);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 400, "{body} with Accept {accept:?}");
            assert_eq!(
                resp.headers()[CONTENT_TYPE],
                accept.unwrap_or("application/json"),
                "{body}"
            );
            let answer: Value = resp.json().await.unwrap();
            assert!(answer.get("data").is_none(), "{answer}");
            let message = assert_error(&answer, "BAD_USER_INPUT");
            assert!(message.contains(field), "{body}: {message}");
        }
    }
    // Null optional fields are fine.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": "{ __typename }", "variables": null, "operationName": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

on_both_databases!(
    a_post_without_a_query_string_is_a_bad_request,
    post_and_get_answer_queries,
    request_errors_follow_the_accepted_media_type,
    malformed_requests_get_clear_errors,
    health_and_readiness,
);
