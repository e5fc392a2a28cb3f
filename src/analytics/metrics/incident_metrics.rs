//! `incidentMetrics`: PagerDuty's incident metrics
//! (`/analytics/metrics/incidents/*`), per group and time bucket, summed in
//! SQL from the stored per-incident facts ([`crate::incidents::facts`]) per
//! group and local day, then rolled up to buckets here (percentiles from
//! the values themselves, so a week's p90 is the p90 of its incidents).

use chrono::{DateTime, Utc};

use super::*;
use crate::entities::{incident_analytics as ia, priority};

/// What PagerDuty can group by, and a custom-field flag it cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GroupBy {
    All,
    Service,
    Team,
    EscalationPolicy,
    Priority,
    Urgency,
    /// A configured flag rule (`PAGERLENS_CUSTOM_FIELD_FLAGS`): two groups,
    /// `true` and `false`.
    Flag,
}

/// PagerDuty's metric filters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetricFilters {
    pub urgency: Option<String>,
    pub major: Option<bool>,
    pub service_ids: Vec<String>,
    pub team_ids: Vec<String>,
    pub escalation_policy_ids: Vec<String>,
    pub priority_ids: Vec<String>,
    pub min_acknowledgements: Option<i64>,
    pub min_timeout_escalations: Option<i64>,
    pub min_manual_escalations: Option<i64>,
}

/// Longest period `incidentMetrics` covers: PagerDuty's one year.
pub const METRICS_MAX_DAYS: i64 = 366;

/// One `incidentMetrics` question.
#[derive(Clone, Debug)]
pub struct MetricsQuestion {
    pub params: Params,
    pub group_by: GroupBy,
    /// The flag rule's name, with [`GroupBy::Flag`].
    pub flag: Option<String>,
    pub unit: Option<Granularity>,
    pub filters: MetricFilters,
}

impl MetricsQuestion {
    /// The cache key: the period's and everything else asked.
    pub fn cache_key(&self) -> String {
        let rest = serde_json::to_string(&(
            self.group_by,
            &self.flag,
            self.unit.map(Granularity::as_str),
            &self.filters,
        ))
        .unwrap_or_default();
        format!(
            "{}|{rest}",
            self.params
                .cache_key(crate::analytics::Answer::IncidentMetrics)
        )
    }
}

/// One group's metrics in one bucket, PagerDuty's fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// The group's id (service, team, policy, priority), urgency, or
    /// `true`/`false` for a flag; `None` for `ALL` and for incidents
    /// without one.
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    /// The bucket's first instant, with an aggregate unit.
    pub range_start: Option<DateTime<Utc>>,
    pub total_incident_count: i64,
    pub mean_seconds_to_first_ack: Option<f64>,
    pub p50_seconds_to_first_ack: Option<i64>,
    pub p75_seconds_to_first_ack: Option<i64>,
    pub p90_seconds_to_first_ack: Option<i64>,
    pub p95_seconds_to_first_ack: Option<i64>,
    pub mean_seconds_to_resolve: Option<f64>,
    pub p50_seconds_to_resolve: Option<i64>,
    pub p75_seconds_to_resolve: Option<i64>,
    pub p90_seconds_to_resolve: Option<i64>,
    pub p95_seconds_to_resolve: Option<i64>,
    pub mean_seconds_to_engage: Option<f64>,
    pub mean_seconds_to_mobilize: Option<f64>,
    pub mean_engaged_seconds: Option<f64>,
    pub total_engaged_seconds: i64,
    pub mean_engaged_user_count: Option<f64>,
    pub mean_assignment_count: Option<f64>,
    pub total_incidents_acknowledged: i64,
    pub total_incidents_auto_resolved: i64,
    pub total_incidents_manual_escalated: i64,
    pub total_incidents_timeout_escalated: i64,
    pub total_incidents_reassigned: i64,
    pub total_escalation_count: i64,
    pub total_notifications: i64,
    pub total_interruptions: i64,
    pub total_business_hour_interruptions: i64,
    pub total_off_hour_interruptions: i64,
    pub total_sleep_hour_interruptions: i64,
    pub total_snoozed_seconds: i64,
    pub up_time_pct: f64,
}

