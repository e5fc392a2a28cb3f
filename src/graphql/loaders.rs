//! DataLoaders: every relation GraphQL resolves is batched into one statement
//! per kind per request tick, so a list of N objects costs a fixed number of
//! queries, not N. Loaders are created per request and cache nothing, so no
//! result is ever shared between requests or users.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{DatabaseConnection, DbErr};

use crate::catalog::{self, Coverage, EscalationRule, TeamMember};
use crate::entities::{
    escalation_policy, incident, incident_attachment, incident_custom_field_value,
    incident_log_entry, priority, schedule, service, team, user,
};
use crate::incidents;
use crate::scope::Scope;

/// The loader behind every key type below.
pub struct DbLoader {
    db: DatabaseConnection,
    /// The caller's team scope: every load is limited to it.
    scope: Scope,
}

pub type Loaders = DataLoader<DbLoader>;

/// Loaders for one request, limited to the caller's scope. Keys requested
/// within `delay` of the first one are loaded together
/// (`PAGERLENS_GRAPHQL_BATCH_DELAY_MS`).
pub fn loaders(db: DatabaseConnection, scope: Scope, delay: std::time::Duration) -> Loaders {
    DataLoader::new(DbLoader { db, scope }, tokio::spawn).delay(delay)
}

type LoadResult<K, V> = Result<HashMap<K, V>, Arc<DbErr>>;

macro_rules! key_loader {
    ($(#[$doc:meta])* $key:ident => $value:ty, $fetch:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub String);

        impl Loader<$key> for DbLoader {
            type Value = $value;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[$key]) -> LoadResult<$key, $value> {
                let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
                let found = $fetch(&self.db, &self.scope, &ids).await.map_err(Arc::new)?;
                Ok(found.into_iter().map(|(k, v)| ($key(k), v)).collect())
            }
        }
    };
}

key_loader!(/// A service by id.
    ServiceById => service::Model, catalog::find_services);
key_loader!(/// A team by id.
    TeamById => team::Model, catalog::find_teams);
key_loader!(/// An escalation policy by id.
    EscalationPolicyById => escalation_policy::Model, catalog::find_escalation_policies);
key_loader!(/// A user by id.
    UserById => user::Model, catalog::find_users);
key_loader!(/// A schedule by id.
    ScheduleById => schedule::Model, catalog::find_schedules);
key_loader!(/// A priority by id.
    PriorityById => priority::Model, catalog::find_priorities);
key_loader!(/// An incident by id.
    IncidentById => incident::Model, incidents::find_many);
key_loader!(/// The teams of a service.
    TeamsOfService => Vec<team::Model>, catalog::teams_of_services);
key_loader!(/// The services of a team.
    ServicesOfTeam => Vec<service::Model>, catalog::services_of_teams);
key_loader!(/// The members of a team.
    MembersOfTeam => Vec<TeamMember>, catalog::members_of_teams);
key_loader!(/// The teams a user belongs to.
    TeamsOfUser => Vec<team::Model>, catalog::teams_of_users);
key_loader!(/// The teams of an escalation policy.
    TeamsOfEscalationPolicy => Vec<team::Model>, catalog::teams_of_escalation_policies);
key_loader!(/// The escalation policies of a team.
    EscalationPoliciesOfTeam => Vec<escalation_policy::Model>, catalog::escalation_policies_of_teams);
key_loader!(/// The services of an escalation policy.
    ServicesOfEscalationPolicy => Vec<service::Model>, catalog::services_of_escalation_policies);
key_loader!(/// The rules of an escalation policy.
    RulesOfEscalationPolicy => Vec<EscalationRule>, catalog::rules_of_escalation_policies);
key_loader!(/// What an escalation policy covers.
    CoverageOfEscalationPolicy => Coverage, catalog::coverage_of_escalation_policies);
key_loader!(/// The members of a schedule.
    UsersOfSchedule => Vec<user::Model>, catalog::users_of_schedules);
key_loader!(/// The schedules a user belongs to.
    SchedulesOfUser => Vec<schedule::Model>, catalog::schedules_of_users);
key_loader!(/// The log entries of an incident.
    LogEntriesOfIncident => Vec<incident_log_entry::Model>, incidents::log_entries_of);
key_loader!(/// The custom field values of an incident.
    CustomFieldsOfIncident => Vec<incident_custom_field_value::Model>, incidents::custom_fields_of);
key_loader!(/// PagerDuty's analytics of an incident (derived facts).
    FactsOfIncident => crate::entities::incident_analytics::Model, crate::incidents::facts::load_scoped);
key_loader!(/// The assignees of an incident.
    AssigneesOfIncident => Vec<user::Model>, incidents::assignees_of);
key_loader!(/// The attachments of an incident.
    AttachmentsOfIncident => Vec<incident_attachment::Model>, crate::actions::attachments::of_incidents);

macro_rules! id_loader {
    ($(#[$doc:meta])* $key:ident => $value:ty, $fetch:path) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i32);

        impl Loader<$key> for DbLoader {
            type Value = $value;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Arc<DbErr>> {
                let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
                let found = $fetch(&self.db, &ids).await.map_err(Arc::new)?;
                Ok(found.into_iter().map(|(k, v)| ($key(k), v)).collect())
            }
        }
    };
}

id_loader!(/// The teams an account is limited to (absent: every team).
    TeamsOfAccount => Vec<String>, crate::auth::scopes::teams_of_accounts);
id_loader!(/// The teams an API token is limited to (absent: its account's).
    TeamsOfToken => Vec<String>, crate::auth::scopes::teams_of_tokens);

key_loader!(/// The SLA targets of an incident.
    SlaTargetsOfIncident => Vec<crate::entities::incident_sla_target::Model>, crate::sla::targets_of);
key_loader!(/// The SLA timeline of an incident.
    SlaEventsOfIncident => Vec<crate::entities::sla_event::Model>, crate::sla::events_of);
