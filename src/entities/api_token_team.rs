use sea_orm::entity::prelude::*;

/// Limits a token to some teams (no rows: its account's scope).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_token_teams")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub team_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
