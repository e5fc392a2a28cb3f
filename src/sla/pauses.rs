//! Manual pauses and resumes, kept as history.

use super::*;

pub(super) async fn visible_incident<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    id: &str,
) -> Result<incident::Model, SlaError> {
    crate::incidents::find_live(db, scope, id)
        .await?
        .ok_or_else(|| SlaError::NotFound(format!("No incident with id {id:?}")))
}

/// Pauses an incident's open SLA clocks from `now`.
///
/// # Errors
/// Unknown incident, nothing open to pause, already paused, an empty reason.
pub async fn pause<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    settings: &SlaSettings,
    scope: &Scope,
    by: Option<i32>,
    incident_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), SlaError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(SlaError::BadInput(
            "a pause needs a reason of 1 to 500 characters".into(),
        ));
    }
    let i = visible_incident(db, scope, incident_id).await?;
    if i.status == "resolved" {
        return Err(SlaError::BadInput(format!(
            "incident {incident_id} is resolved: its clocks have stopped"
        )));
    }
    let txn = crate::db::begin_write(db).await?;
    let open = sla_pause::Entity::find()
        .filter(sla_pause::Column::IncidentId.eq(&i.id))
        .filter(sla_pause::Column::EndedAt.is_null())
        .one(&txn)
        .await?;
    if open.is_some() {
        return Err(SlaError::BadInput(format!(
            "the SLA of incident {incident_id} is already paused"
        )));
    }
    sla_pause::ActiveModel {
        incident_id: Set(i.id.clone()),
        started_at: Set(now),
        ended_at: Set(None),
        reason: Set(reason.to_owned()),
        paused_by_account_id: Set(by),
        resumed_by_account_id: Set(None),
        automatic: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    refresh(&txn, settings, std::slice::from_ref(&i.id), false, now).await?;
    note(&txn, &i.id, "paused", now, reason).await?;
    txn.commit().await?;
    Ok(())
}

/// Resumes an incident's paused SLA clocks at `now`.
///
/// # Errors
/// Unknown incident, or its SLA is not paused.
pub async fn resume<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    settings: &SlaSettings,
    scope: &Scope,
    by: Option<i32>,
    incident_id: &str,
    now: DateTime<Utc>,
) -> Result<(), SlaError> {
    let i = visible_incident(db, scope, incident_id).await?;
    let txn = crate::db::begin_write(db).await?;
    let Some(open) = sla_pause::Entity::find()
        .filter(sla_pause::Column::IncidentId.eq(&i.id))
        .filter(sla_pause::Column::EndedAt.is_null())
        .one(&txn)
        .await?
    else {
        return Err(SlaError::BadInput(format!(
            "the SLA of incident {incident_id} is not paused"
        )));
    };
    let mut m: sla_pause::ActiveModel = open.into();
    m.ended_at = Set(Some(now));
    m.resumed_by_account_id = Set(by);
    m.updated_at = Set(now);
    m.update(&txn).await?;
    refresh(&txn, settings, std::slice::from_ref(&i.id), false, now).await?;
    note(&txn, &i.id, "resumed", now, "resumed").await?;
    txn.commit().await?;
    Ok(())
}

/// Adds a timeline event for both targets (pause and resume reasons).
pub(super) async fn note<C: ConnectionTrait>(
    db: &C,
    incident_id: &str,
    kind: &str,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), DbErr> {
    // `refresh` already logged the state change; keep the person's reason.
    sla_event::Entity::update_many()
        .col_expr(sla_event::Column::Reason, Expr::value(reason.to_owned()))
        .filter(sla_event::Column::IncidentId.eq(incident_id))
        .filter(sla_event::Column::Kind.eq(kind))
        .filter(sla_event::Column::At.eq(at))
        .exec(db)
        .await?;
    Ok(())
}
