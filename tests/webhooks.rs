//! `POST /webhooks/pagerduty`: signatures, idempotency, incident updates,
//! unknown events and oversized bodies.

use pagerlens::entities::{incident, incident_log_entry, webhook_event};
use pagerlens::pagerduty::webhook::sign;
use sea_orm::{EntityTrait, PaginatorTrait};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::common::{TestApp, respawn_with};
use crate::on_both_databases;
use crate::sync::start_sim;

async fn post(app: &TestApp, body: &str, signature: Option<String>) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url("/webhooks/pagerduty"))
        .header("content-type", "application/json")
        .header("user-agent", "PagerDuty-Webhook/V3.0")
        .body(body.to_owned());
    if let Some(s) = signature {
        req = req.header("x-pagerduty-signature", s);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn event(id: &str, kind: &str, data: Value) -> String {
    json!({"event": {"id": id, "event_type": kind, "resource_type": "incident", "occurred_at": "2026-11-01T10:00:00Z", "agent": null, "client": null, "data": data}}).to_string()
}

async fn webhooks_are_verified_idempotent_and_applied(app: TestApp) {
    let sim = start_sim(
        Default::default(),
        chrono::Utc::now() - chrono::Duration::minutes(1),
    )
    .await;
    let app = respawn_with(app, |c| {
        c.pagerduty.api_url = sim.base_url();
        c.pagerduty.token = Some(SecretString::from("simulator-token".to_owned()));
        c.pagerduty.webhook_secrets = vec![
            SecretString::from("old".to_owned()),
            SecretString::from("new".to_owned()),
        ];
    })
    .await;
    let target = sim.sim.org.read().await.incidents[5].clone();
    let body = event(
        "evt-1",
        "incident.acknowledged",
        json!({"id": target.id, "type": "incident", "number": target.incident_number, "status": "acknowledged", "created_at": target.created_at, "title": target.title}),
    );

    // Missing, wrong or stale signatures: 401 and nothing stored.
    for sig in [
        None,
        Some(sign(body.as_bytes(), "wrong")),
        Some(sign(b"{}", "new")),
    ] {
        let (status, _) = post(&app, &body, sig).await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        webhook_event::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    assert_eq!(incident::Entity::find().count(&app.db).await.unwrap(), 0);

    // Valid (signed with the rotated-out secret, as during a rotation).
    let (status, reply) = post(
        &app,
        &body,
        Some(format!("v1=deadbeef, {}", sign(body.as_bytes(), "old"))),
    )
    .await;
    assert_eq!((status, reply["status"].as_str()), (200, Some("processed")));
    let row = incident::Entity::find_by_id(target.id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .expect("incident stored");
    assert_eq!(
        row.status, target.status,
        "re-read from the API, not taken from the partial payload"
    );
    let entries = incident_log_entry::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert!(entries > 0, "its log was fetched too");

    // A redelivery changes nothing.
    let (status, reply) = post(&app, &body, Some(sign(body.as_bytes(), "new"))).await;
    assert_eq!((status, reply["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(
        webhook_event::Entity::find().count(&app.db).await.unwrap(),
        1
    );

    // Unknown event types are acknowledged and ignored.
    let ping = json!({"event": {"id": "evt-2", "event_type": "pagey.ping", "resource_type": "pagey", "occurred_at": null, "data": {"message": "Hello from your friend Pagey!", "type": "ping"}}}).to_string();
    let (status, reply) = post(&app, &ping, Some(sign(ping.as_bytes(), "new"))).await;
    assert_eq!((status, reply["status"].as_str()), (202, Some("ignored")));

    // Malformed but signed: 400.
    let junk = "{\"event\": 12}";
    let (status, _) = post(&app, junk, Some(sign(junk.as_bytes(), "new"))).await;
    assert_eq!(status, 400);

    // Oversized: 413.
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(300 * 1024));
    let (status, _) = post(&app, &huge, Some(sign(huge.as_bytes(), "new"))).await;
    assert_eq!(status, 413);
}

async fn without_an_api_token_the_payload_is_applied(app: TestApp) {
    let app = respawn_with(app, |c| {
        c.pagerduty.webhook_secrets = vec![SecretString::from("s".to_owned())]
    })
    .await;
    let body = event(
        "evt-9",
        "incident.triggered",
        json!({"id": "PNEW123", "type": "incident", "number": 77, "status": "triggered", "urgency": "high", "title": "Checkout is down",
               "created_at": "2026-11-01T09:59:00Z", "service": {"id": "PSVC1", "type": "service_reference", "summary": "Checkout"},
               "assignees": [{"id": "PUSR1", "type": "user_reference", "summary": "Ann"}], "priority": null}),
    );
    let (status, _) = post(&app, &body, Some(sign(body.as_bytes(), "s"))).await;
    assert_eq!(status, 200);
    let d = app.data("{ incident(id: \"PNEW123\") { number title status service { name } assignees { name } } }", json!({})).await;
    assert_eq!(
        d["incident"],
        json!({"number": 77, "title": "Checkout is down", "status": "TRIGGERED", "service": {"name": "Checkout"}, "assignees": [{"name": "Ann"}]})
    );
}

async fn webhooks_are_refused_when_not_configured(app: TestApp) {
    let body = event("evt-3", "incident.triggered", json!({}));
    let (status, reply) = post(&app, &body, Some(sign(body.as_bytes(), "anything"))).await;
    assert_eq!(status, 401);
    assert!(
        reply["status"]
            .as_str()
            .unwrap()
            .contains("PAGERDUTY_WEBHOOK_SECRETS")
    );
}

on_both_databases!(
    webhooks_are_verified_idempotent_and_applied,
    without_an_api_token_the_payload_is_applied,
    webhooks_are_refused_when_not_configured,
);

async fn the_simulator_posts_signed_webhooks_that_update_incidents(app: TestApp) {
    let sim = start_sim(
        Default::default(),
        chrono::Utc::now() - chrono::Duration::minutes(1),
    )
    .await;
    let app = respawn_with(app, |c| {
        c.pagerduty.api_url = sim.base_url();
        c.pagerduty.token = Some(SecretString::from("simulator-token".to_owned()));
        c.pagerduty.webhook_secrets = vec![SecretString::from("hook-secret".to_owned())];
    })
    .await;
    let touched = sim
        .sim
        .mutate(1, 0, chrono::Utc::now() - chrono::Duration::seconds(5))
        .await;
    let id = &touched[0];
    let status = sim
        .sim
        .post_webhook(
            &app.url("/webhooks/pagerduty"),
            "hook-secret",
            "incident.acknowledged",
            id,
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let row = incident::Entity::find_by_id(id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.status,
        sim.sim.org.read().await.incident(id).unwrap().status
    );
    let status = sim
        .sim
        .post_webhook(
            &app.url("/webhooks/pagerduty"),
            "not-the-secret",
            "incident.resolved",
            id,
        )
        .await
        .unwrap();
    assert_eq!(status, 401);
}

on_both_databases!(the_simulator_posts_signed_webhooks_that_update_incidents);
