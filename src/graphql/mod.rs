//! The GraphQL adapter: schema assembly, roots, types, loaders and the error
//! edge. Resolvers are thin: parse, authorise, call the domain, map.

pub mod connection;
pub mod error;
pub mod loaders;
pub mod query;
pub mod subscription;
pub mod types;

use async_graphql::{EmptyMutation, Schema};
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::events::EventBus;

pub type AppSchema = Schema<query::QueryRoot, EmptyMutation, subscription::SubscriptionRoot>;

/// Builds the schema with its limits and the error presenter. Per-request
/// data (loaders, later the caller) is added by the HTTP layer.
pub fn build_schema(config: &Config, db: DatabaseConnection, events: EventBus) -> AppSchema {
    Schema::build(
        query::QueryRoot,
        EmptyMutation,
        subscription::SubscriptionRoot,
    )
    .data(db)
    .data(events)
    .limit_depth(config.graphql_max_depth)
    .limit_complexity(config.graphql_max_complexity)
    .limit_recursive_depth(64)
    .limit_directives(32)
    .extension(error::ErrorPresenter)
    .finish()
}

/// The schema's SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        query::QueryRoot,
        EmptyMutation,
        subscription::SubscriptionRoot,
    )
    .finish()
    .sdl()
}
