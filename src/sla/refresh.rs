//! Measuring incidents: each target's cycle, pauses taken out, written only
//! where it changed and guarded against a concurrent pause.

use super::*;

/// Pauses the clocks of incidents whose mapped status is in the `WAITING`
/// category (see `incidents::status`), and resumes an automatic pause once
/// the incident no longer waits. A pause someone made by hand is left
/// alone. `pauses` (what was read of each incident's pauses) is kept up to
/// date with what this writes. Returns the events to annotate with their
/// reason.
pub(super) async fn auto_pauses<C: ConnectionTrait>(
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
                    automatic: Set(true),
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
                if !p.automatic {
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

/// Recomputes the SLA targets of `ids` (missing or deleted incidents are
/// skipped). With `rematch`, closed targets are measured again by today's
/// matching policy (an admin's deliberate recompute); otherwise they keep
/// theirs. Returns how many target rows were written.
///
/// # Errors
/// Database errors only.
#[tracing::instrument(skip_all, fields(incidents = ids.len(), rematch = rematch))]
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
#[tracing::instrument(skip_all, fields(incidents = ids.len(), rematch = rematch))]
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

pub(super) async fn refresh_in<C: ConnectionTrait>(
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

/// The SLA cycle an incident is measured in now.
pub(super) struct Cycle {
    pub(super) number: i32,
    pub(super) start: DateTime<Utc>,
    /// The first acknowledgement within the cycle.
    pub(super) acknowledged: Option<DateTime<Utc>>,
    /// The resolve that ends the cycle.
    pub(super) resolved: Option<DateTime<Utc>>,
}

impl Cycle {
    pub(super) fn started_reason(&self, policy: &str) -> String {
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
pub(super) fn cycle_start(
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
pub(super) fn cycle_of(
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
pub(super) async fn apply<C: ConnectionTrait>(
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
pub(super) async fn apply_guarded<C: ConnectionTrait>(
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
pub(super) async fn upsert_targets<C: ConnectionTrait>(
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
