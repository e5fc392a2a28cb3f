use sea_orm::entity::prelude::*;

/// One user's part in one incident, as derived by
/// [`crate::incidents::facts`]: what PagerDuty's responder metrics sum.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_responder_analytics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub incident_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub first_notified_at: Option<DateTimeUtc>,
    pub seconds_to_first_ack: Option<i64>,
    pub acknowledgements: i64,
    pub notifications: i64,
    pub interruptions: i64,
    pub business_hour_interruptions: i64,
    pub off_hour_interruptions: i64,
    pub sleep_hour_interruptions: i64,
    pub manual_escalations_from: i64,
    pub timeout_escalations_from: i64,
    pub manual_escalations_to: i64,
    pub timeout_escalations_to: i64,
    pub reassignments_from: i64,
    pub reassignments_to: i64,
    pub engaged_seconds: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
