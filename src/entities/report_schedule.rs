use sea_orm::entity::prelude::*;

/// A report a user asked to receive on a schedule.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "report_schedules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub name: String,
    pub kind: String,
    pub format: String,
    /// JSON filter.
    #[sea_orm(column_type = "Text")]
    pub filter: String,
    /// Six fields, seconds first, in `time_zone`.
    pub cron: String,
    pub time_zone: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub email_to: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub webhook_url: Option<String>,
    pub active: bool,
    pub last_job_id: Option<i32>,
    pub last_run_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
