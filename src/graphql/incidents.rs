//! Local incidents and the actions people take on any incident: create,
//! update, acknowledge, resolve, delete, notes (see `actions`).

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Upload};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::auth::{RoleGuard, caller};
use super::error::{ApiError, ApiResultExt};
use super::types::{Incident, LogEntry};
use crate::actions::attachments;
use crate::actions::{self as local, Actor, Changes, LocalError, NewIncident};
use crate::auth::Role;
use crate::config::Config;
use crate::entities::incident_attachment;
use crate::events::EventBus;

/// A file added to an incident.
pub struct IncidentAttachment(pub incident_attachment::Model);

#[Object]
impl IncidentAttachment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn incident_id(&self) -> ID {
        ID(self.0.incident_id.clone())
    }
    /// The uploader's file name, without directories.
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// Sniffed from the content.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// Hex SHA-256 of the content.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Where to download it (the same credentials as for `/graphql`).
    async fn download_path(&self) -> String {
        format!("/attachments/{}/download", self.0.id)
    }
}

impl From<LocalError> for ApiError {
    fn from(e: LocalError) -> Self {
        match e {
            LocalError::BadInput(m) => ApiError::BadUserInput(m),
            // The person is told what it means and what PagerDuty said.
            e @ LocalError::Upstream { .. } => {
                ApiError::BadUserInput(crate::telemetry::error_chain(&e))
            }
            LocalError::NotFound(m) => ApiError::NotFound(m),
            LocalError::Db(e) => e.into(),
            e @ LocalError::Io(_) => ApiError::Internal(Box::new(e)),
        }
    }
}

fn context<'a>(ctx: &Context<'a>) -> local::Context<'a> {
    let config = ctx.data_unchecked::<std::sync::Arc<Config>>();
    local::Context {
        db: ctx.data_unchecked::<DatabaseConnection>(),
        sla: &config.sla,
        events: ctx.data_opt::<EventBus>(),
        pagerduty: ctx
            .data_opt::<Option<crate::pagerduty::Client>>()
            .and_then(Option::as_ref),
        from_email: config.pagerduty.from_email.as_deref(),
        now: Utc::now(),
    }
}

fn actor(ctx: &Context<'_>) -> async_graphql::Result<(Actor, crate::scope::Scope)> {
    let c = caller(ctx)?;
    Ok((
        Actor {
            account_id: c.account.id,
            name: c.account.display_name.clone(),
            email: c.account.email.clone(),
        },
        c.scope.clone(),
    ))
}

/// A new local incident.
#[derive(InputObject)]
pub struct CreateIncidentInput {
    /// 1 to 255 characters.
    pub title: String,
    pub description: Option<String>,
    /// The service it concerns (one the caller may see).
    pub service_id: ID,
    pub priority_id: Option<ID>,
    /// `high` (default) or `low`.
    pub urgency: Option<String>,
    /// A user to assign.
    pub assignee_id: Option<ID>,
}

/// Changes to a local incident; a field left out stays, `null` clears an
/// optional one.
#[derive(InputObject, Default)]
pub struct UpdateIncidentInput {
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub service_id: Option<ID>,
    pub priority_id: MaybeUndefined<ID>,
    pub urgency: Option<String>,
    pub assignee_id: MaybeUndefined<ID>,
}

fn maybe(v: MaybeUndefined<impl Into<String>>) -> Option<Option<String>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v.into())),
    }
}

#[derive(Default)]
pub struct IncidentsMutation;

#[Object]
impl IncidentsMutation {
    /// Creates a local incident (users and admins): triggered, with its SLA,
    /// and an `incident_created` notification.
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn create_incident(
        &self,
        ctx: &Context<'_>,
        input: CreateIncidentInput,
    ) -> async_graphql::Result<Incident> {
        let (who, scope) = actor(ctx)?;
        let new = NewIncident {
            title: input.title,
            description: input.description,
            service_id: input.service_id.0,
            priority_id: input.priority_id.map(|p| p.0),
            urgency: input.urgency,
            assignee_id: input.assignee_id.map(|a| a.0),
        };
        Ok(Incident(
            local::create(&context(ctx), &scope, &who, new)
                .await
                .api()?,
        ))
    }

    /// Changes a local incident (PagerDuty incidents change in PagerDuty).
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn update_incident(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateIncidentInput,
    ) -> async_graphql::Result<Incident> {
        let (who, scope) = actor(ctx)?;
        let changes = Changes {
            title: input.title,
            description: maybe(input.description),
            service_id: input.service_id.map(|s| s.0),
            priority_id: maybe(input.priority_id.map_value(|p| p.0)),
            urgency: input.urgency,
            assignee_id: maybe(input.assignee_id.map_value(|a| a.0)),
        };
        Ok(Incident(
            local::update(&context(ctx), &scope, &who, &id, changes)
                .await
                .api()?,
        ))
    }

    /// Acknowledges an incident: a local one here, a PagerDuty one in
    /// PagerDuty (written through, then read back).
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn acknowledge_incident(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Incident> {
        let (who, scope) = actor(ctx)?;
        Ok(Incident(
            local::acknowledge(&context(ctx), &scope, &who, &id)
                .await
                .api()?,
        ))
    }

    /// Resolves an incident (a local one here, a PagerDuty one in PagerDuty).
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn resolve_incident(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Incident> {
        let (who, scope) = actor(ctx)?;
        Ok(Incident(
            local::resolve(&context(ctx), &scope, &who, &id)
                .await
                .api()?,
        ))
    }

    /// Soft-deletes a local incident: kept, hidden from lists and analytics.
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn delete_incident(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let (who, scope) = actor(ctx)?;
        local::delete(&context(ctx), &scope, &who, &id)
            .await
            .api()?;
        Ok(true)
    }

    /// Adds a file to an incident (GraphQL multipart request; at most
    /// `PAGERLENS_ATTACHMENT_MAX_BYTES`; the content type is sniffed).
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn add_incident_attachment(
        &self,
        ctx: &Context<'_>,
        incident_id: ID,
        file: Upload,
    ) -> async_graphql::Result<IncidentAttachment> {
        let (who, scope) = actor(ctx)?;
        let upload = file
            .value(ctx)
            .map_err(|e| ApiError::bad_input(format!("the upload could not be read: {e}")))
            .api()?;
        let settings = &ctx.data_unchecked::<std::sync::Arc<Config>>().attachments;
        let model = attachments::add(
            &context(ctx),
            settings,
            &scope,
            &who,
            &incident_id,
            &upload.filename,
            upload.content,
        )
        .await
        .api()?;
        Ok(IncidentAttachment(model))
    }

    /// Adds a note. `internal` notes stay in pagerlens; others on a
    /// PagerDuty incident are written to PagerDuty.
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn add_incident_note(
        &self,
        ctx: &Context<'_>,
        incident_id: ID,
        content: String,
        #[graphql(default)] internal: bool,
    ) -> async_graphql::Result<LogEntry> {
        let (who, scope) = actor(ctx)?;
        Ok(LogEntry(
            local::add_note(
                &context(ctx),
                &scope,
                &who,
                &incident_id,
                &content,
                internal,
            )
            .await
            .api()?,
        ))
    }
}
