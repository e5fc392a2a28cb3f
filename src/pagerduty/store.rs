//! Writing PagerDuty data into our tables. Upserts compare before they write:
//! an unchanged object is not touched (its `updated_at` stays), so a second
//! identical sync changes nothing. Join tables are replaced by set
//! difference. Objects that vanished upstream are marked deleted, never
//! dropped. Every function works inside the caller's transaction.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, Set,
};

use crate::db::bulk;
use crate::entities::*;
use sea_orm::sea_query::OnConflict;

/// How many rows an upsert inserted, updated and left alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
    }
}

/// A row the sync owns, keyed by its PagerDuty id.
pub trait SyncRow:
    Clone + PartialEq + Send + Sync + Sized + IntoActiveModel<Self::Active> + 'static
{
    type Entity: EntityTrait<Model = Self>;
    type Active: ActiveModelTrait<Entity = Self::Entity> + sea_orm::ActiveModelBehavior + Send;
    fn id_column() -> <Self::Entity as EntityTrait>::Column;
    fn id(&self) -> &str;
    fn stamps(&mut self) -> (&mut DateTime<Utc>, &mut DateTime<Utc>);
    /// Copies columns the sync does not own (derived or local) from the row
    /// already stored.
    fn keep_local(&mut self, _existing: &Self) {}
}

macro_rules! sync_row {
    ($module:ident $(, keep $($field:ident),*)?) => {
        impl SyncRow for $module::Model {
            type Entity = $module::Entity;
            type Active = $module::ActiveModel;
            fn id_column() -> $module::Column {
                $module::Column::Id
            }
            fn id(&self) -> &str {
                &self.id
            }
            fn stamps(&mut self) -> (&mut DateTime<Utc>, &mut DateTime<Utc>) {
                (&mut self.created_at, &mut self.updated_at)
            }
            $(fn keep_local(&mut self, existing: &Self) {
                $(self.$field = existing.$field.clone();)*
            })?
        }
    };
}

sync_row!(priority);
sync_row!(team);
sync_row!(user);
sync_row!(schedule);
sync_row!(escalation_policy);
sync_row!(escalation_rule);
sync_row!(service);
// An incident's creation time is PagerDuty's; the derived timing columns come
// from log entries, and the source, deletion and whether its custom fields
// were fetched are local.
sync_row!(incident, keep acknowledged_at, acknowledged_by_user_id, resolved_by_user_id, escalation_count, deleted_at, custom_fields_fetched);
sync_row!(incident_log_entry);
sync_row!(oncall_entry);

/// Inserts new rows and updates changed ones; unchanged rows are not written.
///
/// # Errors
/// Database errors only.
pub async fn upsert<R: SyncRow, C: ConnectionTrait>(
    db: &C,
    rows: Vec<R>,
    now: DateTime<Utc>,
) -> Result<Counts, DbErr>
where
    <R::Entity as EntityTrait>::Model: Sync,
{
    Ok(upsert_changed(db, rows, now).await?.0)
}

/// The ids an upsert wrote.
#[derive(Debug, Default)]
pub struct Written {
    pub inserted: Vec<String>,
    pub updated: Vec<String>,
}

impl Written {
    /// Inserted and updated ids.
    pub fn all(&self) -> Vec<String> {
        self.inserted.iter().chain(&self.updated).cloned().collect()
    }
}

