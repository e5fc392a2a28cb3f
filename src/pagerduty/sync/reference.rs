//! Reference data: priorities, teams and their members, users, schedules,
//! escalation policies and services. Each list is read whole and written in
//! one transaction through [`store::replace_listed`] (new and changed rows
//! upserted, rows no longer listed marked deleted), with its links and the
//! placeholders they need.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, DatabaseTransaction, QueryFilter};

use super::*;

/// The escalation policy ↔ service links, written with the services (both
/// sides exist then).
type PolicyServices = Links;

impl Run<'_> {
    /// Priorities, teams (with members), users, schedules (with members),
    /// escalation policies (with rules, targets, teams, services), services.
    pub(super) async fn reference_data(&mut self) -> Result<(), Error> {
        self.opts.progress.phase("reference data", None);
        self.priorities().await?;
        let teams = self.teams().await?;
        self.users().await?;
        self.team_members(&teams).await?;
        self.schedules().await?;
        let policy_services = self.escalation_policies().await?;
        self.services(policy_services).await
    }

    /// Commits a table's transaction and counts what it wrote.
    async fn committed(
        &mut self,
        txn: DatabaseTransaction,
        kind: &str,
        counts: Counts,
    ) -> Result<(), Error> {
        txn.commit().await?;
        self.count(kind, counts);
        self.check_cancel()
    }

    /// A list that is a table and nothing more (priorities, teams, users).
    async fn listed<R: store::ListedRow>(&mut self, kind: &str, rows: Vec<R>) -> Result<(), Error> {
        let txn = crate::db::begin_write(self.writer).await?;
        let c = store::replace_listed(&txn, rows, self.now).await?;
        self.committed(txn, kind, c).await
    }

    async fn priorities(&mut self) -> Result<(), Error> {
        let now = self.now;
        // Priorities are a plan feature: an account without them answers 4xx.
        let priorities: Vec<wire::Priority> =
            self.list("/priorities", "priorities", &[], true).await?;
        let rows = priorities
            .iter()
            .enumerate()
            .map(|(i, p)| priority::Model {
                id: p.id.clone(),
                name: p.name.clone(),
                description: p.description.clone(),
                position: i as i32,
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        self.listed("priorities", rows).await
    }

    async fn teams(&mut self) -> Result<Vec<wire::Team>, Error> {
        let now = self.now;
        let teams: Vec<wire::Team> = self.list("/teams", "teams", &[], false).await?;
        let rows = teams
            .iter()
            .map(|t| team::Model {
                id: t.id.clone(),
                name: t.name.clone(),
                description: t.description.clone(),
                html_url: t.html_url.clone(),
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        self.listed("teams", rows).await?;
        Ok(teams)
    }

    async fn users(&mut self) -> Result<(), Error> {
        let now = self.now;
        let users: Vec<wire::User> = self.list("/users", "users", &[], false).await?;
        let rows = users
            .iter()
            .map(|u| user::Model {
                id: u.id.clone(),
                name: u.name.clone(),
                email: u.email.clone(),
                time_zone: u.time_zone.clone(),
                role: u.role.clone(),
                job_title: u.job_title.clone(),
                invitation_sent: u.invitation_sent,
                html_url: u.html_url.clone(),
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        self.listed("users", rows).await
    }

    /// Team members with their roles: one call per team.
    async fn team_members(&mut self, teams: &[wire::Team]) -> Result<(), Error> {
        let mut members: Links = HashMap::new();
        let mut member_refs = HashMap::new();
        for t in teams {
            let list: Vec<wire::TeamMember> = self
                .list(&format!("/teams/{}/members", t.id), "members", &[], false)
                .await?;
            let entry = members.entry(t.id.clone()).or_default();
            for m in list {
                let (id, name) = user_ref(&m.user);
                member_refs.insert(id.clone(), name);
                entry.insert(id, m.role);
            }
        }
        let txn = crate::db::begin_write(self.writer).await?;
        store::ensure_users(&txn, &member_refs, self.now).await?;
        store::replace_team_members(&txn, &members, self.now).await?;
        txn.commit().await?;
        self.check_cancel()
    }

    async fn schedules(&mut self) -> Result<(), Error> {
        let now = self.now;
        let schedules: Vec<wire::Schedule> =
            self.list("/schedules", "schedules", &utc(), false).await?;
        let mut links: Links = HashMap::new();
        let mut refs = HashMap::new();
        for s in &schedules {
            let entry = links.entry(s.id.clone()).or_default();
            let layer_users = s
                .schedule_layers
                .iter()
                .flat_map(|l| l.users.iter().filter_map(|u| u.user.as_ref()));
            for u in s.users.iter().chain(layer_users) {
                let (id, name) = user_ref(u);
                refs.insert(id.clone(), name);
                entry.insert(id, None);
            }
        }
        let rows: Vec<schedule::Model> = schedules
            .iter()
            .map(|s| schedule::Model {
                id: s.id.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
                time_zone: s.time_zone.clone(),
                html_url: s.html_url.clone(),
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let txn = crate::db::begin_write(self.writer).await?;
        let c = store::replace_listed(&txn, rows, now).await?;
        store::ensure_users(&txn, &refs, now).await?;
        store::replace_schedule_users(&txn, &links, now).await?;
        self.committed(txn, "schedules", c).await
    }

    /// Escalation policies with their rules, targets and teams; returns
    /// their services, linked once the services are written.
    async fn escalation_policies(&mut self) -> Result<PolicyServices, Error> {
        let now = self.now;
        let eps: Vec<wire::EscalationPolicy> = self
            .list("/escalation_policies", "escalation_policies", &[], false)
            .await?;
        let rows: Vec<escalation_policy::Model> = eps
            .iter()
            .map(|e| escalation_policy::Model {
                id: e.id.clone(),
                name: e.name.clone(),
                description: e.description.clone(),
                num_loops: e.num_loops,
                html_url: e.html_url.clone(),
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let mut rule_rows = Vec::new();
        let mut targets: HashMap<String, Vec<(String, String)>> = HashMap::new();
        let mut target_users = HashMap::new();
        let mut ep_teams: Links = HashMap::new();
        let mut ep_services: Links = HashMap::new();
        let mut team_refs = HashMap::new();
        for e in &eps {
            for (i, r) in e.escalation_rules.iter().enumerate() {
                // A rule without an id cannot be stored; its policy can.
                let Some(rule_id) = r.id.clone() else {
                    continue;
                };
                rule_rows.push(escalation_rule::Model {
                    id: rule_id.clone(),
                    escalation_policy_id: e.id.clone(),
                    position: i as i32,
                    escalation_delay_in_minutes: r.escalation_delay_in_minutes,
                    created_at: now,
                    updated_at: now,
                });
                let list = targets.entry(rule_id).or_default();
                for t in &r.targets {
                    let kind = if t.kind.starts_with("schedule") {
                        "schedule"
                    } else if t.kind.starts_with("user") {
                        "user"
                    } else {
                        continue;
                    };
                    if kind == "user" {
                        target_users.insert(t.id.clone(), t.summary.clone().unwrap_or_default());
                    }
                    list.push((kind.to_owned(), t.id.clone()));
                }
            }
            let teams = ep_teams.entry(e.id.clone()).or_default();
            for t in &e.teams {
                team_refs.insert(t.id.clone(), t.summary.clone().unwrap_or_default());
                teams.insert(t.id.clone(), None);
            }
            let services = ep_services.entry(e.id.clone()).or_default();
            for s in &e.services {
                services.insert(s.id.clone(), None);
            }
        }
        let listed: Vec<String> = eps.iter().map(|e| e.id.clone()).collect();
        let txn = crate::db::begin_write(self.writer).await?;
        let c = store::replace_listed(&txn, rows, now).await?;
        // Rules that vanished from a policy go with their targets.
        let rule_ids: HashSet<String> = rule_rows.iter().map(|r| r.id.clone()).collect();
        let old_rules = escalation_rule::Entity::find()
            .filter(escalation_rule::Column::EscalationPolicyId.is_in(listed))
            .all(&txn)
            .await?;
        for r in old_rules.into_iter().filter(|r| !rule_ids.contains(&r.id)) {
            escalation_rule::Entity::delete_by_id(r.id)
                .exec(&txn)
                .await?;
        }
        let rc = store::upsert(&txn, rule_rows, now).await?;
        store::ensure_users(&txn, &target_users, now).await?;
        store::replace_rule_targets(&txn, &targets, now).await?;
        store::ensure_teams(&txn, &team_refs, now).await?;
        store::replace_escalation_policy_teams(&txn, &ep_teams, now).await?;
        self.count("escalation_rules", rc);
        self.committed(txn, "escalation_policies", c).await?;
        Ok(ep_services)
    }

    /// Services with their teams, then the policy ↔ service links; the
    /// reference data's time is stored with them.
    async fn services(&mut self, policy_services: PolicyServices) -> Result<(), Error> {
        let now = self.now;
        let services: Vec<wire::Service> =
            self.list("/services", "services", &utc(), false).await?;
        let mut service_teams: Links = HashMap::new();
        let mut ep_refs = HashMap::new();
        let mut team_refs = HashMap::new();
        for s in &services {
            if let Some(ep) = &s.escalation_policy {
                ep_refs.insert(ep.id.clone(), ep.summary.clone().unwrap_or_default());
            }
            let teams = service_teams.entry(s.id.clone()).or_default();
            for t in &s.teams {
                team_refs.insert(t.id.clone(), t.summary.clone().unwrap_or_default());
                teams.insert(t.id.clone(), None);
            }
        }
        let rows: Vec<service::Model> = services
            .iter()
            .map(|s| service::Model {
                id: s.id.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
                status: s.status.clone().unwrap_or_else(|| "active".into()),
                escalation_policy_id: s.escalation_policy.as_ref().map(|e| e.id.clone()),
                html_url: s.html_url.clone(),
                pd_created_at: s.created_at,
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let txn = crate::db::begin_write(self.writer).await?;
        store::ensure_escalation_policies(&txn, &ep_refs, now).await?;
        store::ensure_teams(&txn, &team_refs, now).await?;
        let c = store::replace_listed(&txn, rows, now).await?;
        store::replace_service_teams(&txn, &service_teams, now).await?;
        let service_refs: HashMap<String, String> = policy_services
            .values()
            .flat_map(|m| m.keys())
            .map(|id| (id.clone(), id.clone()))
            .collect();
        store::ensure_services(&txn, &service_refs, now).await?;
        store::replace_escalation_policy_services(&txn, &policy_services, now).await?;
        Self::set_state(&txn, REFERENCE_KEY, now, now).await?;
        self.committed(txn, "services", c).await
    }
}

/// The query that renders times in UTC.
fn utc() -> Vec<(String, String)> {
    vec![("time_zone".to_owned(), "UTC".to_owned())]
}
