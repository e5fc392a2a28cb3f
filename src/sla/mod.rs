//! The SLA engine. Every incident gets two targets: *response* (time to the
//! first explicit acknowledgement) and *resolution* (time to resolve), each
//! measured by the most specific matching policy, around the clock or in a
//! business-hours calendar, with pauses taken out.
//!
//! - [`refresh`] (re)computes the targets of some incidents: the sync calls it
//!   for exactly the incidents a page changed, in the page's transaction;
//!   pauses, resumes and policy changes call it too. Closed targets keep the
//!   policy they were measured by unless a recompute is asked for.
//! - [`check`] is the periodic breach check: one conditional `UPDATE …
//!   RETURNING` marks every overdue target breached and one more marks every
//!   warning crossing; only the statement that changed a row writes its
//!   notification into the outbox, so two servers checking at once notify
//!   once.
//! - [`pause`] and [`resume`] keep every pause as history.
//!
//! The clock arithmetic is pure code in [`clock`] and [`calendar`].

pub mod calendar;
pub mod clock;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, DerivePartialModel, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;

use crate::config::SlaSettings;
use crate::entities::{
    business_calendar, incident, incident_log_entry, incident_sla_target, notification, priority,
    service_team, sla_event, sla_pause, sla_policy,
};
use crate::scope::Scope;
use calendar::BusinessCalendar;
use clock::{Clock, Pause};

/// The two targets of an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Response,
    Resolution,
}

impl Target {
    pub const ALL: [Target; 2] = [Target::Response, Target::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            Target::Response => "response",
            Target::Resolution => "resolution",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The target's place in [`Target::ALL`].
    pub fn index(self) -> usize {
        match self {
            Target::Response => 0,
            Target::Resolution => 1,
        }
    }
}

/// A target's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Active,
    Paused,
    Met,
    Breached,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "ACTIVE",
            State::Paused => "PAUSED",
            State::Met => "MET",
            State::Breached => "BREACHED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [State::Active, State::Paused, State::Met, State::Breached]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The reason of an automatic pause starts with this.
pub const WAITING_REASON: &str = "waiting: ";

/// Pauses the clocks of incidents whose mapped status is in the `WAITING`
/// category (see `incidents::status`), and resumes an automatic pause once
/// the incident no longer waits. A pause someone made by hand is left
/// alone. `pauses` (what was read of each incident's pauses) is kept up to
/// date with what this writes. Returns the events to annotate with their
/// reason.
async fn auto_pauses<C: ConnectionTrait>(
    db: &C,
    mapper: &crate::incidents::status::Mapper,
    l: &mut Loaded,
    now: DateTime<Utc>,
) -> Result<Vec<(String, &'static str, String)>, DbErr> {
    let mut notes = Vec::new();
    for i in &l.incidents {
        let waiting = (i.status != "resolved")
            .then(|| {
                mapper.map(
                    &i.source,
                    &i.status,
                    l.status_values.get(&i.id).map(String::as_str),
                )
            })
            .flatten()
            .filter(|m| m.category == "WAITING");
        let open = l
            .pauses
            .get(&i.id)
            .and_then(|v| v.iter().rposition(|p| p.ended_at.is_none()));
        match (waiting, open) {
            (Some(m), None) => {
                let reason = format!("{WAITING_REASON}{}", m.name);
                let p = sla_pause::ActiveModel {
                    incident_id: Set(i.id.clone()),
                    started_at: Set(now),
                    ended_at: Set(None),
                    reason: Set(reason.clone()),
                    paused_by_account_id: Set(None),
                    resumed_by_account_id: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(db)
                .await?;
                l.pauses.entry(i.id.clone()).or_default().push(p);
                notes.push((i.id.clone(), "paused", reason));
            }
            (None, Some(k)) => {
                let p = &mut l.pauses.get_mut(&i.id).expect("read above")[k];
                if p.paused_by_account_id.is_some() || !p.reason.starts_with(WAITING_REASON) {
                    continue;
                }
                let mut m: sla_pause::ActiveModel = p.clone().into();
                m.ended_at = Set(Some(now));
                m.updated_at = Set(now);
                *p = m.update(db).await?;
                notes.push((i.id.clone(), "resumed", "no longer waiting".to_owned()));
            }
            _ => {}
        }
    }
    Ok(notes)
}

#[derive(Debug, thiserror::Error)]
pub enum SlaError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] DbErr),
    /// A recompute told to stop: the batches done before stand.
    #[error("stopped after {done} incident(s), {written} target(s) written")]
    Stopped { done: usize, written: usize },
}

/// A policy candidate with its parsed conditions.
struct Policy {
    model: sla_policy::Model,
    priorities: Option<Vec<String>>,
}

impl Policy {
    fn specificity(&self) -> usize {
        [
            self.priorities.is_some(),
            self.model.urgency.is_some(),
            self.model.service_id.is_some(),
            self.model.team_id.is_some(),
        ]
        .into_iter()
        .filter(|b| *b)
        .count()
    }

    fn matches(&self, i: &SlaIncident, priority: Option<&str>, teams: &[String]) -> bool {
        self.priorities
            .as_ref()
            .is_none_or(|p| priority.is_some_and(|name| p.iter().any(|x| x == name)))
            && self.model.urgency.as_ref().is_none_or(|u| *u == i.urgency)
            && self
                .model
                .service_id
                .as_ref()
                .is_none_or(|s| i.service_id.as_ref() == Some(s))
            && self
                .model
                .team_id
                .as_ref()
                .is_none_or(|t| teams.contains(t))
    }
}

/// The most specific matching policy; ties go to the lowest id.
fn choose<'a>(
    policies: &'a [Policy],
    i: &SlaIncident,
    priority: Option<&str>,
    teams: &[String],
) -> Option<&'a Policy> {
    policies
        .iter()
        .filter(|p| p.matches(i, priority, teams))
        .max_by(|a, b| {
            a.specificity()
                .cmp(&b.specificity())
                .then(b.model.id.cmp(&a.model.id))
        })
}

