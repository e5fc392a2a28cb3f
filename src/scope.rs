//! Team scoping: what part of the PagerDuty data a caller may see.
//!
//! An admin can limit an account, or a single API token, to some teams. A
//! scoped caller then sees only
//! - those teams;
//! - the services that belong to one of them;
//! - the escalation policies that belong to one of them or are used by one
//!   of those services;
//! - the incidents of those services (with their log entries, custom fields
//!   and assignees); incidents without a service are not visible.
//!
//! PagerDuty users, schedules and priorities are directory data and stay
//! visible, but the teams a user belongs to are filtered like any team.
//!
//! Every read function in `catalog` and `incidents` takes a [`Scope`], so the
//! rule is applied where data is read and no resolver can forget it.

use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, EntityName};

use crate::entities::{escalation_policy_team, incident, service, service_team};

/// Which teams' data a caller may see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Everything (the default, and the command line).
    #[default]
    All,
    /// Only these teams (sorted, without duplicates; may be empty, which
    /// shows no team data at all).
    Teams(Vec<String>),
}

impl Scope {
    /// A scope limited to `ids`.
    pub fn teams(ids: impl IntoIterator<Item = String>) -> Self {
        let mut ids: Vec<String> = ids.into_iter().collect();
        ids.sort();
        ids.dedup();
        Scope::Teams(ids)
    }

    /// What both scopes allow.
    #[must_use]
    pub fn intersect(&self, other: &Scope) -> Scope {
        match (self, other) {
            (Scope::All, s) | (s, Scope::All) => s.clone(),
            (Scope::Teams(a), Scope::Teams(b)) => {
                Scope::Teams(a.iter().filter(|t| b.contains(t)).cloned().collect())
            }
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// The team ids, or `None` for every team.
    pub fn team_ids(&self) -> Option<&[String]> {
        match self {
            Scope::All => None,
            Scope::Teams(t) => Some(t),
        }
    }

    /// Whether team `id` is visible.
    pub fn allows_team(&self, id: &str) -> bool {
        self.team_ids().is_none_or(|t| t.iter().any(|x| x == id))
    }

    /// `SELECT service_id FROM service_teams WHERE team_id IN (scope)`.
    fn service_ids_query(teams: &[String]) -> SelectStatement {
        Query::select()
            .column(service_team::Column::ServiceId)
            .from(service_team::Entity.table_ref())
            .and_where(service_team::Column::TeamId.is_in(teams.to_vec()))
            .to_owned()
    }

    /// Condition on a team id column; `None` when unrestricted.
    pub fn teams_condition(&self, team_id: impl ColumnTrait) -> Option<Condition> {
        let teams = self.team_ids()?;
        Some(Condition::all().add(team_id.is_in(teams.to_vec())))
    }

    /// Condition on a service id column: the scope's services.
    pub fn services_condition(&self, service_id: impl ColumnTrait) -> Option<Condition> {
        let teams = self.team_ids()?;
        Some(Condition::all().add(service_id.in_subquery(Self::service_ids_query(teams))))
    }

    /// Condition on an escalation policy id column: policies of the scope's
    /// teams, and policies used by the scope's services.
    pub fn escalation_policies_condition(&self, policy_id: impl ColumnTrait) -> Option<Condition> {
        let teams = self.team_ids()?;
        let owned = Query::select()
            .column(escalation_policy_team::Column::EscalationPolicyId)
            .from(escalation_policy_team::Entity.table_ref())
            .and_where(escalation_policy_team::Column::TeamId.is_in(teams.to_vec()))
            .to_owned();
        let used = Query::select()
            .column(service::Column::EscalationPolicyId)
            .from(service::Entity.table_ref())
            .and_where(service::Column::Id.in_subquery(Self::service_ids_query(teams)))
            .and_where(service::Column::EscalationPolicyId.is_not_null())
            .to_owned();
        Some(
            Condition::any()
                .add(policy_id.in_subquery(owned))
                .add(policy_id.in_subquery(used)),
        )
    }

    /// Condition on an incident id column (for log entries, custom fields,
    /// assignees): incidents of the scope's services.
    pub fn incident_ids_condition(&self, incident_id: impl ColumnTrait) -> Option<Condition> {
        let teams = self.team_ids()?;
        let visible = Query::select()
            .column(incident::Column::Id)
            .from(incident::Entity.table_ref())
            .and_where(incident::Column::ServiceId.in_subquery(Self::service_ids_query(teams)))
            .to_owned();
        Some(Condition::all().add(incident_id.in_subquery(visible)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersection() {
        let a = Scope::teams(["T1".to_owned(), "T2".to_owned(), "T1".to_owned()]);
        assert_eq!(a, Scope::Teams(vec!["T1".into(), "T2".into()]));
        let b = Scope::teams(["T2".to_owned(), "T3".to_owned()]);
        assert_eq!(a.intersect(&b), Scope::Teams(vec!["T2".into()]));
        assert_eq!(Scope::All.intersect(&b), b);
        assert_eq!(a.intersect(&Scope::All), a);
        assert!(Scope::All.allows_team("anything"));
        assert!(!b.allows_team("T1"));
        assert!(
            Scope::teams(Vec::new())
                .team_ids()
                .is_some_and(<[String]>::is_empty)
        );
    }
}
