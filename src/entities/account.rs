use sea_orm::entity::prelude::*;

/// A person who logs in to pagerlens (not a PagerDuty user).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub email: String,
    pub display_name: String,
    /// The name the identity provider gave at the last login: while the
    /// display name is still that one, the next login's name replaces it.
    pub provider_name: Option<String>,
    /// `admin`, `user` or `viewer`.
    pub role: String,
    pub active: bool,
    pub last_login_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
