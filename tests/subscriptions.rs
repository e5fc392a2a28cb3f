//! Subscriptions over `/graphql/ws` with the graphql-transport-ws protocol.

use futures_util::{SinkExt, StreamExt};
use pagerlens::events::Event;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::TestApp;
use crate::common::fixtures::{seed_catalog, seed_incidents};
use crate::on_both_databases;

async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("stream open")
            .expect("no error");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

async fn incident_updates_are_pushed(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 3).await;
    let mut req = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    ws.send(Message::Text(
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", app.admin_token)}}).to_string().into(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    ws.send(Message::Text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { incidentUpdated(serviceIds: [\"PS_CHK\"]) { id title service { name } } }"}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    // Give the server a moment to register the subscription, then publish:
    // one event for another service (filtered out) and one that matches.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.app.events.publish(Event::IncidentChanged {
        id: "PI0000".into(),
        service_id: Some("PS_API".into()),
    });
    app.app.events.publish(Event::IncidentChanged {
        id: "PI0001".into(),
        service_id: Some("PS_CHK".into()),
    });
    let msg = next_json(&mut ws).await;
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(msg["id"], "1");
    assert_eq!(msg["payload"]["data"]["incidentUpdated"]["id"], "PI0001");
    assert_eq!(
        msg["payload"]["data"]["incidentUpdated"]["service"]["name"],
        "Checkout"
    );

    // A bad subscription gets an error message with a code, and the socket stays usable.
    ws.send(Message::Text(
        json!({"id": "2", "type": "subscribe", "payload": {"query": "subscription { nope }"}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    // async-graphql reports validation errors as a `next` with errors (the
    // protocol also allows an `error` message); either way with a code.
    let msg = next_json(&mut ws).await;
    assert_eq!(msg["id"], "2");
    let errors = if msg["type"] == "error" {
        msg["payload"].clone()
    } else {
        msg["payload"]["errors"].clone()
    };
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{msg}");
    ws.send(Message::Text(
        json!({"id": "1", "type": "complete"}).to_string().into(),
    ))
    .await
    .unwrap();
    ws.close(None).await.unwrap();
}

on_both_databases!(incident_updates_are_pushed);
