//! Target lists and compliance: the filter, grouping and result objects.

use super::*;

/// Which of an incident's targets.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "SlaTargetKind")]
pub enum SlaTargetKind {
    /// Time to first acknowledgement.
    Response,
    /// Time to resolve.
    Resolution,
}

/// Narrows `slaBreaches` and `slaAtRisk`; every field given must hold.
#[derive(InputObject, Default)]
pub struct SlaTargetFilter {
    /// Incidents of these services (at most 100).
    pub service_ids: Option<Vec<ID>>,
    /// Incidents of the services of these teams (at most 100).
    pub team_ids: Option<Vec<ID>>,
    /// Incidents with these priorities (at most 100).
    pub priority_ids: Option<Vec<ID>>,
    pub target: Option<SlaTargetKind>,
    /// Breached at or after (breaches only).
    pub breached_after: Option<DateTime<Utc>>,
    /// Breached before (breaches only).
    pub breached_before: Option<DateTime<Utc>>,
}

impl SlaTargetFilter {
    pub(super) fn into_filter(self) -> Result<sla::TargetFilter, ApiError> {
        let ids = |v: Option<Vec<ID>>| v.map(|v| v.into_iter().map(|i| i.0).collect());
        let f = sla::TargetFilter {
            service_ids: ids(self.service_ids),
            team_ids: ids(self.team_ids),
            priority_ids: ids(self.priority_ids),
            target: self.target.map(|t| match t {
                SlaTargetKind::Response => sla::Target::Response,
                SlaTargetKind::Resolution => sla::Target::Resolution,
            }),
            breached_after: self.breached_after,
            breached_before: self.breached_before,
        };
        f.check()?;
        Ok(f)
    }
}

/// What SLA compliance is grouped by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "SlaGroupBy")]
#[graphql(remote = "crate::analytics::compliance::GroupBy")]
pub enum SlaGroupByGql {
    Service,
    Team,
    Priority,
    /// The local month of the incident's creation.
    Month,
}

/// One target's outcome in a group (see the README's SLA compliance definitions).
#[derive(SimpleObject)]
pub struct SlaTargetCompliance {
    /// Every SLA counted: met, breached and open.
    pub total: i64,
    pub met: i64,
    /// Recorded as breached, or still running past the deadline.
    pub breached: i64,
    /// Running or paused within the target: not decided yet.
    pub open: i64,
    /// Met ÷ (met + breached), in percent; null before anything is decided.
    pub met_percent: Option<f64>,
    pub breached_percent: Option<f64>,
    /// Mean time counted by the policy's clock over closed targets, in seconds.
    pub mean_seconds_used: Option<f64>,
    /// Mean share of the target used over closed targets (1.0 = all of it).
    pub mean_share_used: Option<f64>,
}

impl From<&TargetCompliance> for SlaTargetCompliance {
    fn from(c: &TargetCompliance) -> Self {
        Self {
            total: c.total(),
            met: c.met,
            breached: c.breached,
            open: c.open,
            met_percent: c.met_percent(),
            breached_percent: c.breached_percent(),
            mean_seconds_used: c.mean_used_secs(),
            mean_share_used: c.mean_used_share(),
        }
    }
}

/// One group of an SLA compliance answer.
#[derive(SimpleObject)]
pub struct SlaComplianceGroup {
    /// The service, team or priority id (null for incidents without one), or
    /// the month's first day (`YYYY-MM-DD`).
    pub key: Option<String>,
    /// Its name, or the month as `YYYY-MM`.
    pub name: String,
    /// Time to first acknowledgement.
    pub response: SlaTargetCompliance,
    /// Time to resolve.
    pub resolution: SlaTargetCompliance,
}

/// SLA compliance over a period.
#[derive(SimpleObject)]
pub struct SlaCompliance {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub time_zone: String,
    pub groups: Vec<SlaComplianceGroup>,
    /// All groups together (by team, an incident of a service in two teams counts once).
    pub overall: SlaComplianceGroup,
}
