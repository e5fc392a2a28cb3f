//! Cron triggers. A tick only enqueues a job, keyed by the tick's own
//! scheduled instant (`kind@2026-11-23T10:05:00+00:00`), so however many
//! replicas fire the same tick, the unique key lets one job through.
//! Expressions have six fields, seconds first (five are accepted and run at
//! second 0), and are evaluated in UTC.

use chrono::{DateTime, Utc};
use croner::Cron;
use sea_orm::{DatabaseConnection, DbErr};
use tokio_cron_scheduler::{Job, JobScheduler};

use super::queue::{self, NewJob};
use super::{JobKind, Runner};
use crate::config::{Config, CronSetting, parse_cron as parse};
use crate::entities::job;

/// The job each cron variable queues.
pub const KINDS: [(&str, JobKind); 7] = [
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
];

/// The job a cron setting queues.
pub fn kind_of(setting: &CronSetting) -> Option<JobKind> {
    KINDS
        .iter()
        .find(|(var, _)| *var == setting.var)
        .map(|(_, kind)| *kind)
}

/// The next time `expression` fires after `now`, in `tz`.
pub fn next_run<Tz: chrono::TimeZone>(
    expression: &str,
    now: DateTime<Tz>,
) -> Option<DateTime<Utc>> {
    use chrono::SubsecRound;
    let (_, cron) = parse(expression).ok()?;
    cron.find_next_occurrence(&now.trunc_subsecs(0), false)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The scheduled instant of the tick that fired at `now` (the latest
/// occurrence at or before it).
pub fn tick_at<Tz: chrono::TimeZone>(cron: &Cron, now: DateTime<Tz>) -> Option<DateTime<Utc>> {
    use chrono::SubsecRound;
    cron.find_previous_occurrence(&now.trunc_subsecs(0), true)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The key that makes a tick enqueue once.
pub fn tick_key(kind: &str, at: DateTime<Utc>) -> String {
    format!(
        "{kind}@{}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// Whether a kind can run here (a sync needs PagerDuty).
pub fn enabled(config: &Config, setting: &CronSetting) -> Result<(), &'static str> {
    if setting.expression.is_none() {
        return Err("off");
    }
    let kind = kind_of(setting);
    if kind == Some(JobKind::Sync) && config.pagerduty.token.is_none() {
        return Err("off: PAGERDUTY_TOKEN is not set");
    }
    if kind == Some(JobKind::Notify) && config.notify.is_empty() {
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
    config: &Config,
    kind: JobKind,
    at: DateTime<Utc>,
) -> Result<Option<job::Model>, DbErr> {
    queue::enqueue(
        db,
        NewJob {
            kind,
            params: serde_json::json!({}),
            trigger: "schedule".into(),
            requested_by: None,
            dedupe_key: Some(tick_key(kind.as_str(), at)),
            max_attempts: config.jobs.max_attempts,
        },
        Utc::now(),
    )
    .await
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
        if let Err(why) = enabled(&config, setting) {
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
                match enqueue_tick(&db, &config, kind, at).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_and_six_fields_are_accepted_and_garbage_is_not() {
        assert_eq!(parse("*/5 * * * *").unwrap().0, "0 */5 * * * *");
        assert_eq!(parse("0 */5 * * * *").unwrap().0, "0 */5 * * * *");
        assert!(parse("every five minutes").is_err());
        assert!(parse("0 61 * * * *").is_err());
        assert!(parse("0 0 0 31 2 *").is_err(), "31 February never fires");
        assert!(parse("").is_err());
    }

    #[test]
    fn a_tick_is_keyed_by_its_scheduled_instant_not_by_when_it_ran() {
        let (_, cron) = parse("0 */5 * * * *").unwrap();
        let scheduled = Utc.with_ymd_and_hms(2026, 11, 23, 10, 5, 0).unwrap();
        // Two replicas fire a little late, at different moments.
        let a = tick_at(&cron, scheduled + chrono::Duration::milliseconds(300)).unwrap();
        let b = tick_at(&cron, scheduled + chrono::Duration::seconds(2)).unwrap();
        assert_eq!(a, scheduled);
        assert_eq!(tick_key("sla_check", a), tick_key("sla_check", b));
        assert_eq!(tick_key("sla_check", a), "sla_check@2026-11-23T10:05:00Z");
    }

    #[test]
    fn next_run_respects_the_time_zone() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let tz: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        // 08:00 in Paris is 07:00 UTC in winter.
        let next = next_run("0 0 8 * * *", now.with_timezone(&tz)).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 11, 24, 7, 0, 0).unwrap());
    }
}
