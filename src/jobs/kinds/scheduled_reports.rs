//! Scheduled reports: the job that queues each schedule's due report (once,
//! even with several replicas: the tick is the report job's unique key),
//! and the delivery of a scheduled report's file when its job is done.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::super::queue::{self, NewJob};
use super::super::{BackgroundJob, JobCtx, JobKind, JobOutput};
use super::ReportJob;
use crate::entities::report_schedule;
use crate::reports::{FileInfo, schedules};

/// The `scheduled_reports` job: queues a report job for each schedule whose
/// latest tick has not run yet. The tick is the job's unique key, so two
/// replicas doing this at once queue it once.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledReportsJob {}

impl BackgroundJob for ScheduledReportsJob {
    const KIND: JobKind = JobKind::ScheduledReports;

    async fn run(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        let now = Utc::now();
        let mut queued = 0;
        for s in report_schedule::Entity::find()
            .filter(report_schedule::Column::Active.eq(true))
            .all(&ctx.db)
            .await?
        {
            match enqueue_one(&ctx.db, ctx.config.jobs.max_attempts, &s, now).await {
                Ok(true) => queued += 1,
                Ok(false) => {}
                Err(e) => {
                    ctx.log(
                        "warn",
                        &format!("schedule {} could not be queued: {e:#}", s.id),
                    )
                    .await;
                }
            }
        }
        Ok(JobOutput {
            result: serde_json::json!({"queued": queued}),
            message: Some(format!("{queued} scheduled report(s) queued")),
            file: None,
        })
    }
}

/// Queues the report of one schedule if its latest tick has not run.
async fn enqueue_one(
    db: &DatabaseConnection,
    max_attempts: i32,
    s: &report_schedule::Model,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let Some((tick, request)) = schedules::due(db, s, now).await? else {
        return Ok(false);
    };
    let job = queue::enqueue(
        db,
        NewJob::of(&ReportJob(request), "schedule", max_attempts)?
            .by(s.account_id)
            .once(crate::cron::tick_key(
                &format!("report_schedule:{}", s.id),
                tick,
            )),
        now,
    )
    .await?;
    schedules::mark_queued(db, s, tick, job.as_ref().map(|j| j.id), now).await?;
    Ok(job.is_some())
}

/// Sends a scheduled report: its download link to the schedule's webhook,
/// and the file (or, past 10 MiB, the link) to its email address when SMTP
/// is configured. A failing endpoint is logged on the job; the report
/// itself stands.
pub async fn deliver(ctx: &JobCtx, schedule_id: i32, file: &FileInfo) {
    let Some(schedule) = post_link(ctx, schedule_id, file).await else {
        return;
    };
    let Some(to) = schedule.email_to.clone() else {
        return;
    };
    let Some(mailer) = ctx.mailer.clone() else {
        ctx.log(
            "warn",
            "the schedule asks for email but PAGERLENS_SMTP_URL is not set",
        )
        .await;
        return;
    };
    let link = download_link(ctx);
    let mut text = format!(
        "pagerlens report \"{}\" ({} {}), {} bytes.\nDownload until {}: {link}\n",
        schedule.name,
        schedule.kind,
        schedule.format,
        file.bytes,
        file.expires_at.format("%Y-%m-%d %H:%M UTC")
    );
    let attachment =
        if u64::try_from(file.bytes).unwrap_or(u64::MAX) <= crate::mail::MAX_ATTACHMENT_BYTES {
            match crate::jobs::report_file(&ctx.config.reports.dir, &file.path) {
                Some(path) => match tokio::fs::read(&path).await {
                    Ok(bytes) => Some(crate::mail::File {
                        name: file.name.clone(),
                        content_type: file.content_type.clone(),
                        bytes,
                    }),
                    Err(e) => {
                        ctx.log("warn", &format!("cannot read the report to attach it: {e}"))
                            .await;
                        None
                    }
                },
                None => None,
            }
        } else {
            text.push_str("The file is too large to attach; use the link.\n");
            None
        };
    let sent = match crate::mail::mailbox(&to) {
        Ok(mb) => {
            mailer
                .send(
                    &[mb],
                    &format!("pagerlens report: {}", schedule.name),
                    &text,
                    attachment,
                )
                .await
        }
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => ctx.log("info", "report emailed").await,
        Err(e) => {
            let e = crate::telemetry::error_chain(&e);
            ctx.log("warn", &format!("emailing the report failed: {e}"))
                .await
        }
    }
}

fn download_link(ctx: &JobCtx) -> String {
    ctx.config
        .public_url
        .join(&format!("reports/{}/download", ctx.job.id))
        .map(|u| u.to_string())
        .unwrap_or_default()
}

/// Posts the download link to the schedule's webhook, if any; returns the
/// schedule.
async fn post_link(
    ctx: &JobCtx,
    schedule_id: i32,
    file: &FileInfo,
) -> Option<report_schedule::Model> {
    let schedule = match schedules::find(&ctx.db, schedule_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return None,
        Err(e) => {
            ctx.log("warn", &format!("cannot read schedule {schedule_id}: {e}"))
                .await;
            return None;
        }
    };
    let Some(url) = schedule.webhook_url.clone() else {
        return Some(schedule);
    };
    let link = download_link(ctx);
    let body = serde_json::json!({
        "text": format!("pagerlens report \"{}\" is ready: {link}", schedule.name),
        "schedule": {"id": schedule.id, "name": schedule.name},
        "job_id": ctx.job.id,
        "kind": schedule.kind,
        "format": schedule.format,
        "file_name": file.name,
        "bytes": file.bytes,
        "download_url": link,
        "expires_at": file.expires_at,
    });
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build();
    let sent = match client {
        Ok(c) => c
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string()),
        Err(e) => Err(e.to_string()),
    };
    match sent {
        Ok(r) if r.status().is_success() => {
            ctx.log("info", "download link posted to the schedule's webhook")
                .await;
        }
        Ok(r) => {
            ctx.log(
                "warn",
                &format!("the schedule's webhook answered {}", r.status()),
            )
            .await;
        }
        Err(e) => {
            ctx.log("warn", &format!("the schedule's webhook failed: {e}"))
                .await;
        }
    }
    Some(schedule)
}