/// Parses a stored calendar.
///
/// # Errors
/// A malformed stored value.
pub fn parse_calendar(c: &business_calendar::Model) -> Result<BusinessCalendar, SlaError> {
    let weekly: HashMap<String, Vec<String>> = serde_json::from_str(&c.weekly_hours)
        .map_err(|e| SlaError::BadInput(format!("weekly hours: {e}")))?;
    let mut days = Vec::new();
    for (day, windows) in weekly {
        let weekday: Weekday = day
            .parse()
            .map_err(|_| SlaError::BadInput(format!("{day:?} is not a weekday")))?;
        days.push((weekday, windows));
    }
    let holidays: Vec<NaiveDate> = serde_json::from_str(&c.holidays)
        .map_err(|e| SlaError::BadInput(format!("holidays: {e}")))?;
    BusinessCalendar::new(&c.time_zone, &days, &holidays)
        .map_err(|e| SlaError::BadInput(e.to_string()))
}

/// What [`compute`] decides for one target.
#[derive(Clone, Debug, PartialEq)]
pub struct Computed {
    pub state: State,
    pub deadline: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_secs: i64,
    pub used_secs: i64,
    pub wall_used_secs: i64,
    pub next_warning: Option<(DateTime<Utc>, f64)>,
    /// Why a closed target is breached (for the timeline).
    pub reason: Option<&'static str>,
}

/// Computes one target, purely. `stop` is the acknowledgement (response) or
/// resolution time; `resolved` the resolution time (a resolve without
/// acknowledgement closes the response target unmet).
#[allow(clippy::too_many_arguments)]
pub fn compute(
    clock: &Clock,
    target: Target,
    target_secs: i64,
    start: DateTime<Utc>,
    acknowledged: Option<DateTime<Utc>>,
    resolved: Option<DateTime<Utc>>,
    pauses: &[Pause],
    warned_share: f64,
    shares: &[f64],
    now: DateTime<Utc>,
) -> Computed {
    let stop = match target {
        Target::Response => acknowledged.or(resolved),
        Target::Resolution => resolved,
    };
    let until = stop.unwrap_or(now).max(start);
    let used = clock::elapsed(clock, start, until, pauses);
    let wall = clock::wall_elapsed(start, until, pauses);
    let paused_secs = (until - start).num_seconds() - wall;
    let deadline = clock::deadline(clock, start, target_secs, pauses);
    let mut c = Computed {
        state: State::Active,
        deadline,
        met_at: None,
        breached_at: None,
        paused_at: None,
        paused_secs,
        used_secs: used,
        wall_used_secs: wall,
        next_warning: None,
        reason: None,
    };
    if let Some(stop) = stop {
        let unacknowledged = target == Target::Response && acknowledged.is_none();
        if used <= target_secs && !unacknowledged {
            c.state = State::Met;
            c.met_at = Some(stop);
        } else {
            c.state = State::Breached;
            c.breached_at = Some(deadline.map_or(stop, |d| d.min(stop)));
            c.reason = Some(if unacknowledged {
                "resolved without an acknowledgement"
            } else {
                "closed after its deadline"
            });
        }
        return c;
    }
    if let Some(open) = pauses.iter().find(|p| p.end.is_none() && p.start <= now) {
        c.state = State::Paused;
        c.paused_at = Some(open.start);
        c.deadline = None;
        return c;
    }
    // The next warning: the highest share already crossed that has not been
    // announced, else the lowest one still ahead.
    let mut next = None;
    for &share in shares.iter().filter(|s| **s > warned_share) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let secs = (target_secs as f64 * share).round() as i64;
        if let Some(at) = clock::deadline(clock, start, secs, pauses) {
            if at <= now {
                next = Some((at, share));
            } else {
                if next.is_none() {
                    next = Some((at, share));
                }
                break;
            }
        }
    }
    c.next_warning = next;
    c
}

