//! Re-evaluating SLAs by today's policies: the open ones after a policy or
//! calendar change, or every incident of a range in committed batches.

use super::*;

/// Re-evaluates every incident with an open target (after a policy change).
/// Re-evaluates the SLAs of every open incident by today's policies in one
/// transaction, as saving or deleting a policy does (`sla-recompute
/// --open`); closed targets keep the policy they were measured by. Returns
/// how many target rows were written.
///
/// # Errors
/// Database errors; nothing changes then.
pub async fn reevaluate_open_slas(
    db: &DatabaseConnection,
    settings: &SlaSettings,
) -> Result<usize, SlaError> {
    let txn = crate::db::begin_write(db).await?;
    let n = reevaluate_open(db, &txn, settings).await?;
    txn.commit().await?;
    Ok(n)
}

pub(super) async fn reevaluate_open(
    pool: &DatabaseConnection,
    txn: &DatabaseTransaction,
    settings: &SlaSettings,
) -> Result<usize, DbErr> {
    use sea_orm::QuerySelect;
    let ids: Vec<String> = incident::Entity::find()
        .select_only()
        .column(incident::Column::Id)
        .filter(incident::Column::DeletedAt.is_null())
        .filter(incident::Column::Status.ne("resolved"))
        .into_tuple()
        .all(txn)
        .await?;
    // Today's policies as this transaction sees them (the one being saved
    // included); the incidents themselves are read ahead on another
    // connection while the batch before is written.
    let cx = Context::load(txn, settings).await?;
    let mut batches = ids.chunks(RECOMPUTE_BATCH);
    let mut next = batches.next().map(|b| read_ahead(pool, settings, b));
    let mut written = 0;
    while let Some(reading) = next.take() {
        let read = reading
            .await
            .map_err(|e| DbErr::Custom(format!("reading a batch failed: {e}")))??;
        next = batches.next().map(|b| read_ahead(pool, settings, b));
        written += write_read_ahead(txn, settings, &cx, read, false).await?;
    }
    Ok(written)
}

/// Recomputes every incident created in `[from, to)`, closed ones included,
/// with today's policies (an admin's deliberate recompute), oldest first,
/// committing every [`RECOMPUTE_BATCH`] incidents. Returns how many target
/// rows it wrote (rows that came out as they stood are not rewritten).
/// `progress(done, total)` hears, in incidents, before the first batch and
/// as each batch commits (the last time at the end); answering `Break`
/// stops the recompute, and batches being written then roll back.
///
/// While a batch is computed and written, the next is read on another
/// connection of the pool (a spawned task), so the database's reading and
/// the process's own work overlap with the writing; on PostgreSQL two
/// batches are written at once, in transactions of their own. The write is
/// guarded: should another writer have refreshed an incident of the batch
/// after it was read, the batch is read again inside the writing
/// transaction. Each batch is measured at the moment it is written.
///
/// # Errors
/// A range that ends before it starts; database errors; `Stopped` when told
/// to. The batches committed before stand.
pub async fn recompute_range(
    db: &DatabaseConnection,
    settings: &SlaSettings,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    progress: impl FnMut(usize, usize) -> std::ops::ControlFlow<()>,
) -> Result<usize, SlaError> {
    recompute_range_in_batches(db, settings, from, to, RECOMPUTE_BATCH, progress).await
}

/// [`recompute_range`] with `batch` incidents per transaction.
///
/// # Errors
/// As [`recompute_range`]; a batch of no incidents is bad input.
pub async fn recompute_range_in_batches(
    db: &DatabaseConnection,
    settings: &SlaSettings,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    batch: usize,
    mut progress: impl FnMut(usize, usize) -> std::ops::ControlFlow<()>,
) -> Result<usize, SlaError> {
    use sea_orm::QuerySelect;
    if batch == 0 {
        return Err(SlaError::BadInput(
            "a batch needs at least one incident".into(),
        ));
    }
    if to <= from {
        return Err(SlaError::BadInput(
            "the range must end after it starts".into(),
        ));
    }
    let ids: Vec<String> = incident::Entity::find()
        .select_only()
        .column(incident::Column::Id)
        .filter(incident::Column::CreatedAt.gte(from))
        .filter(incident::Column::CreatedAt.lt(to))
        .order_by_asc(incident::Column::CreatedAt)
        .order_by_asc(incident::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    // Statistics for what earlier runs wrote, then again each time this
    // one has doubled what it wrote (PostgreSQL; see `db::analyze`).
    let tables = ["incident_sla_targets", "sla_events"];
    crate::db::analyze(db, &tables).await?;
    let cx = std::sync::Arc::new(Context::load(db, settings).await?);
    // A batch is read in a task of its own while the batches before it are
    // written. PostgreSQL writes two batches at once, each in its own
    // transaction (the incidents of two batches are disjoint, so they never
    // wait on each other, and one backend alone leaves a core idle); SQLite
    // has one writer. The oldest batches are let write, and are committed,
    // in order.
    let writers = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => RECOMPUTE_WRITERS,
        _ => 1,
    };
    let mut batches = ids.chunks(batch);
    let mut running = std::collections::VecDeque::new();
    let mut written = 0;
    let mut analyzed_at = 0;
    let mut done = 0;
    loop {
        let stop = progress(done, ids.len()).is_break();
        if done == ids.len() {
            break;
        }
        if stop {
            // Dropped, the batches still running roll back.
            return Err(SlaError::Stopped { done, written });
        }
        while running.len() <= writers {
            let Some(ids) = batches.next() else { break };
            running.push_back(recompute_batch(db, settings, &cx, ids));
        }
        for (_, go) in running.iter_mut().take(writers) {
            if let Some(go) = go.take() {
                let _ = go.send(());
            }
        }
        let Some((task, _)) = running.pop_front() else {
            break;
        };
        let (txn, n, w) = task
            .await
            .map_err(|e| DbErr::Custom(format!("recomputing a batch failed: {e}")))??;
        // Committed here, in order: a stop leaves exactly the oldest batches
        // written, and `done` counts them.
        txn.commit().await?;
        done += n;
        written += w;
        if written >= (2 * analyzed_at).max(20_000) {
            crate::db::analyze(db, &tables).await?;
            analyzed_at = written;
        }
    }
    Ok(written)
}

