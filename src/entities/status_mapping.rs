use sea_orm::entity::prelude::*;

/// How a raw status (a PagerDuty incident status, a local incident's status
/// or a custom field's value) is shown and grouped.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "status_mappings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `PAGERDUTY`, `LOCAL` or `CUSTOM_FIELD`.
    pub source: String,
    /// The custom field's name; empty for incident statuses.
    pub field: String,
    pub raw_value: String,
    pub display_name: String,
    /// `OPEN`, `IN_PROGRESS`, `WAITING` or `RESOLVED`.
    pub category: String,
    pub active: bool,
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
