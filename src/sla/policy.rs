//! Which policy measures an incident, and what it says: policies matched by
//! specificity, business calendars read, deadlines computed.

use super::*;

/// A policy candidate with its parsed conditions.
pub(super) struct Policy {
    pub(super) model: sla_policy::Model,
    pub(super) priorities: Option<Vec<String>>,
}

impl Policy {
    pub(super) fn specificity(&self) -> usize {
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

    pub(super) fn matches(
        &self,
        i: &SlaIncident,
        priority: Option<&str>,
        teams: &[String],
    ) -> bool {
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
pub(super) fn choose<'a>(
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

pub(super) async fn load_policies<C: ConnectionTrait>(db: &C) -> Result<Vec<Policy>, DbErr> {
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

pub(super) async fn load_clocks<C: ConnectionTrait>(db: &C) -> Result<HashMap<i32, Clock>, DbErr> {
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
