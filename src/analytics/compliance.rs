//! SLA compliance: met and breached targets per service, team, priority or
//! month, computed in SQL over the SLA targets of the incidents a period
//! covers.
//!
//! # Definitions
//! - Every SLA cycle of an incident counts (a reopened incident is measured
//!   again), each target (response, resolution) separately.
//! - **Met**: closed within its target. **Breached**: recorded as breached,
//!   or still running past its deadline (as `SlaTarget.state` reads, before
//!   the breach check has recorded it). **Open**: running or paused within
//!   its target.
//! - **Compliance** (`metPercent`): met ÷ (met + breached), in percent;
//!   open targets are not yet decided and do not count. `breachedPercent`
//!   is its complement.
//! - **Mean time used**: over *closed* targets (met, or breached and since
//!   acknowledged or resolved), the mean of the time counted by the policy's
//!   clock (business hours for a business-hours policy, pauses excluded),
//!   and the mean share of the target it used (1.0 = exactly the target).
//! - Incidents are those the other metrics count (created in the period, of
//!   the target's services, visible to the caller, not deleted, not hidden
//!   by an inactive status mapping). By team, an incident counts for every
//!   team its service belongs to (a scoped caller sees only its own teams);
//!   by month, it counts in the local month of its creation.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::sea_query::{
    Alias, Condition, Expr, ExprTrait, Func, JoinType, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryResult, QuerySelect};
use serde::{Deserialize, Serialize};

use super::metrics::{Analytics, local_epoch};
use super::{AnalyticsError, Params, local_days};
use crate::entities::{
    incident, incident_sla_target as sla, priority, service, service_team, team,
};
use crate::tz;

/// What compliance is grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupBy {
    Service,
    Team,
    Priority,
    Month,
}

/// One target's outcome in one group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetCompliance {
    pub met: i64,
    pub breached: i64,
    pub open: i64,
    /// Closed targets the means are over.
    pub closed: i64,
    pub used_secs_sum: f64,
    pub used_share_sum: f64,
}

impl TargetCompliance {
    pub fn total(&self) -> i64 {
        self.met + self.breached + self.open
    }

    /// Met ÷ (met + breached), a share from 0 to 1; `None` before anything
    /// is decided.
    #[allow(clippy::cast_precision_loss)]
    pub fn met_share(&self) -> Option<f64> {
        let decided = self.met + self.breached;
        (decided > 0).then(|| self.met as f64 / decided as f64)
    }

    /// Met ÷ (met + breached), in percent.
    #[allow(clippy::cast_precision_loss)]
    pub fn met_percent(&self) -> Option<f64> {
        let decided = self.met + self.breached;
        (decided > 0).then(|| 100.0 * self.met as f64 / decided as f64)
    }

    #[allow(clippy::cast_precision_loss)]
    pub fn breached_percent(&self) -> Option<f64> {
        let decided = self.met + self.breached;
        (decided > 0).then(|| 100.0 * self.breached as f64 / decided as f64)
    }

    #[allow(clippy::cast_precision_loss)]
    pub fn mean_used_secs(&self) -> Option<f64> {
        (self.closed > 0).then(|| self.used_secs_sum / self.closed as f64)
    }

    #[allow(clippy::cast_precision_loss)]
    pub fn mean_used_share(&self) -> Option<f64> {
        (self.closed > 0).then(|| self.used_share_sum / self.closed as f64)
    }

    pub fn add(&mut self, o: &TargetCompliance) {
        self.met += o.met;
        self.breached += o.breached;
        self.open += o.open;
        self.closed += o.closed;
        self.used_secs_sum += o.used_secs_sum;
        self.used_share_sum += o.used_share_sum;
    }
}

/// One group: its key (a service, team or priority id, or the month's first
/// day as `YYYY-MM-DD`), a readable name, and both targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComplianceGroup {
    pub key: Option<String>,
    pub name: String,
    pub response: TargetCompliance,
    pub resolution: TargetCompliance,
}

fn t(c: sla::Column) -> Expr {
    Expr::col((sla::Entity, c))
}

fn i(c: incident::Column) -> Expr {
    Expr::col((incident::Entity, c))
}

/// `COALESCE(SUM(CASE WHEN cond THEN value ELSE 0 END), 0)`, an integer
/// (`i32`: in PostgreSQL the sum of a `BIGINT` is `NUMERIC`).
fn sum_when(cond: Expr, value: i32) -> Expr {
    Func::coalesce([
        Func::sum(Expr::case(cond, value).finally(0)).into(),
        Expr::val(0),
    ])
    .into()
}

