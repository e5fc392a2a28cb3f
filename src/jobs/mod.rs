//! Background jobs. Long work never runs inside a request: it becomes a row
//! in the `jobs` table that any client can watch (`job(id)`, or the
//! `jobUpdated` subscription). Workers claim jobs atomically, heartbeat
//! while they run, report progress, and hand back what they could not
//! finish; a job whose worker died is re-queued by whoever notices first.
//! The scheduler only enqueues, once per cron tick across all replicas.

mod kinds;
pub mod queue;
pub mod scheduler;
mod worker;

use std::fmt;

pub use worker::{JobCtx, JobOutput, Runner};

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
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::Sync,
        JobKind::SlaCheck,
        JobKind::Report,
        JobKind::Retention,
        JobKind::ReportExpiry,
        JobKind::ScheduledReports,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Sync => "sync",
            JobKind::SlaCheck => "sla_check",
            JobKind::Report => "report",
            JobKind::Retention => "retention",
            JobKind::ReportExpiry => "report_expiry",
            JobKind::ScheduledReports => "scheduled_reports",
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

/// A failure that retrying cannot fix (bad parameters, a missing
/// configuration): the job fails at once instead of using its attempts.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Permanent(pub String);

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
