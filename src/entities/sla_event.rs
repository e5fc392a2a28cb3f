use sea_orm::entity::prelude::*;

/// One event on an incident's SLA timeline.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub incident_id: String,
    /// `response`, `resolution`, or null for both.
    pub target: Option<String>,
    /// `started`, `paused`, `resumed`, `warned`, `breached`, `met`, `policy_changed`.
    pub kind: String,
    pub at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