/// Reads what a refresh of `ids` needs in a spawned task, on a connection
/// of its own, while the caller writes the batch before. Dropped (a
/// recompute that fails or is stopped), the read stops.
pub(super) fn read_ahead(
    pool: &DatabaseConnection,
    settings: &SlaSettings,
    ids: &[String],
) -> tokio_util::task::AbortOnDropHandle<Result<(Loaded, Vec<String>), DbErr>> {
    let (db, field, ids) = (pool.clone(), settings.status_field.clone(), ids.to_vec());
    tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
        let loaded = load(&db, field.as_deref(), &ids).await?;
        Ok((loaded, ids))
    }))
}

/// Reads a batch of a recompute in a spawned task and, once told to go,
/// writes it in a transaction of its own, which it hands back uncommitted
/// with how many incidents the batch held and how many targets it wrote.
/// Dropped (a recompute that fails or is stopped), the task stops, and its
/// transaction rolls back.
pub(super) fn recompute_batch(
    pool: &DatabaseConnection,
    settings: &SlaSettings,
    cx: &std::sync::Arc<Context>,
    ids: &[String],
) -> (
    tokio_util::task::AbortOnDropHandle<Result<WrittenBatch, DbErr>>,
    Option<tokio::sync::oneshot::Sender<()>>,
) {
    let (go, told) = tokio::sync::oneshot::channel();
    let (db, settings, cx, ids) = (pool.clone(), settings.clone(), cx.clone(), ids.to_vec());
    let task = tokio::spawn(async move {
        let loaded = load(&db, settings.status_field.as_deref(), &ids).await?;
        let n = ids.len();
        told.await
            .map_err(|_| DbErr::Custom("the recompute stopped".into()))?;
        let txn = crate::db::begin_write(&db).await?;
        let written = write_read_ahead(&txn, &settings, &cx, (loaded, ids), true).await?;
        Ok((txn, n, written))
    });
    (tokio_util::task::AbortOnDropHandle::new(task), Some(go))
}

/// A batch of incidents read for a recompute and not yet written.
pub struct ReadBatch(Loaded, Vec<String>);

/// One step of a recompute, first half: reads what measuring `ids` needs.
/// A recompute does this on another connection while it writes the batch
/// before.
///
/// # Errors
/// Database errors.
pub async fn read_batch(
    db: &DatabaseConnection,
    settings: &SlaSettings,
    ids: &[String],
) -> Result<ReadBatch, SlaError> {
    let loaded = load(db, settings.status_field.as_deref(), ids).await?;
    Ok(ReadBatch(loaded, ids.to_vec()))
}

/// One step of a recompute, second half: measures, inside `txn`, a batch
/// read before by today's policies, closed targets included. An incident
/// some other writer refreshed since the read (a pause, a sync page) is not
/// overwritten from the older read: the batch is read again inside `txn`.
///
/// # Errors
/// Database errors; `txn` then holds nothing of the batch.
pub async fn write_batch(
    txn: &DatabaseTransaction,
    settings: &SlaSettings,
    batch: ReadBatch,
) -> Result<usize, SlaError> {
    let cx = Context::load(txn, settings).await?;
    Ok(write_read_ahead(txn, settings, &cx, (batch.0, batch.1), true).await?)
}

/// A batch of a recompute written and not yet committed: its transaction,
/// how many incidents it held, how many targets it wrote.
pub(super) type WrittenBatch = (DatabaseTransaction, usize, usize);

/// Computes and writes, inside `txn`, a batch read before.
///
/// The batch was read on another connection, before or outside this
/// transaction. Should another writer (a sync page, a webhook, a pause) have
/// refreshed one of its incidents since, the guarded write finds a target
/// changed since it was read and is rolled back to a savepoint, and the batch
/// is read again inside `txn` and written from there: fresher targets are
/// never overwritten from the older read. The clock is read here, at the
/// write, rather than passed in: a recompute runs for minutes, and a pause
/// or an acknowledgement read with the batch must never lie in the future
/// of the time it is measured at.
pub(super) async fn write_read_ahead(
    txn: &DatabaseTransaction,
    settings: &SlaSettings,
    cx: &Context,
    (loaded, ids): (Loaded, Vec<String>),
    rematch: bool,
) -> Result<usize, DbErr> {
    let attempt = crate::db::begin_write(txn).await?;
    if let Some(n) =
        apply_guarded(&attempt, settings, cx, loaded, rematch, Utc::now(), true).await?
    {
        attempt.commit().await?;
        return Ok(n);
    }
    attempt.rollback().await?;
    tracing::debug!(
        incidents = ids.len(),
        "SLA targets changed since their batch was read ahead; reading it again"
    );
    let loaded = load(txn, settings.status_field.as_deref(), &ids).await?;
    apply(txn, settings, cx, loaded, rematch, Utc::now()).await
}

/// Incidents per transaction of [`recompute_range`]: a recompute of a year
/// commits as it goes rather than holding one transaction over millions of
/// rows; a recompute that fails part-way is simply run again.
pub(super) const RECOMPUTE_BATCH: usize = 10_000;

/// How many batches of a recompute PostgreSQL writes at once, each in a
/// server process of its own.
pub(super) const RECOMPUTE_WRITERS: usize = 2;
