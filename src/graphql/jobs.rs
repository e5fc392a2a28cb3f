//! Jobs, schedules and reports in GraphQL: `jobs`, `job`, `schedules`,
//! `requestReport`, `cancelJob`, `runJobNow`, report schedules, and the
//! `jobUpdated` subscription.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::auth::{RoleGuard, caller};
use super::connection::{Conn, connection, page_request};
use super::error::{ApiError, ApiResultExt};
use crate::auth::{Caller, Role};
use crate::config::Config;
use crate::entities::{job, report_schedule};
use crate::jobs::queue::{self, JobFilter as DomainFilter, NewJob};
use crate::jobs::{JobKind as DomainKind, Runner, Status};
use crate::reports::{self, ReportError};

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::BadInput(m) => ApiError::BadUserInput(m),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

fn db<'a>(ctx: &Context<'a>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

fn config<'a>(ctx: &Context<'a>) -> &'a std::sync::Arc<Config> {
    ctx.data_unchecked::<std::sync::Arc<Config>>()
}

fn parse_id(id: &ID) -> Result<i32, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("no job {}", id.0)))
}

/// A job the caller may see: their own, or any for an admin.
pub async fn visible_job(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
) -> Result<job::Model, ApiError> {
    match queue::find(db, id).await? {
        Some(j) if crate::jobs::may_see(&j, caller) => Ok(j),
        Some(_) => Err(ApiError::Forbidden(format!(
            "job {id} was requested by someone else: only they or an admin may see it"
        ))),
        None => Err(ApiError::NotFound(format!("no job {id}"))),
    }
}

/// Where a job is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::jobs::Status")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// What a job does.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::jobs::JobKind")]
pub enum JobKind {
    Sync,
    SlaCheck,
    Report,
    Retention,
    ReportExpiry,
    ScheduledReports,
    Notify,
    Prewarm,
    SlaRecompute,
    AnalyticsDrift,
}

/// One log line of a job.
#[derive(SimpleObject)]
pub struct JobLogLine {
    pub at: DateTime<Utc>,
    /// `info`, `warn` or `error`.
    pub level: String,
    pub line: String,
}

/// The file a report job produced.
pub struct ReportFile<'a>(&'a job::Model);

#[Object]
impl ReportFile<'_> {
    async fn name(&self) -> Option<&str> {
        self.0.file_name.as_deref()
    }
    async fn content_type(&self) -> Option<&str> {
        self.0.content_type.as_deref()
    }
    async fn bytes(&self) -> Option<i64> {
        self.0.file_bytes
    }
    /// When the file is deleted (its download then answers 410 Gone).
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.file_expires_at
    }
    async fn expired(&self) -> bool {
        crate::jobs::file_expired(self.0, Utc::now())
    }
    /// Where to download it (with the same session or token).
    async fn download_url(&self) -> String {
        format!("/reports/{}/download", self.0.id)
    }
}

/// A unit of background work: a sync, an SLA check, a report, …
pub struct Job(pub job::Model);

#[Object]
impl Job {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `sync`, `sla_check`, `report`, `retention`, `report_expiry`, `scheduled_reports`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn status(&self) -> JobStatus {
        Status::parse(&self.0.status).map_or(JobStatus::Failed, Into::into)
    }
    /// 0–100.
    async fn progress(&self) -> i32 {
        self.0.progress
    }
    /// What it is doing now, or how it ended.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    /// Its arguments.
    async fn params(&self) -> Option<Json<serde_json::Value>> {
        serde_json::from_str(&self.0.params).ok().map(Json)
    }
    /// What it produced, once it succeeded.
    async fn result(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .map(Json)
    }
    /// Why its last attempt failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// `api`, `schedule` or `cli`.
    async fn trigger(&self) -> &str {
        &self.0.trigger
    }
    /// The account that asked for it (none for scheduled system jobs).
    async fn requested_by_id(&self) -> Option<ID> {
        self.0.requested_by.map(|i| ID(i.to_string()))
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    async fn cancel_requested(&self) -> bool {
        self.0.cancel_requested
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// The last sign of life of its worker while it runs.
    async fn heartbeat_at(&self) -> Option<DateTime<Utc>> {
        self.0.heartbeat_at
    }
    /// Run time so far (or in total), in seconds.
    async fn duration_seconds(&self) -> Option<f64> {
        let start = self.0.started_at?;
        let end = self.0.finished_at.unwrap_or_else(Utc::now);
        Some((end - start).num_milliseconds() as f64 / 1000.0)
    }
    /// Its last log lines, oldest first.
    async fn logs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] last: i32,
    ) -> async_graphql::Result<Vec<JobLogLine>> {
        let last = u64::try_from(last.clamp(1, 1000)).unwrap_or(100);
        Ok(queue::logs(db(ctx), self.0.id, last)
            .await
            .api()?
            .into_iter()
            .map(|l| JobLogLine {
                at: l.at,
                level: l.level,
                line: l.line,
            })
            .collect())
    }
    /// The report file, for a report job that succeeded.
    async fn file(&self) -> Option<ReportFile<'_>> {
        self.0.file_path.as_ref().map(|_| ReportFile(&self.0))
    }
}

