//! The subscription root, served over `/graphql/ws` (graphql-transport-ws).

use async_graphql::{Context, ID, Subscription};
use futures_util::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::events::{Event, EventBus};
use crate::graphql::types::Incident;
use crate::incidents;

pub struct SubscriptionRoot;

/// Live updates over /graphql/ws.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Pushes an incident each time it is created or changes (by sync, webhook
    /// or a local edit), optionally only for some services.
    async fn incident_updated(
        &self,
        ctx: &Context<'_>,
        service_ids: Option<Vec<ID>>,
    ) -> impl Stream<Item = async_graphql::Result<Incident>> {
        let bus = ctx.data_unchecked::<EventBus>().clone();
        let db = ctx.data_unchecked::<sea_orm::DatabaseConnection>().clone();
        // A scoped caller is only told about its teams' incidents.
        let scope = crate::graphql::auth::caller(ctx)
            .map(|c| c.scope.clone())
            .unwrap_or_else(|_| crate::scope::Scope::teams(Vec::new()));
        let wanted: Option<Vec<String>> = service_ids.map(|v| v.into_iter().map(|i| i.0).collect());
        BroadcastStream::new(bus.subscribe())
            .filter_map(move |event| match event {
                Ok(Event::IncidentChanged { id, service_id }) => {
                    let keep = match (&wanted, &service_id) {
                        (None, _) => true,
                        (Some(w), Some(s)) => w.contains(s),
                        (Some(_), None) => false,
                    };
                    keep.then_some(id)
                }
                Ok(Event::JobChanged { .. }) => None,
                // A slow subscriber that lagged skips what it missed.
                Err(_) => None,
            })
            .then(move |id| {
                let db = db.clone();
                let scope = scope.clone();
                async move {
                    let mut found =
                        incidents::find_many(&db, &scope, std::slice::from_ref(&id)).await?;
                    Ok::<_, sea_orm::DbErr>(found.remove(&id).map(Incident))
                }
            })
            .filter_map(|r| match r {
                Ok(Some(i)) => Some(Ok(i)),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "loading an incident for a subscription failed");
                    None
                }
            })
    }

    /// Pushes a job's state (status, progress, message, …) now and at every
    /// change until it finishes. Yours, or any for an admin.
    async fn job_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<crate::graphql::jobs::Job>>>
    {
        use crate::graphql::error::{ApiError, ApiResultExt};
        let caller = crate::graphql::auth::caller(ctx)?;
        let db = ctx.data_unchecked::<sea_orm::DatabaseConnection>().clone();
        let n: i32 = id
            .parse()
            .map_err(|_| ApiError::NotFound(format!("no job {}", id.0)))
            .api()?;
        crate::graphql::jobs::visible_job(&db, caller, n)
            .await
            .api()?;
        let bus = ctx.data_unchecked::<EventBus>().clone();
        Ok(crate::graphql::jobs::job_updates(db, bus, n))
    }
}
