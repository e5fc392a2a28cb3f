//! The breach check and the SLA lists look up open (`ACTIVE`) and breached
//! targets by deadline, and open ones by their next warning; nothing looks
//! up met or paused ones by either. The `(state, deadline)` and `(state,
//! next_warning_at)` indexes over every target are replaced by partial
//! indexes over just the rows those look-ups read, so writing a closed
//! target (most of them, in a sync or a recompute) no longer rewrites two
//! index entries. The queries name the state as a literal, which is what
//! lets both SQLite and PostgreSQL (with a generic plan) use them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CREATE: [&str; 3] = [
    "CREATE INDEX idx_sla_targets_active_deadline \
     ON incident_sla_targets (deadline, id) WHERE state = 'ACTIVE'",
    "CREATE INDEX idx_sla_targets_active_warning \
     ON incident_sla_targets (next_warning_at, id) WHERE state = 'ACTIVE'",
    "CREATE INDEX idx_sla_targets_breached_deadline \
     ON incident_sla_targets (deadline, id) WHERE state = 'BREACHED'",
];

const OLD: [&[&str]; 2] = [&["state", "deadline"], &["state", "next_warning_at"]];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for sql in CREATE {
            m.get_connection().execute_unprepared(sql).await?;
        }
        for cols in OLD {
            m.drop_index(
                Index::drop()
                    .name(format!("idx_incident_sla_targets_{}", cols.join("_")))
                    .table("incident_sla_targets")
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for cols in OLD {
            m.create_index(crate::helpers::index("incident_sla_targets", cols))
                .await?;
        }
        for name in [
            "idx_sla_targets_active_deadline",
            "idx_sla_targets_active_warning",
            "idx_sla_targets_breached_deadline",
        ] {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table("incident_sla_targets")
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
