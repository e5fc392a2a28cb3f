//! GraphQL output and input types. Output types wrap domain models and are
//! built `From` them, so renaming a column never changes the API by accident.
//! Relations resolve through the per-request DataLoaders.

mod catalog_objects;
mod incident_objects;
mod inputs;

pub use catalog_objects::*;
pub use incident_objects::*;
pub use inputs::*;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::catalog::{self, CatalogSort, Direction};
use crate::entities::{
    escalation_policy, incident, incident_custom_field_value, incident_log_entry, priority,
    schedule, service, team, user,
};
use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::error::{ApiError, ApiResultExt};
use crate::graphql::loaders::*;
use crate::incidents::{self, IncidentSort, Source, Status, Urgency};

/// Loads one value through the request's loaders.
pub async fn load_one<K>(
    ctx: &Context<'_>,
    key: K,
) -> async_graphql::Result<Option<<DbLoader as Loader<K>>::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    DbLoader: Loader<K, Error = std::sync::Arc<sea_orm::DbErr>>,
{
    ctx.data_unchecked::<Loaders>().load_one(key).await.api()
}

/// Loads a one-to-many relation (empty when there is none).
async fn load_list<K, V>(ctx: &Context<'_>, key: K) -> async_graphql::Result<Vec<V>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    DbLoader: Loader<K, Value = Vec<V>, Error = std::sync::Arc<sea_orm::DbErr>>,
{
    Ok(load_one(ctx, key).await?.unwrap_or_default())
}

fn wrap<M, T: From<M>>(items: Vec<M>) -> Vec<T> {
    items.into_iter().map(T::from).collect()
}
