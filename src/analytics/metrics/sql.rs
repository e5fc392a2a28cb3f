//! The SQL pieces the metrics are built from: portable expressions for
//! epochs and durations, outcome counts, the scope and filter condition.

use super::*;

pub(super) fn col(c: incident::Column) -> Expr {
    Expr::col((incident::Entity, c))
}

/// Epoch seconds of `incidents.created_at`, truncated to whole seconds on
/// both databases (17:59:59.6 is before 18:00). Cheap forms:
/// PostgreSQL's `EXTRACT` returns `numeric`, whose arithmetic made the
/// business-hours test half the cost of a summary; `date_part` returns a
/// double. SQLite's `unixepoch` reads the text once; `strftime('%s')`
/// formats a string to be parsed again.
pub(super) fn epoch(backend: DatabaseBackend) -> Expr {
    match backend {
        DatabaseBackend::Postgres => {
            Expr::cust(r#"CAST(floor(date_part('epoch', "incidents"."created_at")) AS BIGINT)"#)
        }
        _ => Expr::cust(r#"unixepoch("incidents"."created_at")"#),
    }
}

/// Seconds from `incidents.created_at` to `incidents.<to>` (a real number).
pub(super) fn secs_to(backend: DatabaseBackend, to: &str) -> Expr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust(format!(
            r#"date_part('epoch', "incidents"."{to}" - "incidents"."created_at")"#
        )),
        // Milliseconds exact: a difference of Julian days is not (a 300 s
        // wait read as 299.99998 s).
        _ => Expr::cust(format!(
            r#"(unixepoch("incidents"."{to}", 'subsec') - unixepoch("incidents"."created_at", 'subsec'))"#
        )),
    }
}

/// Local epoch seconds of `created_at` in the period's time zone.
pub(crate) fn local_epoch(backend: DatabaseBackend, p: &Params) -> Expr {
    let segs = tz::offset_segments(p.tz, p.from, p.to);
    let offset: Expr = if segs.len() == 1 {
        Expr::val(i64::from(segs[0].1))
    } else {
        let mut case = Expr::case(
            col(incident::Column::CreatedAt).lt(segs[1].0),
            i64::from(segs[0].1),
        );
        for w in segs.windows(2).skip(1) {
            case = case.case(
                col(incident::Column::CreatedAt).lt(w[1].0),
                i64::from(w[0].1),
            );
        }
        case.finally(i64::from(segs[segs.len() - 1].1)).into()
    };
    epoch(backend).add(offset)
}

/// `COALESCE(SUM(CASE WHEN cond THEN 1 ELSE 0 END), 0)`.
pub(super) fn count_when(cond: Expr) -> Expr {
    Func::coalesce([
        Func::sum(Expr::case(cond, 1).finally(0)).into(),
        Expr::val(0),
    ])
    .into()
}

/// The `acknowledged`, `escalated` and `resolved` counts (see the
/// module's definitions).
pub(super) fn add_outcome_counts(stmt: &mut SelectStatement) {
    use incident::Column as I;
    stmt.expr_as(
        count_when(col(I::AcknowledgedAt).is_not_null()),
        Alias::new("acknowledged"),
    )
    .expr_as(
        count_when(col(I::EscalationCount).gt(0)),
        Alias::new("escalated"),
    )
    .expr_as(
        count_when(col(I::ResolvedAt).is_not_null()),
        Alias::new("resolved"),
    );
}

/// Mean time to acknowledge and to resolve, selected as `mtta` and `mttr`
/// (seconds from creation; incidents without the moment do not count).
pub(super) fn add_mean_times(stmt: &mut SelectStatement, backend: DatabaseBackend) {
    stmt.expr_as(
        Func::avg(secs_to(backend, "acknowledged_at")),
        Alias::new("mtta"),
    )
    .expr_as(
        Func::avg(secs_to(backend, "resolved_at")),
        Alias::new("mttr"),
    );
}

pub(super) fn sum_of(e: Expr) -> Expr {
    Func::coalesce([Func::sum(e).into(), Expr::val(0.0)]).into()
}

/// `SELECT service_id FROM service_teams WHERE team_id = team`.
pub(super) fn team_services(team: &str) -> SelectStatement {
    Query::select()
        .column(service_team::Column::ServiceId)
        .from(service_team::Entity)
        .and_where(service_team::Column::TeamId.eq(team))
        .to_owned()
}

/// The incidents of the services a target covers within a scope.
pub(crate) fn service_condition(target: &Target, scope: &Scope) -> Condition {
    use incident::Column as I;
    let mut c = Condition::all();
    match target {
        Target::All => {}
        Target::Service(s) => c = c.add(col(I::ServiceId).eq(s.clone())),
        Target::Team(t) => {
            c = c.add(col(I::ServiceId).in_subquery(team_services(t)));
        }
    }
    if let Some(scoped) = scope.services_condition(I::ServiceId) {
        c = c.add(scoped);
    }
    c
}

/// The incidents a metric counts: created in the period, of the target's
/// services, visible to the caller, not deleted and not hidden by an
/// inactive status mapping.
pub fn incident_filter(p: &Params, mapper: &Mapper) -> Condition {
    use incident::Column as I;
    let mut c = Condition::all()
        .add(col(I::DeletedAt).is_null())
        .add(col(I::CreatedAt).gte(p.from))
        .add(col(I::CreatedAt).lt(p.to))
        .add(service_condition(&p.target, &p.scope));
    if let Some(visible) = mapper.visible_condition() {
        c = c.add(visible);
    }
    c
}

pub(super) fn get_i64(row: &QueryResult, name: &str) -> Result<i64, DbErr> {
    row.try_get::<i64>("", name)
}

pub(super) fn get_f64(row: &QueryResult, name: &str) -> Result<Option<f64>, DbErr> {
    row.try_get::<Option<f64>>("", name)
}
