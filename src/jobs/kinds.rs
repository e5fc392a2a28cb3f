//! The jobs that are not reports: sync, SLA check, retention, report-file
//! expiry. Each reads its parameters, reports progress and returns a JSON
//! result.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{JobCtx, JobKind, JobOutput, Permanent, queue};
use crate::pagerduty::sync::{self, SyncKind, SyncOptions};

/// Parameters of a `sync` job.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncParams {
    /// `incremental` (the default; a full sync until one has succeeded and
    /// stored a watermark),
    /// `full` or `service`.
    #[serde(default)]
    pub kind: Option<String>,
    pub days: Option<u32>,
    pub service_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// Queues a sync job for `kind` (`startSync`) and records its run as
/// `queued`, in one transaction: a worker that claims the job at once finds
/// the run to take over. Returns the run.
///
/// # Errors
/// Database errors; nothing is queued then.
pub async fn request_sync(
    db: &sea_orm::DatabaseConnection,
    kind: &SyncKind,
    requested_by: Option<i32>,
    max_attempts: i32,
) -> Result<crate::entities::sync_run::Model, sea_orm::DbErr> {
    let params = match kind {
        SyncKind::Full { days } => serde_json::json!({"kind": "full", "days": days}),
        SyncKind::Incremental => serde_json::json!({"kind": "incremental"}),
        SyncKind::Service { id, since } => {
            serde_json::json!({"kind": "service", "service_id": id, "since": since})
        }
    };
    let txn = crate::db::begin_write(db).await?;
    let job = queue::enqueue(
        &txn,
        queue::NewJob {
            kind: JobKind::Sync,
            params,
            trigger: "api".into(),
            requested_by,
            dedupe_key: None,
            max_attempts,
        },
        Utc::now(),
    )
    .await?
    .ok_or_else(|| sea_orm::DbErr::Custom("a job without a key was not inserted".into()))?;
    let run = sync::record_queued(&txn, kind, "api", job.id).await?;
    txn.commit().await?;
    Ok(run)
}

/// Sync progress, turned into the job's progress and message.
struct SyncProgress {
    ctx: JobCtx,
    phase: Mutex<(String, Option<u64>)>,
    done: AtomicU64,
}

impl sync::Progress for SyncProgress {
    fn phase(&self, name: &str, total: Option<u64>) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = (name.to_owned(), total);
        self.done.store(0, Ordering::Relaxed);
        self.ctx.set_progress(0, name.to_owned());
    }

    fn advance(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let (name, total) = self.phase.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match total {
            Some(t) if t > 0 => self.ctx.set_progress(
                i32::try_from(done.min(t) * 100 / t).unwrap_or(100),
                format!("{name}: {done} of {t}"),
            ),
            _ => self.ctx.set_progress(0, format!("{name}: {done}")),
        }
    }
}

pub async fn sync(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
    let result = run_sync(ctx).await;
    if let Err(e) = &result {
        // A run `startSync` recorded, left open by a failure before the
        // sync itself started (which records its own end).
        let _ = sync::close_runs_of_job(&ctx.db, ctx.job.id, &format!("failed: {e:#}")).await;
    }
    result
}

async fn run_sync(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
    let params: SyncParams = serde_json::from_value(ctx.params())
        .map_err(|e| Permanent(format!("bad sync parameters: {e}")))?;
    let Some(client) = ctx.pagerduty.clone() else {
        return Err(Permanent("PagerDuty is not configured: set PAGERDUTY_TOKEN".into()).into());
    };
    // Runs left behind by jobs that are over can no longer finish.
    let closed = sync::close_abandoned(&ctx.db).await?;
    if closed > 0 {
        tracing::warn!(closed, "closed abandoned sync runs");
    }
    // One sync at a time: a tick that comes while the last sync still runs
    // (a long first sync, a slow API) steps aside instead of doubling the load.
    if let Some(other) = queue::running_other(&ctx.db, JobKind::Sync, ctx.job.id).await? {
        sync::close_runs_of_job(
            &ctx.db,
            ctx.job.id,
            &format!("skipped: sync job {other} was still running"),
        )
        .await?;
        return Ok(JobOutput {
            result: serde_json::json!({"skipped": true, "running_job": other}),
            message: Some(format!("skipped: sync job {other} is still running")),
            file: None,
        });
    }
    let kind = match params.kind.as_deref().unwrap_or("incremental") {
        "full" => SyncKind::Full {
            days: params.days.unwrap_or(ctx.config.pagerduty.sync_days),
        },
        "service" => SyncKind::Service {
            id: params
                .service_id
                .ok_or_else(|| Permanent("a service sync needs `service_id`".into()))?,
            since: params.since,
        },
        "incremental" => {
            if sync::incremental_ready(&ctx.db).await? {
                SyncKind::Incremental
            } else {
                SyncKind::Full {
                    days: ctx.config.pagerduty.sync_days,
                }
            }
        }
        other => {
            return Err(Permanent(format!(
                "unknown sync kind {other:?}: expected incremental, full or service"
            ))
            .into());
        }
    };
    let mut opts = SyncOptions::new(kind, &ctx.job.trigger);
    opts.overlap = chrono::Duration::minutes(i64::from(ctx.config.pagerduty.sync_overlap_minutes));
    opts.sla = ctx.config.sla.clone();
    opts.events = Some(ctx.events.clone());
    opts.cancel = ctx.cancel.clone();
    opts.job_id = Some(ctx.job.id);
    opts.progress = std::sync::Arc::new(SyncProgress {
        ctx: ctx.clone(),
        phase: Mutex::new((String::new(), None)),
        done: AtomicU64::new(0),
    });
    let report = match sync::adopt(&ctx.db, &opts).await? {
        Some(record) => sync::run_started(&ctx.db, &client, &opts, record).await?,
        None => sync::run(&ctx.db, &client, &opts).await?,
    };
    Ok(JobOutput {
        result: serde_json::json!({
            "sync_run_id": report.run_id,
            "counts": report.counts,
            "api": report.api,
            "skipped": report.skipped_ids.len(),
        }),
        message: Some(format!(
            "sync run {} finished: {} API calls",
            report.run_id, report.api.api_calls
        )),
        file: None,
    })
}