/// [`upsert`], also returning the ids it inserted and updated. Reads the
/// stored rows in one query per 500 ids and writes in multi-row statements
/// (an update is an insert that takes the conflict branch).
///
/// # Errors
/// Database errors only.
pub async fn upsert_changed<R: SyncRow, C: ConnectionTrait>(
    db: &C,
    rows: Vec<R>,
    now: DateTime<Utc>,
) -> Result<(Counts, Written), DbErr>
where
    <R::Entity as EntityTrait>::Model: Sync,
{
    use sea_orm::Iterable;
    let mut counts = Counts::default();
    if rows.is_empty() {
        return Ok((counts, Written::default()));
    }
    // Last one wins when a page repeats an id; first-seen order is kept.
    let mut order: Vec<String> = Vec::with_capacity(rows.len());
    let mut by_id: HashMap<String, R> = HashMap::with_capacity(rows.len());
    for r in rows {
        if by_id.insert(r.id().to_owned(), r.clone()).is_none() {
            order.push(r.id().to_owned());
        }
    }
    let mut existing: HashMap<String, R> = HashMap::new();
    for chunk in order.chunks(500) {
        for m in R::Entity::find()
            .filter(R::id_column().is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            existing.insert(m.id().to_owned(), m);
        }
    }
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    let mut written = Written::default();
    for id in order {
        let mut row = by_id.remove(&id).expect("every id has its row");
        match existing.get(&id) {
            Some(old) => {
                row.keep_local(old);
                let (c, u) = row.stamps();
                *c = *old.clone().stamps().0;
                *u = *old.clone().stamps().1;
                if &row == old {
                    counts.unchanged += 1;
                    continue;
                }
                *row.stamps().1 = now;
                written.updated.push(id);
                updates.push(row);
            }
            None => {
                written.inserted.push(id);
                inserts.push(row);
            }
        }
    }
    counts.inserted = inserts.len() as u64;
    counts.updated = updates.len() as u64;
    // A concurrent writer (a webhook, another replica) may have inserted
    // the same object since the read: its copy stands.
    bulk::insert(
        db,
        inserts
            .into_iter()
            .map(|r| r.into_active_model().reset_all())
            .collect(),
        Some(OnConflict::column(R::id_column()).do_nothing().to_owned()),
        200,
    )
    .await?;
    if !updates.is_empty() {
        let id_name = sea_orm::IdenStatic::as_str(&R::id_column()).to_owned();
        let columns: Vec<_> = <R::Entity as EntityTrait>::Column::iter()
            .filter(|c| sea_orm::IdenStatic::as_str(c) != id_name)
            .collect();
        bulk::insert(
            db,
            updates
                .into_iter()
                .map(|r| r.into_active_model().reset_all())
                .collect(),
            Some(
                OnConflict::column(R::id_column())
                    .update_columns(columns)
                    .to_owned(),
            ),
            200,
        )
        .await?;
    }
    Ok((counts, written))
}

/// Reference rows that the lists return whole: a row no longer listed is
/// marked deleted (kept, never dropped).
pub trait ListedRow: SyncRow {
    /// The `deleted_at` and `updated_at` columns.
    fn deletion_columns() -> (
        <Self::Entity as EntityTrait>::Column,
        <Self::Entity as EntityTrait>::Column,
    );
}

macro_rules! listed_row {
    ($($module:ident),*) => {$(
        impl ListedRow for $module::Model {
            fn deletion_columns() -> ($module::Column, $module::Column) {
                ($module::Column::DeletedAt, $module::Column::UpdatedAt)
            }
        }
    )*};
}

listed_row!(priority, team, user, schedule, escalation_policy, service);

