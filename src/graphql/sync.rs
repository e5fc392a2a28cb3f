//! Sync runs in GraphQL: `syncRuns`, `lastSync`, and `startSync`.

use async_graphql::{Context, Enum, ID, Json, Object};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::entities::sync_run;
use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::error::{ApiError, ApiResultExt};
use crate::jobs::Runner;
use crate::pagerduty::sync::{self, SyncKind};

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
    /// `queued` (asked for with `startSync`, not yet started), `running`,
    /// `succeeded` or `failed`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// The job that ran it, or runs it: its progress, logs and cancellation
    /// are on `job(id)`. None for syncs run by the command line, the demo
    /// or a webhook.
    async fn job_id(&self) -> Option<ID> {
        self.0.job_id.map(|id| ID(id.to_string()))
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
    /// Queues a sync job and returns its run (status `queued` until a
    /// worker starts it, then `running`); follow it with `job(id: jobId)`
    /// (progress, logs, `cancelJob`), `lastSync` or `syncRuns`. Only one
    /// sync runs at a time: one asked for while another runs is recorded
    /// as failed, saying so. Admins only.
    #[graphql(guard = "crate::graphql::auth::RoleGuard(crate::auth::Role::Admin)")]
    async fn start_sync(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "SyncRunKind::Incremental")] kind: SyncRunKind,
        days: Option<i32>,
        service_id: Option<ID>,
    ) -> async_graphql::Result<SyncRun> {
        if ctx
            .data_unchecked::<Option<crate::pagerduty::Client>>()
            .is_none()
        {
            return Err(ApiError::bad_input(
                "PagerDuty is not configured: set PAGERDUTY_TOKEN",
            ))
            .api();
        }
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
        let caller = crate::graphql::auth::caller(ctx)?;
        let config = ctx.data_unchecked::<std::sync::Arc<crate::config::Config>>();
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let record =
            crate::jobs::request_sync(db, &kind, Some(caller.account.id), config.jobs.max_attempts)
                .await
                .api()?;
        ctx.data_unchecked::<Runner>().wake();
        Ok(SyncRun(record))
    }
}