async fn load_policies<C: ConnectionTrait>(db: &C) -> Result<Vec<Policy>, DbErr> {
    Ok(sla_policy::Entity::find()
        .order_by_asc(sla_policy::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|model| Policy {
            priorities: model.priority_names.as_ref().map(|p| {
                p.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
            model,
        })
        .collect())
}

async fn load_clocks<C: ConnectionTrait>(db: &C) -> Result<HashMap<i32, Clock>, DbErr> {
    let mut out = HashMap::new();
    for c in business_calendar::Entity::find().all(db).await? {
        match parse_calendar(&c) {
            Ok(cal) => {
                out.insert(c.id, Clock::Business(cal));
            }
            Err(e) => {
                tracing::error!(calendar = c.id, error = %e, "unreadable business calendar; counting around the clock")
            }
        }
    }
    Ok(out)
}

/// The columns of an incident the engine reads.
#[derive(Clone, Debug, DerivePartialModel)]
#[sea_orm(entity = "incident::Entity")]
struct SlaIncident {
    id: String,
    status: String,
    urgency: String,
    priority_id: Option<String>,
    service_id: Option<String>,
    source: String,
    last_status_change_at: Option<DateTime<Utc>>,
    acknowledged_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// What every incident of a refresh is measured against, read once.
pub struct Context {
    policies: Vec<Policy>,
    clocks: HashMap<i32, Clock>,
    mapper: crate::incidents::status::Mapper,
    priority_names: HashMap<String, String>,
    /// Service → its teams.
    teams: HashMap<String, Vec<String>>,
}

impl Context {
    async fn load<C: ConnectionTrait>(db: &C, settings: &SlaSettings) -> Result<Self, DbErr> {
        let mut teams: HashMap<String, Vec<String>> = HashMap::new();
        for st in service_team::Entity::find().all(db).await? {
            teams.entry(st.service_id).or_default().push(st.team_id);
        }
        Ok(Self {
            policies: load_policies(db).await?,
            clocks: load_clocks(db).await?,
            mapper: crate::incidents::status::Mapper::load(db, settings.status_field.as_deref())
                .await?,
            priority_names: priority::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect(),
            teams,
        })
    }
}

/// What a refresh reads of some incidents before it computes their targets.
#[derive(Default)]
struct Loaded {
    incidents: Vec<SlaIncident>,
    /// The value of the status field (automatic pauses), by incident.
    status_values: HashMap<String, String>,
    /// Every pause, by incident.
    pauses: HashMap<String, Vec<sla_pause::Model>>,
    /// The latest cycle of each target (indexed by [`Target::index`]), by
    /// incident; earlier cycles are closed history and never rewritten.
    latest: HashMap<String, [Option<incident_sla_target::Model>; 2]>,
    /// The logged acknowledgements of the incidents in a later cycle.
    acks: HashMap<String, Vec<DateTime<Utc>>>,
}

/// `IN` lists of at most this many incident ids.
const LOAD_CHUNK: usize = 500;

/// Reads what a refresh of `ids` needs (missing and deleted incidents are
/// left out).
async fn load<C: ConnectionTrait>(
    db: &C,
    status_field: Option<&str>,
    ids: &[String],
) -> Result<Loaded, DbErr> {
    use crate::entities::incident_custom_field_value as cf;
    let mut l = Loaded::default();
    for chunk in ids.chunks(LOAD_CHUNK) {
        let incidents: Vec<SlaIncident> = incident::Entity::find()
            .filter(incident::Column::Id.is_in(chunk.iter().cloned()))
            .filter(incident::Column::DeletedAt.is_null())
            .into_partial_model()
            .all(db)
            .await?;
        if let Some(field) = status_field {
            for v in cf::Entity::find()
                .filter(cf::Column::IncidentId.is_in(chunk.iter().cloned()))
                .filter(cf::Column::Name.eq(field))
                .all(db)
                .await?
            {
                if let Some(text) = v.value_text {
                    l.status_values.insert(v.incident_id, text);
                }
            }
        }
        for p in sla_pause::Entity::find()
            .filter(sla_pause::Column::IncidentId.is_in(chunk.iter().cloned()))
            .order_by_asc(sla_pause::Column::Id)
            .all(db)
            .await?
        {
            l.pauses.entry(p.incident_id.clone()).or_default().push(p);
        }
        for t in incident_sla_target::Entity::find()
            .filter(incident_sla_target::Column::IncidentId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            let Some(target) = Target::parse(&t.target) else {
                continue;
            };
            let slot = &mut l.latest.entry(t.incident_id.clone()).or_default()[target.index()];
            if slot.as_ref().is_none_or(|o| o.cycle < t.cycle) {
                *slot = Some(t);
            }
        }
        let later: Vec<String> = incidents
            .iter()
            .filter(|i| cycle_start(i, l.resolution_of(&i.id)).0 > 1)
            .map(|i| i.id.clone())
            .collect();
        if !later.is_empty() {
            for e in incident_log_entry::Entity::find()
                .filter(incident_log_entry::Column::IncidentId.is_in(later))
                .filter(incident_log_entry::Column::Kind.eq("acknowledge_log_entry"))
                .all(db)
                .await?
            {
                l.acks.entry(e.incident_id).or_default().push(e.created_at);
            }
        }
        l.incidents.extend(incidents);
    }
    Ok(l)
}

impl Loaded {
    fn resolution_of(&self, id: &str) -> Option<&incident_sla_target::Model> {
        self.latest
            .get(id)
            .and_then(|t| t[Target::Resolution.index()].as_ref())
    }
}

/// Recomputes the SLA targets of `ids` (missing or deleted incidents are
/// skipped). With `rematch`, closed targets are measured again by today's
/// matching policy (an admin's deliberate recompute); otherwise they keep
/// theirs. Returns how many target rows were written.
///
/// # Errors
/// Database errors only.
pub async fn refresh<C: ConnectionTrait>(
    db: &C,
    settings: &SlaSettings,
    ids: &[String],
    rematch: bool,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let cx = Context::load(db, settings).await?;
    refresh_in(db, settings, &cx, ids, rematch, now).await
}

/// [`refresh`] with the policies, calendars, status mappings, priorities and
/// service teams kept in `cache` between calls (a sync refreshes once per
/// page). Each call still reads one fingerprint of those tables and reads
/// them again when it changed, so a policy saved during a sync counts from
/// the next page on.
///
/// # Errors
/// Database errors only.
pub async fn refresh_with<C: ConnectionTrait>(
    db: &C,
    settings: &SlaSettings,
    cache: &mut ContextCache,
    ids: &[String],
    rematch: bool,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let cx = cache.get(db, settings).await?;
    refresh_in(db, settings, cx, ids, rematch, now).await
}

async fn refresh_in<C: ConnectionTrait>(
    db: &C,
    settings: &SlaSettings,
    cx: &Context,
    ids: &[String],
    rematch: bool,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let mut written = 0;
    for chunk in ids.chunks(LOAD_CHUNK) {
        let loaded = load(db, settings.status_field.as_deref(), chunk).await?;
        written += apply(db, settings, cx, loaded, rematch, now).await?;
    }
    Ok(written)
}

/// The tables an SLA [`Context`] is read from.
const CONTEXT_TABLES: [&str; 5] = [
    "sla_policies",
    "business_calendars",
    "status_mappings",
    "priorities",
    "service_teams",
];

/// One statement: the row count and latest `updated_at` of each of
/// [`CONTEXT_TABLES`], as text.
static FINGERPRINT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let parts: Vec<String> = CONTEXT_TABLES
        .iter()
        .map(|t| {
            format!(
                "(SELECT CAST(COUNT(*) AS TEXT) || '/' || \
                 COALESCE(CAST(MAX(updated_at) AS TEXT), '') FROM {t})"
            )
        })
        .collect();
    format!("SELECT {} AS f", parts.join(" || ';' || "))
});

/// A [`Context`] kept between refreshes with the fingerprint of the tables
/// it was read from: their row counts and latest `updated_at`. Every writer
/// of those tables stamps `updated_at`; a deletion changes the count.
#[derive(Default)]
pub struct ContextCache {
    held: Option<(String, Context)>,
}

impl ContextCache {
    async fn get<C: ConnectionTrait>(
        &mut self,
        db: &C,
        settings: &SlaSettings,
    ) -> Result<&Context, DbErr> {
        let fingerprint: String = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                FINGERPRINT_SQL.as_str(),
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the SLA context fingerprint".into()))?
            .try_get("", "f")?;
        let held = match self.held.take() {
            Some((held, cx)) if held == fingerprint => (held, cx),
            // Read after the fingerprint: a change committed in between
            // makes the next fingerprint differ, and the context is read
            // again.
            _ => (fingerprint, Context::load(db, settings).await?),
        };
        Ok(&self.held.insert(held).1)
    }
}

/// The SLA cycle an incident is measured in now.
struct Cycle {
    number: i32,
    start: DateTime<Utc>,
    /// The first acknowledgement within the cycle.
    acknowledged: Option<DateTime<Utc>>,
    /// The resolve that ends the cycle.
    resolved: Option<DateTime<Utc>>,
}

impl Cycle {
    fn started_reason(&self, policy: &str) -> String {
        if self.number == 1 {
            format!("policy {policy}")
        } else {
            format!("reopened: cycle {} by policy {policy}", self.number)
        }
    }
}

/// The number and start of an incident's current cycle, given the latest
/// resolution target it has. The first starts at creation. An incident that
/// is not resolved although its latest cycle's resolution target was closed
/// (resolved) has been reopened: a new cycle starts when it left
/// `resolved`, and the earlier one stays as it was measured.
fn cycle_start(
    i: &SlaIncident,
    latest: Option<&incident_sla_target::Model>,
) -> (i32, DateTime<Utc>) {
    match latest {
        Some(r) if i.status != "resolved" && r.closed_at.is_some() => {
            let closed = r.closed_at.unwrap_or(r.started_at);
            let reopened = i
                .last_status_change_at
                .filter(|t| *t > closed)
                .unwrap_or(i.updated_at.max(closed));
            (r.cycle + 1, reopened)
        }
        // The first cycle follows the incident's creation time (a sync may
        // correct it); later ones keep when they started.
        Some(r) if r.cycle > 1 => (r.cycle, r.started_at),
        _ => (1, i.created_at),
    }
}

/// An incident's current cycle. Within a later cycle only an
/// acknowledgement logged after its start meets the response target (or,
/// with no log entry yet, the incident's acknowledged status).
fn cycle_of(
    i: &SlaIncident,
    latest: Option<&incident_sla_target::Model>,
    acks: Option<&Vec<DateTime<Utc>>>,
) -> Cycle {
    let resolved = (i.status == "resolved")
        .then(|| i.resolved_at.or(i.last_status_change_at))
        .flatten();
    let (number, start) = cycle_start(i, latest);
    if number == 1 {
        return Cycle {
            number,
            start,
            acknowledged: i.acknowledged_at,
            resolved,
        };
    }
    let logged = acks.and_then(|v| v.iter().filter(|t| **t >= start).min().copied());
    Cycle {
        number,
        start,
        acknowledged: logged.or_else(|| {
            (i.status == "acknowledged")
                .then(|| i.last_status_change_at.map_or(start, |t| t.max(start)))
        }),
        resolved: resolved.filter(|r| *r >= start),
    }
}

/// Computes and writes the targets of what [`load`] read.
async fn apply<C: ConnectionTrait>(
    db: &C,
    settings: &SlaSettings,
    cx: &Context,
    l: Loaded,
    rematch: bool,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    Ok(apply_guarded(db, settings, cx, l, rematch, now, false)
        .await?
        .unwrap_or_default())
}

/// [`apply`]; `guarded`, a target that changed after `l` was read is not
/// overwritten, and `None` says so before anything else is written (the
/// caller rolls back what was).
#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
async fn apply_guarded<C: ConnectionTrait>(
    db: &C,
    settings: &SlaSettings,
    cx: &Context,
    mut l: Loaded,
    rematch: bool,
    now: DateTime<Utc>,
    guarded: bool,
) -> Result<Option<usize>, DbErr> {
    let notes = auto_pauses(db, &cx.mapper, &mut l, now).await?;
    let around = Clock::AroundTheClock;
    let no_teams = Vec::new();
    let mut events = Vec::new();
    let mut rows = Vec::with_capacity(l.incidents.len() * 2);
    for i in &l.incidents {
        let priority = i
            .priority_id
            .as_ref()
            .and_then(|p| cx.priority_names.get(p));
        let its_teams = i
            .service_id
            .as_ref()
            .and_then(|s| cx.teams.get(s))
            .unwrap_or(&no_teams);
        let chosen = choose(&cx.policies, i, priority.map(String::as_str), its_teams);
        let its_pauses: Vec<Pause> = l.pauses.get(&i.id).map_or_else(Vec::new, |v| {
            v.iter()
                .map(|p| Pause {
                    start: p.started_at,
                    end: p.ended_at,
                })
                .collect()
        });
        let latest = l.latest.get(&i.id);
        let cycle = cycle_of(
            i,
            latest.and_then(|t| t[Target::Resolution.index()].as_ref()),
            l.acks.get(&i.id),
        );
        let resolved = cycle.resolved;
        let mut policy_changed = Vec::new();
        for target in Target::ALL {
            let old = latest
                .and_then(|t| t[target.index()].as_ref())
                .filter(|o| o.cycle == cycle.number);
            // Closed: it had already stopped (acknowledged or resolved) when
            // it was last computed.
            let stop = match target {
                Target::Response => cycle.acknowledged.or(resolved),
                Target::Resolution => resolved,
            };
            let closed = old.is_some_and(|o| {
                matches!(State::parse(&o.state), Some(State::Met | State::Breached))
                    && stop.is_some_and(|s| s <= o.computed_at)
            });
            // Closed targets keep the policy they were measured by.
            let (policy_id, policy_name, target_secs, calendar_id) = match (old, chosen) {
                (Some(o), _) if closed && !rematch => (
                    o.policy_id,
                    o.policy_name.clone(),
                    o.target_secs,
                    o.calendar_id,
                ),
                (_, Some(p)) => (
                    Some(p.model.id),
                    p.model.name.clone(),
                    match target {
                        Target::Response => p.model.response_target_secs,
                        Target::Resolution => p.model.resolution_target_secs,
                    },
                    p.model.calendar_id,
                ),
                (Some(o), None) => (
                    o.policy_id,
                    o.policy_name.clone(),
                    o.target_secs,
                    o.calendar_id,
                ),
                (None, None) => continue,
            };
            let clock = calendar_id
                .and_then(|c| cx.clocks.get(&c))
                .unwrap_or(&around);
            let warned = old.map_or(0.0, |o| o.warned_share);
            let mut c = compute(
                clock,
                target,
                target_secs,
                cycle.start,
                cycle.acknowledged,
                resolved,
                &its_pauses,
                warned,
                &settings.warning_shares,
                now,
            );
            // An open target the breach check already marked stays breached
            // while its deadline is still past.
            let old_state = old.and_then(|o| State::parse(&o.state));
            if c.state == State::Active
                && old_state == Some(State::Breached)
                && c.deadline.is_some_and(|d| d <= now)
            {
                c.state = State::Breached;
                c.breached_at = old.and_then(|o| o.breached_at).or(c.deadline);
            }
            let breach_notified_at = match (c.state, old) {
                // Closed late before any check saw it: recorded, not announced.
                (State::Breached, Some(o)) if o.breach_notified_at.is_some() => {
                    o.breach_notified_at
                }
                (State::Breached, _) if c.reason.is_some() => Some(now),
                (State::Breached, Some(o)) => o.breach_notified_at,
                _ => None,
            };
            if old_state != Some(c.state) {
                let (kind, reason) = match c.state {
                    State::Active if old.is_none() => {
                        ("started", cycle.started_reason(&policy_name))
                    }
                    State::Active => ("resumed", "clock running".to_owned()),
                    State::Paused => ("paused", "clock stopped".to_owned()),
                    State::Met => ("met", format!("within {target_secs} s")),
                    State::Breached => {
                        ("breached", c.reason.unwrap_or("deadline passed").to_owned())
                    }
                };
                if old.is_none() && c.state != State::Active {
                    events.push((
                        i.id.clone(),
                        Some(target),
                        "started",
                        cycle.start,
                        cycle.started_reason(&policy_name),
                    ));
                }
                let at = c.met_at.or(c.breached_at).or(c.paused_at).unwrap_or(now);
                events.push((i.id.clone(), Some(target), kind, at, reason));
            } else if old.is_some_and(|o| o.policy_id != policy_id || o.target_secs != target_secs)
            {
                policy_changed.push((target, format!("now measured by {policy_name}")));
            }
            let closed_at = match c.state {
                State::Met => c.met_at,
                State::Breached if c.reason.is_some() => stop,
                _ => None,
            };
            let row = incident_sla_target::Model {
                id: old.map_or(0, |o| o.id),
                incident_id: i.id.clone(),
                target: target.as_str().to_owned(),
                cycle: cycle.number,
                policy_id,
                policy_name,
                target_secs,
                calendar_id,
                started_at: cycle.start,
                closed_at,
                state: c.state.as_str().to_owned(),
                deadline: c.deadline,
                met_at: c.met_at,
                breached_at: c.breached_at,
                breach_notified_at,
                paused_at: c.paused_at,
                paused_secs: c.paused_secs,
                used_secs: c.used_secs,
                wall_used_secs: c.wall_used_secs,
                warned_share: warned,
                next_warning_at: c.next_warning.map(|w| w.0),
                next_warning_share: c.next_warning.map(|w| w.1),
                computed_at: now,
                created_at: old.map_or(now, |o| o.created_at),
                updated_at: now,
            };
            // A closed target that comes out as it stands is not written
            // again (a recompute of closed targets): only the time it was
            // computed would change. Open ones are always written: their
            // `computed_at` dates the time used, and a target that stopped
            // after it was last computed is closed by this write.
            if let Some(o) = old
                && closed_at.is_some()
                && stop.is_some_and(|s| s <= o.computed_at)
                && *o
                    == (incident_sla_target::Model {
                        computed_at: o.computed_at,
                        updated_at: o.updated_at,
                        ..row.clone()
                    })
            {
                continue;
            }
            let mut row = row.into_active_model();
            row.id = sea_orm::ActiveValue::NotSet;
            if guarded && let Some(o) = old {
                // An update never writes `created_at`: in a guarded write it
                // carries the `updated_at` the target was read with, which
                // the update requires of the row (see `upsert_targets`).
                row.created_at = Set(o.updated_at);
            }
            rows.push(row);
        }
        // Both targets moved to one policy: one event for the incident.
        if let [(_, a), (_, b)] = &policy_changed[..]
            && a == b
        {
            events.push((i.id.clone(), None, "policy_changed", now, a.clone()));
        } else {
            for (target, reason) in policy_changed {
                events.push((i.id.clone(), Some(target), "policy_changed", now, reason));
            }
        }
    }
    let written = rows.len();
    if upsert_targets(db, rows, guarded).await? < written as u64 {
        return Ok(None);
    }
    // 7 bound values a row: 4,000 rows stay under SQLite's 32,766
    // parameters.
    crate::db::bulk::insert(
        db,
        events
            .into_iter()
            .map(
                |(incident_id, target, kind, at, reason)| sla_event::ActiveModel {
                    incident_id: Set(incident_id),
                    target: Set(target.map(|t| t.as_str().to_owned())),
                    kind: Set(kind.to_owned()),
                    at: Set(at),
                    reason: Set(reason),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                },
            )
            .collect(),
        None,
        4_000,
    )
    .await?;
    for (id, kind, reason) in notes {
        note(db, &id, kind, now, &reason).await?;
    }
    Ok(Some(written))
}

/// Writes computed targets in multi-row statements: one
/// `INSERT … ON CONFLICT (incident_id, target, cycle) DO UPDATE` per batch,
/// so a refresh costs a few statements per chunk rather than one per target,
/// and two refreshes of one incident at the same moment (a webhook racing
/// the sync) both succeed, the later one standing.
///
/// `guarded`, an existing row is only updated while its `updated_at` is
/// still the one it was read with, which the caller passes in the row's
/// `created_at` (an update never writes that column; a row that is new
/// keeps its own). Returns how many rows were inserted or updated: fewer
/// than given means some changed since they were read.
async fn upsert_targets<C: ConnectionTrait>(
    db: &C,
    rows: Vec<incident_sla_target::ActiveModel>,
    guarded: bool,
) -> Result<u64, DbErr> {
    use incident_sla_target::Column as T;
    // 23 bound values a row: 1,000 rows stay under SQLite's 32,766
    // parameters and PostgreSQL's 65,535.
    const BATCH: usize = 1_000;
    crate::db::bulk::insert(
        db,
        rows,
        Some(
            sea_orm::sea_query::OnConflict::columns([T::IncidentId, T::Target, T::Cycle])
                .update_columns([
                    T::PolicyId,
                    T::PolicyName,
                    T::TargetSecs,
                    T::CalendarId,
                    T::StartedAt,
                    T::State,
                    T::Deadline,
                    T::MetAt,
                    T::BreachedAt,
                    T::BreachNotifiedAt,
                    T::PausedAt,
                    T::PausedSecs,
                    T::UsedSecs,
                    T::WallUsedSecs,
                    T::WarnedShare,
                    T::NextWarningAt,
                    T::NextWarningShare,
                    T::ComputedAt,
                    T::ClosedAt,
                    T::UpdatedAt,
                ])
                .action_and_where_option(guarded.then(|| {
                    sea_orm::sea_query::Expr::cust(
                        "incident_sla_targets.updated_at = excluded.created_at",
                    )
                }))
                .to_owned(),
        ),
        BATCH,
    )
    .await
}

/// What one breach check did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub breached: usize,
    pub warned: usize,
}

