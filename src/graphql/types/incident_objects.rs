//! Incidents and what hangs off them: log entries and custom-field values.

use super::*;

/// Lists incidents for a connection field, with an extra restriction.
pub async fn incident_connection(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    filter: Option<IncidentFilter>,
    order_by: Option<IncidentOrder>,
    restrict: impl FnOnce(&mut incidents::IncidentFilter),
) -> async_graphql::Result<Conn<Incident>> {
    let page = page_request(ctx, first, after).api()?;
    let rules = &ctx
        .data_unchecked::<std::sync::Arc<crate::config::Config>>()
        .custom_field_flags;
    let mut filter = filter.unwrap_or_default().into_domain(rules).api()?;
    restrict(&mut filter);
    let (sort, dir) = order_by.unwrap_or_default().parts();
    let db = ctx.data_unchecked::<sea_orm::DatabaseConnection>();
    let scope = &crate::graphql::auth::caller(ctx)?.scope;
    let found = incidents::list(db, scope, &filter, sort, dir, page)
        .await
        .api()?;
    Ok(connection(found, Incident))
}

/// An incident, from PagerDuty or created locally.
pub struct Incident(pub incident::Model);

pub(super) fn seconds_between(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Option<i64> {
    to.map(|t| (t - from).num_seconds())
}

#[Object]
impl Incident {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The incident's SLA: response and resolution targets, state, deadlines
    /// and timeline (null when no policy matches).
    async fn sla(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::graphql::sla::IncidentSla>> {
        crate::graphql::sla::incident_sla(ctx, &self.0.id).await
    }
    /// PagerDuty's incident number.
    async fn number(&self) -> Option<i64> {
        self.0.incident_number
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn status(&self) -> async_graphql::Result<IncidentStatus> {
        Status::parse(&self.0.status)
            .map(Into::into)
            .ok_or_else(|| {
                ApiError::Internal(
                    format!(
                        "incident {} has unknown status {:?}",
                        self.0.id, self.0.status
                    )
                    .into(),
                )
            })
            .api()
    }
    async fn urgency(&self) -> IncidentUrgency {
        match Urgency::parse(&self.0.urgency) {
            Some(Urgency::Low) => IncidentUrgency::Low,
            _ => IncidentUrgency::High,
        }
    }
    async fn source(&self) -> IncidentSource {
        match Source::parse(&self.0.source) {
            Some(Source::Manual) => IncidentSource::Manual,
            _ => IncidentSource::Pagerduty,
        }
    }
    async fn incident_key(&self) -> Option<&str> {
        self.0.incident_key.as_deref()
    }
    async fn html_url(&self) -> Option<&str> {
        self.0.html_url.as_deref()
    }
    /// When the incident was created (first triggered).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When our copy last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// PagerDuty's own last-updated time.
    async fn pagerduty_updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.pd_updated_at
    }
    async fn last_status_change_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_status_change_at
    }
    /// The first explicit acknowledgement.
    async fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.0.acknowledged_at
    }
    async fn acknowledged_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match &self.0.acknowledged_by_user_id {
            Some(id) => Ok(load_one(ctx, UserById(id.clone())).await?.map(User)),
            None => Ok(None),
        }
    }
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
    async fn resolved_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match &self.0.resolved_by_user_id {
            Some(id) => Ok(load_one(ctx, UserById(id.clone())).await?.map(User)),
            None => Ok(None),
        }
    }
    /// Seconds from creation to the first acknowledgement.
    async fn seconds_to_first_ack(&self) -> Option<i64> {
        seconds_between(self.0.created_at, self.0.acknowledged_at)
    }
    /// Seconds from creation to resolution.
    async fn seconds_to_resolve(&self) -> Option<i64> {
        seconds_between(self.0.created_at, self.0.resolved_at)
    }
    /// How many times it escalated (from escalate log entries).
    async fn escalation_count(&self) -> i32 {
        self.0.escalation_count
    }
    /// Escalated at least once.
    async fn escalated(&self) -> bool {
        self.0.escalation_count > 0
    }
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    async fn service(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Service>> {
        match &self.0.service_id {
            Some(id) => Ok(load_one(ctx, ServiceById(id.clone())).await?.map(Service)),
            None => Ok(None),
        }
    }
    async fn escalation_policy(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<EscalationPolicy>> {
        match &self.0.escalation_policy_id {
            Some(id) => Ok(load_one(ctx, EscalationPolicyById(id.clone()))
                .await?
                .map(EscalationPolicy)),
            None => Ok(None),
        }
    }
    async fn priority(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Priority>> {
        match &self.0.priority_id {
            Some(id) => Ok(load_one(ctx, PriorityById(id.clone())).await?.map(Priority)),
            None => Ok(None),
        }
    }
    /// Current assignees (PagerDuty clears them once resolved).
    async fn assignees(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        Ok(wrap(
            load_list(ctx, AssigneesOfIncident(self.0.id.clone())).await?,
        ))
    }
    /// The incident's log, oldest first.
    async fn log_entries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LogEntry>> {
        Ok(load_list(ctx, LogEntriesOfIncident(self.0.id.clone()))
            .await?
            .into_iter()
            .map(LogEntry)
            .collect())
    }
    /// Files added to the incident, oldest first.
    async fn attachments(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::graphql::incidents::IncidentAttachment>> {
        Ok(load_list(ctx, AttachmentsOfIncident(self.0.id.clone()))
            .await?
            .into_iter()
            .map(crate::graphql::incidents::IncidentAttachment)
            .collect())
    }
    /// The custom-field flags (`PAGERLENS_CUSTOM_FIELD_FLAGS`) that hold.
    async fn flags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let rules = &ctx
            .data_unchecked::<std::sync::Arc<crate::config::Config>>()
            .custom_field_flags;
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        let values = load_list(ctx, CustomFieldsOfIncident(self.0.id.clone())).await?;
        Ok(incidents::flags::flags_of(rules, &values)
            .into_iter()
            .map(str::to_owned)
            .collect())
    }
    /// PagerDuty's analytics of this incident (`/analytics/raw/incidents`),
    /// derived from its log when it was synced; null until then.
    async fn analytics(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::graphql::analytics::IncidentAnalytics>> {
        Ok(load_one(
            ctx,
            crate::graphql::loaders::FactsOfIncident(self.0.id.clone()),
        )
        .await?
        .map(Into::into))
    }
    /// Custom field values, by field name.
    async fn custom_fields(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<CustomFieldValue>> {
        Ok(load_list(ctx, CustomFieldsOfIncident(self.0.id.clone()))
            .await?
            .into_iter()
            .map(CustomFieldValue)
            .collect())
    }
}

/// One entry of an incident's log.
pub struct LogEntry(pub incident_log_entry::Model);

#[Object]
impl LogEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// PagerDuty's type, e.g. `trigger_log_entry`, `acknowledge_log_entry`.
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// What acted: `user_reference`, `service_reference`, `integration_reference`.
    async fn agent_type(&self) -> Option<&str> {
        self.0.agent_type.as_deref()
    }
    async fn agent_id(&self) -> Option<ID> {
        self.0.agent_id.clone().map(ID)
    }
    /// The acting user, when a user acted.
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match (&self.0.agent_type, &self.0.agent_id) {
            (Some(t), Some(id)) if t.starts_with("user") => {
                Ok(load_one(ctx, UserById(id.clone())).await?.map(User))
            }
            _ => Ok(None),
        }
    }
    /// The channel: `api`, `email`, `website`, `timeout`, `auto`, …
    async fn channel(&self) -> Option<&str> {
        self.0.channel_type.as_deref()
    }
    /// The notified user of a notification entry.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match &self.0.user_id {
            Some(id) => Ok(load_one(ctx, UserById(id.clone())).await?.map(User)),
            None => Ok(None),
        }
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

/// A custom field value on an incident.
pub struct CustomFieldValue(pub incident_custom_field_value::Model);

#[Object]
impl CustomFieldValue {
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }
    /// `string`, `integer`, `float`, `boolean`, `datetime` or `url`.
    async fn data_type(&self) -> Option<&str> {
        self.0.data_type.as_deref()
    }
    /// The value as PagerDuty sent it (a scalar, or a list for multi-value fields).
    async fn value(&self) -> Option<Json<serde_json::Value>> {
        self.0.value.clone().map(Json)
    }
    /// The value as text (list items joined by ", ").
    async fn value_text(&self) -> Option<&str> {
        self.0.value_text.as_deref()
    }
}

/// A configured custom-field flag (`PAGERLENS_CUSTOM_FIELD_FLAGS`).
#[derive(SimpleObject)]
pub struct CustomFieldFlag {
    pub name: String,
    /// The custom field it looks at.
    pub field: String,
    /// `equals`, `not_equals`, `in`, `contains`, `is_set` or `is_not_set`.
    pub operator: String,
    pub values: Vec<String>,
}

impl From<&crate::config::FlagRule> for CustomFieldFlag {
    fn from(r: &crate::config::FlagRule) -> Self {
        use crate::config::FlagOp;
        let (operator, values) = match &r.op {
            FlagOp::Equals(v) => ("equals", vec![v.clone()]),
            FlagOp::NotEquals(v) => ("not_equals", vec![v.clone()]),
            FlagOp::In(vs) => ("in", vs.clone()),
            FlagOp::Contains(v) => ("contains", vec![v.clone()]),
            FlagOp::IsSet => ("is_set", vec![]),
            FlagOp::IsNotSet => ("is_not_set", vec![]),
        };
        Self {
            name: r.name.clone(),
            field: r.field.clone(),
            operator: operator.to_owned(),
            values,
        }
    }
}