pub async fn sla_check(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
    let report = crate::sla::check(&ctx.db, &ctx.config.sla, Utc::now()).await?;
    Ok(JobOutput {
        result: serde_json::json!({"breached": report.breached, "warned": report.warned}),
        message: Some(format!(
            "{} breached, {} warned",
            report.breached, report.warned
        )),
        file: None,
    })
}

/// Parameters of an `sla_recompute` job.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaRecomputeParams {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Recomputes the SLAs of the incidents created in a range with today's
/// policies (`startSlaRecompute`), in batches that commit as they go: a
/// cancelled or failed recompute keeps the batches done (its log says how
/// far it got), and running it again redoes the range.
pub async fn sla_recompute(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
    let params: SlaRecomputeParams = serde_json::from_value(ctx.params())
        .map_err(|e| Permanent(format!("bad sla_recompute parameters: {e}")))?;
    if params.to <= params.from {
        return Err(Permanent("the range must end after it starts".into()).into());
    }
    let mut incidents = 0;
    let recomputed = crate::sla::recompute_range(
        &ctx.db,
        &ctx.config.sla,
        params.from,
        params.to,
        |done, total| {
            incidents = total;
            ctx.set_progress(
                i32::try_from(done * 100 / total.max(1)).unwrap_or(100),
                format!("{done} of {total} incidents"),
            );
            if ctx.is_cancelled() {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        },
    )
    .await;
    let written = match recomputed {
        Ok(written) => written,
        Err(e) => {
            if matches!(e, crate::sla::SlaError::Stopped { .. }) {
                ctx.log("info", &e.to_string()).await;
            }
            return Err(e.into());
        }
    };
    Ok(JobOutput {
        result: serde_json::json!({"incidents": incidents, "targets_written": written}),
        message: Some(format!(
            "{incidents} incident(s) recomputed, {written} target(s) written"
        )),
        file: None,
    })
}

/// Sends the due notifications of the outbox.
pub async fn notify(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
    let done = crate::notify::deliver_due(&ctx.db, &ctx.notifier, Utc::now()).await?;
    Ok(JobOutput {
        result: serde_json::to_value(&done)?,
        message: Some(format!(
            "{} sent, {} to retry, {} given up",
            done.sent, done.retrying, done.failed
        )),
        file: None,
    })
}

/// How long an attachment file no row refers to is kept: longer than any
/// upload takes between storing (or touching) its file and writing its row.
const ATTACHMENT_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes finished jobs past `PAGERLENS_JOB_RETENTION` with their files,
/// expired sessions, and, when `PAGERLENS_INCIDENT_RETENTION` is set,
/// resolved incidents older than that; then the attachment files no
/// attachment refers to any more.
pub async fn retention(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
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
    let cache_entries = crate::cache::Cache::from_config(ctx.db.clone(), &ctx.config)
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
        crate::incidents::attachments::sweep(&ctx.db, &ctx.config.attachments, ATTACHMENT_GRACE)
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

/// Computes the standard dashboard analytics into the cache.
pub async fn prewarm(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
    let analytics = crate::analytics::metrics::Analytics::from_config(ctx.db.clone(), &ctx.config);
    let cache = crate::cache::Cache::from_config(ctx.db.clone(), &ctx.config);
    ctx.set_progress(0, "prewarming the analytics cache");
    let done = crate::analytics::prewarm::run(
        &analytics,
        &cache,
        ctx.config.reports.time_zone,
        Utc::now(),
        |i, n| {
            ctx.set_progress(
                i32::try_from(i * 100 / n.max(1)).unwrap_or(100),
                format!("{i} of {n} targets"),
            );
        },
        || ctx.is_cancelled(),
    )
    .await?;
    Ok(JobOutput {
        result: serde_json::to_value(&done)?,
        message: Some(format!(
            "cached {} answer(s) for {} target(s)",
            done.entries, done.targets
        )),
        file: None,
    })
}

/// Deletes the report files whose retention ended; the jobs stay, and their
/// download answers 410 Gone.
pub async fn report_expiry(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
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

/// Removes a report file under `dir`; a file already gone counts as removed.
/// Paths that would leave the directory are refused.
async fn remove_report_file(dir: &std::path::Path, relative: &str) -> bool {
    let Some(path) = super::report_file(dir, relative) else {
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
