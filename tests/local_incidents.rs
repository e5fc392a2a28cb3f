//! Local incidents (create, update, acknowledge, resolve, delete, notes) with
//! their SLAs and notifications, bad input that changes nothing, and the
//! write-through of acknowledge, resolve and notes on PagerDuty incidents to
//! the simulator, which checks them as PagerDuty does.

use pagerlens::auth::Role;
use pagerlens::entities::{incident, incident_log_entry, notification};
use pagerlens::pagerduty::sync::refresh_incident;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::common::fixtures::{seed_catalog, seed_incidents};
use crate::common::{TestApp, assert_error, respawn_with};
use crate::on_both_databases;
use crate::sla::outbox;
use crate::sync::{client, start_sim};

const FIELDS: &str = "id title description status urgency source
    service { id } priority { name } assignees { id }
    sla { response { state policyName } resolution { state } }
    logEntries { type note }";

async fn count(app: &TestApp) -> u64 {
    incident::Entity::find().count(&app.db).await.unwrap()
}

fn kinds(i: &Value) -> Vec<String> {
    i["logEntries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn local_incidents_have_a_lifecycle_slas_and_notifications(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 3).await;
    let create = format!(
        "mutation($i: CreateIncidentInput!) {{ createIncident(input: $i) {{ {FIELDS} }} }}"
    );
    let d = app
        .data(
            &create,
            json!({"i": {"title": "  Checkout is slow  ", "description": "p99 at 4 s",
                          "serviceId": "PS_CHK", "priorityId": "PR1", "assigneeId": "PU3"}}),
        )
        .await;
    let i = &d["createIncident"];
    let id = i["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with('L'), "{id}");
    assert_eq!(i["title"], "Checkout is slow");
    assert_eq!(i["status"], "TRIGGERED");
    assert_eq!(i["urgency"], "HIGH");
    assert_eq!(i["source"], "MANUAL");
    assert_eq!(i["service"]["id"], "PS_CHK");
    assert_eq!(i["assignees"], json!([{"id": "PU3"}]));
    assert_eq!(i["sla"]["response"]["state"], "ACTIVE");
    assert_eq!(i["sla"]["response"]["policyName"], "critical");
    assert_eq!(kinds(i), vec!["trigger_log_entry", "assign_log_entry"]);
    assert_eq!(outbox(&app).await, vec!["incident_created"]);

    // Update: clearing the priority falls back to the urgency policy.
    let update = format!(
        "mutation($id: ID!, $i: UpdateIncidentInput!) {{ updateIncident(id: $id, input: $i) {{ {FIELDS} }} }}"
    );
    let d = app
        .data(
            &update,
            json!({"id": id, "i": {"title": "Checkout is very slow", "priorityId": null, "description": null}}),
        )
        .await;
    let i = &d["updateIncident"];
    assert_eq!(i["title"], "Checkout is very slow");
    assert_eq!(i["description"], Value::Null);
    assert_eq!(i["priority"], Value::Null);
    assert_eq!(
        i["sla"]["response"]["policyName"],
        "high (urgency, no priority)"
    );

    // Acknowledge meets the response target; twice is refused.
    let ack = format!("mutation($id: ID!) {{ acknowledgeIncident(id: $id) {{ {FIELDS} }} }}");
    let d = app.data(&ack, json!({"id": id})).await;
    assert_eq!(d["acknowledgeIncident"]["status"], "ACKNOWLEDGED");
    assert_eq!(d["acknowledgeIncident"]["sla"]["response"]["state"], "MET");
    assert_error(&app.gql(&ack, json!({"id": id})).await, "BAD_USER_INPUT");

    // Notes: internal ones stay in pagerlens.
    let note = "mutation($id: ID!, $c: String!, $int: Boolean!) {
        addIncidentNote(incidentId: $id, content: $c, internal: $int) { type note } }";
    let d = app
        .data(note, json!({"id": id, "c": "Rolling back", "int": true}))
        .await;
    assert_eq!(
        d["addIncidentNote"],
        json!({"type": "internal_note_log_entry", "note": "Rolling back"})
    );
    let d = app
        .data(
            note,
            json!({"id": id, "c": "Fixed by the rollback", "int": false}),
        )
        .await;
    assert_eq!(d["addIncidentNote"]["type"], "annotate_log_entry");
    for c in ["", "   ", &"x".repeat(25_001)] {
        assert_error(
            &app.gql(note, json!({"id": id, "c": c, "int": false})).await,
            "BAD_USER_INPUT",
        );
    }

    // Resolve: resolution met, a notification, twice refused.
    let resolve = format!("mutation($id: ID!) {{ resolveIncident(id: $id) {{ {FIELDS} }} }}");
    let d = app.data(&resolve, json!({"id": id})).await;
    let i = &d["resolveIncident"];
    assert_eq!(i["status"], "RESOLVED");
    assert_eq!(i["sla"]["resolution"]["state"], "MET");
    assert_eq!(
        kinds(i),
        vec![
            "trigger_log_entry",
            "assign_log_entry",
            "acknowledge_log_entry",
            "internal_note_log_entry",
            "annotate_log_entry",
            "resolve_log_entry"
        ]
    );
    assert_error(
        &app.gql(&resolve, json!({"id": id})).await,
        "BAD_USER_INPUT",
    );
    assert_eq!(
        outbox(&app).await,
        vec!["incident_created", "incident_resolved"]
    );
    let sent = notification::Entity::find()
        .filter(notification::Column::Kind.eq("incident_resolved"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        pagerlens::notify::text(&sent).contains("resolved by"),
        "{}",
        pagerlens::notify::text(&sent)
    );

    // Soft delete: kept, hidden, and no longer acted on.
    let del = "mutation($id: ID!) { deleteIncident(id: $id) }";
    assert_eq!(
        app.data(del, json!({"id": id})).await["deleteIncident"],
        true
    );
    let row = incident::Entity::find_by_id(id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.deleted_at.is_some());
    let list = app
        .data("{ incidents(first: 50) { nodes { id } } }", json!({}))
        .await;
    assert!(!list.to_string().contains(&id), "{list}");
    assert_error(&app.gql(&ack, json!({"id": id})).await, "NOT_FOUND");
    assert_error(&app.gql(del, json!({"id": id})).await, "NOT_FOUND");
}

async fn bad_input_changes_nothing(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 3).await;
    let before = count(&app).await;
    let create = "mutation($i: CreateIncidentInput!) { createIncident(input: $i) { id } }";
    for input in [
        json!({"title": "", "serviceId": "PS_API"}),
        json!({"title": "x".repeat(256), "serviceId": "PS_API"}),
        json!({"title": "ok", "serviceId": "PS_NOPE"}),
        json!({"title": "ok", "serviceId": "PS_OLD"}),
        json!({"title": "ok", "serviceId": "PS_API", "priorityId": "PR9"}),
        json!({"title": "ok", "serviceId": "PS_API", "urgency": "urgent"}),
        json!({"title": "ok", "serviceId": "PS_API", "assigneeId": "PU99"}),
    ] {
        let body = app.gql(create, json!({"i": input})).await;
        assert_error(&body, "BAD_USER_INPUT");
    }
    assert_eq!(count(&app).await, before);
    assert!(outbox(&app).await.is_empty());

    // Unknown incidents.
    for m in [
        "mutation { acknowledgeIncident(id: \"NOPE\") { id } }",
        "mutation { resolveIncident(id: \"NOPE\") { id } }",
        "mutation { deleteIncident(id: \"NOPE\") }",
        "mutation { updateIncident(id: \"NOPE\", input: {title: \"x\"}) { id } }",
        "mutation { addIncidentNote(incidentId: \"NOPE\", content: \"x\") { id } }",
    ] {
        assert_error(&app.gql(m, json!({})).await, "NOT_FOUND");
    }

    // PagerDuty incidents change in PagerDuty; without write-through the
    // actions that would write there are refused, and nothing changes.
    let pd_before = incident::Entity::find_by_id("PI0000")
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    for (m, says) in [
        (
            "mutation { updateIncident(id: \"PI0000\", input: {title: \"x\"}) { id } }",
            "PagerDuty",
        ),
        ("mutation { deleteIncident(id: \"PI0000\") }", "PagerDuty"),
        (
            "mutation { acknowledgeIncident(id: \"PI0000\") { id } }",
            "PAGERDUTY_TOKEN",
        ),
        (
            "mutation { addIncidentNote(incidentId: \"PI0000\", content: \"x\") { id } }",
            "PAGERDUTY_TOKEN",
        ),
    ] {
        let msg = assert_error(&app.gql(m, json!({})).await, "BAD_USER_INPUT");
        assert!(msg.contains(says), "{m}: {msg}");
    }
    let pd_after = incident::Entity::find_by_id("PI0000")
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pd_before, pd_after);
    // An internal note is pagerlens' own, so it is kept even then.
    app.data(
        "mutation { addIncidentNote(incidentId: \"PI0000\", content: \"seen\", internal: true) { id } }",
        json!({}),
    )
    .await;

    // Viewers cannot act; a team-scoped user only on its own services.
    let (_, viewer) = app
        .account_with_token("viewer@example.com", Role::Viewer)
        .await;
    let (status, body) = app
        .gql_as(
            &viewer,
            create,
            json!({"i": {"title": "x", "serviceId": "PS_API"}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_error(&body, "FORBIDDEN");
    let (account, scoped) = app
        .account_with_token("platform@example.com", Role::User)
        .await;
    app.limit_account_to_teams(account, &["PT1"]).await;
    let (_, body) = app
        .gql_as(
            &scoped,
            create,
            json!({"i": {"title": "x", "serviceId": "PS_CHK"}}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let (_, body) = app
        .gql_as(
            &scoped,
            create,
            json!({"i": {"title": "x", "serviceId": "PS_API"}}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(count(&app).await, before + 1);
}

async fn pagerduty_incidents_are_written_through(app: TestApp) {
    let sim = start_sim(
        Default::default(),
        chrono::Utc::now() - chrono::Duration::minutes(1),
    )
    .await;
    let (id, email) = {
        let org = sim.sim.org.read().await;
        let i = org
            .incidents
            .iter()
            .rev()
            .find(|i| i.status == "triggered")
            .expect("a triggered incident");
        (i.id.clone(), org.users[0].email.clone().unwrap())
    };
    let app = respawn_with(app, |c| {
        c.pagerduty.api_url = sim.base_url();
        c.pagerduty.token = Some(SecretString::from("simulator-token".to_owned()));
        c.pagerduty.from_email = Some(email.clone());
    })
    .await;
    refresh_incident(&app.db, &client(&sim, 2), &id, false, None)
        .await
        .unwrap();

    let d = app
        .data(
            "mutation($id: ID!) { acknowledgeIncident(id: $id) { status source } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        d["acknowledgeIncident"],
        json!({"status": "ACKNOWLEDGED", "source": "PAGERDUTY"})
    );
    assert_eq!(
        sim.sim.org.read().await.incident(&id).unwrap().status,
        "acknowledged"
    );
    assert_eq!(sim.sim.calls("PUT /incidents/{id}").await, 1);

    // A note goes to PagerDuty and comes back as its annotate_log_entry.
    let d = app
        .data(
            "mutation($id: ID!) { addIncidentNote(incidentId: $id, content: \"Rolled back v42\") { type note } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        d["addIncidentNote"],
        json!({"type": "annotate_log_entry", "note": "Rolled back v42"})
    );
    let upstream_notes = |org: &pagerlens::pagerduty::simulator::data::Org| {
        org.log_entries
            .iter()
            .filter(|e| e.kind == "annotate_log_entry" && e.incident_id() == Some(id.as_str()))
            .count()
    };
    assert_eq!(upstream_notes(&*sim.sim.org.read().await), 1);
    // An internal note does not leave pagerlens.
    app.data(
        "mutation($id: ID!) { addIncidentNote(incidentId: $id, content: \"between us\", internal: true) { id } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(upstream_notes(&*sim.sim.org.read().await), 1);

    let d = app
        .data(
            "mutation($id: ID!) { resolveIncident(id: $id) { status } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(d["resolveIncident"]["status"], "RESOLVED");
    assert_eq!(
        sim.sim.org.read().await.incident(&id).unwrap().status,
        "resolved"
    );
    let local = incident::Entity::find_by_id(id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(local.resolved_at.is_some());
    let entries = incident_log_entry::Entity::find()
        .filter(incident_log_entry::Column::IncidentId.eq(&id))
        .filter(incident_log_entry::Column::Kind.eq("resolve_log_entry"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(entries, 1);

    // PagerDuty checks the From header: an address that is no user of the
    // account is refused there, and the refusal reaches the caller.
    let other = sim
        .sim
        .org
        .read()
        .await
        .incidents
        .iter()
        .rev()
        .find(|i| i.status == "triggered")
        .unwrap()
        .id
        .clone();
    let app = respawn_with(app, |c| {
        c.pagerduty.from_email = Some("nobody@example.invalid".into());
    })
    .await;
    refresh_incident(&app.db, &client(&sim, 2), &other, false, None)
        .await
        .unwrap();
    let msg = assert_error(
        &app.gql(
            "mutation($id: ID!) { acknowledgeIncident(id: $id) { status } }",
            json!({"id": other}),
        )
        .await,
        "BAD_USER_INPUT",
    );
    assert!(msg.contains("HTTP 400"), "{msg}");
    assert_eq!(
        sim.sim.org.read().await.incident(&other).unwrap().status,
        "triggered"
    );
}

/// A GraphQL multipart request uploading `bytes` as `name` to an incident.
async fn upload(
    app: &TestApp,
    token: Option<&str>,
    incident: &str,
    name: &str,
    bytes: &[u8],
) -> (u16, Value) {
    let boundary = "pagerlens-test-boundary";
    let operations = json!({
        "query": "mutation($id: ID!, $f: Upload!) { addIncidentAttachment(incidentId: $id, file: $f) { id fileName contentType sizeBytes sha256 downloadPath } }",
        "variables": {"id": incident, "f": null}
    });
    let mut body = Vec::new();
    for (field, value) in [
        ("operations", operations.to_string()),
        ("map", json!({"0": ["variables.f"]}).to_string()),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut req = app
        .anon
        .post(app.url("/graphql"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn attachments_are_uploaded_sniffed_and_downloaded_with_authentication(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 3).await;
    let token = app.admin_token.clone();
    // A PNG sent as text/plain named with a path: the type is sniffed, the
    // path dropped.
    let (status, body) = upload(&app, Some(&token), "PI0000", "../../etc/shot.txt", PNG).await;
    assert_eq!(status, 200, "{body}");
    let a = &body["data"]["addIncidentAttachment"];
    assert_eq!(a["fileName"], "shot.txt", "{body}");
    assert_eq!(a["contentType"], "image/png");
    assert_eq!(a["sizeBytes"], PNG.len());
    let path = a["downloadPath"].as_str().unwrap().to_owned();

    let resp = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("shot.txt"),
        "{disposition}"
    );
    assert_eq!(&resp.bytes().await.unwrap()[..], PNG);

    // No credentials: 401; a caller who may not see the incident: 404.
    let resp = app.anon.get(app.url(&path)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let (account, scoped) = app
        .account_with_token("payments@example.com", Role::User)
        .await;
    app.limit_account_to_teams(account, &["PT2"]).await;
    let resp = app
        .anon
        .get(app.url(&path))
        .bearer_auth(&scoped)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let (_, body) = upload(&app, Some(&scoped), "PI0000", "x.txt", b"hello").await;
    assert_error(&body, "NOT_FOUND");
    let resp = app
        .client
        .get(app.url("/attachments/999/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    // Text is text; the same content twice is stored once.
    let (_, body) = upload(&app, Some(&token), "PI0000", "notes.md", "héllo".as_bytes()).await;
    assert_eq!(
        body["data"]["addIncidentAttachment"]["contentType"],
        "text/plain; charset=utf-8"
    );
    let (_, again) = upload(&app, Some(&token), "PI0001", "copy.md", "héllo".as_bytes()).await;
    assert_eq!(
        again["data"]["addIncidentAttachment"]["sha256"],
        body["data"]["addIncidentAttachment"]["sha256"]
    );
    let stored = walk(&app.app.config.attachments.dir);
    assert_eq!(stored, 2, "two distinct contents on disk");

    let d = app
        .data(
            "{ incident(id: \"PI0000\") { attachments { fileName contentType } logEntries { type summary } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["incident"]["attachments"],
        json!([{"fileName": "shot.txt", "contentType": "image/png"},
               {"fileName": "notes.md", "contentType": "text/plain; charset=utf-8"}])
    );
    assert!(d.to_string().contains("attachment_log_entry"), "{d}");

    // Bad uploads change nothing.
    let before = pagerlens::entities::incident_attachment::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    let (_, body) = upload(&app, Some(&token), "PI0000", "empty.txt", b"").await;
    assert_error(&body, "BAD_USER_INPUT");
    let (_, body) = upload(&app, Some(&token), "NOPE", "x.txt", b"x").await;
    assert_error(&body, "NOT_FOUND");
    let (status, _) = upload(&app, None, "PI0000", "x.txt", b"x").await;
    assert_eq!(status, 401);
    let app = respawn_with(app, |c| c.attachments.max_bytes = 1024).await;
    let (status, body) = upload(
        &app,
        Some(&app.admin_token),
        "PI0000",
        "big.bin",
        &[7u8; 2048],
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(body.to_string().contains("1024 bytes"), "{body}");
    let after = pagerlens::entities::incident_attachment::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(before, after);
}

/// Files under `dir`, recursively.
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { walk(&p) } else { 1 }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Sets a file's modification time `age` in the past.
fn age_file(path: &std::path::Path, age: std::time::Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - age)
        .unwrap();
}

/// Files whose incidents retention deleted, and half-written copies of
/// crashed uploads, are removed once they are older than the grace period;
/// files still referenced, and recent ones, stay. Uploading content whose
/// file was swept stores it again.
async fn unreferenced_attachment_files_are_swept(app: TestApp) {
    use pagerlens::actions::attachments::{self, Swept};
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 2).await;
    let token = app.admin_token.clone();
    let settings = app.app.config.attachments.clone();
    let sha = |body: &Value| {
        body["data"]["addIncidentAttachment"]["sha256"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (_, kept) = upload(&app, Some(&token), "PI0000", "kept.txt", b"kept").await;
    let (_, gone) = upload(&app, Some(&token), "PI0001", "gone.txt", b"gone").await;
    let (kept, gone) = (sha(&kept), sha(&gone));
    let hour = std::time::Duration::from_secs(3600);
    let two_hours = 2 * hour;
    // As retention deleting PI0001's attachment with its incident.
    pagerlens::entities::incident_attachment::Entity::delete_many()
        .filter(pagerlens::entities::incident_attachment::Column::IncidentId.eq("PI0001"))
        .exec(&app.db)
        .await
        .unwrap();
    let partial = attachments::path_of(&settings, &kept).with_extension("123.partial");
    std::fs::write(&partial, b"half").unwrap();

    // Recent: nothing is removed.
    let swept = attachments::sweep(&app.db, &settings, hour).await.unwrap();
    assert_eq!(swept, Swept::default());
    assert_eq!(walk(&settings.dir), 3);

    for name in [&kept, &gone] {
        age_file(&attachments::path_of(&settings, name), two_hours);
    }
    age_file(&partial, two_hours);
    let swept = attachments::sweep(&app.db, &settings, hour).await.unwrap();
    assert_eq!(
        swept,
        Swept {
            files: 1,
            partial: 1
        }
    );
    assert!(attachments::path_of(&settings, &kept).exists());
    assert!(!attachments::path_of(&settings, &gone).exists());
    assert!(!partial.exists());
    let resp = app
        .client
        .get(app.url("/attachments/1/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(&resp.bytes().await.unwrap()[..], b"kept");

    // The swept content uploaded again is stored again.
    let (status, again) = upload(&app, Some(&token), "PI0000", "again.txt", b"gone").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(sha(&again), gone);
    assert!(attachments::path_of(&settings, &gone).exists());
    // Content stored before and uploaded again is touched, so a sweep
    // running meanwhile finds it recent and spares it.
    let path = attachments::path_of(&settings, &kept);
    age_file(&path, two_hours);
    upload(&app, Some(&token), "PI0001", "kept-too.txt", b"kept").await;
    let age = std::fs::metadata(&path)
        .unwrap()
        .modified()
        .unwrap()
        .elapsed()
        .unwrap_or_default();
    assert!(age < hour, "{age:?}");
}

on_both_databases!(
    unreferenced_attachment_files_are_swept,
    attachments_are_uploaded_sniffed_and_downloaded_with_authentication,
    local_incidents_have_a_lifecycle_slas_and_notifications,
    bad_input_changes_nothing,
    pagerduty_incidents_are_written_through,
);
