//! The SLA output objects of an incident: its targets, events and summary.

use super::*;

/// A target's state.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "SlaState")]
#[graphql(remote = "crate::sla::State")]
pub enum SlaStateGql {
    Active,
    Paused,
    Met,
    Breached,
}

/// One SLA target (response: time to first acknowledgement; resolution: time to resolve).
pub struct SlaTarget(pub incident_sla_target::Model);

#[Object]
impl SlaTarget {
    async fn incident_id(&self) -> ID {
        ID(self.0.incident_id.clone())
    }
    /// `response` or `resolution`.
    async fn target(&self) -> &str {
        &self.0.target
    }
    /// 1 for the incident's first life; a reopened incident starts the next.
    async fn cycle(&self) -> i32 {
        self.0.cycle
    }
    /// The policy it is measured by.
    async fn policy_name(&self) -> &str {
        &self.0.policy_name
    }
    async fn target_seconds(&self) -> i64 {
        self.0.target_secs
    }
    /// Counted around the clock or in a business-hours calendar.
    async fn business_hours(&self) -> bool {
        self.0.calendar_id.is_some()
    }
    /// The state now: an active target past its deadline reads `BREACHED`
    /// even before the breach check has recorded it.
    async fn state(&self) -> SlaStateGql {
        let s = State::parse(&self.0.state).unwrap_or(State::Active);
        if s == State::Active && self.0.deadline.is_some_and(|d| d <= Utc::now()) {
            SlaStateGql::Breached
        } else {
            s.into()
        }
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// When the target is (or was) due; null while paused.
    async fn deadline(&self) -> Option<DateTime<Utc>> {
        self.0.deadline
    }
    /// While running: the predicted breach time (the deadline if nothing changes).
    async fn predicted_breach_at(&self) -> Option<DateTime<Utc>> {
        (self.0.state == State::Active.as_str())
            .then_some(self.0.deadline)
            .flatten()
    }
    async fn met_at(&self) -> Option<DateTime<Utc>> {
        self.0.met_at
    }
    async fn breached_at(&self) -> Option<DateTime<Utc>> {
        self.0.breached_at
    }
    async fn breach_notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.breach_notified_at
    }
    async fn paused_at(&self) -> Option<DateTime<Utc>> {
        self.0.paused_at
    }
    /// Seconds spent paused so far.
    async fn paused_seconds(&self) -> i64 {
        self.0.paused_secs
    }
    /// Seconds used on the policy's clock (business time for business-hours
    /// policies), pauses excluded, as of `computedAt`.
    async fn used_seconds(&self) -> i64 {
        self.0.used_secs
    }
    /// Wall-clock seconds used, pauses excluded, as of `computedAt`.
    async fn wall_seconds_used(&self) -> i64 {
        self.0.wall_used_secs
    }
    /// Target minus used (negative: overdue), as of `computedAt`.
    async fn remaining_seconds(&self) -> i64 {
        self.0.target_secs - self.0.used_secs
    }
    /// The highest at-risk share already announced (0: none).
    async fn warned_share(&self) -> f64 {
        self.0.warned_share
    }
    async fn computed_at(&self) -> DateTime<Utc> {
        self.0.computed_at
    }
}

/// One clock event on an incident's SLA timeline.
pub struct SlaEvent(pub sla_event::Model);

#[Object]
impl SlaEvent {
    /// `started`, `paused`, `resumed`, `warned`, `breached`, `met` or `policy_changed`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// `response`, `resolution`, or null for both.
    async fn target(&self) -> Option<&str> {
        self.0.target.as_deref()
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
}

/// An incident's SLA.
pub struct IncidentSla {
    pub incident_id: String,
    pub targets: Vec<incident_sla_target::Model>,
}

#[Object]
impl IncidentSla {
    async fn response(&self) -> Option<SlaTarget> {
        self.target("response")
    }
    async fn resolution(&self) -> Option<SlaTarget> {
        self.target("resolution")
    }
    /// Whether the clocks are paused now.
    async fn paused(&self) -> bool {
        self.targets
            .iter()
            .any(|t| t.state == State::Paused.as_str())
    }
    /// Every clock event, oldest first, with its reason.
    async fn timeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SlaEvent>> {
        Ok(load_one(ctx, SlaEventsOfIncident(self.incident_id.clone()))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(SlaEvent)
            .collect())
    }
}

impl IncidentSla {
    fn target(&self, name: &str) -> Option<SlaTarget> {
        self.targets
            .iter()
            .find(|t| t.target == name)
            .cloned()
            .map(SlaTarget)
    }
}

/// The SLA of an incident (null when no policy matches it).
pub async fn incident_sla(
    ctx: &Context<'_>,
    incident_id: &str,
) -> async_graphql::Result<Option<IncidentSla>> {
    let targets = load_one(ctx, SlaTargetsOfIncident(incident_id.to_owned()))
        .await?
        .unwrap_or_default();
    Ok((!targets.is_empty()).then(|| IncidentSla {
        incident_id: incident_id.to_owned(),
        targets,
    }))
}

/// Used seconds now for an active target: as computed, plus the wall time
/// since (an upper bound for business-hours clocks until the next refresh).
pub(super) fn clock_used(t: &incident_sla_target::Model) -> i64 {
    match t.deadline {
        Some(d) if d <= Utc::now() => t.target_secs,
        _ => {
            t.used_secs
                + (Utc::now() - t.computed_at)
                    .num_seconds()
                    .max(0)
                    .min(t.target_secs)
        }
    }
}
