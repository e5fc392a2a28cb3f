//! Metrics over any set of incidents a caller selects by id (reports slice
//! incidents their own way), by the same SQL the analytics answers use.

use super::*;

/// Incidents of one status (and service), and the status they map to.
#[derive(Clone, Debug)]
pub struct StatusGroup {
    pub service: Option<String>,
    /// PagerDuty's status (`triggered`, `acknowledged`, `resolved`).
    pub status: String,
    /// What the status mapping makes of it; `None` when no mapping applies.
    pub mapped: Option<Mapped>,
    pub incidents: i64,
}

/// Groups the incidents `stmt` selects (a statement over `incidents`, its
/// filters set) by source, status and the status field's value, and maps
/// each group: the one reading of statuses analytics and reports share.
pub(super) async fn status_groups<C: ConnectionTrait>(
    db: &C,
    mapper: &Mapper,
    mut stmt: SelectStatement,
    by_service: bool,
) -> Result<Vec<StatusGroup>, DbErr> {
    stmt.expr_as(col(incident::Column::Source), Alias::new("source"))
        .expr_as(col(incident::Column::Status), Alias::new("status"))
        .expr_as(Func::count(Expr::val(1)), Alias::new("n"))
        .add_group_by([col(incident::Column::Source), col(incident::Column::Status)]);
    if by_service {
        stmt.expr_as(col(incident::Column::ServiceId), Alias::new("service_id"))
            .add_group_by([col(incident::Column::ServiceId)]);
    }
    let field_alias = Alias::new("status_field");
    if let Some(field) = &mapper.field {
        stmt.join_as(
            JoinType::LeftJoin,
            cf::Entity,
            field_alias.clone(),
            Condition::all()
                .add(
                    Expr::col((field_alias.clone(), cf::Column::IncidentId))
                        .equals((incident::Entity, incident::Column::Id)),
                )
                .add(Expr::col((field_alias.clone(), cf::Column::Name)).eq(field.clone())),
        )
        .expr_as(
            Expr::col((field_alias.clone(), cf::Column::ValueText)),
            Alias::new("field_value"),
        )
        .add_group_by([Expr::col((field_alias, cf::Column::ValueText))]);
    }
    let mut out = Vec::new();
    for row in db.query_all(&stmt).await? {
        let source: String = row.try_get("", "source")?;
        let status: String = row.try_get("", "status")?;
        let value: Option<String> = if mapper.field.is_some() {
            row.try_get("", "field_value")?
        } else {
            None
        };
        let service: Option<String> = if by_service {
            row.try_get("", "service_id")?
        } else {
            None
        };
        out.push(StatusGroup {
            service,
            mapped: mapper.map(&source, &status, value.as_deref()),
            status,
            incidents: get_i64(&row, "n")?,
        });
    }
    Ok(out)
}

/// Per service and status, the incidents whose ids `ids` selects, mapped
/// as analytics maps them.
///
/// # Errors
/// Database errors.
pub async fn service_statuses<C: ConnectionTrait>(
    db: &C,
    mapper: &Mapper,
    ids: SelectStatement,
) -> Result<Vec<StatusGroup>, DbErr> {
    let stmt = Query::select()
        .from(incident::Entity)
        .and_where(col(incident::Column::Id).in_subquery(ids))
        .to_owned();
    status_groups(db, mapper, stmt, true).await
}

/// Per service, what became of the incidents whose ids `ids` selects, by
/// the definitions of [`Analytics::summary`] (the SQL it uses): for
/// outputs that choose their incidents their own way, such as reports.
///
/// # Errors
/// Database errors.
pub async fn service_outcomes<C: ConnectionTrait>(
    db: &C,
    ids: SelectStatement,
) -> Result<HashMap<String, ServiceOutcome>, DbErr> {
    use incident::Column as I;
    let b = db.get_database_backend();
    let mut stmt = Query::select()
        .from(incident::Entity)
        .and_where(col(I::Id).in_subquery(ids))
        .and_where(col(I::ServiceId).is_not_null())
        .expr_as(col(I::ServiceId), Alias::new("service_id"))
        .expr_as(Func::count(Expr::val(1)), Alias::new("total"))
        .expr_as(
            Expr::cust(r#"CAST(COALESCE(SUM("incidents"."escalation_count"), 0) AS BIGINT)"#),
            Alias::new("escalations"),
        )
        .add_group_by([col(I::ServiceId)])
        .to_owned();
    add_outcome_counts(&mut stmt);
    add_mean_times(&mut stmt, b);
    let mut out = HashMap::new();
    for row in db.query_all(&stmt).await? {
        out.insert(
            row.try_get::<String>("", "service_id")?,
            ServiceOutcome {
                incidents: get_i64(&row, "total")?,
                acknowledged: get_i64(&row, "acknowledged")?,
                escalated: get_i64(&row, "escalated")?,
                escalations: get_i64(&row, "escalations")?,
                resolved: get_i64(&row, "resolved")?,
                mtta: get_f64(&row, "mtta")?,
                mttr: get_f64(&row, "mttr")?,
            },
        );
    }
    Ok(out)
}
