use sea_orm::entity::prelude::*;

/// Who was on call for which schedule and escalation level, when.
/// `id` is derived from those fields, so a re-sync finds the same row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oncall_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub escalation_policy_id: Option<String>,
    pub escalation_level: i64,
    pub schedule_id: Option<String>,
    pub user_id: String,
    pub start_at: Option<DateTimeUtc>,
    pub end_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
