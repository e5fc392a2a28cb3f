use sea_orm::entity::prelude::*;

/// Interruption windows an admin set, globally (`team_id` null) or for a
/// team (see [`crate::windows`]).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "interruption_window_sets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub team_id: Option<String>,
    /// JSON: the rules (`[{"window", "days", "from", "to"}, …]`).
    #[sea_orm(column_type = "Text")]
    pub rules: String,
    /// A business calendar whose holidays count as off hours.
    pub calendar_id: Option<i32>,
    pub updated_by_account_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
