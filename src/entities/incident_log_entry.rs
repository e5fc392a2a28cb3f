use sea_orm::entity::prelude::*;

/// A PagerDuty log entry. `created_at` is PagerDuty's time of the entry.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_log_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub incident_id: String,
    /// PagerDuty's type, e.g. `acknowledge_log_entry`.
    #[sea_orm(column_name = "type")]
    pub kind: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub summary: Option<String>,
    pub agent_type: Option<String>,
    pub agent_id: Option<String>,
    pub channel_type: Option<String>,
    /// The notified user of a `notify_log_entry`.
    pub user_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
