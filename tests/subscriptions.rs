//! Subscriptions over `/graphql/ws` with the graphql-transport-ws protocol.

use futures_util::{SinkExt, StreamExt};
use pagerlens::events::Event;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::TestApp;
use crate::common::fixtures::{seed_catalog, seed_incidents};
use crate::on_both_databases;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to `/graphql/ws` with `token`, waits for the ack and subscribes
/// to `query` as id `1`; returns once the subscription listens on the
/// event bus, so changes made from then on reach it.
pub async fn subscribe(app: &TestApp, token: &str, query: &str) -> Ws {
    let listening = app.app.events.subscribers();
    let ws = send_subscribe(app, token, query).await;
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while app.app.events.subscribers() <= listening {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the subscription listens within 10 s");
    ws
}

/// Connects, waits for the ack and sends the subscription, without waiting
/// for it to listen (for one the server refuses).
pub async fn send_subscribe(app: &TestApp, token: &str, query: &str) -> Ws {
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
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    ws.send(Message::Text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": query}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    ws
}

pub async fn next_json<S>(ws: &mut S) -> Value
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
    let mut ws = subscribe(
        &app,
        &app.admin_token,
        "subscription { incidentUpdated(serviceIds: [\"PS_CHK\"]) { id title service { name } } }",
    )
    .await;
    // One event for another service (filtered out) and one that matches.
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

/// Opens `/graphql/ws` with optional extra headers and sends `connection_init`
/// with `payload`; returns what the server did.
async fn init(app: &TestApp, headers: &[(&str, &str)], payload: Value) -> Result<Value, String> {
    let mut req = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    for (k, v) in headers {
        req.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .map_err(|e| format!("upgrade refused: {e}"))?;
    ws.send(Message::Text(
        json!({"type": "connection_init", "payload": payload})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    match tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => Ok(serde_json::from_str(&t).unwrap()),
        Ok(Some(Ok(Message::Close(frame)))) => Err(format!("closed: {frame:?}")),
        other => Err(format!("{other:?}")),
    }
}

#[tokio::test]
async fn subscriptions_need_credentials() {
    let app = crate::common::spawn(crate::common::Backend::Sqlite)
        .await
        .unwrap();
    // No credentials, or a bad token: the connection is refused.
    let refused = init(&app, &[], json!({})).await;
    assert!(refused.is_err(), "{refused:?}");
    let refused = init(&app, &[], json!({"Authorization": "Bearer plt_nope"})).await;
    assert!(refused.is_err(), "{refused:?}");
    // A bearer token in the payload is accepted.
    let ok = init(
        &app,
        &[],
        json!({"Authorization": format!("Bearer {}", app.admin_token)}),
    )
    .await;
    assert_eq!(ok.unwrap()["type"], "connection_ack");
    // A bearer token on the upgrade request too; a cross-site page riding on a
    // cookie is refused at the upgrade.
    let bearer = format!("Bearer {}", app.admin_token);
    let ok = init(&app, &[("Authorization", bearer.as_str())], json!({})).await;
    assert_eq!(ok.unwrap()["type"], "connection_ack");
    let session =
        pagerlens::auth::sessions::create(&app.db, admin_id(&app).await, Default::default())
            .await
            .unwrap();
    let cookie = format!("pagerlens_session={session}");
    let refused = init(
        &app,
        &[
            ("Cookie", cookie.as_str()),
            ("Origin", "https://evil.example"),
        ],
        json!({}),
    )
    .await;
    assert!(refused.unwrap_err().contains("403"));
    let own = app.base.clone();
    let ok = init(
        &app,
        &[("Cookie", cookie.as_str()), ("Origin", own.as_str())],
        json!({}),
    )
    .await;
    assert_eq!(ok.unwrap()["type"], "connection_ack");
}

#[tokio::test]
async fn the_demo_identity_provider_only_runs_on_loopback() {
    let (mut config, _guard) = crate::common::fresh_database(crate::common::Backend::Sqlite)
        .await
        .unwrap();
    config.public_url = url::Url::parse("http://10.1.2.3:8080/").unwrap();
    config.enable_demo_identity_provider();
    let err = pagerlens::App::build(config).await.err().expect("refused");
    assert!(err.to_string().contains("loopback"), "{err}");
    // Without the flag there is no /auth/demo at all.
    let (config, _guard) = crate::common::fresh_database(crate::common::Backend::Sqlite)
        .await
        .unwrap();
    assert!(!config.demo_identity_provider);
    let app = pagerlens::App::build(config).await.unwrap();
    let resp = tower::ServiceExt::oneshot(
        app.router(),
        axum::http::Request::get("/auth/demo/authorize")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 404);
}

async fn admin_id(app: &TestApp) -> i32 {
    pagerlens::auth::accounts::find_by_email(&app.db, crate::common::ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap()
        .id
}
