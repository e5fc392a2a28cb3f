//! Cron triggers. A tick only enqueues a job, keyed by the tick's own
//! scheduled instant (`kind@2026-11-23T10:05:00+00:00`), so however many
//! replicas fire the same tick, the unique key lets one job through.
//! Expressions have six fields, seconds first (five are accepted and run at
//! second 0), and are evaluated in UTC.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use tokio_cron_scheduler::{Job, JobScheduler};

use super::queue;
use super::{JobKind, Runner};
use crate::config::{Config, CronSetting, NotifyEndpoints, PagerDutySettings};
use crate::cron::{parse, tick_at, tick_key};
use crate::entities::job;

/// The job each cron variable queues.
pub const KINDS: [(&str, JobKind); 8] = [
    ("PAGERLENS_CRON_SYNC", JobKind::Sync),
    ("PAGERLENS_CRON_PREWARM", JobKind::Prewarm),
    ("PAGERLENS_CRON_SLA_CHECK", JobKind::SlaCheck),
    ("PAGERLENS_CRON_RETENTION", JobKind::Retention),
    ("PAGERLENS_CRON_REPORT_EXPIRY", JobKind::ReportExpiry),
    (
        "PAGERLENS_CRON_SCHEDULED_REPORTS",
        JobKind::ScheduledReports,
    ),
    ("PAGERLENS_CRON_NOTIFY", JobKind::Notify),
    ("PAGERLENS_CRON_ANALYTICS_DRIFT", JobKind::AnalyticsDrift),
];

/// The job a cron setting queues.
pub fn kind_of(setting: &CronSetting) -> Option<JobKind> {
    KINDS
        .iter()
        .find(|(var, _)| *var == setting.var)
        .map(|(_, kind)| *kind)
}

/// Whether a kind can run here: a sync needs a PagerDuty token, a notify
/// somewhere to send to.
pub fn enabled(
    setting: &CronSetting,
    pagerduty: &PagerDutySettings,
    notify: &NotifyEndpoints,
) -> Result<(), &'static str> {
    if setting.expression.is_none() {
        return Err("off");
    }
    let kind = kind_of(setting);
    if matches!(kind, Some(JobKind::Sync | JobKind::AnalyticsDrift)) && pagerduty.token.is_none() {
        return Err("off: PAGERDUTY_TOKEN is not set");
    }
    if kind == Some(JobKind::Notify) && notify.is_empty() {
        return Err("off: no PAGERLENS_NOTIFY_SLACK_URL or PAGERLENS_NOTIFY_WEBHOOK_URL is set");
    }
    Ok(())
}

/// Enqueues the job of one tick. `None` when another replica already did.
///
/// # Errors
/// Database errors.
pub async fn enqueue_tick(
    db: &DatabaseConnection,
    kind: JobKind,
    max_attempts: i32,
    at: DateTime<Utc>,
) -> Result<Option<job::Model>, DbErr> {
    let Some(new) = super::kinds::without_arguments(kind, "schedule", max_attempts)
        .map_err(|e| DbErr::Custom(e.to_string()))?
    else {
        return Ok(None);
    };
    queue::enqueue(db, new.once(tick_key(kind.as_str(), at)), Utc::now()).await
}

/// Starts the cron triggers of every enabled kind.
///
/// # Errors
/// The scheduler cannot start.
pub async fn start(
    db: DatabaseConnection,
    config: std::sync::Arc<Config>,
    runner: Runner,
) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await?;
    for setting in &config.jobs.cron {
        let Some(kind) = kind_of(setting) else {
            continue;
        };
        if let Err(why) = enabled(setting, &config.pagerduty, &config.notify) {
            tracing::info!(%kind, why, "no cron trigger");
            continue;
        }
        let expression = setting.expression.clone().unwrap_or_default();
        let (normalised, cron) = parse(&expression)
            .map_err(|e| anyhow::anyhow!("{} is invalid: {e} (got {expression:?})", setting.var))?;
        let (db, config, runner) = (db.clone(), config.clone(), runner.clone());
        let job = Job::new_async_tz(normalised.as_str(), Utc, move |_, _| {
            let (db, config, runner, cron) =
                (db.clone(), config.clone(), runner.clone(), cron.clone());
            Box::pin(async move {
                let Some(at) = tick_at(&cron, Utc::now()) else {
                    return;
                };
                match enqueue_tick(&db, kind, config.jobs.max_attempts, at).await {
                    Ok(Some(j)) => {
                        tracing::info!(kind = %kind, job = j.id, tick = %at, "cron tick enqueued a job");
                        runner.wake();
                    }
                    Ok(None) => {
                        tracing::debug!(kind = %kind, tick = %at, "tick already enqueued by another replica")
                    }
                    Err(e) => {
                        tracing::error!(kind = %kind, error = %e, "a cron tick could not enqueue its job")
                    }
                }
            })
        })?;
        scheduler.add(job).await?;
        tracing::info!(kind = %kind, cron = %normalised, "cron trigger added");
    }
    scheduler.start().await?;
    Ok(scheduler)
}