/// Which jobs to list.
#[derive(InputObject, Default)]
pub struct JobFilter {
    pub kinds: Option<Vec<JobKind>>,
    pub statuses: Option<Vec<JobStatus>>,
    /// Only the caller's own jobs (always so for non-admins).
    pub mine: Option<bool>,
}

/// A cron trigger and its last outcome.
pub struct JobSchedule {
    kind: crate::jobs::JobKind,
    setting: crate::config::CronSetting,
    enabled: Result<(), &'static str>,
    last: Option<job::Model>,
}

#[Object]
impl JobSchedule {
    async fn kind(&self) -> JobKind {
        self.kind.into()
    }
    /// The variable that sets it.
    async fn variable(&self) -> &str {
        self.setting.var
    }
    /// Six fields, seconds first, in UTC; null when off.
    async fn expression(&self) -> Option<&str> {
        self.setting.expression.as_deref()
    }
    async fn enabled(&self) -> bool {
        self.enabled.is_ok()
    }
    /// Why it is off.
    async fn disabled_reason(&self) -> Option<&str> {
        self.enabled.err()
    }
    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        self.enabled.ok()?;
        crate::cron::next_run(self.setting.expression.as_deref()?, Utc::now())
    }
    /// The latest job of this kind, whatever started it.
    async fn last_job(&self) -> Option<Job> {
        self.last.clone().map(Job)
    }
}

/// A report a user receives on a schedule.
pub struct ReportSchedule(pub report_schedule::Model);

#[Object]
impl ReportSchedule {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> Option<ReportKind> {
        reports::ReportKind::parse(&self.0.kind)
            .ok()
            .map(Into::into)
    }
    async fn format(&self) -> Option<ReportFormat> {
        reports::Format::parse(&self.0.format).ok().map(Into::into)
    }
    async fn filter(&self) -> Option<Json<serde_json::Value>> {
        serde_json::from_str(&self.0.filter).ok().map(Json)
    }
    /// Six fields, seconds first, in `timeZone`.
    async fn cron(&self) -> &str {
        &self.0.cron
    }
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    async fn webhook_url(&self) -> Option<&str> {
        self.0.webhook_url.as_deref()
    }
    async fn email_to(&self) -> Option<&str> {
        self.0.email_to.as_deref()
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn owner_id(&self) -> ID {
        ID(self.0.account_id.to_string())
    }
    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        reports::schedules::next_run(&self.0, Utc::now())
    }
    async fn last_run_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_run_at
    }
    /// The job of the latest run.
    async fn last_job(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Job>> {
        let Some(id) = self.0.last_job_id else {
            return Ok(None);
        };
        Ok(queue::find(db(ctx), id).await.api()?.map(Job))
    }
}

#[derive(Default)]
pub struct JobsQuery;

#[Object]
impl JobsQuery {
    /// Jobs, newest first. Non-admins see only the jobs they asked for.
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        filter: Option<JobFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Job>> {
        let caller = caller(ctx)?;
        let page = page_request(ctx, first, after).api()?;
        let filter = filter.unwrap_or_default();
        let mine = filter.mine.unwrap_or(false) || !caller.allows(Role::Admin);
        let domain_filter = DomainFilter {
            kinds: filter
                .kinds
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            statuses: filter
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            requested_by: mine.then_some(caller.account.id),
        };
        Ok(connection(
            queue::list(db(ctx), &domain_filter, page).await.api()?,
            Job,
        ))
    }

    /// One job: yours, or any for an admin.
    async fn job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Job> {
        let caller = caller(ctx)?;
        let id = parse_id(&id).api()?;
        Ok(Job(visible_job(db(ctx), caller, id).await.api()?))
    }

    /// The cron triggers: expression, next run and last outcome per kind.
    async fn schedules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<JobSchedule>> {
        let config = config(ctx);
        let mut out = Vec::new();
        for setting in &config.jobs.cron {
            let Some(kind) = crate::jobs::scheduler::kind_of(setting) else {
                continue;
            };
            out.push(JobSchedule {
                kind,
                enabled: crate::jobs::scheduler::enabled(
                    setting,
                    &config.pagerduty,
                    &config.notify,
                ),
                last: queue::latest_of_kind(db(ctx), kind).await.api()?,
                setting: setting.clone(),
            });
        }
        Ok(out)
    }

