//! The queue itself: enqueue, claim, heartbeat, progress, finish, retry,
//! cancel, stall recovery and retention. Every state change is one
//! conditional statement, so two workers (or two servers) never own one job.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{JobKind, Status};
use crate::entities::{job, job_log};
use crate::paging::{Page, PageRequest, fetch_page};
use crate::reports::FileInfo;

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: JobKind,
    pub params: serde_json::Value,
    /// `api`, `schedule` or `cli`.
    pub trigger: String,
    pub requested_by: Option<i32>,
    /// Set for cron ticks: a second enqueue with the same key does nothing.
    pub dedupe_key: Option<String>,
    pub max_attempts: i32,
}

/// Adds a job to the queue. `None` when a job with the same `dedupe_key`
/// already exists (another replica enqueued this tick first).
///
/// # Errors
/// Database errors.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    new: NewJob,
    now: DateTime<Utc>,
) -> Result<Option<job::Model>, DbErr> {
    let row = job::ActiveModel {
        kind: Set(new.kind.as_str().to_owned()),
        params: Set(new.params.to_string()),
        status: Set(Status::Queued.as_str().to_owned()),
        progress: Set(0),
        trigger: Set(new.trigger),
        requested_by: Set(new.requested_by),
        attempts: Set(0),
        max_attempts: Set(std::cmp::Ord::max(new.max_attempts, 1)),
        dedupe_key: Set(new.dedupe_key),
        cancel_requested: Set(false),
        run_after: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let inserted = job::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(job::Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_with_returning(db)
        .await;
    match inserted {
        Ok(m) => Ok(Some(m)),
        // Nothing inserted: the key exists (sea-orm reports it either way).
        Err(DbErr::RecordNotInserted | DbErr::RecordNotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Claims the oldest due job for `worker`: `FOR UPDATE SKIP LOCKED` on
/// PostgreSQL, a conditional update on SQLite (which serialises writers).
///
/// # Errors
/// Database errors.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<Option<job::Model>, DbErr> {
    use job::Column as J;
    let next = Query::select()
        .column(J::Id)
        .from(job::Entity)
        .and_where(J::Status.eq(Status::Queued.as_str()))
        .and_where(J::RunAfter.lte(now))
        .order_by(J::RunAfter, sea_orm::Order::Asc)
        .order_by(J::Id, sea_orm::Order::Asc)
        .limit(1)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let claimed = job::Entity::update_many()
        .col_expr(J::Status, Expr::value(Status::Running.as_str()))
        .col_expr(J::Worker, Expr::value(worker))
        .col_expr(J::Attempts, Expr::col(J::Attempts).add(1))
        .col_expr(J::StartedAt, Expr::value(now))
        .col_expr(J::HeartbeatAt, Expr::value(now))
        .col_expr(J::UpdatedAt, Expr::value(now))
        .col_expr(J::Progress, Expr::value(0))
        // `id = (scalar subquery)`, evaluated once. (`id IN (…)` would let
        // PostgreSQL re-run the SKIP LOCKED subquery per row and claim many.)
        .filter(Expr::col(J::Id).eq(Expr::SubQuery(None, Box::new(next.into()))))
        .filter(J::Status.eq(Status::Queued.as_str()))
        .exec_with_returning(db)
        .await?;
    Ok(claimed.into_iter().next())
}

/// What a heartbeat learned about the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Beat {
    /// Keep going.
    Continue,
    /// Someone asked to cancel it.
    CancelRequested,
    /// The job is no longer this worker's (it was re-queued after a stall).
    Lost,
}

/// Records a heartbeat and, when given, the progress and message. Returns
/// whether to go on.
///
/// # Errors
/// Database errors (the caller logs them and goes on: a failing progress
/// update never fails the job).
pub async fn beat<C: ConnectionTrait>(
    db: &C,
    id: i32,
    worker: &str,
    progress: Option<(i32, Option<String>)>,
    now: DateTime<Utc>,
) -> Result<Beat, DbErr> {
    use job::Column as J;
    let mut update = job::Entity::update_many()
        .col_expr(J::HeartbeatAt, Expr::value(now))
        .filter(J::Id.eq(id))
        .filter(J::Worker.eq(worker))
        .filter(J::Status.eq(Status::Running.as_str()));
    if let Some((pct, message)) = progress {
        update = update
            .col_expr(J::Progress, Expr::value(pct.clamp(0, 100)))
            .col_expr(J::Message, Expr::value(message))
            .col_expr(J::UpdatedAt, Expr::value(now));
    }
    let rows = update.exec_with_returning(db).await?;
    Ok(match rows.first() {
        None => Beat::Lost,
        Some(j) if j.cancel_requested => Beat::CancelRequested,
        Some(_) => Beat::Continue,
    })
}

/// How a run ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Succeeded {
        result: serde_json::Value,
        message: Option<String>,
        file: Option<FileInfo>,
    },
    Cancelled,
    /// Stopped at shutdown: back in the queue, without using an attempt.
    HandedBack,
    /// Failed; `retry_at` re-queues it (attempts remain), `None` fails it.
    Failed {
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Ends this worker's run of a job. `false` when the job was no longer this
/// worker's (nothing is changed then).
///
/// # Errors
/// Database errors.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    id: i32,
    worker: &str,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use job::Column as J;
    let mut update = job::Entity::update_many()
        .col_expr(J::UpdatedAt, Expr::value(now))
        .filter(J::Id.eq(id))
        .filter(J::Worker.eq(worker))
        .filter(J::Status.eq(Status::Running.as_str()));
    update = match outcome {
        Outcome::Succeeded {
            result,
            message,
            file,
        } => {
            let mut u = update
                .col_expr(J::Status, Expr::value(Status::Succeeded.as_str()))
                .col_expr(J::Progress, Expr::value(100))
                .col_expr(J::Result, Expr::value(result.to_string()))
                .col_expr(J::Error, Expr::value(Option::<String>::None))
                .col_expr(J::FinishedAt, Expr::value(now));
            if let Some(m) = message {
                u = u.col_expr(J::Message, Expr::value(m));
            }
            if let Some(f) = file {
                u = u
                    .col_expr(J::FilePath, Expr::value(f.path))
                    .col_expr(J::FileName, Expr::value(f.name))
                    .col_expr(J::ContentType, Expr::value(f.content_type))
                    .col_expr(J::FileBytes, Expr::value(f.bytes))
                    .col_expr(J::FileExpiresAt, Expr::value(f.expires_at));
            }
            u
        }
        Outcome::Cancelled => update
            .col_expr(J::Status, Expr::value(Status::Cancelled.as_str()))
            .col_expr(J::Message, Expr::value("cancelled"))
            .col_expr(J::FinishedAt, Expr::value(now)),
        Outcome::HandedBack => update
            .col_expr(J::Status, Expr::value(Status::Queued.as_str()))
            .col_expr(J::Worker, Expr::value(Option::<String>::None))
            .col_expr(J::Attempts, Expr::col(J::Attempts).sub(1))
            .col_expr(J::RunAfter, Expr::value(now))
            .col_expr(
                J::Message,
                Expr::value("handed back at shutdown; waiting for a worker"),
            ),
        Outcome::Failed {
            error,
            retry_at: Some(at),
        } => update
            .col_expr(J::Status, Expr::value(Status::Queued.as_str()))
            .col_expr(J::Worker, Expr::value(Option::<String>::None))
            .col_expr(
                J::Message,
                Expr::value(format!("will retry at {}", at.to_rfc3339())),
            )
            .col_expr(J::Error, Expr::value(error))
            .col_expr(J::RunAfter, Expr::value(at)),
        Outcome::Failed {
            error,
            retry_at: None,
        } => update
            .col_expr(J::Status, Expr::value(Status::Failed.as_str()))
            .col_expr(J::Error, Expr::value(error))
            .col_expr(J::FinishedAt, Expr::value(now)),
    };
    Ok(update.exec(db).await?.rows_affected > 0)
}

/// The delay before attempt `attempts + 1`: 10 s, 20 s, 40 s, … capped at
/// 10 minutes.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 16) - 1;
    Duration::seconds(std::cmp::Ord::min(10i64 << exp, 600))
}

/// What [`cancel`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancel {
    /// It had not started: it is cancelled.
    Cancelled,
    /// It is running: its worker was asked to stop.
    Requested,
    /// It had already finished; nothing changed.
    AlreadyFinished,
}