/// Sums of one group on one local day (or rolled up into a bucket).
#[derive(Clone, Debug, Default)]
struct Sums {
    n: i64,
    /// [`SUMMED`] then [`COUNTED`], in order.
    counts: [i64; 14],
    sums: [i64; 5],
    have: [i64; 5],
    ack: Vec<i64>,
    resolve: Vec<i64>,
}

/// Summed facts.
const SUMMED: [&str; 9] = [
    "engaged_user_count",
    "assignment_count",
    "escalation_count",
    "total_notifications",
    "total_interruptions",
    "business_hour_interruptions",
    "off_hour_interruptions",
    "sleep_hour_interruptions",
    "snoozed_seconds",
];

/// Incidents counted by a condition on their facts.
const COUNTED: [&str; 5] = [
    "acknowledged",
    "auto_resolved",
    "manual_escalated",
    "timeout_escalated",
    "reassigned",
];

/// Nullable durations: summed and counted where present.
const DURATIONS: [&str; 5] = [
    "seconds_to_first_ack",
    "seconds_to_resolve",
    "seconds_to_engage",
    "seconds_to_mobilize",
    "engaged_seconds",
];

fn fact(c: ia::Column) -> Expr {
    Expr::col((ia::Entity, c))
}

fn fact_named(name: &str) -> Expr {
    Expr::col((ia::Entity, Alias::new(name)))
}

fn big_sum(e: Expr) -> Expr {
    Func::cast_as(
        Func::coalesce([Func::sum(e).into(), Expr::val(0)]),
        Alias::new("BIGINT"),
    )
    .into()
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.n += o.n;
        for (a, b) in self.counts.iter_mut().zip(o.counts) {
            *a += b;
        }
        for (a, b) in self.sums.iter_mut().zip(o.sums) {
            *a += b;
        }
        for (a, b) in self.have.iter_mut().zip(o.have) {
            *a += b;
        }
        self.ack.extend_from_slice(&o.ack);
        self.resolve.extend_from_slice(&o.resolve);
    }
}

