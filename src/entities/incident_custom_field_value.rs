use sea_orm::entity::prelude::*;

/// One custom field value of an incident, stored generically: any field, any
/// value. `value` keeps the JSON as PagerDuty sent it; `value_text` is its
/// plain-text form (multi-value fields joined by `, `) for grouping and rules.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_custom_field_values")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub incident_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub display_name: Option<String>,
    pub data_type: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub value: Option<Json>,
    #[sea_orm(column_type = "Text", nullable)]
    pub value_text: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
