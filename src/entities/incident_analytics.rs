use sea_orm::entity::prelude::*;

/// PagerDuty's per-incident analytics, as derived by
/// [`crate::incidents::facts`] from the incident's log.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_analytics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub incident_id: String,
    /// The settings and definitions the row was derived under; a row of
    /// another version is derived again.
    pub version: String,
    pub seconds_to_first_ack: Option<i64>,
    pub seconds_to_resolve: Option<i64>,
    pub seconds_to_engage: Option<i64>,
    pub seconds_to_mobilize: Option<i64>,
    pub engaged_seconds: Option<i64>,
    pub engaged_user_count: i64,
    pub acknowledgement_count: i64,
    pub assignment_count: i64,
    pub escalation_count: i64,
    pub manual_escalation_count: i64,
    pub timeout_escalation_count: i64,
    pub reassignment_count: i64,
    pub snoozed_seconds: i64,
    pub total_notifications: i64,
    pub total_interruptions: i64,
    pub business_hour_interruptions: i64,
    pub off_hour_interruptions: i64,
    pub sleep_hour_interruptions: i64,
    pub auto_resolved: bool,
    pub major: bool,
    /// Comma-separated user ids, in order of engagement.
    #[sea_orm(column_type = "Text")]
    pub joined_user_ids: String,
    /// The interruption window sets used (`pagerduty`, `configured`,
    /// `global`, `team:ID`), comma-separated.
    pub windows: String,
    pub computed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
