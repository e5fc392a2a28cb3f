//! Sync runs in GraphQL: `syncRuns`, `lastSync`, and `startSync`.

use async_graphql::{Context, Enum, ID, Json, Object};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::entities::sync_run;
use crate::events::EventBus;
use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::error::{ApiError, ApiResultExt};
use crate::pagerduty::sync::{self, SyncKind, SyncOptions};

/// One sync from PagerDuty.
pub struct SyncRun(pub sync_run::Model);

#[Object]
impl SyncRun {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `full`, `incremental` or `service`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// What started it: `cli`, `api`, `schedule`, `demo`.
    async fn trigger(&self) -> &str {
        &self.0.trigger
    }
    /// `running`, `succeeded` or `failed`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Per object type: `{inserted, updated, unchanged}`.
    async fn counts(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .counts
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .map(Json)
    }
    /// PagerDuty API calls made.
    async fn api_calls(&self) -> i64 {
        self.0.api_calls
    }
    /// Requests retried after a 5xx, timeout or dropped connection.
    async fn retries(&self) -> i64 {
        self.0.retries
    }
    /// 429 answers waited out.
    async fn rate_limited(&self) -> i64 {
        self.0.rate_limited
    }
    /// Total time spent waiting for rate limits, in milliseconds.
    async fn rate_limit_wait_ms(&self) -> i64 {
        self.0.rate_limit_wait_ms
    }
    /// Objects that could not be read and were skipped.
    async fn skipped(&self) -> i64 {
        self.0.skipped
    }
    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}

#[derive(Default)]
pub struct SyncQuery;

#[Object]
impl SyncQuery {
    /// Sync runs, newest first.
    async fn sync_runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<SyncRun>> {
        let page = page_request(ctx, first, after).api()?;
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(connection(sync::list_runs(db, page).await.api()?, SyncRun))
    }

    /// The most recent sync run.
    async fn last_sync(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SyncRun>> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(sync::last_run(db).await.api()?.map(SyncRun))
    }
}

/// Which sync to start.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SyncRunKind {
    /// Everything changed since the last sync.
    Incremental,
    /// Reference data and `days` of incidents.
    Full,
}

#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Starts a sync in the background and returns its run (status
    /// `running`); follow it with `lastSync` or `syncRuns`. Admins only.
    #[graphql(guard = "crate::graphql::auth::RoleGuard(crate::auth::Role::Admin)")]
    async fn start_sync(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "SyncRunKind::Incremental")] kind: SyncRunKind,
        days: Option<i32>,
        service_id: Option<ID>,
    ) -> async_graphql::Result<SyncRun> {
        let Some(client) = ctx
            .data_unchecked::<Option<crate::pagerduty::Client>>()
            .clone()
        else {
            return Err(ApiError::bad_input(
                "PagerDuty is not configured: set PAGERDUTY_TOKEN",
            ))
            .api();
        };
        let kind = match (kind, days, service_id) {
            (_, Some(d), _) if !(1..=3650).contains(&d) => {
                return Err(ApiError::bad_input("`days` must be between 1 and 3650")).api();
            }
            (_, _, Some(id)) => SyncKind::Service {
                id: id.0,
                since: days.map(|d| Utc::now() - chrono::Duration::days(i64::from(d))),
            },
            (SyncRunKind::Full, d, None) => SyncKind::Full {
                days: d.unwrap_or(30) as u32,
            },
            (SyncRunKind::Incremental, _, None) => SyncKind::Incremental,
        };
        let db = ctx.data_unchecked::<DatabaseConnection>().clone();
        let mut opts = SyncOptions::new(kind, "api");
        opts.events = Some(ctx.data_unchecked::<EventBus>().clone());
        opts.sla = ctx
            .data_unchecked::<std::sync::Arc<crate::config::Config>>()
            .sla
            .clone();
        let record = sync::start(&db, &opts)
            .await
            .map_err(|e| ApiError::Internal(Box::new(e)))
            .api()?;
        let started = record.clone();
        tokio::spawn(async move {
            let _ = sync::run_started(&db, &client, &opts, started).await;
        });
        Ok(SyncRun(record))
    }
}