/// How many targets one transaction of the breach check claims at most: a
/// backlog (a server that was down for a day) is worked through in
/// transactions of this size, so memory and lock time stay bounded.
const CHECK_BATCH: u64 = 5_000;

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
fn of_live_incidents() -> Expr {
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
fn state_is(s: State) -> Expr {
    use sea_orm::sea_query::ExprTrait;
    Expr::col((
        incident_sla_target::Entity,
        incident_sla_target::Column::State,
    ))
    .eq(Expr::cust(format!("'{}'", s.as_str())))
}

/// One transaction of [`check`]: claims up to `batch` overdue targets and
/// as many warning crossings, earliest first.
async fn check_batch<C: ConnectionTrait>(
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

async fn visible_incident<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    id: &str,
) -> Result<incident::Model, SlaError> {
    crate::incidents::find_live(db, scope, id)
        .await?
        .ok_or_else(|| SlaError::NotFound(format!("No incident with id {id:?}")))
}

/// Pauses an incident's open SLA clocks.
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
    let now = Utc::now();
    sla_pause::ActiveModel {
        incident_id: Set(i.id.clone()),
        started_at: Set(now),
        ended_at: Set(None),
        reason: Set(reason.to_owned()),
        paused_by_account_id: Set(by),
        resumed_by_account_id: Set(None),
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

/// Resumes an incident's paused SLA clocks.
///
/// # Errors
/// Unknown incident, or its SLA is not paused.
pub async fn resume<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    settings: &SlaSettings,
    scope: &Scope,
    by: Option<i32>,
    incident_id: &str,
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
    let now = Utc::now();
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
async fn note<C: ConnectionTrait>(
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

/// The SLA targets of each incident (current cycle), response first.
///
/// # Errors
/// Database errors only.
pub async fn targets_of<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<incident_sla_target::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select = incident_sla_target::Entity::find()
        .filter(incident_sla_target::Column::IncidentId.is_in(ids.to_vec()));
    if let Some(c) = scope.incident_ids_condition(incident_sla_target::Column::IncidentId) {
        select = select.filter(c);
    }
    let mut out: HashMap<String, Vec<incident_sla_target::Model>> = HashMap::new();
    for t in select
        .order_by_desc(incident_sla_target::Column::Cycle)
        .order_by_desc(incident_sla_target::Column::Target)
        .all(db)
        .await?
    {
        let list = out.entry(t.incident_id.clone()).or_default();
        // Only the current (latest) cycle.
        if list.first().is_none_or(|f| f.cycle == t.cycle) {
            list.push(t);
        }
    }
    Ok(out)
}

/// The SLA timeline of each incident, oldest first.
///
/// # Errors
/// Database errors only.
pub async fn events_of<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<sla_event::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select =
        sla_event::Entity::find().filter(sla_event::Column::IncidentId.is_in(ids.to_vec()));
    if let Some(c) = scope.incident_ids_condition(sla_event::Column::IncidentId) {
        select = select.filter(c);
    }
    let mut out: HashMap<String, Vec<sla_event::Model>> = HashMap::new();
    for e in select
        .order_by_asc(sla_event::Column::At)
        .order_by_asc(sla_event::Column::Id)
        .all(db)
        .await?
    {
        out.entry(e.incident_id.clone()).or_default().push(e);
    }
    Ok(out)
}

/// Which targets a list shows (every field narrows it; `None` is any).
#[derive(Clone, Debug, Default)]
pub struct TargetFilter {
    /// Of incidents of these services.
    pub service_ids: Option<Vec<String>>,
    /// Of incidents of services of these teams.
    pub team_ids: Option<Vec<String>>,
    /// Of incidents with these priorities.
    pub priority_ids: Option<Vec<String>>,
    pub target: Option<Target>,
    /// Breached at or after.
    pub breached_after: Option<DateTime<Utc>>,
    /// Breached before.
    pub breached_before: Option<DateTime<Utc>>,
}

impl TargetFilter {
    /// Checks the filter.
    ///
    /// # Errors
    /// `BadInput` for an empty breach range or lists longer than 100.
    pub fn check(&self) -> Result<(), SlaError> {
        if let (Some(a), Some(b)) = (self.breached_after, self.breached_before)
            && a >= b
        {
            return Err(SlaError::BadInput(
                "breachedAfter must be before breachedBefore".into(),
            ));
        }
        for (name, list) in [
            ("serviceIds", &self.service_ids),
            ("teamIds", &self.team_ids),
            ("priorityIds", &self.priority_ids),
        ] {
            if list.as_ref().is_some_and(|l| l.len() > 100) {
                return Err(SlaError::BadInput(format!("{name} takes at most 100 ids")));
            }
        }
        Ok(())
    }

    fn condition(&self) -> sea_orm::Condition {
        use incident_sla_target::Column as T;
        use sea_orm::Condition;
        let mut c = Condition::all();
        let mut incidents = Query::select()
            .column(incident::Column::Id)
            .from(incident::Entity)
            .to_owned();
        let mut by_incident = false;
        if let Some(s) = &self.service_ids {
            incidents.and_where(incident::Column::ServiceId.is_in(s.clone()));
            by_incident = true;
        }
        if let Some(p) = &self.priority_ids {
            incidents.and_where(incident::Column::PriorityId.is_in(p.clone()));
            by_incident = true;
        }
        if let Some(t) = &self.team_ids {
            incidents.and_where(
                incident::Column::ServiceId.in_subquery(
                    Query::select()
                        .column(service_team::Column::ServiceId)
                        .from(service_team::Entity)
                        .and_where(service_team::Column::TeamId.is_in(t.clone()))
                        .to_owned(),
                ),
            );
            by_incident = true;
        }
        if by_incident {
            c = c.add(T::IncidentId.in_subquery(incidents));
        }
        if let Some(t) = self.target {
            c = c.add(T::Target.eq(t.as_str()));
        }
        if let Some(a) = self.breached_after {
            c = c.add(T::BreachedAt.gte(a));
        }
        if let Some(b) = self.breached_before {
            c = c.add(T::BreachedAt.lt(b));
        }
        c
    }
}

/// Targets in `states` that pass `filter`, soonest deadline first, limited
/// to the scope.
///
/// # Errors
/// Database errors only.
pub async fn list_targets<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    states: &[State],
    filter: &TargetFilter,
    limit: u64,
) -> Result<Vec<incident_sla_target::Model>, DbErr> {
    use sea_orm::QuerySelect;
    let mut select = incident_sla_target::Entity::find()
        .filter(
            states
                .iter()
                .fold(Condition::any(), |c, s| c.add(state_is(*s))),
        )
        .filter(filter.condition())
        .filter(of_live_incidents());
    if let Some(c) = scope.incident_ids_condition(incident_sla_target::Column::IncidentId) {
        select = select.filter(c);
    }
    select
        .order_by_asc(incident_sla_target::Column::Deadline)
        .order_by_asc(incident_sla_target::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Policies, by name.
///
/// # Errors
/// Database errors only.
pub async fn list_policies<C: ConnectionTrait>(db: &C) -> Result<Vec<sla_policy::Model>, DbErr> {
    sla_policy::Entity::find()
        .order_by_asc(sla_policy::Column::Name)
        .all(db)
        .await
}

/// A policy to create or replace.
#[derive(Clone, Debug)]
pub struct PolicyInput {
    pub name: String,
    pub priority_names: Option<Vec<String>>,
    pub urgency: Option<String>,
    pub service_id: Option<String>,
    pub team_id: Option<String>,
    pub response_target_secs: i64,
    pub resolution_target_secs: i64,
    pub calendar_id: Option<i32>,
}

fn validate(p: &PolicyInput) -> Result<(), SlaError> {
    let name = p.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(SlaError::BadInput(
            "a policy needs a name of 1 to 100 characters".into(),
        ));
    }
    for (what, secs) in [
        ("response", p.response_target_secs),
        ("resolution", p.resolution_target_secs),
    ] {
        if secs <= 0 || secs > 366 * 86_400 {
            return Err(SlaError::BadInput(format!(
                "the {what} target must be between 1 second and 366 days, not {secs} s"
            )));
        }
    }
    if p.urgency
        .as_deref()
        .is_some_and(|u| u != "high" && u != "low")
    {
        return Err(SlaError::BadInput("urgency must be high or low".into()));
    }
    if p.priority_names
        .as_ref()
        .is_some_and(|v| v.is_empty() || v.iter().any(|n| n.trim().is_empty() || n.contains(',')))
    {
        return Err(SlaError::BadInput(
            "priority names must be non-empty and contain no commas".into(),
        ));
    }
    Ok(())
}

/// Creates (`id: None`) or replaces a policy, then re-evaluates every open
/// SLA, in one transaction.
///
/// # Errors
/// Invalid input, an unknown policy or calendar, a duplicate name; nothing
/// changes then.
pub async fn save_policy(
    db: &DatabaseConnection,
    settings: &SlaSettings,
    id: Option<i32>,
    input: PolicyInput,
) -> Result<sla_policy::Model, SlaError> {
    validate(&input)?;
    if let Some(c) = input.calendar_id
        && business_calendar::Entity::find_by_id(c)
            .one(db)
            .await?
            .is_none()
    {
        return Err(SlaError::NotFound(format!(
            "No business calendar with id {c}"
        )));
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    if let Some(id) = id
        && sla_policy::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .is_none()
    {
        return Err(SlaError::NotFound(format!("No SLA policy with id {id}")));
    }
    let clash = sla_policy::Entity::find()
        .filter(sla_policy::Column::Name.eq(input.name.trim()))
        .one(&txn)
        .await?;
    if clash.is_some_and(|c| Some(c.id) != id) {
        return Err(SlaError::BadInput(format!(
            "a policy named {:?} exists",
            input.name.trim()
        )));
    }
    let mut m = sla_policy::ActiveModel {
        name: Set(input.name.trim().to_owned()),
        priority_names: Set(input
            .priority_names
            .map(|v| v.iter().map(|s| s.trim()).collect::<Vec<_>>().join(","))),
        urgency: Set(input.urgency),
        service_id: Set(input.service_id),
        team_id: Set(input.team_id),
        response_target_secs: Set(input.response_target_secs),
        resolution_target_secs: Set(input.resolution_target_secs),
        calendar_id: Set(input.calendar_id),
        updated_at: Set(now),
        ..Default::default()
    };
    let saved = match id {
        Some(id) => {
            m.id = Set(id);
            m.update(&txn).await?
        }
        None => {
            m.created_at = Set(now);
            m.insert(&txn).await?
        }
    };
    reevaluate_open(db, &txn, settings).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes a policy; open SLAs move to the next matching one, closed ones
/// keep its name.
///
/// # Errors
/// An unknown policy.
pub async fn delete_policy(
    db: &DatabaseConnection,
    settings: &SlaSettings,
    id: i32,
) -> Result<(), SlaError> {
    let txn = crate::db::begin_write(db).await?;
    let res = sla_policy::Entity::delete_by_id(id).exec(&txn).await?;
    if res.rows_affected == 0 {
        return Err(SlaError::NotFound(format!("No SLA policy with id {id}")));
    }
    reevaluate_open(db, &txn, settings).await?;
    txn.commit().await?;
    Ok(())
}

/// A business-hours calendar as an admin gives it.
#[derive(Clone, Debug)]
pub struct CalendarInput {
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Working windows per weekday (`mon` … `sun`): `HH:MM-HH:MM`.
    pub weekly_hours: Vec<(String, Vec<String>)>,
    /// Local dates without working hours.
    pub holidays: Vec<NaiveDate>,
}

/// Every business-hours calendar, by name.
///
/// # Errors
/// Database errors.
pub async fn list_calendars<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<business_calendar::Model>, DbErr> {
    business_calendar::Entity::find()
        .order_by_asc(business_calendar::Column::Name)
        .all(db)
        .await
}

/// Creates a calendar, or replaces calendar `id`; a replaced calendar
/// re-evaluates open SLAs (closed ones keep what they measured).
///
/// # Errors
/// `BadInput` for an empty or taken name, an unknown time zone or weekday,
/// or a malformed window; `NotFound` for an unknown id.
pub async fn save_calendar(
    db: &DatabaseConnection,
    settings: &SlaSettings,
    id: Option<i32>,
    input: CalendarInput,
) -> Result<business_calendar::Model, SlaError> {
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(SlaError::BadInput(
            "a calendar needs a name of 1 to 100 characters".into(),
        ));
    }
    let weekly: std::collections::BTreeMap<String, Vec<String>> = input
        .weekly_hours
        .into_iter()
        .map(|(d, w)| (d.trim().to_ascii_lowercase(), w))
        .collect();
    let now = Utc::now();
    let mut model = business_calendar::Model {
        id: id.unwrap_or_default(),
        name: name.clone(),
        time_zone: input.time_zone.trim().to_owned(),
        weekly_hours: serde_json::to_string(&weekly)
            .map_err(|e| SlaError::BadInput(e.to_string()))?,
        holidays: serde_json::to_string(&input.holidays)
            .map_err(|e| SlaError::BadInput(e.to_string()))?,
        created_at: now,
        updated_at: now,
    };
    // The same parser the engine uses: what is saved can be used.
    parse_calendar(&model)?;
    let txn = crate::db::begin_write(db).await?;
    let taken = business_calendar::Entity::find()
        .filter(business_calendar::Column::Name.eq(name.as_str()))
        .one(&txn)
        .await?
        .is_some_and(|c| Some(c.id) != id);
    if taken {
        return Err(SlaError::BadInput(format!(
            "a calendar named {name:?} exists already"
        )));
    }
    let saved = match id {
        None => {
            let mut a: business_calendar::ActiveModel = model.clone().into();
            a.id = sea_orm::ActiveValue::NotSet;
            a.insert(&txn).await?
        }
        Some(id) => {
            let old = business_calendar::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or_else(|| SlaError::NotFound(format!("No business calendar with id {id}")))?;
            model.created_at = old.created_at;
            let mut a: business_calendar::ActiveModel = old.into();
            a.name = Set(model.name.clone());
            a.time_zone = Set(model.time_zone.clone());
            a.weekly_hours = Set(model.weekly_hours.clone());
            a.holidays = Set(model.holidays.clone());
            a.updated_at = Set(now);
            let saved = a.update(&txn).await?;
            reevaluate_open(db, &txn, settings).await?;
            saved
        }
    };
    txn.commit().await?;
    Ok(saved)
}

/// Deletes a calendar no policy uses.
///
/// # Errors
/// `NotFound` for an unknown id; `BadInput` while a policy uses it.
pub async fn delete_calendar<C: ConnectionTrait>(db: &C, id: i32) -> Result<(), SlaError> {
    if let Some(p) = sla_policy::Entity::find()
        .filter(sla_policy::Column::CalendarId.eq(id))
        .one(db)
        .await?
    {
        return Err(SlaError::BadInput(format!(
            "calendar {id} is used by SLA policy {:?}; change that policy first",
            p.name
        )));
    }
    let res = business_calendar::Entity::delete_by_id(id).exec(db).await?;
    if res.rows_affected == 0 {
        return Err(SlaError::NotFound(format!(
            "No business calendar with id {id}"
        )));
    }
    Ok(())
}

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

async fn reevaluate_open(
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
fn read_ahead(
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
fn recompute_batch(
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

/// A batch of a recompute written and not yet committed: its transaction,
/// how many incidents it held, how many targets it wrote.
type WrittenBatch = (DatabaseTransaction, usize, usize);

/// Computes and writes, inside `txn`, a batch read before.
///
/// The batch was read on another connection, before or outside this
/// transaction. Should another writer (a sync page, a webhook, a pause) have
/// refreshed one of its incidents since, the guarded write finds a target
/// changed since it was read and is rolled back to a savepoint, and the batch
/// is read again inside `txn` and written from there: fresher targets are
/// never overwritten from the older read. Measured now, not when the caller
/// began: a pause or an acknowledgement read with the batch is never in the
/// future.
async fn write_read_ahead(
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
const RECOMPUTE_BATCH: usize = 10_000;

/// How many batches of a recompute PostgreSQL writes at once, each in a
/// server process of its own.
const RECOMPUTE_WRITERS: usize = 2;
