use sea_orm::entity::prelude::*;

/// The raw incident analytics PagerDuty reported (its JSON object), kept
/// for the drift check and fetched incrementally by `pd_updated_at`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pagerduty_incident_analytics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub incident_id: String,
    /// PagerDuty's analytics-side `updated_at`.
    pub pd_updated_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub raw: String,
    pub fetched_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
