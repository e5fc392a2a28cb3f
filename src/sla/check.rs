//! The periodic breach check: one conditional update marks every overdue
//! target breached and one more every warning crossing; only the statement
//! that changed a row writes its notification, so two servers checking at
//! once notify once.

use super::*;

/// What one breach check did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub breached: usize,
    pub warned: usize,
}

/// How many targets one transaction of the breach check claims at most: a
/// backlog (a server that was down for a day) is worked through in
/// transactions of this size, so memory and lock time stay bounded.
pub(super) const CHECK_BATCH: u64 = 5_000;

/// The breach check: marks every overdue active target breached and every
/// warning crossing announced, and queues one notification for each. Rows
/// are claimed by conditional updates, at most [`CHECK_BATCH`] of each kind
/// per transaction, and their notifications are queued in the same
/// transaction, so a concurrent check on another server skips what this one
/// took and each breach or crossing is announced exactly once.
///
/// # Errors
/// Database errors only; batches committed before the error stand, and
/// nothing of the failed batch is changed.
#[tracing::instrument(skip_all, fields(now = %now))]
pub async fn check<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    settings: &SlaSettings,
    now: DateTime<Utc>,
) -> Result<CheckReport, DbErr> {
    check_in_batches(db, settings, now, CHECK_BATCH).await
}

/// [`check`] with transactions of at most `batch` targets of each kind
/// (tests use small ones).
///
/// # Errors
/// As [`check`].
pub async fn check_in_batches<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    settings: &SlaSettings,
    now: DateTime<Utc>,
    batch: u64,
) -> Result<CheckReport, DbErr> {
    let batch_size = batch.max(1);
    let mut report = CheckReport::default();
    loop {
        let txn = crate::db::begin_write(db).await?;
        let batch = check_batch(&txn, settings, now, batch_size).await?;
        txn.commit().await?;
        metrics::counter!(crate::telemetry::metrics::SLA_BREACHES).increment(batch.breached as u64);
        metrics::counter!(crate::telemetry::metrics::SLA_WARNINGS).increment(batch.warned as u64);
        report.breached += batch.breached;
        report.warned += batch.warned;
        let full = |n: usize| n as u64 >= batch_size;
        if !full(batch.breached) && !full(batch.warned) {
            return Ok(report);
        }
    }
}

/// Targets whose incident is not deleted. A deleted incident's SLA is no
/// longer watched: the check neither breaches nor warns it and the lists
/// leave it out (compliance already counts only incidents not deleted).
/// Its targets keep the state they had, should the incident come back.
pub(super) fn of_live_incidents() -> Expr {
    use incident_sla_target::Column as T;
    use sea_orm::sea_query::ExprTrait;
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(incident::Entity)
            .and_where(
                Expr::col((incident::Entity, incident::Column::Id))
                    .equals((incident_sla_target::Entity, T::IncidentId)),
            )
            .and_where(Expr::col((incident::Entity, incident::Column::DeletedAt)).is_not_null())
            .to_owned(),
    )
    .not()
}

/// `state = '…'`, the state written into the SQL rather than bound: the
/// partial indexes on open and on breached targets are only usable when the
/// planner sees the value (PostgreSQL's generic plans never do).
pub(super) fn state_is(s: State) -> Expr {
    use sea_orm::sea_query::ExprTrait;
    Expr::col((
        incident_sla_target::Entity,
        incident_sla_target::Column::State,
    ))
    .eq(Expr::cust(format!("'{}'", s.as_str())))
}

