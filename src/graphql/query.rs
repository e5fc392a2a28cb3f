//! The query root: the catalogue and incidents. Each resolver parses its
//! arguments, calls one domain function and maps the result.

use async_graphql::{Context, ID, Object};
use sea_orm::DatabaseConnection;

use crate::catalog;
use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::error::{ApiError, ApiResultExt};
use crate::graphql::loaders::*;
use crate::graphql::types::*;

#[derive(Default)]
pub struct QueryRoot;

fn db<'a>(ctx: &Context<'a>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

/// The caller's team scope, which every read below passes on.
fn scope<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a crate::scope::Scope> {
    Ok(&crate::graphql::auth::caller(ctx)?.scope)
}

fn not_found(kind: &str, id: &ID) -> async_graphql::Error {
    Err::<(), _>(ApiError::NotFound(format!("No {kind} with id {:?}", id.0)))
        .api()
        .unwrap_err()
}

/// Read the PagerDuty catalogue and incidents.
#[Object]
impl QueryRoot {
    /// Services, by name unless ordered otherwise.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity + 1")]
    async fn services(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ServiceFilter>,
        order_by: Option<CatalogOrder>,
    ) -> async_graphql::Result<Conn<Service>> {
        let page = page_request(ctx, first, after).api()?;
        let filter = filter.unwrap_or_default().into_domain().api()?;
        let (sort, dir) = order_by.unwrap_or_default().parts();
        let found = catalog::list_services(db(ctx), scope(ctx)?, &filter, sort, dir, page)
            .await
            .api()?;
        Ok(connection(found, Service))
    }

    /// One service; `NOT_FOUND` when there is none with this id.
    async fn service(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Service> {
        load_one(ctx, ServiceById(id.0.clone()))
            .await?
            .map(Service)
            .ok_or_else(|| not_found("service", &id))
    }

    /// Teams, by name unless ordered otherwise.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity + 1")]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<NamedFilter>,
        order_by: Option<CatalogOrder>,
    ) -> async_graphql::Result<Conn<Team>> {
        let page = page_request(ctx, first, after).api()?;
        let filter = filter.unwrap_or_default().into_domain().api()?;
        let (sort, dir) = order_by.unwrap_or_default().parts();
        let found = catalog::list_teams(db(ctx), scope(ctx)?, &filter, sort, dir, page)
            .await
            .api()?;
        Ok(connection(found, Team))
    }

    /// One team.
    async fn team(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Team> {
        load_one(ctx, TeamById(id.0.clone()))
            .await?
            .map(Team)
            .ok_or_else(|| not_found("team", &id))
    }

    /// Escalation policies, by name unless ordered otherwise.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity + 1")]
    async fn escalation_policies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<TeamScopedFilter>,
        order_by: Option<CatalogOrder>,
    ) -> async_graphql::Result<Conn<EscalationPolicy>> {
        let page = page_request(ctx, first, after).api()?;
        let filter = filter.unwrap_or_default().into_domain().api()?;
        let (sort, dir) = order_by.unwrap_or_default().parts();
        let found =
            catalog::list_escalation_policies(db(ctx), scope(ctx)?, &filter, sort, dir, page)
                .await
                .api()?;
        Ok(connection(found, EscalationPolicy))
    }

    /// One escalation policy.
    async fn escalation_policy(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<EscalationPolicy> {
        load_one(ctx, EscalationPolicyById(id.0.clone()))
            .await?
            .map(EscalationPolicy)
            .ok_or_else(|| not_found("escalation policy", &id))
    }

    /// PagerDuty users, by name unless ordered otherwise.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity + 1")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<TeamScopedFilter>,
        order_by: Option<CatalogOrder>,
    ) -> async_graphql::Result<Conn<User>> {
        let page = page_request(ctx, first, after).api()?;
        let filter = filter.unwrap_or_default().into_domain().api()?;
        let (sort, dir) = order_by.unwrap_or_default().parts();
        let found = catalog::list_users(db(ctx), scope(ctx)?, &filter, sort, dir, page)
            .await
            .api()?;
        Ok(connection(found, User))
    }

    /// One PagerDuty user.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<User> {
        load_one(ctx, UserById(id.0.clone()))
            .await?
            .map(User)
            .ok_or_else(|| not_found("user", &id))
    }

    /// On-call schedules, by name unless ordered otherwise.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity + 1")]
    async fn schedules(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<NamedFilter>,
        order_by: Option<CatalogOrder>,
    ) -> async_graphql::Result<Conn<Schedule>> {
        let page = page_request(ctx, first, after).api()?;
        let filter = filter.unwrap_or_default().into_domain().api()?;
        let (sort, dir) = order_by.unwrap_or_default().parts();
        let found = catalog::list_schedules(db(ctx), scope(ctx)?, &filter, sort, dir, page)
            .await
            .api()?;
        Ok(connection(found, Schedule))
    }

    /// One schedule.
    async fn schedule(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Schedule> {
        load_one(ctx, ScheduleById(id.0.clone()))
            .await?
            .map(Schedule)
            .ok_or_else(|| not_found("schedule", &id))
    }

    /// Incident priorities, most severe first.
    async fn priorities(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Priority>> {
        Ok(catalog::list_priorities(db(ctx))
            .await
            .api()?
            .into_iter()
            .map(Priority)
            .collect())
    }

    /// The configured custom-field flags incidents can be filtered and grouped by.
    async fn custom_field_flags(&self, ctx: &Context<'_>) -> Vec<CustomFieldFlag> {
        ctx.data_unchecked::<std::sync::Arc<crate::config::Config>>()
            .custom_field_flags
            .iter()
            .map(Into::into)
            .collect()
    }

    /// Incidents, newest first unless ordered otherwise.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity + 1")]
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<IncidentFilter>,
        order_by: Option<IncidentOrder>,
    ) -> async_graphql::Result<Conn<Incident>> {
        incident_connection(ctx, first, after, filter, order_by, |_| {}).await
    }

    /// One incident.
    async fn incident(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Incident> {
        load_one(ctx, IncidentById(id.0.clone()))
            .await?
            .map(Incident)
            .ok_or_else(|| not_found("incident", &id))
    }
}
