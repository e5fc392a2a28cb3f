//! Custom fields are fetched only where they can exist. An incident keeps
//! its PagerDuty incident type (`incident_type`, the type's name) and
//! whether its custom field values were ever fetched
//! (`custom_fields_fetched`): when the account defines fields on a type that
//! had none, the sync fetches the values of that type's incidents it never
//! fetched, through a partial index of exactly those. Incidents synced
//! before this migration had their values fetched, every one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("incidents")
                .add_column(string_null("incident_type"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("incidents")
                .add_column(boolean("custom_fields_fetched").default(false))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE incidents SET custom_fields_fetched = TRUE WHERE source = 'pagerduty'",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_incidents_fields_not_fetched ON incidents (incident_type, created_at) \
             WHERE NOT custom_fields_fetched",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX idx_incidents_fields_not_fetched")
            .await?;
        for column in ["custom_fields_fetched", "incident_type"] {
            m.alter_table(
                Table::alter()
                    .table("incidents")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