/// The same sum of a real number.
fn sum_float_when(cond: Expr, value: Expr) -> Expr {
    Func::coalesce([
        Func::sum(Expr::case(cond, value).finally(0.0)).into(),
        Expr::val(0.0),
    ])
    .into()
}

/// Selects the outcome sums of SLA targets as of `now`, by the module's
/// definitions, as `met`, `breached`, `open`, `closed`, `used_sum` and
/// `share_sum`, on a statement over `incident_sla_targets` joined with
/// `incidents` (grouped as the caller likes). The one place compliance is
/// counted: `slaCompliance` and the SLA report both call it.
pub fn select_outcomes(stmt: &mut SelectStatement, now: DateTime<Utc>) {
    let state = || t(sla::Column::State);
    let ack = || i(incident::Column::AcknowledgedAt);
    let resolved = || i(incident::Column::ResolvedAt);
    let running = || state().is_in(["ACTIVE", "PAUSED"]);
    let overdue = Condition::all()
        .add(state().eq("ACTIVE"))
        .add(t(sla::Column::Deadline).is_not_null())
        .add(t(sla::Column::Deadline).lte(now));
    let breached = Condition::any()
        .add(state().eq("BREACHED"))
        .add(overdue.clone());
    let open = Condition::all().add(running()).add(overdue.not());
    let stopped = Condition::any()
        .add(
            Condition::all()
                .add(t(sla::Column::Target).eq("response"))
                .add(
                    Condition::any()
                        .add(ack().is_not_null())
                        .add(resolved().is_not_null()),
                ),
        )
        .add(
            Condition::all()
                .add(t(sla::Column::Target).eq("resolution"))
                .add(resolved().is_not_null()),
        );
    let closed = Condition::any()
        .add(state().eq("MET"))
        .add(Condition::all().add(state().eq("BREACHED")).add(stopped));
    // Real numbers on both databases (in PostgreSQL `* 1.0` would be NUMERIC).
    let used = Expr::cust(r#"CAST("incident_sla_targets"."used_secs" AS DOUBLE PRECISION)"#);
    let share = Expr::case(
        t(sla::Column::TargetSecs).gt(0),
        used.clone().div(t(sla::Column::TargetSecs)),
    )
    .finally(0.0);
    stmt.expr_as(sum_when(state().eq("MET"), 1), Alias::new("met"))
        .expr_as(sum_when(breached.into(), 1), Alias::new("breached"))
        .expr_as(sum_when(open.into(), 1), Alias::new("open"))
        .expr_as(sum_when(closed.clone().into(), 1), Alias::new("closed"))
        .expr_as(
            sum_float_when(closed.clone().into(), used),
            Alias::new("used_sum"),
        )
        .expr_as(
            sum_float_when(closed.into(), share.into()),
            Alias::new("share_sum"),
        );
}

/// The outcome sums [`select_outcomes`] selected, read from one row.
///
/// # Errors
/// A column is missing or of another type.
pub fn outcomes_of(row: &QueryResult) -> Result<TargetCompliance, DbErr> {
    Ok(TargetCompliance {
        met: row.try_get("", "met")?,
        breached: row.try_get("", "breached")?,
        open: row.try_get("", "open")?,
        closed: row.try_get("", "closed")?,
        used_secs_sum: row.try_get::<Option<f64>>("", "used_sum")?.unwrap_or(0.0),
        used_share_sum: row.try_get::<Option<f64>>("", "share_sum")?.unwrap_or(0.0),
    })
}

impl Analytics {
    /// SLA compliance of the period, grouped (see the module's definitions).
    /// Groups are sorted by name (months by date); a group with no SLA is
    /// left out, except that months of the period are all listed.
    ///
    /// # Errors
    /// Database errors only.
    pub async fn sla_compliance(
        &self,
        p: &Params,
        group_by: GroupBy,
        now: DateTime<Utc>,
    ) -> Result<Vec<ComplianceGroup>, AnalyticsError> {
        let backend = self.db.get_database_backend();
        let mapper = self.mapper().await?;
        let mut stmt = Query::select()
            .from(sla::Entity)
            .inner_join(
                incident::Entity,
                Expr::col((sla::Entity, sla::Column::IncidentId))
                    .equals((incident::Entity, incident::Column::Id)),
            )
            .cond_where(super::metrics::incident_filter(p, &mapper))
            .expr_as(t(sla::Column::Target), Alias::new("target"))
            .add_group_by([t(sla::Column::Target)])
            .to_owned();
        select_outcomes(&mut stmt, now);
        let key = match group_by {
            GroupBy::Service => i(incident::Column::ServiceId),
            GroupBy::Priority => i(incident::Column::PriorityId),
            GroupBy::Team => {
                let st = Alias::new("st");
                let mut on = Condition::all().add(
                    Expr::col((st.clone(), service_team::Column::ServiceId))
                        .equals((incident::Entity, incident::Column::ServiceId)),
                );
                if let Some(teams) = p.scope.team_ids() {
                    on = on.add(
                        Expr::col((st.clone(), service_team::Column::TeamId)).is_in(teams.to_vec()),
                    );
                }
                stmt.join_as(JoinType::LeftJoin, service_team::Entity, st.clone(), on);
                Expr::col((st, service_team::Column::TeamId))
            }
            GroupBy::Month => local_epoch(backend, p).div(tz::DAY),
        };
        // Grouped by the output name: PostgreSQL would not see two copies of
        // an expression with parameters as the same.
        stmt.expr_as(key, Alias::new("k"))
            .add_group_by([Expr::col(Alias::new("k"))]);
        let rows = self.db.query_all(&stmt).await?;

        let mut groups: BTreeMap<Option<String>, (TargetCompliance, TargetCompliance)> =
            BTreeMap::new();
        if group_by == GroupBy::Month {
            let (first, last) = local_days(p);
            let mut m = tz::month_start(first);
            while m <= last {
                groups.insert(Some(m.to_string()), Default::default());
                m = tz::next_month(m);
            }
        }
        for row in rows {
            let key: Option<String> = if group_by == GroupBy::Month {
                let day: i64 = row.try_get("", "k")?;
                Some(tz::month_start(tz::date_of_day(day)).to_string())
            } else {
                row.try_get("", "k")?
            };
            let c = outcomes_of(&row)?;
            let target: String = row.try_get("", "target")?;
            let g = groups.entry(key).or_default();
            if target == "response" {
                g.0.add(&c);
            } else {
                g.1.add(&c);
            }
        }

        let names: HashMap<String, String> = match group_by {
            GroupBy::Service => {
                self.names::<service::Entity>(service::Column::Id, service::Column::Name)
                    .await?
            }
            GroupBy::Team => {
                self.names::<team::Entity>(team::Column::Id, team::Column::Name)
                    .await?
            }
            GroupBy::Priority => {
                self.names::<priority::Entity>(priority::Column::Id, priority::Column::Name)
                    .await?
            }
            GroupBy::Month => HashMap::new(),
        };
        let mut out: Vec<ComplianceGroup> = groups
            .into_iter()
            .map(|(key, (response, resolution))| {
                let name = match (&key, group_by) {
                    (Some(k), GroupBy::Month) => NaiveDate::parse_from_str(k, "%Y-%m-%d")
                        .map_or_else(|_| k.clone(), |d| format!("{}-{:02}", d.year(), d.month())),
                    (Some(k), _) => names.get(k).cloned().unwrap_or_else(|| k.clone()),
                    (None, GroupBy::Service) => "No service".into(),
                    (None, GroupBy::Team) => "No team".into(),
                    (None, _) => "No priority".into(),
                };
                ComplianceGroup {
                    key,
                    name,
                    response,
                    resolution,
                }
            })
            .collect();
        if group_by != GroupBy::Month {
            out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.key.cmp(&b.key)));
        }
        Ok(out)
    }

    /// The groups and, as one more group (`key` none, named `All`), every
    /// incident counted once: by team an incident may sit in several
    /// groups, so the total comes from the by-priority answer then.
    ///
    /// # Errors
    /// Database errors only.
    pub async fn sla_compliance_with_overall(
        &self,
        p: &Params,
        group_by: GroupBy,
        now: DateTime<Utc>,
    ) -> Result<(Vec<ComplianceGroup>, ComplianceGroup), AnalyticsError> {
        let groups = self.sla_compliance(p, group_by, now).await?;
        let by_priority;
        let each_once: &[ComplianceGroup] = if group_by == GroupBy::Team {
            by_priority = self.sla_compliance(p, GroupBy::Priority, now).await?;
            &by_priority
        } else {
            &groups
        };
        let mut overall = ComplianceGroup {
            key: None,
            name: "All".into(),
            response: TargetCompliance::default(),
            resolution: TargetCompliance::default(),
        };
        for g in each_once {
            overall.response.add(&g.response);
            overall.resolution.add(&g.resolution);
        }
        Ok((groups, overall))
    }

    async fn names<E: EntityTrait>(
        &self,
        id: E::Column,
        name: E::Column,
    ) -> Result<HashMap<String, String>, DbErr> {
        let pairs: Vec<(String, String)> = E::find()
            .select_only()
            .column(id)
            .column(name)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(pairs.into_iter().collect())
    }
}
