//! Local incidents (work tracked outside PagerDuty) and the actions people
//! take on any incident: create, update, acknowledge, resolve, soft delete,
//! notes. Local incidents have `source = 'manual'` and ids starting with `L`;
//! they change only here. For PagerDuty incidents, acknowledge, resolve and
//! (non-internal) notes are written through to PagerDuty with the `From`
//! header and then read back, so the local copy is what PagerDuty says;
//! without a configured PagerDuty client and `From` address they are refused.
//!
//! Every change refreshes the incident's SLA, tells the event bus (cached
//! analytics are dropped, subscribers told); creating and resolving a local incident queue
//! `incident_created` / `incident_resolved` notifications in the outbox.

pub mod attachments;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, Set,
};
use serde_json::json;

use crate::config::SlaSettings;
use crate::entities::{
    incident, incident_assignee, incident_log_entry, notification, priority, service, user,
};
use crate::events::{Event, EventBus};
use crate::incidents::{Status, Urgency};
use crate::pagerduty::Client;
use crate::scope::Scope;

/// The `source` of a local incident.
pub const SOURCE: &str = "manual";
/// Longest title (PagerDuty's limit is 255 characters too).
pub const MAX_TITLE: usize = 255;
/// Longest description or note.
pub const MAX_TEXT: usize = 25_000;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    NotFound(String),
    /// PagerDuty refused or could not take a write, or took it and could
    /// not be read back; `what` says which, for the person who asked.
    #[error("{what}")]
    Upstream {
        what: String,
        #[source]
        source: Option<crate::pagerduty::Error>,
    },
    /// Reading or storing a file failed.
    #[error("file storage failed")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Who acts: the account (kept in log entries) and its display name.
#[derive(Clone, Debug)]
pub struct Actor {
    pub account_id: i32,
    pub name: String,
    pub email: String,
}

/// What the actions need besides the database.
#[derive(Clone)]
pub struct Context<'a> {
    pub db: &'a DatabaseConnection,
    pub sla: &'a SlaSettings,
    pub events: Option<&'a EventBus>,
    /// The PagerDuty client, for write-through.
    pub pagerduty: Option<&'a Client>,
    /// `PAGERDUTY_FROM_EMAIL`: the user PagerDuty records writes as.
    pub from_email: Option<&'a str>,
    /// When the action happens: what its rows and log entries record.
    pub now: DateTime<Utc>,
}

impl Context<'_> {
    /// [`Context::now`] in whole microseconds: what PostgreSQL keeps.
    pub(crate) fn at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.now.timestamp_micros()).unwrap_or(self.now)
    }
}

/// A new local incident.
#[derive(Clone, Debug, Default)]
pub struct NewIncident {
    pub title: String,
    pub description: Option<String>,
    pub service_id: String,
    pub priority_id: Option<String>,
    /// `high` (default) or `low`.
    pub urgency: Option<String>,
    pub assignee_id: Option<String>,
}

/// Changes to a local incident: `None` leaves a field alone; for the
/// optional ones `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub service_id: Option<String>,
    pub priority_id: Option<Option<String>>,
    pub urgency: Option<String>,
    pub assignee_id: Option<Option<String>>,
}

fn title_of(raw: &str) -> Result<String, LocalError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > MAX_TITLE {
        return Err(LocalError::BadInput(format!(
            "a title is 1 to {MAX_TITLE} characters"
        )));
    }
    Ok(t.to_owned())
}

fn text_of(what: &str, raw: Option<String>) -> Result<Option<String>, LocalError> {
    match raw {
        None => Ok(None),
        Some(s) if s.chars().count() > MAX_TEXT => Err(LocalError::BadInput(format!(
            "a {what} is at most {MAX_TEXT} characters"
        ))),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => Ok(Some(s)),
    }
}

fn urgency_of(raw: Option<&str>) -> Result<String, LocalError> {
    let u = raw.unwrap_or("high");
    Urgency::parse(u)
        .map(|u| u.as_str().to_owned())
        .ok_or_else(|| LocalError::BadInput(format!("unknown urgency {u:?}: high or low")))
}

async fn check_service<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    id: &str,
) -> Result<(), LocalError> {
    // Exists, not deleted, and among the caller's services: one query.
    let mut q = service::Entity::find()
        .filter(service::Column::Id.eq(id))
        .filter(service::Column::DeletedAt.is_null());
    if let Some(c) = scope.services_condition(service::Column::Id) {
        q = q.filter(c);
    }
    if q.one(db).await?.is_none() {
        return Err(LocalError::BadInput(format!("No service with id {id:?}")));
    }
    Ok(())
}

