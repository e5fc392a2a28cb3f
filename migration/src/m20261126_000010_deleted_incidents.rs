//! The few deleted incidents, indexed on their own: the SLA breach check
//! leaves out targets of deleted incidents, and without this index
//! PostgreSQL found them by reading every incident on every check.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A partial index (same syntax on SQLite and PostgreSQL).
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_incidents_deleted_id ON incidents (id) WHERE deleted_at IS NOT NULL",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_incidents_deleted_id")
                .table("incidents")
                .to_owned(),
        )
        .await
    }
}
