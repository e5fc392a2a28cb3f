//! Filters and orderings: the arguments of the list fields, checked before
//! they reach the domain.

use super::*;

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(remote = "crate::catalog::Direction")]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// Field to sort catalogue lists by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum CatalogOrderField {
    #[default]
    Name,
    Id,
    UpdatedAt,
}

/// Sort order for services, teams, escalation policies, users and schedules.
#[derive(InputObject, Clone, Copy, Default)]
pub struct CatalogOrder {
    #[graphql(default)]
    pub field: CatalogOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

impl CatalogOrder {
    pub fn parts(self) -> (CatalogSort, Direction) {
        let sort = match self.field {
            CatalogOrderField::Name => CatalogSort::Name,
            CatalogOrderField::Id => CatalogSort::Id,
            CatalogOrderField::UpdatedAt => CatalogSort::UpdatedAt,
        };
        (sort, self.direction.into())
    }
}

/// At most this many ids in one filter list.
pub(super) const MAX_FILTER_IDS: usize = 1000;

pub(super) const MAX_SEARCH_LEN: usize = 200;

pub(super) fn ids(field: &str, v: Option<Vec<ID>>) -> Result<Option<Vec<String>>, ApiError> {
    match v {
        Some(v) if v.len() > MAX_FILTER_IDS => Err(ApiError::bad_input(format!(
            "`{field}` lists {} ids; at most {MAX_FILTER_IDS} are allowed",
            v.len()
        ))),
        v => Ok(v.map(|v| v.into_iter().map(|id| id.0).collect())),
    }
}

pub(super) fn search(v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if s.chars().count() > MAX_SEARCH_LEN => Err(ApiError::bad_input(format!(
            "`search` is longer than {MAX_SEARCH_LEN} characters"
        ))),
        v => Ok(v),
    }
}

/// Which services to list.
#[derive(InputObject, Default)]
pub struct ServiceFilter {
    pub ids: Option<Vec<ID>>,
    /// Services owned by any of these teams.
    pub team_ids: Option<Vec<ID>>,
    pub escalation_policy_ids: Option<Vec<ID>>,
    /// Case-insensitive part of the name.
    pub search: Option<String>,
    /// Include services deleted in PagerDuty (kept, marked deleted).
    #[graphql(default)]
    pub include_deleted: bool,
}

impl ServiceFilter {
    pub fn into_domain(self) -> Result<catalog::ServiceFilter, ApiError> {
        Ok(catalog::ServiceFilter {
            ids: ids("ids", self.ids)?,
            team_ids: ids("teamIds", self.team_ids)?,
            escalation_policy_ids: ids("escalationPolicyIds", self.escalation_policy_ids)?,
            search: search(self.search)?,
            include_deleted: self.include_deleted,
        })
    }
}

/// Which teams or schedules to list.
#[derive(InputObject, Default)]
pub struct NamedFilter {
    pub ids: Option<Vec<ID>>,
    /// Case-insensitive part of the name.
    pub search: Option<String>,
    /// Include objects deleted in PagerDuty.
    #[graphql(default)]
    pub include_deleted: bool,
}

impl NamedFilter {
    pub fn into_domain(self) -> Result<catalog::CatalogFilter, ApiError> {
        Ok(catalog::CatalogFilter {
            ids: ids("ids", self.ids)?,
            team_ids: None,
            search: search(self.search)?,
            include_deleted: self.include_deleted,
        })
    }
}

/// Which escalation policies or users to list.
#[derive(InputObject, Default)]
pub struct TeamScopedFilter {
    pub ids: Option<Vec<ID>>,
    /// Only those belonging to any of these teams.
    pub team_ids: Option<Vec<ID>>,
    /// Case-insensitive part of the name.
    pub search: Option<String>,
    /// Include objects deleted in PagerDuty.
    #[graphql(default)]
    pub include_deleted: bool,
}

impl TeamScopedFilter {
    pub fn into_domain(self) -> Result<catalog::CatalogFilter, ApiError> {
        Ok(catalog::CatalogFilter {
            ids: ids("ids", self.ids)?,
            team_ids: ids("teamIds", self.team_ids)?,
            search: search(self.search)?,
            include_deleted: self.include_deleted,
        })
    }
}