/// Cancels a queued job at once, or asks a running one's worker to stop.
///
/// # Errors
/// Database errors.
pub async fn cancel<C: ConnectionTrait>(
    db: &C,
    id: i32,
    now: DateTime<Utc>,
) -> Result<Cancel, DbErr> {
    use job::Column as J;
    let queued = job::Entity::update_many()
        .col_expr(J::Status, Expr::value(Status::Cancelled.as_str()))
        .col_expr(J::CancelRequested, Expr::value(true))
        .col_expr(J::Message, Expr::value("cancelled before it started"))
        .col_expr(J::FinishedAt, Expr::value(now))
        .col_expr(J::UpdatedAt, Expr::value(now))
        .filter(J::Id.eq(id))
        .filter(J::Status.eq(Status::Queued.as_str()))
        .exec(db)
        .await?;
    if queued.rows_affected > 0 {
        return Ok(Cancel::Cancelled);
    }
    let running = job::Entity::update_many()
        .col_expr(J::CancelRequested, Expr::value(true))
        .col_expr(J::Message, Expr::value("cancelling"))
        .col_expr(J::UpdatedAt, Expr::value(now))
        .filter(J::Id.eq(id))
        .filter(J::Status.eq(Status::Running.as_str()))
        .exec(db)
        .await?;
    Ok(if running.rows_affected > 0 {
        Cancel::Requested
    } else {
        Cancel::AlreadyFinished
    })
}

