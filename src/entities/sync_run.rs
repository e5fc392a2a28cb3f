use sea_orm::entity::prelude::*;

/// One sync run: what started it, what it did, how it ended.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `full`, `incremental` or `service`.
    pub kind: String,
    /// `cli`, `api`, `schedule`, `demo`, `webhook`.
    pub trigger: String,
    /// `queued` (asked for with `startSync`, its job not yet started),
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub parameters: Option<String>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// JSON: object type → {inserted, updated, unchanged}.
    #[sea_orm(column_type = "Text", nullable)]
    pub counts: Option<String>,
    pub api_calls: i64,
    pub retries: i64,
    pub rate_limited: i64,
    pub rate_limit_wait_ms: i64,
    pub skipped: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub skipped_ids: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// The job that ran it (none for `pagerlens sync`, demo and webhook
    /// runs).
    pub job_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
