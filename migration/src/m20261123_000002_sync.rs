//! Sync bookkeeping: sync runs, the incremental watermark, on-call entries
//! and received webhook events (for idempotency).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::{fk, index, table, ts, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table("sync_runs")
                .col(pk_auto("id"))
                .col(string("kind"))
                .col(string("trigger"))
                .col(string("status"))
                .col(text_null("parameters"))
                .col(ts("started_at"))
                .col(ts_null("finished_at"))
                .col(text_null("counts"))
                .col(big_integer("api_calls").default(0))
                .col(big_integer("retries").default(0))
                .col(big_integer("rate_limited").default(0))
                .col(big_integer("rate_limit_wait_ms").default(0))
                .col(big_integer("skipped").default(0))
                .col(text_null("skipped_ids"))
                .col(text_null("error"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sync_runs", &["started_at"])).await?;

        m.create_table(
            table("sync_state")
                .col(string("key").primary_key())
                .col(ts_null("watermark"))
                .col(text_null("value"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table("oncall_entries")
                .col(string("id").primary_key())
                .col(string_null("escalation_policy_id"))
                .col(integer("escalation_level"))
                .col(string_null("schedule_id"))
                .col(string("user_id"))
                .col(ts_null("start_at"))
                .col(ts_null("end_at"))
                .foreign_key(&mut fk(
                    "oncall_entries",
                    "user_id",
                    "users",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("oncall_entries", &["schedule_id", "start_at"]))
            .await?;
        m.create_index(index("oncall_entries", &["user_id", "start_at"]))
            .await?;

        m.create_table(
            table("webhook_events")
                .col(string("id").primary_key())
                .col(string("event_type"))
                .col(string_null("resource_id"))
                .col(ts_null("occurred_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "webhook_events",
            "oncall_entries",
            "sync_state",
            "sync_runs",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