/// One transaction of [`check`]: claims up to `batch` overdue targets and
/// as many warning crossings, earliest first.
pub(super) async fn check_batch<C: ConnectionTrait>(
    txn: &C,
    settings: &SlaSettings,
    now: DateTime<Utc>,
    batch: u64,
) -> Result<CheckReport, DbErr> {
    use incident_sla_target::Column as T;
    let overdue = || {
        Condition::all()
            .add(state_is(State::Active))
            .add(T::Deadline.lte(now))
    };
    // A target past its deadline is a breach (in this batch or the next),
    // never also a warning.
    // A share already announced never is again, so a target whose next
    // warning a refresh did not move cannot be claimed twice, nor keep the
    // loop of batches going.
    let crossing = || {
        Condition::all()
            .add(state_is(State::Active))
            .add(T::NextWarningAt.lte(now))
            .add(T::NextWarningShare.is_not_null())
            .add(sea_orm::sea_query::ExprTrait::lt(
                Expr::col(T::WarnedShare),
                Expr::col(T::NextWarningShare),
            ))
            .add(
                Condition::any()
                    .add(T::Deadline.gt(now))
                    .add(T::Deadline.is_null()),
            )
    };
    // The claim repeats its condition outside the sub-select: a row another
    // check took meanwhile no longer matches and is skipped. Only the
    // sub-select leaves out deleted incidents: repeated outside, that
    // look-up ran for every overdue row of a backlog in every batch (a
    // backlog check of 250,000 targets took twice as long).
    let first = |condition: Condition, order: T| {
        Query::select()
            .column(T::Id)
            .from(incident_sla_target::Entity)
            .cond_where(condition.add(of_live_incidents()))
            .order_by(order, sea_orm::Order::Asc)
            .order_by(T::Id, sea_orm::Order::Asc)
            .limit(batch)
            .to_owned()
    };
    let breached = Query::update()
        .table(incident_sla_target::Entity)
        .value(T::State, State::Breached.as_str())
        .value(T::BreachedAt, Expr::col(T::Deadline))
        .value(T::BreachNotifiedAt, now)
        .value(T::UpdatedAt, now)
        .cond_where(overdue())
        .and_where(T::Id.in_subquery(first(overdue(), T::Deadline)))
        .returning(Query::returning().columns([
            T::Id,
            T::IncidentId,
            T::Target,
            T::PolicyName,
            T::Deadline,
        ]))
        .to_owned();
    let breached = txn.query_all(&breached).await?;
    let warned = Query::update()
        .table(incident_sla_target::Entity)
        .value(T::WarnedShare, Expr::col(T::NextWarningShare))
        .value(T::UpdatedAt, now)
        .cond_where(crossing())
        .and_where(T::Id.in_subquery(first(crossing(), T::NextWarningAt)))
        .returning(Query::returning().columns([
            T::Id,
            T::IncidentId,
            T::Target,
            T::PolicyName,
            T::Deadline,
            T::NextWarningShare,
        ]))
        .to_owned();
    let warned = txn.query_all(&warned).await?;

    let mut notes = Vec::new();
    let mut events = Vec::new();
    let mut rewarn = Vec::new();
    for (rows, kind) in [(&breached, "sla_breached"), (&warned, "sla_at_risk")] {
        for row in rows {
            let incident_id: String = row.try_get("", "incident_id")?;
            let target: String = row.try_get("", "target")?;
            let policy: String = row.try_get("", "policy_name")?;
            let deadline: Option<DateTime<Utc>> = row.try_get("", "deadline")?;
            let share: Option<f64> = if kind == "sla_at_risk" {
                row.try_get("", "next_warning_share")?
            } else {
                None
            };
            let (event, reason) = match share {
                Some(s) => ("warned", format!("{:.0}% of the target used", s * 100.0)),
                None => ("breached", "deadline passed".to_owned()),
            };
            events.push(sla_event::ActiveModel {
                incident_id: Set(incident_id.clone()),
                target: Set(Some(target.clone())),
                kind: Set(event.to_owned()),
                at: Set(if share.is_some() {
                    now
                } else {
                    deadline.unwrap_or(now)
                }),
                reason: Set(reason),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
            if share.is_some() {
                rewarn.push(incident_id.clone());
            }
            notes.push(notification::ActiveModel {
                kind: Set(kind.to_owned()),
                incident_id: Set(Some(incident_id.clone())),
                payload: Set(json!({
                    "kind": kind,
                    "incident_id": incident_id,
                    "target": target,
                    "policy": policy,
                    "deadline": deadline,
                    "share": share,
                })
                .to_string()),
                status: Set("pending".into()),
                attempts: Set(0),
                next_attempt_at: Set(now),
                last_error: Set(None),
                sent_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
    }
    for chunk in events.chunks(1000) {
        sla_event::Entity::insert_many(chunk.to_vec())
            .exec(txn)
            .await?;
    }
    for chunk in notes.chunks(1000) {
        notification::Entity::insert_many(chunk.to_vec())
            .exec(txn)
            .await?;
    }
    // The next warning of the targets just warned.
    rewarn.sort();
    rewarn.dedup();
    refresh(txn, settings, &rewarn, false, now).await?;
    Ok(CheckReport {
        breached: breached.len(),
        warned: warned.len(),
    })
}
