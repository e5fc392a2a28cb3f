use sea_orm::entity::prelude::*;

/// One drift check's report: ours against PagerDuty's raw analytics.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "analytics_drift_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub started_at: DateTimeUtc,
    pub finished_at: DateTimeUtc,
    pub range_from: DateTimeUtc,
    pub range_to: DateTimeUtc,
    pub incidents_compared: i64,
    pub fields_compared: i64,
    pub api_calls: i64,
    /// The mismatches, a JSON array.
    #[sea_orm(column_type = "Text")]
    pub mismatches: String,
    /// Nothing differs beyond PagerDuty's refresh lag.
    pub ok: bool,
    /// `cli` or `job`.
    pub trigger: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
