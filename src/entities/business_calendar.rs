use sea_orm::entity::prelude::*;

/// A business-hours calendar: a time zone, weekly working hours and holidays.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "business_calendars")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    /// IANA time zone name.
    pub time_zone: String,
    /// JSON: `{"mon": ["09:00-17:00"], …}`.
    #[sea_orm(column_type = "Text")]
    pub weekly_hours: String,
    /// JSON: `["2026-12-25", …]` (local dates).
    #[sea_orm(column_type = "Text")]
    pub holidays: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
