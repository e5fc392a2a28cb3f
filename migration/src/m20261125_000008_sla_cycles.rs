//! SLA cycles: when a target stopped (acknowledged or resolved), so a
//! reopened incident can start a new cycle after the one it closed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("incident_sla_targets")
                .add_column(timestamp_with_time_zone_null("closed_at"))
                .to_owned(),
        )
        .await?;
        // Targets already closed: when their incident was acknowledged
        // (response) or resolved.
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE incident_sla_targets SET closed_at = (
               SELECT CASE WHEN incident_sla_targets.target = 'response'
                           THEN COALESCE(i.acknowledged_at, i.resolved_at)
                           ELSE i.resolved_at END
               FROM incidents i WHERE i.id = incident_sla_targets.incident_id)
             WHERE state IN ('MET', 'BREACHED')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("incident_sla_targets")
                .drop_column("closed_at")
                .to_owned(),
        )
        .await
    }
}