    /// Report schedules: your own, or everyone's for an admin.
    async fn report_schedules(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ReportSchedule>> {
        let caller = caller(ctx)?;
        let owner = (!caller.allows(Role::Admin)).then_some(caller.account.id);
        Ok(reports::schedules::list(db(ctx), owner)
            .await
            .api()?
            .into_iter()
            .map(ReportSchedule)
            .collect())
    }
}

/// A report kind.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::reports::ReportKind")]
pub enum ReportKind {
    Incidents,
    Services,
    Teams,
    ServiceTeams,
    EscalationPolicies,
    EscalationPolicyTeams,
    EscalationPolicyServices,
    IncidentsPerService,
    IncidentStatusPerService,
    ServiceSummary,
    SlaCompliance,
}

/// A report file format.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::reports::Format")]
pub enum ReportFormat {
    Xlsx,
    Csv,
}

/// Which incidents (and services) a report covers; omitted lists mean all.
#[derive(InputObject, Default)]
pub struct ReportFilterInput {
    pub service_ids: Option<Vec<ID>>,
    pub team_ids: Option<Vec<ID>>,
    /// `triggered`, `acknowledged`, `resolved`.
    pub statuses: Option<Vec<String>>,
    /// `high`, `low`.
    pub urgencies: Option<Vec<String>>,
    /// Incidents created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Incidents created before.
    pub to: Option<DateTime<Utc>>,
}

impl From<ReportFilterInput> for reports::Filter {
    fn from(f: ReportFilterInput) -> Self {
        let ids = |v: Option<Vec<ID>>| v.unwrap_or_default().into_iter().map(|i| i.0).collect();
        let lower = |v: Option<Vec<String>>| {
            v.unwrap_or_default()
                .into_iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        };
        Self {
            service_ids: ids(f.service_ids),
            team_ids: ids(f.team_ids),
            statuses: lower(f.statuses),
            urgencies: lower(f.urgencies),
            from: f.from,
            to: f.to,
        }
    }
}

/// A report to produce.
#[derive(InputObject)]
pub struct ReportInput {
    pub kind: ReportKind,
    pub format: ReportFormat,
    pub filter: Option<ReportFilterInput>,
    /// IANA time zone for dates [default: the server's reporting time zone].
    pub time_zone: Option<String>,
}

/// A report to receive on a schedule.
#[derive(InputObject)]
pub struct ReportScheduleInput {
    pub name: String,
    pub kind: ReportKind,
    pub format: ReportFormat,
    pub filter: Option<ReportFilterInput>,
    /// Six fields, seconds first (five are accepted), e.g. `0 0 8 * * MON`.
    pub cron: String,
    /// IANA time zone the cron expression and the dates are in.
    pub time_zone: String,
    /// Where to post the download link when a run is ready.
    pub webhook_url: Option<String>,
    /// Where to mail the report (needs SMTP; see the README).
    pub email_to: Option<String>,
}

/// Queues a job for the caller and wakes the local workers.
pub(super) async fn enqueue<J: crate::jobs::BackgroundJob>(
    ctx: &Context<'_>,
    caller: &Caller,
    job: &J,
) -> async_graphql::Result<Job> {
    let new = NewJob::of(job, "api", config(ctx).jobs.max_attempts)
        .map_err(|e| ApiError::Internal(Box::new(e)))
        .api()?;
    enqueue_new(ctx, new.by(caller.account.id)).await
}

async fn enqueue_new(ctx: &Context<'_>, new: NewJob) -> async_graphql::Result<Job> {
    let job = queue::enqueue(db(ctx), new, Utc::now())
        .await
        .api()?
        .ok_or_else(|| ApiError::Internal("a job without a key was not inserted".into()))
        .api()?;
    ctx.data_unchecked::<Runner>().wake();
    Ok(Job(job))
}

#[derive(Default)]
pub struct JobsMutation;

#[Object]
impl JobsMutation {
    /// Queues a report and returns its job; follow it with `job(id)` or the
    /// `jobUpdated` subscription, then download `file.downloadUrl`.
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn request_report(
        &self,
        ctx: &Context<'_>,
        input: ReportInput,
    ) -> async_graphql::Result<Job> {
        let caller = caller(ctx)?;
        let request = reports::Request {
            kind: input.kind.into(),
            format: input.format.into(),
            filter: input.filter.unwrap_or_default().into(),
            time_zone: input.time_zone,
            scope: caller.scope.team_ids().map(<[String]>::to_vec),
            schedule_id: None,
        };
        reports::validate(db(ctx), &request).await.api()?;
        enqueue(ctx, caller, &crate::jobs::kinds::ReportJob(request)).await
    }

