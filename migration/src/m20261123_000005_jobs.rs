//! The job queue (jobs and their log lines) and scheduled reports.
//!
//! A job is claimed by one worker at a time; a cron tick enqueues with a
//! unique `dedupe_key`, so however many replicas fire the same tick, one job
//! exists.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::{fk, index, table, ts, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table("jobs")
                .col(pk_auto("id"))
                // sync, sla_check, report, retention, report_expiry, …
                .col(string("kind"))
                // JSON arguments.
                .col(text("params"))
                // QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED.
                .col(string("status"))
                .col(integer("progress").default(0))
                .col(text_null("message"))
                // JSON result.
                .col(text_null("result"))
                .col(text_null("error"))
                // api, schedule, cli.
                .col(string("trigger"))
                .col(integer_null("requested_by"))
                .foreign_key(&mut fk(
                    "jobs",
                    "requested_by",
                    "accounts",
                    ForeignKeyAction::SetNull,
                ))
                .col(integer("attempts").default(0))
                .col(integer("max_attempts"))
                // cron ticks: "kind@2026-11-23T10:05:00Z"; unique, so a tick
                // enqueues once however many replicas fire it.
                .col(string_null("dedupe_key").unique_key())
                .col(boolean("cancel_requested").default(false))
                .col(ts("run_after"))
                .col(string_null("worker"))
                .col(ts_null("started_at"))
                .col(ts_null("finished_at"))
                .col(ts_null("heartbeat_at"))
                // A report's file, relative to the report directory.
                .col(text_null("file_path"))
                .col(string_null("file_name"))
                .col(string_null("content_type"))
                .col(big_integer_null("file_bytes"))
                .col(ts_null("file_expires_at"))
                .col(ts_null("file_deleted_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("jobs", &["status", "run_after"]))
            .await?;
        m.create_index(index("jobs", &["kind", "created_at"]))
            .await?;
        m.create_index(index("jobs", &["requested_by", "created_at"]))
            .await?;

        // Reports page through incidents in (created_at, id) order.
        m.create_index(index("incidents", &["created_at", "id"]))
            .await?;

        m.create_table(
            table("job_logs")
                .col(pk_auto("id"))
                .col(integer("job_id"))
                .foreign_key(&mut fk(
                    "job_logs",
                    "job_id",
                    "jobs",
                    ForeignKeyAction::Cascade,
                ))
                .col(ts("at"))
                // info, warn, error.
                .col(string("level"))
                .col(text("line"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("job_logs", &["job_id", "id"])).await?;

        m.create_table(
            table("report_schedules")
                .col(pk_auto("id"))
                .col(integer("account_id"))
                .foreign_key(&mut fk(
                    "report_schedules",
                    "account_id",
                    "accounts",
                    ForeignKeyAction::Cascade,
                ))
                .col(string("name"))
                .col(string("kind"))
                .col(string("format"))
                // JSON filter.
                .col(text("filter"))
                // Six fields, seconds first, in `time_zone`.
                .col(string("cron"))
                .col(string("time_zone"))
                .col(text_null("email_to"))
                .col(text_null("webhook_url"))
                .col(boolean("active").default(true))
                .col(integer_null("last_job_id"))
                .col(ts_null("last_run_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("report_schedules", &["account_id"]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_incidents_created_at_id")
                .table("incidents")
                .to_owned(),
        )
        .await?;
        for t in ["report_schedules", "job_logs", "jobs"] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
