//! The `report` job: writes the file into the report directory and records
//! it on the job, to be downloaded from `/reports/{job_id}/download` until
//! its retention ends.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::super::{BackgroundJob, JobCtx, JobKind, JobOutput, Permanent};
use crate::reports::{self, FileInfo, Generated, Progress, ReportError, Request};

/// A report to write: the request as `requestReport` (or a schedule) made it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportJob(pub Request);

struct JobProgress<'a>(&'a JobCtx);

impl Progress for JobProgress<'_> {
    fn rows(&self, done: u64, total: u64) {
        // 99% at most until the file is closed.
        let pct = (done * 99).checked_div(total).unwrap_or(0).min(99);
        self.0.set_progress(
            i32::try_from(pct).unwrap_or(99),
            format!("{done} of {total} rows written"),
        );
    }
}

impl BackgroundJob for ReportJob {
    const KIND: JobKind = JobKind::Report;

    async fn run(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        let req = self.0;
        let settings = &ctx.config.reports;
        let tz = req
            .tz(settings.time_zone)
            .map_err(|e| Permanent(e.to_string()))?;
        let now = Utc::now();
        tokio::fs::create_dir_all(&settings.dir)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot create the report directory {}: {e}",
                    settings.dir.display()
                )
            })?;
        // Only a job run again can have left a file (the directory may hold
        // thousands of finished reports: not listed for every report).
        let removed = if ctx.job.attempts > 1 {
            remove_earlier_attempts(&settings.dir, ctx.job.id).await
        } else {
            0
        };
        if removed > 0 {
            ctx.log(
                "info",
                &format!("removed {removed} unfinished file(s) an earlier attempt left behind"),
            )
            .await;
        }
        let name = req.file_name(now, tz);
        let relative = format!("job-{}-{name}", ctx.job.id);
        let path = settings.dir.join(&relative);
        ctx.log(
            "info",
            &format!("writing {} ({})", name, req.format.extension()),
        )
        .await;
        let generated = reports::generate(
            &ctx.db,
            &req,
            &reports::Options::from_settings(&ctx.config.reports, &ctx.config.analytics),
            chrono::Utc::now(),
            &path,
            &JobProgress(ctx),
            &ctx.cancel,
        )
        .await;
        let Generated { rows, bytes } = match generated {
            Ok(g) => g,
            Err(ReportError::BadInput(m)) => return Err(Permanent(m).into()),
            Err(e) => return Err(e.into()),
        };
        let file = FileInfo {
            path: relative,
            name: name.clone(),
            content_type: req.format.content_type().to_owned(),
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            expires_at: now + settings.retention,
        };
        if let Some(schedule) = req.schedule_id {
            super::scheduled_reports::deliver(ctx, schedule, &file).await;
        }
        Ok(JobOutput {
            result: serde_json::json!({
                "kind": req.kind.as_str(),
                "format": req.format.extension(),
                "rows": rows,
                "bytes": bytes,
                "file_name": name,
            }),
            message: Some(format!("{rows} rows written")),
            file: Some(file),
        })
    }
}

/// Deletes the files an earlier attempt of job `id` left in `dir` (a worker
/// that died while writing): every report file of a job is named
/// `job-{id}-…`, and a job that runs again has no finished file yet. Returns
/// how many were removed.
async fn remove_earlier_attempts(dir: &std::path::Path, id: i32) -> usize {
    let prefix = format!("job-{id}-");
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return 0;
    };
    let mut removed = 0;
    while let Ok(Some(entry)) = entries.next_entry().await {
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        match tokio::fs::remove_file(entry.path()).await {
            Ok(()) => removed += 1,
            Err(e) => tracing::warn!(
                path = %entry.path().display(),
                error = %e,
                "could not remove a report file of an earlier attempt"
            ),
        }
    }
    removed
}
