use sea_orm::entity::prelude::*;

/// A cached analytics result (JSON), keyed by query and parameters.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "analytics_cache")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub query: String,
    /// The one service the result depends on; `None` for several.
    pub service_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub value: String,
    pub generated_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
