use sea_orm::entity::prelude::*;

/// A pause of an incident's SLA clocks (manual or automatic).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_pauses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub incident_id: String,
    pub started_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub paused_by_account_id: Option<i32>,
    pub resumed_by_account_id: Option<i32>,
    /// Made by pagerlens for an incident in a waiting status, not by a person.
    pub automatic: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
