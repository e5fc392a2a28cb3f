//! The incident metrics, each one SQL statement (or a few) over the
//! `incidents` table, the same on SQLite and PostgreSQL. Local days are
//! computed in SQL from constant-offset segments (see [`crate::tz`]); weeks
//! and months are rolled up from days here.

mod by_ids;
mod incident_metrics;
mod outputs;
mod ranks;
mod sql;

pub use by_ids::*;
pub use incident_metrics::*;
pub use outputs::*;
pub use ranks::*;
pub(crate) use sql::*;

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use sea_orm::sea_query::{
    Alias, Condition, Expr, ExprTrait, Func, JoinType, Query, SelectStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QueryResult, QuerySelect,
};
use serde::{Deserialize, Serialize};

use super::{AnalyticsError, Params, Target, local_days};
use crate::config::FlagRule;
use crate::entities::{
    escalation_policy, incident, incident_custom_field_value as cf, service, service_team, team,
};
use crate::incidents::status::{Mapped, Mapper};
use crate::scope::Scope;
use crate::tz;

/// What analytics needs besides the database: the configured flags and
/// status field.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub flags: Vec<FlagRule>,
    pub status_field: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }

    /// The first day of the bucket `d` falls in.
    pub fn bucket(self, d: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => d,
            Granularity::Week => tz::week_start(d),
            Granularity::Month => tz::month_start(d),
        }
    }

    fn next(self, d: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => d + Duration::days(1),
            Granularity::Week => d + Duration::days(7),
            Granularity::Month => tz::next_month(d),
        }
    }
}

/// Per local day sums, the building block of calendars and trends.
#[derive(Clone, Debug, Default, PartialEq)]
struct DaySums {
    incidents: i64,
    acknowledged: i64,
    escalated: i64,
    resolved: i64,
    ack_secs: f64,
    resolve_secs: f64,
}

/// The analytics of one database.
#[derive(Clone, Debug)]
pub struct Analytics {
    pub db: DatabaseConnection,
    pub settings: Settings,
}

impl Analytics {
    pub fn new(db: DatabaseConnection, settings: Settings) -> Self {
        Self { db, settings }
    }

    /// With the custom-field flag rules and the analytics settings it reads
    /// (the status field).
    pub fn with_settings(
        db: DatabaseConnection,
        flags: &[FlagRule],
        settings: &crate::config::AnalyticsSettings,
    ) -> Self {
        Self::new(
            db,
            Settings {
                flags: flags.to_vec(),
                status_field: settings.status_field.clone(),
            },
        )
    }

    fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    pub async fn mapper(&self) -> Result<Mapper, DbErr> {
        Mapper::load(&self.db, self.settings.status_field.as_deref()).await
    }

    fn base(&self, p: &Params, mapper: &Mapper) -> SelectStatement {
        Query::select()
            .from(incident::Entity)
            .cond_where(incident_filter(p, mapper))
            .to_owned()
    }

    /// Services, teams and escalation policies the caller may see (not
    /// deleted upstream).
    pub async fn catalog_counts(&self, scope: &Scope) -> Result<CatalogCounts, AnalyticsError> {
        let mut services = service::Entity::find().filter(service::Column::DeletedAt.is_null());
        if let Some(c) = scope.services_condition(service::Column::Id) {
            services = services.filter(c);
        }
        let mut teams = team::Entity::find().filter(team::Column::DeletedAt.is_null());
        if let Some(c) = scope.teams_condition(team::Column::Id) {
            teams = teams.filter(c);
        }
        let mut policies = escalation_policy::Entity::find()
            .filter(escalation_policy::Column::DeletedAt.is_null());
        if let Some(c) = scope.escalation_policies_condition(escalation_policy::Column::Id) {
            policies = policies.filter(c);
        }
        use sea_orm::PaginatorTrait;
        Ok(CatalogCounts {
            services: services.count(&self.db).await? as i64,
            teams: teams.count(&self.db).await? as i64,
            escalation_policies: policies.count(&self.db).await? as i64,
        })
    }

