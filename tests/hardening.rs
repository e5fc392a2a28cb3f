//! The HTTP layers every request passes through: request ids, security
//! headers, CORS, per-client rate limits and the Prometheus endpoint.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, respawn_with, spawn};

async fn sqlite() -> TestApp {
    spawn(Backend::Sqlite).await.expect("sqlite")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_has_a_request_id_and_security_headers() {
    let app = sqlite().await;
    let resp = app.anon.get(app.url("/healthz")).send().await.unwrap();
    let h = resp.headers();
    let id = h["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    // Plain HTTP on loopback: no HSTS.
    assert!(h.get("strict-transport-security").is_none());

    // A well-formed id from the caller (a proxy's) is kept; each request
    // without one gets its own.
    let resp = app
        .anon
        .get(app.url("/healthz"))
        .header("x-request-id", "edge-1234.abc")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "edge-1234.abc");
    let other = app.anon.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(other.headers()["x-request-id"].to_str().unwrap(), id);
    // One that could forge log lines is replaced.
    for bad in ["a b\tc", &"x".repeat(200), "<script>"] {
        let resp = app
            .anon
            .get(app.url("/healthz"))
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let got = resp.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(got, bad);
        assert_eq!(got.len(), 36);
    }
    // Errors carry the headers too.
    let resp = app.anon.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(resp.headers().contains_key("x-request-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_unless_origins_are_configured() {
    let app = sqlite().await;
    let preflight = |app: &TestApp, origin: &'static str| {
        app.anon
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };
    let resp = preflight(&app, "https://dash.example.com").await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://dash.example.com")
        .json(&json!({"query": "{ me { role } }"}))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let app = respawn_with(app, |c| {
        c.http.cors_origins = vec!["https://dash.example.com".into()];
    })
    .await;
    let resp = preflight(&app, "https://dash.example.com").await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://dash.example.com"
    );
    assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
    let resp = preflight(&app, "https://evil.example.net").await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_per_client_and_change_nothing() {
    let app = respawn_with(sqlite().await, |c| {
        c.http.rate_limit_auth = 5;
        c.http.rate_limit_graphql = 8;
    })
    .await;
    // /auth: by address.
    for _ in 0..5 {
        let resp = app.anon.get(app.url("/auth/status")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    let resp = app.anon.get(app.url("/auth/status")).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("too many requests")
    );

    // /graphql: by credential. The admin token's budget runs out; a
    // mutation refused for it changes nothing.
    let (_, viewer) = app
        .account_with_token("viewer@example.com", pagerlens::auth::Role::Viewer)
        .await;
    for _ in 0..8 {
        app.gql("{ me { role } }", json!({})).await;
    }
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({
            "query": "mutation { upsertStatusMapping(input: {source: \"PAGERDUTY\", rawValue: \"snoozed\", displayName: \"Snoozed\", category: \"WAITING\"}) { id } }"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    let (status, body) = app
        .gql_as(&viewer, "{ statusMappings { rawValue } }", json!({}))
        .await;
    assert_eq!(status, 200, "another client keeps its own budget: {body}");
    let raw: Vec<&str> = body["data"]["statusMappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rawValue"].as_str().unwrap())
        .collect();
    assert!(!raw.contains(&"snoozed"), "{raw:?}");
    // Other endpoints are not limited.
    for _ in 0..10 {
        let resp = app.anon.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_or_their_own_address() {
    let app = sqlite().await;
    // Neither a token nor an address: not served.
    let resp = app.anon.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    let token = "metrics-token-0123456789";
    let app = respawn_with(app, |c| {
        c.http.metrics_token = Some(token.to_owned().into());
    })
    .await;
    for auth in [None, Some("Bearer wrong-token-0123456789"), Some(token)] {
        let mut req = app.anon.get(app.url("/metrics"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
    }
    // Traffic to be counted: a named GraphQL operation and a 404.
    app.gql("query DashboardCounts { me { role } }", json!({}))
        .await;
    app.anon.get(app.url("/nope")).send().await.unwrap();
    let resp = app
        .anon
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = resp.text().await.unwrap();
    for needle in [
        "pagerlens_http_requests_total{method=\"POST\",route=\"/graphql\",status=\"200\"}",
        "route=\"unmatched\",status=\"404\"",
        "pagerlens_http_request_duration_seconds_bucket{method=\"POST\",route=\"/graphql\"",
        "pagerlens_graphql_request_duration_seconds_bucket{operation=\"DashboardCounts\",result=\"ok\"",
        "pagerlens_db_pool_connections{state=\"idle\"}",
        "pagerlens_db_pool_max_connections",
        "pagerlens_build_info{version=",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }

    // The separate address needs no token.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let metrics_app = app.app.clone();
    let server = tokio::spawn(async move {
        metrics_app
            .serve_metrics(listener, async move {
                let _ = rx.await;
            })
            .await
    });
    let resp = app
        .anon
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("pagerlens_http_requests_total")
    );
    let _ = tx.send(());
    server.await.unwrap().unwrap();
}