/// Writes a whole list of reference rows: new and changed rows are
/// upserted, and rows the list no longer holds are marked deleted.
///
/// # Errors
/// Database errors only.
pub async fn replace_listed<R: ListedRow, C: ConnectionTrait>(
    db: &C,
    rows: Vec<R>,
    now: DateTime<Utc>,
) -> Result<Counts, DbErr>
where
    <R::Entity as EntityTrait>::Model: Sync,
{
    use sea_orm::QuerySelect;
    let seen: HashSet<String> = rows.iter().map(|r| r.id().to_owned()).collect();
    let counts = upsert(db, rows, now).await?;
    let (deleted_at, updated_at) = R::deletion_columns();
    let live: Vec<String> = R::Entity::find()
        .select_only()
        .column(R::id_column())
        .filter(deleted_at.is_null())
        .into_tuple::<String>()
        .all(db)
        .await?;
    let gone: Vec<String> = live.into_iter().filter(|i| !seen.contains(i)).collect();
    for chunk in gone.chunks(500) {
        R::Entity::update_many()
            .col_expr(deleted_at, sea_orm::sea_query::Expr::value(now))
            .col_expr(updated_at, sea_orm::sea_query::Expr::value(now))
            .filter(R::id_column().is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(counts)
}

/// The desired membership of a join table for some parents: parent id →
/// (child id → extra value such as a role).
pub type Links = HashMap<String, HashMap<String, Option<String>>>;

macro_rules! replace_links {
    ($(#[$doc:meta])* $fn:ident, $module:ident, $parent:ident / $Parent:ident, $child:ident / $Child:ident $(, $extra:ident)?) => {
        $(#[$doc])*
        ///
        /// # Errors
        /// Database errors only.
        pub async fn $fn<C: ConnectionTrait>(db: &C, links: &Links, now: DateTime<Utc>) -> Result<(), DbErr> {
            let parents: Vec<String> = links.keys().cloned().collect();
            for chunk in parents.chunks(500) {
                let current = $module::Entity::find()
                    .filter($module::Column::$Parent.is_in(chunk.to_vec()))
                    .all(db)
                    .await?;
                let mut have: HashMap<(String, String), $module::Model> = HashMap::new();
                for row in current {
                    have.insert((row.$parent.clone(), row.$child.clone()), row);
                }
                let mut inserts = Vec::new();
                for parent in chunk {
                    for (child, _extra) in &links[parent] {
                        let key = (parent.clone(), child.clone());
                        match have.remove(&key) {
                            Some(_row) => {
                                $(if _row.$extra != *_extra {
                                    $module::Entity::update_many()
                                        .col_expr($module::Column::Role, sea_orm::sea_query::Expr::value(_extra.clone()))
                                        .col_expr($module::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
                                        .filter($module::Column::$Parent.eq(parent.clone()))
                                        .filter($module::Column::$Child.eq(child.clone()))
                                        .exec(db)
                                        .await?;
                                })?
                            }
                            None => inserts.push($module::ActiveModel {
                                $parent: Set(parent.clone()),
                                $child: Set(child.clone()),
                                $($extra: Set(_extra.clone()),)?
                                created_at: Set(now),
                                updated_at: Set(now),
                            }),
                        }
                    }
                }
                for ((parent, child), _) in have {
                    $module::Entity::delete_many()
                        .filter($module::Column::$Parent.eq(parent))
                        .filter($module::Column::$Child.eq(child))
                        .exec(db)
                        .await?;
                }
                bulk::insert(
                    db,
                    inserts,
                    Some(
                        OnConflict::columns([$module::Column::$Parent, $module::Column::$Child])
                            .do_nothing()
                            .to_owned(),
                    ),
                    200,
                )
                .await?;
            }
            Ok(())
        }
    };
}

replace_links!(/// Sets the teams of services.
    replace_service_teams, service_team, service_id / ServiceId, team_id / TeamId);
replace_links!(/// Sets the members of teams, with their role.
    replace_team_members, team_member, team_id / TeamId, user_id / UserId, role);
replace_links!(/// Sets the members of schedules.
    replace_schedule_users, schedule_user, schedule_id / ScheduleId, user_id / UserId);
replace_links!(/// Sets the teams of escalation policies.
    replace_escalation_policy_teams, escalation_policy_team, escalation_policy_id / EscalationPolicyId, team_id / TeamId);
replace_links!(/// Sets the services of escalation policies.
    replace_escalation_policy_services, escalation_policy_service, escalation_policy_id / EscalationPolicyId, service_id / ServiceId);
replace_links!(/// Sets the assignees of incidents.
    replace_incident_assignees, incident_assignee, incident_id / IncidentId, user_id / UserId);

/// Sets the targets of escalation rules (rule id → ordered (type, id)).
///
/// # Errors
/// Database errors only.
pub async fn replace_rule_targets<C: ConnectionTrait>(
    db: &C,
    targets: &HashMap<String, Vec<(String, String)>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for (rule, wanted) in targets {
        let current = escalation_rule_target::Entity::find()
            .filter(escalation_rule_target::Column::RuleId.eq(rule.clone()))
            .all(db)
            .await?;
        let have: BTreeSet<(String, String, i32)> = current
            .iter()
            .map(|t| (t.target_type.clone(), t.target_id.clone(), t.position))
            .collect();
        let want: BTreeSet<(String, String, i32)> = wanted
            .iter()
            .enumerate()
            .map(|(i, (k, id))| (k.clone(), id.clone(), i as i32))
            .collect();
        if have == want {
            continue;
        }
        escalation_rule_target::Entity::delete_many()
            .filter(escalation_rule_target::Column::RuleId.eq(rule.clone()))
            .exec(db)
            .await?;
        let mut seen = HashSet::new();
        let rows: Vec<_> = want
            .into_iter()
            .filter(|(k, id, _)| seen.insert((k.clone(), id.clone())))
            .map(|(k, id, pos)| escalation_rule_target::ActiveModel {
                rule_id: Set(rule.clone()),
                target_type: Set(k),
                target_id: Set(id),
                position: Set(pos),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .collect();
        if !rows.is_empty() {
            escalation_rule_target::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        escalation_rule_target::Column::RuleId,
                        escalation_rule_target::Column::TargetType,
                        escalation_rule_target::Column::TargetId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
        }
    }
    Ok(())
}

/// Ensures rows exist for ids that incidents reference but the catalogue
/// lists never returned (deleted before our first sync): a placeholder named
/// after PagerDuty's summary, marked deleted.
macro_rules! ensure_stubs {
    ($(#[$doc:meta])* $fn:ident, $module:ident, { $($field:ident: $value:expr),* $(,)? }) => {
        $(#[$doc])*
        ///
        /// # Errors
        /// Database errors only.
        pub async fn $fn<C: ConnectionTrait>(db: &C, refs: &HashMap<String, String>, now: DateTime<Utc>) -> Result<u64, DbErr> {
            if refs.is_empty() {
                return Ok(0);
            }
            let ids: Vec<String> = refs.keys().cloned().collect();
            let mut present = HashSet::new();
            for chunk in ids.chunks(500) {
                use sea_orm::QuerySelect;
                present.extend(
                    $module::Entity::find()
                        .select_only()
                        .column($module::Column::Id)
                        .filter($module::Column::Id.is_in(chunk.to_vec()))
                        .into_tuple::<String>()
                        .all(db)
                        .await?,
                );
            }
            let missing: Vec<_> = refs
                .iter()
                .filter(|(id, _)| !present.contains(*id))
                .map(|(id, name)| $module::ActiveModel {
                    id: Set(id.clone()),
                    name: Set(name.clone()),
                    deleted_at: Set(Some(now)),
                    created_at: Set(now),
                    updated_at: Set(now),
                    $($field: Set($value),)*
                })
                .collect();
            let n = missing.len() as u64;
            bulk::insert(
                db,
                missing,
                Some(OnConflict::column($module::Column::Id).do_nothing().to_owned()),
                200,
            )
            .await?;
            Ok(n)
        }
    };
}

ensure_stubs!(/// Placeholder users.
    ensure_users, user, { email: None, time_zone: None, role: None, job_title: None, invitation_sent: false, html_url: None });
ensure_stubs!(/// Placeholder services.
    ensure_services, service, { description: None, status: "disabled".to_owned(), escalation_policy_id: None, html_url: None, pd_created_at: None });
ensure_stubs!(/// Placeholder escalation policies.
    ensure_escalation_policies, escalation_policy, { description: None, num_loops: 0, html_url: None });
ensure_stubs!(/// Placeholder priorities.
    ensure_priorities, priority, { description: None, position: 99 });
ensure_stubs!(/// Placeholder teams.
    ensure_teams, team, { description: None, html_url: None });

/// Recomputes what is derived from log entries for these incidents: first
/// acknowledgement (time and user), escalation count (escalate entries, not
/// status), and who resolved it. Only changed rows are written, in one
/// statement per chunk. Returns how many, and the incidents whose log does
/// not show their status yet: resolved without a resolve entry, or
/// acknowledged without an acknowledgement (their entries are on their way,
/// or missing upstream).
///
/// # Errors
/// Database errors only.
pub async fn derive_incident_timing<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<(u64, HashSet<String>), DbErr> {
    use sea_orm::QuerySelect;
    let mut changed = 0;
    let mut unsettled = HashSet::new();
    for chunk in ids.chunks(500) {
        // Every entry of these incidents through the incident index; the
        // kinds are picked here (a kind filter in SQL lets SQLite choose the
        // kind index and scan every entry of that kind instead).
        let entries: Vec<TimingEntry> = incident_log_entry::Entity::find()
            .select_only()
            .columns([
                incident_log_entry::Column::IncidentId,
                incident_log_entry::Column::Id,
                incident_log_entry::Column::Kind,
                incident_log_entry::Column::AgentType,
                incident_log_entry::Column::AgentId,
                incident_log_entry::Column::CreatedAt,
            ])
            .filter(incident_log_entry::Column::IncidentId.is_in(chunk.to_vec()))
            .into_tuple::<(
                String,
                String,
                String,
                Option<String>,
                Option<String>,
                DateTime<Utc>,
            )>()
            .all(db)
            .await?
            .into_iter()
            .filter(|e| {
                matches!(
                    e.2.as_str(),
                    "acknowledge_log_entry" | "escalate_log_entry" | "resolve_log_entry"
                )
            })
            .map(
                |(incident_id, id, kind, agent_type, agent_id, created_at)| TimingEntry {
                    incident_id,
                    id,
                    kind,
                    agent_type,
                    agent_id,
                    created_at,
                },
            )
            .collect();
        let mut by_incident: HashMap<&str, Vec<&TimingEntry>> = HashMap::new();
        for e in &entries {
            by_incident
                .entry(e.incident_id.as_str())
                .or_default()
                .push(e);
        }
        let incidents = incident::Entity::find()
            .filter(incident::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        let mut rows = Vec::new();
        for mut inc in incidents {
            let list = by_incident.remove(inc.id.as_str()).unwrap_or_default();
            let timing = Timing::from_entries(&list);
            if (inc.status == "resolved" && timing.last_resolve_at.is_none())
                || (inc.status == "acknowledged" && timing.acknowledged_at.is_none())
            {
                unsettled.insert(inc.id.clone());
            }
            let resolved_at = inc.resolved_at.or(if inc.status == "resolved" {
                timing.last_resolve_at
            } else {
                None
            });
            if inc.acknowledged_at == timing.acknowledged_at
                && inc.acknowledged_by_user_id == timing.acknowledged_by
                && inc.escalation_count == timing.escalations
                && inc.resolved_by_user_id == timing.resolved_by
                && inc.resolved_at == resolved_at
            {
                continue;
            }
            inc.acknowledged_at = timing.acknowledged_at;
            inc.acknowledged_by_user_id = timing.acknowledged_by;
            inc.escalation_count = timing.escalations;
            inc.resolved_by_user_id = timing.resolved_by;
            inc.resolved_at = resolved_at;
            inc.updated_at = now;
            rows.push(inc);
        }
        changed += rows.len() as u64;
        // The rows exist: the insert always takes the conflict branch and
        // sets the derived columns only.
        bulk::insert(
            db,
            rows.into_iter()
                .map(IntoActiveModel::into_active_model)
                .collect(),
            Some(
                OnConflict::column(incident::Column::Id)
                    .update_columns([
                        incident::Column::AcknowledgedAt,
                        incident::Column::AcknowledgedByUserId,
                        incident::Column::EscalationCount,
                        incident::Column::ResolvedByUserId,
                        incident::Column::ResolvedAt,
                        incident::Column::UpdatedAt,
                    ])
                    .to_owned(),
            ),
            200,
        )
        .await?;
    }
    Ok((changed, unsettled))
}

/// The columns of a log entry that timing is derived from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimingEntry {
    pub incident_id: String,
    pub id: String,
    pub kind: String,
    pub agent_type: Option<String>,
    pub agent_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What an incident's log says about its timing (pure).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Timing {
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub escalations: i32,
    pub resolved_by: Option<String>,
    pub last_resolve_at: Option<DateTime<Utc>>,
}

impl Timing {
    pub fn from_entries(entries: &[&TimingEntry]) -> Self {
        let mut t = Timing::default();
        let user = |e: &TimingEntry| {
            e.agent_type
                .as_deref()
                .filter(|a| a.starts_with("user"))
                .and(e.agent_id.clone())
        };
        let mut sorted: Vec<&&TimingEntry> = entries.iter().collect();
        sorted.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        for e in sorted {
            match e.kind.as_str() {
                "acknowledge_log_entry" if t.acknowledged_at.is_none() => {
                    t.acknowledged_at = Some(e.created_at);
                    t.acknowledged_by = user(e);
                }
                "escalate_log_entry" => t.escalations += 1,
                "resolve_log_entry" => {
                    t.resolved_by = user(e);
                    t.last_resolve_at = Some(e.created_at);
                }
                _ => {}
            }
        }
        t
    }
}
