use sea_orm::entity::prelude::*;

/// An incident. `created_at` is the incident's own creation (first trigger)
/// time as PagerDuty reports it, or the local creation time of a manual
/// incident; `updated_at` is when our copy last changed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incidents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub incident_number: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: String,
    /// `high` or `low`.
    pub urgency: String,
    pub priority_id: Option<String>,
    pub service_id: Option<String>,
    pub escalation_policy_id: Option<String>,
    pub incident_key: Option<String>,
    pub html_url: Option<String>,
    /// `pagerduty` or `manual`.
    pub source: String,
    pub pd_updated_at: Option<DateTimeUtc>,
    pub last_status_change_at: Option<DateTimeUtc>,
    /// First explicit acknowledgement.
    pub acknowledged_at: Option<DateTimeUtc>,
    pub acknowledged_by_user_id: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
    pub resolved_by_user_id: Option<String>,
    /// Number of `escalate_log_entry` entries.
    pub escalation_count: i32,
    /// PagerDuty's incident type (its name), where the account has types.
    pub incident_type: Option<String>,
    /// Whether its custom field values were ever fetched from PagerDuty.
    pub custom_fields_fetched: bool,
    pub deleted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