/// What [`recover_stalled`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    pub requeued: Vec<i32>,
    pub failed: Vec<i32>,
    pub cancelled: Vec<i32>,
}

/// Jobs whose worker stopped heartbeating for `stall_timeout`: re-queued
/// while attempts remain, failed (saying why) once they are used up, and
/// cancelled when a cancel was asked for.
///
/// # Errors
/// Database errors.
pub async fn recover_stalled<C: ConnectionTrait>(
    db: &C,
    stall_timeout: Duration,
    now: DateTime<Utc>,
) -> Result<Recovered, DbErr> {
    use job::Column as J;
    let cutoff = now - stall_timeout;
    let stalled = || {
        job::Entity::update_many()
            .col_expr(J::UpdatedAt, Expr::value(now))
            .col_expr(J::Worker, Expr::value(Option::<String>::None))
            .filter(J::Status.eq(Status::Running.as_str()))
            .filter(J::HeartbeatAt.lt(cutoff))
    };
    let secs = stall_timeout.num_seconds();
    let ids = |rows: Vec<job::Model>| rows.into_iter().map(|j| j.id).collect::<Vec<_>>();
    let cancelled = stalled()
        .col_expr(J::Status, Expr::value(Status::Cancelled.as_str()))
        .col_expr(
            J::Message,
            Expr::value("cancelled (its worker had stopped)"),
        )
        .col_expr(J::FinishedAt, Expr::value(now))
        .filter(J::CancelRequested.eq(true))
        .exec_with_returning(db)
        .await?;
    let requeued = stalled()
        .col_expr(J::Status, Expr::value(Status::Queued.as_str()))
        .col_expr(
            J::Message,
            Expr::value(format!(
                "re-queued: its worker stopped responding (no heartbeat for {secs} s)"
            )),
        )
        .filter(Expr::col(J::Attempts).lt(Expr::col(J::MaxAttempts)))
        .exec_with_returning(db)
        .await?;
    let failed = stalled()
        .col_expr(J::Status, Expr::value(Status::Failed.as_str()))
        .col_expr(J::FinishedAt, Expr::value(now))
        .col_expr(
            J::Error,
            Expr::value(format!(
                "its worker stopped responding (no heartbeat for {secs} s) on every attempt; no attempts left"
            )),
        )
        .exec_with_returning(db)
        .await?;
    Ok(Recovered {
        requeued: ids(requeued),
        failed: ids(failed),
        cancelled: ids(cancelled),
    })
}

