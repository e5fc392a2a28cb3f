//! The GraphQL adapter: schema assembly, roots, types, loaders and the error
//! edge. Resolvers are thin: parse, authorise, call the domain, map.

pub mod analytics;
pub mod auth;
pub mod connection;
pub mod error;
pub mod incidents;
pub mod jobs;
pub mod loaders;
mod observe;
pub mod query;
pub mod sla;
pub mod subscription;
pub mod sync;
pub mod types;

use async_graphql::{MergedObject, Schema};
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::events::EventBus;

/// Every query field.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    query::QueryRoot,
    sync::SyncQuery,
    auth::AuthQuery,
    sla::SlaQuery,
    jobs::JobsQuery,
    analytics::AnalyticsQuery,
    analytics::IncidentMetricsQuery,
    analytics::AnalyticsDriftQuery,
    analytics::ResponderMetricsQuery,
    analytics::WindowsQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    sync::SyncMutation,
    auth::AuthMutation,
    sla::SlaMutation,
    jobs::JobsMutation,
    analytics::AnalyticsMutation,
    incidents::IncidentsMutation,
    analytics::WindowsMutation,
);

pub type AppSchema = Schema<Query, Mutation, subscription::SubscriptionRoot>;

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, subscription::SubscriptionRoot> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::SubscriptionRoot,
    )
}

/// Builds the schema with its limits and the error presenter. Per-request
/// data (loaders, later the caller) is added by the HTTP layer.
pub fn build_schema(
    config: &Config,
    db: DatabaseConnection,
    events: EventBus,
    pagerduty: Option<crate::pagerduty::Client>,
    jobs: crate::jobs::Runner,
    cache: std::sync::Arc<crate::cache::Cache>,
) -> AppSchema {
    builder()
        .data(crate::analytics::metrics::Analytics::with_settings(
            db.clone(),
            &config.custom_field_flags,
            &config.analytics,
        ))
        .data(cache)
        .data(db)
        .data(jobs)
        .data(events)
        .data(pagerduty)
        .data(std::sync::Arc::new(config.clone()))
        .limit_depth(config.graphql_max_depth)
        .limit_complexity(config.graphql_max_complexity)
        .limit_recursive_depth(64)
        .limit_directives(32)
        .extension(error::ErrorPresenter)
        .extension(auth::RequireCaller)
        .extension(observe::Timing)
        .finish()
}

/// The schema's SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
