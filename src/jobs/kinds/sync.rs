//! The `sync` job: an incremental, full or one-service PagerDuty sync.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::queue::{self, NewJob};
use super::super::{BackgroundJob, JobCtx, JobKind, JobOutput, Permanent};
use crate::pagerduty::sync::{self, SyncKind, SyncOptions};

/// What to sync. Stored as `{"kind": "incremental"}`, `{"kind": "full",
/// "days": N}` or `{"kind": "service", "service_id": …, "since": …}`; a
/// job queued before kinds were typed may have no `kind` (incremental).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "SyncArgs")]
pub enum SyncJob {
    /// From the stored watermark (a full sync until one has succeeded and
    /// stored it).
    Incremental,
    /// Reference data and `days` of incidents (default `PAGERLENS_SYNC_DAYS`).
    Full { days: Option<u32> },
    /// One service's incidents since `since` (default 30 days).
    Service {
        service_id: String,
        since: Option<DateTime<Utc>>,
    },
}

/// The stored form, read leniently and checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncArgs {
    kind: Option<String>,
    days: Option<u32>,
    service_id: Option<String>,
    since: Option<DateTime<Utc>>,
}

impl TryFrom<SyncArgs> for SyncJob {
    type Error = String;

    fn try_from(a: SyncArgs) -> Result<Self, String> {
        match a.kind.as_deref().unwrap_or("incremental") {
            "incremental" => Ok(Self::Incremental),
            "full" => Ok(Self::Full { days: a.days }),
            "service" => Ok(Self::Service {
                service_id: a.service_id.ok_or("a service sync needs `service_id`")?,
                since: a.since,
            }),
            other => Err(format!(
                "unknown sync kind {other:?}: expected incremental, full or service"
            )),
        }
    }
}

impl From<&SyncKind> for SyncJob {
    fn from(kind: &SyncKind) -> Self {
        match kind {
            SyncKind::Incremental => Self::Incremental,
            SyncKind::Full { days } => Self::Full { days: Some(*days) },
            SyncKind::Service { id, since } => Self::Service {
                service_id: id.clone(),
                since: *since,
            },
        }
    }
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
    let mut new = NewJob::of(&SyncJob::from(kind), "api", max_attempts)
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    new.requested_by = requested_by;
    let txn = crate::db::begin_write(db).await?;
    let job = queue::enqueue(&txn, new, Utc::now())
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

impl BackgroundJob for SyncJob {
    const KIND: JobKind = JobKind::Sync;

    async fn run(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        let result = self.sync(ctx).await;
        if let Err(e) = &result {
            // A run `startSync` recorded, left open by a failure before the
            // sync itself started (which records its own end).
            let _ = sync::close_runs_of_job(&ctx.db, ctx.job.id, &format!("failed: {e:#}")).await;
        }
        result
    }
}

impl SyncJob {
    async fn sync(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        let Some(client) = ctx.pagerduty.clone() else {
            return Err(
                Permanent("PagerDuty is not configured: set PAGERDUTY_TOKEN".into()).into(),
            );
        };
        // Runs left behind by jobs that are over can no longer finish.
        let closed = sync::close_abandoned(&ctx.db).await?;
        if closed > 0 {
            tracing::warn!(closed, "closed abandoned sync runs");
        }
        // One sync at a time: a tick that comes while the last sync still
        // runs (a long first sync, a slow API) steps aside instead of
        // doubling the load.
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
        let settings = &ctx.config.pagerduty;
        let kind = match self {
            Self::Full { days } => SyncKind::Full {
                days: days.unwrap_or(settings.sync_days),
            },
            Self::Service { service_id, since } => SyncKind::Service {
                id: service_id,
                since,
            },
            Self::Incremental if sync::incremental_ready(&ctx.db).await? => SyncKind::Incremental,
            Self::Incremental => SyncKind::Full {
                days: settings.sync_days,
            },
        };
        let mut opts = SyncOptions::new(kind, &ctx.job.trigger);
        opts.overlap = chrono::Duration::minutes(i64::from(settings.sync_overlap_minutes));
        opts.sla = ctx.config.sla.clone();
        opts.facts = ctx.config.analytics.facts.clone();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sync_arguments_read_as_they_were_stored() {
        let read = |v: serde_json::Value| serde_json::from_value::<SyncJob>(v);
        assert_eq!(read(json!({})).unwrap(), SyncJob::Incremental);
        assert_eq!(
            read(json!({"kind": "full", "days": 7})).unwrap(),
            SyncJob::Full { days: Some(7) }
        );
        assert_eq!(
            read(json!({"kind": "service", "service_id": "PS1"})).unwrap(),
            SyncJob::Service {
                service_id: "PS1".into(),
                since: None
            }
        );
        assert!(read(json!({"kind": "service"})).is_err());
        assert!(read(json!({"kind": "everything"})).is_err());
        assert!(read(json!({"kind": "full", "colour": "red"})).is_err());
        for job in [
            SyncJob::Incremental,
            SyncJob::Full { days: Some(3) },
            SyncJob::Service {
                service_id: "PS1".into(),
                since: None,
            },
        ] {
            assert_eq!(read(serde_json::to_value(&job).unwrap()).unwrap(), job);
        }
    }
}
