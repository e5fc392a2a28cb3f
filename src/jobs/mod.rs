//! Background jobs. Long work never runs inside a request: it becomes a row
//! in the `jobs` table that any client can watch (`job(id)`, or the
//! `jobUpdated` subscription). Workers claim jobs atomically, heartbeat
//! while they run, report progress, and hand back what they could not
//! finish; a job whose worker died is re-queued by whoever notices first.
//! The scheduler only enqueues, once per cron tick across all replicas.

pub mod kinds;
pub mod queue;
pub mod scheduler;
mod worker;

use std::fmt;
use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use kinds::request_sync;
pub use worker::{JobCtx, JobOutput, Runner};

/// A kind of job: its arguments are the type's fields (stored as the job's
/// JSON parameters), and `run` does the work. The worker reads the
/// parameters back into the type named by the job's kind
/// ([`kinds::run`]), so no job matches strings or builds JSON by hand.
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind stored with the job.
    const KIND: JobKind;

    fn run(self, ctx: &JobCtx) -> impl Future<Output = anyhow::Result<JobOutput>> + Send;
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Queued,
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "QUEUED",
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }
}

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// A PagerDuty sync (incremental unless the parameters say otherwise).
    Sync,
    /// The SLA breach and warning check.
    SlaCheck,
    /// An XLSX or CSV report.
    Report,
    /// Deletes finished jobs, expired sessions and (when configured) old
    /// resolved incidents.
    Retention,
    /// Deletes report files whose retention ended.
    ReportExpiry,
    /// Enqueues the scheduled reports that are due.
    ScheduledReports,
    /// Sends the notification outbox (SLA breaches and warnings).
    Notify,
    /// Computes the standard dashboard analytics into the cache.
    Prewarm,
    /// Recomputes the SLAs of a range of incidents (`startSlaRecompute`).
    SlaRecompute,
    /// Compares PagerDuty's raw incident analytics with pagerlens's and
    /// stores the report (`analyticsDrift`).
    AnalyticsDrift,
}

impl JobKind {
    pub const ALL: [JobKind; 10] = [
        JobKind::Sync,
        JobKind::SlaCheck,
        JobKind::Report,
        JobKind::Retention,
        JobKind::ReportExpiry,
        JobKind::ScheduledReports,
        JobKind::Notify,
        JobKind::Prewarm,
        JobKind::SlaRecompute,
        JobKind::AnalyticsDrift,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Sync => "sync",
            JobKind::SlaCheck => "sla_check",
            JobKind::Report => "report",
            JobKind::Retention => "retention",
            JobKind::ReportExpiry => "report_expiry",
            JobKind::ScheduledReports => "scheduled_reports",
            JobKind::Notify => "notify",
            JobKind::Prewarm => "prewarm",
            JobKind::SlaRecompute => "sla_recompute",
            JobKind::AnalyticsDrift => "analytics_drift",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `caller` may see (and cancel, and download the file of) a job:
/// the account that asked for it, or an admin.
pub fn may_see(job: &crate::entities::job::Model, caller: &crate::auth::Caller) -> bool {
    caller.allows(crate::auth::Role::Admin) || job.requested_by == Some(caller.account.id)
}

/// Whether a job's file is gone: deleted, or past its retention.
pub fn file_expired(job: &crate::entities::job::Model, now: chrono::DateTime<chrono::Utc>) -> bool {
    job.file_deleted_at.is_some() || job.file_expires_at.is_some_and(|e| e <= now)
}

/// A job's file under the report directory; `None` for a stored path that
/// would leave it (absolute, or with `..`).
pub fn report_file(dir: &std::path::Path, relative: &str) -> Option<std::path::PathBuf> {
    let rel = std::path::Path::new(relative);
    let inside = !rel.is_absolute()
        && rel.components().next().is_some()
        && rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    inside.then(|| dir.join(rel))
}

/// A failure that retrying cannot fix (bad parameters, a missing
/// configuration): the job fails at once instead of using its attempts.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Permanent(pub String);

impl queue::NewJob {
    /// A job to queue: `job`'s kind and arguments, run at most
    /// `max_attempts` times.
    ///
    /// # Errors
    /// The arguments do not serialise (they always do: plain data).
    pub fn of<J: BackgroundJob>(
        job: &J,
        trigger: &str,
        max_attempts: i32,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            kind: J::KIND,
            params: serde_json::to_value(job)?,
            trigger: trigger.to_owned(),
            requested_by: None,
            dedupe_key: None,
            max_attempts,
        })
    }

    /// The same, asked for by this account.
    pub fn by(mut self, account: i32) -> Self {
        self.requested_by = Some(account);
        self
    }

    /// The same, queued at most once for this key (a cron tick).
    pub fn once(mut self, key: String) -> Self {
        self.dedupe_key = Some(key);
        self
    }
}

/// Why a job could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    #[error("{0}")]
    BadInput(String),
    #[error("no job {0}")]
    NotFound(i32),
}

#[cfg(test)]
mod tests {
    use super::report_file;
    use std::path::Path;

    #[test]
    fn report_files_stay_inside_the_report_directory() {
        let dir = Path::new("reports");
        assert_eq!(
            report_file(dir, "job-1-incidents.csv"),
            Some(dir.join("job-1-incidents.csv"))
        );
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", "./x", ""] {
            assert_eq!(report_file(dir, bad), None, "{bad:?}");
        }
    }
}