async fn check_priority<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), LocalError> {
    match priority::Entity::find_by_id(id.to_owned()).one(db).await? {
        Some(p) if p.deleted_at.is_none() => Ok(()),
        _ => Err(LocalError::BadInput(format!("No priority with id {id:?}"))),
    }
}

async fn check_user<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), LocalError> {
    match user::Entity::find_by_id(id.to_owned()).one(db).await? {
        Some(u) if u.deleted_at.is_none() => Ok(()),
        _ => Err(LocalError::BadInput(format!("No user with id {id:?}"))),
    }
}

/// A new id that sorts by creation (log entries of one moment keep the order
/// they were written in): the time in microseconds, a per-process sequence
/// and a random tail against other processes.
pub(super) fn new_id(prefix: &str) -> String {
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & 0xFFFF;
    format!(
        "{prefix}{:014X}{seq:04X}{:04X}",
        Utc::now().timestamp_micros(),
        rand::random::<u16>()
    )
}

#[allow(clippy::too_many_arguments)]
async fn log<C: ConnectionTrait>(
    db: &C,
    incident_id: &str,
    kind: &str,
    actor: &Actor,
    summary: String,
    note: Option<String>,
    user_id: Option<String>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    incident_log_entry::ActiveModel {
        id: Set(new_id("LE")),
        incident_id: Set(incident_id.to_owned()),
        kind: Set(kind.to_owned()),
        summary: Set(Some(summary)),
        agent_type: Set(Some("pagerlens_account".into())),
        agent_id: Set(Some(actor.account_id.to_string())),
        channel_type: Set(Some("pagerlens".into())),
        user_id: Set(user_id),
        note: Set(note),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn notify<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    i: &incident::Model,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    notification::ActiveModel {
        kind: Set(kind.to_owned()),
        incident_id: Set(Some(i.id.clone())),
        payload: Set(json!({
            "incident_id": i.id,
            "title": i.title,
            "status": i.status,
            "urgency": i.urgency,
            "service_id": i.service_id,
            "priority_id": i.priority_id,
            "by": actor.name,
            "at": at,
        })
        .to_string()),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(at),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// After a committed change: caches and listeners.
async fn changed(ctx: &Context<'_>, i: &incident::Model) -> Result<(), DbErr> {
    if let Some(bus) = ctx.events {
        bus.incidents_changed(ctx.db, std::slice::from_ref(&i.id))
            .await?;
        bus.publish(Event::IncidentChanged {
            id: i.id.clone(),
            service_id: i.service_id.clone(),
        });
    }
    Ok(())
}

/// The incident, if the caller may see it and it is not deleted.
pub(crate) async fn visible<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    id: &str,
) -> Result<incident::Model, LocalError> {
    crate::incidents::find_live(db, scope, id)
        .await?
        .ok_or_else(|| LocalError::NotFound(format!("No incident with id {id:?}")))
}

async fn reload<C: ConnectionTrait>(db: &C, id: &str) -> Result<incident::Model, LocalError> {
    incident::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LocalError::NotFound(format!("No incident with id {id:?}")))
}

fn is_local(i: &incident::Model) -> bool {
    i.source == SOURCE
}

/// Creates a local incident (triggered), with its SLA and a notification.
///
/// # Errors
/// `BadInput` for an empty or long title, an unknown or invisible service,
/// an unknown priority, urgency or assignee; nothing is written then.
pub async fn create(
    ctx: &Context<'_>,
    scope: &Scope,
    actor: &Actor,
    input: NewIncident,
) -> Result<incident::Model, LocalError> {
    let title = title_of(&input.title)?;
    let description = text_of("description", input.description)?;
    let urgency = urgency_of(input.urgency.as_deref())?;
    check_service(ctx.db, scope, &input.service_id).await?;
    if let Some(p) = &input.priority_id {
        check_priority(ctx.db, p).await?;
    }
    if let Some(u) = &input.assignee_id {
        check_user(ctx.db, u).await?;
    }
    let at = ctx.at();
    let id = new_id("L");
    let txn = crate::db::begin_write(ctx.db).await?;
    let policy = service::Entity::find_by_id(input.service_id.clone())
        .one(&txn)
        .await?
        .and_then(|s| s.escalation_policy_id);
    let model = incident::ActiveModel {
        id: Set(id.clone()),
        incident_number: Set(None),
        title: Set(title),
        description: Set(description),
        status: Set(Status::Triggered.as_str().into()),
        urgency: Set(urgency),
        priority_id: Set(input.priority_id),
        service_id: Set(Some(input.service_id)),
        escalation_policy_id: Set(policy),
        incident_key: Set(None),
        html_url: Set(None),
        source: Set(SOURCE.into()),
        pd_updated_at: Set(None),
        last_status_change_at: Set(Some(at)),
        acknowledged_at: Set(None),
        acknowledged_by_user_id: Set(None),
        resolved_at: Set(None),
        resolved_by_user_id: Set(None),
        escalation_count: Set(0),
        incident_type: Set(None),
        custom_fields_fetched: Set(false),
        deleted_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    log(
        &txn,
        &id,
        "trigger_log_entry",
        actor,
        format!("Created by {}", actor.name),
        None,
        None,
        at,
    )
    .await?;
    if let Some(u) = &input.assignee_id {
        assign(&txn, &id, Some(u.clone()), actor, at).await?;
    }
    crate::sla::refresh(&txn, ctx.sla, std::slice::from_ref(&id), false, at).await?;
    notify(&txn, "incident_created", &model, actor, at).await?;
    txn.commit().await?;
    changed(ctx, &model).await?;
    Ok(model)
}

/// Replaces the assignee (none with `None`) and logs it.
async fn assign<C: ConnectionTrait>(
    db: &C,
    id: &str,
    user_id: Option<String>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    incident_assignee::Entity::delete_many()
        .filter(incident_assignee::Column::IncidentId.eq(id))
        .exec(db)
        .await?;
    if let Some(u) = &user_id {
        incident_assignee::Entity::insert(incident_assignee::ActiveModel {
            incident_id: Set(id.to_owned()),
            user_id: Set(u.clone()),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .on_conflict(
            OnConflict::columns([
                incident_assignee::Column::IncidentId,
                incident_assignee::Column::UserId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    log(
        db,
        id,
        "assign_log_entry",
        actor,
        match &user_id {
            Some(u) => format!("Assigned to {u} by {}", actor.name),
            None => format!("Unassigned by {}", actor.name),
        },
        None,
        user_id,
        at,
    )
    .await
}

fn local_only(i: &incident::Model, what: &str) -> Result<(), LocalError> {
    if is_local(i) {
        Ok(())
    } else {
        Err(LocalError::BadInput(format!(
            "incident {} comes from PagerDuty: {what} it in PagerDuty (this copy follows it)",
            i.id
        )))
    }
}

/// Changes a local incident.
///
/// # Errors
/// `NotFound` for an unknown, invisible or deleted incident; `BadInput` for a
/// PagerDuty incident or a bad value; nothing changes then.
pub async fn update(
    ctx: &Context<'_>,
    scope: &Scope,
    actor: &Actor,
    id: &str,
    c: Changes,
) -> Result<incident::Model, LocalError> {
    let i = visible(ctx.db, scope, id).await?;
    local_only(&i, "change")?;
    let mut m: incident::ActiveModel = i.clone().into();
    if let Some(t) = &c.title {
        m.title = Set(title_of(t)?);
    }
    if let Some(d) = c.description {
        m.description = Set(text_of("description", d)?);
    }
    if let Some(u) = &c.urgency {
        m.urgency = Set(urgency_of(Some(u))?);
    }
    if let Some(s) = &c.service_id {
        check_service(ctx.db, scope, s).await?;
        m.service_id = Set(Some(s.clone()));
        m.escalation_policy_id = Set(service::Entity::find_by_id(s.clone())
            .one(ctx.db)
            .await?
            .and_then(|s| s.escalation_policy_id));
    }
    if let Some(p) = &c.priority_id {
        if let Some(p) = p {
            check_priority(ctx.db, p).await?;
        }
        m.priority_id = Set(p.clone());
    }
    if let Some(Some(u)) = &c.assignee_id {
        check_user(ctx.db, u).await?;
    }
    let at = ctx.at();
    m.updated_at = Set(at);
    let txn = crate::db::begin_write(ctx.db).await?;
    let model = m.update(&txn).await?;
    if let Some(u) = c.assignee_id {
        assign(&txn, id, u, actor, at).await?;
    }
    // Priority, urgency or service may match another policy: open targets
    // are re-evaluated, closed ones keep theirs.
    crate::sla::refresh(&txn, ctx.sla, std::slice::from_ref(&model.id), false, at).await?;
    txn.commit().await?;
    changed(ctx, &model).await?;
    Ok(model)
}

/// The `From` address and client for a write to PagerDuty, or why not.
fn writer<'a>(ctx: &'a Context<'_>) -> Result<(&'a Client, &'a str), LocalError> {
    match (ctx.pagerduty, ctx.from_email) {
        (Some(c), Some(f)) => Ok((c, f)),
        (None, _) => Err(LocalError::BadInput(
            "this incident comes from PagerDuty and writing to PagerDuty is not configured: \
             set PAGERDUTY_TOKEN (a token that can write) and PAGERDUTY_FROM_EMAIL"
                .into(),
        )),
        (Some(_), None) => Err(LocalError::BadInput(
            "this incident comes from PagerDuty and writing to PagerDuty needs \
             PAGERDUTY_FROM_EMAIL (the email of a PagerDuty user the change is recorded as)"
                .into(),
        )),
    }
}

fn upstream(source: crate::pagerduty::Error) -> LocalError {
    // The source says what PagerDuty answered; this says what it means.
    let what = match &source {
        crate::pagerduty::Error::Api { status: 403, .. } => {
            "PagerDuty refused the write: the token cannot write"
        }
        crate::pagerduty::Error::Api { .. } => "PagerDuty refused the write",
        _ => "PagerDuty did not take the write",
    }
    .to_owned();
    LocalError::Upstream {
        what,
        source: Some(source),
    }
}

/// Reads a PagerDuty incident back after a write.
async fn read_back(ctx: &Context<'_>, client: &Client, id: &str) -> Result<(), LocalError> {
    crate::pagerduty::sync::refresh_incident(ctx.db, client, id, false, ctx.events.cloned())
        .await
        .map_err(|e| match e {
            crate::pagerduty::Error::Db(d) => LocalError::Db(d),
            source => LocalError::Upstream {
                what: "PagerDuty took the write but reading the incident back failed; \
                       the next sync brings it"
                    .to_owned(),
                source: Some(source),
            },
        })
}

async fn put_status(
    ctx: &Context<'_>,
    i: &incident::Model,
    status: Status,
) -> Result<(), LocalError> {
    let (client, from) = writer(ctx)?;
    let body = json!({"incident": {"type": "incident_reference", "status": status.as_str()}});
    let from = from.to_owned();
    client
        .send(&format!("/incidents/{}", i.id), move |http, url| {
            http.put(url).header("From", from.clone()).json(&body)
        })
        .await
        .map_err(upstream)?;
    read_back(ctx, client, &i.id).await
}

/// Acknowledges an incident: locally for a local one, in PagerDuty (then read
/// back) for a PagerDuty one.
///
/// # Errors
/// `NotFound`; `BadInput` when it is resolved or already acknowledged, or
/// write-through is not configured; `Upstream` when PagerDuty refuses.
pub async fn acknowledge(
    ctx: &Context<'_>,
    scope: &Scope,
    actor: &Actor,
    id: &str,
) -> Result<incident::Model, LocalError> {
    act(ctx, scope, actor, id, Status::Acknowledged).await
}

/// Resolves an incident (locally, or in PagerDuty and read back); a local
/// one queues an `incident_resolved` notification.
///
/// # Errors
/// As [`acknowledge`]; also when it is already resolved.
pub async fn resolve(
    ctx: &Context<'_>,
    scope: &Scope,
    actor: &Actor,
    id: &str,
) -> Result<incident::Model, LocalError> {
    act(ctx, scope, actor, id, Status::Resolved).await
}

async fn act(
    ctx: &Context<'_>,
    scope: &Scope,
    actor: &Actor,
    id: &str,
    to: Status,
) -> Result<incident::Model, LocalError> {
    let i = visible(ctx.db, scope, id).await?;
    let refusal = match (Status::parse(&i.status), to) {
        (Some(Status::Resolved), Status::Resolved) => Some("is already resolved"),
        (Some(Status::Resolved), _) => Some("is resolved: it cannot be acknowledged"),
        (Some(Status::Acknowledged), Status::Acknowledged) => Some("is already acknowledged"),
        _ => None,
    };
    if let Some(r) = refusal {
        return Err(LocalError::BadInput(format!("incident {id} {r}")));
    }
    if !is_local(&i) {
        put_status(ctx, &i, to).await?;
        return reload(ctx.db, id).await;
    }
    transition(ctx, actor, i, to).await
}

/// Moves a local incident to `status` (acknowledged or resolved), logged,
/// with its SLA refreshed; resolving queues `incident_resolved`.
async fn transition(
    ctx: &Context<'_>,
    actor: &Actor,
    i: incident::Model,
    status: Status,
) -> Result<incident::Model, LocalError> {
    let at = ctx.at();
    let txn = crate::db::begin_write(ctx.db).await?;
    let mut m: incident::ActiveModel = i.clone().into();
    m.status = Set(status.as_str().into());
    let (kind, verb) = match status {
        Status::Resolved => {
            m.resolved_at = Set(Some(at));
            ("resolve_log_entry", "Resolved")
        }
        _ => {
            m.acknowledged_at = Set(Some(i.acknowledged_at.unwrap_or(at)));
            ("acknowledge_log_entry", "Acknowledged")
        }
    };
    m.last_status_change_at = Set(Some(at));
    m.updated_at = Set(at);
    let model = m.update(&txn).await?;
    let summary = format!("{verb} by {}", actor.name);
    log(&txn, &i.id, kind, actor, summary, None, None, at).await?;
    crate::sla::refresh(&txn, ctx.sla, std::slice::from_ref(&model.id), false, at).await?;
    if status == Status::Resolved {
        notify(&txn, "incident_resolved", &model, actor, at).await?;
    }
    txn.commit().await?;
    changed(ctx, &model).await?;
    Ok(model)
}

/// Soft-deletes a local incident (kept, hidden everywhere).
///
/// # Errors
/// `NotFound`; `BadInput` for a PagerDuty incident.
pub async fn delete(
    ctx: &Context<'_>,
    scope: &Scope,
    actor: &Actor,
    id: &str,
) -> Result<(), LocalError> {
    let i = visible(ctx.db, scope, id).await?;
    local_only(&i, "delete")?;
    let at = ctx.at();
    let txn = crate::db::begin_write(ctx.db).await?;
    let mut m: incident::ActiveModel = i.clone().into();
    m.deleted_at = Set(Some(at));
    m.updated_at = Set(at);
    let model = m.update(&txn).await?;
    log(
        &txn,
        id,
        "delete_log_entry",
        actor,
        format!("Deleted by {}", actor.name),
        None,
        None,
        at,
    )
    .await?;
    txn.commit().await?;
    changed(ctx, &model).await?;
    Ok(())
}

/// Adds a note. An internal note stays in pagerlens; any other note on a
/// PagerDuty incident is written to PagerDuty and read back as its
/// `annotate_log_entry`.
///
/// # Errors
/// `NotFound`; `BadInput` for an empty or long note, or a PagerDuty note
/// without write-through; `Upstream` when PagerDuty refuses.
pub async fn add_note(
    ctx: &Context<'_>,
    scope: &Scope,
    actor: &Actor,
    id: &str,
    content: &str,
    internal: bool,
) -> Result<incident_log_entry::Model, LocalError> {
    let i = visible(ctx.db, scope, id).await?;
    let content = content.trim();
    if content.is_empty() || content.chars().count() > MAX_TEXT {
        return Err(LocalError::BadInput(format!(
            "a note is 1 to {MAX_TEXT} characters"
        )));
    }
    if !is_local(&i) && !internal {
        let (client, from) = writer(ctx)?;
        let from = from.to_owned();
        let body = json!({"note": {"content": content}});
        // Not retried: a note posted twice would show twice.
        let resp = client
            .with_max_retries(0)
            .send(&format!("/incidents/{id}/notes"), move |http, url| {
                http.post(url).header("From", from.clone()).json(&body)
            })
            .await
            .map_err(upstream)?;
        read_back(ctx, client, id).await?;
        let created = resp["note"]["created_at"]
            .as_str()
            .and_then(|s| s.parse::<DateTime<Utc>>().ok());
        let entry = incident_log_entry::Entity::find()
            .filter(incident_log_entry::Column::IncidentId.eq(id))
            .filter(incident_log_entry::Column::Kind.eq("annotate_log_entry"))
            .filter(incident_log_entry::Column::Note.eq(content))
            .all(ctx.db)
            .await?
            .into_iter()
            .max_by_key(|e| (created.is_some_and(|c| c == e.created_at), e.created_at));
        return entry.ok_or_else(|| LocalError::Upstream {
            what: "PagerDuty took the note but did not list it yet; the next sync brings it".into(),
            source: None,
        });
    }
    let at = ctx.at();
    let entry_id = new_id("LE");
    let txn = crate::db::begin_write(ctx.db).await?;
    let entry = incident_log_entry::ActiveModel {
        id: Set(entry_id),
        incident_id: Set(id.to_owned()),
        kind: Set(if internal {
            "internal_note_log_entry"
        } else {
            "annotate_log_entry"
        }
        .into()),
        summary: Set(Some(format!(
            "{} added {} note",
            actor.name,
            if internal { "an internal" } else { "a" }
        ))),
        agent_type: Set(Some("pagerlens_account".into())),
        agent_id: Set(Some(actor.account_id.to_string())),
        channel_type: Set(Some("pagerlens".into())),
        user_id: Set(None),
        note: Set(Some(content.to_owned())),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    changed(ctx, &i).await?;
    Ok(entry)
}
