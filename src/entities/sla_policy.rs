use sea_orm::entity::prelude::*;

/// An SLA policy: match conditions (null: any) and two targets.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_policies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    /// Comma-separated PagerDuty priority names (`P1,P2`).
    pub priority_names: Option<String>,
    pub urgency: Option<String>,
    pub service_id: Option<String>,
    pub team_id: Option<String>,
    pub response_target_secs: i64,
    pub resolution_target_secs: i64,
    /// Business-hours calendar; null: around the clock.
    pub calendar_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