fn mean(sum: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

/// The nearest-rank percentiles p50, p75, p90 and p95 of `v` (reordered).
fn quartiles(v: &mut [i64]) -> [Option<i64>; 4] {
    v.sort_unstable();
    let n = i64::try_from(v.len()).unwrap_or(i64::MAX);
    [0.5, 0.75, 0.9, 0.95].map(|q| {
        let rank = nearest_rank(n, q)?;
        v.get(usize::try_from(rank - 1).ok()?).copied()
    })
}

/// Covered seconds of `[from, to)` by the union of `spans`.
fn covered(mut spans: Vec<(i64, i64)>, from: i64, to: i64) -> i64 {
    spans.retain(|(a, b)| *b > from && *a < to && b > a);
    spans.sort_unstable();
    let mut total = 0;
    let mut reach = from;
    for (a, b) in spans {
        let (a, b) = (Ord::max(a, reach), Ord::min(b, to));
        if b > a {
            total += b - a;
            reach = b;
        }
    }
    total
}

impl Analytics {
    /// PagerDuty's incident metrics per group and bucket; `now` closes the
    /// spans of open major incidents for `upTimePct`.
    ///
    /// # Errors
    /// `Invalid` for an unknown flag or a period over a year.
    pub async fn incident_metrics(
        &self,
        q: &MetricsQuestion,
        now: DateTime<Utc>,
    ) -> Result<Vec<MetricsRow>, AnalyticsError> {
        let p = &q.params;
        if p.to - p.from > Duration::days(METRICS_MAX_DAYS) {
            return Err(AnalyticsError::Invalid(format!(
                "from/to: a period is at most {METRICS_MAX_DAYS} days long (PagerDuty's limit)"
            )));
        }
        let flag = match (q.group_by, &q.flag) {
            (GroupBy::Flag, Some(name)) => Some(
                self.settings
                    .flags
                    .iter()
                    .find(|r| &r.name == name)
                    .ok_or_else(|| {
                        AnalyticsError::Invalid(format!(
                            "flag: no flag rule is named {name:?} (PAGERLENS_CUSTOM_FIELD_FLAGS)"
                        ))
                    })?,
            ),
            (GroupBy::Flag, None) => {
                return Err(AnalyticsError::Invalid(
                    "flag: groupBy FLAG needs the flag's name".into(),
                ));
            }
            (_, Some(_)) => {
                return Err(AnalyticsError::Invalid(
                    "flag: a flag is given only with groupBy FLAG".into(),
                ));
            }
            _ => None,
        };
        let b = self.backend();
        let mapper = self.mapper().await?;
        let mut stmt = self.question(q, &mapper, flag);
        stmt.expr_as(local_epoch(b, p).div(tz::DAY), Alias::new("day"))
            .expr_as(Func::count(Expr::val(1)), Alias::new("n"));
        for c in SUMMED {
            stmt.expr_as(big_sum(fact_named(c)), Alias::new(c));
        }
        let conds: [Expr; 5] = [
            fact(ia::Column::AcknowledgementCount).gt(0),
            fact(ia::Column::AutoResolved).eq(true),
            fact(ia::Column::ManualEscalationCount).gt(0),
            fact(ia::Column::TimeoutEscalationCount).gt(0),
            fact(ia::Column::ReassignmentCount).gt(0),
        ];
        for (name, cond) in COUNTED.into_iter().zip(conds) {
            stmt.expr_as(
                big_sum(Expr::case(cond, 1).finally(0).into()),
                Alias::new(name),
            );
        }
        for d in DURATIONS {
            stmt.expr_as(big_sum(fact_named(d)), Alias::new(format!("sum_{d}")))
                .expr_as(Func::count(fact_named(d)), Alias::new(format!("n_{d}")));
        }
        for (name, d) in [("ack_list", DURATIONS[0]), ("resolve_list", DURATIONS[1])] {
            let list = match b {
                DatabaseBackend::Postgres => {
                    format!(r#"string_agg(CAST("incident_analytics"."{d}" AS TEXT), ',')"#)
                }
                _ => format!(r#"group_concat("incident_analytics"."{d}", ',')"#),
            };
            stmt.expr_as(Expr::cust(list), Alias::new(name));
        }
        stmt.add_group_by([Expr::col(Alias::new("g")), Expr::col(Alias::new("day"))]);

        // Per group, per bucket start date.
        let mut buckets: BTreeMap<(Option<String>, Option<NaiveDate>), Sums> = BTreeMap::new();
        for row in self.db.query_all(&stmt).await? {
            let g: Option<String> = row.try_get("", "g")?;
            let g = g.filter(|s| !(q.group_by == GroupBy::All && s.is_empty()));
            let day = tz::date_of_day(get_i64(&row, "day")?);
            let mut s = Sums {
                n: get_i64(&row, "n")?,
                ..Sums::default()
            };
            for (i, c) in SUMMED.iter().chain(COUNTED.iter()).enumerate() {
                s.counts[i] = get_i64(&row, c)?;
            }
            for (i, d) in DURATIONS.iter().enumerate() {
                s.sums[i] = get_i64(&row, &format!("sum_{d}"))?;
                s.have[i] = get_i64(&row, &format!("n_{d}"))?;
            }
            let parse = |name: &str| -> Result<Vec<i64>, DbErr> {
                let text: Option<String> = row.try_get("", name)?;
                Ok(text
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|v| v.trim().parse().ok())
                    .collect())
            };
            s.ack = parse("ack_list")?;
            s.resolve = parse("resolve_list")?;
            let key = (g, q.unit.map(|u| u.bucket(day)));
            buckets.entry(key).or_default().add(&s);
        }

        let spans = self.major_spans(q, &mapper, flag, now).await?;
        let names = self.group_names(q.group_by).await?;
        let mut out = Vec::with_capacity(buckets.len());
        for ((group, start), mut s) in buckets {
            let (from, to) = match (start, q.unit) {
                (Some(d), Some(u)) => (
                    Ord::max(tz::day_start(p.tz, d), p.from),
                    Ord::min(tz::day_start(p.tz, u.next(d)), p.to),
                ),
                _ => (p.from, p.to),
            };
            let len = Ord::max((to - from).num_seconds(), 1);
            let down = covered(
                spans.get(&group).cloned().unwrap_or_default(),
                from.timestamp(),
                to.timestamp(),
            );
            let [a50, a75, a90, a95] = quartiles(&mut s.ack);
            let [r50, r75, r90, r95] = quartiles(&mut s.resolve);
            let c = s.counts;
            out.push(MetricsRow {
                group_name: group
                    .as_ref()
                    .and_then(|g| names.get(g).cloned())
                    .or_else(|| {
                        matches!(q.group_by, GroupBy::Urgency | GroupBy::Flag)
                            .then(|| group.clone())
                            .flatten()
                    }),
                group_id: group,
                range_start: start.map(|d| tz::day_start(p.tz, d)),
                total_incident_count: s.n,
                mean_seconds_to_first_ack: mean(s.sums[0], s.have[0]),
                p50_seconds_to_first_ack: a50,
                p75_seconds_to_first_ack: a75,
                p90_seconds_to_first_ack: a90,
                p95_seconds_to_first_ack: a95,
                mean_seconds_to_resolve: mean(s.sums[1], s.have[1]),
                p50_seconds_to_resolve: r50,
                p75_seconds_to_resolve: r75,
                p90_seconds_to_resolve: r90,
                p95_seconds_to_resolve: r95,
                mean_seconds_to_engage: mean(s.sums[2], s.have[2]),
                mean_seconds_to_mobilize: mean(s.sums[3], s.have[3]),
                mean_engaged_seconds: mean(s.sums[4], s.have[4]),
                total_engaged_seconds: s.sums[4],
                mean_engaged_user_count: mean(c[0], s.n),
                mean_assignment_count: mean(c[1], s.n),
                total_escalation_count: c[2],
                total_notifications: c[3],
                total_interruptions: c[4],
                total_business_hour_interruptions: c[5],
                total_off_hour_interruptions: c[6],
                total_sleep_hour_interruptions: c[7],
                total_snoozed_seconds: c[8],
                total_incidents_acknowledged: c[9],
                total_incidents_auto_resolved: c[10],
                total_incidents_manual_escalated: c[11],
                total_incidents_timeout_escalated: c[12],
                total_incidents_reassigned: c[13],
                up_time_pct: 100.0 * (1.0 - down as f64 / len as f64),
            });
        }
        Ok(out)
    }

    /// The spans (creation → resolve, or → `now` while open) of the major
    /// incidents the question covers, per group.
    async fn major_spans(
        &self,
        q: &MetricsQuestion,
        mapper: &Mapper,
        flag: Option<&FlagRule>,
        now: DateTime<Utc>,
    ) -> Result<HashMap<Option<String>, Vec<(i64, i64)>>, AnalyticsError> {
        let mut stmt = self.question(q, mapper, flag);
        stmt.and_where(fact(ia::Column::Major).eq(true))
            .expr_as(col(incident::Column::CreatedAt), Alias::new("created_at"))
            .expr_as(col(incident::Column::ResolvedAt), Alias::new("resolved_at"));
        let mut out: HashMap<Option<String>, Vec<(i64, i64)>> = HashMap::new();
        for row in self.db.query_all(&stmt).await? {
            let g: Option<String> = row.try_get("", "g")?;
            let g = g.filter(|s| !(q.group_by == GroupBy::All && s.is_empty()));
            let created: DateTime<Utc> = row.try_get("", "created_at")?;
            let resolved: Option<DateTime<Utc>> = row.try_get("", "resolved_at")?;
            out.entry(g)
                .or_default()
                .push((created.timestamp(), resolved.unwrap_or(now).timestamp()));
        }
        Ok(out)
    }

    /// The incidents a question covers, joined to their facts, with their
    /// group selected as `g`.
    fn question(
        &self,
        q: &MetricsQuestion,
        mapper: &Mapper,
        flag: Option<&FlagRule>,
    ) -> SelectStatement {
        let p = &q.params;
        let mut stmt = self.base(p, mapper);
        stmt.join(
            JoinType::InnerJoin,
            ia::Entity,
            Expr::col((ia::Entity, ia::Column::IncidentId))
                .equals((incident::Entity, incident::Column::Id)),
        );
        let group: Expr = match q.group_by {
            GroupBy::All => Expr::cust("''"),
            GroupBy::Service => col(incident::Column::ServiceId),
            GroupBy::EscalationPolicy => col(incident::Column::EscalationPolicyId),
            GroupBy::Priority => col(incident::Column::PriorityId),
            GroupBy::Urgency => col(incident::Column::Urgency),
            GroupBy::Team => {
                let mut on = Condition::all().add(
                    Expr::col((service_team::Entity, service_team::Column::ServiceId))
                        .equals((incident::Entity, incident::Column::ServiceId)),
                );
                // A scoped caller sees its own teams' groups only.
                if let Some(teams) = p.scope.team_ids() {
                    on = on.add(
                        Expr::col((service_team::Entity, service_team::Column::TeamId))
                            .is_in(teams.to_vec()),
                    );
                }
                stmt.join(JoinType::LeftJoin, service_team::Entity, on);
                Expr::col((service_team::Entity, service_team::Column::TeamId))
            }
            GroupBy::Flag => Expr::case(
                flag.map_or_else(|| Expr::cust("1 = 0"), |r| r.condition()),
                Expr::cust("'true'"),
            )
            .finally(Expr::cust("'false'"))
            .into(),
        };
        stmt.cond_where(filter_condition(&q.filters));
        stmt.expr_as(group, Alias::new("g"));
        stmt
    }

    /// Display names of the groups.
    async fn group_names(&self, by: GroupBy) -> Result<HashMap<String, String>, DbErr> {
        let pairs: Vec<(String, String)> = match by {
            GroupBy::Service => {
                service::Entity::find()
                    .select_only()
                    .columns([service::Column::Id, service::Column::Name])
                    .into_tuple()
                    .all(&self.db)
                    .await?
            }
            GroupBy::Team => {
                team::Entity::find()
                    .select_only()
                    .columns([team::Column::Id, team::Column::Name])
                    .into_tuple()
                    .all(&self.db)
                    .await?
            }
            GroupBy::EscalationPolicy => {
                escalation_policy::Entity::find()
                    .select_only()
                    .columns([
                        escalation_policy::Column::Id,
                        escalation_policy::Column::Name,
                    ])
                    .into_tuple()
                    .all(&self.db)
                    .await?
            }
            GroupBy::Priority => {
                priority::Entity::find()
                    .select_only()
                    .columns([priority::Column::Id, priority::Column::Name])
                    .into_tuple()
                    .all(&self.db)
                    .await?
            }
            _ => Vec::new(),
        };
        Ok(pairs.into_iter().collect())
    }
}

/// PagerDuty's filters as a condition on the incident and its facts.
fn filter_condition(f: &MetricFilters) -> Condition {
    use incident::Column as I;
    let mut c = Condition::all();
    if let Some(u) = &f.urgency {
        c = c.add(col(I::Urgency).eq(u.clone()));
    }
    if let Some(m) = f.major {
        c = c.add(fact(ia::Column::Major).eq(m));
    }
    if !f.service_ids.is_empty() {
        c = c.add(col(I::ServiceId).is_in(f.service_ids.clone()));
    }
    if !f.team_ids.is_empty() {
        c = c.add(
            col(I::ServiceId).in_subquery(
                Query::select()
                    .column(service_team::Column::ServiceId)
                    .from(service_team::Entity)
                    .and_where(service_team::Column::TeamId.is_in(f.team_ids.clone()))
                    .to_owned(),
            ),
        );
    }
    if !f.escalation_policy_ids.is_empty() {
        c = c.add(col(I::EscalationPolicyId).is_in(f.escalation_policy_ids.clone()));
    }
    if !f.priority_ids.is_empty() {
        c = c.add(col(I::PriorityId).is_in(f.priority_ids.clone()));
    }
    for (min, column) in [
        (f.min_acknowledgements, ia::Column::AcknowledgementCount),
        (
            f.min_timeout_escalations,
            ia::Column::TimeoutEscalationCount,
        ),
        (f.min_manual_escalations, ia::Column::ManualEscalationCount),
    ] {
        if let Some(n) = min {
            c = c.add(fact(column).gte(n));
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_merges_overlaps_and_clips_to_the_range() {
        assert_eq!(covered(vec![], 0, 100), 0);
        assert_eq!(covered(vec![(10, 20), (15, 30), (50, 60)], 0, 100), 30);
        assert_eq!(covered(vec![(-10, 5), (95, 200)], 0, 100), 10);
        assert_eq!(covered(vec![(0, 100), (20, 30)], 0, 100), 100);
    }

    #[test]
    fn quartiles_by_nearest_rank() {
        let mut v: Vec<i64> = (1..=20).rev().collect();
        assert_eq!(quartiles(&mut v), [Some(10), Some(15), Some(18), Some(19)]);
        assert_eq!(quartiles(&mut []), [None, None, None, None]);
        assert_eq!(quartiles(&mut [7]), [Some(7), Some(7), Some(7), Some(7)]);
    }
}
