//! The record of each run (`sync_runs`): started, queued by a job,
//! adopted by it, closed when abandoned, listed.

use chrono::{DateTime, Utc};

use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};

use super::*;

/// Records a run as started (status `running`) and returns it.
///
/// # Errors
/// Database errors.
pub async fn start(db: &DatabaseConnection, opts: &SyncOptions) -> Result<sync_run::Model, Error> {
    Ok(new_run(&opts.kind, &opts.trigger, "running", opts.job_id)
        .insert(db)
        .await?)
}

/// A run record, started now. Whole seconds: PagerDuty's timestamps have
/// none finer, and the window bounds sent in queries must equal the
/// watermark stored.
pub(super) fn new_run(
    kind: &SyncKind,
    trigger: &str,
    status: &str,
    job_id: Option<i32>,
) -> sync_run::ActiveModel {
    let started = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    sync_run::ActiveModel {
        kind: Set(kind.name().to_owned()),
        trigger: Set(trigger.to_owned()),
        status: Set(status.to_owned()),
        parameters: Set(Some(format!("{kind:?}"))),
        started_at: Set(started),
        api_calls: Set(0),
        retries: Set(0),
        rate_limited: Set(0),
        rate_limit_wait_ms: Set(0),
        skipped: Set(0),
        job_id: Set(job_id),
        created_at: Set(started),
        updated_at: Set(started),
        ..Default::default()
    }
}

/// Records a sync asked for through the job queue (`startSync`) as
/// `queued`, to be taken over by its job when it starts ([`adopt`]).
///
/// # Errors
/// Database errors.
pub async fn record_queued<C: sea_orm::ConnectionTrait>(
    db: &C,
    kind: &SyncKind,
    trigger: &str,
    job_id: i32,
) -> Result<sync_run::Model, sea_orm::DbErr> {
    new_run(kind, trigger, "queued", Some(job_id))
        .insert(db)
        .await
}

/// The run of `opts.job_id`, now started: status `running`, started now,
/// with the kind the job resolved. That is the run `startSync` recorded as
/// `queued`, or else the one an earlier attempt of the job started before
/// its server died (so the run the client was given goes on). Any other run
/// still open for the job is closed as abandoned. `None` when the job has
/// none (a scheduled sync), and [`start`] records one.
///
/// # Errors
/// Database errors.
pub async fn adopt(
    db: &DatabaseConnection,
    opts: &SyncOptions,
) -> Result<Option<sync_run::Model>, sea_orm::DbErr> {
    let Some(job) = opts.job_id else {
        return Ok(None);
    };
    let open = sync_run::Entity::find()
        .filter(sync_run::Column::JobId.eq(job))
        .filter(sync_run::Column::Status.is_in(["queued", "running"]))
        .order_by_asc(sync_run::Column::Id)
        .all(db)
        .await?;
    let Some(chosen) = open
        .iter()
        .find(|r| r.status == "queued")
        .or_else(|| open.first())
        .cloned()
    else {
        return Ok(None);
    };
    let others: Vec<i32> = open
        .iter()
        .map(|r| r.id)
        .filter(|id| *id != chosen.id)
        .collect();
    if !others.is_empty() {
        close_runs(db, sync_run::Column::Id.is_in(others), ABANDONED).await?;
    }
    let started = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    let mut am: sync_run::ActiveModel = chosen.into();
    am.status = Set("running".into());
    am.kind = Set(opts.kind.name().to_owned());
    am.parameters = Set(Some(format!("{:?}", opts.kind)));
    am.started_at = Set(started);
    am.updated_at = Set(started);
    Ok(Some(am.update(db).await?))
}

pub(super) const ABANDONED: &str =
    "abandoned: its job ended, or started again, before this run finished";

/// Marks the runs matching `which` failed, saying `reason`; how many.
pub(super) async fn close_runs(
    db: &DatabaseConnection,
    which: impl sea_orm::sea_query::IntoCondition,
    reason: &str,
) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::sea_query::Expr;
    let now = Utc::now();
    Ok(sync_run::Entity::update_many()
        .col_expr(sync_run::Column::Status, Expr::value("failed"))
        .col_expr(sync_run::Column::Error, Expr::value(reason))
        .col_expr(sync_run::Column::FinishedAt, Expr::value(now))
        .col_expr(sync_run::Column::UpdatedAt, Expr::value(now))
        .filter(which)
        .exec(db)
        .await?
        .rows_affected)
}

/// Closes the runs still open for `job`, which will not run them (`reason`
/// says why: skipped, or failed before it started), as failed.
///
/// # Errors
/// Database errors.
pub async fn close_runs_of_job(
    db: &DatabaseConnection,
    job: i32,
    reason: &str,
) -> Result<u64, sea_orm::DbErr> {
    close_runs(
        db,
        sea_orm::Condition::all()
            .add(sync_run::Column::JobId.eq(job))
            .add(sync_run::Column::Status.is_in(["queued", "running"])),
        reason,
    )
    .await
}

/// Closes, as abandoned, the runs still `queued` or `running` whose job is
/// over (cancelled before it started, or failed) and so can no longer
/// finish them. Returns how many it closed.
///
/// # Errors
/// Database errors.
pub async fn close_abandoned(db: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    use crate::entities::job as jobs;
    use sea_orm::sea_query::Query;
    let over = Query::select()
        .column(jobs::Column::Id)
        .from(jobs::Entity)
        .and_where(jobs::Column::Status.is_in(["SUCCEEDED", "FAILED", "CANCELLED"]))
        .to_owned();
    close_runs(
        db,
        sea_orm::Condition::all()
            .add(sync_run::Column::Status.is_in(["queued", "running"]))
            .add(sync_run::Column::JobId.in_subquery(over)),
        ABANDONED,
    )
    .await
}

/// Sync runs, newest first.
///
/// # Errors
/// Database errors.
pub async fn list_runs(
    db: &DatabaseConnection,
    page: crate::paging::PageRequest,
) -> Result<crate::paging::Page<sync_run::Model>, sea_orm::DbErr> {
    crate::paging::fetch_page(
        db,
        sync_run::Entity::find().order_by_desc(sync_run::Column::Id),
        page,
    )
    .await
}

/// The most recent sync run.
///
/// # Errors
/// Database errors.
pub async fn last_run(db: &DatabaseConnection) -> Result<Option<sync_run::Model>, sea_orm::DbErr> {
    sync_run::Entity::find()
        .order_by_desc(sync_run::Column::Id)
        .one(db)
        .await
}

/// True when an incremental sync can run: a sync has succeeded and one has
/// stored a watermark. A first full sync that failed part-way has stored
/// one without fetching everything (custom fields and on-call entries come
/// last), so it is run again in full.
///
/// # Errors
/// Database errors.
pub async fn incremental_ready(db: &DatabaseConnection) -> Result<bool, sea_orm::DbErr> {
    let watermark = sync_state::Entity::find_by_id(WATERMARK_KEY)
        .one(db)
        .await?
        .is_some_and(|s| s.watermark.is_some());
    Ok(watermark
        && sync_run::Entity::find()
            .filter(sync_run::Column::Status.eq("succeeded"))
            .one(db)
            .await?
            .is_some())
}