/// Appends a log line to a job.
///
/// # Errors
/// Database errors.
pub async fn log<C: ConnectionTrait>(
    db: &C,
    id: i32,
    level: &str,
    line: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    job_log::Entity::insert(job_log::ActiveModel {
        job_id: Set(id),
        at: Set(now),
        level: Set(level.to_owned()),
        line: Set(line.chars().take(2000).collect()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A job's log lines, oldest first (at most the last `limit`).
///
/// # Errors
/// Database errors.
pub async fn logs<C: ConnectionTrait>(
    db: &C,
    id: i32,
    limit: u64,
) -> Result<Vec<job_log::Model>, DbErr> {
    let mut lines = job_log::Entity::find()
        .filter(job_log::Column::JobId.eq(id))
        .order_by_desc(job_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    lines.reverse();
    Ok(lines)
}

/// One job.
///
/// # Errors
/// Database errors.
pub async fn find<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<job::Model>, DbErr> {
    job::Entity::find_by_id(id).one(db).await
}

/// Which jobs to list.
#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    pub kinds: Vec<JobKind>,
    pub statuses: Vec<Status>,
    /// Only these requesters' jobs.
    pub requested_by: Option<i32>,
}

/// Jobs, newest first.
///
/// # Errors
/// Database errors.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &JobFilter,
    page: PageRequest,
) -> Result<Page<job::Model>, DbErr> {
    use job::Column as J;
    let mut select = job::Entity::find()
        .order_by_desc(J::CreatedAt)
        .order_by_desc(J::Id);
    if !filter.kinds.is_empty() {
        select = select.filter(J::Kind.is_in(filter.kinds.iter().map(|k| k.as_str())));
    }
    if !filter.statuses.is_empty() {
        select = select.filter(J::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(by) = filter.requested_by {
        select = select.filter(J::RequestedBy.eq(by));
    }
    fetch_page(db, select, page).await
}

/// The latest job of each kind that was started by a schedule or by hand
/// (for the `schedules` overview).
///
/// # Errors
/// Database errors.
pub async fn latest_of_kind<C: ConnectionTrait>(
    db: &C,
    kind: JobKind,
) -> Result<Option<job::Model>, DbErr> {
    job::Entity::find()
        .filter(job::Column::Kind.eq(kind.as_str()))
        .order_by_desc(job::Column::CreatedAt)
        .order_by_desc(job::Column::Id)
        .one(db)
        .await
}

/// Another running job of `kind` than `id`, if any.
///
/// # Errors
/// Database errors.
pub async fn running_other<C: ConnectionTrait>(
    db: &C,
    kind: JobKind,
    id: i32,
) -> Result<Option<i32>, DbErr> {
    job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::Kind.eq(kind.as_str()))
        .filter(job::Column::Status.eq(Status::Running.as_str()))
        .filter(job::Column::Id.ne(id))
        .into_tuple::<i32>()
        .one(db)
        .await
}

/// Deletes finished jobs (and their log lines) that finished before
/// `cutoff`, returning the report files they held so the caller can remove
/// them.
///
/// # Errors
/// Database errors.
pub async fn purge_finished<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
) -> Result<(u64, Vec<String>), DbErr> {
    use job::Column as J;
    let finished = [
        Status::Succeeded.as_str(),
        Status::Failed.as_str(),
        Status::Cancelled.as_str(),
    ];
    let files: Vec<String> = job::Entity::find()
        .select_only()
        .column(J::FilePath)
        .filter(J::Status.is_in(finished))
        .filter(J::FinishedAt.lt(cutoff))
        .filter(J::FilePath.is_not_null())
        .filter(J::FileDeletedAt.is_null())
        .into_tuple::<Option<String>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    let old = Query::select()
        .column(J::Id)
        .from(job::Entity)
        .and_where(J::Status.is_in(finished))
        .and_where(J::FinishedAt.lt(cutoff))
        .to_owned();
    job_log::Entity::delete_many()
        .filter(job_log::Column::JobId.in_subquery(old))
        .exec(db)
        .await?;
    let deleted = job::Entity::delete_many()
        .filter(J::Status.is_in(finished))
        .filter(J::FinishedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok((deleted.rows_affected, files))
}

/// Report files whose retention ended and that still exist: `(job id, path)`.
///
/// # Errors
/// Database errors.
pub async fn expired_files<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<Vec<(i32, String)>, DbErr> {
    use job::Column as J;
    Ok(job::Entity::find()
        .select_only()
        .column(J::Id)
        .column(J::FilePath)
        .filter(J::FileExpiresAt.lte(now))
        .filter(J::FileDeletedAt.is_null())
        .filter(J::FilePath.is_not_null())
        .into_tuple::<(i32, Option<String>)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(id, p)| p.map(|p| (id, p)))
        .collect())
}

/// Marks a job's file as deleted.
///
/// # Errors
/// Database errors.
pub async fn mark_file_deleted<C: ConnectionTrait>(
    db: &C,
    id: i32,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    job::Entity::update_many()
        .col_expr(job::Column::FileDeletedAt, Expr::value(now))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
