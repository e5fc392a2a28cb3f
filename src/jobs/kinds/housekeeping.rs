//! Housekeeping: the retention job (old jobs and their files, expired
//! sessions and cache entries, old resolved incidents when configured,
//! unreferenced attachment files) and the expiry of report files.

use anyhow::Context;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::super::{BackgroundJob, JobCtx, JobKind, JobOutput, queue};

/// How long an attachment file no row refers to is kept: longer than any
/// upload takes between storing (or touching) its file and writing its row.
const ATTACHMENT_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes finished jobs past `PAGERLENS_JOB_RETENTION` with their files,
/// expired sessions, and, when `PAGERLENS_INCIDENT_RETENTION` is set,
/// resolved incidents older than that; then the attachment files no
/// attachment refers to any more.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionJob {}

impl BackgroundJob for RetentionJob {
    const KIND: JobKind = JobKind::Retention;

    async fn run(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        let now = Utc::now();
        ctx.set_progress(10, "deleting old jobs");
        let (jobs, files) = queue::purge_finished(&ctx.db, now - ctx.config.jobs.retention).await?;
        let mut removed_files = 0;
        for f in files {
            if remove_report_file(&ctx.config.reports.dir, &f).await {
                removed_files += 1;
            }
        }
        ctx.set_progress(50, "deleting expired sessions");
        let sessions =
            crate::auth::sessions::delete_expired(&ctx.db, ctx.config.session_lifetime).await?;
        ctx.set_progress(60, "deleting expired cache entries");
        let cache_entries =
            crate::cache::Cache::from_settings(ctx.db.clone(), &ctx.config.analytics)
                .purge_expired(now - chrono::Duration::days(7))
                .await?;
        let incidents = match ctx.config.jobs.incident_retention {
            Some(age) => {
                ctx.set_progress(70, "deleting old resolved incidents");
                crate::incidents::delete_resolved_before(&ctx.db, now - age).await?
            }
            None => 0,
        };
        ctx.set_progress(85, "deleting unreferenced attachment files");
        let attachments =
            crate::actions::attachments::sweep(&ctx.db, &ctx.config.attachments, ATTACHMENT_GRACE)
                .await?;
        Ok(JobOutput {
            result: serde_json::json!({
                "jobs": jobs, "files": removed_files, "sessions": sessions, "incidents": incidents,
                "cache_entries": cache_entries, "attachment_files": attachments,
            }),
            message: Some(format!(
                "deleted {jobs} job(s), {removed_files} file(s), {sessions} session(s), {incidents} incident(s), {} attachment file(s)",
                attachments.files + attachments.partial
            )),
            file: None,
        })
    }
}

/// Deletes the report files whose retention ended; the jobs stay, and their
/// download answers 410 Gone.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportExpiryJob {}

impl BackgroundJob for ReportExpiryJob {
    const KIND: JobKind = JobKind::ReportExpiry;

    async fn run(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        let now = Utc::now();
        let expired = queue::expired_files(&ctx.db, now).await?;
        let total = expired.len();
        for (i, (id, path)) in expired.into_iter().enumerate() {
            remove_report_file(&ctx.config.reports.dir, &path).await;
            queue::mark_file_deleted(&ctx.db, id, now)
                .await
                .context("marking a report file deleted")?;
            ctx.set_progress(
                i32::try_from((i + 1) * 100 / total.max(1)).unwrap_or(100),
                format!("{} of {total} expired files deleted", i + 1),
            );
        }
        Ok(JobOutput {
            result: serde_json::json!({"files": total}),
            message: Some(format!("{total} expired report file(s) deleted")),
            file: None,
        })
    }
}

/// Removes a report file under `dir`; a file already gone counts as removed.
/// Paths that would leave the directory are refused.
async fn remove_report_file(dir: &std::path::Path, relative: &str) -> bool {
    let Some(path) = super::super::report_file(dir, relative) else {
        tracing::warn!(
            path = relative,
            "refusing to delete a report path outside the report directory"
        );
        return false;
    };
    match tokio::fs::remove_file(path).await {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            tracing::warn!(path = relative, error = %e, "could not delete a report file");
            false
        }
    }
}
