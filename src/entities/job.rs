use sea_orm::entity::prelude::*;

/// One unit of background work (a sync, an SLA check, a report, …).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub kind: String,
    /// JSON arguments.
    #[sea_orm(column_type = "Text")]
    pub params: String,
    /// `QUEUED`, `RUNNING`, `SUCCEEDED`, `FAILED` or `CANCELLED`.
    pub status: String,
    /// 0–100.
    pub progress: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub message: Option<String>,
    /// JSON result.
    #[sea_orm(column_type = "Text", nullable)]
    pub result: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// `api`, `schedule` or `cli`.
    pub trigger: String,
    pub requested_by: Option<i32>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub dedupe_key: Option<String>,
    pub cancel_requested: bool,
    pub run_after: DateTimeUtc,
    pub worker: Option<String>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub heartbeat_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub file_path: Option<String>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub file_bytes: Option<i64>,
    pub file_expires_at: Option<DateTimeUtc>,
    pub file_deleted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
