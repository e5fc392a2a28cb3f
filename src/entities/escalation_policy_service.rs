use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "escalation_policy_services")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub escalation_policy_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::escalation_policy::Entity",
        from = "Column::EscalationPolicyId",
        to = "super::escalation_policy::Column::Id"
    )]
    EscalationPolicy,
    #[sea_orm(
        belongs_to = "super::service::Entity",
        from = "Column::ServiceId",
        to = "super::service::Column::Id"
    )]
    Service,
}

impl Related<super::escalation_policy::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EscalationPolicy.def()
    }
}

impl Related<super::service::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Service.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
