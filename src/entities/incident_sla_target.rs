use sea_orm::entity::prelude::*;

/// One SLA target (response or resolution) of one incident and cycle.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_sla_targets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub incident_id: String,
    /// `response` or `resolution`.
    pub target: String,
    pub cycle: i32,
    pub policy_id: Option<i32>,
    /// The policy's name when measured (kept if the policy is deleted).
    pub policy_name: String,
    pub target_secs: i64,
    pub calendar_id: Option<i32>,
    pub started_at: DateTimeUtc,
    /// `ACTIVE`, `PAUSED`, `MET` or `BREACHED`.
    pub state: String,
    pub deadline: Option<DateTimeUtc>,
    pub met_at: Option<DateTimeUtc>,
    pub breached_at: Option<DateTimeUtc>,
    pub breach_notified_at: Option<DateTimeUtc>,
    pub paused_at: Option<DateTimeUtc>,
    pub paused_secs: i64,
    /// Counted (policy clock) seconds used when computed.
    pub used_secs: i64,
    /// Wall-clock seconds used, pauses excluded, when computed.
    pub wall_used_secs: i64,
    pub warned_share: f64,
    pub next_warning_at: Option<DateTimeUtc>,
    pub next_warning_share: Option<f64>,
    pub computed_at: DateTimeUtc,
    /// When it stopped (acknowledged or resolved); `None` while it runs.
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