    /// Cancels a job: at once if it has not started, promptly (at its next
    /// page or heartbeat) if it runs. Yours, or any for an admin.
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn cancel_job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Job> {
        let caller = caller(ctx)?;
        let id = parse_id(&id).api()?;
        let job = visible_job(db(ctx), caller, id).await.api()?;
        if queue::cancel(db(ctx), id, Utc::now()).await.api()? == queue::Cancel::AlreadyFinished {
            return Err(ApiError::bad_input(format!(
                "job {id} already finished ({})",
                job.status
            )))
            .api();
        }
        ctx.data_unchecked::<Runner>().cancel_local(id);
        ctx.data_unchecked::<crate::events::EventBus>()
            .publish(crate::events::Event::JobChanged { id });
        Ok(Job(visible_job(db(ctx), caller, id).await.api()?))
    }

    /// Queues a job of this kind now, outside its schedule. Admins only.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn run_job_now(&self, ctx: &Context<'_>, kind: JobKind) -> async_graphql::Result<Job> {
        let caller = caller(ctx)?;
        let kind: DomainKind = kind.into();
        if kind == DomainKind::Report {
            return Err(ApiError::bad_input(
                "reports are requested with `requestReport`",
            ))
            .api();
        }
        if kind == DomainKind::SlaRecompute {
            return Err(ApiError::bad_input(
                "an SLA recompute needs a range: use `startSlaRecompute`",
            ))
            .api();
        }
        if kind == DomainKind::Sync && config(ctx).pagerduty.token.is_none() {
            return Err(ApiError::bad_input(
                "PagerDuty is not configured: set PAGERDUTY_TOKEN",
            ))
            .api();
        }
        let new = crate::jobs::kinds::without_arguments(kind, "api", config(ctx).jobs.max_attempts)
            .map_err(|e| ApiError::Internal(Box::new(e)))
            .api()?
            .ok_or_else(|| ApiError::bad_input(format!("{kind} jobs need arguments")))
            .api()?;
        enqueue_new(ctx, new.by(caller.account.id)).await
    }

    /// Schedules a report for yourself.
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn create_report_schedule(
        &self,
        ctx: &Context<'_>,
        input: ReportScheduleInput,
    ) -> async_graphql::Result<ReportSchedule> {
        let caller = caller(ctx)?;
        let created = reports::schedules::create(
            db(ctx),
            caller.account.id,
            caller.scope.team_ids().map(<[String]>::to_vec),
            reports::schedules::NewSchedule {
                name: input.name,
                kind: input.kind.into(),
                format: input.format.into(),
                filter: input.filter.unwrap_or_default().into(),
                cron: input.cron,
                time_zone: input.time_zone,
                webhook_url: input.webhook_url,
                email_to: input.email_to,
            },
        )
        .await
        .api()?;
        Ok(ReportSchedule(created))
    }

    /// Deletes a report schedule: yours, or any for an admin.
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn delete_report_schedule(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bool> {
        let caller = caller(ctx)?;
        let not_found = || ApiError::NotFound(format!("no report schedule {}", id.0));
        let n: i32 = id.parse().map_err(|_| not_found()).api()?;
        match reports::schedules::find(db(ctx), n).await.api()? {
            Some(s) if caller.allows(Role::Admin) || s.account_id == caller.account.id => {
                Ok(reports::schedules::delete(db(ctx), n).await.api()?)
            }
            _ => Err(not_found()).api(),
        }
    }
}

/// Pushes a job's state each time it changes (and once at the start), until
/// it finishes. Changes made by another server are seen within a second.
pub fn job_updates(
    db: DatabaseConnection,
    bus: crate::events::EventBus,
    id: i32,
) -> impl futures_util::Stream<Item = async_graphql::Result<Job>> {
    use crate::events::Event;
    let rx = bus.subscribe();
    let state = (
        db,
        rx,
        None::<(String, i32, Option<String>, DateTime<Utc>)>,
        false,
    );
    futures_util::stream::unfold(state, move |(db, mut rx, mut last, done)| {
        let wanted = move |e: &Event| matches!(e, Event::JobChanged { id: j } if *j == id);
        async move {
            if done {
                return None;
            }
            loop {
                let current = match queue::find(&db, id).await {
                    Ok(Some(j)) => j,
                    Ok(None) => return None,
                    Err(e) => {
                        tracing::warn!(job = id, error = %e, "reading a job for a subscription failed");
                        return None;
                    }
                };
                let key = (
                    current.status.clone(),
                    current.progress,
                    current.message.clone(),
                    current.updated_at,
                );
                if last.as_ref() != Some(&key) {
                    let finished = Status::parse(&current.status).is_some_and(Status::is_finished);
                    last = Some(key);
                    return Some((Ok(Job(current)), (db, rx, last, finished)));
                }
                // Wait for an event about this job, or poll after a second
                // (a worker on another server publishes nowhere here).
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
                    loop {
                        match rx.recv().await {
                            Ok(e) if wanted(&e) => return,
                            Ok(_) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                })
                .await;
            }
        }
    })
}
