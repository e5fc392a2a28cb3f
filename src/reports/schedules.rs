//! Scheduled reports: a user asks for a report on a cron schedule in their
//! time zone; each due run is queued as an ordinary report job (once, even
//! with several replicas), keeps its file for the retention period, and,
//! when a webhook is set, its download link is posted there.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};

use super::{Filter, Format, ReportError, ReportKind, Request};
use crate::entities::{account, report_schedule};
use crate::jobs::queue::{self, FileInfo, NewJob};
use crate::jobs::{JobCtx, JobKind, JobOutput, scheduler};

/// A schedule to create.
#[derive(Clone, Debug)]
pub struct NewSchedule {
    pub name: String,
    pub kind: ReportKind,
    pub format: Format,
    pub filter: Filter,
    pub cron: String,
    pub time_zone: String,
    pub webhook_url: Option<String>,
    pub email_to: Option<String>,
}

/// Creates a schedule for `account_id` after checking every field.
///
/// # Errors
/// [`ReportError::BadInput`] naming the bad field, or a database error.
pub async fn create(
    db: &DatabaseConnection,
    account_id: i32,
    scope: Option<Vec<String>>,
    new: NewSchedule,
) -> Result<report_schedule::Model, ReportError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ReportError::BadInput(
            "`name` must be 1 to 200 characters".into(),
        ));
    }
    let (cron, _) = crate::config::parse_cron(&new.cron)
        .map_err(|e| ReportError::BadInput(format!("`cron` is invalid: {e}")))?;
    let tz: Tz = super::parse_tz(&new.time_zone)?;
    if let Some(url) = &new.webhook_url {
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(ReportError::BadInput(format!(
                    "`webhookUrl` {url:?} is not an http(s) URL"
                )));
            }
        }
    }
    if let Some(to) = &new.email_to
        && crate::auth::normalize_email(to).is_err()
    {
        return Err(ReportError::BadInput(format!(
            "`emailTo` {to:?} is not an email address"
        )));
    }
    let request = Request {
        kind: new.kind,
        format: new.format,
        filter: new.filter.clone(),
        time_zone: Some(tz.name().to_owned()),
        scope,
        schedule_id: None,
    };
    super::validate(db, &request).await?;
    let now = Utc::now();
    Ok(report_schedule::ActiveModel {
        account_id: Set(account_id),
        name: Set(name.to_owned()),
        kind: Set(new.kind.as_str().to_owned()),
        format: Set(new.format.extension().to_owned()),
        filter: Set(serde_json::to_string(&new.filter).unwrap_or_else(|_| "{}".into())),
        cron: Set(cron),
        time_zone: Set(tz.name().to_owned()),
        email_to: Set(new.email_to),
        webhook_url: Set(new.webhook_url),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Schedules, newest first; only `account_id`'s when given.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    account_id: Option<i32>,
) -> Result<Vec<report_schedule::Model>, DbErr> {
    let mut select = report_schedule::Entity::find().order_by_desc(report_schedule::Column::Id);
    if let Some(a) = account_id {
        select = select.filter(report_schedule::Column::AccountId.eq(a));
    }
    select.all(db).await
}

/// One schedule.
///
/// # Errors
/// Database errors.
pub async fn find(
    db: &DatabaseConnection,
    id: i32,
) -> Result<Option<report_schedule::Model>, DbErr> {
    report_schedule::Entity::find_by_id(id).one(db).await
}

/// Deletes a schedule (its past jobs and files stay until their retention).
///
/// # Errors
/// Database errors.
pub async fn delete(db: &DatabaseConnection, id: i32) -> Result<bool, DbErr> {
    Ok(report_schedule::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// When a schedule runs next.
pub fn next_run(s: &report_schedule::Model, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz: Tz = s.time_zone.parse().ok()?;
    scheduler::next_run(&s.cron, now.with_timezone(&tz))
}

/// The `scheduled_reports` job: queues a report job for each schedule whose
/// latest tick has not run yet. The tick is the job's unique key, so two
/// replicas doing this at once queue it once.
pub async fn enqueue_due(ctx: &JobCtx) -> anyhow::Result<JobOutput> {
    let now = Utc::now();
    let mut queued = 0;
    for s in report_schedule::Entity::find()
        .filter(report_schedule::Column::Active.eq(true))
        .all(&ctx.db)
        .await?
    {
        match enqueue_one(&ctx.db, &ctx.config, &s, now).await {
            Ok(true) => queued += 1,
            Ok(false) => {}
            Err(e) => {
                ctx.log(
                    "warn",
                    &format!("schedule {} could not be queued: {e:#}", s.id),
                )
                .await;
            }
        }
    }
    Ok(JobOutput {
        result: serde_json::json!({"queued": queued}),
        message: Some(format!("{queued} scheduled report(s) queued")),
        file: None,
    })
}

async fn enqueue_one(
    db: &DatabaseConnection,
    config: &crate::config::Config,
    s: &report_schedule::Model,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let tz: Tz = s
        .time_zone
        .parse()
        .map_err(|_| anyhow::anyhow!("unknown time zone {:?}", s.time_zone))?;
    let (_, cron) = crate::config::parse_cron(&s.cron).map_err(anyhow::Error::msg)?;
    let Some(tick) = scheduler::tick_at(&cron, now.with_timezone(&tz)) else {
        return Ok(false);
    };
    if tick <= s.last_run_at.unwrap_or(s.created_at) {
        return Ok(false);
    }
    let Some(owner) = account::Entity::find_by_id(s.account_id).one(db).await? else {
        return Ok(false);
    };
    if !owner.active {
        return Ok(false);
    }
    let scope = crate::auth::scopes::effective(db, owner.id, None).await?;
    let request = Request {
        kind: ReportKind::parse(&s.kind)?,
        format: Format::parse(&s.format)?,
        filter: serde_json::from_str(&s.filter)?,
        time_zone: Some(s.time_zone.clone()),
        scope: scope.team_ids().map(<[String]>::to_vec),
        schedule_id: Some(s.id),
    };
    let job = queue::enqueue(
        db,
        NewJob {
            kind: JobKind::Report,
            params: serde_json::to_value(&request)?,
            trigger: "schedule".into(),
            requested_by: Some(s.account_id),
            dedupe_key: Some(scheduler::tick_key(
                &format!("report_schedule:{}", s.id),
                tick,
            )),
            max_attempts: config.jobs.max_attempts,
        },
        now,
    )
    .await?;
    let mut active: report_schedule::ActiveModel = s.clone().into();
    active.last_run_at = Set(Some(tick));
    if let Some(j) = &job {
        active.last_job_id = Set(Some(j.id));
    }
    active.updated_at = Set(now);
    active.update(db).await?;
    Ok(job.is_some())
}

/// Sends a scheduled report: its download link to the schedule's webhook,
/// and the file (or, past 10 MiB, the link) to its email address when SMTP
/// is configured. A failing endpoint is logged on the job; the report
/// itself stands.
pub async fn deliver(ctx: &JobCtx, schedule_id: i32, file: &FileInfo) {
    let Some(schedule) = post_link(ctx, schedule_id, file).await else {
        return;
    };
    let Some(to) = schedule.email_to.clone() else {
        return;
    };
    let Some(mailer) = ctx.mailer.clone() else {
        ctx.log(
            "warn",
            "the schedule asks for email but PAGERLENS_SMTP_URL is not set",
        )
        .await;
        return;
    };
    let link = download_link(ctx);
    let mut text = format!(
        "pagerlens report \"{}\" ({} {}), {} bytes.\nDownload until {}: {link}\n",
        schedule.name,
        schedule.kind,
        schedule.format,
        file.bytes,
        file.expires_at.format("%Y-%m-%d %H:%M UTC")
    );
    let attachment =
        if u64::try_from(file.bytes).unwrap_or(u64::MAX) <= crate::mail::MAX_ATTACHMENT_BYTES {
            match crate::jobs::report_file(&ctx.config.reports.dir, &file.path) {
                Some(path) => match tokio::fs::read(&path).await {
                    Ok(bytes) => Some(crate::mail::File {
                        name: file.name.clone(),
                        content_type: file.content_type.clone(),
                        bytes,
                    }),
                    Err(e) => {
                        ctx.log("warn", &format!("cannot read the report to attach it: {e}"))
                            .await;
                        None
                    }
                },
                None => None,
            }
        } else {
            text.push_str("The file is too large to attach; use the link.\n");
            None
        };
    let sent = match crate::mail::mailbox(&to) {
        Ok(mb) => {
            mailer
                .send(
                    &[mb],
                    &format!("pagerlens report: {}", schedule.name),
                    &text,
                    attachment,
                )
                .await
        }
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => ctx.log("info", "report emailed").await,
        Err(e) => {
            let e = crate::telemetry::error_chain(&e);
            ctx.log("warn", &format!("emailing the report failed: {e}"))
                .await
        }
    }
}

fn download_link(ctx: &JobCtx) -> String {
    ctx.config
        .public_url
        .join(&format!("reports/{}/download", ctx.job.id))
        .map(|u| u.to_string())
        .unwrap_or_default()
}

/// Posts the download link to the schedule's webhook, if any; returns the
/// schedule.
async fn post_link(
    ctx: &JobCtx,
    schedule_id: i32,
    file: &FileInfo,
) -> Option<report_schedule::Model> {
    let schedule = match find(&ctx.db, schedule_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return None,
        Err(e) => {
            ctx.log("warn", &format!("cannot read schedule {schedule_id}: {e}"))
                .await;
            return None;
        }
    };
    let Some(url) = schedule.webhook_url.clone() else {
        return Some(schedule);
    };
    let link = download_link(ctx);
    let body = serde_json::json!({
        "text": format!("pagerlens report \"{}\" is ready: {link}", schedule.name),
        "schedule": {"id": schedule.id, "name": schedule.name},
        "job_id": ctx.job.id,
        "kind": schedule.kind,
        "format": schedule.format,
        "file_name": file.name,
        "bytes": file.bytes,
        "download_url": link,
        "expires_at": file.expires_at,
    });
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build();
    let sent = match client {
        Ok(c) => c
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string()),
        Err(e) => Err(e.to_string()),
    };
    match sent {
        Ok(r) if r.status().is_success() => {
            ctx.log("info", "download link posted to the schedule's webhook")
                .await;
        }
        Ok(r) => {
            ctx.log(
                "warn",
                &format!("the schedule's webhook answered {}", r.status()),
            )
            .await;
        }
        Err(e) => {
            ctx.log("warn", &format!("the schedule's webhook failed: {e}"))
                .await;
        }
    }
    Some(schedule)
}