    /// The live services a target covers, by name.
    async fn services_of(
        &self,
        target: &Target,
        scope: &Scope,
    ) -> Result<Vec<(String, String)>, DbErr> {
        let mut q = service::Entity::find()
            .select_only()
            .column(service::Column::Id)
            .column(service::Column::Name)
            .filter(service::Column::DeletedAt.is_null())
            .order_by_asc(service::Column::Name)
            .order_by_asc(service::Column::Id);
        match target {
            Target::All => {}
            Target::Service(s) => q = q.filter(service::Column::Id.eq(s.clone())),
            Target::Team(t) => {
                q = q.filter(service::Column::Id.in_subquery(team_services(t)));
            }
        }
        if let Some(c) = scope.services_condition(service::Column::Id) {
            q = q.filter(c);
        }
        q.into_tuple().all(&self.db).await
    }

    /// Incidents per service, most first; every service of the target is
    /// listed, quiet ones with zero.
    pub async fn incidents_per_service(
        &self,
        p: &Params,
    ) -> Result<Vec<ServiceCount>, AnalyticsError> {
        self.per_service(p, &self.mapper().await?).await
    }

    async fn per_service(
        &self,
        p: &Params,
        mapper: &Mapper,
    ) -> Result<Vec<ServiceCount>, AnalyticsError> {
        let stmt = self
            .base(p, mapper)
            .expr_as(col(incident::Column::ServiceId), Alias::new("service_id"))
            .expr_as(Func::count(Expr::val(1)), Alias::new("n"))
            .add_group_by([col(incident::Column::ServiceId)])
            .to_owned();
        let mut counts: HashMap<String, i64> = HashMap::new();
        for row in self.db.query_all(&stmt).await? {
            if let Some(id) = row.try_get::<Option<String>>("", "service_id")? {
                counts.insert(id, get_i64(&row, "n")?);
            }
        }
        let mut out: Vec<ServiceCount> = self
            .services_of(&p.target, &p.scope)
            .await?
            .into_iter()
            .map(|(id, name)| ServiceCount {
                incidents: counts.get(&id).copied().unwrap_or(0),
                service_id: id,
                service_name: name,
            })
            .collect();
        out.sort_by(|a, b| {
            b.incidents
                .cmp(&a.incidents)
                .then(a.service_name.cmp(&b.service_name))
        });
        Ok(out)
    }

    /// Mapped status groups: `(service, mapped status, count)`.
    async fn status_rows(
        &self,
        p: &Params,
        mapper: &Mapper,
        by_service: bool,
    ) -> Result<Vec<(Option<String>, Mapped, i64)>, AnalyticsError> {
        let groups = status_groups(&self.db, mapper, self.base(p, mapper), by_service).await?;
        Ok(groups
            .into_iter()
            .filter_map(|g| Some((g.service, g.mapped?, g.incidents)))
            .collect())
    }

    /// Incidents per mapped status, in mapping order.
    pub async fn status_counts(&self, p: &Params) -> Result<Vec<StatusCount>, AnalyticsError> {
        self.statuses(p, &self.mapper().await?).await
    }

    async fn statuses(
        &self,
        p: &Params,
        mapper: &Mapper,
    ) -> Result<Vec<StatusCount>, AnalyticsError> {
        let rows = self.status_rows(p, mapper, false).await?;
        Ok(merge_statuses(rows.into_iter().map(|(_, m, n)| (m, n))))
    }

