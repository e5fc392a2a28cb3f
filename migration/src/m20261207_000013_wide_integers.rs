//! PagerDuty's integers are 64-bit in its OpenAPI document: an escalation
//! policy's `num_loops`, a rule's `escalation_delay_in_minutes` and an
//! on-call entry's `escalation_level` become `BIGINT` on PostgreSQL (SQLite's
//! `INTEGER` holds 64 bits already). PostgreSQL cannot change the type of a
//! column a view reads, so `bi_escalation_policies` is dropped and made again
//! around the change, from its definition in the analytics migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, column) of every widened integer.
const COLUMNS: [(&str, &str); 3] = [
    ("escalation_policies", "num_loops"),
    ("escalation_rules", "escalation_delay_in_minutes"),
    ("oncall_entries", "escalation_level"),
];

async fn retype(m: &SchemaManager<'_>, sql_type: &str) -> Result<(), DbErr> {
    let db = m.get_connection();
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    db.execute_unprepared("DROP VIEW IF EXISTS bi_escalation_policies")
        .await?;
    for (table, column) in COLUMNS {
        db.execute_unprepared(&format!(
            "ALTER TABLE {table} ALTER COLUMN {column} TYPE {sql_type}"
        ))
        .await?;
    }
    db.execute_unprepared(&crate::m20261123_000006_analytics::view_sql(
        DbBackend::Postgres,
        "bi_escalation_policies",
    ))
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        retype(m, "BIGINT").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        retype(m, "INTEGER").await
    }
}