/// An incident's status.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::incidents::Status")]
pub enum IncidentStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

/// An incident's urgency.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::incidents::Urgency")]
pub enum IncidentUrgency {
    High,
    Low,
}

/// Where an incident comes from.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum IncidentSource {
    /// Synced from PagerDuty.
    Pagerduty,
    /// Created in pagerlens.
    Manual,
}

/// Which incidents to list. Lists are unions; different fields intersect.
#[derive(InputObject, Default)]
pub struct IncidentFilter {
    pub ids: Option<Vec<ID>>,
    pub service_ids: Option<Vec<ID>>,
    /// Incidents of services owned by any of these teams.
    pub team_ids: Option<Vec<ID>>,
    pub statuses: Option<Vec<IncidentStatus>>,
    pub urgencies: Option<Vec<IncidentUrgency>>,
    pub priority_ids: Option<Vec<ID>>,
    /// Created at or after this instant (RFC 3339).
    pub created_after: Option<DateTime<Utc>>,
    /// Created strictly before this instant (RFC 3339).
    pub created_before: Option<DateTime<Utc>>,
    /// Case-insensitive part of the title.
    pub search: Option<String>,
    /// Custom-field flags (`PAGERLENS_CUSTOM_FIELD_FLAGS`) that must all hold.
    pub flags: Option<Vec<String>>,
    /// Include incidents deleted locally.
    #[graphql(default)]
    pub include_deleted: bool,
}

impl IncidentFilter {
    pub fn into_domain(
        self,
        rules: &[crate::config::FlagRule],
    ) -> Result<incidents::IncidentFilter, ApiError> {
        let mut flags = Vec::new();
        for name in self.flags.iter().flatten() {
            match rules.iter().find(|r| &r.name == name) {
                Some(r) => flags.push(r.clone()),
                None => {
                    let known: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
                    return Err(ApiError::bad_input(format!(
                        "unknown flag {name:?}; configured flags: {known:?}"
                    )));
                }
            }
        }
        if let (Some(a), Some(b)) = (self.created_after, self.created_before)
            && a >= b
        {
            return Err(ApiError::bad_input(
                "`createdAfter` must be earlier than `createdBefore`",
            ));
        }
        Ok(incidents::IncidentFilter {
            ids: ids("ids", self.ids)?,
            service_ids: ids("serviceIds", self.service_ids)?,
            team_ids: ids("teamIds", self.team_ids)?,
            statuses: self
                .statuses
                .map(|v| v.into_iter().map(Into::into).collect()),
            urgencies: self
                .urgencies
                .map(|v| v.into_iter().map(Into::into).collect()),
            priority_ids: ids("priorityIds", self.priority_ids)?,
            created_from: self.created_after,
            created_to: self.created_before,
            search: search(self.search)?,
            flags,
            include_deleted: self.include_deleted,
        })
    }
}

/// Field to sort incidents by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum IncidentOrderField {
    #[default]
    CreatedAt,
    IncidentNumber,
    Title,
    Status,
    Urgency,
    ResolvedAt,
}

/// Sort order for incidents (default: newest first).
#[derive(InputObject, Clone, Copy)]
pub struct IncidentOrder {
    #[graphql(default)]
    pub field: IncidentOrderField,
    #[graphql(default_with = "SortDirection::Desc")]
    pub direction: SortDirection,
}

impl Default for IncidentOrder {
    fn default() -> Self {
        Self {
            field: IncidentOrderField::CreatedAt,
            direction: SortDirection::Desc,
        }
    }
}

impl IncidentOrder {
    pub fn parts(self) -> (IncidentSort, Direction) {
        let sort = match self.field {
            IncidentOrderField::CreatedAt => IncidentSort::CreatedAt,
            IncidentOrderField::IncidentNumber => IncidentSort::IncidentNumber,
            IncidentOrderField::Title => IncidentSort::Title,
            IncidentOrderField::Status => IncidentSort::Status,
            IncidentOrderField::Urgency => IncidentSort::Urgency,
            IncidentOrderField::ResolvedAt => IncidentSort::ResolvedAt,
        };
        (sort, self.direction.into())
    }
}