    /// Incidents per service and mapped status.
    pub async fn service_status_counts(
        &self,
        p: &Params,
    ) -> Result<Vec<ServiceStatusCounts>, AnalyticsError> {
        let mapper = self.mapper().await?;
        let rows = self.status_rows(p, &mapper, true).await?;
        let mut per: HashMap<String, Vec<(Mapped, i64)>> = HashMap::new();
        for (s, m, n) in rows {
            if let Some(s) = s {
                per.entry(s).or_default().push((m, n));
            }
        }
        let mut out: Vec<ServiceStatusCounts> = self
            .services_of(&p.target, &p.scope)
            .await?
            .into_iter()
            .map(|(id, name)| {
                let statuses = merge_statuses(per.remove(&id).unwrap_or_default());
                ServiceStatusCounts {
                    total: statuses.iter().map(|s| s.incidents).sum(),
                    service_id: id,
                    service_name: name,
                    statuses,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.total
                .cmp(&a.total)
                .then(a.service_name.cmp(&b.service_name))
        });
        Ok(out)
    }

    /// The service with the most incidents, its status breakdown and its
    /// daily series; `None` when the period has no incident.
    pub async fn top_service(&self, p: &Params) -> Result<Option<TopService>, AnalyticsError> {
        let mapper = self.mapper().await?;
        let per = self.per_service(p, &mapper).await?;
        let Some(top) = per.into_iter().find(|s| s.incidents > 0) else {
            return Ok(None);
        };
        let one = Params {
            target: Target::Service(top.service_id.clone()),
            ..p.clone()
        };
        let statuses = self.statuses(&one, &mapper).await?;
        let days = self.day_sums(&one, &mapper).await?;
        let (first, last) = local_days(p);
        let series = first
            .iter_days()
            .take_while(|d| *d <= last)
            .map(|d| DayCount {
                date: d,
                incidents: days.get(&d).map_or(0, |s| s.incidents),
            })
            .collect();
        Ok(Some(TopService {
            service_id: top.service_id,
            service_name: top.service_name,
            total: top.incidents,
            statuses,
            series,
        }))
    }

    /// The service summary (see the module's definitions).
    pub async fn summary(&self, p: &Params) -> Result<Summary, AnalyticsError> {
        let b = self.backend();
        let mapper = self.mapper().await?;
        let le = local_epoch(b, p);
        let dow = le.clone().div(tz::DAY).add(4).modulo(7);
        let sod = le.modulo(tz::DAY);
        let business = dow
            .clone()
            .gte(1)
            .and(dow.lte(5))
            .and(sod.clone().gte(8 * 3600))
            .and(sod.lt(18 * 3600));
        let mut stmt = self.base(p, &mapper);
        stmt.expr_as(Func::count(Expr::val(1)), Alias::new("total"));
        add_outcome_counts(&mut stmt);
        add_mean_times(&mut stmt, b);
        stmt.expr_as(count_when(business.not()), Alias::new("outside"));
        for (i, rule) in self.settings.flags.iter().enumerate() {
            stmt.expr_as(
                count_when(rule.condition()),
                Alias::new(format!("flag_{i}")),
            );
        }
        // PostgreSQL's percentile_disc is the nearest-rank percentile, in
        // the same scan. SQLite has none: a second statement, run beside
        // this one, hands over both durations and they are ranked here.
        let postgres = b == DatabaseBackend::Postgres;
        if postgres {
            for (to, name) in [("acknowledged_at", "ack"), ("resolved_at", "resolve")] {
                for q in [50, 90] {
                    stmt.expr_as(
                        Expr::cust_with_expr(
                            format!("percentile_disc(0.{q}) WITHIN GROUP (ORDER BY $1)"),
                            secs_to(b, to),
                        ),
                        Alias::new(format!("{name}_p{q}")),
                    );
                }
            }
        }
        let (row, durations) = tokio::try_join!(
            async { Ok::<_, AnalyticsError>(self.db.query_one(&stmt).await?) },
            self.durations(p, &mapper, !postgres),
        )?;
        let row = row.ok_or_else(|| DbErr::Custom("an aggregate returned no row".into()))?;
        let (ack_p, resolve_p) = match durations {
            Some((mut ack, mut resolve)) => (p50_p90(&mut ack), p50_p90(&mut resolve)),
            None => (
                (get_f64(&row, "ack_p50")?, get_f64(&row, "ack_p90")?),
                (get_f64(&row, "resolve_p50")?, get_f64(&row, "resolve_p90")?),
            ),
        };
        let acknowledged = get_i64(&row, "acknowledged")?;
        let resolved = get_i64(&row, "resolved")?;
        let mut flags = Vec::new();
        for (i, rule) in self.settings.flags.iter().enumerate() {
            flags.push(FlagCount {
                flag: rule.name.clone(),
                incidents: get_i64(&row, &format!("flag_{i}"))?,
            });
        }
        Ok(Summary {
            total: get_i64(&row, "total")?,
            acknowledged,
            escalated: get_i64(&row, "escalated")?,
            resolved,
            time_to_acknowledge: Durations {
                count: acknowledged,
                mean: get_f64(&row, "mtta")?,
                p50: ack_p.0,
                p90: ack_p.1,
            },
            time_to_resolve: Durations {
                count: resolved,
                mean: get_f64(&row, "mttr")?,
                p50: resolve_p.0,
                p90: resolve_p.1,
            },
            outside_business_hours: get_i64(&row, "outside")?,
            flags,
        })
    }

    /// Every time to acknowledge and every time to resolve (seconds) of the
    /// incidents that have one, for SQLite's percentiles (`None` when not
    /// `wanted`). One scan hands both lists over as two JSON arrays (a
    /// value per incident, 4–18 bytes each): SQLite's sorter and window
    /// functions were slower at ranking them, in two statements.
    async fn durations(
        &self,
        p: &Params,
        mapper: &Mapper,
        wanted: bool,
    ) -> Result<Option<(Vec<f64>, Vec<f64>)>, AnalyticsError> {
        if !wanted {
            return Ok(None);
        }
        let b = self.backend();
        // A time SQLite cannot read gives a null, dropped below (a filter
        // on the duration itself would compute it twice per incident).
        let list = |to: &str| {
            // SQLite only: `?` is its placeholder.
            Expr::cust_with_exprs(
                "json_group_array(?) FILTER (WHERE ?)",
                [
                    secs_to(b, to),
                    Expr::col((incident::Entity, Alias::new(to))).is_not_null(),
                ],
            )
        };
        let stmt = self
            .base(p, mapper)
            .expr_as(list("acknowledged_at"), Alias::new("ack"))
            .expr_as(list("resolved_at"), Alias::new("resolve"))
            .to_owned();
        let row = self
            .db
            .query_one(&stmt)
            .await?
            .ok_or_else(|| DbErr::Custom("an aggregate returned no row".into()))?;
        let parse = |name: &str| -> Result<Vec<f64>, AnalyticsError> {
            let text: Option<String> = row.try_get("", name)?;
            let text = text.unwrap_or_else(|| "[]".to_owned());
            let values: Vec<Option<f64>> = serde_json::from_str(&text).map_err(|e| {
                AnalyticsError::from(DbErr::Custom(format!("durations as JSON: {e}")))
            })?;
            Ok(values.into_iter().flatten().collect())
        };
        Ok(Some((parse("ack")?, parse("resolve")?)))
    }

    /// Sums per local day of the period.
    async fn day_sums(
        &self,
        p: &Params,
        mapper: &Mapper,
    ) -> Result<BTreeMap<NaiveDate, DaySums>, AnalyticsError> {
        let b = self.backend();
        let day = local_epoch(b, p).div(tz::DAY);
        let mut stmt = self.base(p, mapper);
        stmt.expr_as(day, Alias::new("day"))
            .expr_as(Func::count(Expr::val(1)), Alias::new("n"));
        add_outcome_counts(&mut stmt);
        stmt.expr_as(
            sum_of(secs_to(b, "acknowledged_at")),
            Alias::new("ack_secs"),
        )
        .expr_as(
            sum_of(secs_to(b, "resolved_at")),
            Alias::new("resolve_secs"),
        )
        .add_group_by([Expr::col(Alias::new("day"))]);
        let mut out = BTreeMap::new();
        for row in self.db.query_all(&stmt).await? {
            out.insert(
                tz::date_of_day(get_i64(&row, "day")?),
                DaySums {
                    incidents: get_i64(&row, "n")?,
                    acknowledged: get_i64(&row, "acknowledged")?,
                    escalated: get_i64(&row, "escalated")?,
                    resolved: get_i64(&row, "resolved")?,
                    ack_secs: get_f64(&row, "ack_secs")?.unwrap_or(0.0),
                    resolve_secs: get_f64(&row, "resolve_secs")?.unwrap_or(0.0),
                },
            );
        }
        Ok(out)
    }

    /// Every day of a local month: incidents and escalated incidents.
    pub async fn calendar(&self, p: &Params) -> Result<Vec<CalendarDay>, AnalyticsError> {
        let mapper = self.mapper().await?;
        let sums = self.day_sums(p, &mapper).await?;
        let (first, last) = local_days(p);
        Ok(first
            .iter_days()
            .take_while(|d| *d <= last)
            .map(|d| {
                let s = sums.get(&d).cloned().unwrap_or_default();
                CalendarDay {
                    date: d,
                    incidents: s.incidents,
                    escalated: s.escalated,
                }
            })
            .collect())
    }

    /// The incidents created on one local day (newest first, at most `limit`).
    pub async fn day_incidents(
        &self,
        p: &Params,
        date: NaiveDate,
        limit: u64,
    ) -> Result<Vec<incident::Model>, AnalyticsError> {
        let day = Params {
            from: std::cmp::max(tz::day_start(p.tz, date), p.from),
            to: std::cmp::min(tz::day_start(p.tz, date + Duration::days(1)), p.to),
            ..p.clone()
        };
        if day.from >= day.to {
            return Ok(Vec::new());
        }
        let mapper = self.mapper().await?;
        Ok(incident::Entity::find()
            .filter(incident_filter(&day, &mapper))
            .order_by_desc(incident::Column::CreatedAt)
            .order_by_desc(incident::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// The metrics per day, week or month of the period, zeros kept.
    pub async fn trends(
        &self,
        p: &Params,
        granularity: Granularity,
    ) -> Result<Vec<TrendPoint>, AnalyticsError> {
        let mapper = self.mapper().await?;
        let sums = self.day_sums(p, &mapper).await?;
        let (first, last) = local_days(p);
        let mut buckets: BTreeMap<NaiveDate, DaySums> = BTreeMap::new();
        let mut d = granularity.bucket(first);
        while d <= last {
            buckets.insert(std::cmp::max(d, first), DaySums::default());
            d = granularity.next(d);
        }
        for (day, s) in sums {
            let key = std::cmp::max(granularity.bucket(day), first);
            let b = buckets.entry(key).or_default();
            b.incidents += s.incidents;
            b.acknowledged += s.acknowledged;
            b.escalated += s.escalated;
            b.resolved += s.resolved;
            b.ack_secs += s.ack_secs;
            b.resolve_secs += s.resolve_secs;
        }
        Ok(buckets
            .into_iter()
            .map(|(start, s)| TrendPoint {
                start,
                incidents: s.incidents,
                acknowledged: s.acknowledged,
                escalated: s.escalated,
                resolved: s.resolved,
                mtta: (s.acknowledged > 0).then(|| s.ack_secs / s.acknowledged as f64),
                mttr: (s.resolved > 0).then(|| s.resolve_secs / s.resolved as f64),
            })
            .collect())
    }

    /// Escalated incidents of the period, newest first, at most `limit`.
    pub async fn escalated_incidents(
        &self,
        p: &Params,
        limit: u64,
    ) -> Result<Vec<incident::Model>, AnalyticsError> {
        let mapper = self.mapper().await?;
        Ok(incident::Entity::find()
            .filter(incident_filter(p, &mapper))
            .filter(incident::Column::EscalationCount.gt(0))
            .order_by_desc(incident::Column::CreatedAt)
            .order_by_desc(incident::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nearest_ranks() {
        assert_eq!(nearest_rank(0, 0.5), None);
        assert_eq!(nearest_rank(1, 0.9), Some(1));
        assert_eq!(nearest_rank(4, 0.5), Some(2));
        assert_eq!(nearest_rank(10, 0.9), Some(9));
        assert_eq!(nearest_rank(11, 0.9), Some(10));
    }

    proptest! {
        /// SQLite's percentiles, ranked in process, are the sorted values
        /// at their nearest ranks.
        #[test]
        fn p50_p90_are_the_sorted_values_at_their_nearest_ranks(values in proptest::collection::vec(-1e6f64..1e6, 0..200)) {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len() as i64;
            let at = |q: f64| nearest_rank(n, q).map(|r| sorted[(r - 1) as usize]);
            let mut shuffled = values;
            prop_assert_eq!(super::p50_p90(&mut shuffled), (at(0.5), at(0.9)));
        }

        /// The nearest rank is the smallest value with at least q of the
        /// values at or below it.
        #[test]
        fn nearest_rank_definition(mut values in proptest::collection::vec(0u32..1000, 1..60), q in 0.01f64..1.0) {
            values.sort_unstable();
            let n = values.len() as i64;
            let v = values[(nearest_rank(n, q).unwrap() - 1) as usize];
            let at_or_below = values.iter().filter(|x| **x <= v).count() as f64;
            prop_assert!(at_or_below >= q * n as f64 - 1e-9);
            let smaller: Vec<_> = values.iter().filter(|x| **x < v).collect();
            prop_assert!((smaller.len() as f64) < q * n as f64 + 1e-9);
        }

        #[test]
        fn buckets_contain_their_days(days in 0i64..30_000, g in 0usize..3) {
            let g = [Granularity::Day, Granularity::Week, Granularity::Month][g];
            let d = tz::date_of_day(days);
            let b = g.bucket(d);
            prop_assert!(b <= d && d < g.next(b));
        }
    }
}
