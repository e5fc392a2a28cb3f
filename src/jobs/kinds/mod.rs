//! Every kind of job, one type each with its arguments and its `run`
//! ([`super::BackgroundJob`]), and the dispatch from a claimed job's kind to
//! its type.

mod drift;
mod housekeeping;
mod notify;
mod prewarm;
mod report;
mod scheduled_reports;
mod sla;
mod sync;

pub use drift::AnalyticsDriftJob;
pub use housekeeping::{ReportExpiryJob, RetentionJob};
pub use notify::NotifyJob;
pub use prewarm::PrewarmJob;
pub use report::ReportJob;
pub use scheduled_reports::ScheduledReportsJob;
pub use sla::{SlaCheckJob, SlaRecomputeJob};
pub use sync::{SyncJob, request_sync};

use super::queue::NewJob;
use super::{BackgroundJob, JobCtx, JobKind, JobOutput, Permanent};

/// Reads the job's parameters as `J` and runs it; unreadable parameters
/// fail the job for good (retrying cannot fix them).
async fn run_as<J: BackgroundJob>(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
    let job: J = serde_json::from_value(ctx.params())
        .map_err(|e| Permanent(format!("bad {} parameters: {e}", J::KIND)))?;
    job.run(ctx).await
}

/// Runs a claimed job as the type its kind names.
pub(super) async fn run(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
    let Some(kind) = JobKind::parse(&ctx.job.kind) else {
        return Err(Permanent(format!("unknown job kind {:?}", ctx.job.kind)).into());
    };
    match kind {
        JobKind::Sync => run_as::<SyncJob>(ctx).await,
        JobKind::SlaCheck => run_as::<SlaCheckJob>(ctx).await,
        JobKind::Report => run_as::<ReportJob>(ctx).await,
        JobKind::Retention => run_as::<RetentionJob>(ctx).await,
        JobKind::ReportExpiry => run_as::<ReportExpiryJob>(ctx).await,
        JobKind::ScheduledReports => run_as::<ScheduledReportsJob>(ctx).await,
        JobKind::Notify => run_as::<NotifyJob>(ctx).await,
        JobKind::Prewarm => run_as::<PrewarmJob>(ctx).await,
        JobKind::SlaRecompute => run_as::<SlaRecomputeJob>(ctx).await,
        JobKind::AnalyticsDrift => run_as::<AnalyticsDriftJob>(ctx).await,
    }
}

/// The job a cron tick or `runJobNow` queues for a kind that needs no
/// arguments; `None` for the kinds that do (a report, an SLA recompute).
///
/// # Errors
/// Serialisation of plain data (never).
pub fn without_arguments(
    kind: JobKind,
    trigger: &str,
    max_attempts: i32,
) -> Result<Option<NewJob>, serde_json::Error> {
    let t = trigger;
    let m = max_attempts;
    Ok(Some(match kind {
        JobKind::Sync => NewJob::of(&SyncJob::Incremental, t, m)?,
        JobKind::SlaCheck => NewJob::of(&SlaCheckJob {}, t, m)?,
        JobKind::Retention => NewJob::of(&RetentionJob {}, t, m)?,
        JobKind::ReportExpiry => NewJob::of(&ReportExpiryJob {}, t, m)?,
        JobKind::ScheduledReports => NewJob::of(&ScheduledReportsJob {}, t, m)?,
        JobKind::Notify => NewJob::of(&NotifyJob {}, t, m)?,
        JobKind::Prewarm => NewJob::of(&PrewarmJob {}, t, m)?,
        JobKind::AnalyticsDrift => NewJob::of(&AnalyticsDriftJob::default(), t, m)?,
        JobKind::Report | JobKind::SlaRecompute => return Ok(None),
    }))
}
